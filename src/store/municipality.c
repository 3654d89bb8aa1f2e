/*
 * municipality.c: the table of Japanese municipalities shipped inside the
 * binary (data/municipalities.json, embedded at build time), parsed with
 * jansson.  The table is ours, so a malformed entry is an internal error.
 */
#include "store/store.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

extern const unsigned char store_municipalities_json[];
extern const size_t store_municipalities_json_len;

static int
copy_member(json_t *o, const char *key, char *dst, size_t cap)
{
	const char *v = json_string_value(json_object_get(o, key));
	size_t n;

	if (v == NULL || (n = strlen(v)) >= cap)
		return JPKI_ERR_INTERNAL;
	memcpy(dst, v, n + 1);
	return JPKI_OK;
}

int
store_municipality_table_load(struct municipality **out, size_t *n)
{
	json_error_t err;
	json_t *root;
	struct municipality *t;
	size_t count;
	int r = JPKI_OK;

	*out = NULL;
	*n = 0;
	root = json_loadb((const char *)store_municipalities_json,
	    store_municipalities_json_len, 0, &err);
	if (root == NULL || !json_is_array(root)) {
		json_decref(root);
		return jpki_fail(JPKI_ERR_INTERNAL,
		    "municipality table: %s", err.text);
	}
	count = json_array_size(root);
	if ((t = calloc(count ? count : 1, sizeof(*t))) == NULL) {
		json_decref(root);
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < count && r == JPKI_OK; i++) {
		json_t *o = json_array_get(root, i);

		if (copy_member(o, "code", t[i].code, sizeof(t[i].code)) ||
		    copy_member(o, "name_kanji", t[i].name_ja,
		    sizeof(t[i].name_ja)) ||
		    copy_member(o, "name_romaji", t[i].name_romaji,
		    sizeof(t[i].name_romaji)) ||
		    copy_member(o, "prefecture_kanji", t[i].pref_ja,
		    sizeof(t[i].pref_ja)) ||
		    copy_member(o, "prefecture_romaji", t[i].pref_romaji,
		    sizeof(t[i].pref_romaji)))
			r = jpki_fail(JPKI_ERR_INTERNAL,
			    "municipality table: bad entry %zu", i);
		/* A few entries of the source table have no kana. */
		else if (json_object_get(o, "name_kana") != NULL &&
		    copy_member(o, "name_kana", t[i].name_kana,
		    sizeof(t[i].name_kana)) != JPKI_OK)
			r = jpki_fail(JPKI_ERR_INTERNAL,
			    "municipality table: bad kana in entry %zu", i);
	}
	json_decref(root);
	if (r != JPKI_OK) {
		free(t);
		return r;
	}
	*out = t;
	*n = count;
	return JPKI_OK;
}
