/*
 * ocsp_presign.c: pre-signed OCSP responses (docs/ocsp.md, "Pre-signed
 * responses").
 *
 * The responders are rows of a table found by the issuer hashes a CertID
 * carries (SHA-1 and SHA-256 of the CA's name and key): one row per CA
 * key, so a CA generation made by a rollover is one more row, answered
 * like the others.  Each certificate's response is signed ahead by its
 * issuer's responder with the SHA-1 CertID RFC 5019 clients send, no
 * nonce, thisUpdate = producedAt = the signing time, nextUpdate =
 * thisUpdate + ocsp_validity_seconds, and stored under (issuer, serial).
 *
 * The answering side (ca_ocsp_answer) sends the stored DER as it is when
 * the request is one SHA-1 CertID of exactly that form, without a nonce,
 * and the stored answer is still valid (and, unless the gate says a
 * pre-signer keeps them current, still says the certificate's status);
 * anything else is signed live (ca_ocsp_respond) through a gate of a
 * fixed size.
 *
 * The pre-signer (ca_presign_step) works in passes of steps: it reads a
 * batch of candidates from the store, signs on its threads those whose
 * response is missing, says another status, is due, or was made by
 * another issuer, and writes the batch in one transaction, each response
 * only if the certificate still has the status it says.
 */
#include "ca/ca_impl.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the responder table ----------------------------------------------- */

/* Every generation of both CAs. */
#define CA_OCSP_RESPONDERS_MAX (2 * CA_GEN_MAX)

struct responder {
	enum cert_type type;        /* the CA (and its key) that signs */
	int gen;                    /* its generation, whose responder signs */
	uint8_t name1[20], key1[20];        /* SHA-1 issuer hashes */
	uint8_t name256[32], key256[32];    /* SHA-256 */
	uint8_t issuer[STORE_OCSP_ISSUER_LEN];  /* name1 || key1: the store's
	                                           key */
	struct pki_ocsp_responder rs;
	/* How every response it signs ends: the certs field of the
	 * BasicOCSPResponse, [0] { SEQUENCE { its certificate } } (what the
	 * caches keep apart). */
	uint8_t *tail;
	size_t tail_len;
};

struct ca_ocsp_table {
	size_t n;
	struct responder r[CA_OCSP_RESPONDERS_MAX];
};

void
ca_ocsp_table_free(struct ca_ocsp_table **tp)
{
	struct ca_ocsp_table *t = *tp;

	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++) {
		pki_ocsp_responder_free(&t->r[i].rs);
		free(t->r[i].tail);
	}
	free(t);
	*tp = NULL;
}

/* A DER length's octets at p (room for 4): how many. */
static size_t
der_length(size_t n, uint8_t *p)
{
	if (n < 0x80) {
		p[0] = (uint8_t)n;
		return 1;
	}
	if (n < 0x100) {
		p[0] = 0x81;
		p[1] = (uint8_t)n;
		return 2;
	}
	p[0] = 0x82;
	p[1] = (uint8_t)(n >> 8);
	p[2] = (uint8_t)n;
	return 3;
}

/* e->tail from the responder certificate. */
static int
responder_tail(struct responder *e, X509 *cert)
{
	uint8_t *der = NULL, l1[4], l2[4];
	int n = i2d_X509(cert, &der);
	size_t a, b;

	if (n <= 0 || n > 0xffff - 16) {
		OPENSSL_free(der);
		return jpki_fail(JPKI_ERR_CRYPTO, "encoding a responder "
		    "certificate");
	}
	a = der_length((size_t)n, l1);                  /* SEQUENCE */
	b = der_length(1 + a + (size_t)n, l2);          /* [0] */
	e->tail_len = 1 + b + 1 + a + (size_t)n;
	if ((e->tail = malloc(e->tail_len)) == NULL) {
		OPENSSL_free(der);
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	}
	e->tail[0] = 0xa0;
	memcpy(e->tail + 1, l2, b);
	e->tail[1 + b] = 0x30;
	memcpy(e->tail + 2 + b, l1, a);
	memcpy(e->tail + 2 + b + a, der, (size_t)n);
	OPENSSL_free(der);
	return JPKI_OK;
}

/* One row per CA key the data directory holds: every generation of the
 * signing and the authentication CA.  Read-only once made. */
