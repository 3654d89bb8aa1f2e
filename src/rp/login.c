/*
 * login.c: logging in with the authentication certificate (R5), in the
 * manner of Web eID (its authentication token, format "web-eid:1.0"):
 *
 *   1. the relying party gives a nonce: RP_NONCE_BYTES from the CSPRNG,
 *      base64, kept in the store until RP_NONCE_SECONDS from now;
 *   2. the card signs SHA-256(origin) || SHA-256(nonce) with RS256
 *      (PKCS#1 v1.5 over SHA-256 of those 64 bytes) after the 4-digit PIN;
 *   3. the relying party takes {certificate, algorithm, signature, format,
 *      nonce[, origin]}: it uses the nonce up (once, whatever follows, so
 *      one nonce never buys two tries), checks the signature over its own
 *      origin, then the certificate for logging in (verify.c: chain, key
 *      usage, the authentication policy, validity and status now).
 *
 * The answer names the certificate (subject and serial) and nothing of the
 * person: the authentication certificate carries no facts (R5).
 */
#include "rp/rp_int.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

/* Bounds of the fields of a login body. */
#define LOGIN_CERT_MAX 8192         /* DER certificate */
#define LOGIN_CERT_B64_MAX (LOGIN_CERT_MAX / 3 * 4 + 4)
#define LOGIN_SIG_MAX PKI_SIG_MAX
#define LOGIN_SIG_B64_MAX (LOGIN_SIG_MAX / 3 * 4 + 4)

static const char *const login_error_names[RP_LOGIN_ERROR_N] = {
	[RP_LOGIN_OK] = "ok",
	[RP_LOGIN_MALFORMED] = "malformed",
	[RP_LOGIN_NONCE_UNKNOWN] = "nonce-unknown",
	[RP_LOGIN_NONCE_USED] = "nonce-used",
	[RP_LOGIN_NONCE_EXPIRED] = "nonce-expired",
	[RP_LOGIN_ORIGIN_MISMATCH] = "origin-mismatch",
	[RP_LOGIN_BAD_SIGNATURE] = "bad-signature",
	[RP_LOGIN_CERTIFICATE] = "certificate",
};

const char *
rp_login_error_name(enum rp_login_error e)
{
	return (unsigned)e < RP_LOGIN_ERROR_N ? login_error_names[e] :
	    "refused";
}

int
rp_origin_of(const char *url, char out[RP_ORIGIN_MAX + 1])
{
	const char *p = strstr(url, "://"), *end;
	size_t n;

	if (p == NULL || (strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "https://", 8) != 0))
		return jpki_fail(JPKI_ERR_INPUT, "origin: %s is not an http:// "
		    "or https:// URL", url);
	p += 3;
	end = p + strcspn(p, "/?#");
	if (end == p || (strchr(p, '@') != NULL && strchr(p, '@') < end))
		return jpki_fail(JPKI_ERR_INPUT, "origin: no host in %s", url);
	n = (size_t)(end - url);
	if (n > RP_ORIGIN_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "origin: longer than %d",
		    RP_ORIGIN_MAX);
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)url[i]);
	out[n] = '\0';
	return JPKI_OK;
}

int
rp_login_digest(const char *origin, const char *nonce, uint8_t out[32])
{
	uint8_t both[64];

	if (EVP_Digest(origin, strlen(origin), both, NULL, EVP_sha256(),
	    NULL) != 1 || EVP_Digest(nonce, strlen(nonce), both + 32, NULL,
	    EVP_sha256(), NULL) != 1 || EVP_Digest(both, sizeof(both), out,
	    NULL, EVP_sha256(), NULL) != 1)
		return jpki_fail(JPKI_ERR_CRYPTO, "SHA-256 failed");
	return JPKI_OK;
}

int
rp_challenge_new(struct store *s, int64_t now, char b64[RP_NONCE_B64_LEN + 1])
{
	uint8_t nonce[RP_NONCE_BYTES];

	if (RAND_priv_bytes(nonce, sizeof(nonce)) != 1)
		return jpki_fail(JPKI_ERR_CRYPTO, "no random bytes");
	rp_b64_encode(nonce, sizeof(nonce), b64);
	return store_rp_nonce_add(s, b64, now, now + RP_NONCE_SECONDS);
}

void
rp_login_free(struct rp_login *l)
{
	rp_result_free(&l->cert);
}

static int
refuse(struct rp_login *l, enum rp_login_error e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int
refuse(struct rp_login *l, enum rp_login_error e, const char *fmt, ...)
{
	va_list ap;

	l->error = e;
	va_start(ap, fmt);
	vsnprintf(l->why, sizeof(l->why), fmt, ap);
	va_end(ap);
	return JPKI_OK;
}

/* A string member of at most max bytes; NULL if absent or not that. */
static const char *
member(json_t *o, const char *key, size_t max, size_t *len)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) > max ||
	    json_string_length(v) == 0)
		return NULL;
	*len = json_string_length(v);
	return json_string_value(v);
}

/* RS256 over SHA-256(origin) || SHA-256(nonce): 1 if sig verifies. */
static int
signed_for(EVP_PKEY *pub, const char *origin, const char *nonce,
    const uint8_t *sig, size_t sig_len)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
	uint8_t digest[32];
	int ok = ctx != NULL && rp_login_digest(origin, nonce, digest) ==
	    JPKI_OK && EVP_PKEY_verify_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
	    EVP_PKEY_verify(ctx, sig, sig_len, digest, sizeof(digest)) == 1;

	EVP_PKEY_CTX_free(ctx);
	return ok;
}

