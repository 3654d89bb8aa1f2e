/*
 * pki_tbs.c: the issuance fast path.  The TBSCertificate of an end-entity
 * certificate written directly as DER, without OpenSSL's X509 object.
 *
 * Building a certificate through the X509 API costs about 40 us (dozens of
 * small allocations, a name canonicalised, every extension encoded from
 * its structure), some 13 % of an RSA-2048 signature: enough to keep
 * issuance under design.md's 75 % of the signing limit.  Most of a JPKI
 * certificate is the same for every certificate of a CA: the issuer, the
 * KeyUsage, certificatePolicies, IssuerAltName, AuthorityKeyIdentifier and
 * AuthorityInfoAccess extensions.  A template takes their DER once, from a
 * certificate that pki_ee_cert_build() made, so the two paths cannot
 * disagree about them; per certificate only the serial, validity, subject,
 * key, subjectAltName facts, CRL distribution point and SKI are written.
 * The result is byte for byte pki_ee_cert_build() + i2d_re_X509_tbs()
 * (tests/unit/pki/test_pki_tbs.c compares them over a table of inputs).
 */
#include "pki_int.h"

#include <openssl/core_names.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

/* Longest RSA modulus we encode (8192 bits) and the public exponent. */
#define SPKI_N_MAX 1024
#define SPKI_E_MAX 16

static const uint8_t oid_country[] = {0x55, 0x04, 0x06};
static const uint8_t oid_locality[] = {0x55, 0x04, 0x07};
static const uint8_t oid_common_name[] = {0x55, 0x04, 0x03};
static const uint8_t oid_san[] = {0x55, 0x1d, 0x11};
static const uint8_t oid_cdp[] = {0x55, 0x1d, 0x1f};
static const uint8_t oid_ski[] = {0x55, 0x1d, 0x0e};
/* 1.2.392.200149.8.5.5, the arc of the holder's facts. */
static const uint8_t oid_fact_arc[] = {0x2a, 0x83, 0x08, 0x8c, 0x9b, 0x55,
	0x08, 0x05, 0x05};
