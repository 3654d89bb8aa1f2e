/*
 * pki_ee.c: the end-entity certificates: the signing certificate
 * (署名用電子証明書, seed R4) and the authentication certificate
 * (利用者証明用電子証明書, R5).
 *
 * Extensions, in the real certificates' order, then what we add for
 * today's relying-party tooling:
 *
 *   KeyUsage (critical)        sign: digitalSignature+nonRepudiation;
 *                              auth: digitalSignature
 *   SubjectAltName             sign only: the six facts as otherNames
 *   certificatePolicies (crit) policy OID + CPS qualifier
 *   IssuerAltName              the service DirName (as the CA's SAN)
 *   CRLDistributionPoints      http:// URI, then the optional DirName
 *   AuthorityKeyIdentifier     keyid = the CA's SKI
 *   SubjectKeyIdentifier       SHA-1 of the key
 *   AuthorityInfoAccess        OCSP, caIssuers (not in real JPKI; last so
 *                              the real extensions keep their positions)
 *
 * The result is unsigned: the CA signs its pki_cert_tbs() through its key
 * seam and wraps the signature (pki_cert_assemble); with a key in hand,
 * pki_cert_sign() does both.  Issuance
 * writes the same bytes faster from a template (pki_tbs.c); this builder
 * stays the reference the fast path is tested against, and makes the
 * template's constant parts.
 */
#include "pki_int.h"

/* What differs per certificate; pki_tbs.c checks it for each one. */
int
pki_ee_subject_check(const struct pki_ee_params *p)
{
	int r;

	if (p->subject_pub == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "subject_pub: missing");
	/* The card's keys are RSA-2048 (docs/profile.md). */
	if (EVP_PKEY_get_base_id(p->subject_pub) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(p->subject_pub) < 2048)
		return jpki_fail(JPKI_ERR_INPUT,
		    "subject_pub: the profile needs an RSA key of at least "
		    "2048 bits");
	if (p->type == CERT_SIGN) {
		if (p->facts == NULL)
			return jpki_fail(JPKI_ERR_INPUT,
			    "facts: R4: a signing certificate carries the "
			    "holder's name, address, birth date and gender");
		if ((r = pki_holder_facts_check(p->facts)) ||
		    (r = pki_text_check(p->pref_romaji, PKI_UB_LOCALITY,
		    "pref_romaji")) ||
		    (r = pki_text_check(p->city_romaji, PKI_UB_LOCALITY,
		    "city_romaji")))
			return r;
	} else {
		if (p->facts != NULL)
			return jpki_fail(JPKI_ERR_INPUT,
			    "facts: R5: an authentication certificate carries "
			    "no personal facts");
		/* pref_romaji and city_romaji are ignored: R5's subject is
		 * C=JP, CN only, and a caller may fill them for both types. */
	}
	if ((r = pki_text_check(p->cn, PKI_UB_COMMON_NAME, "cn")) ||
	    (r = pki_uri_check(p->crl_uri, 0, "crl_uri")))
		return r;
	return JPKI_OK;
}

static int
ee_check(const struct pki_ee_params *p)
{
	int r;

	if ((r = pki_type_check(p->type, "certificate type")) ||
	    (r = pki_names_check(p->names)))
		return r;
	if (p->ca_cert == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "ca_cert: missing");
	if ((r = pki_ee_subject_check(p)) ||
	    (r = pki_uri_check(p->cps_uri, 1, "cps_uri")))
		return r;
	if ((p->ocsp_uri && (r = pki_uri_check(p->ocsp_uri, 0, "ocsp_uri"))) ||
	    (p->ca_issuers_uri && (r = pki_uri_check(p->ca_issuers_uri, 0,
	    "ca_issuers_uri"))))
		return r;
	return JPKI_OK;
}

