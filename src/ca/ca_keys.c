/*
 * ca_keys.c: where each key of a data directory is kept and its
 * fingerprint, for `jpki ca show` and key ceremonies (ca.h, ca_key_info).
 */
#include "ca/ca_impl.h"

#include <stdio.h>
#include <string.h>

/* SHA-256 of the DER SubjectPublicKeyInfo of pub. */
static int
spki_sha256(EVP_PKEY *pub, uint8_t fp[32])
{
	uint8_t *der = NULL;
	unsigned int len = 32;
	int n, ok;

	if ((n = i2d_PUBKEY(pub, &der)) <= 0)
		return jpki_fail(JPKI_ERR_CRYPTO, "encoding a public key");
	ok = EVP_Digest(der, (size_t)n, fp, &len, EVP_sha256(), NULL);
	OPENSSL_free(der);
	return ok ? JPKI_OK : jpki_fail(JPKI_ERR_CRYPTO, "SHA-256");
}

/* The card issuer's public key without its private half in this process
 * where the key store allows: jpki signer's answer; a token's public
 * object (no PIN); a key file holds both halves, so it is read and only
 * the public copy kept. */
static int
card_issuer_public(struct ca *ca, EVP_PKEY **pub)
{
	struct ca_signer *s = NULL;
	int r;

	/* jpki signer's keys: it answers public keys, and this process
	 * holds no private key anyway. */
	if (ca->card_issuer != NULL || (!ca->local &&
	    ca->config.signer[0] != '\0'))
		return ca_card_issuer_public_key(ca, pub);
	if (ca_signer_pkcs11_used(ca->dd))
		return ca_signer_pkcs11_public(ca->dd, CA_KEY_ID_CARD_ISSUER,
		    pub);
	if ((r = ca_signer_open_files(ca->dd, CA_KEYS_CARD_ISSUER, &s)) ==
	    JPKI_OK)
		r = ca_signer_public_key(s, CA_KEY_ID_CARD_ISSUER, pub);
	ca_signer_close(&s);
	return r;
}

int
ca_key_info(struct ca *ca, struct ca_key_id id, struct ca_key_info *out)
{
	EVP_PKEY *pub = NULL;
	X509 *cert;
	int r;

	memset(out, 0, sizeof(*out));
	ca_key_label(id, out->label, sizeof(out->label));
	if ((r = ca_key_name(id, out->name, sizeof(out->name))) != JPKI_OK ||
	    (r = ca_signer_locate(ca->signer, id, out->where,
	    sizeof(out->where))) != JPKI_OK)
		return r;
	if (id.role != CA_KEY_CARD_ISSUER) {
		/* The key a certificate of its generation certifies: every
		 * process that opens the key checks it is this one
		 * (ca_open). */
		cert = id.role == CA_KEY_CA ? ca_gen_cert(ca, id.type, id.gen) :
		    ca_gen_ocsp_cert(ca, id.type, id.gen);
		if (cert == NULL)
			return jpki_fail(JPKI_ERR_INPUT, "the %s CA has no "
			    "generation %d", rules_cert_type_name(id.type),
			    id.gen);
		if ((r = spki_sha256(X509_get0_pubkey(cert), out->sha256)))
			return r;
		out->have_sha256 = 1;
		return JPKI_OK;
	}
	if ((r = card_issuer_public(ca, &pub)) != JPKI_OK) {
		snprintf(out->why, sizeof(out->why), "%s", jpki_errmsg());
		jpki_errclear();
		return JPKI_OK;
	}
	r = spki_sha256(pub, out->sha256);
	out->have_sha256 = r == JPKI_OK;
	EVP_PKEY_free(pub);
	return r;
}
