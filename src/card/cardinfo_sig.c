/*
 * cardinfo_sig.c: the card issuer's signature over the card-info AP's
 * facts (EF 0003), the certificate that verifies it (EF 0004) and the AP
 * info (EF 0005), in the layouts real clients read (docs/card.md; myna's
 * TextSignature; AokiApp's mynacard schemas), and the relying party's
 * check of them.  The layouts are in card.h.
 *
 * Signing is not done here: the counter asks the card issuer's key behind
 * the key seam (ca_card_issuer_sign) and hands the signatures in.  The
 * parsers take the EFs as read from any card, through the bounded cursor,
 * with named limits; a certificate key is rebuilt from its modulus and
 * exponent and never trusted unless the caller pins it.
 */
#include "card/card_int.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#define SIG_TAG 0xFF30
#define SIG_TAG_DIGEST_NUMBER 0xDF31
#define SIG_TAG_DIGEST_FACTS 0xDF32
#define SIG_TAG_VALUE 0xDF33
#define CERT_TAG 0x7F21
#define CERT_TAG_BODY 0x5F4E
#define CERT_TAG_SIG 0x5F37
#define CERT_TAG_MODULUS 0x81
#define CERT_TAG_EXPONENT 0x82
#define APINFO_TAG 0xFF40
#define APINFO_TAG_INFO 0xDF41
#define APINFO_TAG_KEY_ID 0xDF42
#define APINFO_PAD 0xFF
/* Largest RSA modulus and exponent accepted from a card, in bytes. */

/* Our AP info: layout version 1.  What a real card's 4 bytes mean is not
 * public (docs/card.md). */
static const uint8_t ap_info[CARD_INFO_AP_INFO_LEN] = {0x01, 0x00, 0x00,
    0x00};

static int
nomem(void)
{
	return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
}

/* SHA-256 of an EF's data object: its first TLV, without what pads the
 * file after it (EF 0001's FF FF). */
static int
digest_tlv(const uint8_t *p, size_t n, uint8_t out[CARD_INFO_DIGEST_LEN])
{
	size_t total;

	if (card_tlv_header_len(p, n, &total) != JPKI_OK || total > n)
		return JPKI_ERR_INPUT;
	SHA256(p, total, out);
	return JPKI_OK;
}

int
card_info_digests(const struct card_info *info,
    uint8_t out[2 * CARD_INFO_DIGEST_LEN])
{
	struct jbuf num, facts;
	int r;

	jbuf_init(&num);
	jbuf_init(&facts);
	if ((r = card_info_encode_number(info, &num)) == JPKI_OK &&
	    (r = card_info_encode_facts(info, &facts)) == JPKI_OK &&
	    (digest_tlv(num.data, num.len, out) ||
	    digest_tlv(facts.data, facts.len, out + CARD_INFO_DIGEST_LEN)))
		r = jpki_fail(JPKI_ERR_INTERNAL, "card-info: no data object");
	jbuf_free(&num);
	jbuf_free(&facts);
	return r;
}

int
card_info_encode_signature(const uint8_t digests[2 * CARD_INFO_DIGEST_LEN],
    const uint8_t *sig, size_t sig_len, struct jbuf *out)
{
	struct jbuf inner;
	int r;

	if (sig_len == 0 || sig_len > CARD_INFO_SIG_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "card issuer signature of "
		    "%zu bytes", sig_len);
	jbuf_init(&inner);
	if ((r = card_tlv_put(&inner, SIG_TAG_DIGEST_NUMBER, digests,
	    CARD_INFO_DIGEST_LEN)) == JPKI_OK &&
	    (r = card_tlv_put(&inner, SIG_TAG_DIGEST_FACTS,
	    digests + CARD_INFO_DIGEST_LEN, CARD_INFO_DIGEST_LEN)) == JPKI_OK &&
	    (r = card_tlv_put(&inner, SIG_TAG_VALUE, sig, sig_len)) == JPKI_OK)
		r = card_tlv_put(out, SIG_TAG, inner.data, inner.len);
	jbuf_free(&inner);
	return r;
}

