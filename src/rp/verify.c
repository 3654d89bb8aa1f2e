/*
 * verify.c: the verifier (trust anchors, store, status cache) and the
 * check of one certificate for one use at one time: chain to an anchor,
 * validity, key usage and policy of a JPKI certificate, status.  The CMS
 * (cms_verify.c) and the login (login.c) both end here.
 */
#include "rp/rp_int.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const reason_names[RP_REASON_N] = {
	[RP_VALID] = "valid",
	[RP_BAD_SIGNATURE] = "bad-signature",
	[RP_UNTRUSTED] = "untrusted",
	[RP_WRONG_CERTIFICATE] = "wrong-certificate",
	[RP_NOT_YET_VALID] = "not-yet-valid",
	[RP_EXPIRED] = "expired",
	[RP_REVOKED] = "revoked",
	[RP_REVOKED_BEFORE_SIGNING] = "revoked-before-signing",
	[RP_STATUS_UNKNOWN] = "status-unknown",
};

const char *
rp_reason_name(enum rp_reason r)
{
	return (unsigned)r < RP_REASON_N ? reason_names[r] : "invalid";
}

const char *
rp_status_source_name(enum rp_status_source s)
{
	switch (s) {
	case RP_SRC_OCSP:
		return "ocsp";
	case RP_SRC_CRL:
		return "crl";
	case RP_SRC_STORE:
		return "store";
	case RP_SRC_ANCHOR:
		return "anchor";
	default:
		return "none";
	}
}

const char *
rp_ssl_error(const char *what)
{
	static _Thread_local char buf[256];
	unsigned long e = ERR_peek_last_error();

	snprintf(buf, sizeof(buf), "%s%s%s", what, e ? ": " : "",
	    e ? ERR_reason_error_string(e) ? ERR_reason_error_string(e) :
	    "error" : "");
	ERR_clear_error();
	return buf;
}

/* ---- base64 --------------------------------------------------------------- */