static int
table_get(struct ca *ca, struct ca_ocsp_table **out)
{
	struct ca_ocsp_table *t;
	uint8_t name[32], key[32];
	int r;

	if (ca->ocsp_table != NULL) {
		*out = ca->ocsp_table;
		return JPKI_OK;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	for (int ty = CERT_SIGN; ty <= CERT_AUTH; ty++)
	for (int g = 1; g <= ca->ngen[ty] && t->n < CA_OCSP_RESPONDERS_MAX; g++) {
		struct responder *e = &t->r[t->n];
		const struct ca_side *sd = &ca->side[ty][g];

		if (sd->cert == NULL || sd->ocsp_cert == NULL)
			continue;
		e->type = (enum cert_type)ty;
		e->gen = g;
		if ((r = pki_ocsp_issuer_hashes(sd->cert, PKI_OCSP_SHA1,
		    name, key)) != JPKI_OK)
			goto fail;
		memcpy(e->name1, name, 20);
		memcpy(e->key1, key, 20);
		if ((r = pki_ocsp_issuer_hashes(sd->cert,
		    PKI_OCSP_SHA256, e->name256, e->key256)) != JPKI_OK)
			goto fail;
		memcpy(e->issuer, e->name1, 20);
		memcpy(e->issuer + 20, e->key1, 20);
		if ((r = pki_ocsp_responder_init(&e->rs,
		    sd->ocsp_cert)) != JPKI_OK)
			goto fail;
		t->n++;
		if ((r = responder_tail(e, sd->ocsp_cert)) != JPKI_OK)
			goto fail;
	}
	ca->ocsp_table = t;
	*out = t;
	return JPKI_OK;
fail:
	ca_ocsp_table_free(&t);
	return r;
}

/* The responder a CertID names, or NULL. */
static const struct responder *
table_find(const struct ca_ocsp_table *t, const struct pki_ocsp_certid *id)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct responder *e = &t->r[i];

		if (id->hash == PKI_OCSP_SHA1 ?
		    memcmp(id->name_hash, e->name1, 20) == 0 &&
		    memcmp(id->key_hash, e->key1, 20) == 0 :
		    memcmp(id->name_hash, e->name256, 32) == 0 &&
		    memcmp(id->key_hash, e->key256, 32) == 0)
			return e;
	}
	return NULL;
}

/* The responder that answers for a certificate of the store.  Certificates
 * name their CA by type; with CA generations, the generation picks the
 * row. */
static const struct responder *
table_for_cert(const struct ca_ocsp_table *t, const struct ocsp_candidate *c)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->r[i].type == c->ca && t->r[i].gen == c->gen)
			return &t->r[i];
	return NULL;
}

/* ---- answering ------------------------------------------------------------ */

static int
gate_enter(struct ca_ocsp_gate *g)
{
	int busy;

	if (g == NULL)
		return 1;
	busy = atomic_load(&g->busy);
	do {
		if (busy >= g->max)
			return 0;
	} while (!atomic_compare_exchange_weak(&g->busy, &busy, busy + 1));
	return 1;
}

static void
gate_leave(struct ca_ocsp_gate *g)
{
	if (g != NULL)
		atomic_fetch_sub(&g->busy, 1);
}