int
card_info_key_id(EVP_PKEY *key, uint8_t id[CARD_INFO_KEY_ID_LEN])
{
	uint8_t *der = NULL, digest[32];
	int n;

	if ((n = i2d_PUBKEY(key, &der)) <= 0)
		return jpki_fail(JPKI_ERR_CRYPTO, "card issuer key: no SPKI");
	SHA256(der, (size_t)n, digest);
	OPENSSL_free(der);
	memcpy(id, digest, CARD_INFO_KEY_ID_LEN);
	return JPKI_OK;
}

/* A BIGNUM of the key as unsigned big-endian bytes, no leading zero (so
 * an RSA-2048 EF 0004 is the 568 bytes myna reads). */
static int
put_bn(struct jbuf *b, unsigned tag, EVP_PKEY *key, const char *name)
{
	BIGNUM *bn = NULL;
	uint8_t buf[CARD_RSA_MODULUS_MAX];
	int n, r;

	if (EVP_PKEY_get_bn_param(key, name, &bn) != 1)
		return jpki_fail(JPKI_ERR_CRYPTO, "card issuer key: not RSA");
	n = BN_num_bytes(bn);
	if (n <= 0 || n > (int)sizeof(buf)) {
		BN_free(bn);
		return jpki_fail(JPKI_ERR_CRYPTO, "card issuer key: too large");
	}
	BN_bn2bin(bn, buf);
	BN_free(bn);
	r = card_tlv_put(b, tag, buf, (size_t)n);
	return r;
}

int
card_info_encode_cert_body(EVP_PKEY *issuer, struct jbuf *out)
{
	uint8_t id[CARD_INFO_KEY_ID_LEN];
	struct jbuf inner;
	int r;

	if ((r = card_info_key_id(issuer, id)) != JPKI_OK)
		return r;
	jbuf_init(&inner);
	/* Self-issued: issuer and subject are the key's own id. */
	if (jbuf_put(&inner, id, sizeof(id)) || jbuf_put(&inner, id,
	    sizeof(id)))
		r = nomem();
	else if ((r = put_bn(&inner, CERT_TAG_EXPONENT, issuer,
	    OSSL_PKEY_PARAM_RSA_E)) == JPKI_OK &&
	    (r = put_bn(&inner, CERT_TAG_MODULUS, issuer,
	    OSSL_PKEY_PARAM_RSA_N)) == JPKI_OK)
		r = card_tlv_put(out, CERT_TAG_BODY, inner.data, inner.len);
	jbuf_free(&inner);
	return r;
}

int
card_info_encode_cert(const struct jbuf *body, const uint8_t *sig,
    size_t sig_len, struct jbuf *out)
{
	struct jbuf inner;
	int r;

	if (sig_len == 0 || sig_len > CARD_INFO_SIG_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "card issuer signature of "
		    "%zu bytes", sig_len);
	jbuf_init(&inner);
	if (jbuf_put(&inner, body->data, body->len))
		r = nomem();
	else if ((r = card_tlv_put(&inner, CERT_TAG_SIG, sig, sig_len)) ==
	    JPKI_OK)
		r = card_tlv_put(out, CERT_TAG, inner.data, inner.len);
	jbuf_free(&inner);
	return r;
}

