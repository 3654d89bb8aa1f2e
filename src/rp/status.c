/*
 * status.c: is a certificate revoked?  Asked in the order a relying party
 * on the Internet would (RFC 5280 6.3, RFC 6960): OCSP at the
 * certificate's AIA, else the CRL at its CDP, else the local store (the
 * CA's own records, when the verifier runs beside them).  Every answer is
 * checked before it is believed: an OCSP response signed by the CA or its
 * delegated responder (RFC 6960 4.2.2.2) with our nonce, a CRL signed by
 * the issuer, both current.  Answers are reused for at most
 * RP_STATUS_CACHE_SECONDS and never past their nextUpdate.
 *
 * HTTP goes through OpenSSL's client (OSSL_HTTP_transfer), http:// only,
 * each answer bounded (RP_OCSP_RESPONSE_MAX, RP_CRL_MAX) and timed out
 * (RP_HTTP_TIMEOUT_SECONDS).
 */
#include "rp/rp_int.h"

#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int
asn1_time_of(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	*out = (int64_t)timegm(&tm);
	return 1;
}

static void
tried(struct rp_status *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
tried(struct rp_status *st, const char *fmt, ...)
{
	size_t n = strlen(st->tried);
	va_list ap;

	if (n > 0 && n + 2 < sizeof(st->tried)) {
		memcpy(st->tried + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(st->tried + n, sizeof(st->tried) - n, fmt, ap);
	va_end(ap);
	ERR_clear_error();
}

/* An http:// URL split for OSSL_HTTP_transfer (https: not spoken here). */
static int
url_split(const char *url, char **host, char **port, char **path)
{
	int ssl = 0;

	if (OSSL_HTTP_parse_url(url, &ssl, NULL, host, port, NULL, path, NULL,
	    NULL) != 1)
		return 0;
	if (ssl) {
		OPENSSL_free(*host);
		OPENSSL_free(*port);
		OPENSSL_free(*path);
		return 0;
	}
	return 1;
}

/* A connection to host:port made once: OpenSSL's own connect retries a
 * refused connection until its timeout, and a responder that is down
 * should cost a relying party nothing but the refusal. */
static BIO *
http_connect(const char *host, const char *port)
{
	BIO *b = BIO_new_connect(host);

	if (b == NULL)
		return NULL;
	if (BIO_set_conn_port(b, port) != 1 || BIO_do_connect(b) != 1) {
		BIO_free_all(b);
		return NULL;
	}
	return b;
}

/* ---- the cache ------------------------------------------------------------ */

static void
cache_key(X509 *cert, X509 *issuer, char *key, size_t n)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(cert);
	uint8_t md[32];
	unsigned mdlen = 0;
	char serial[SERIAL_HEX_MAX];

	X509_pubkey_digest(issuer, EVP_sha256(), md, &mdlen);
	if (pki_serial_hex(ASN1_STRING_get0_data(sn),
	    (size_t)ASN1_STRING_length(sn), serial, sizeof(serial)) != JPKI_OK)
		serial[0] = '\0';
	snprintf(key, n, "%02x%02x%02x%02x%02x%02x:%s", md[0], md[1], md[2],
	    md[3], md[4], md[5], serial);
}

static int
cache_get(struct rp_verifier *v, const char *key, int64_t now,
    struct rp_status *st)
{
	int hit = 0;

	pthread_mutex_lock(&v->lock);
	for (size_t i = 0; i < v->cache_n; i++)
		if (v->cache[i].until > now &&
		    strcmp(v->cache[i].key, key) == 0) {
			*st = v->cache[i].st;
			st->cached = 1;
			hit = 1;
			break;
		}
	pthread_mutex_unlock(&v->lock);
	return hit;
}

static void
cache_put(struct rp_verifier *v, const char *key, const struct rp_status *st,
    int64_t until)
{
	size_t slot = v->cache_n;

	pthread_mutex_lock(&v->lock);
	for (size_t i = 0; i < v->cache_n; i++)
		if (strcmp(v->cache[i].key, key) == 0 ||
		    v->cache[i].until <= until - RP_STATUS_CACHE_SECONDS) {
			slot = i;
			break;
		}
	if (slot == RP_STATUS_CACHE_MAX)
		slot = (size_t)(until % RP_STATUS_CACHE_MAX);
	snprintf(v->cache[slot].key, sizeof(v->cache[slot].key), "%s", key);
	v->cache[slot].st = *st;
	v->cache[slot].until = until;
	if (slot == v->cache_n)
		v->cache_n++;
	pthread_mutex_unlock(&v->lock);
}

/* ---- OCSP ----------------------------------------------------------------- */

static OCSP_RESPONSE *
ocsp_exchange(const char *url, OCSP_REQUEST *req)
{
	char *host = NULL, *port = NULL, *path = NULL;
	BIO *body = NULL, *answer = NULL, *conn = NULL;
	OCSP_RESPONSE *rsp = NULL;

	if (!url_split(url, &host, &port, &path))
		return NULL;
	if ((body = ASN1_item_i2d_mem_bio(ASN1_ITEM_rptr(OCSP_REQUEST),
	    (const ASN1_VALUE *)req)) != NULL &&
	    (conn = http_connect(host, port)) != NULL)
		answer = OSSL_HTTP_transfer(NULL, host, port, path, 0, NULL,
		    NULL, conn, conn, NULL, NULL, 0, NULL,
		    "application/ocsp-request", body,
		    "application/ocsp-response", 1, RP_OCSP_RESPONSE_MAX,
		    RP_HTTP_TIMEOUT_SECONDS, 0);
	if (answer != NULL)
		rsp = d2i_OCSP_RESPONSE_bio(answer, NULL);
	BIO_free(body);
	BIO_free(answer);
	BIO_free_all(conn);
	OPENSSL_free(host);
	OPENSSL_free(port);
	OPENSSL_free(path);
	return rsp;
}

/* 1: *st answered; 0: this responder could not say (noted in st). */
static int
ocsp_ask(const char *url, X509 *cert, X509 *issuer, int64_t now,
    struct rp_status *st, int64_t *until)
{
	OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), cert, issuer);
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_RESPONSE *rsp = NULL;
	OCSP_BASICRESP *bs = NULL;
	STACK_OF(X509) *issuers = sk_X509_new_null();
	X509_STORE *xs = X509_STORE_new();
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	int status = -1, reason = -1, ok = 0;
	int64_t t_this = 0, t_next = 0;

	if (id == NULL || req == NULL || issuers == NULL || xs == NULL ||
	    OCSP_request_add0_id(req, OCSP_CERTID_dup(id)) == NULL ||
	    OCSP_request_add1_nonce(req, NULL, -1) != 1 ||
	    X509_STORE_add_cert(xs, issuer) != 1 ||
	    sk_X509_push(issuers, issuer) <= 0) {
		tried(st, "OCSP %s: %s", url, rp_ssl_error("request"));
		goto done;
	}
	if ((rsp = ocsp_exchange(url, req)) == NULL) {
		tried(st, "OCSP %s: %s", url, rp_ssl_error("no answer"));
		goto done;
	}
	if (OCSP_response_status(rsp) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		tried(st, "OCSP %s: %s", url, OCSP_response_status_str(
		    OCSP_response_status(rsp)));
		goto done;
	}
	if ((bs = OCSP_response_get1_basic(rsp)) == NULL ||
	    OCSP_check_nonce(req, bs) != 1 ||
	    OCSP_basic_verify(bs, issuers, xs, OCSP_TRUSTOTHER) != 1) {
		tried(st, "OCSP %s: %s", url, rp_ssl_error("RFC 6960 3.2: "
		    "the response does not verify"));
		goto done;
	}
	if (OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd,
	    &nextupd) != 1 || !asn1_time_of(thisupd, &t_this) ||
	    (nextupd != NULL && !asn1_time_of(nextupd, &t_next))) {
		tried(st, "OCSP %s: no answer for the certificate", url);
		goto done;
	}
	if (t_this > now + RP_STATUS_SKEW_SECONDS ||
	    (nextupd != NULL && t_next < now - RP_STATUS_SKEW_SECONDS)) {
		tried(st, "OCSP %s: RFC 6960 3.2: the answer is not current",
		    url);
		goto done;
	}
	if (status == V_OCSP_CERTSTATUS_UNKNOWN) {
		tried(st, "OCSP %s: the responder does not know it", url);
		goto done;
	}
	st->revoked = status == V_OCSP_CERTSTATUS_REVOKED;
	st->reason = st->revoked ? reason : -1;
	if (st->revoked && !asn1_time_of(rev, &st->revoked_at)) {
		tried(st, "OCSP %s: no revocation time", url);
		goto done;
	}
	*until = now + RP_STATUS_CACHE_SECONDS;
	if (nextupd != NULL && t_next < *until)
		*until = t_next;
	ok = 1;