static void
count(atomic_ulong *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* The responder and serial under which a response to req is stored, if
 * one can answer it: one SHA-1 CertID of exactly the form the stored
 * responses carry (*e NULL if not). */
static int
stored_key(const struct ca_ocsp_table *t, const struct pki_ocsp_request *req,
    const struct responder **e, char serial[SERIAL_HEX_MAX])
{
	const struct pki_ocsp_certid *id = &req->id[0];
	const struct responder *who;
	struct pki_ocsp_certid canon;

	*e = NULL;
	if (req->n != 1 || id->hash != PKI_OCSP_SHA1 ||
	    (who = table_find(t, id)) == NULL)
		return JPKI_OK;
	/* Only the CertID the stored response carries, byte for byte. */
	if (pki_ocsp_certid_sha1(who->name1, who->key1, id->serial,
	    id->serial_len, &canon) != JPKI_OK || canon.der_len != id->der_len ||
	    memcmp(canon.der, id->der, id->der_len) != 0)
		return JPKI_OK;
	*e = who;
	return pki_serial_hex(id->serial, id->serial_len, serial,
	    SERIAL_HEX_MAX);
}

/* The stored response answering req, if there is one: *found = 1.
 * kept_current: a pre-signer keeps the stored answers current (the
 * gate's stored_current). */
static int
stored_answer(struct ca *ca, const struct ca_ocsp_table *t,
    const struct pki_ocsp_request *req, int64_t now, int kept_current,
    struct ocsp_stored *st, uint8_t *buf, size_t cap,
    const struct responder **who, int *found)
{
	const struct responder *e;
	char serial[SERIAL_HEX_MAX];
	int r;

	*found = 0;
	if ((r = stored_key(t, req, &e, serial)) != JPKI_OK || e == NULL)
		return r;
	/* Kept current by a pre-signer: as stored; else only while the
	 * store agrees with it. */
	r = kept_current ?
	    store_ocsp_get(ca->store, e->issuer, serial, st, buf, cap) :
	    store_ocsp_get_current(ca->store, e->issuer, serial, st, buf, cap);
	if (r == JPKI_ERR_NOTFOUND)
		return JPKI_OK;
	if (r != JPKI_OK)
		return r;
	if (st->next_update <= now)
		return JPKI_OK;     /* the pre-signer is behind: sign live */
	*who = e;
	*found = 1;
	return JPKI_OK;
}

/* What ans says of a stored response sent (its bytes already in out). */
static void
stored_sent(struct ca_ocsp_answer *ans, enum cert_type type,
    const char *serial, enum cert_status status, int64_t this_update,
    int64_t next_update)
{
	memset(ans, 0, sizeof(*ans));
	ans->status = PKI_OCSP_SUCCESSFUL;
	ans->type = type;
	ans->this_update = this_update;
	ans->next_update = next_update;
	ans->presigned = 1;
	ans->n = 1;
	snprintf(ans->cert[0].serial, sizeof(ans->cert[0].serial), "%s",
	    serial);
	ans->cert[0].status = status == CERT_STATUS_REVOKED ?
	    PKI_OCSP_REVOKED : PKI_OCSP_GOOD;
}

/* How much of st a cache keeps: without e's certificate if st ends with
 * it (*tail = 1). */
static size_t
cache_keep(const struct responder *e, const struct ocsp_stored *st, int *tail)
{
	*tail = st->der_len > e->tail_len && memcmp(st->der + st->der_len -
	    e->tail_len, e->tail, e->tail_len) == 0;
	return *tail ? st->der_len - e->tail_len : st->der_len;
}

struct preload {
	struct ca *ca;
	const struct ca_ocsp_table *t;
	struct ca_ocsp_cache *c;
	struct ca_ocsp_preload *pos;
	int64_t seq, now;
	long n;
	int full;
};

static int
preload_one(void *arg, const struct ocsp_stored *st)
{
	struct preload *p = arg;
	const struct responder *e = NULL;
	int64_t fresh_until = st->this_update +
	    p->ca->config.ocsp_refresh_seconds;
	size_t keep;
	int tail;

	p->n++;
	snprintf(p->pos->serial, sizeof(p->pos->serial), "%s", st->serial);
	memcpy(p->pos->issuer, st->issuer, STORE_OCSP_ISSUER_LEN);
	for (size_t i = 0; i < p->t->n && e == NULL; i++)
		if (memcmp(p->t->r[i].issuer, st->issuer,
		    STORE_OCSP_ISSUER_LEN) == 0)
			e = &p->t->r[i];
	if (e == NULL || p->now >= fresh_until || st->next_update <= p->now)
		return 0;
	keep = cache_keep(e, st, &tail);
	if (ocsp_cache_full(p->c, keep)) {
		p->full = 1;
		return 1;
	}
	ocsp_cache_put(p->c, p->seq, (int)(e - p->t->r), st, keep, tail,
	    fresh_until);
	p->pos->kept++;
	return 0;
}

int
ca_ocsp_cache_preload(struct ca *ca, struct ca_ocsp_cache *c,
    struct ca_ocsp_preload *pos, long limit)
{
	struct preload p = {.ca = ca, .c = c, .pos = pos};
	int r;

	if (pos->done)
		return JPKI_OK;
	/* The queue's seq before the read, as for any fill. */
	if ((r = table_get(ca, (struct ca_ocsp_table **)&p.t)) != JPKI_OK ||
	    (r = jpki_now_checked(&p.now)) != JPKI_OK ||
	    (r = store_ocsp_changes_last(ca->store, &p.seq)) != JPKI_OK ||
	    (r = store_ocsp_list_current(ca->store, pos->serial, pos->issuer,
	    limit, preload_one, &p)) != JPKI_OK)
		return r;
	if (p.full || p.n < limit)
		pos->done = 1;
	return JPKI_OK;
}

/* The answer from the cache, or from a read that fills it: *done
 * = 1 when out holds it; else the caller answers as without a cache.  The
 * read takes the change queue's seq first and then the response, only if
 * the certificate has the status it says (ocsp_cache.c: a read from before
 * a change the cache has already dropped is not kept). */
static int
cached_answer(struct ca *ca, struct ca_ocsp_cache *c,
    const struct ca_ocsp_table *t, const struct pki_ocsp_request *req,
    int64_t now, uint8_t *buf, size_t cap, struct jbuf *out,
    struct ca_ocsp_answer *ans, int *done)
{
	const struct responder *e;
	struct ocsp_cache_hit hit;
	struct ocsp_stored st;
	char serial[SERIAL_HEX_MAX];
	int64_t seq, fresh_until;
	size_t keep;
	int r, tail;

	*done = 0;
	if (req->has_nonce || !ocsp_cache_usable(c))
		return JPKI_OK;
	if ((r = stored_key(t, req, &e, serial)) != JPKI_OK || e == NULL)
		return r;
	if ((r = ocsp_cache_get(c, (int)(e - t->r), serial, now, out,
	    &hit)) < 0)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	if (r == 1) {
		if (hit.tail && (r = jbuf_put(out, e->tail, e->tail_len)))
			return r;
		stored_sent(ans, e->type, serial, hit.status, hit.this_update,
		    hit.next_update);
		*done = 1;
		return JPKI_OK;
	}
	if ((r = store_ocsp_changes_last(ca->store, &seq)) != JPKI_OK)
		return r;
	r = store_ocsp_get_current(ca->store, e->issuer, serial, &st, buf, cap);
	if (r == JPKI_ERR_NOTFOUND)
		return JPKI_OK;     /* none, or not current: as without */
	if (r != JPKI_OK)
		return r;
	if (st.next_update <= now)
		return JPKI_OK;     /* the pre-signer is behind: sign live */
	keep = cache_keep(e, &st, &tail);
	fresh_until = st.this_update + ca->config.ocsp_refresh_seconds;
	if (now < fresh_until)
		ocsp_cache_put(c, seq, (int)(e - t->r), &st, keep, tail,
		    fresh_until);
	if ((r = jbuf_put(out, st.der, st.der_len)) != JPKI_OK)
		return r;
	stored_sent(ans, e->type, st.serial, st.status, st.this_update,
	    st.next_update);
	*done = 1;
	return JPKI_OK;
}

static int
answer(struct ca *ca, struct ca_ocsp_cache *cache, const uint8_t *der,
    size_t len, struct ca_ocsp_gate *gate, struct jbuf *out,
    struct ca_ocsp_answer *ans)
{
	struct pki_ocsp_request req;
	struct ca_ocsp_table *t;
	const struct responder *e = NULL, *first = NULL;
	struct ocsp_stored st;
	uint8_t buf[STORE_OCSP_DER_MAX];
	int64_t now;
	int found = 0, r;

	/* A malformed request, another issuer's, both CAs in one: those
	 * answers carry no signature, and ca_ocsp_respond makes them. */
	if (!(ca->keys & CA_KEYS_OCSP) ||
	    pki_ocsp_request_parse(der, len, &req) != JPKI_OK)
		return ca_ocsp_respond(ca, der, len, out, ans);
	if ((r = table_get(ca, &t)) != JPKI_OK)
		return r;
	for (size_t i = 0; i < req.n; i++) {
		if ((e = table_find(t, &req.id[i])) == NULL ||
		    (first != NULL && e != first))
			return ca_ocsp_respond(ca, der, len, out, ans);
		first = e;
	}
	if ((r = jpki_now_checked(&now)) != JPKI_OK)
		return r;
	if (cache != NULL) {
		int done = 0;

		if ((r = cached_answer(ca, cache, t, &req, now, buf,
		    sizeof(buf), out, ans, &done)) != JPKI_OK)
			return r;
		if (done) {
			if (gate != NULL)
				count(&gate->presigned);
			return JPKI_OK;
		}
	}
	if ((r = stored_answer(ca, t, &req, now, gate != NULL &&
	    atomic_load(&gate->stored_current), &st, buf, sizeof(buf), &e,
	    &found)) != JPKI_OK) {
		/* The store did not answer: a live answer reads it too, and
		 * fails the same way. */
		return r;
	}
	if (!found || req.has_nonce) {
		if (gate_enter(gate)) {
			r = ca_ocsp_respond(ca, der, len, out, ans);
			gate_leave(gate);
			if (gate != NULL)
				count(&gate->live);
			return r;
		}
		if (!found) {
			count(&gate->try_later);
			memset(ans, 0, sizeof(*ans));
			ans->status = PKI_OCSP_TRY_LATER;
			snprintf(ans->why, sizeof(ans->why), "%d answers are "
			    "being signed already, and none is stored for this "
			    "request", gate->max);
			return pki_ocsp_error_response(PKI_OCSP_TRY_LATER, out);
		}
		count(&gate->nonce_dropped);    /* RFC 8954 section 2.1 */
	} else if (gate != NULL) {
		count(&gate->presigned);
	}
	if ((r = jbuf_put(out, st.der, st.der_len)) != JPKI_OK)
		return r;
	stored_sent(ans, e->type, st.serial, st.status, st.this_update,
	    st.next_update);
	return JPKI_OK;
}

int
ca_ocsp_answer(struct ca *ca, const uint8_t *der, size_t len,
    struct ca_ocsp_gate *gate, struct jbuf *out, struct ca_ocsp_answer *ans)
{
	return ca_ocsp_answer_cached(ca, NULL, der, len, gate, out, ans);
}

int
ca_ocsp_answer_cached(struct ca *ca, struct ca_ocsp_cache *c,
    const uint8_t *der, size_t len, struct ca_ocsp_gate *gate,
    struct jbuf *out, struct ca_ocsp_answer *ans)
{
	int r = answer(ca, c, der, len, gate, out, ans);

	/* The store could not be read (the database down, its connection
	 * being made again) or the signer reached: tryLater (RFC 6960
	 * 4.2.1), which says nothing of the certificate, rather than
	 * internalError. */
	if (r != JPKI_ERR_IO || gate == NULL)
		return r;
	count(&gate->store_unavailable);
	memset(ans, 0, sizeof(*ans));
	ans->status = PKI_OCSP_TRY_LATER;
	snprintf(ans->why, sizeof(ans->why), "%s", jpki_errmsg());
	jbuf_free(out);
	return pki_ocsp_error_response(PKI_OCSP_TRY_LATER, out);
}

/* ---- pre-signing ------------------------------------------------------------ */

struct ca_presigner {
	struct ca *ca;
	struct ca_ocsp_table *table;
	int threads;
	struct ca_signer_session *ss[CA_PRESIGN_THREADS_MAX];
};

int
ca_presigner_new(struct ca *ca, int threads, struct ca_presigner **out)
{
	struct ca_presigner *ps;
	int r;

	*out = NULL;
	if (!(ca->keys & CA_KEYS_OCSP))
		return jpki_fail(JPKI_ERR_REFUSED, "OCSP: the CAs were opened "
		    "without their responder keys");
	if (threads < 1 || threads > CA_PRESIGN_THREADS_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "OCSP pre-signing: 1-%d "
		    "threads, not %d", CA_PRESIGN_THREADS_MAX, threads);
	if (ca->config.ocsp_validity_seconds < 2 * ca->config.ocsp_refresh_seconds)
		return jpki_fail(JPKI_ERR_INPUT, "OCSP pre-signing: the "
		    "validity must be at least twice the refresh");
	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	ps->ca = ca;
	ps->threads = threads;
	if ((r = table_get(ca, &ps->table)) != JPKI_OK)
		goto fail;
	for (int i = 0; i < threads; i++)
		if ((r = ca_signer_session_open(ca->signer, &ps->ss[i])))
			goto fail;
	*out = ps;
	return JPKI_OK;
fail:
	ca_presigner_free(&ps);
	return r;
}

void
ca_presigner_free(struct ca_presigner **psp)
{
	struct ca_presigner *ps = *psp;

	if (ps == NULL)
		return;
	for (int i = 0; i < ps->threads; i++)
		ca_signer_session_close(&ps->ss[i]);
	free(ps);
	*psp = NULL;
}

struct item {
	struct ocsp_candidate c;
	const struct responder *e;
	int remove;                 /* expired, or gone: drop its response */
	struct jbuf der;
};

struct work {
	struct ca_presigner *ps;
	struct item *items;
	size_t n;
	atomic_size_t next;
	int64_t now, validity;
	atomic_int failed;
	pthread_mutex_t lock;       /* the first failure's message only */
	int err;
	char why[256];
};

struct sign_arg {
	struct ca_signer_session *ss;
	enum cert_type type;
	int gen;
};

static int
sign_fn(void *arg, const uint8_t *data, size_t len, uint8_t *sig,
    size_t *sig_len)
{
	struct sign_arg *a = arg;

	return ca_signer_sign(a->ss,
	    (struct ca_key_id){a->type, CA_KEY_OCSP, a->gen},
	    CA_SIGN_OCSP, data, len, sig, sig_len);
}

/* The octets of a stored serial (hex, as pki_serial_hex writes it). */
static int
serial_octets(const char *hex, uint8_t *out, size_t *len)
{
	size_t n = strlen(hex), odd = n % 2;

	if (n == 0 || (n + odd) / 2 > PKI_SERIAL_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "serial '%s'", hex);
	*len = (n + odd) / 2;
	for (size_t i = 0; i < *len; i++) {
		int hi = i == 0 && odd ? 0 : hex_digit_value(hex[2 * i - odd]);
		int lo = hex_digit_value(hex[2 * i + 1 - odd]);

		if (hi < 0 || lo < 0)
			return jpki_fail(JPKI_ERR_INPUT, "serial '%s'", hex);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return JPKI_OK;
}

static int
sign_item(struct work *w, struct ca_signer_session *ss, struct item *it)
{
	struct pki_ocsp_certid id;
	struct pki_ocsp_single one;
	uint8_t serial[PKI_SERIAL_MAX];
	size_t serial_len = 0;
	int r;

	if ((r = serial_octets(it->c.serial, serial, &serial_len)) != JPKI_OK ||
	    (r = pki_ocsp_certid_sha1(it->e->name1, it->e->key1, serial,
	    serial_len, &id)) != JPKI_OK)
		return r;
	memset(&one, 0, sizeof(one));
	one.id = &id;
	one.this_update = w->now;
	one.next_update = w->now + w->validity;
	if (it->c.status == CERT_STATUS_REVOKED) {
		one.status = PKI_OCSP_REVOKED;
		one.revoked_at = it->c.revoked_at;
		one.reason = it->c.reason;
	} else {
		one.status = PKI_OCSP_GOOD;
	}
	return pki_ocsp_response(&it->e->rs, &one, 1, NULL, w->now,
	    &(struct pki_sign_with){sign_fn,
	    &(struct sign_arg){ss, it->e->type, it->e->gen}}, &it->der);
}

static void
work_on(struct work *w, struct ca_signer_session *ss)
{
	size_t i;
	int r;

	while (!atomic_load(&w->failed) &&
	    (i = atomic_fetch_add(&w->next, 1)) < w->n) {
		if (w->items[i].remove)
			continue;
		if ((r = sign_item(w, ss, &w->items[i])) != JPKI_OK) {
			pthread_mutex_lock(&w->lock);
			if (!atomic_exchange(&w->failed, 1)) {
				w->err = r;
				snprintf(w->why, sizeof(w->why), "%s",
				    jpki_errmsg());
			}
			pthread_mutex_unlock(&w->lock);
		}
	}
}

struct thread_arg {
	struct work *w;
	struct ca_signer_session *ss;
};

static void *
thread_main(void *arg)
{
	struct thread_arg *a = arg;

	work_on(a->w, a->ss);
	return NULL;
}

/* A batch being made: its candidates, the items to sign or remove, and
 * the signing threads at work on them. */
struct batch {
	struct ocsp_candidate *c;
	struct item *items;
	size_t n;
	int64_t now;
	struct work w;
	pthread_t tid[CA_PRESIGN_THREADS_MAX];
	struct thread_arg ta[CA_PRESIGN_THREADS_MAX];
	int started;                /* threads running: tid[first..started) */
	int first;                  /* 0: the caller signs too (sign_join) */
	double t0;
};

static void
batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++)
		jbuf_free(&b->items[i].der);
	free(b->items);
	free(b->c);
	free(b);
}

