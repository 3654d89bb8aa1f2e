/*
 * pki_ocsp.c: OCSP (RFC 6960) requests read and responses written by hand.
 *
 * Requests are untrusted bytes from the network: they are read with the
 * bounded cursor, strictly as DER, within the named limits of pki.h
 * (PKI_OCSP_*), and anything else is a malformed request.  What is kept of
 * a request is what the response needs: each CertID (hash algorithm, issuer
 * name and key hashes, serial, and its exact bytes, which the response
 * echoes) and the nonce extension's value (echoed too, RFC 8954).  A
 * request signature is not required and not checked (RFC 5019 clients do
 * not sign).
 *
 * Responses are BasicOCSPResponses (RFC 6960 4.2.1) in the RFC 5019
 * lightweight profile: ResponderID byKey, producedAt and the times as
 * GeneralizedTime, the delegated responder's certificate included, signed
 * with sha256WithRSAEncryption by the responder key.
 */
#include "pki_int.h"

#include <openssl/sha.h>
#include <string.h>

static const uint8_t oid_sha1[] = {0x2b, 0x0e, 0x03, 0x02, 0x1a};
static const uint8_t oid_sha256[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
	0x04, 0x02, 0x01};
static const uint8_t oid_nonce[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07,
	0x30, 0x01, 0x02};
static const uint8_t oid_ocsp_basic[] = {0x2b, 0x06, 0x01, 0x05, 0x05,
	0x07, 0x30, 0x01, 0x01};

/* ---- reading DER ---------------------------------------------------------
 * One element: a one-octet tag (no high tag numbers in OCSP), a definite
 * length in its shortest form, and that many octets of contents. */

static int
der_next(struct cursor *c, uint8_t *tag, struct cursor *contents,
    const uint8_t **start, size_t *total)
{
	struct cursor save = *c;
	uint8_t t, l, b;
	size_t len = 0;

	if (cursor_get_u8(c, &t) || cursor_get_u8(c, &l))
		goto bad;
	if ((t & 0x1f) == 0x1f)
		goto bad;          /* high tag number */
	if (l < 0x80) {
		len = l;
	} else {
		size_t n = l & 0x7f;

		if (n == 0 || n > 3)
			goto bad;      /* indefinite, or past our limits anyway */
		for (size_t i = 0; i < n; i++) {
			if (cursor_get_u8(c, &b))
				goto bad;
			if (i == 0 && b == 0)
				goto bad;  /* not the shortest form */
			len = len << 8 | b;
		}
		if (len < 0x80)
			goto bad;
	}
	if (cursor_sub(c, contents, len))
		goto bad;
	*tag = t;
	if (start != NULL)
		*start = save.p;
	if (total != NULL)
		*total = (size_t)(c->p - save.p);
	return JPKI_OK;
bad:
	*c = save;
	return JPKI_ERR_INPUT;
}

/* The next element must have tag `want`. */
static int
der_expect(struct cursor *c, uint8_t want, struct cursor *contents)
{
	struct cursor save = *c;
	uint8_t tag;

	if (der_next(c, &tag, contents, NULL, NULL) || tag != want) {
		*c = save;
		return JPKI_ERR_INPUT;
	}
	return JPKI_OK;
}

static int
peek_tag(const struct cursor *c, uint8_t *tag)
{
	if (cursor_left(c) == 0)
		return 0;
	*tag = c->p[0];
	return 1;
}

static int
same(const struct cursor *c, const uint8_t *v, size_t n)
{
	return cursor_left(c) == n && memcmp(c->p, v, n) == 0;
}

/* AlgorithmIdentifier of SHA-1 or SHA-256, parameters NULL or absent. */
static int
read_hash_alg(struct cursor *c, enum pki_ocsp_hash *out)
{
	struct cursor alg, oid, params;

	if (der_expect(c, 0x30, &alg) || der_expect(&alg, 0x06, &oid))
		return JPKI_ERR_INPUT;
	if (same(&oid, oid_sha1, sizeof(oid_sha1)))
		*out = PKI_OCSP_SHA1;
	else if (same(&oid, oid_sha256, sizeof(oid_sha256)))
		*out = PKI_OCSP_SHA256;
	else
		return JPKI_ERR_REFUSED;
	if (cursor_left(&alg) > 0 &&
	    (der_expect(&alg, 0x05, &params) || cursor_left(&params) != 0))
		return JPKI_ERR_INPUT;
	return cursor_left(&alg) == 0 ? JPKI_OK : JPKI_ERR_INPUT;
}