int
rp_login_check(struct rp_verifier *v, struct store *s, const char *origin,
    const uint8_t *body, size_t n, int64_t now, struct rp_login *out)
{
	const char *cert_b64, *sig_b64, *nonce, *alg, *fmt, *claimed;
	size_t cert_b64_len, sig_b64_len, nonce_len, alg_len, fmt_len,
	    claimed_len = 0, der_len, sig_len;
	uint8_t der[LOGIN_CERT_MAX], sig[LOGIN_SIG_MAX];
	const uint8_t *p = der;
	json_error_t jerr;
	json_t *j = NULL;
	X509 *cert = NULL;
	int state, r = JPKI_OK;

	memset(out, 0, sizeof(*out));
	if (n > RP_LOGIN_BODY_MAX)
		return refuse(out, RP_LOGIN_MALFORMED, "the body is more than "
		    "%d bytes", RP_LOGIN_BODY_MAX);
	if ((j = json_loadb((const char *)body, n, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL || !json_is_object(j)) {
		r = refuse(out, RP_LOGIN_MALFORMED, "not a JSON object%s%s",
		    j == NULL ? ": " : "", j == NULL ? jerr.text : "");
		goto done;
	}
	if ((cert_b64 = member(j, "certificate", LOGIN_CERT_B64_MAX,
	    &cert_b64_len)) == NULL ||
	    (sig_b64 = member(j, "signature", LOGIN_SIG_B64_MAX,
	    &sig_b64_len)) == NULL ||
	    (nonce = member(j, "nonce", RP_NONCE_B64_LEN, &nonce_len)) ==
	    NULL || (alg = member(j, "algorithm", 16, &alg_len)) == NULL ||
	    (fmt = member(j, "format", 32, &fmt_len)) == NULL) {
		r = refuse(out, RP_LOGIN_MALFORMED, "certificate, signature, "
		    "nonce, algorithm and format are needed, each a string "
		    "within its bounds");
		goto done;
	}
	if (strcmp(fmt, RP_LOGIN_FORMAT) != 0 ||
	    strcmp(alg, RP_LOGIN_ALGORITHM) != 0) {
		r = refuse(out, RP_LOGIN_MALFORMED, "format %s with algorithm "
		    "%s is answered here, not %.32s with %.16s",
		    RP_LOGIN_FORMAT, RP_LOGIN_ALGORITHM, fmt, alg);
		goto done;
	}
	if (json_object_get(j, "origin") != NULL &&
	    (claimed = member(j, "origin", RP_ORIGIN_MAX, &claimed_len)) ==
	    NULL) {
		r = refuse(out, RP_LOGIN_MALFORMED, "origin: a string of at "
		    "most %d bytes", RP_ORIGIN_MAX);
		goto done;
	}
	if (claimed_len == 0)
		claimed = NULL;
	if (rp_b64_decode(cert_b64, cert_b64_len, der, sizeof(der),
	    &der_len) != JPKI_OK ||
	    rp_b64_decode(sig_b64, sig_b64_len, sig, sizeof(sig), &sig_len) !=
	    JPKI_OK) {
		r = refuse(out, RP_LOGIN_MALFORMED, "certificate or signature: "
		    "%s", jpki_errmsg());
		goto done;
	}
	if ((cert = d2i_X509(NULL, &p, (long)der_len)) == NULL ||
	    p != der + der_len) {
		r = refuse(out, RP_LOGIN_MALFORMED, "certificate: %s",
		    rp_ssl_error("not one DER X.509 certificate"));
		goto done;
	}
	/* The nonce first, and used up whatever follows. */
	if ((r = store_rp_nonce_use(s, nonce, now, &state)) != JPKI_OK)
		goto done;
	if (state == STORE_NONCE_UNKNOWN) {
		r = refuse(out, RP_LOGIN_NONCE_UNKNOWN, "the nonce was not "
		    "given out here (POST /rp/challenge first)");
		goto done;
	}
	if (state == STORE_NONCE_USED) {
		r = refuse(out, RP_LOGIN_NONCE_USED, "the nonce has been used: "
		    "a replay (each challenge answers one login)");
		goto done;
	}
	if (state == STORE_NONCE_EXPIRED) {
		r = refuse(out, RP_LOGIN_NONCE_EXPIRED, "the nonce expired (it "
		    "lives %d seconds); ask for a new challenge",
		    RP_NONCE_SECONDS);
		goto done;
	}
	if (!signed_for(X509_get0_pubkey(cert), origin, nonce, sig, sig_len)) {
		if (claimed != NULL && strcmp(claimed, origin) != 0 &&
		    signed_for(X509_get0_pubkey(cert), claimed, nonce, sig,
		    sig_len))
			r = refuse(out, RP_LOGIN_ORIGIN_MISMATCH, "signed for "
			    "%s, not for this site (%s)", claimed, origin);
		else
			r = refuse(out, RP_LOGIN_BAD_SIGNATURE, "the signature "
			    "over the origin and the nonce does not verify");
		rp_describe(cert, &out->cert);
		goto done;
	}
	if ((r = rp_verify_cert(v, cert, NULL, CERT_AUTH, now, &out->cert)) !=
	    JPKI_OK)
		goto done;
	if (out->cert.reason != RP_VALID)
		r = refuse(out, RP_LOGIN_CERTIFICATE, "%s: %s",
		    rp_reason_name(out->cert.reason), out->cert.why);
done:
	X509_free(cert);
	json_decref(j);
	return r;
}