/* Start signing the batch's items on the pre-signer's threads: all of
 * them (caller_signs 0: the caller writes the previous batch meanwhile),
 * or all but the first, whose share the caller signs in sign_join. */
static void
sign_start(struct ca_presigner *ps, struct batch *b, int caller_signs)
{
	struct work *w = &b->w;

	memset(w, 0, sizeof(*w));
	w->ps = ps;
	w->items = b->items;
	w->n = b->n;
	w->now = b->now;
	w->validity = ps->ca->config.ocsp_validity_seconds;
	atomic_init(&w->next, 0);
	atomic_init(&w->failed, 0);
	pthread_mutex_init(&w->lock, NULL);
	b->first = caller_signs ? 1 : 0;
	b->started = b->first;
	b->t0 = mono();
	/* One thread per 8 signatures at most: a step of a few changes is
	 * signed by the caller alone. */
	for (int i = b->first; i < ps->threads && (i == 0 ||
	    (size_t)i * 8 < b->n); i++) {
		b->ta[i] = (struct thread_arg){w, ps->ss[i]};
		if (pthread_create(&b->tid[i], NULL, thread_main, &b->ta[i]) != 0)
			break;
		b->started = i + 1;
	}
}

static int
sign_join(struct batch *b, struct ca_presign_pass *p)
{
	struct work *w = &b->w;

	if (b->first == 1 || b->started == 0)
		work_on(w, w->ps->ss[0]);
	for (int i = b->first; i < b->started; i++)
		pthread_join(b->tid[i], NULL);
	pthread_mutex_destroy(&w->lock);
	p->sign_s += mono() - b->t0;
	if (atomic_load(&w->failed))
		return jpki_fail(w->err, "%s", w->why);
	return JPKI_OK;
}

