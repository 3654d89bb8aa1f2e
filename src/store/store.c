/*
 * store.c: the public store interface, dispatching to the implementation
 * chosen by the URL, plus what every implementation shares: the audit
 * chain and revocation reason names.
 */
#include "store/store_impl.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

int
store_open(const char *url, struct store **out)
{
	struct store *s;
	const char *path;
	int r;

	*out = NULL;
	if (url == NULL || *url == '\0')
		return jpki_fail(JPKI_ERR_INPUT, "store: empty database URL");
	if (strncmp(url, "postgresql:", 11) == 0 ||
	    strncmp(url, "postgres:", 9) == 0)
		return jpki_fail(JPKI_ERR_INPUT,
		    "store: PostgreSQL is not in this build (database = %s)",
		    url);
	path = strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	s->ops = &store_sqlite_ops;
	if ((r = store_sqlite_open(path, &s->impl)) != JPKI_OK) {
		free(s);
		return r;
	}
	*out = s;
	return JPKI_OK;
}

void
store_close(struct store **sp)
{
	struct store *s = *sp;

	if (s == NULL)
		return;
	s->ops->close(s->impl);
	free(s);
	*sp = NULL;
}

int
store_set_durable(struct store *s, int durable)
{
	return s->ops->set_durable(s->impl, durable);
}

int
store_schema_version(struct store *s, int *out)
{
	return s->ops->schema_version(s->impl, out);
}

int
store_begin(struct store *s)
{
	return s->ops->begin(s->impl);
}

int
store_data_version(struct store *s, uint64_t *out)
{
	return s->ops->data_version(s->impl, out);
}

int
store_commit(struct store *s)
{
	return s->ops->commit(s->impl);
}

void
store_rollback(struct store *s)
{
	s->ops->rollback(s->impl);
}

int
store_municipality_put(struct store *s, const struct municipality *m)
{
	return s->ops->municipality_put(s->impl, m);
}

int
store_municipality_get(struct store *s, const char *code,
    struct municipality *out)
{
	return s->ops->municipality_get(s->impl, code, out);
}

int
store_municipality_count(struct store *s, long *out)
{
	return s->ops->municipality_count(s->impl, out);
}

int
store_resident_insert(struct store *s, struct resident *r)
{
	return s->ops->resident_insert(s->impl, r);
}

int
store_resident_update(struct store *s, const struct resident *r)
{
	return s->ops->resident_update(s->impl, r);
}

int
store_resident_get(struct store *s, int64_t id, struct resident *out)
{
	return s->ops->resident_get(s->impl, id, out);
}

int
store_resident_by_number(struct store *s, const char *number,
    struct resident *out)
{
	return s->ops->resident_by_number(s->impl, number, out);
}

int
store_resident_list(struct store *s, int64_t after_id, long limit,
    int (*fn)(void *, const struct resident *), void *arg)
{
	return s->ops->resident_list(s->impl, after_id, limit, fn, arg);
}

int
store_resident_count(struct store *s, long *out)
{
	return s->ops->resident_count(s->impl, out);
}

int
store_card_insert(struct store *s, struct card_record *c)
{
	return s->ops->card_insert(s->impl, c);
}

int
store_card_update(struct store *s, const struct card_record *c)
{
	return s->ops->card_update(s->impl, c);
}

int
store_card_get(struct store *s, int64_t id, struct card_record *out)
{
	return s->ops->card_get(s->impl, id, out);
}

int
store_card_by_serial(struct store *s, const char *serial,
    struct card_record *out)
{
	return s->ops->card_by_serial(s->impl, serial, out);
}

int
store_card_current(struct store *s, int64_t resident_id,
    struct card_record *out)
{
	return s->ops->card_current(s->impl, resident_id, out);
}

void
store_cert_free(struct cert_record *c)
{
	free(c->der);
	c->der = NULL;
	c->der_len = 0;
}

int
store_cert_insert(struct store *s, const struct cert_record *c)
{
	return s->ops->cert_insert(s->impl, c);
}

