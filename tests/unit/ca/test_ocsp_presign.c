/* Pre-signed OCSP (ocsp_presign.c): a pass over every certificate signs
 * one response each, and a second finds them current; ca_ocsp_answer
 * sends the stored DER byte for byte to an RFC 5019 request (OpenSSL's
 * own OCSP API makes the requests and reads the answers), signs live a
 * nonce, SHA-256 or unknown-serial request while the gate has room, and
 * beyond it sends the stored answer without the nonce (RFC 8954) or
 * tryLater; another issuer is unauthorized; a revocation is followed by
 * the change queue; a response signed from a stale read never replaces a
 * newer one; responses due are made again, those of expired certificates
 * removed.  The answering threads' response cache (ocsp_cache.c): filled
 * from the store and then hit, byte for byte the stored response; a
 * change dropped as the server's follower drops it; a read older than what
 * the follower applied never kept; nothing used while the follower is
 * silent, past a response's refresh time, or beyond the budget; the
 * stored responses preloaded. */
#include "support/open_ca.h"
#include "ca/ca.h"
#include "pki/pki.h"
#include "test.h"

#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/jpki-presign-test-XXXXXX";
static struct ca *ca;
static EVP_PKEY *card_key;
static struct ca_ocsp_cache *cache;     /* ask() looks there first */

static int64_t
resident_new(long n)
{
	int64_t id;

	if (support_resident_add(ca, n, "東京都千代田区千代田1-1", &id) !=
	    JPKI_OK) {
		fprintf(stderr, "resident: %s\n", jpki_errmsg());
		exit(3);
	}
	return id;
}

static X509 *
issue(int64_t resident, enum cert_type type, char serial[SERIAL_HEX_MAX])
{
	struct ca_issue_request q;
	struct ca_issued out;
	const unsigned char *p;
	X509 *x;

	memset(&q, 0, sizeof(q));
	q.resident_id = resident;
	q.type = type;
	q.pub = card_key;
	q.actor = "test";
	if (ca_issue(ca, &q, &out) != JPKI_OK) {
		fprintf(stderr, "issue: %s\n", jpki_errmsg());
		exit(3);
	}
	p = out.der;
	x = d2i_X509(NULL, &p, (long)out.der_len);
	snprintf(serial, SERIAL_HEX_MAX, "%s", out.serial);
	ca_issued_free(&out);
	return x;
}

/* A DER OCSPRequest for x under issuer (md: EVP_sha1() or EVP_sha256()). */
static int
request(X509 *x, X509 *issuer, const EVP_MD *md, int nonce, uint8_t **der)
{
	OCSP_REQUEST *rq = OCSP_REQUEST_new();
	OCSP_CERTID *id = OCSP_cert_to_id(md, x, issuer);
	int n;

	OCSP_request_add0_id(rq, id);
	if (nonce)
		OCSP_request_add1_nonce(rq, NULL, 16);
	*der = NULL;
	n = i2d_OCSP_REQUEST(rq, der);
	OCSP_REQUEST_free(rq);
	return n;
}

/* Ask: the answer's DER in out, and what OpenSSL reads: the status of x
 * (V_OCSP_CERTSTATUS_*, or -1), the nonce check (OCSP_check_nonce), the
 * signature (1 verified under the responder cert). */
struct seen {
	int rc, status, nonce, verified, resp_status;
	struct ca_ocsp_answer ans;
	struct jbuf out;
};

static void
ask(X509 *x, X509 *issuer, const EVP_MD *md, int with_nonce,
    struct ca_ocsp_gate *gate, struct seen *s)
{
	uint8_t *q = NULL;
	int n = request(x, issuer, md, with_nonce, &q);
	const unsigned char *p, *qp = q;
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *basic;
	OCSP_REQUEST *rq = d2i_OCSP_REQUEST(NULL, &qp, n);
	OCSP_CERTID *id = OCSP_cert_to_id(md, x, issuer);
	STACK_OF(X509) *certs = sk_X509_new_null();
	X509_STORE *st = X509_STORE_new();
	int reason;