void
rp_b64_encode(const uint8_t *p, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

int
rp_b64_decode(const char *s, size_t slen, uint8_t *out, size_t cap,
    size_t *len)
{
	size_t pad = 0, n;
	uint8_t *tmp;
	int got;

	if (slen == 0 || slen % 4 != 0 || slen / 4 * 3 > cap + 2)
		return jpki_fail(JPKI_ERR_INPUT, "base64: bad length %zu",
		    slen);
	for (size_t i = 0; i < slen; i++) {
		char c = s[i];

		if (c == '=' && i >= slen - 2) {
			pad++;
			continue;
		}
		if (pad > 0 || !((c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '+' || c == '/'))
			return jpki_fail(JPKI_ERR_INPUT, "base64: bad "
			    "character at %zu", i);
	}
	if ((tmp = malloc(slen / 4 * 3)) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	got = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)slen);
	if (got < 0 || (size_t)got < pad) {
		free(tmp);
		return jpki_fail(JPKI_ERR_INPUT, "base64: not base64");
	}
	n = (size_t)got - pad;
	if (n > cap) {
		free(tmp);
		return jpki_fail(JPKI_ERR_INPUT, "base64: more than %zu bytes",
		    cap);
	}
	memcpy(out, tmp, n);
	free(tmp);
	*len = n;
	return JPKI_OK;
}

/* ---- the verifier ---------------------------------------------------------- */

int
rp_verifier_new(struct store *store, unsigned flags, struct rp_verifier **out)
{
	struct rp_verifier *v;

	*out = NULL;
	if ((v = calloc(1, sizeof(*v))) == NULL ||
	    (v->cache = calloc(RP_STATUS_CACHE_MAX, sizeof(*v->cache))) ==
	    NULL || (v->anchors = X509_STORE_new()) == NULL ||
	    (v->anchor_list = sk_X509_new_null()) == NULL ||
	    (v->documents = sk_X509_new_null()) == NULL) {
		if (v != NULL) {
			sk_X509_free(v->anchor_list);
			free(v->cache);
			X509_STORE_free(v->anchors);
			free(v);
		}
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	}
	pthread_mutex_init(&v->lock, NULL);
	v->store = store;
	v->flags = flags;
	*out = v;
	return JPKI_OK;
}

void
rp_verifier_free(struct rp_verifier **vp)
{
	struct rp_verifier *v = *vp;

	if (v == NULL)
		return;
	X509_STORE_free(v->anchors);
	sk_X509_pop_free(v->anchor_list, X509_free);
	sk_X509_pop_free(v->documents, X509_free);
	for (size_t i = 0; i < v->certs_n; i++) {
		X509_free(v->certs[i].x);
		X509_free(v->certs[i].issuer);
	}
	pthread_mutex_destroy(&v->lock);
	free(v->cache);
	free(v);
	*vp = NULL;
}

int
rp_is_document_signer(X509 *x)
{
	CERTIFICATEPOLICIES *cp = X509_get_ext_d2i(x, NID_certificate_policies,
	    NULL, NULL);
	char oid[80];
	int yes = 0;

	for (int i = 0; cp != NULL && i < sk_POLICYINFO_num(cp); i++)
		if (OBJ_obj2txt(oid, sizeof(oid), sk_POLICYINFO_value(cp,
		    i)->policyid, 1) > 0 &&
		    strcmp(oid, PKI_OID_POLICY_MUNICIPALITY_DOC) == 0)
			yes = 1;
	CERTIFICATEPOLICIES_free(cp);
	/* Self-issued: X509_check_issued() would also ask for keyCertSign,
	 * which this end entity does not have. */
	return yes && X509_NAME_cmp(X509_get_subject_name(x),
	    X509_get_issuer_name(x)) == 0;
}

int
rp_verifier_add_anchor(struct rp_verifier *v, X509 *x)
{
	if (rp_is_document_signer(x)) {
		if (X509_verify(x, X509_get0_pubkey(x)) != 1)
			return jpki_fail(JPKI_ERR_INPUT, "%s", rp_ssl_error(
			    "anchor: a document-signing certificate not signed "
			    "by its own key"));
		if (X509_up_ref(x) != 1)
			return jpki_fail(JPKI_ERR_CRYPTO, "anchor: reference");
		if (sk_X509_push(v->documents, x) <= 0) {
			X509_free(x);
			return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		}
		return JPKI_OK;
	}
	if (X509_check_ca(x) == 0)
		return jpki_fail(JPKI_ERR_INPUT, "anchor: not a CA "
		    "certificate");
	if (X509_STORE_add_cert(v->anchors, x) != 1 ||
	    X509_up_ref(x) != 1)
		return jpki_fail(JPKI_ERR_CRYPTO, "%s",
		    rp_ssl_error("adding an anchor"));
	if (sk_X509_push(v->anchor_list, x) <= 0) {
		X509_free(x);
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	}
	/* Chains found before were found without it. */
	pthread_mutex_lock(&v->lock);
	for (size_t i = 0; i < v->certs_n; i++)
		v->certs[i].chain_use = 0;
	pthread_mutex_unlock(&v->lock);
	return JPKI_OK;
}

/* ---- decoded certificates, and their chains ------------------------------- */

static struct rp_cached_cert *
cert_find(struct rp_verifier *v, const uint8_t hash[32])
{
	for (size_t i = 0; i < v->certs_n; i++)
		if (memcmp(v->certs[i].hash, hash, 32) == 0)
			return &v->certs[i];
	return NULL;
}

/* The slot for hash (the lock held): its own, or the next one round. */
static struct rp_cached_cert *
cert_slot(struct rp_verifier *v, const uint8_t hash[32])
{
	struct rp_cached_cert *e = cert_find(v, hash);

	if (e != NULL)
		return e;
	if (v->certs_n < RP_CERT_CACHE_MAX) {
		e = &v->certs[v->certs_n++];
	} else {
		e = &v->certs[v->certs_next];
		v->certs_next = (v->certs_next + 1) % RP_CERT_CACHE_MAX;
		X509_free(e->x);
		X509_free(e->issuer);
	}
	memset(e, 0, sizeof(*e));
	memcpy(e->hash, hash, 32);
	return e;
}

X509 *
rp_cert_cached(struct rp_verifier *v, const uint8_t *der, size_t n)
{
	struct rp_cached_cert *e;
	uint8_t hash[32];
	const uint8_t *p = der;
	X509 *x = NULL;

	if (EVP_Digest(der, n, hash, NULL, EVP_sha256(), NULL) != 1)
		return NULL;
	pthread_mutex_lock(&v->lock);
	if ((e = cert_find(v, hash)) != NULL && e->x != NULL &&
	    X509_up_ref(e->x) == 1)
		x = e->x;
	pthread_mutex_unlock(&v->lock);
	if (x != NULL)
		return x;
	if ((x = d2i_X509(NULL, &p, (long)n)) == NULL || p != der + n) {
		X509_free(x);
		return NULL;
	}
	pthread_mutex_lock(&v->lock);
	e = cert_slot(v, hash);
	if (e->x == NULL && X509_up_ref(x) == 1)
		e->x = x;
	pthread_mutex_unlock(&v->lock);
	return x;
}

/* A chain found before for cert and use that holds at `at`: its issuer
 * (a reference), else NULL. */
static X509 *
chain_cached(struct rp_verifier *v, X509 *cert, enum cert_type use,
    int64_t at)
{
	struct rp_cached_cert *e;
	uint8_t hash[32];
	unsigned len = 0;
	X509 *issuer = NULL;

	if (X509_digest(cert, EVP_sha256(), hash, &len) != 1)
		return NULL;
	pthread_mutex_lock(&v->lock);
	if ((e = cert_find(v, hash)) != NULL && e->chain_use == use &&
	    at >= e->chain_from && at <= e->chain_until && e->issuer != NULL &&
	    X509_up_ref(e->issuer) == 1)
		issuer = e->issuer;
	pthread_mutex_unlock(&v->lock);
	return issuer;
}

static int64_t
time_of(const ASN1_TIME *t)
{
	struct tm tm;

	return t != NULL && ASN1_TIME_to_tm(t, &tm) == 1 ?
	    (int64_t)timegm(&tm) : 0;
}

/* Keep what a chain check found: the times every certificate of the
 * chain is valid in, and the issuer. */
static void
chain_keep(struct rp_verifier *v, X509 *cert, enum cert_type use,
    STACK_OF(X509) *chain)
{
	struct rp_cached_cert *e;
	int64_t from = INT64_MIN, until = INT64_MAX;
	uint8_t hash[32];
	unsigned len = 0;
	X509 *issuer = sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) :
	    NULL;

	if (issuer == NULL || X509_digest(cert, EVP_sha256(), hash, &len) != 1)
		return;
	for (int i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		int64_t nb = time_of(X509_get0_notBefore(x)),
		    na = time_of(X509_get0_notAfter(x));

		if (nb > from)
			from = nb;
		if (na < until)
			until = na;
	}
	pthread_mutex_lock(&v->lock);
	e = cert_slot(v, hash);
	X509_free(e->issuer);
	e->issuer = NULL;
	if (X509_up_ref(issuer) == 1) {
		e->issuer = issuer;
		e->chain_use = use;
		e->chain_from = from;
		e->chain_until = until;
	}
	pthread_mutex_unlock(&v->lock);
}