int
store_cert_get(struct store *s, const char *serial, struct cert_record *out)
{
	return s->ops->cert_get(s->impl, serial, out);
}

int
store_cert_revoke(struct store *s, const char *serial, int reason, int64_t at)
{
	return s->ops->cert_revoke(s->impl, serial, reason, at);
}

int
store_cert_list(struct store *s, int64_t resident_id,
    int (*fn)(void *, const struct cert_record *), void *arg)
{
	return s->ops->cert_list(s->impl, resident_id, fn, arg);
}

int
store_cert_count(struct store *s, long *out)
{
	return s->ops->cert_count(s->impl, out);
}

int
store_cert_valid_of(struct store *s, int64_t resident_id, enum cert_type type,
    int64_t now, char serial[SERIAL_HEX_MAX], int64_t *not_after)
{
	return s->ops->cert_valid_of(s->impl, resident_id, type, now, serial,
	    not_after);
}

int
store_revocation_list(struct store *s, enum cert_type ca, int shard,
    int (*fn)(void *, const char *, int64_t, int), void *arg)
{
	return s->ops->revocation_list(s->impl, ca, shard, fn, arg);
}

int
store_crl_number_next(struct store *s, enum cert_type ca, int shard,
    int64_t *out)
{
	return s->ops->crl_number_next(s->impl, ca, shard, out);
}

/* ---- revocation reasons ---- */

static const struct {
	int code;
	const char *name;
} reasons[] = {
    {REASON_UNSPECIFIED, "unspecified"},
    {REASON_KEY_COMPROMISE, "keyCompromise"},
    {REASON_CA_COMPROMISE, "cACompromise"},
    {REASON_AFFILIATION_CHANGED, "affiliationChanged"},
    {REASON_SUPERSEDED, "superseded"},
    {REASON_CESSATION_OF_OPERATION, "cessationOfOperation"},
    {REASON_CERTIFICATE_HOLD, "certificateHold"},
    {REASON_REMOVE_FROM_CRL, "removeFromCRL"},
    {REASON_PRIVILEGE_WITHDRAWN, "privilegeWithdrawn"},
    {REASON_AA_COMPROMISE, "aACompromise"},
};

const char *
store_revocation_reason_name(int reason)
{
	for (size_t i = 0; i < JPKI_ARRAY_LEN(reasons); i++)
		if (reasons[i].code == reason)
			return reasons[i].name;
	return "unknown";
}

int
store_revocation_reason_parse(const char *s, int *out)
{
	for (size_t i = 0; i < JPKI_ARRAY_LEN(reasons); i++)
		if (strcasecmp(s, reasons[i].name) == 0) {
			/* RFC 5280 5.3.1: removeFromCRL only in delta CRLs. */
			if (reasons[i].code == REASON_REMOVE_FROM_CRL)
				break;
			*out = reasons[i].code;
			return JPKI_OK;
		}
	return jpki_fail(JPKI_ERR_INPUT,
	    "reason: unknown revocation reason '%s' (RFC 5280 5.3.1: "
	    "keyCompromise, affiliationChanged, superseded, "
	    "cessationOfOperation, cACompromise, certificateHold, "
	    "privilegeWithdrawn, unspecified)", s);
}

/* ---- the audit chain ---- */

static void
hash_field(EVP_MD_CTX *md, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16),
	    (uint8_t)(n >> 8), (uint8_t)n};

	EVP_DigestUpdate(md, len, sizeof(len));
	if (n > 0)
		EVP_DigestUpdate(md, s, n);
}

/* SHA-256 fetched once: an implicit fetch per entry costs more than the
 * hash itself on OpenSSL 3. */
static EVP_MD *audit_md;
static pthread_once_t audit_md_once = PTHREAD_ONCE_INIT;