static int
subject_build(const struct pki_ee_params *p, X509_NAME **out)
{
	X509_NAME *name;
	int r;

	*out = NULL;
	if ((name = X509_NAME_new()) == NULL)
		return pki_crypto_fail("allocating a name");
	if ((r = pki_name_add(name, NID_countryName, V_ASN1_PRINTABLESTRING,
	    "JP")))
		goto fail;
	if (p->type == CERT_SIGN &&
	    ((r = pki_name_add(name, NID_localityName, V_ASN1_UTF8STRING,
	    p->pref_romaji)) ||
	    (r = pki_name_add(name, NID_localityName, V_ASN1_UTF8STRING,
	    p->city_romaji))))
		goto fail;
	if ((r = pki_name_add(name, NID_commonName, V_ASN1_UTF8STRING, p->cn)))
		goto fail;
	*out = name;
	return JPKI_OK;
fail:
	X509_NAME_free(name);
	return r;
}

static int
ext_policy(X509 *x, const struct pki_ee_params *p)
{
	CERTIFICATEPOLICIES *cps = NULL;
	POLICYINFO *pi = NULL;
	POLICYQUALINFO *q = NULL;
	const char *oid;
	int r;

	if (p->type == CERT_SIGN)
		oid = p->test_policy ? PKI_OID_POLICY_SIGN_TEST :
		    PKI_OID_POLICY_SIGN;
	else
		oid = p->test_policy ? PKI_OID_POLICY_AUTH_TEST :
		    PKI_OID_POLICY_AUTH;
	if ((cps = CERTIFICATEPOLICIES_new()) == NULL ||
	    (pi = POLICYINFO_new()) == NULL ||
	    (pi->policyid = OBJ_txt2obj(oid, 1)) == NULL ||
	    (pi->qualifiers = sk_POLICYQUALINFO_new_null()) == NULL ||
	    (q = POLICYQUALINFO_new()) == NULL ||
	    (q->pqualid = OBJ_nid2obj(NID_id_qt_cps)) == NULL ||
	    (q->d.cpsuri = ASN1_IA5STRING_new()) == NULL ||
	    !ASN1_STRING_set(q->d.cpsuri, p->cps_uri, -1) ||
	    !sk_POLICYQUALINFO_push(pi->qualifiers, q)) {
		r = pki_crypto_fail("building certificatePolicies");
		goto fail;
	}
	q = NULL;
	if (!sk_POLICYINFO_push(cps, pi)) {
		r = pki_crypto_fail("building certificatePolicies");
		goto fail;
	}
	pi = NULL;
	r = pki_ext_add(x, NID_certificate_policies, cps, 1,
	    "adding certificatePolicies");
fail:
	POLICYQUALINFO_free(q);
	POLICYINFO_free(pi);
	CERTIFICATEPOLICIES_free(cps);
	return r;
}

static int
access_push(AUTHORITY_INFO_ACCESS *aia, int method, const char *uri)
{
	ACCESS_DESCRIPTION *ad = NULL;
	ASN1_IA5STRING *ia5 = NULL;

	if ((ad = ACCESS_DESCRIPTION_new()) == NULL ||
	    (ia5 = ASN1_IA5STRING_new()) == NULL ||
	    !ASN1_STRING_set(ia5, uri, -1))
		goto fail;
	ASN1_OBJECT_free(ad->method);
	ad->method = OBJ_nid2obj(method);
	GENERAL_NAME_set0_value(ad->location, GEN_URI, ia5);
	ia5 = NULL;
	if (!sk_ACCESS_DESCRIPTION_push(aia, ad))
		goto fail;
	return JPKI_OK;
fail:
	ASN1_IA5STRING_free(ia5);
	ACCESS_DESCRIPTION_free(ad);
	return pki_crypto_fail("building AuthorityInfoAccess");
}

static int
ext_aia(X509 *x, const struct pki_ee_params *p)
{
	AUTHORITY_INFO_ACCESS *aia;
	int r = JPKI_OK;

	if (p->ocsp_uri == NULL && p->ca_issuers_uri == NULL)
		return JPKI_OK; /* as real JPKI: no AIA at all */
	if ((aia = AUTHORITY_INFO_ACCESS_new()) == NULL)
		return pki_crypto_fail("allocating AuthorityInfoAccess");
	if (p->ocsp_uri)
		r = access_push(aia, NID_ad_OCSP, p->ocsp_uri);
	if (r == JPKI_OK && p->ca_issuers_uri)
		r = access_push(aia, NID_ad_ca_issuers, p->ca_issuers_uri);
	if (r == JPKI_OK)
		r = pki_ext_add(x, NID_info_access, aia, 0,
		    "adding AuthorityInfoAccess");
	AUTHORITY_INFO_ACCESS_free(aia);
	return r;
}