int
rp_verifier_add_anchors_pem(struct rp_verifier *v, const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;
	int n = 0, r = JPKI_OK;

	if (f == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "anchors: %s: cannot open",
		    path);
	while (r == JPKI_OK && (x = PEM_read_X509(f, NULL, NULL, NULL)) !=
	    NULL) {
		r = rp_verifier_add_anchor(v, x);
		X509_free(x);
		n++;
	}
	fclose(f);
	ERR_clear_error();
	if (r == JPKI_OK && n == 0)
		r = jpki_fail(JPKI_ERR_INPUT, "anchors: %s: no PEM "
		    "certificate in it", path);
	return r;
}

/* ---- one certificate, one use -------------------------------------------- */

void
rp_result_free(struct rp_result *r)
{
	X509_free(r->signer);
	r->signer = NULL;
	if (r->has_facts)
		rp_facts_free(&r->facts);
	r->has_facts = 0;
}

static int
verdict(struct rp_result *res, enum rp_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int
verdict(struct rp_result *res, enum rp_reason reason, const char *fmt, ...)
{
	va_list ap;

	res->reason = reason;
	va_start(ap, fmt);
	vsnprintf(res->why, sizeof(res->why), fmt, ap);
	va_end(ap);
	return JPKI_OK;
}

#define refuse(...) (verdict(__VA_ARGS__), 1)

/* Which JPKI certificate its policy says x is (0: none). */
static enum cert_type
policy_type(X509 *x)
{
	CERTIFICATEPOLICIES *cp = X509_get_ext_d2i(x, NID_certificate_policies,
	    NULL, NULL);
	enum cert_type t = 0;
	char oid[80];

	for (int i = 0; cp != NULL && i < sk_POLICYINFO_num(cp); i++) {
		POLICYINFO *pi = sk_POLICYINFO_value(cp, i);

		if (OBJ_obj2txt(oid, sizeof(oid), pi->policyid, 1) <= 0)
			continue;
		if (strcmp(oid, PKI_OID_POLICY_SIGN) == 0 ||
		    strcmp(oid, PKI_OID_POLICY_SIGN_TEST) == 0)
			t = CERT_SIGN;
		else if (strcmp(oid, PKI_OID_POLICY_AUTH) == 0 ||
		    strcmp(oid, PKI_OID_POLICY_AUTH_TEST) == 0)
			t = CERT_AUTH;
	}
	CERTIFICATEPOLICIES_free(cp);
	return t;
}

/* Key usage and policy of a JPKI certificate for `use` (docs/profile.md):
 * signing: digitalSignature + nonRepudiation and the signing policy;
 * logging in: digitalSignature and the authentication policy (R4, R5).
 * 1 if they do not fit (the verdict said why). */
static int
usage_check(X509 *x, enum cert_type use, struct rp_result *res)
{
	uint32_t ku = X509_get_key_usage(x);

	res->type = policy_type(x);
	if (res->type == 0)
		return refuse(res, RP_WRONG_CERTIFICATE, "the certificate "
		    "has no JPKI certificate policy (%s or %s)",
		    use == CERT_SIGN ? PKI_OID_POLICY_SIGN : PKI_OID_POLICY_AUTH,
		    use == CERT_SIGN ? PKI_OID_POLICY_SIGN_TEST :
		    PKI_OID_POLICY_AUTH_TEST);
	if (res->type != use)
		return refuse(res, RP_WRONG_CERTIFICATE, use == CERT_AUTH ?
		    "R5: a signing certificate offered for login; log in with "
		    "the authentication certificate" :
		    "R4: an authentication certificate cannot sign documents; "
		    "sign with the signing certificate");
	if (!(ku & KU_DIGITAL_SIGNATURE) ||
	    (use == CERT_SIGN && !(ku & KU_NON_REPUDIATION)))
		return refuse(res, RP_WRONG_CERTIFICATE, "key usage: %s",
		    use == CERT_SIGN ? "digitalSignature and nonRepudiation "
		    "needed to sign" : "digitalSignature needed to log in");
	return 0;
}

void
rp_describe(X509 *x, struct rp_result *res)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	if (pki_serial_hex(ASN1_STRING_get0_data(sn),
	    (size_t)ASN1_STRING_length(sn), res->serial, sizeof(res->serial))
	    != JPKI_OK)
		res->serial[0] = '\0';
	res->subject[0] = '\0';
	if (b != NULL && X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (n = BIO_get_mem_data(b, &p)) > 0)
		snprintf(res->subject, sizeof(res->subject), "%.*s", (int)n, p);
	BIO_free(b);
}