static void
audit_md_fetch(void)
{
	audit_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void
store_audit_entry_hash(const struct audit_entry *e, uint8_t out[32])
{
	static const char domain[] = "openjpki-audit-v1";
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t num[16];
	unsigned int len = 32;

	for (int i = 0; i < 8; i++) {
		num[i] = (uint8_t)((uint64_t)e->seq >> (56 - 8 * i));
		num[8 + i] = (uint8_t)((uint64_t)e->at >> (56 - 8 * i));
	}
	pthread_once(&audit_md_once, audit_md_fetch);
	EVP_DigestInit_ex(md, audit_md ? audit_md : EVP_sha256(), NULL);
	EVP_DigestUpdate(md, domain, sizeof(domain));
	EVP_DigestUpdate(md, e->prev_hash, 32);
	EVP_DigestUpdate(md, num, sizeof(num));
	hash_field(md, e->actor);
	hash_field(md, e->action);
	hash_field(md, e->subject);
	hash_field(md, e->detail);
	EVP_DigestFinal_ex(md, out, &len);
	EVP_MD_CTX_free(md);
}

static int
copy_field(char *dst, size_t cap, const char *src, const char *what)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= cap)
		return jpki_fail(JPKI_ERR_INPUT, "audit: %s too long", what);
	memcpy(dst, src ? src : "", n + 1);
	return JPKI_OK;
}

int
store_audit_append(struct store *s, const char *actor, const char *action,
    const char *subject, const char *detail_json)
{
	struct audit_entry e;
	int own_tx = !s->ops->in_transaction(s->impl);
	int r;

	memset(&e, 0, sizeof(e));
	if ((r = copy_field(e.actor, sizeof(e.actor), actor, "actor")) ||
	    (r = copy_field(e.action, sizeof(e.action), action, "action")) ||
	    (r = copy_field(e.subject, sizeof(e.subject), subject, "subject")))
		return r;
	e.detail = (char *)(detail_json ? detail_json : "{}");
	e.at = jpki_now();
	if (own_tx && (r = store_begin(s)) != JPKI_OK)
		return r;
	if ((r = s->ops->audit_last(s->impl, &e.seq, e.prev_hash)) != JPKI_OK)
		goto fail;
	e.seq++;
	store_audit_entry_hash(&e, e.hash);
	if ((r = s->ops->audit_insert(s->impl, &e)) != JPKI_OK)
		goto fail;
	if (own_tx && (r = store_commit(s)) != JPKI_OK)
		goto fail;
	return JPKI_OK;
fail:
	if (own_tx)
		store_rollback(s);
	return r;
}

int
store_audit_list(struct store *s, int64_t after_seq, long limit,
    int (*fn)(void *, const struct audit_entry *), void *arg)
{
	return s->ops->audit_list(s->impl, after_seq, limit, fn, arg);
}

int
store_audit_count(struct store *s, long *out)
{
	return s->ops->audit_count(s->impl, out);
}

struct verify_state {
	uint8_t prev[32];
	int64_t expect_seq;
	long checked;
	int64_t broken_seq;
	const char *why;
};

static int
verify_one(void *arg, const struct audit_entry *e)
{
	struct verify_state *v = arg;
	uint8_t h[32];

	if (e->seq != v->expect_seq) {
		v->broken_seq = v->expect_seq;
		v->why = "missing entry";
		return 1;
	}
	if (memcmp(e->prev_hash, v->prev, 32) != 0) {
		v->broken_seq = e->seq;
		v->why = "previous-hash link does not match";
		return 1;
	}
	store_audit_entry_hash(e, h);
	if (memcmp(h, e->hash, 32) != 0) {
		v->broken_seq = e->seq;
		v->why = "entry altered: its hash does not match its contents";
		return 1;
	}
	memcpy(v->prev, e->hash, 32);
	v->expect_seq++;
	v->checked++;
	return 0;
}

int
store_audit_verify(struct store *s, long *checked)
{
	struct verify_state v;
	int r;

	memset(&v, 0, sizeof(v));
	v.expect_seq = 1;
	r = s->ops->audit_list(s->impl, 0, 0, verify_one, &v);
	*checked = v.checked;
	if (r != JPKI_OK)
		return r;
	if (v.why != NULL)
		return jpki_fail(JPKI_ERR_VERIFY,
		    "audit chain broken at entry %lld: %s",
		    (long long)v.broken_seq, v.why);
	return JPKI_OK;
}