static size_t
hash_len(enum pki_ocsp_hash h)
{
	return h == PKI_OCSP_SHA1 ? 20 : 32;
}

static int
read_cert_id(struct cursor *c, struct pki_ocsp_certid *id)
{
	struct cursor body, name, key, serial;
	const uint8_t *start;
	size_t total;
	uint8_t tag;
	int r;

	if (der_next(c, &tag, &body, &start, &total) || tag != 0x30 ||
	    total > sizeof(id->der))
		return JPKI_ERR_INPUT;
	memcpy(id->der, start, total);
	id->der_len = total;
	if ((r = read_hash_alg(&body, &id->hash)) != JPKI_OK)
		return r;
	if (der_expect(&body, 0x04, &name) || der_expect(&body, 0x04, &key) ||
	    der_expect(&body, 0x02, &serial) || cursor_left(&body) != 0)
		return JPKI_ERR_INPUT;
	if (cursor_left(&name) != hash_len(id->hash) ||
	    cursor_left(&key) != hash_len(id->hash))
		return JPKI_ERR_INPUT;
	memcpy(id->name_hash, name.p, cursor_left(&name));
	memcpy(id->key_hash, key.p, cursor_left(&key));
	/* INTEGER: not empty, shortest form, positive, at most 20 octets of
	 * magnitude (RFC 5280 4.1.2.2). */
	if (cursor_left(&serial) == 0 || (serial.p[0] & 0x80) ||
	    (cursor_left(&serial) > 1 && serial.p[0] == 0 &&
	    !(serial.p[1] & 0x80)))
		return JPKI_ERR_INPUT;
	if (serial.p[0] == 0 && cursor_left(&serial) > 1)
		cursor_skip(&serial, 1);
	if (cursor_left(&serial) > PKI_SERIAL_MAX)
		return JPKI_ERR_INPUT;
	id->serial_len = cursor_left(&serial);
	memcpy(id->serial, serial.p, id->serial_len);
	return JPKI_OK;
}

/* Extensions ::= SEQUENCE OF Extension; keeps the nonce, refuses a
 * critical one it does not know. */
static int
read_extensions(struct cursor *c, struct pki_ocsp_request *req, int top)
{
	struct cursor exts, ext, oid, crit, value;

	if (der_expect(c, 0x30, &exts) || cursor_left(c) != 0)
		return JPKI_ERR_INPUT;
	while (cursor_left(&exts) > 0) {
		int critical = 0;
		uint8_t tag;

		if (der_expect(&exts, 0x30, &ext) ||
		    der_expect(&ext, 0x06, &oid))
			return JPKI_ERR_INPUT;
		if (peek_tag(&ext, &tag) && tag == 0x01) {
			/* DER: a BOOLEAN present here is TRUE (0xff). */
			if (der_expect(&ext, 0x01, &crit) ||
			    cursor_left(&crit) != 1 || crit.p[0] != 0xff)
				return JPKI_ERR_INPUT;
			critical = 1;
		}
		if (der_expect(&ext, 0x04, &value) || cursor_left(&ext) != 0)
			return JPKI_ERR_INPUT;
		if (top && same(&oid, oid_nonce, sizeof(oid_nonce))) {
			if (req->has_nonce || cursor_left(&value) == 0 ||
			    cursor_left(&value) > PKI_OCSP_NONCE_MAX)
				return JPKI_ERR_INPUT;
			memcpy(req->nonce, value.p, cursor_left(&value));
			req->nonce_len = cursor_left(&value);
			req->has_nonce = 1;
		} else if (critical) {
			return JPKI_ERR_REFUSED;
		}
	}
	return JPKI_OK;
}

int
pki_ocsp_request_parse(const uint8_t *der, size_t len,
    struct pki_ocsp_request *req)
{
	struct cursor all, ocsp_req, tbs, list, one, ctx, v;
	uint8_t tag;
	int r;