done:
	OCSP_CERTID_free(id);
	OCSP_REQUEST_free(req);
	OCSP_RESPONSE_free(rsp);
	OCSP_BASICRESP_free(bs);
	sk_X509_free(issuers);
	X509_STORE_free(xs);
	return ok;
}

/* ---- CRL ------------------------------------------------------------------ */

static int
crl_ask(const char *url, X509 *cert, X509 *issuer, int64_t now,
    struct rp_status *st, int64_t *until)
{
	char *host = NULL, *port = NULL, *path = NULL;
	BIO *conn = NULL, *answer = NULL;
	X509_CRL *crl = NULL;
	X509_REVOKED *rev = NULL;
	ASN1_ENUMERATED *reason;
	int64_t t_this = 0, t_next = 0;
	int ok = 0;

	if (url_split(url, &host, &port, &path) &&
	    (conn = http_connect(host, port)) != NULL &&
	    (answer = OSSL_HTTP_transfer(NULL, host, port, path, 0, NULL,
	    NULL, conn, conn, NULL, NULL, 0, NULL, NULL, NULL, NULL, 1,
	    RP_CRL_MAX, RP_HTTP_TIMEOUT_SECONDS, 0)) != NULL)
		crl = d2i_X509_CRL_bio(answer, NULL);
	BIO_free(answer);
	BIO_free_all(conn);
	OPENSSL_free(host);
	OPENSSL_free(port);
	OPENSSL_free(path);
	if (crl == NULL) {
		tried(st, "CRL %s: %s", url, rp_ssl_error("no CRL"));
		goto done;
	}
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(issuer)) != 0 ||
	    X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1) {
		tried(st, "CRL %s: RFC 5280 6.3.3: not signed by the "
		    "certificate's issuer", url);
		goto done;
	}
	if (!asn1_time_of(X509_CRL_get0_lastUpdate(crl), &t_this) ||
	    !asn1_time_of(X509_CRL_get0_nextUpdate(crl), &t_next) ||
	    t_this > now + RP_STATUS_SKEW_SECONDS ||
	    t_next < now - RP_STATUS_SKEW_SECONDS) {
		tried(st, "CRL %s: RFC 5280 6.3.3: not current", url);
		goto done;
	}
	st->revoked = X509_CRL_get0_by_cert(crl, &rev, cert) == 1;
	st->reason = -1;
	if (st->revoked) {
		if (!asn1_time_of(X509_REVOKED_get0_revocationDate(rev),
		    &st->revoked_at)) {
			tried(st, "CRL %s: bad revocation date", url);
			goto done;
		}
		if ((reason = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason,
		    NULL, NULL)) != NULL) {
			st->reason = (int)ASN1_ENUMERATED_get(reason);
			ASN1_ENUMERATED_free(reason);
		}
	}
	*until = now + RP_STATUS_CACHE_SECONDS;
	if (t_next < *until)
		*until = t_next;
	ok = 1;
