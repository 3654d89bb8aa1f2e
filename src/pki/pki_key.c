/*
 * pki_key.c: putting a subject's RSA public key into a certificate, fast.
 *
 * OpenSSL 3.0's X509_set_pubkey() on a provider key runs the encoder
 * framework and then decodes the result again: about 180 us a
 * certificate on the project machine, 70 % of an RSA-2048 signature, which
 * alone would keep issuance below design.md's target of 75 % of the
 * signing rate.  A key that also has its legacy RSA form is encoded
 * directly (i2d_RSAPublicKey) in about 1.5 us, with the same DER.  Getting
 * that form needs the deprecated EVP_PKEY_get1_RSA, so this file, and only
 * this file, allows deprecated declarations.  Should that ever fail, the
 * slow path still gives the right certificate.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "pki_int.h"

#include <openssl/err.h>
#include <openssl/rsa.h>

int
pki_set_subject_key(X509 *x, EVP_PKEY *pub)
{
	EVP_PKEY *legacy = NULL;
	RSA *rsa = NULL;
	int ok;

	if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA &&
	    (rsa = EVP_PKEY_get1_RSA(pub)) != NULL &&
	    (legacy = EVP_PKEY_new()) != NULL &&
	    EVP_PKEY_assign_RSA(legacy, rsa)) {
		rsa = NULL; /* owned by legacy now */
		ok = X509_set_pubkey(x, legacy);
	} else {
		ERR_clear_error();
		ok = X509_set_pubkey(x, pub);
	}
	RSA_free(rsa);
	EVP_PKEY_free(legacy);
	if (!ok)
		return pki_crypto_fail("setting the subject's public key");
	return JPKI_OK;
}