	memset(s, 0, sizeof(*s));
	jbuf_init(&s->out);
	s->status = -1;
	s->rc = ca_ocsp_answer_cached(ca, cache, q, (size_t)n, gate, &s->out,
	    &s->ans);
	p = s->out.data;
	resp = s->rc == JPKI_OK ? d2i_OCSP_RESPONSE(NULL, &p,
	    (long)s->out.len) : NULL;
	s->resp_status = resp ? OCSP_response_status(resp) : -1;
	if (resp != NULL && (basic = OCSP_response_get1_basic(resp)) != NULL) {
		ASN1_GENERALIZEDTIME *rev, *tu, *nu;

		OCSP_resp_find_status(basic, id, &s->status, &reason, &rev, &tu,
		    &nu);
		s->nonce = OCSP_check_nonce(rq, basic);
		X509_STORE_add_cert(st, ca_cert(ca, CERT_SIGN));
		X509_STORE_add_cert(st, ca_cert(ca, CERT_AUTH));
		s->verified = OCSP_basic_verify(basic, certs, st, 0) == 1;
		OCSP_BASICRESP_free(basic);
	}
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(rq);
	OCSP_CERTID_free(id);
	sk_X509_free(certs);
	X509_STORE_free(st);
	OPENSSL_free(q);
}

static void
seen_free(struct seen *s)
{
	jbuf_free(&s->out);
}

static void
at(int64_t t)
{
	char when[26];

	iso8601_format_jst(t, when);
	setenv("JPKI_NOW", when, 1);
}

/* What the server's follower (server/ocsp_feed.c) does with the change
 * queue after *seq: the last seq first, then each serial dropped. */
struct queued {
	size_t n;
	int64_t last;
	char serial[16][SERIAL_HEX_MAX];
};

static int
queued_one(void *arg, int64_t seq, const char *serial)
{
	struct queued *q = arg;

	if (q->n < 16)
		snprintf(q->serial[q->n++], SERIAL_HEX_MAX, "%s", serial);
	q->last = seq;
	return 0;
}

static void
follow(struct store *s, int64_t *seq)
{
	struct queued q = {0};
	int64_t first;

	CHECK_INT(store_ocsp_changes_read(s, *seq, 16, queued_one, &q, &first),
	    JPKI_OK);
	if (q.n == 0)
		return;
	ca_ocsp_cache_followed(cache, q.last);
	for (size_t i = 0; i < q.n; i++)
		ca_ocsp_cache_drop(cache, q.serial[i]);
	*seq = q.last;
}

static struct ca_ocsp_cache_stats
stats(void)
{
	struct ca_ocsp_cache_stats c;

	ca_ocsp_cache_stats(cache, &c);
	return c;
}

/* The same answer, with no cache: the bytes the store's response gives. */
static int
same_without_cache(X509 *x, X509 *issuer, const struct seen *a)
{
	struct ca_ocsp_cache *keep = cache;
	struct seen b;
	int same;

	cache = NULL;
	ask(x, issuer, EVP_sha1(), 0, NULL, &b);
	cache = keep;
	same = b.ans.presigned && a->out.len == b.out.len &&
	    memcmp(a->out.data, b.out.data, a->out.len) == 0;
	seen_free(&b);
	return same;
}

