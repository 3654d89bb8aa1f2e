/*
 * pki_ca.c: the CA certificates and their delegated OCSP responder
 * certificates.
 *
 * The CA profile is read off the real J-LIS CA certificates (generations
 * 2015 and 2023, reference/jpki-ca): the same RDNs and string types, the
 * same five extensions in the same order with the same criticality:
 * KeyUsage (critical), SubjectAltName, BasicConstraints (critical), CRL
 * distribution points, SubjectKeyIdentifier.  No AuthorityKeyIdentifier:
 * the real self-signed certificates have none.
 */
#include "pki_int.h"

#include <openssl/err.h>

static int
key_check(EVP_PKEY *key, const char *field)
{
	if (key == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "%s: missing", field);
	/* RSA-2048, e = 65537, for CA and EE certificates (docs/profile.md). */
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(key) < 2048)
		return jpki_fail(JPKI_ERR_INPUT,
		    "%s: the profile needs an RSA key of at least 2048 bits",
		    field);
	return JPKI_OK;
}

int
pki_ca_cert_build(enum cert_type ca, const struct pki_names *n,
    EVP_PKEY *key, const uint8_t *serial, size_t serial_len,
    int64_t not_before, int64_t not_after, X509 **out)
{
	static const int ku_bits[] = {5 /* keyCertSign */, 6 /* cRLSign */};
	X509 *x = NULL;
	X509_NAME *dn = NULL;
	GENERAL_NAMES *san = NULL;
	BASIC_CONSTRAINTS *bc = NULL;
	int r;

	if (out == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "CA certificate: no output");
	*out = NULL;
	if ((r = key_check(key, "CA key")) ||
	    (r = pki_ca_name(ca, n, &dn)))
		return r;
	if ((x = X509_new()) == NULL) {
		r = pki_crypto_fail("allocating a certificate");
		goto fail;
	}
	if ((r = pki_cert_basics(x, serial, serial_len, not_before,
	    not_after)))
		goto fail;
	if (!X509_set_subject_name(x, dn) || !X509_set_issuer_name(x, dn) ||
	    !X509_set_pubkey(x, key)) {
		r = pki_crypto_fail("setting the CA's name and key");
		goto fail;
	}
	if ((r = pki_service_names(ca, n, &san)))
		goto fail;
	if ((bc = BASIC_CONSTRAINTS_new()) == NULL) {
		r = pki_crypto_fail("allocating BasicConstraints");
		goto fail;
	}
	bc->ca = 0xFF;
	if ((r = pki_ext_key_usage(x, ku_bits, JPKI_ARRAY_LEN(ku_bits))) ||
	    (r = pki_ext_add(x, NID_subject_alt_name, san, 0,
	    "adding SubjectAltName")) ||
	    (r = pki_ext_add(x, NID_basic_constraints, bc, 1,
	    "adding BasicConstraints")) ||
	    (r = pki_ext_cdp(x, NULL, dn)) ||
	    (r = pki_ext_ski(x)))
		goto fail;
	*out = x;
	x = NULL;
	r = JPKI_OK;
fail:
	BASIC_CONSTRAINTS_free(bc);
	GENERAL_NAMES_free(san);
	X509_NAME_free(dn);
	X509_free(x);
	return r;
}

int
pki_ca_link_cert_build(enum cert_type ca, const struct pki_names *n,
    EVP_PKEY *subject_key, X509 *issuer_cert, const uint8_t *serial,
    size_t serial_len, int64_t not_before, int64_t not_after, X509 **out)
{
	X509 *x = NULL;
	int r;

	if (out == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "link certificate: no output");
	*out = NULL;
	if (issuer_cert == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "link certificate: no issuing "
		    "CA certificate");
	if ((r = pki_ca_cert_build(ca, n, subject_key, serial, serial_len,
	    not_before, not_after, &x)) != JPKI_OK)
		return r;
	/* Both generations carry one name: only the key identifiers tell
	 * them apart (RFC 5280 4.2.1.1). */
	if (X509_NAME_cmp(X509_get_subject_name(x),
	    X509_get_subject_name(issuer_cert)) != 0) {
		X509_free(x);
		return jpki_fail(JPKI_ERR_INPUT, "link certificate: the issuing "
		    "CA certificate is not the %s CA named in the config",
		    ca == CERT_SIGN ? "signing" : "authentication");
	}
	if ((r = pki_ext_aki(x, issuer_cert)) != JPKI_OK) {
		X509_free(x);
		return r;
	}
	*out = x;
	return JPKI_OK;
}