	memset(req, 0, sizeof(*req));
	if (der == NULL || len == 0 || len > PKI_OCSP_REQUEST_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "OCSP request: empty or over "
		    "%d bytes", PKI_OCSP_REQUEST_MAX);
	cursor_init(&all, der, len);
	if (der_expect(&all, 0x30, &ocsp_req) || cursor_left(&all) != 0 ||
	    der_expect(&ocsp_req, 0x30, &tbs))
		goto malformed;
	/* optionalSignature [0]: allowed, not used. */
	if (cursor_left(&ocsp_req) > 0 &&
	    (der_expect(&ocsp_req, 0xa0, &ctx) || cursor_left(&ocsp_req) != 0))
		goto malformed;
	/* version [0] EXPLICIT INTEGER, only v1 (0), normally left out. */
	if (peek_tag(&tbs, &tag) && tag == 0xa0) {
		if (der_expect(&tbs, 0xa0, &ctx) || der_expect(&ctx, 0x02, &v) ||
		    cursor_left(&ctx) != 0 || !same(&v, (const uint8_t *)"\0", 1))
			goto malformed;
	}
	/* requestorName [1]: allowed, not used. */
	if (peek_tag(&tbs, &tag) && tag == 0xa1 && der_expect(&tbs, 0xa1, &ctx))
		goto malformed;
	if (der_expect(&tbs, 0x30, &list))
		goto malformed;
	while (cursor_left(&list) > 0) {
		struct pki_ocsp_certid *id;

		if (req->n == PKI_OCSP_CERTS_MAX) {
			memset(req, 0, sizeof(*req));
			return jpki_fail(JPKI_ERR_INPUT, "OCSP request: more "
			    "than %d certificates", PKI_OCSP_CERTS_MAX);
		}
		id = &req->id[req->n];
		if (der_expect(&list, 0x30, &one))
			goto malformed;
		if ((r = read_cert_id(&one, id)) == JPKI_ERR_REFUSED) {
			memset(req, 0, sizeof(*req));
			return jpki_fail(r, "OCSP request: CertID hash is not "
			    "SHA-1 or SHA-256");
		}
		if (r != JPKI_OK)
			goto malformed;
		/* singleRequestExtensions [0]: none we use. */
		if (cursor_left(&one) > 0) {
			if (der_expect(&one, 0xa0, &ctx) || cursor_left(&one) != 0)
				goto malformed;
			if ((r = read_extensions(&ctx, req, 0)) ==
			    JPKI_ERR_REFUSED)
				goto critical;
			if (r != JPKI_OK)
				goto malformed;
		}
		req->n++;
	}
	if (req->n == 0)
		return jpki_fail(JPKI_ERR_INPUT, "OCSP request: no "
		    "certificates asked about");
	if (cursor_left(&tbs) > 0) {
		if (der_expect(&tbs, 0xa2, &ctx) || cursor_left(&tbs) != 0)
			goto malformed;
		if ((r = read_extensions(&ctx, req, 1)) == JPKI_ERR_REFUSED)
			goto critical;
		if (r != JPKI_OK)
			goto malformed;
	}
	return JPKI_OK;
critical:
	memset(req, 0, sizeof(*req));
	return jpki_fail(JPKI_ERR_REFUSED, "OCSP request: a critical "
	    "extension this responder does not know");
malformed:
	memset(req, 0, sizeof(*req));
	return jpki_fail(JPKI_ERR_INPUT, "OCSP request: not a DER OCSPRequest "
	    "(RFC 6960 4.1.1)");
}

/* ---- the responder ------------------------------------------------------- */

int
pki_ocsp_issuer_hashes(X509 *ca, enum pki_ocsp_hash h, uint8_t name[32],
    uint8_t key[32])
{
	const unsigned char *der = NULL;
	size_t der_len = 0;
	const EVP_MD *md = h == PKI_OCSP_SHA1 ? EVP_sha1() : EVP_sha256();
	X509_PUBKEY *xpk = X509_get_X509_PUBKEY(ca);
	const unsigned char *pk;
	int pk_len;

	if (!X509_NAME_get0_der(X509_get_subject_name(ca), &der, &der_len) ||
	    xpk == NULL ||
	    !X509_PUBKEY_get0_param(NULL, &pk, &pk_len, NULL, xpk) ||
	    !EVP_Digest(der, der_len, name, NULL, md, NULL) ||
	    !EVP_Digest(pk, (size_t)pk_len, key, NULL, md, NULL))
		return pki_crypto_fail("OCSP: hashing the issuer");
	return JPKI_OK;
}