done:
	X509_CRL_free(crl);
	return ok;
}

/* ---- the store ------------------------------------------------------------ */

static int
store_ask(struct rp_verifier *v, X509 *cert, struct rp_status *st)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(cert);
	struct cert_record rec;
	uint8_t *der = NULL;
	char serial[SERIAL_HEX_MAX];
	int n, ok = 0, r;

	if (pki_serial_hex(ASN1_STRING_get0_data(sn),
	    (size_t)ASN1_STRING_length(sn), serial, sizeof(serial)) != JPKI_OK)
		return 0;
	memset(&rec, 0, sizeof(rec));
	pthread_mutex_lock(&v->lock);
	r = store_cert_get(v->store, serial, &rec);
	pthread_mutex_unlock(&v->lock);
	if (r != JPKI_OK) {
		tried(st, "store: %s", r == JPKI_ERR_NOTFOUND ?
		    "not a certificate of these CAs" : jpki_errmsg());
		return 0;
	}
	/* The same serial from another CA is not ours to answer for. */
	if ((n = i2d_X509(cert, &der)) > 0 && (size_t)n == rec.der_len &&
	    memcmp(der, rec.der, rec.der_len) == 0) {
		st->revoked = rec.status == CERT_STATUS_REVOKED;
		st->revoked_at = rec.revoked_at;
		st->reason = st->revoked ? rec.reason : -1;
		ok = 1;
	} else {
		tried(st, "store: another certificate under serial %s", serial);
	}
	OPENSSL_free(der);
	store_cert_free(&rec);
	return ok;
}