struct collect {
	struct ocsp_candidate *c;
	size_t n, cap;
};

static int
collect_fn(void *arg, const struct ocsp_candidate *c)
{
	struct collect *k = arg;

	if (k->n < k->cap)
		k->c[k->n++] = *c;
	return 0;
}

/* Whether a candidate needs a response signed now. */
static int
needs_signing(const struct ca_presigner *ps, const struct ocsp_candidate *c,
    const struct responder *e, int64_t now)
{
	return !c->has_response ||
	    memcmp(c->issuer, e->issuer, STORE_OCSP_ISSUER_LEN) != 0 ||
	    c->response_status != c->status ||
	    c->this_update <= now - ps->ca->config.ocsp_refresh_seconds ||
	    c->next_update <= now;
}

static int
pass_start(struct ca_presigner *ps, struct ca_presign_pass *p, int64_t now)
{
	struct store *s = ps->ca->store;
	int r;

	if (p->batch == 0)
		p->batch = CA_PRESIGN_BATCH;
	switch (p->what) {
	case CA_PRESIGN_ALL:
		/* What the queue holds now is covered by this pass: each
		 * entry's change committed with it. */
		if ((r = store_ocsp_changes_last(s, &p->changes_seen)))
			return r;
		p->bound = now;
		break;
	case CA_PRESIGN_CHANGES:
		if ((r = store_ocsp_changes_last(s, &p->bound)))
			return r;
		p->changes_seen = p->bound > p->from_seq ? p->bound : p->from_seq;
		p->after.key = p->from_seq;
		p->has_after = 1;
		break;
	case CA_PRESIGN_DUE:
		p->bound = now - ps->ca->config.ocsp_refresh_seconds;
		break;
	default:
		return jpki_fail(JPKI_ERR_INPUT, "OCSP pre-signing: pass %d",
		    (int)p->what);
	}
	p->started = 1;
	return JPKI_OK;
}

