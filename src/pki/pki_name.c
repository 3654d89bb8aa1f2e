/*
 * pki_name.c: the distinguished names of the profile and the checks on
 * the text that goes into them.
 *
 * String types follow the real J-LIS certificates (reference/jpki-ca):
 * countryName is a PrintableString, every other attribute a UTF8String,
 * one attribute per RDN.  Values are set as raw bytes of the chosen type,
 * never converted by OpenSSL's string mask, so what we checked is what is
 * encoded.
 */
#include "pki_int.h"

#include <string.h>

int
pki_type_check(enum cert_type t, const char *field)
{
	if (t != CERT_SIGN && t != CERT_AUTH)
		return jpki_fail(JPKI_ERR_INPUT,
		    "%s: certificate type %d is neither signing nor "
		    "authentication", field, (int)t);
	return JPKI_OK;
}

int
pki_text_check(const char *s, size_t max_chars, const char *field)
{
	size_t n, chars;

	if (s == NULL || *s == '\0')
		return jpki_fail(JPKI_ERR_INPUT, "%s: missing", field);
	n = strlen(s);
	if (!utf8_valid_line(s, n))
		return jpki_fail(JPKI_ERR_INPUT,
		    "%s: not a single line of well-formed UTF-8", field);
	chars = utf8_count(s, n);
	if (chars > max_chars)
		return jpki_fail(JPKI_ERR_INPUT,
		    "%s: %zu characters, at most %zu allowed", field, chars,
		    max_chars);
	return JPKI_OK;
}

int
pki_uri_check(const char *uri, int https_ok, const char *field)
{
	size_t n;

	if (uri == NULL || *uri == '\0')
		return jpki_fail(JPKI_ERR_INPUT, "%s: missing", field);
	n = strlen(uri);
	if (n > PKI_URI_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "%s: longer than %d bytes",
		    field, PKI_URI_MAX);
	for (size_t i = 0; i < n; i++)
		if (uri[i] <= 0x20 || uri[i] >= 0x7F)
			return jpki_fail(JPKI_ERR_INPUT,
			    "%s: an URI is printable ASCII without spaces "
			    "(IA5String, RFC 5280 4.2.1.6)", field);
	if (strncmp(uri, "http://", 7) == 0 && n > 7)
		return JPKI_OK;
	if (https_ok && strncmp(uri, "https://", 8) == 0 && n > 8)
		return JPKI_OK;
	/* RFC 5280 4.2.1.13 and RFC 5019 section 5: CRL and OCSP locations
	 * are plain HTTP, so fetching them needs no certificate check. */
	return jpki_fail(JPKI_ERR_INPUT, "%s: must be an %s URI", field,
	    https_ok ? "http:// or https://" : "http://");
}

int
pki_names_check(const struct pki_names *n)
{
	int r;

	if (n == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "names: missing");
	if ((r = pki_text_check(n->org, PKI_UB_ORGANIZATION, "names.org")) ||
	    (r = pki_text_check(n->ou_sign, PKI_UB_ORG_UNIT,
	    "names.ou_sign")) ||
	    (r = pki_text_check(n->ou_auth, PKI_UB_ORG_UNIT,
	    "names.ou_auth")) ||
	    (r = pki_text_check(n->ou_agency, PKI_UB_ORG_UNIT,
	    "names.ou_agency")) ||
	    (r = pki_text_check(n->service_ja, PKI_UB_ORGANIZATION,
	    "names.service_ja")))
		return r;
	if ((n->service_ou_sign_ja && (r = pki_text_check(n->service_ou_sign_ja,
	    PKI_UB_ORG_UNIT, "names.service_ou_sign_ja"))) ||
	    (n->service_ou_auth_ja && (r = pki_text_check(n->service_ou_auth_ja,
	    PKI_UB_ORG_UNIT, "names.service_ou_auth_ja"))) ||
	    (n->agency_ja && (r = pki_text_check(n->agency_ja, PKI_UB_ORG_UNIT,
	    "names.agency_ja"))))
		return r;
	if (strcmp(n->ou_sign, n->ou_auth) == 0)
		return jpki_fail(JPKI_ERR_INPUT,
		    "names: ou_sign and ou_auth must differ, or the two CAs "
		    "would share one name");
	return JPKI_OK;
}