int
pki_ocsp_cert_build(enum cert_type ca, const struct pki_names *n,
    X509 *ca_cert, EVP_PKEY *responder_pub,
    const uint8_t *serial, size_t serial_len, int64_t not_before,
    int64_t not_after, X509 **out)
{
	static const int ku_bits[] = {0 /* digitalSignature */};
	X509 *x = NULL;
	X509_NAME *expected = NULL, *subject = NULL;
	EXTENDED_KEY_USAGE *eku = NULL;
	ASN1_OBJECT *ocsp_signing = NULL;
	ASN1_NULL *nocheck = NULL;
	int r;

	if (out == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "OCSP certificate: no output");
	*out = NULL;
	if (ca_cert == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "OCSP certificate: no CA "
		    "certificate");
	if ((r = key_check(responder_pub, "OCSP responder key")))
		return r;
	/* RFC 6960 4.2.2.2: the responder is delegated by the CA that issued
	 * the certificates it answers for, so it must be this type's CA. */
	if ((r = pki_ca_name(ca, n, &expected)))
		goto fail;
	if (X509_NAME_cmp(expected, X509_get_subject_name(ca_cert)) != 0) {
		r = jpki_fail(JPKI_ERR_INPUT,
		    "OCSP certificate: the CA certificate is not the %s CA "
		    "named in the config", ca == CERT_SIGN ? "signing" :
		    "authentication");
		goto fail;
	}
	if ((subject = X509_NAME_new()) == NULL) {
		r = pki_crypto_fail("allocating a name");
		goto fail;
	}
	if ((r = pki_name_add(subject, NID_countryName, V_ASN1_PRINTABLESTRING,
	    "JP")) ||
	    (r = pki_name_add(subject, NID_organizationName, V_ASN1_UTF8STRING,
	    n->org)) ||
	    (r = pki_name_add(subject, NID_organizationalUnitName,
	    V_ASN1_UTF8STRING, ca == CERT_SIGN ? n->ou_sign : n->ou_auth)) ||
	    (r = pki_name_add(subject, NID_commonName, V_ASN1_UTF8STRING,
	    "OCSP Responder")))
		goto fail;
	if ((x = X509_new()) == NULL) {
		r = pki_crypto_fail("allocating a certificate");
		goto fail;
	}
	if ((r = pki_cert_basics(x, serial, serial_len, not_before,
	    not_after)))
		goto fail;
	if (!X509_set_subject_name(x, subject) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(ca_cert)) ||
	    !X509_set_pubkey(x, responder_pub)) {
		r = pki_crypto_fail("setting the responder's name and key");
		goto fail;
	}
	if ((eku = sk_ASN1_OBJECT_new_null()) == NULL ||
	    (ocsp_signing = OBJ_nid2obj(NID_OCSP_sign)) == NULL ||
	    !sk_ASN1_OBJECT_push(eku, ocsp_signing) ||
	    (nocheck = ASN1_NULL_new()) == NULL) {
		r = pki_crypto_fail("building the OCSP extensions");
		goto fail;
	}
	if ((r = pki_ext_key_usage(x, ku_bits, JPKI_ARRAY_LEN(ku_bits))) ||
	    (r = pki_ext_add(x, NID_ext_key_usage, eku, 0,
	    "adding ExtendedKeyUsage")) ||
	    /* RFC 6960 4.2.2.2.1: relying parties need not check the
	     * responder's own revocation. */
	    (r = pki_ext_add(x, NID_id_pkix_OCSP_noCheck, nocheck, 0,
	    "adding id-pkix-ocsp-nocheck")) ||
	    (r = pki_ext_aki(x, ca_cert)) ||
	    (r = pki_ext_ski(x)))
		goto fail;
	*out = x;
	x = NULL;
	r = JPKI_OK;
fail:
	ASN1_NULL_free(nocheck);
	/* NID objects are static: free the stack, not its elements. */
	sk_ASN1_OBJECT_free(eku);
	X509_NAME_free(subject);
	X509_NAME_free(expected);
	X509_free(x);
	return r;
}