int
card_info_encode_apinfo(EVP_PKEY *issuer, struct jbuf *out)
{
	uint8_t id[CARD_INFO_KEY_ID_LEN];
	struct jbuf inner;
	size_t start = out->len;
	int r;

	if ((r = card_info_key_id(issuer, id)) != JPKI_OK)
		return r;
	jbuf_init(&inner);
	if ((r = card_tlv_put(&inner, APINFO_TAG_INFO, ap_info,
	    sizeof(ap_info))) == JPKI_OK &&
	    (r = card_tlv_put(&inner, APINFO_TAG_KEY_ID, id, sizeof(id))) ==
	    JPKI_OK)
		r = card_tlv_put(out, APINFO_TAG, inner.data, inner.len);
	jbuf_free(&inner);
	while (r == JPKI_OK && out->len - start < CARD_INFO_APINFO_EF_LEN)
		if (jbuf_put_u8(out, APINFO_PAD))
			r = nomem();
	return r;
}

/* ---- the relying party's side ------------------------------------------ */

void
card_info_files_init(struct card_info_files *f)
{
	jbuf_init(&f->number);
	jbuf_init(&f->facts);
	jbuf_init(&f->signature);
	jbuf_init(&f->cert);
	jbuf_init(&f->apinfo);
}

void
card_info_files_free(struct card_info_files *f)
{
	/* The individual number and the four facts are personal data. */
	if (f->number.data != NULL)
		jpki_wipe(f->number.data, f->number.cap);
	if (f->facts.data != NULL)
		jpki_wipe(f->facts.data, f->facts.cap);
	jbuf_free(&f->number);
	jbuf_free(&f->facts);
	jbuf_free(&f->signature);
	jbuf_free(&f->cert);
	jbuf_free(&f->apinfo);
}

/* One element with exactly the tag want. */
static int
take(struct cursor *c, unsigned want, struct cursor *v)
{
	unsigned tag;

	if (card_tlv_next(c, &tag, v) || tag != want)
		return JPKI_ERR_INPUT;
	return JPKI_OK;
}

int
card_rsa_from(const struct cursor *n, const struct cursor *e, const char *what,
    EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	int ok;

	*out = NULL;
	ok = cursor_left(n) > 0 && cursor_left(n) <= CARD_RSA_MODULUS_MAX &&
	    cursor_left(e) > 0 && cursor_left(e) <= CARD_RSA_EXPONENT_MAX &&
	    (bn_n = BN_bin2bn(n->p, (int)cursor_left(n), NULL)) != NULL &&
	    (bn_e = BN_bin2bn(e->p, (int)cursor_left(e), NULL)) != NULL &&
	    (bld = OSSL_PARAM_BLD_new()) != NULL &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1 &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) != NULL &&
	    EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) == 1;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	ERR_clear_error();
	if (!ok) {
		EVP_PKEY_free(*out);
		*out = NULL;
		return jpki_fail(JPKI_ERR_INPUT, "%s", what);
	}
	return JPKI_OK;
}