static void
cache_checks(struct ca_presigner *ps, struct store *s, X509 *x1, X509 *x3,
    const char *auth1, int64_t now)
{
	struct ca_ocsp_preload pos;
	struct ca_presign_pass p;
	struct seen a, b;
	int64_t seq, before;

	CHECK_INT(ca_ocsp_cache_new(1 << 20, &cache), JPKI_OK);
	CHECK_INT(store_ocsp_changes_last(s, &seq), JPKI_OK);
	ca_ocsp_cache_followed(cache, seq);
	ca_ocsp_cache_alive(cache);
	/* Filled, then hit: the stored bytes both times (the responder
	 * certificate kept apart and added back). */
	ask(x1, ca_cert(ca, CERT_SIGN), EVP_sha1(), 0, NULL, &a);
	CHECK_INT(a.ans.presigned, 1);
	CHECK(a.verified);
	CHECK_INT(stats().fills, 1);
	CHECK_INT(stats().hits, 0);
	CHECK(same_without_cache(x1, ca_cert(ca, CERT_SIGN), &a));
	ask(x1, ca_cert(ca, CERT_SIGN), EVP_sha1(), 0, NULL, &b);
	CHECK_INT(stats().hits, 1);
	CHECK_INT(b.ans.presigned, 1);
	CHECK_INT(b.status, V_OCSP_CERTSTATUS_GOOD);
	CHECK(a.out.len == b.out.len &&
	    memcmp(a.out.data, b.out.data, a.out.len) == 0);
	CHECK(stats().bytes > 0 && stats().bytes < 1024);   /* no cert */
	seen_free(&a);
	seen_free(&b);
	ask(x3, ca_cert(ca, CERT_AUTH), EVP_sha1(), 0, NULL, &a);
	ask(x3, ca_cert(ca, CERT_AUTH), EVP_sha1(), 0, NULL, &b);
	CHECK_INT(stats().hits, 2);
	CHECK(b.verified);
	CHECK(same_without_cache(x3, ca_cert(ca, CERT_AUTH), &b));
	seen_free(&a);
	seen_free(&b);

	/* A revocation: the cache says what it holds until the follower
	 * drops it (which the server's does within FEED_POLL_MS); then the
	 * store is asked, and its response not being current yet, the
	 * answer is signed live: revoked. */
	CHECK_INT(ca_revoke(ca, auth1, REASON_KEY_COMPROMISE, "test"),
	    JPKI_OK);
	ask(x3, ca_cert(ca, CERT_AUTH), EVP_sha1(), 0, NULL, &a);
	CHECK_INT(a.status, V_OCSP_CERTSTATUS_GOOD);
	CHECK_INT(stats().hits, 3);
	seen_free(&a);
	before = seq;
	follow(s, &seq);
	CHECK_INT(stats().dropped, 1);
	ask(x3, ca_cert(ca, CERT_AUTH), EVP_sha1(), 0, NULL, &a);
	CHECK_INT(a.status, V_OCSP_CERTSTATUS_REVOKED);
	CHECK_INT(a.ans.presigned, 0);
	CHECK_INT(stats().hits, 3);
	seen_free(&a);
	/* Re-signed: kept again (the re-signing is queued too: dropped
	 * once more when followed, and filled again). */
	memset(&p, 0, sizeof(p));
	p.what = CA_PRESIGN_CHANGES;
	p.from_seq = before;
	CHECK_INT(ca_presign_run(ps, &p), JPKI_OK);
	CHECK_INT(p.signed_revoked, 1);
	ask(x3, ca_cert(ca, CERT_AUTH), EVP_sha1(), 0, NULL, &a);
	CHECK_INT(a.status, V_OCSP_CERTSTATUS_REVOKED);
	CHECK_INT(a.ans.presigned, 1);
	follow(s, &seq);
	ask(x3, ca_cert(ca, CERT_AUTH), EVP_sha1(), 0, NULL, &b);
	seen_free(&b);
	ask(x3, ca_cert(ca, CERT_AUTH), EVP_sha1(), 0, NULL, &b);
	CHECK_INT(b.status, V_OCSP_CERTSTATUS_REVOKED);
	CHECK_INT(stats().hits, 4);
	CHECK(a.out.len == b.out.len &&
	    memcmp(a.out.data, b.out.data, a.out.len) == 0);
	seen_free(&a);
	seen_free(&b);

	/* Changes lost: everything dropped; and a read older than what the
	 * follower applied is answered but not kept. */
	ca_ocsp_cache_drop_all(cache, seq + 1000);
	CHECK_INT(stats().entries, 0);
	CHECK_INT(stats().flushed, 1);
	ask(x1, ca_cert(ca, CERT_SIGN), EVP_sha1(), 0, NULL, &a);
	CHECK_INT(a.ans.presigned, 1);
	CHECK_INT(stats().entries, 0);
	seen_free(&a);
	ca_ocsp_cache_free(&cache);

	/* A silent follower: the cache is not used. */
	CHECK_INT(ca_ocsp_cache_new(1 << 20, &cache), JPKI_OK);
	ca_ocsp_cache_followed(cache, seq);
	ca_ocsp_cache_alive(cache);
	ask(x1, ca_cert(ca, CERT_SIGN), EVP_sha1(), 0, NULL, &a);
	seen_free(&a);
	ca_ocsp_cache_down(cache);
	ask(x1, ca_cert(ca, CERT_SIGN), EVP_sha1(), 0, NULL, &a);
	CHECK_INT(a.ans.presigned, 1);
	CHECK_INT(stats().hits, 0);
	CHECK_INT(stats().fills, 1);
	seen_free(&a);
	ca_ocsp_cache_free(&cache);

	/* Preloaded, two a batch: every current response, and then hits
	 * only. */
	CHECK_INT(ca_ocsp_cache_new(1 << 20, &cache), JPKI_OK);
	ca_ocsp_cache_followed(cache, seq);
	ca_ocsp_cache_alive(cache);
	memset(&pos, 0, sizeof(pos));
	for (int i = 0; i < 5 && !pos.done; i++)
		CHECK_INT(ca_ocsp_cache_preload(ca, cache, &pos, 2), JPKI_OK);
	CHECK(pos.done);
	CHECK_INT(pos.kept, 3);
	CHECK_INT(stats().entries, 3);
	ask(x1, ca_cert(ca, CERT_SIGN), EVP_sha1(), 0, NULL, &a);
	CHECK_INT(stats().hits, 1);
	CHECK_INT(stats().fills, 3);
	seen_free(&a);
	/* Past the response's refresh time: not from the cache, and not
	 * kept again (the pre-signer makes a new one). */
	at(now + 86400);
	ask(x1, ca_cert(ca, CERT_SIGN), EVP_sha1(), 0, NULL, &a);
	CHECK_INT(a.ans.presigned, 1);
	CHECK_INT(stats().hits, 1);
	CHECK_INT(stats().entries, 2);
	seen_free(&a);
	at(now);
	ca_ocsp_cache_free(&cache);

	/* The budget: room for one response, not two. */
	CHECK_INT(ca_ocsp_cache_new(800, &cache), JPKI_OK);
	ca_ocsp_cache_followed(cache, seq);
	ca_ocsp_cache_alive(cache);
	ask(x1, ca_cert(ca, CERT_SIGN), EVP_sha1(), 0, NULL, &a);
	seen_free(&a);
	ask(x3, ca_cert(ca, CERT_AUTH), EVP_sha1(), 0, NULL, &a);
	seen_free(&a);
	CHECK_INT(stats().entries, 1);
	CHECK(stats().bytes <= 800);
	ca_ocsp_cache_free(&cache);
}

