/*
 * strset.c: a set of short strings (serials), open addressing, for the
 * signer's record of signed serials and the audit cross-check (ca_impl.h).
 */
#include "ca/ca_impl.h"

#include <stdlib.h>
#include <string.h>

static uint64_t
str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;   /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ULL;
	return h;
}

static int
grow(struct ca_strset *set)
{
	size_t cap = set->cap ? set->cap * 2 : 1024;
	struct ca_strset_item *it = calloc(cap, sizeof(*it));

	if (it == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < set->cap; i++) {
		size_t j;

		if (set->items[i].key[0] == '\0')
			continue;
		for (j = str_hash(set->items[i].key) & (cap - 1);
		    it[j].key[0] != '\0'; j = (j + 1) & (cap - 1))
			;
		it[j] = set->items[i];
	}
	free(set->items);
	set->items = it;
	set->cap = cap;
	return JPKI_OK;
}

struct ca_strset_item *
ca_strset_find(struct ca_strset *set, const char *key)
{
	if (set->cap == 0)
		return NULL;
	for (size_t j = str_hash(key) & (set->cap - 1);
	    set->items[j].key[0] != '\0'; j = (j + 1) & (set->cap - 1))
		if (strcmp(set->items[j].key, key) == 0)
			return &set->items[j];
	return NULL;
}

int
ca_strset_add(struct ca_strset *set, const char *key, int64_t value,
    struct ca_strset_item **out)
{
	struct ca_strset_item *it;
	size_t j;
	int r;

	if (out != NULL)
		*out = NULL;
	if (strlen(key) == 0 || strlen(key) >= sizeof(it->key))
		return jpki_fail(JPKI_ERR_INPUT, "a key of %zu bytes",
		    strlen(key));
	if ((it = ca_strset_find(set, key)) != NULL) {
		if (out != NULL)
			*out = it;
		return JPKI_ERR_CONFLICT;
	}
	if ((set->n + 1) * 2 > set->cap && (r = grow(set)) != JPKI_OK)
		return r;
	for (j = str_hash(key) & (set->cap - 1); set->items[j].key[0] != '\0';
	    j = (j + 1) & (set->cap - 1))
		;
	it = &set->items[j];
	snprintf(it->key, sizeof(it->key), "%s", key);
	it->value = value;
	it->mark = 0;
	set->n++;
	if (out != NULL)
		*out = it;
	return JPKI_OK;
}

void
ca_strset_free(struct ca_strset *set)
{
	free(set->items);
	memset(set, 0, sizeof(*set));
}