/* sha256WithRSAEncryption (PKCS#1 v1.5) of msg by key. */
static int
rsa_verifies(EVP_PKEY *key, const uint8_t *msg, size_t n,
    const struct cursor *sig)
{
	EVP_MD_CTX *ctx;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestVerify(ctx, sig->p, cursor_left(sig), msg, n) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* EF 0004: the key, after its self-signature checked. */
static int
cert_key(const struct jbuf *cert, EVP_PKEY **key)
{
	struct cursor c, outer, body, sig, n, e;
	const uint8_t *body_start;
	size_t body_len;

	*key = NULL;
	cursor_init(&c, cert->data, cert->len);
	if (cert->len > CARD_INFO_CERT_EF_MAX || take(&c, CERT_TAG, &outer))
		return jpki_fail(JPKI_ERR_INPUT, "card-info EF 0004 is not "
		    "7F 21 { 5F 4E body, 5F 37 signature }");
	body_start = outer.p;
	if (take(&outer, CERT_TAG_BODY, &body))
		return jpki_fail(JPKI_ERR_INPUT, "card-info EF 0004 has no "
		    "5F 4E body");
	body_len = (size_t)(outer.p - body_start);
	if (take(&outer, CERT_TAG_SIG, &sig) || cursor_left(&outer) != 0 ||
	    cursor_left(&sig) > CARD_INFO_SIG_MAX ||
	    cursor_skip(&body, 2 * CARD_INFO_KEY_ID_LEN) ||
	    take(&body, CERT_TAG_EXPONENT, &e) ||
	    take(&body, CERT_TAG_MODULUS, &n) || cursor_left(&body) != 0)
		return jpki_fail(JPKI_ERR_INPUT, "card-info EF 0004 is not "
		    "7F 21 { 5F 4E { issuer, subject, 82 e, 81 n }, 5F 37 "
		    "signature }");
	if (card_rsa_from(&n, &e, "card-info EF 0004: not an RSA public key",
	    key) != JPKI_OK)
		return JPKI_ERR_INPUT;
	if (!rsa_verifies(*key, body_start, body_len, &sig)) {
		EVP_PKEY_free(*key);
		*key = NULL;
		return jpki_fail(JPKI_ERR_VERIFY, "card-info EF 0004: its "
		    "signature does not verify with its key");
	}
	return JPKI_OK;
}

int
card_info_verify(const struct card_info_files *f, EVP_PKEY *trusted,
    EVP_PKEY **issuer)
{
	struct cursor c, outer, d_num, d_facts, sig;
	uint8_t digests[2 * CARD_INFO_DIGEST_LEN];
	EVP_PKEY *key = NULL;
	int r;

	if (issuer != NULL)
		*issuer = NULL;
	cursor_init(&c, f->signature.data, f->signature.len);
	if (f->signature.len > CARD_INFO_SIGNATURE_EF_MAX ||
	    take(&c, SIG_TAG, &outer) ||
	    take(&outer, SIG_TAG_DIGEST_NUMBER, &d_num) ||
	    cursor_left(&d_num) != CARD_INFO_DIGEST_LEN ||
	    take(&outer, SIG_TAG_DIGEST_FACTS, &d_facts) ||
	    cursor_left(&d_facts) != CARD_INFO_DIGEST_LEN ||
	    take(&outer, SIG_TAG_VALUE, &sig) || cursor_left(&outer) != 0 ||
	    cursor_left(&sig) > CARD_INFO_SIG_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "card-info EF 0003 is not "
		    "FF 30 { DF 31 digest, DF 32 digest, DF 33 signature }");
	if ((r = cert_key(&f->cert, &key)) != JPKI_OK)
		return r;
	r = JPKI_ERR_VERIFY;
	if (trusted != NULL && EVP_PKEY_eq(key, trusted) != 1) {
		jpki_fail(r, "card-info EF 0004: not the trusted card issuer "
		    "key");
		goto out;
	}
	/* The facts as read must be the ones the issuer signed. */
	if (digest_tlv(f->number.data, f->number.len, digests) ||
	    digest_tlv(f->facts.data, f->facts.len,
	    digests + CARD_INFO_DIGEST_LEN)) {
		r = jpki_fail(JPKI_ERR_INPUT, "card-info EF 0001 or EF 0002 "
		    "holds no data object");
		goto out;
	}
	if (memcmp(digests, d_num.p, CARD_INFO_DIGEST_LEN) != 0) {
		jpki_fail(r, "card-info EF 0001 is not what the card issuer "
		    "signed");
		goto out;
	}
	if (memcmp(digests + CARD_INFO_DIGEST_LEN, d_facts.p,
	    CARD_INFO_DIGEST_LEN) != 0) {
		jpki_fail(r, "card-info EF 0002 is not what the card issuer "
		    "signed");
		goto out;
	}
	if (!rsa_verifies(key, digests, sizeof(digests), &sig)) {
		jpki_fail(r, "card-info EF 0003: the card issuer's signature "
		    "does not verify");
		goto out;
	}
	r = JPKI_OK;
	if (issuer != NULL) {
		*issuer = key;
		key = NULL;
	}
out:
	EVP_PKEY_free(key);
	return r;
}