static void
time_text(int64_t t, char buf[26])
{
	iso8601_format_jst(t, buf);
}

/* A municipality's document-signing certificate (a kiosk's residence
 * certificate): it is its own anchor, so it must be one of ours, exactly;
 * then valid at the time, digitalSignature and nonRepudiation.  An anchor
 * has no status to ask (RFC 5280 6.1.1 (d): trusted by configuration); a
 * municipality withdraws one by replacing it. */
static int
document_signer_check(struct rp_verifier *v, X509 *cert, int64_t at,
    struct rp_result *res)
{
	uint32_t ku = X509_get_key_usage(cert);
	time_t t = (time_t)at;
	int known = 0;
	char when[26];

	res->type = 0;
	for (int i = 0; i < sk_X509_num(v->documents); i++)
		if (X509_cmp(sk_X509_value(v->documents, i), cert) == 0)
			known = 1;
	if (!known)
		return verdict(res, RP_UNTRUSTED, "RFC 5280 6.1: the "
		    "municipality's document-signing certificate (%s) is not "
		    "among the trust anchors", res->subject);
	time_text(at, when);
	if (X509_cmp_time(X509_get0_notBefore(cert), &t) > 0)
		return verdict(res, RP_NOT_YET_VALID, "RFC 5280 4.1.2.5: the "
		    "certificate was not yet valid at %s", when);
	if (X509_cmp_time(X509_get0_notAfter(cert), &t) < 0)
		return verdict(res, RP_EXPIRED, "RFC 5280 4.1.2.5: the "
		    "certificate had expired at %s", when);
	if (!(ku & KU_DIGITAL_SIGNATURE) || !(ku & KU_NON_REPUDIATION))
		return verdict(res, RP_WRONG_CERTIFICATE, "key usage: "
		    "digitalSignature and nonRepudiation needed to sign");
	res->document_signer = 1;
	res->status.source = RP_SRC_ANCHOR;
	res->status.revoked = 0;
	return verdict(res, RP_VALID, "%s", "");
}