/* AlgorithmIdentifier rsaEncryption, NULL parameters (RFC 4055). */
static const uint8_t algid_rsa[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86,
	0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
static const uint8_t version_3[] = {0xa0, 0x03, 0x02, 0x01, 0x02};

/* A non-critical extension: open it; the caller writes the extnValue's
 * contents and calls ext_close(). */
static void
ext_open(struct pki_der *w, const uint8_t *oid, size_t oid_len)
{
	pki_der_open(w, 0x30);
	pki_der_prim(w, 0x06, oid, oid_len);
	pki_der_open(w, 0x04);
}

static void
ext_close(struct pki_der *w)
{
	pki_der_close(w);
	pki_der_close(w);
}

/* ---- the template ------------------------------------------------------- */

/* The extensions a template carries, in the order the profile puts them
 * (pki_ee.c); per-certificate ones go between. */
enum tmpl_ext { T_KU, T_POLICY, T_IAN, T_AKI, T_AIA, T__COUNT };

struct pki_ee_template {
	enum cert_type type;
	X509 *ca_cert;
	struct pki_names names;
	char *strings;          /* the names' and URIs' copies, one block */
	int test_policy;
	const char *cps_uri, *ocsp_uri, *ca_issuers_uri;
	int64_t ca_not_after;
	struct jbuf issuer;     /* the CA's subject Name, DER */
	struct jbuf ext[T__COUNT];  /* whole Extension SEQUENCEs; AIA may be
	                               empty (no AIA at all) */
};

static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
same_names(const struct pki_names *a, const struct pki_names *b)
{
	return same_str(a->org, b->org) && same_str(a->ou_sign, b->ou_sign) &&
	    same_str(a->ou_auth, b->ou_auth) &&
	    same_str(a->ou_agency, b->ou_agency) &&
	    same_str(a->service_ja, b->service_ja) &&
	    same_str(a->service_ou_sign_ja, b->service_ou_sign_ja) &&
	    same_str(a->service_ou_auth_ja, b->service_ou_auth_ja) &&
	    same_str(a->agency_ja, b->agency_ja);
}

/* Copy the template's strings into one block it owns. */
static int
strings_copy(struct pki_ee_template *t, const struct pki_ee_params *p)
{
	const char *src[11] = {p->names->org, p->names->ou_sign,
	    p->names->ou_auth, p->names->ou_agency, p->names->service_ja,
	    p->names->service_ou_sign_ja, p->names->service_ou_auth_ja,
	    p->names->agency_ja, p->cps_uri, p->ocsp_uri, p->ca_issuers_uri};
	const char **dst[11] = {&t->names.org, &t->names.ou_sign,
	    &t->names.ou_auth, &t->names.ou_agency, &t->names.service_ja,
	    &t->names.service_ou_sign_ja, &t->names.service_ou_auth_ja,
	    &t->names.agency_ja, &t->cps_uri, &t->ocsp_uri,
	    &t->ca_issuers_uri};
	size_t total = 0, at = 0;

	for (size_t i = 0; i < JPKI_ARRAY_LEN(src); i++)
		if (src[i] != NULL)
			total += strlen(src[i]) + 1;
	if ((t->strings = malloc(total + 1)) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < JPKI_ARRAY_LEN(src); i++) {
		size_t n;

		*dst[i] = NULL;
		if (src[i] == NULL)
			continue;
		n = strlen(src[i]) + 1;
		memcpy(t->strings + at, src[i], n);
		*dst[i] = t->strings + at;
		at += n;
	}
	return JPKI_OK;
}

static int
ext_der(X509 *x, int nid, struct jbuf *out, int required)
{
	int at = X509_get_ext_by_NID(x, nid, -1);
	uint8_t *der = NULL;
	int n;

	if (at < 0) {
		if (!required)
			return JPKI_OK;
		return jpki_fail(JPKI_ERR_INTERNAL, "template: the sample "
		    "certificate lacks extension %s", OBJ_nid2sn(nid));
	}
	if ((n = i2d_X509_EXTENSION(X509_get_ext(x, at), &der)) <= 0)
		return pki_crypto_fail("template: encoding an extension");
	n = jbuf_put(out, der, (size_t)n);
	OPENSSL_free(der);
	return n;
}

int
pki_asn1_time_get(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	struct jdate d;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return pki_crypto_fail("reading a certificate's validity");
	d.y = tm.tm_year + 1900;
	d.m = tm.tm_mon + 1;
	d.d = tm.tm_mday;
	*out = jdate_to_days(d) * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 +
	    tm.tm_sec;
	return JPKI_OK;
}

void
pki_ee_template_free(struct pki_ee_template **tp)
{
	struct pki_ee_template *t = *tp;

	if (t == NULL)
		return;
	X509_free(t->ca_cert);
	free(t->strings);
	jbuf_free(&t->issuer);
	for (int i = 0; i < T__COUNT; i++)
		jbuf_free(&t->ext[i]);
	free(t);
	*tp = NULL;
}

int
pki_ee_template_new(const struct pki_ee_params *p,
    struct pki_ee_template **out)
{
	static const int nid[T__COUNT] = {
		[T_KU] = NID_key_usage,
		[T_POLICY] = NID_certificate_policies,
		[T_IAN] = NID_issuer_alt_name,
		[T_AKI] = NID_authority_key_identifier,
		[T_AIA] = NID_info_access,
	};
	struct pki_ee_template *t = NULL;
	X509 *sample = NULL;
	uint8_t *der = NULL;
	int n, r;

	if (out == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "template: no output");
	*out = NULL;
	/* The sample checks every field and the CA, as any issuance would. */
	if ((r = pki_ee_cert_build(p, &sample)) != JPKI_OK)
		return r;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		goto fail;
	}
	jbuf_init(&t->issuer);
	for (int i = 0; i < T__COUNT; i++)
		jbuf_init(&t->ext[i]);
	t->type = p->type;
	t->test_policy = p->test_policy;
	if (!X509_up_ref(p->ca_cert)) {
		r = pki_crypto_fail("template: holding the CA certificate");
		goto fail;
	}
	t->ca_cert = p->ca_cert;
	if ((r = strings_copy(t, p)) != JPKI_OK ||
	    (r = pki_asn1_time_get(X509_get0_notAfter(p->ca_cert),
	    &t->ca_not_after)))
		goto fail;
	if ((n = i2d_X509_NAME(X509_get_issuer_name(sample), &der)) <= 0) {
		r = pki_crypto_fail("template: encoding the issuer");
		goto fail;
	}
	if ((r = jbuf_put(&t->issuer, der, (size_t)n)) != JPKI_OK)
		goto fail;
	for (int i = 0; i < T__COUNT; i++)
		if ((r = ext_der(sample, nid[i], &t->ext[i], i != T_AIA)))
			goto fail;
	*out = t;
	t = NULL;
	r = JPKI_OK;
fail:
	OPENSSL_free(der);
	X509_free(sample);
	pki_ee_template_free(&t);
	return r;
}

