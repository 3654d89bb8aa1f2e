/* The issuance fast path (pki_signer) produces exactly the certificate
 * X509_sign() + i2d_X509() would, and it verifies. */
#include "pki/pki.h"
#include "test.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

static const struct pki_names names = {
	.org = "OpenJPKI",
	.ou_sign = "OpenJPKI for digital signature",
	.ou_auth = "OpenJPKI for user authentication",
	.ou_agency = "OpenJPKI Certification Centre",
	.service_ja = "公的個人認証サービス",
};

static void
test_signer_matches_x509_sign(EVP_PKEY *key, X509 *ca)
{
	struct pki_signer *s = NULL;
	X509 *a = X509_dup(ca), *b = X509_dup(ca), *back;
	uint8_t *der_fast = NULL, *der_ref = NULL;
	const unsigned char *p;
	size_t fast_len = 0;
	int ref_len;

	CHECK_INT(pki_signer_new(key, &s), JPKI_OK);
	/* Signing twice with one signer must work: it is reused per thread. */
	for (int round = 0; round < 2; round++) {
		OPENSSL_free(der_fast);
		der_fast = NULL;
		CHECK_INT(pki_signer_sign_der(s, a, &der_fast, &fast_len),
		    JPKI_OK);
	}
	CHECK(X509_sign(b, key, EVP_sha256()) > 0);
	ref_len = i2d_X509(b, &der_ref);
	CHECK_INT(fast_len, ref_len);
	CHECK(ref_len > 0 && fast_len == (size_t)ref_len &&
	    memcmp(der_fast, der_ref, fast_len) == 0);
	p = der_fast;
	back = d2i_X509(NULL, &p, (long)fast_len);
	CHECK(back != NULL);
	CHECK(back != NULL && X509_verify(back, key) == 1);
	X509_free(back);
	OPENSSL_free(der_fast);
	OPENSSL_free(der_ref);
	X509_free(a);
	X509_free(b);
	pki_signer_free(&s);
	CHECK(s == NULL);
}

static void
test_signer_refuses_non_rsa(void)
{
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	struct pki_signer *s = NULL;

	CHECK_INT(pki_signer_new(ec, &s), JPKI_ERR_INPUT);
	CHECK(s == NULL);
	EVP_PKEY_free(ec);
}

int
main(void)
{
	uint8_t serial[16] = {0x41, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	    13, 14, 15};
	EVP_PKEY *key = EVP_RSA_gen(2048);
	X509 *ca = NULL;

	CHECK(key != NULL);
	CHECK_INT(pki_ca_cert_build(CERT_SIGN, &names, key, serial,
	    sizeof(serial), 1700000000, 2000000000, &ca), JPKI_OK);
	if (ca != NULL)
		CHECK_INT(pki_cert_sign(ca, key), JPKI_OK);
	if (ca != NULL)
		test_signer_matches_x509_sign(key, ca);
	test_signer_refuses_non_rsa();
	X509_free(ca);
	EVP_PKEY_free(key);
	return test_summary();
}