int
pki_ocsp_certid_sha1(const uint8_t name_hash[20], const uint8_t key_hash[20],
    const uint8_t *serial, size_t serial_len, struct pki_ocsp_certid *out)
{
	uint8_t *d = out->der;
	size_t n = 0, body;

	while (serial_len > 1 && serial[0] == 0) {
		serial++;
		serial_len--;
	}
	if (serial_len == 0 || serial_len > PKI_SERIAL_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "OCSP CertID: serial of %zu "
		    "octets (1-%d)", serial_len, PKI_SERIAL_MAX);
	memset(out, 0, sizeof(*out));
	out->hash = PKI_OCSP_SHA1;
	memcpy(out->name_hash, name_hash, 20);
	memcpy(out->key_hash, key_hash, 20);
	memcpy(out->serial, serial, serial_len);
	out->serial_len = serial_len;
	/* Every length is under 128: one-octet lengths throughout. */
	body = 11 + 22 + 22 + 2 + serial_len + (serial[0] & 0x80 ? 1 : 0);
	d[n++] = 0x30;
	d[n++] = (uint8_t)body;
	d[n++] = 0x30;
	d[n++] = 0x09;
	d[n++] = 0x06;
	d[n++] = sizeof(oid_sha1);
	memcpy(d + n, oid_sha1, sizeof(oid_sha1));
	n += sizeof(oid_sha1);
	d[n++] = 0x05;
	d[n++] = 0x00;
	d[n++] = 0x04;
	d[n++] = 20;
	memcpy(d + n, name_hash, 20);
	n += 20;
	d[n++] = 0x04;
	d[n++] = 20;
	memcpy(d + n, key_hash, 20);
	n += 20;
	d[n++] = 0x02;
	d[n++] = (uint8_t)(serial_len + (serial[0] & 0x80 ? 1 : 0));
	if (serial[0] & 0x80)
		d[n++] = 0x00;
	memcpy(d + n, serial, serial_len);
	n += serial_len;
	out->der_len = n;
	return JPKI_OK;
}

int
pki_ocsp_error_response(enum pki_ocsp_status status, struct jbuf *out)
{
	uint8_t resp[5] = {0x30, 0x03, 0x0a, 0x01, (uint8_t)status};

	if (status == PKI_OCSP_SUCCESSFUL || status > PKI_OCSP_UNAUTHORIZED ||
	    status == 4)
		return jpki_fail(JPKI_ERR_INPUT, "OCSP: %d is not an error "
		    "responseStatus", (int)status);
	return jbuf_put(out, resp, sizeof(resp));
}

/* GeneralizedTime, as OCSP writes every time (RFC 6960 4.2.2.1). */
static void
gtime(struct pki_der *w, int64_t t)
{
	pki_der_time_as(w, t, 1);
}