/* ---- per certificate ---------------------------------------------------- */

/* SubjectPublicKeyInfo of an RSA key, and the SHA-1 of its subjectPublicKey
 * (the SKI, RFC 5280 4.2.1.2 method 1). */
static int
spki_write(struct pki_der *w, EVP_PKEY *pub, uint8_t ski[SHA_DIGEST_LENGTH])
{
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	uint8_t n[SPKI_N_MAX], e[SPKI_E_MAX];
	int nl, el, r = JPKI_OK;
	size_t key_at;
	static const uint8_t no_unused_bits = 0;

	if (!EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &bn_n) ||
	    !EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &bn_e) ||
	    (nl = BN_num_bytes(bn_n)) > SPKI_N_MAX ||
	    (el = BN_num_bytes(bn_e)) > SPKI_E_MAX ||
	    BN_bn2bin(bn_n, n) != nl || BN_bn2bin(bn_e, e) != el) {
		r = pki_crypto_fail("subject_pub: reading the RSA key");
		goto fail;
	}
	pki_der_open(w, 0x30);
	pki_der_put(w, algid_rsa, sizeof(algid_rsa));
	pki_der_open(w, 0x03);
	pki_der_put(w, &no_unused_bits, 1);
	key_at = w->b->len;
	pki_der_open(w, 0x30);
	pki_der_uint(w, n, (size_t)nl);
	pki_der_uint(w, e, (size_t)el);
	pki_der_close(w);
	if (w->err == JPKI_OK)
		SHA1(w->b->data + key_at, w->b->len - key_at, ski);
	pki_der_close(w);
	pki_der_close(w);
fail:
	BN_free(bn_n);
	BN_free(bn_e);
	return r;
}

static void
san_write(struct pki_der *w, const struct pki_holder_facts *f)
{
	struct pki_fact_item items[PKI_FACTS];
	char gender[2];

	pki_facts_in_order(f, gender, items);
	ext_open(w, oid_san, sizeof(oid_san));
	pki_der_open(w, 0x30);
	for (size_t i = 0; i < PKI_FACTS; i++) {
		uint8_t arc = (uint8_t)items[i].arc;

		pki_der_open(w, 0xa0);          /* otherName [0] */
		pki_der_open(w, 0x06);
		pki_der_put(w, oid_fact_arc, sizeof(oid_fact_arc));
		pki_der_put(w, &arc, 1);
		pki_der_close(w);
		pki_der_open(w, 0xa0);          /* value [0] EXPLICIT */
		pki_der_prim(w, 0x0c, items[i].value, strlen(items[i].value));
		pki_der_close(w);
		pki_der_close(w);
	}
	pki_der_close(w);
	ext_close(w);
}

static int
cdp_write(struct pki_der *w, const struct pki_ee_params *p)
{
	X509_NAME *dn = NULL;
	uint8_t *dn_der = NULL;
	int dn_len = 0, r;

	if (p->crl_dirname_shard != NULL) {
		if ((r = pki_crl_dirname(p->type, p->names,
		    p->crl_dirname_shard, &dn)) != JPKI_OK)
			return r;
		dn_len = i2d_X509_NAME(dn, &dn_der);
		X509_NAME_free(dn);
		if (dn_len <= 0)
			return pki_crypto_fail("encoding the CRL DirName");
	}
	ext_open(w, oid_cdp, sizeof(oid_cdp));
	pki_der_open(w, 0x30);
	/* DistributionPoint { [0] distributionPoint { [0] fullName { name } } } */
	pki_der_open(w, 0x30);
	pki_der_open(w, 0xa0);
	pki_der_open(w, 0xa0);
	pki_der_prim(w, 0x86, p->crl_uri, strlen(p->crl_uri));
	pki_der_close(w);
	pki_der_close(w);
	pki_der_close(w);
	if (dn_der != NULL) {
		pki_der_open(w, 0x30);
		pki_der_open(w, 0xa0);
		pki_der_open(w, 0xa0);
		pki_der_open(w, 0xa4);  /* directoryName [4] EXPLICIT Name */
		pki_der_put(w, dn_der, (size_t)dn_len);
		pki_der_close(w);
		pki_der_close(w);
		pki_der_close(w);
		pki_der_close(w);
	}
	pki_der_close(w);
	ext_close(w);
	OPENSSL_free(dn_der);
	return JPKI_OK;
}