/* ---- in order --------------------------------------------------------------- */

int
rp_status_of(struct rp_verifier *v, X509 *cert, X509 *issuer,
    struct rp_status *st)
{
	STACK_OF(OPENSSL_STRING) *ocsp = X509_get1_ocsp(cert);
	STACK_OF(DIST_POINT) *cdp = X509_get_ext_d2i(cert,
	    NID_crl_distribution_points, NULL, NULL);
	int64_t now = jpki_now(), until = 0;
	char key[sizeof(v->cache->key)];
	int done = 0;

	memset(st, 0, sizeof(*st));
	st->reason = -1;
	cache_key(cert, issuer, key, sizeof(key));
	if (cache_get(v, key, now, st))
		goto out;
	for (int i = 0; !(v->flags & RP_OFFLINE) && !done &&
	    i < sk_OPENSSL_STRING_num(ocsp); i++) {
		const char *url = sk_OPENSSL_STRING_value(ocsp, i);

		if ((done = ocsp_ask(url, cert, issuer, now, st, &until))) {
			st->source = RP_SRC_OCSP;
			snprintf(st->url, sizeof(st->url), "%s", url);
		}
	}
	for (int i = 0; !(v->flags & RP_OFFLINE) && !done &&
	    i < sk_DIST_POINT_num(cdp); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(cdp, i);

		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (int j = 0; !done &&
		    j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname);
		    j++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(
			    dp->distpoint->name.fullname, j);
			const char *url;

			if (gn->type != GEN_URI)
				continue;
			url = (const char *)ASN1_STRING_get0_data(
			    gn->d.uniformResourceIdentifier);
			if (strncmp(url, "http://", 7) != 0)
				continue;
			if ((done = crl_ask(url, cert, issuer, now, st,
			    &until))) {
				st->source = RP_SRC_CRL;
				snprintf(st->url, sizeof(st->url), "%s", url);
			}
		}
	}
	if (done)
		cache_put(v, key, st, until);
	else if (v->store != NULL && store_ask(v, cert, st))
		st->source = RP_SRC_STORE;
	else if (v->store == NULL)
		tried(st, "store: none");
out:
	X509_email_free(ocsp);
	sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
	return JPKI_OK;
}
