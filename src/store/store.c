/*
 * store.c: the public store interface.  Every query dispatches through
 * a struct store_ops (store_impl.h, store_ops.def), refusing writes on a
 * store opened read-only; the SQL implementation (sql_*.c) picks the
 * database driver from the URL's scheme (db.h).  Also what every
 * database shares: the audit chain and revocation reason names.
 */
#include "store/store_impl.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- opening ---- */

static int
open_url(const char *url, const struct store_open_options *o,
    struct store **out)
{
	const struct store_ops *ops = &store_sql_ops;
	struct store *s;
	int r;

	*out = NULL;
	if (url == NULL || *url == '\0')
		return jpki_fail(JPKI_ERR_INPUT, "store: empty database URL");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	s->ops = ops;
	s->read_only = o->read_only;
	if ((r = ops->open(url, o, &s->impl)) != JPKI_OK) {
		free(s);
		return r;
	}
	*out = s;
	return JPKI_OK;
}

int
store_open(const char *url, struct store **out)
{
	const struct store_open_options o = {0, STORE_BUSY_TIMEOUT_MS, NULL};

	return open_url(url, &o, out);
}

int
store_open_migrating(const char *url, int *before, struct store **out)
{
	const struct store_open_options o = {0, STORE_BUSY_TIMEOUT_MS, before};

	return open_url(url, &o, out);
}

const char *
store_database_name(const struct store *s)
{
	return store_sql_database_name(s->impl);
}

static int
open_datadir(const char *dir, const struct jpki_config *c, int read_only,
    int *before, struct store **out)
{
	const struct store_open_options o = {read_only,
	    c->busy_timeout_ms > 0 ? c->busy_timeout_ms : STORE_BUSY_TIMEOUT_MS,
	    before};
	const char *db = c->database;
	char url[JPKI_PATH_MAX + 16];

	*out = NULL;
	/* A relative SQLite path is relative to the data directory. */
	if (strncmp(db, "sqlite:", 7) == 0 && db[7] != '/') {
		if ((size_t)snprintf(url, sizeof(url), "sqlite:%s/%s", dir,
		    db + 7) >= sizeof(url))
			return jpki_fail(JPKI_ERR_INPUT,
			    "store: data directory path too long");
		db = url;
	}
	return open_url(db, &o, out);
}

int
store_open_datadir(const char *dir, const struct jpki_config *c,
    struct store **out)
{
	return open_datadir(dir, c, 0, NULL, out);
}

int
store_open_datadir_migrating(const char *dir, const struct jpki_config *c,
    int *before, struct store **out)
{
	return open_datadir(dir, c, 0, before, out);
}

int
store_open_readonly(const char *dir, const struct jpki_config *c,
    struct store **out)
{
	return open_datadir(dir, c, 1, NULL, out);
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

/* ---- transactions ---- */

int
store_begin(struct store *s)
{
	return s->ops->begin(s->impl);
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

/* ---- the queries: one function per line of store_ops.def ---- */

static int
read_only_refusal(const char *op)
{
	return jpki_fail(JPKI_ERR_REFUSED, "store: opened read-only: %s "
	    "writes, and a read-only store does not", op);
}

/* The compiler holds each to its declaration in store.h.  A lost
 * connection is made again first (outside a transaction); a read that
 * failed on a connection found lost runs once more on a new one if
 * nothing of it was delivered (store_impl.h, ready and retry); a write
 * never does: its outcome is its caller's to learn. */
#define STORE_OP(mode, op, params, args)				\
int									\
store_##op(struct store *s, STORE_UNPAREN params)			\
{									\
	uint64_t mark_;							\
	int rc_;							\
									\
	if (STORE_WRITES_##mode && s->read_only)			\
		return read_only_refusal(#op);				\
	if ((rc_ = s->ops->ready(s->impl, &mark_)) != JPKI_OK)	\
		return rc_;						\
	rc_ = s->ops->op(s->impl, STORE_UNPAREN args);			\
	if (rc_ != JPKI_OK && !STORE_WRITES_##mode &&			\
	    s->ops->retry(s->impl, mark_))				\
		rc_ = s->ops->op(s->impl, STORE_UNPAREN args);		\
	return rc_;							\
}
#include "store/store_ops.def"
#undef STORE_OP

void
store_cert_free(struct cert_record *c)
{
	free(c->der);
	c->der = NULL;
	c->der_len = 0;
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
store_resident_status_name(enum resident_status st)
{
	switch (st) {
	case RESIDENT_ACTIVE: return "active";
	case RESIDENT_DECEASED: return "deceased";
	case RESIDENT_MOVED_AWAY: return "moved-away";
	}
	return "unknown";
}

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

	if (s->read_only)
		return read_only_refusal("audit_append");
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