/* The per-CA fields of p must be the template's. */
static int
template_matches(const struct pki_ee_template *t,
    const struct pki_ee_params *p)
{
	if (p->type != t->type || p->ca_cert != t->ca_cert ||
	    p->names == NULL || !same_names(p->names, &t->names) ||
	    (p->test_policy != 0) != (t->test_policy != 0) ||
	    !same_str(p->cps_uri, t->cps_uri) ||
	    !same_str(p->ocsp_uri, t->ocsp_uri) ||
	    !same_str(p->ca_issuers_uri, t->ca_issuers_uri))
		return jpki_fail(JPKI_ERR_INPUT, "template: made for another "
		    "CA, names, policy or URIs than these parameters");
	return JPKI_OK;
}

int
pki_ee_tbs_encode(const struct pki_ee_template *t,
    const struct pki_ee_params *p, struct jbuf *out)
{
	struct pki_der w = {.b = out, .depth = 0, .err = JPKI_OK};
	uint8_t ski[SHA_DIGEST_LENGTH];
	size_t skip = 0, start = out->len;
	int r;

	if (t == NULL || p == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "certificate: no parameters");
	if ((r = template_matches(t, p)) != JPKI_OK ||
	    (r = pki_ee_subject_check(p)) != JPKI_OK ||
	    (r = pki_cert_basics_check(p->serial, p->serial_len,
	    p->not_before, p->not_after, &skip)) != JPKI_OK)
		return r;
	if (p->not_after > t->ca_not_after)
		return jpki_fail(JPKI_ERR_INPUT,
		    "validity: notAfter is after the CA certificate's notAfter");

	pki_der_open(&w, 0x30);
	pki_der_put(&w, version_3, sizeof(version_3));
	pki_der_uint(&w, p->serial + skip, p->serial_len - skip);
	pki_der_put(&w, pki_algid_sha256_rsa, sizeof(pki_algid_sha256_rsa));
	pki_der_put(&w, t->issuer.data, t->issuer.len);
	pki_der_open(&w, 0x30);
	pki_der_time(&w, p->not_before);
	pki_der_time(&w, p->not_after);
	pki_der_close(&w);
	/* Subject: C=JP[, L=prefecture, L=city], CN (R4, R5). */
	pki_der_open(&w, 0x30);
	pki_der_rdn(&w, oid_country, sizeof(oid_country), 0x13, "JP");
	if (p->type == CERT_SIGN) {
		pki_der_rdn(&w, oid_locality, sizeof(oid_locality), 0x0c,
		    p->pref_romaji);
		pki_der_rdn(&w, oid_locality, sizeof(oid_locality), 0x0c,
		    p->city_romaji);
	}
	pki_der_rdn(&w, oid_common_name, sizeof(oid_common_name), 0x0c, p->cn);
	pki_der_close(&w);
	if ((r = spki_write(&w, p->subject_pub, ski)) != JPKI_OK)
		goto fail;
	pki_der_open(&w, 0xa3);
	pki_der_open(&w, 0x30);
	pki_der_put(&w, t->ext[T_KU].data, t->ext[T_KU].len);
	if (p->type == CERT_SIGN)
		san_write(&w, p->facts);
	pki_der_put(&w, t->ext[T_POLICY].data, t->ext[T_POLICY].len);
	pki_der_put(&w, t->ext[T_IAN].data, t->ext[T_IAN].len);
	if ((r = cdp_write(&w, p)) != JPKI_OK)
		goto fail;
	pki_der_put(&w, t->ext[T_AKI].data, t->ext[T_AKI].len);
	ext_open(&w, oid_ski, sizeof(oid_ski));
	pki_der_prim(&w, 0x04, ski, sizeof(ski));
	ext_close(&w);
	pki_der_put(&w, t->ext[T_AIA].data, t->ext[T_AIA].len);
	pki_der_close(&w);
	pki_der_close(&w);
	pki_der_close(&w);
	if ((r = pki_der_result(&w, "TBSCertificate")) != JPKI_OK)
		goto fail;
	return JPKI_OK;
fail:
	out->len = start;
	return r;
}