int
pki_ee_cert_build(const struct pki_ee_params *p, X509 **out)
{
	static const int sign_bits[] = {0 /* digitalSignature */,
	    1 /* nonRepudiation */};
	static const int auth_bits[] = {0 /* digitalSignature */};
	X509 *x = NULL;
	X509_NAME *subject = NULL, *ca_name = NULL, *crl_dn = NULL;
	GENERAL_NAMES *ian = NULL;
	int r;

	if (out == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "certificate: no output");
	*out = NULL;
	if (p == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "certificate: no parameters");
	if ((r = ee_check(p)))
		return r;
	/* A signing certificate under the authentication CA (or back) would
	 * verify and still be wrong: the CA must be this type's CA. */
	if ((r = pki_ca_name(p->type, p->names, &ca_name)))
		goto fail;
	if (X509_NAME_cmp(ca_name, X509_get_subject_name(p->ca_cert)) != 0) {
		r = jpki_fail(JPKI_ERR_INPUT,
		    "ca_cert: not the %s CA named in the config",
		    p->type == CERT_SIGN ? "signing" : "authentication");
		goto fail;
	}
	/* A certificate that outlives its CA could not be checked in its last
	 * days; J-LIS stops issuing from a CA generation well before its end
	 * (docs/profile.md). */
	if (ASN1_TIME_cmp_time_t(X509_get0_notAfter(p->ca_cert),
	    (time_t)p->not_after) < 0) {
		r = jpki_fail(JPKI_ERR_INPUT,
		    "validity: notAfter is after the CA certificate's notAfter");
		goto fail;
	}
	if (p->crl_dirname_shard && (r = pki_crl_dirname(p->type, p->names,
	    p->crl_dirname_shard, &crl_dn)))
		goto fail;
	if ((r = subject_build(p, &subject)) ||
	    (r = pki_service_names(p->type, p->names, &ian)))
		goto fail;
	if ((x = X509_new()) == NULL) {
		r = pki_crypto_fail("allocating a certificate");
		goto fail;
	}
	if ((r = pki_cert_basics(x, p->serial, p->serial_len, p->not_before,
	    p->not_after)))
		goto fail;
	if (!X509_set_subject_name(x, subject) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(p->ca_cert))) {
		r = pki_crypto_fail("setting the subject and issuer");
		goto fail;
	}
	if ((r = pki_set_subject_key(x, p->subject_pub)))
		goto fail;
	if (p->type == CERT_SIGN)
		r = pki_ext_key_usage(x, sign_bits, JPKI_ARRAY_LEN(sign_bits));
	else
		r = pki_ext_key_usage(x, auth_bits, JPKI_ARRAY_LEN(auth_bits));
	if (r)
		goto fail;
	if (p->type == CERT_SIGN && (r = pki_ext_holder_facts(x, p->facts)))
		goto fail;
	if ((r = ext_policy(x, p)) ||
	    (r = pki_ext_add(x, NID_issuer_alt_name, ian, 0,
	    "adding IssuerAltName")) ||
	    (r = pki_ext_cdp(x, p->crl_uri, crl_dn)) ||
	    (r = pki_ext_aki(x, p->ca_cert)) ||
	    (r = pki_ext_ski(x)) ||
	    (r = ext_aia(x, p)))
		goto fail;
	*out = x;
	x = NULL;
	r = JPKI_OK;
fail:
	GENERAL_NAMES_free(ian);
	X509_NAME_free(crl_dn);
	X509_NAME_free(ca_name);
	X509_NAME_free(subject);
	X509_free(x);
	return r;
}