int
pki_name_add(X509_NAME *name, int nid, int type, const char *value)
{
	if (!X509_NAME_add_entry_by_NID(name, nid, type,
	    (const unsigned char *)value, -1, -1, 0))
		return pki_crypto_fail("adding a name attribute");
	return JPKI_OK;
}

static const char *
ou_of(enum cert_type ca, const struct pki_names *n)
{
	return ca == CERT_SIGN ? n->ou_sign : n->ou_auth;
}

/* C=JP, O=org, OU=ou_x, and the caller goes on from there. */
static int
name_start(enum cert_type ca, const struct pki_names *n, X509_NAME **out)
{
	X509_NAME *name = NULL;
	int r;

	if (out == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "name: no output");
	*out = NULL;
	if ((r = pki_type_check(ca, "CA")) || (r = pki_names_check(n)))
		return r;
	if ((name = X509_NAME_new()) == NULL)
		return pki_crypto_fail("allocating a name");
	if ((r = pki_name_add(name, NID_countryName, V_ASN1_PRINTABLESTRING,
	    "JP")) ||
	    (r = pki_name_add(name, NID_organizationName, V_ASN1_UTF8STRING,
	    n->org)) ||
	    (r = pki_name_add(name, NID_organizationalUnitName,
	    V_ASN1_UTF8STRING, ou_of(ca, n))))
		goto fail;
	*out = name;
	return JPKI_OK;
fail:
	X509_NAME_free(name);
	return r;
}

int
pki_ca_name(enum cert_type ca, const struct pki_names *n, X509_NAME **out)
{
	X509_NAME *name = NULL;
	int r;

	if ((r = name_start(ca, n, &name)))
		return r;
	if ((r = pki_name_add(name, NID_organizationalUnitName,
	    V_ASN1_UTF8STRING, n->ou_agency)))
		goto fail;
	*out = name;
	return JPKI_OK;
fail:
	X509_NAME_free(name);
	return r;
}

int
pki_crl_dirname(enum cert_type ca, const struct pki_names *n,
    const char *shard, X509_NAME **out)
{
	X509_NAME *name = NULL;
	int r;

	if (out == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "CRL shard name: no output");
	*out = NULL;
	if ((r = pki_text_check(shard, PKI_UB_COMMON_NAME, "CRL shard name")))
		return r;
	if ((r = name_start(ca, n, &name)))
		return r;
	if ((r = pki_name_add(name, NID_organizationalUnitName,
	    V_ASN1_UTF8STRING, "CRL Distribution Points")) ||
	    (r = pki_name_add(name, NID_commonName, V_ASN1_UTF8STRING, shard)))
		goto fail;
	*out = name;
	return JPKI_OK;
fail:
	X509_NAME_free(name);
	return r;
}

int
pki_service_names(enum cert_type ca, const struct pki_names *n,
    GENERAL_NAMES **out)
{
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *gen = NULL;
	X509_NAME *name = NULL;
	const char *service_ou;
	int r;

	*out = NULL;
	service_ou = ca == CERT_SIGN ? n->service_ou_sign_ja :
	    n->service_ou_auth_ja;
	if ((name = X509_NAME_new()) == NULL) {
		r = pki_crypto_fail("allocating a name");
		goto fail;
	}
	if ((r = pki_name_add(name, NID_countryName, V_ASN1_PRINTABLESTRING,
	    "JP")) ||
	    (r = pki_name_add(name, NID_organizationName, V_ASN1_UTF8STRING,
	    n->service_ja)))
		goto fail;
	if (service_ou && (r = pki_name_add(name, NID_organizationalUnitName,
	    V_ASN1_UTF8STRING, service_ou)))
		goto fail;
	if (n->agency_ja && (r = pki_name_add(name,
	    NID_organizationalUnitName, V_ASN1_UTF8STRING, n->agency_ja)))
		goto fail;
	if ((gens = GENERAL_NAMES_new()) == NULL ||
	    (gen = GENERAL_NAME_new()) == NULL) {
		r = pki_crypto_fail("allocating a general name");
		goto fail;
	}
	GENERAL_NAME_set0_value(gen, GEN_DIRNAME, name);
	name = NULL;
	if (!sk_GENERAL_NAME_push(gens, gen)) {
		r = pki_crypto_fail("adding a general name");
		goto fail;
	}
	gen = NULL;
	*out = gens;
	return JPKI_OK;
fail:
	X509_NAME_free(name);
	GENERAL_NAME_free(gen);
	GENERAL_NAMES_free(gens);
	return r;
}