int
pki_ocsp_response(const struct pki_ocsp_responder *rs,
    const struct pki_ocsp_single *s, size_t n,
    const struct pki_ocsp_request *req, int64_t produced_at,
    const struct pki_sign_with *sign, struct jbuf *out)
{
	struct jbuf tbs, basic;
	struct pki_der w;
	uint8_t sig[PKI_SIG_MAX];
	size_t sig_len = sizeof(sig), start = out->len;
	int r;

	if (rs == NULL || sign == NULL || rs->cert_der == NULL ||
	    n == 0 || n > PKI_OCSP_CERTS_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "OCSP response: no responder "
		    "or 1-%d answers", PKI_OCSP_CERTS_MAX);
	jbuf_init(&tbs);
	jbuf_init(&basic);
	/* ResponseData */
	w = (struct pki_der){.b = &tbs, .depth = 0, .err = JPKI_OK};
	pki_der_open(&w, 0x30);
	pki_der_open(&w, 0xa2);     /* responderID byKey */
	pki_der_prim(&w, 0x04, rs->key_hash, sizeof(rs->key_hash));
	pki_der_close(&w);
	gtime(&w, produced_at);
	pki_der_open(&w, 0x30);
	for (size_t i = 0; i < n; i++) {
		if (s[i].id == NULL || s[i].next_update <= s[i].this_update) {
			r = jpki_fail(JPKI_ERR_INPUT, "OCSP response: answer %zu "
			    "lacks its CertID or times", i);
			goto fail;
		}
		pki_der_open(&w, 0x30);
		pki_der_put(&w, s[i].id->der, s[i].id->der_len);
		switch (s[i].status) {
		case PKI_OCSP_GOOD:
			pki_der_put(&w, "\x80\x00", 2);
			break;
		case PKI_OCSP_REVOKED:
			pki_der_open(&w, 0xa1);
			gtime(&w, s[i].revoked_at);
			if (s[i].reason > 0) {
				uint8_t code[3] = {0x0a, 0x01, (uint8_t)s[i].reason};

				pki_der_open(&w, 0xa0);
				pki_der_put(&w, code, sizeof(code));
				pki_der_close(&w);
			}
			pki_der_close(&w);
			break;
		default:
			pki_der_put(&w, "\x82\x00", 2);
			break;
		}
		gtime(&w, s[i].this_update);
		pki_der_open(&w, 0xa0);
		gtime(&w, s[i].next_update);
		pki_der_close(&w);
		pki_der_close(&w);
	}
	pki_der_close(&w);
	if (req != NULL && req->has_nonce) {
		pki_der_open(&w, 0xa1);     /* responseExtensions */
		pki_der_open(&w, 0x30);
		pki_der_open(&w, 0x30);
		pki_der_prim(&w, 0x06, oid_nonce, sizeof(oid_nonce));
		pki_der_prim(&w, 0x04, req->nonce, req->nonce_len);
		pki_der_close(&w);
		pki_der_close(&w);
		pki_der_close(&w);
	}
	pki_der_close(&w);
	if ((r = pki_der_result(&w, "OCSP ResponseData")) != JPKI_OK)
		goto fail;
	if ((r = sign->fn(sign->arg, tbs.data, tbs.len, sig, &sig_len)))
		goto fail;
	/* BasicOCSPResponse { tbs, algorithm, signature, [0] { certs } } */
	w = (struct pki_der){.b = &basic, .depth = 0, .err = JPKI_OK};
	pki_der_open(&w, 0x30);
	pki_der_put(&w, tbs.data, tbs.len);
	pki_der_put(&w, pki_algid_sha256_rsa, PKI_ALGID_SHA256_RSA_LEN);
	pki_der_open(&w, 0x03);
	pki_der_put(&w, "", 1);
	pki_der_put(&w, sig, sig_len);
	pki_der_close(&w);
	pki_der_open(&w, 0xa0);
	pki_der_open(&w, 0x30);
	pki_der_put(&w, rs->cert_der, rs->cert_der_len);
	pki_der_close(&w);
	pki_der_close(&w);
	pki_der_close(&w);
	if ((r = pki_der_result(&w, "BasicOCSPResponse")) != JPKI_OK)
		goto fail;
	/* OCSPResponse { successful, [0] { id-pkix-ocsp-basic, OCTET STRING } } */
	w = (struct pki_der){.b = out, .depth = 0, .err = JPKI_OK};
	pki_der_open(&w, 0x30);
	pki_der_put(&w, "\x0a\x01\x00", 3);
	pki_der_open(&w, 0xa0);
	pki_der_open(&w, 0x30);
	pki_der_prim(&w, 0x06, oid_ocsp_basic, sizeof(oid_ocsp_basic));
	pki_der_prim(&w, 0x04, basic.data, basic.len);
	pki_der_close(&w);
	pki_der_close(&w);
	pki_der_close(&w);
	r = pki_der_result(&w, "OCSPResponse");
fail:
	if (r != JPKI_OK)
		out->len = start;
	jbuf_free(&tbs);
	jbuf_free(&basic);
	return r;
}

int
pki_ocsp_responder_init(struct pki_ocsp_responder *rs, X509 *cert)
{
	const unsigned char *pk;
	uint8_t *der = NULL;
	int pk_len, n;

	memset(rs, 0, sizeof(*rs));
	if (cert == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "OCSP responder: no "
		    "certificate");
	if (!X509_PUBKEY_get0_param(NULL, &pk, &pk_len, NULL,
	    X509_get_X509_PUBKEY(cert)) ||
	    !EVP_Digest(pk, (size_t)pk_len, rs->key_hash, NULL, EVP_sha1(),
	    NULL) || (n = i2d_X509(cert, &der)) <= 0)
		return pki_crypto_fail("OCSP responder");
	rs->cert_der = der;
	rs->cert_der_len = (size_t)n;
	return JPKI_OK;
}

void
pki_ocsp_responder_free(struct pki_ocsp_responder *rs)
{
	OPENSSL_free(rs->cert_der);
	memset(rs, 0, sizeof(*rs));
}
