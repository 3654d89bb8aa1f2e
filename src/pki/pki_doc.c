/*
 * pki_doc.c: the municipality's document-signing certificate, the one
 * that signs the residence certificates (住民票の写し) a kiosk prints.
 *
 * It is its own trust anchor, self-signed, as the municipality's own
 * organisational PKI is in Japan (LGPKI, 地方公共団体組織認証基盤, not
 * J-LIS's JPKI): the JPKI signing CA certifies residents and their four
 * facts (R4), never an office.  Profile: C=JP, O=<prefecture+municipality>,
 * CN=<mayor> (UTF8String); KeyUsage critical digitalSignature +
 * nonRepudiation + keyCertSign (the signature on itself: a self-signed
 * anchor asserts it, RFC 5280 4.2.1.3, and NSS's path builder takes the
 * certificate as its own anchor only with it; the key seam lets the key
 * sign no certificate but this one); certificatePolicies PKI_OID_POLICY_MUNICIPALITY_DOC
 * (not critical, as the JPKI certificates' own); SubjectKeyIdentifier; no
 * BasicConstraints (an end entity: it certifies no one).
 */
#include "pki_int.h"

int
pki_municipality_cert_build(const char *org, const char *cn, EVP_PKEY *key,
    const uint8_t *serial, size_t serial_len, int64_t not_before,
    int64_t not_after, X509 **out)
{
	static const int ku_bits[] = {0 /* digitalSignature */,
	    1 /* nonRepudiation */, 5 /* keyCertSign: its own signature */};
	CERTIFICATEPOLICIES *cps = NULL;
	POLICYINFO *pi = NULL;
	X509_NAME *dn = NULL;
	X509 *x = NULL;
	int r;

	*out = NULL;
	if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(key) < 2048)
		return jpki_fail(JPKI_ERR_INPUT, "municipality key: the "
		    "profile needs an RSA key of at least 2048 bits");
	if ((r = pki_text_check(org, PKI_UB_ORGANIZATION, "organization")) ||
	    (r = pki_text_check(cn, PKI_UB_COMMON_NAME, "common name")))
		return r;
	if ((dn = X509_NAME_new()) == NULL || (x = X509_new()) == NULL) {
		r = pki_crypto_fail("allocating a certificate");
		goto fail;
	}
	if ((r = pki_name_add(dn, NID_countryName, V_ASN1_PRINTABLESTRING,
	    "JP")) ||
	    (r = pki_name_add(dn, NID_organizationName, V_ASN1_UTF8STRING,
	    org)) ||
	    (r = pki_name_add(dn, NID_commonName, V_ASN1_UTF8STRING, cn)) ||
	    (r = pki_cert_basics(x, serial, serial_len, not_before,
	    not_after)))
		goto fail;
	if (!X509_set_subject_name(x, dn) || !X509_set_issuer_name(x, dn) ||
	    !X509_set_pubkey(x, key)) {
		r = pki_crypto_fail("setting the municipality's name and key");
		goto fail;
	}
	if ((cps = CERTIFICATEPOLICIES_new()) == NULL ||
	    (pi = POLICYINFO_new()) == NULL ||
	    (pi->policyid = OBJ_txt2obj(PKI_OID_POLICY_MUNICIPALITY_DOC, 1)) ==
	    NULL || !sk_POLICYINFO_push(cps, pi)) {
		r = pki_crypto_fail("building certificatePolicies");
		goto fail;
	}
	pi = NULL;
	if ((r = pki_ext_key_usage(x, ku_bits, JPKI_ARRAY_LEN(ku_bits))) ||
	    (r = pki_ext_add(x, NID_certificate_policies, cps, 0,
	    "adding certificatePolicies")) ||
	    (r = pki_ext_ski(x)))
		goto fail;
	*out = x;
	x = NULL;
fail:
	POLICYINFO_free(pi);
	CERTIFICATEPOLICIES_free(cps);
	X509_NAME_free(dn);
	X509_free(x);
	return r;
}
