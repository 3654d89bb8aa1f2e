/*
 * pki_signer.c: the fast signing path for issuance.  A signer holds an
 * EVP_PKEY_CTX set up once for RSA PKCS#1 v1.5 with SHA-256 and is used by
 * one thread at a time (one per signing thread): per certificate it hashes
 * the TBSCertificate, signs the hash and writes the Certificate SEQUENCE
 * itself, instead of X509_sign()'s per-call context setup, structure copy
 * and second encoding.  Each signer holds its own copy of the CA key: an
 * RSA key shared by threads makes them take turns on one blinding value
 * (OpenSSL's mt_blinding, under a lock), a copy gives each its own.  The result is byte for byte
 * what X509_sign() + i2d_X509() produce (tested).
 */
#include "pki_int.h"

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>


struct pki_signer {
	EVP_PKEY *key;
	EVP_PKEY_CTX *ctx;
	EVP_MD *sha256;
	size_t sig_len;
};

int
pki_signer_new(EVP_PKEY *ca_key, struct pki_signer **out)
{
	struct pki_signer *s;

	*out = NULL;
	if (ca_key == NULL || EVP_PKEY_get_base_id(ca_key) != EVP_PKEY_RSA)
		return jpki_fail(JPKI_ERR_INPUT, "signer: the profile signs "
		    "with sha256WithRSAEncryption, the CA key is not RSA");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	s->sig_len = (size_t)EVP_PKEY_get_size(ca_key);
	if (s->sig_len == 0 || s->sig_len > PKI_SIG_MAX ||
	    (s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (s->key = EVP_PKEY_dup(ca_key)) == NULL ||
	    (s->ctx = EVP_PKEY_CTX_new(s->key, NULL)) == NULL ||
	    EVP_PKEY_sign_init(s->ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(s->ctx, RSA_PKCS1_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(s->ctx, s->sha256) <= 0) {
		pki_signer_free(&s);
		return pki_crypto_fail("signer setup");
	}
	*out = s;
	return JPKI_OK;
}

void
pki_signer_free(struct pki_signer **sp)
{
	struct pki_signer *s = *sp;

	if (s == NULL)
		return;
	EVP_PKEY_CTX_free(s->ctx);
	EVP_PKEY_free(s->key);
	EVP_MD_free(s->sha256);
	free(s);
	*sp = NULL;
}

int
pki_signer_sign_digest(struct pki_signer *s, const uint8_t hash[32],
    uint8_t *sig, size_t *sig_len)
{
	if (*sig_len < s->sig_len)
		return jpki_fail(JPKI_ERR_INTERNAL, "signature buffer too small");
	if (EVP_PKEY_sign(s->ctx, sig, sig_len, hash, 32) <= 0)
		return pki_crypto_fail("signing");
	return JPKI_OK;
}

int
pki_signer_sign_raw(struct pki_signer *s, const uint8_t *data, size_t len,
    uint8_t *sig, size_t *sig_len)
{
	uint8_t hash[32];
	unsigned int hlen = sizeof(hash);

	if (!EVP_Digest(data, len, hash, &hlen, s->sha256, NULL))
		return pki_crypto_fail("hashing");
	return pki_signer_sign_digest(s, hash, sig, sig_len);
}

int
pki_signer_sign_fn(void *signer, const uint8_t *data, size_t len,
    uint8_t *sig, size_t *sig_len)
{
	return pki_signer_sign_raw(signer, data, len, sig, sig_len);
}

size_t
pki_signer_sig_len(const struct pki_signer *s)
{
	return s->sig_len;
}

int
pki_signer_sign_tbs(struct pki_signer *s, const uint8_t *tbs,
    size_t tbs_len, uint8_t **der, size_t *len)
{
	uint8_t sig[PKI_SIG_MAX];
	size_t sig_len = sizeof(sig);
	int r;

	*der = NULL;
	*len = 0;
	if (tbs == NULL || tbs_len == 0 || tbs_len > PKI_TBS_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "TBSCertificate: empty or "
		    "longer than %d bytes", PKI_TBS_MAX);
	if ((r = pki_signer_sign_raw(s, tbs, tbs_len, sig, &sig_len)))
		return r;
	return pki_cert_assemble(tbs, tbs_len, sig, sig_len, der, len);
}

int
pki_signer_sign_der(struct pki_signer *s, X509 *x, uint8_t **der,
    size_t *len)
{
	uint8_t *tbs = NULL;
	size_t tbs_len;
	int r;

	*der = NULL;
	*len = 0;
	if ((r = pki_cert_tbs(x, &tbs, &tbs_len)) != JPKI_OK)
		return r;
	r = pki_signer_sign_tbs(s, tbs, tbs_len, der, len);
	OPENSSL_free(tbs);
	return r;
}