static struct ca_presign_pass
pass(struct ca_presigner *ps, enum ca_presign_what what, int64_t from)
{
	struct ca_presign_pass p;

	memset(&p, 0, sizeof(p));
	p.what = what;
	p.from_seq = from;
	p.batch = 2;            /* several steps, even here */
	CHECK_INT(ca_presign_run(ps, &p), JPKI_OK);
	return p;
}

int
main(void)
{
	struct ca_presigner *ps = NULL;
	struct ca_presign_pass p;
	struct ca_ocsp_gate gate;
	struct seen a, b;
	struct store *s;
	struct ocsp_stored st;
	uint8_t buf[STORE_OCSP_DER_MAX];
	char sign1[SERIAL_HEX_MAX], sign2[SERIAL_HEX_MAX], auth1[SERIAL_HEX_MAX];
	X509 *x1, *x2, *x3, *stray;
	EVP_PKEY *stray_key;
	int64_t t0, seq;
	long count;
	int64_t oldest;

	setenv("JPKI_NOW", "2026-11-25T10:00:00+09:00", 1);
	t0 = jpki_now();
	if (mkdtemp(dir) == NULL)
		return 3;
	if (support_ca_new(dir, CA_KEYS_CA | CA_KEYS_OCSP, &ca) != JPKI_OK ||
	    (card_key = EVP_RSA_gen(2048)) == NULL) {
		fprintf(stderr, "setup: %s\n", jpki_errmsg());
		return 3;
	}
	s = datadir_store(ca_datadir(ca));
	x1 = issue(resident_new(1), CERT_SIGN, sign1);
	x2 = issue(resident_new(2), CERT_SIGN, sign2);
	x3 = issue(resident_new(3), CERT_AUTH, auth1);

	/* Every certificate once; then all current. */
	CHECK_INT(ca_presigner_new(ca, 2, &ps), JPKI_OK);
	p = pass(ps, CA_PRESIGN_ALL, 0);
	CHECK_INT(p.signed_good, 3);
	CHECK_INT(p.signed_revoked, 0);
	CHECK_INT(p.changes_seen, 3);   /* three issuances queued */
	CHECK_INT(store_ocsp_changes_last(s, &seq), JPKI_OK);
	/* Followed, but the newest STORE_OCSP_CHANGES_KEEP stay (for the
	 * servers' response caches). */
	CHECK_INT(seq, 3);
	CHECK_INT(store_ocsp_changes_prune(s, seq), JPKI_OK);
	CHECK_INT(store_ocsp_changes_last(s, &seq), JPKI_OK);
	CHECK_INT(seq, 3);
	p = pass(ps, CA_PRESIGN_ALL, 0);
	CHECK_INT(p.signed_good, 0);
	CHECK_INT(p.current, 3);
	CHECK_INT(store_ocsp_stats(s, &count, &oldest), JPKI_OK);
	CHECK_INT(count, 3);
	CHECK_INT(oldest, t0);

	memset(&gate, 0, sizeof(gate));
	gate.max = 1;
	/* RFC 5019 request: the stored bytes, twice the same, verified. */
	ask(x1, ca_cert(ca, CERT_SIGN), EVP_sha1(), 0, &gate, &a);
	CHECK_INT(a.rc, JPKI_OK);
	CHECK_INT(a.ans.presigned, 1);
	CHECK_INT(a.status, V_OCSP_CERTSTATUS_GOOD);
	CHECK(a.verified);
	CHECK_INT(a.ans.next_update - a.ans.this_update, 2 * 86400);
	CHECK_INT(store_ocsp_get(s, (const uint8_t[STORE_OCSP_ISSUER_LEN]){0},
	    sign1, &st, buf, sizeof(buf)), JPKI_ERR_NOTFOUND);
	at(t0 + 5);
	ask(x1, ca_cert(ca, CERT_SIGN), EVP_sha1(), 0, &gate, &b);
	CHECK(a.out.len == b.out.len &&
	    memcmp(a.out.data, b.out.data, a.out.len) == 0);
	seen_free(&b);
	ask(x3, ca_cert(ca, CERT_AUTH), EVP_sha1(), 0, &gate, &b);
	CHECK_INT(b.ans.presigned, 1);
	CHECK_INT(b.status, V_OCSP_CERTSTATUS_GOOD);
	CHECK(b.verified);
	CHECK_INT(b.ans.type, CERT_AUTH);
	seen_free(&b);
	CHECK_INT(atomic_load(&gate.presigned), 3);

	/* A nonce: signed live, the nonce back. */
	ask(x1, ca_cert(ca, CERT_SIGN), EVP_sha1(), 1, &gate, &b);
	CHECK_INT(b.ans.presigned, 0);
	CHECK_INT(b.nonce, 1);
	CHECK(b.verified);
	CHECK_INT(atomic_load(&gate.live), 1);
	CHECK_INT(atomic_load(&gate.busy), 0);
	seen_free(&b);
	/* SHA-256 CertID: live too. */
	ask(x2, ca_cert(ca, CERT_SIGN), EVP_sha256(), 0, &gate, &b);
	CHECK_INT(b.ans.presigned, 0);
	CHECK_INT(b.status, V_OCSP_CERTSTATUS_GOOD);
	seen_free(&b);

	/* The gate full: the stored answer without the nonce; nothing
	 * stored: tryLater. */
	atomic_store(&gate.busy, gate.max);
	ask(x1, ca_cert(ca, CERT_SIGN), EVP_sha1(), 1, &gate, &b);
	CHECK_INT(b.ans.presigned, 1);
	CHECK_INT(b.nonce, -1);         /* in the request only */
	CHECK(a.out.len == b.out.len &&
	    memcmp(a.out.data, b.out.data, a.out.len) == 0);
	CHECK_INT(atomic_load(&gate.nonce_dropped), 1);
	seen_free(&b);
	ask(x2, ca_cert(ca, CERT_SIGN), EVP_sha256(), 0, &gate, &b);
	CHECK_INT(b.resp_status, OCSP_RESPONSE_STATUS_TRYLATER);
	CHECK_INT(atomic_load(&gate.try_later), 1);
	seen_free(&b);
	atomic_store(&gate.busy, 0);

	/* Another issuer: unauthorized, whatever the gate. */
	stray_key = EVP_RSA_gen(2048);
	stray = X509_new();
	X509_set_version(stray, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(stray), 7);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(stray), "CN",
	    MBSTRING_ASC, (const unsigned char *)"stray", -1, -1, 0);
	X509_set_issuer_name(stray, X509_get_subject_name(stray));
	X509_gmtime_adj(X509_getm_notBefore(stray), 0);
	X509_gmtime_adj(X509_getm_notAfter(stray), 86400);
	X509_set_pubkey(stray, stray_key);
	X509_sign(stray, stray_key, EVP_sha256());
	ask(x1, stray, EVP_sha1(), 0, &gate, &b);
	CHECK_INT(b.resp_status, OCSP_RESPONSE_STATUS_UNAUTHORIZED);
	seen_free(&b);

	/* A revocation, followed through the queue: revoked, stored. */
	CHECK_INT(ca_revoke(ca, sign2, REASON_KEY_COMPROMISE, "test"), JPKI_OK);
	p = pass(ps, CA_PRESIGN_CHANGES, 3);
	CHECK_INT(p.signed_revoked, 1);
	CHECK_INT(p.signed_good, 0);
	ask(x2, ca_cert(ca, CERT_SIGN), EVP_sha1(), 0, &gate, &b);
	CHECK_INT(b.ans.presigned, 1);
	CHECK_INT(b.status, V_OCSP_CERTSTATUS_REVOKED);
	CHECK(b.verified);
	seen_free(&b);
	/* A response made from a read before the revocation is refused. */
	CHECK_INT(store_ocsp_get(s, (const uint8_t[STORE_OCSP_ISSUER_LEN]){0}, sign2, &st, buf,
	    sizeof(buf)), JPKI_ERR_NOTFOUND);
	{
		uint8_t issuer[STORE_OCSP_ISSUER_LEN] = {0};
		struct ocsp_stored stale;

		memset(&stale, 0, sizeof(stale));
		memcpy(stale.issuer, issuer, sizeof(issuer));
		snprintf(stale.serial, sizeof(stale.serial), "%s", sign2);
		stale.status = CERT_STATUS_VALID;
		stale.this_update = t0;
		stale.next_update = t0 + 1;
		stale.der = buf;
		stale.der_len = 10;
		CHECK_INT(store_ocsp_put(s, &stale), JPKI_ERR_CONFLICT);
	}

	/* Not due yet; due after the refresh: all made again, new bytes. */
	p = pass(ps, CA_PRESIGN_DUE, 0);
	CHECK_INT(p.signed_good + p.signed_revoked, 0);
	at(t0 + 86400 + 1);
	p = pass(ps, CA_PRESIGN_DUE, 0);
	CHECK_INT(p.signed_good, 2);
	CHECK_INT(p.signed_revoked, 0);     /* made at t0 + 5: not yet */
	at(t0 + 86400 + 6);
	p = pass(ps, CA_PRESIGN_DUE, 0);
	CHECK_INT(p.signed_good, 0);
	CHECK_INT(p.signed_revoked, 1);
	ask(x1, ca_cert(ca, CERT_SIGN), EVP_sha1(), 0, &gate, &b);
	CHECK_INT(b.ans.presigned, 1);
	CHECK_INT(b.ans.this_update, t0 + 86400 + 1);
	CHECK(a.out.len != b.out.len ||
	    memcmp(a.out.data, b.out.data, a.out.len) != 0);
	seen_free(&b);
	cache_checks(ps, s, x1, x3, auth1, t0 + 86400 + 6);
	/* Past nextUpdate with no pass: signed live, not the stale one. */
	at(t0 + 86400 + 1 + 2 * 86400);
	ask(x1, ca_cert(ca, CERT_SIGN), EVP_sha1(), 0, &gate, &b);
	CHECK_INT(b.ans.presigned, 0);
	CHECK_INT(b.status, V_OCSP_CERTSTATUS_GOOD);
	seen_free(&b);
	/* Expired certificates: their responses go. */
	at(t0 + 20L * 365 * 86400);
	p = pass(ps, CA_PRESIGN_DUE, 0);
	CHECK_INT(p.removed, 3);
	CHECK_INT(store_ocsp_stats(s, &count, &oldest), JPKI_OK);
	CHECK_INT(count, 0);

	seen_free(&a);
	ca_presigner_free(&ps);
	X509_free(x1);
	X509_free(x2);
	X509_free(x3);
	X509_free(stray);
	EVP_PKEY_free(stray_key);
	EVP_PKEY_free(card_key);
	support_ca_close(&ca);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 3;
	}
	return test_summary();
}