/* ---- counter ---- */

int
store_receipt_insert(struct store *s, struct receipt_record *r)
{
	return s->ops->receipt_insert(s->impl, r);
}

int
store_receipt_get(struct store *s, int64_t id, struct receipt_record *out)
{
	return s->ops->receipt_get(s->impl, id, out);
}

int
store_receipt_line_add(struct store *s, int64_t receipt_id, int line,
    const char *item, long yen)
{
	return s->ops->receipt_line_add(s->impl, receipt_id, line, item, yen);
}

int
store_receipt_lines(struct store *s, int64_t receipt_id,
    int (*fn)(void *arg, int line, const char *item, long yen), void *arg)
{
	return s->ops->receipt_lines(s->impl, receipt_id, fn, arg);
}

int
store_cert_link_add(struct store *s, const char *old_serial,
    const char *new_serial, const char *kind, int64_t at, int64_t receipt_id)
{
	return s->ops->cert_link_add(s->impl, old_serial, new_serial, kind, at,
	    receipt_id);
}

int
store_cert_links(struct store *s, const char *serial,
    int (*fn)(void *arg, const char *old_serial, const char *new_serial,
    const char *kind, int64_t at), void *arg)
{
	return s->ops->cert_links(s->impl, serial, fn, arg);
}

int
store_pin_reset_add(struct store *s, int64_t receipt_id, int64_t card_id,
    int pin_kind, int was_locked)
{
	return s->ops->pin_reset_add(s->impl, receipt_id, card_id, pin_kind,
	    was_locked);
}

int
store_pin_reset_count(struct store *s, int64_t card_id, long *out)
{
	return s->ops->pin_reset_count(s->impl, card_id, out);
}

int
store_cards_of(struct store *s, int64_t resident_id,
    int (*fn)(void *arg, const struct card_record *c), void *arg)
{
	return s->ops->cards_of(s->impl, resident_id, fn, arg);
}

int
store_card_image_set(struct store *s, int64_t card_id,
    const uint8_t sha256[32], int64_t receipt_id, int64_t at)
{
	return s->ops->card_image_set(s->impl, card_id, sha256, receipt_id, at);
}

int
store_card_image_get(struct store *s, int64_t card_id, uint8_t sha256[32])
{
	return s->ops->card_image_get(s->impl, card_id, sha256);
}

/* ---- proxy forms ---- */

int
store_form_insert(struct store *s, struct inquiry_form *f)
{
	return s->ops->form_insert(s->impl, f);
}

int
store_form_number_reserve(struct store *s, int64_t at, int64_t *number)
{
	return s->ops->form_number_reserve(s->impl, at, number);
}

int
store_form_get(struct store *s, int64_t number, struct inquiry_form *out)
{
	return s->ops->form_get(s->impl, number, out);
}

int
store_form_mark_used(struct store *s, int64_t number, int64_t at)
{
	return s->ops->form_mark_used(s->impl, number, at);
}

int
store_form_notice_link(struct store *s, const char *serial, int64_t number)
{
	return s->ops->form_notice_link(s->impl, serial, number);
}

int
store_form_notice_find(struct store *s, const char *serial, int64_t *number)
{
	return s->ops->form_notice_find(s->impl, serial, number);
}

int
store_proxy_app_insert(struct store *s, struct proxy_application *a)
{
	return s->ops->proxy_app_insert(s->impl, a);
}

int
store_proxy_app_update(struct store *s, const struct proxy_application *a)
{
	return s->ops->proxy_app_update(s->impl, a);
}

int
store_proxy_app_get(struct store *s, int64_t id, struct proxy_application *out)
{
	return s->ops->proxy_app_get(s->impl, id, out);
}

int
store_cert_expiring(struct store *s, int64_t from, int64_t to,
    int (*fn)(void *arg, const struct cert_record *c), void *arg)
{
	return s->ops->cert_expiring(s->impl, from, to, fn, arg);
}