/* Write a step's responses (and removals) in one transaction. */
static int
write_items(struct ca_presigner *ps, struct ca_presign_pass *p,
    struct item *items, size_t n, int64_t now)
{
	struct store *s = ps->ca->store;
	int r = JPKI_OK;

	if ((r = store_begin(s)) != JPKI_OK)
		return r;
	for (size_t i = 0; i < n && r == JPKI_OK; i++) {
		struct item *it = &items[i];
		struct ocsp_stored st;

		if (it->remove) {
			if ((r = store_ocsp_delete(s, it->c.serial)) == JPKI_OK)
				p->removed++;
			continue;
		}
		/* Made by another issuer's responder (a certificate cannot
		 * change issuer; a data directory rebuilt can). */
		if (it->c.has_response && memcmp(it->c.issuer, it->e->issuer,
		    STORE_OCSP_ISSUER_LEN) != 0 &&
		    (r = store_ocsp_delete(s, it->c.serial)) != JPKI_OK)
			break;
		memset(&st, 0, sizeof(st));
		memcpy(st.issuer, it->e->issuer, STORE_OCSP_ISSUER_LEN);
		snprintf(st.serial, sizeof(st.serial), "%s", it->c.serial);
		st.status = it->c.status;
		st.this_update = now;
		st.next_update = now + ps->ca->config.ocsp_validity_seconds;
		st.der = it->der.data;
		st.der_len = it->der.len;
		r = store_ocsp_put(s, &st);
		if (r == JPKI_ERR_CONFLICT) {
			/* Its status changed since it was read: the change
			 * queue brings it again. */
			p->raced++;
			r = JPKI_OK;
		} else if (r == JPKI_OK) {
			if (st.status == CERT_STATUS_REVOKED)
				p->signed_revoked++;
			else
				p->signed_good++;
		}
	}
	if (r == JPKI_OK)
		return store_commit(s);
	store_rollback(s);
	return r;
}

