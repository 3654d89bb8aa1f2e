/*
 * link.c: linkage for registered relying parties (紐付け), as J-LIS
 * offers platform operators: given a certificate's serial, the newest
 * certificate that follows it after renewals, register changes and
 * reissues (新旧紐付け: the counter records each step), and the holder's
 * certificate of the other type valid now (signing <-> authentication).
 * Serials, types and statuses only: a relying party that holds an
 * authentication certificate learns no personal facts through it (R5).
 * Every lookup is audited with the relying party's name.
 *
 * Relying parties are registered in the config: rp_api_keys =
 * "name:key,name:key"; a key is compared in constant time.
 */
#include "rp/rp_int.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* A key at least this long, so that none is guessed. */
#define RP_API_KEY_MIN 16
/* Steps followed from a certificate to its newest successor at most. */
#define RP_LINK_STEPS_MAX 64

int
rp_api_key_check(const char *keys, const char *key, char *name, size_t n)
{
	const char *p = keys;
	size_t klen = key != NULL ? strlen(key) : 0;
	int found = 0;

	if (name != NULL && n > 0)
		name[0] = '\0';
	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ','), *colon;
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		while (len > 0 && *p == ' ') {
			p++;
			len--;
		}
		colon = memchr(p, ':', len);
		if (colon != NULL) {
			size_t nlen = (size_t)(colon - p),
			    vlen = len - nlen - 1;

			while (vlen > 0 && colon[vlen] == ' ')
				vlen--;
			if (vlen >= RP_API_KEY_MIN && vlen == klen &&
			    jpki_ct_equal(colon + 1, key, klen) && !found) {
				found = 1;
				if (name != NULL)
					snprintf(name, n, "%.*s", (int)nlen, p);
			}
		}
		p = end != NULL ? end + 1 : NULL;
	}
	return found ? JPKI_OK : jpki_fail(JPKI_ERR_REFUSED, "linkage: not "
	    "a registered relying party's key");
}

struct successor {
	const char *of;
	char next[SERIAL_HEX_MAX];
	char kind[32];
};

static int
find_successor(void *arg, const char *old_serial, const char *new_serial,
    const char *kind, int64_t at)
{
	struct successor *s = arg;

	(void)at;
	if (strcmp(old_serial, s->of) == 0) {
		snprintf(s->next, sizeof(s->next), "%s", new_serial);
		snprintf(s->kind, sizeof(s->kind), "%s", kind);
	}
	return 0;
}

static json_t *
cert_json(const struct cert_record *c, int64_t now)
{
	char until[26];

	iso8601_format_jst(c->not_after, until);
	return json_pack("{s:s, s:s, s:s, s:s}", "serial", c->serial, "type",
	    rules_cert_type_name(c->ca), "status",
	    c->status == CERT_STATUS_REVOKED ? "revoked" : c->not_after < now ?
	    "expired" : "valid", "not_after", until);
}

int
rp_link_lookup(struct store *s, const char *serial, const char *who,
    int64_t now, json_t **out)
{
	struct cert_record c, last, other;
	struct successor step;
	char other_serial[SERIAL_HEX_MAX], cur[SERIAL_HEX_MAX];
	json_t *j = NULL, *chain;
	int64_t not_after;
	int r, steps = 0;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	memset(&last, 0, sizeof(last));
	memset(&other, 0, sizeof(other));
	if ((r = store_cert_get(s, serial, &c)) != JPKI_OK)
		return r == JPKI_ERR_NOTFOUND ? jpki_fail(r, "linkage: no "
		    "certificate %s", serial) : r;
	j = json_pack("{s:o}", "certificate", cert_json(&c, now));
	chain = json_array();
	snprintf(cur, sizeof(cur), "%s", c.serial);
	/* Old to new, step by step, to the newest. */
	for (;;) {
		step.of = cur;
		step.next[0] = '\0';
		if ((r = store_cert_links(s, cur, find_successor, &step)) !=
		    JPKI_OK)
			goto fail;
		if (step.next[0] == '\0')
			break;
		if (++steps > RP_LINK_STEPS_MAX) {
			r = jpki_fail(JPKI_ERR_INTERNAL, "linkage: more than %d "
			    "successors of %s", RP_LINK_STEPS_MAX, serial);
			goto fail;
		}
		store_cert_free(&last);
		memset(&last, 0, sizeof(last));
		if ((r = store_cert_get(s, step.next, &last)) != JPKI_OK)
			goto fail;
		json_array_append_new(chain, json_pack("{s:s, s:o}", "kind",
		    step.kind, "certificate", cert_json(&last, now)));
		snprintf(cur, sizeof(cur), "%s", step.next);
	}
	json_object_set_new(j, "successors", chain);
	json_object_set_new(j, "newest", json_string(cur));
	/* The holder's other certificate, valid now. */
	r = store_cert_valid_of(s, c.resident_id, c.ca == CERT_SIGN ?
	    CERT_AUTH : CERT_SIGN, now, other_serial, &not_after);
	if (r == JPKI_OK && c.resident_id != 0 &&
	    (r = store_cert_get(s, other_serial, &other)) == JPKI_OK)
		json_object_set_new(j, "other", cert_json(&other, now));
	else if (r == JPKI_ERR_NOTFOUND || c.resident_id == 0)
		json_object_set_new(j, "other", json_null());
	else
		goto fail;
	if ((r = store_audit_json(s, who, "rp-link", serial, json_pack(
	    "{s:s, s:I}", "newest", cur, "steps", (json_int_t)steps))) !=
	    JPKI_OK)
		goto fail;
	*out = j;
	j = NULL;
	r = JPKI_OK;
fail:
	json_decref(j);
	store_cert_free(&c);
	store_cert_free(&last);
	store_cert_free(&other);
	return r;
}