int
rp_verify_cert(struct rp_verifier *v, X509 *cert, STACK_OF(X509) *extra,
    enum cert_type use, int64_t at, struct rp_result *res)
{
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *chain = NULL;
	X509 *issuer = NULL;
	char t1[26], t2[26];
	int r = JPKI_OK, err, depth;

	res->at = at;
	res->reason = RP_VALID;
	res->why[0] = '\0';
	res->status.source = RP_SRC_NONE;
	if (res->signer != cert) {
		X509_free(res->signer);
		X509_up_ref(cert);
		res->signer = cert;
	}
	rp_describe(cert, res);
	if (use == CERT_SIGN && rp_is_document_signer(cert))
		return document_signer_check(v, cert, at, res);
	if (usage_check(cert, use, res))
		return JPKI_OK;
	if ((issuer = chain_cached(v, cert, use, at)) != NULL)
		goto status;
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, v->anchors, cert, extra) != 1) {
		r = jpki_fail(JPKI_ERR_CRYPTO, "%s", rp_ssl_error("chain"));
		goto done;
	}
	X509_STORE_CTX_set_time(ctx, 0, (time_t)at);
	X509_STORE_CTX_set_depth(ctx, RP_CHAIN_DEPTH_MAX);
	if (X509_verify_cert(ctx) != 1) {
		err = X509_STORE_CTX_get_error(ctx);
		depth = X509_STORE_CTX_get_error_depth(ctx);
		time_text(at, t1);
		if (depth == 0 && err == X509_V_ERR_CERT_HAS_EXPIRED)
			verdict(res, RP_EXPIRED, "RFC 5280 4.1.2.5: the "
			    "certificate had expired at %s", t1);
		else if (depth == 0 && err == X509_V_ERR_CERT_NOT_YET_VALID)
			verdict(res, RP_NOT_YET_VALID, "RFC 5280 4.1.2.5: the "
			    "certificate was not yet valid at %s", t1);
		else
			verdict(res, RP_UNTRUSTED, "RFC 5280 6.1: no chain to "
			    "a trust anchor: %s (depth %d)",
			    X509_verify_cert_error_string(err), depth);
		goto done;
	}
	chain = X509_STORE_CTX_get1_chain(ctx);
	chain_keep(v, cert, use, chain);
	if (sk_X509_num(chain) < 2 ||
	    X509_up_ref(issuer = sk_X509_value(chain, 1)) != 1) {
		verdict(res, RP_UNTRUSTED, "RFC 5280 6.1: the certificate is "
		    "itself an anchor, not one issued under it");
		goto done;
	}
status:
	if ((r = rp_status_of(v, cert, issuer, &res->status)) != JPKI_OK)
		goto done;
	if (res->status.source == RP_SRC_NONE) {
		verdict(res, RP_STATUS_UNKNOWN, "RFC 5280 6.3: no status: %s",
		    res->status.tried);
		goto done;
	}
	if (res->status.revoked && res->status.revoked_at <= at) {
		time_text(res->status.revoked_at, t1);
		if (res->signing_time != 0 &&
		    res->signing_time >= res->status.revoked_at) {
			time_text(res->signing_time, t2);
			verdict(res, RP_REVOKED_BEFORE_SIGNING, "the "
			    "certificate was revoked at %s (reason %d, by %s), "
			    "before the signing time %s", t1,
			    res->status.reason, rp_status_source_name(
			    res->status.source), t2);
		} else {
			verdict(res, RP_REVOKED, "the certificate was revoked "
			    "at %s (reason %d, by %s)", t1, res->status.reason,
			    rp_status_source_name(res->status.source));
		}
		goto done;
	}
	if (res->type == CERT_SIGN && rp_facts_read(cert, &res->facts) ==
	    JPKI_OK)
		res->has_facts = 1;
done:
	X509_free(issuer);
	sk_X509_pop_free(chain, X509_free);
	X509_STORE_CTX_free(ctx);
	return r;
}