/* Read the pass's next batch and decide what to sign and remove: *out
 * NULL when the pass is done (and the queue pruned). */
static int
prepare(struct ca_presigner *ps, struct ca_presign_pass *p,
    struct batch **out)
{
	struct store *s = ps->ca->store;
	struct collect k = {0};
	struct batch *b = NULL;
	int64_t now;
	double t;
	int r;

	*out = NULL;
	if (p->done)
		return JPKI_OK;
	if ((r = jpki_now_checked(&now)) != JPKI_OK)
		return r;
	if (!p->started && (r = pass_start(ps, p, now)) != JPKI_OK)
		return r;
	if (p->what == CA_PRESIGN_CHANGES && p->after.key >= p->bound)
		goto finished;
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->c = calloc(p->batch, sizeof(*b->c))) == NULL ||
	    (b->items = calloc(p->batch, sizeof(*b->items))) == NULL) {
		batch_free(b);
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	}
	b->now = now;
	k.c = b->c;
	k.cap = p->batch;
	t = mono();
	r = store_ocsp_scan(s, (enum store_ocsp_scan)p->what,
	    p->has_after ? &p->after : NULL, p->bound, (long)k.cap, collect_fn,
	    &k);
	p->scan_s += mono() - t;
	if (r != JPKI_OK) {
		batch_free(b);
		return r;
	}
	if (k.n == 0) {
		batch_free(b);
		goto finished;
	}
	p->after = k.c[k.n - 1];
	p->has_after = 1;
	for (size_t i = 0; i < k.n; i++) {
		struct ocsp_candidate *c = &k.c[i];
		struct item *items = b->items;
		const struct responder *e;
		int dup = 0;

		p->looked++;
		/* The queue may name a serial twice (issued, then revoked). */
		for (size_t j = 0; j < b->n && p->what == CA_PRESIGN_CHANGES; j++)
			dup |= strcmp(items[j].c.serial, c->serial) == 0;
		if (dup)
			continue;
		if (c->ca == 0 || c->not_after <= now) {
			/* Gone or expired: no response is kept for it. */
			if (c->has_response) {
				items[b->n].c = *c;
				items[b->n++].remove = 1;
			}
			continue;
		}
		if ((e = table_for_cert(ps->table, c)) == NULL)
			continue;
		if (!needs_signing(ps, c, e, now)) {
			p->current++;
			continue;
		}
		items[b->n].c = *c;
		items[b->n].e = e;
		jbuf_init(&items[b->n].der);
		b->n++;
	}
	*out = b;
	return JPKI_OK;
finished:
	p->done = 1;
	/* The queue is followed up to changes_seen: drop what it held. */
	if (p->what != CA_PRESIGN_DUE && p->changes_seen > 0)
		return store_ocsp_changes_prune(s, p->changes_seen);
	return JPKI_OK;
}

static int
write_batch(struct ca_presigner *ps, struct ca_presign_pass *p,
    struct batch *b)
{
	double t = mono();
	int r;

	if (b->n == 0)
		return JPKI_OK;     /* all current: nothing to write */
	r = write_items(ps, p, b->items, b->n, b->now);

	p->write_s += mono() - t;
	return r;
}

int
ca_presign_step(struct ca_presigner *ps, struct ca_presign_pass *p)
{
	struct batch *b = NULL;
	int r;

	if ((r = prepare(ps, p, &b)) != JPKI_OK || b == NULL)
		return r;
	if (b->n > 0) {
		sign_start(ps, b, 1);
		if ((r = sign_join(b, p)) == JPKI_OK)
			r = write_batch(ps, p, b);
	}
	batch_free(b);
	return r;
}

/* Pipelined: while the threads sign one batch, the caller writes the one
 * before (the store's connection is the caller's alone), so the cores do
 * not wait for the store.  A batch is written only after the one before
 * it: a serial in both (issued, then revoked) ends as the later says, and
 * the put's status check keeps a stale one out anyway. */
int
ca_presign_run(struct ca_presigner *ps, struct ca_presign_pass *p)
{
	struct batch *prev = NULL, *cur = NULL;
	int r = JPKI_OK, r2;

	if (ps->threads == 1) {
		while (!p->done && (r = ca_presign_step(ps, p)) == JPKI_OK)
			;
		return r;
	}
	for (;;) {
		if ((r = prepare(ps, p, &cur)) != JPKI_OK)
			break;
		if (cur != NULL && cur->n > 0)
			sign_start(ps, cur, 0);
		if (prev != NULL) {
			r = write_batch(ps, p, prev);
			batch_free(prev);
			prev = NULL;
		}
		if (cur != NULL && cur->n > 0 &&
		    (r2 = sign_join(cur, p)) != JPKI_OK && r == JPKI_OK)
			r = r2;
		if (r != JPKI_OK || cur == NULL)
			break;
		prev = cur;
		cur = NULL;
	}
	if (r == JPKI_OK && prev != NULL)
		r = write_batch(ps, p, prev);
	batch_free(prev);
	batch_free(cur);
	return r;
}
