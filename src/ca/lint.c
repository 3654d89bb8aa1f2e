/*
 * lint.c: what a CA key signs is checked against the JPKI profile before
 * it is signed (ca.h, "the profile check"), as Boulder lints every
 * certificate before issuance.  `jpki signer` runs these on every request;
 * they need no key, only the CA certificates and the config.
 *
 * A TBSCertificate is read by wrapping it in a Certificate with an empty
 * signature and letting OpenSSL parse that; it must then re-encode to the
 * same bytes (DER, nothing hidden in a non-canonical encoding).
 */
#include "ca/ca_impl.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <string.h>

/* producedAt and thisUpdate of an OCSP answer may differ from the
 * signer's clock by this much (two machines' clocks). */
#define LINT_CLOCK_SKEW 3600
/* notBefore of a certificate likewise. */
#define LINT_NOT_BEFORE_SKEW (24 * 3600)

static int
refuse(const char *what, const char *fmt, const char *detail)
{
	return jpki_fail(JPKI_ERR_REFUSED, "profile: %s: %s%s%s", what, fmt,
	    detail ? " " : "", detail ? detail : "");
}

/* One extension of an end-entity certificate: its NID, criticality, and
 * whether each type carries it (1 required, 0 absent, 2 optional). */
struct ext_rule {
	int nid;
	int critical;
	int sign, auth;
};
static const struct ext_rule ee_exts[] = {
    {NID_key_usage, 1, 1, 1},
    {NID_subject_alt_name, 0, 1, 0},     /* the holder's facts */
    {NID_certificate_policies, 1, 1, 1},
    {NID_issuer_alt_name, 0, 1, 1},
    {NID_crl_distribution_points, 0, 1, 1},
    {NID_authority_key_identifier, 0, 1, 1},
    {NID_subject_key_identifier, 0, 1, 1},
    {NID_info_access, 0, 2, 2},
};

/* One DER TLV with a one-byte tag from c: its tag, the whole TLV (at
 * *tlv, *tlv_len) and its content (sub-cursor), all inside c.  Lengths in
 * short or long form of at most 4 octets. */
static int
der_tlv(struct cursor *c, uint8_t *tag, const uint8_t **tlv, size_t *tlv_len,
    struct cursor *content, size_t *declared)
{
	const uint8_t *start = c->p;
	size_t left = cursor_left(c), len = 0;
	uint8_t b, n;

	if (cursor_get_u8(c, tag) || cursor_get_u8(c, &b))
		return JPKI_ERR_INPUT;
	if (b < 0x80) {
		len = b;
	} else {
		n = b & 0x7F;
		if (n == 0 || n > 4)
			return JPKI_ERR_INPUT;
		for (uint8_t i = 0; i < n; i++) {
			if (cursor_get_u8(c, &b))
				return JPKI_ERR_INPUT;
			len = len << 8 | b;
		}
	}
	if (declared != NULL)
		*declared = len;
	*tlv = start;
	if (content == NULL)
		return JPKI_OK;
	if (cursor_sub(c, content, len))
		return JPKI_ERR_INPUT;
	*tlv_len = left - cursor_left(c);
	return JPKI_OK;
}

static int
der_time(const uint8_t *tlv, size_t len, int64_t *out)
{
	const uint8_t *p = tlv;
	ASN1_TIME *t = d2i_ASN1_TIME(NULL, &p, (long)len);
	struct tm tm;
	int ok = t != NULL && p == tlv + len && ASN1_TIME_to_tm(t, &tm);

	ASN1_TIME_free(t);
	ERR_clear_error();
	if (!ok)
		return JPKI_ERR_INPUT;
	*out = (int64_t)timegm(&tm);
	return JPKI_OK;
}

/* DER of a definite length, minimal, into out. */
static int
der_put_len(struct jbuf *out, size_t n)
{
	if (n < 0x80)
		return jbuf_put_u8(out, (uint8_t)n);
	if (n <= 0xFF)
		return jbuf_put_u8(out, 0x81) || jbuf_put_u8(out, (uint8_t)n);
	if (n <= 0xFFFF)
		return jbuf_put_u8(out, 0x82) || jbuf_put_u16be(out,
		    (uint16_t)n);
	return jbuf_put_u8(out, 0x83) || jbuf_put_u8(out, (uint8_t)(n >> 16)) ||
	    jbuf_put_u16be(out, (uint16_t)n);
}

/*
 * The subject key of a TBSCertificate, read from its DER.  OpenSSL 3
 * decodes a certificate's key while it parses the certificate, through
 * its provider decoders, which costs more than the RSA signature the
 * signer then makes; so the key is checked here from its bytes, and the
 * rest is parsed with a stand-in key in its place.
 */
struct tbs_key {
	const uint8_t *spki;    /* its DER SubjectPublicKeyInfo, in the TBS */
	size_t spki_len, off;   /* at tbs + off */
	int rsa_bits;           /* 0: not an RSA key */
};

/* SEQUENCE { SEQUENCE { OID 1.2.3.4 }, BIT STRING {} }: no key at all. */
static const uint8_t stand_in_key[] = {0x30, 0x0a, 0x30, 0x05, 0x06, 0x03,
    0x2a, 0x03, 0x04, 0x03, 0x01, 0x00};

static int
tbs_key_find(const uint8_t *tbs, size_t len, struct tbs_key *k)
{
	static const uint8_t rsa[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48,
	    0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
	struct cursor c, body, sub, key, bits, n;
	const uint8_t *tlv, *mod;
	uint8_t tag, unused;
	size_t tl;

	memset(k, 0, sizeof(*k));
	cursor_init(&c, tbs, len);
	if (der_tlv(&c, &tag, &tlv, &tl, &body, NULL) || tag != 0x30 ||
	    cursor_left(&c) != 0)
		return JPKI_ERR_INPUT;
	/* [0] version, serial, signature, issuer, validity, subject. */
	if (der_tlv(&body, &tag, &tlv, &tl, &sub, NULL) || tag != 0xA0)
		return JPKI_ERR_INPUT;
	for (int i = 0; i < 5; i++)
		if (der_tlv(&body, &tag, &tlv, &tl, &sub, NULL))
			return JPKI_ERR_INPUT;
	if (der_tlv(&body, &tag, &tlv, &tl, &key, NULL) || tag != 0x30)
		return JPKI_ERR_INPUT;
	k->spki = tlv;
	k->spki_len = tl;
	k->off = (size_t)(tlv - tbs);
	/* rsaEncryption, then BIT STRING { 00, RSAPublicKey { n, e } }. */
	if (der_tlv(&key, &tag, &tlv, &tl, &sub, NULL) || tl != sizeof(rsa) ||
	    memcmp(tlv, rsa, sizeof(rsa)) != 0)
		return JPKI_OK;
	if (der_tlv(&key, &tag, &tlv, &tl, &bits, NULL) || tag != 0x03 ||
	    cursor_get_u8(&bits, &unused) || unused != 0 ||
	    der_tlv(&bits, &tag, &tlv, &tl, &sub, NULL) || tag != 0x30 ||
	    der_tlv(&sub, &tag, &tlv, &tl, &n, NULL) || tag != 0x02)
		return JPKI_OK;
	tl = cursor_left(&n);
	mod = n.p;
	while (tl > 0 && *mod == 0) {
		mod++;
		tl--;
	}
	if (tl > 0) {
		k->rsa_bits = (int)(tl - 1) * 8;
		for (uint8_t b = *mod; b != 0; b >>= 1)
			k->rsa_bits++;
	}
	return JPKI_OK;
}

/* The DER TBSCertificate, its key found (k) and put aside, wrapped as a
 * Certificate and parsed. */
static int
tbs_parse(const uint8_t *tbs0, size_t len0, struct tbs_key *k, X509 **out)
{
	static const uint8_t nosig[1] = {0};
	uint8_t *der = NULL, *re = NULL;
	const uint8_t *p, *tbs;
	size_t der_len, re_len, len, hdr;
	struct jbuf b;
	X509 *x = NULL;
	int r;

	*out = NULL;
	jbuf_init(&b);
	if (len0 == 0 || len0 > PKI_TBS_MAX)
		return refuse("TBSCertificate", "empty or too long", NULL);
	if (tbs_key_find(tbs0, len0, k) != JPKI_OK)
		return refuse("TBSCertificate", "not a DER TBSCertificate", NULL);
	/* The same with the stand-in key. */
	{
		struct cursor c;
		const uint8_t *tlv;
		uint8_t tag;
		size_t declared;

		cursor_init(&c, tbs0, len0);
		der_tlv(&c, &tag, &tlv, NULL, NULL, &declared);
		hdr = len0 - declared;              /* the outer header */
	}
	if (jbuf_put_u8(&b, 0x30) || der_put_len(&b, len0 - hdr - k->spki_len +
	    sizeof(stand_in_key)) || jbuf_put(&b, tbs0 + hdr, k->off - hdr) ||
	    jbuf_put(&b, stand_in_key, sizeof(stand_in_key)) ||
	    jbuf_put(&b, tbs0 + k->off + k->spki_len, len0 - k->off -
	    k->spki_len)) {
		jbuf_free(&b);
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	}
	tbs = b.data;
	len = b.len;
	if ((r = pki_cert_assemble(tbs, len, nosig, sizeof(nosig), &der,
	    &der_len)) != JPKI_OK) {
		jbuf_free(&b);
		return r;
	}
	p = der;
	x = d2i_X509(NULL, &p, (long)der_len);
	if (x == NULL || p != der + der_len) {
		r = refuse("TBSCertificate", "not a DER TBSCertificate", NULL);
		goto out;
	}
	/* Re-encoded (with the one signature algorithm this CA uses), it
	 * must be the same bytes. */
	if ((r = pki_cert_tbs(x, &re, &re_len)) != JPKI_OK)
		goto out;
	if (re_len != len || memcmp(re, tbs, len) != 0) {
		r = refuse("TBSCertificate", "not in DER, or not signed with "
		    "sha256WithRSAEncryption", NULL);
		goto out;
	}
	*out = x;
	x = NULL;
out:
	ERR_clear_error();
	OPENSSL_free(der);
	OPENSSL_free(re);
	X509_free(x);
	jbuf_free(&b);
	return r;
}

static int
extensions_check(X509 *x, enum cert_type t)
{
	int seen[JPKI_ARRAY_LEN(ee_exts)] = {0};
	char name[80];

	for (int i = 0; i < X509_get_ext_count(x); i++) {
		X509_EXTENSION *e = X509_get_ext(x, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));
		size_t k;

		for (k = 0; k < JPKI_ARRAY_LEN(ee_exts); k++)
			if (ee_exts[k].nid == nid)
				break;
		OBJ_obj2txt(name, sizeof(name), X509_EXTENSION_get_object(e),
		    0);
		if (k == JPKI_ARRAY_LEN(ee_exts) ||
		    (t == CERT_SIGN ? ee_exts[k].sign : ee_exts[k].auth) == 0) {
			if (nid == NID_subject_alt_name)
				return refuse("extensions", "the holder's facts "
				    "(SubjectAltName) belong on signing "
				    "certificates only, not on an "
				    "authentication certificate", NULL);
			return refuse("extensions", "not in the profile of "
			    "this CA's certificates:", name);
		}
		if (seen[k]++)
			return refuse("extensions", "given twice:", name);
		if (X509_EXTENSION_get_critical(e) != ee_exts[k].critical)
			return refuse("extensions", ee_exts[k].critical ?
			    "must be critical:" : "must not be critical:",
			    name);
	}
	for (size_t k = 0; k < JPKI_ARRAY_LEN(ee_exts); k++)
		if ((t == CERT_SIGN ? ee_exts[k].sign : ee_exts[k].auth) == 1 &&
		    !seen[k])
			return refuse("extensions", "missing:",
			    OBJ_nid2ln(ee_exts[k].nid));
	return JPKI_OK;
}

/* The extensions are read one by one (X509_get_ext_d2i), not through
 * OpenSSL's cache of all of them, which also hashes the certificate. */
static int
key_usage_check(X509 *x, enum cert_type t)
{
	ASN1_BIT_STRING *ku = X509_get_ext_d2i(x, NID_key_usage, NULL, NULL);
	int ok = ku != NULL;

	/* digitalSignature (0), and nonRepudiation (1) for signing; no other
	 * bit of the nine. */
	for (int bit = 0; ok && bit < 9; bit++)
		ok = ASN1_BIT_STRING_get_bit(ku, bit) == (bit == 0 ||
		    (bit == 1 && t == CERT_SIGN));
	ASN1_BIT_STRING_free(ku);
	if (!ok)
		return refuse("KeyUsage", t == CERT_SIGN ? "must be "
		    "digitalSignature and nonRepudiation" :
		    "must be digitalSignature only", NULL);
	return JPKI_OK;
}

static int
policy_check(struct ca *ca, X509 *x, enum cert_type t)
{
	const char *want = t == CERT_SIGN ? (ca->config.test_policy ?
	    PKI_OID_POLICY_SIGN_TEST : PKI_OID_POLICY_SIGN) :
	    (ca->config.test_policy ? PKI_OID_POLICY_AUTH_TEST :
	    PKI_OID_POLICY_AUTH);
	CERTIFICATEPOLICIES *cp;
	char oid[80] = "";
	int n;

	cp = X509_get_ext_d2i(x, NID_certificate_policies, NULL, NULL);
	n = cp ? sk_POLICYINFO_num(cp) : 0;
	if (n == 1)
		OBJ_obj2txt(oid, sizeof(oid),
		    sk_POLICYINFO_value(cp, 0)->policyid, 1);
	CERTIFICATEPOLICIES_free(cp);
	if (n != 1 || strcmp(oid, want) != 0)
		return refuse("certificatePolicies", "must be this CA's one "
		    "policy", want);
	return JPKI_OK;
}

static int
aki_check(X509 *x, X509 *ca_cert)
{
	AUTHORITY_KEYID *aki = X509_get_ext_d2i(x,
	    NID_authority_key_identifier, NULL, NULL);
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca_cert);
	int ok = aki != NULL && aki->keyid != NULL && ski != NULL &&
	    ASN1_OCTET_STRING_cmp(aki->keyid, ski) == 0;

	AUTHORITY_KEYID_free(aki);
	if (!ok)
		return refuse("AuthorityKeyIdentifier", "is not the CA's "
		    "SubjectKeyIdentifier", NULL);
	return JPKI_OK;
}

static int
cdp_check(struct ca *ca, X509 *x, enum cert_type t, int gen)
{
	char prefix[PKI_URI_MAX], name[32];
	STACK_OF(DIST_POINT) *cdp;
	int ok = 0;

	/* The shards of this generation: crl/sign/ for generation 1,
	 * crl/sign.gen2/ after (ca_crl_uri). */
	ca_gen_name(t, gen, name, sizeof(name));
	snprintf(prefix, sizeof(prefix), "%s/crl/%s/", ca->config.base_url,
	    name);
	cdp = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	for (int i = 0; cdp != NULL && i < sk_DIST_POINT_num(cdp); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(cdp, i);

		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (int j = 0; j < sk_GENERAL_NAME_num(
		    dp->distpoint->name.fullname); j++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(
			    dp->distpoint->name.fullname, j);

			if (g->type == GEN_URI && strncmp((const char *)
			    ASN1_STRING_get0_data(g->d.uniformResourceIdentifier),
			    prefix, strlen(prefix)) == 0)
				ok = 1;
		}
	}
	CRL_DIST_POINTS_free(cdp);
	if (!ok)
		return refuse("CRLDistributionPoints", "no URI of this CA's "
		    "CRL shards", prefix);
	return JPKI_OK;
}

static int
subject_key_check(const struct tbs_key *k)
{
	if (k->rsa_bits < 2048)
		return refuse("subjectPublicKeyInfo", "an RSA key of 2048 bits "
		    "or more is needed", NULL);
	return JPKI_OK;
}

/* notBefore near now, inside the CA's validity, and no later than a card
 * issued on that day and the certificate's own rule allow (R6): for a
 * signing certificate, from the birth date it carries, exactly; for an
 * authentication certificate, which carries none, five years. */
static int
validity_check(X509 *x, X509 *ca_cert, enum cert_type t, int64_t now)
{
	const ASN1_TIME *nb = X509_get0_notBefore(x),
	    *na = X509_get0_notAfter(x);
	struct pki_cert_facts f;
	int64_t not_before, not_after, limit;
	struct tm tm;
	struct jdate birth;
	char ymd[11];

	if (!ASN1_TIME_to_tm(nb, &tm))
		return refuse("validity", "unreadable notBefore", NULL);
	not_before = (int64_t)timegm(&tm);
	if (!ASN1_TIME_to_tm(na, &tm))
		return refuse("validity", "unreadable notAfter", NULL);
	not_after = (int64_t)timegm(&tm);
	if (not_after <= not_before)
		return refuse("validity", "notAfter is not after notBefore",
		    NULL);
	if (not_before < now - LINT_NOT_BEFORE_SKEW ||
	    not_before > now + LINT_NOT_BEFORE_SKEW)
		return refuse("validity", "notBefore is not today", NULL);
	if (ASN1_TIME_compare(nb, X509_get0_notBefore(ca_cert)) < 0 ||
	    ASN1_TIME_compare(na, X509_get0_notAfter(ca_cert)) > 0)
		return refuse("validity", "not inside the CA certificate's",
		    NULL);
	if (t == CERT_SIGN) {
		if (pki_cert_facts_read(x, &f) != JPKI_OK) {
			jpki_errclear();
			return refuse("SubjectAltName", "a signing certificate "
			    "carries the holder's facts", NULL);
		}
		snprintf(ymd, sizeof(ymd), "%.4s-%.2s-%.2s",
		    f.birth ? f.birth + 1 : "", f.birth && strlen(f.birth) >=
		    9 ? f.birth + 5 : "", f.birth && strlen(f.birth) >= 9 ?
		    f.birth + 7 : "");
		pki_cert_facts_free(&f);
		if (jdate_parse(ymd, &birth) != JPKI_OK) {
			jpki_errclear();
			return refuse("SubjectAltName", "no birth date", NULL);
		}
		limit = rules_cert_not_after(birth, not_before,
		    rules_card_expiry(birth, jst_date_of(not_before)));
	} else {
		limit = jst_end_of_day(jdate_add_months(jst_date_of(not_before),
		    12 * RULES_CERT_BIRTHDAYS));
	}
	if (not_after > limit)
		return refuse("validity", t == CERT_SIGN ? "notAfter is past "
		    "the 5th birthday or the expiry of a card issued that day "
		    "(R6)" : "notAfter is more than five years on, past any "
		    "card issued that day (R6)", NULL);
	return JPKI_OK;
}

/* A certificate the CA makes of one of its own keys (its self-signed
 * certificate, its responder's): its subject key must be that key, which
 * ca_open checked against these certificates. */
static int
own_key(struct ca *ca, const struct tbs_key *k, enum cert_type t, int gen)
{
	X509 *own[] = {ca_gen_cert(ca, t, gen), ca_gen_ocsp_cert(ca, t, gen)};
	int yes = 0;

	for (size_t i = 0; i < JPKI_ARRAY_LEN(own) && !yes; i++) {
		uint8_t *der = NULL;
		int n = own[i] != NULL ? i2d_X509_PUBKEY(
		    X509_get_X509_PUBKEY(own[i]), &der) : 0;

		yes = n > 0 && (size_t)n == k->spki_len &&
		    memcmp(der, k->spki, k->spki_len) == 0;
		OPENSSL_free(der);
	}
	return yes;
}

int
ca_lint_tbs_cert(struct ca *ca, enum cert_type t, int gen,
    const uint8_t *tbs, size_t len, int64_t now, char serial[SERIAL_HEX_MAX])
{
	X509 *cacert = ca_gen_cert(ca, t, gen), *x = NULL;
	const ASN1_INTEGER *sn;
	struct tbs_key k;
	int r;

	serial[0] = '\0';
	if (cacert == NULL)
		return jpki_fail(JPKI_ERR_NOTFOUND, "profile: the %s CA has no "
		    "generation %d", rules_cert_type_name(t), gen);
	if ((r = tbs_parse(tbs, len, &k, &x)) != JPKI_OK)
		return r;
	sn = X509_get0_serialNumber(x);
	if (X509_get_version(x) != X509_VERSION_3 ||
	    ASN1_STRING_type(sn) != V_ASN1_INTEGER ||
	    ASN1_STRING_length(sn) < 1 || ASN1_STRING_length(sn) >
	    PKI_SERIAL_MAX) {
		r = refuse("TBSCertificate", "not a v3 certificate with a "
		    "positive serial of at most 20 octets", NULL);
		goto out;
	}
	pki_serial_hex(ASN1_STRING_get0_data(sn), (size_t)
	    ASN1_STRING_length(sn), serial, SERIAL_HEX_MAX);
	if (X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(cacert)) != 0) {
		r = refuse("issuer", "is not this CA", NULL);
		goto out;
	}
	/* The CA's own certificates: of its own keys only. */
	if (own_key(ca, &k, t, gen)) {
		r = JPKI_OK;
		goto out;
	}
	if (X509_get_ext_by_NID(x, NID_basic_constraints, -1) >= 0 ||
	    X509_get_ext_by_NID(x, NID_ext_key_usage, -1) >= 0) {
		r = refuse("TBSCertificate", "a CA or responder certificate "
		    "for a key that is not this CA's own", NULL);
		goto out;
	}
	/* A holder's certificate comes from the generation that issues (the
	 * newest); an older one only answers for what it issued. */
	if (gen != ca_generation_count(ca, t)) {
		char why[64];

		snprintf(why, sizeof(why), "generation %d issues",
		    ca_generation_count(ca, t));
		r = refuse("TBSCertificate", "a holder's certificate from a "
		    "generation that no longer issues:", why);
		goto out;
	}
	if ((r = extensions_check(x, t)) || (r = key_usage_check(x, t)) ||
	    (r = policy_check(ca, x, t)) || (r = aki_check(x, cacert)) ||
	    (r = cdp_check(ca, x, t, gen)) || (r = subject_key_check(&k)) ||
	    (r = validity_check(x, cacert, t, now)))
		goto out;
out:
	X509_free(x);
	return r;
}

/* BasicOCSPResponse ::= SEQUENCE { tbsResponseData, sha256WithRSA,
 * BIT STRING (empty) }, so OpenSSL reads the ResponseData for us. */
static int
ocsp_wrap(const uint8_t *rd, size_t len, struct jbuf *out)
{
	static const uint8_t alg_sig[] = {
	    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	    0x01, 0x0b, 0x05, 0x00, 0x03, 0x01, 0x00};
	size_t body = len + sizeof(alg_sig);
	int r;

	if ((r = jbuf_put_u8(out, 0x30)) != JPKI_OK)
		return r;
	if (body < 0x80)
		r = jbuf_put_u8(out, (uint8_t)body);
	else if (body <= 0xFFFF)
		r = jbuf_put_u8(out, 0x82) || jbuf_put_u16be(out,
		    (uint16_t)body);
	else
		r = jbuf_put_u8(out, 0x83) || jbuf_put_u8(out,
		    (uint8_t)(body >> 16)) || jbuf_put_u16be(out,
		    (uint16_t)body);
	if (r || jbuf_put(out, rd, len) || jbuf_put(out, alg_sig,
	    sizeof(alg_sig)))
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	return JPKI_OK;
}

int
ca_lint_ocsp_data(struct ca *ca, enum cert_type t, int gen,
    const uint8_t *rd, size_t len, int64_t now)
{
	X509 *cacert = ca_gen_cert(ca, t, gen),
	    *rcert = ca_gen_ocsp_cert(ca, t, gen);
	/* A live answer is valid a day; a pre-signed one, as long as the
	 * config's ocsp_validity_seconds (ocsp_presign.c). */
	int64_t validity = ca->config.ocsp_validity_seconds >
	    CA_OCSP_VALIDITY_SECONDS ? ca->config.ocsp_validity_seconds :
	    CA_OCSP_VALIDITY_SECONDS;
	const ASN1_OCTET_STRING *keyid = NULL;
	const X509_NAME *name = NULL;
	OCSP_BASICRESP *bs = NULL;
	const uint8_t *p;
	struct jbuf b;
	uint8_t nh[32], kh[32], want[SHA_DIGEST_LENGTH];
	struct tm tm;
	int r = JPKI_OK, n;

	jbuf_init(&b);
	if (cacert == NULL || rcert == NULL)
		return jpki_fail(JPKI_ERR_INTERNAL, "profile: no CA %d",
		    (int)t);
	if (len == 0 || len > PKI_TBS_MAX / 2)
		return refuse("ResponseData", "empty or too long", NULL);
	if ((r = ocsp_wrap(rd, len, &b)) != JPKI_OK)
		return r;
	p = b.data;
	bs = d2i_OCSP_BASICRESP(NULL, &p, (long)b.len);
	if (bs == NULL || p != b.data + b.len) {
		r = refuse("ResponseData", "not a DER ResponseData", NULL);
		goto out;
	}
	/* Named by its responder: by key (SHA-1 of the key) or by name. */
	if (!OCSP_resp_get0_id(bs, &keyid, &name)) {
		r = refuse("ResponseData", "no responderID", NULL);
		goto out;
	}
	if (keyid != NULL) {
		if (!X509_pubkey_digest(rcert, EVP_sha1(), want, NULL) ||
		    ASN1_STRING_length(keyid) != SHA_DIGEST_LENGTH ||
		    memcmp(ASN1_STRING_get0_data(keyid), want,
		    SHA_DIGEST_LENGTH) != 0) {
			r = refuse("ResponseData", "responderID is not this "
			    "CA's responder", NULL);
			goto out;
		}
	} else if (name == NULL || X509_NAME_cmp(name,
	    X509_get_subject_name(rcert)) != 0) {
		r = refuse("ResponseData", "responderID is not this CA's "
		    "responder", NULL);
		goto out;
	}
	if (!ASN1_TIME_to_tm(OCSP_resp_get0_produced_at(bs), &tm) ||
	    (int64_t)timegm(&tm) < now - LINT_CLOCK_SKEW ||
	    (int64_t)timegm(&tm) > now + LINT_CLOCK_SKEW) {
		r = refuse("ResponseData", "producedAt is not now", NULL);
		goto out;
	}
	n = OCSP_resp_count(bs);
	if (n < 1 || n > PKI_OCSP_CERTS_MAX) {
		r = refuse("ResponseData", "not 1 to 8 responses", NULL);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		OCSP_SINGLERESP *s = OCSP_resp_get0(bs, i);
		ASN1_OBJECT *md = NULL;
		ASN1_OCTET_STRING *key = NULL;
		ASN1_GENERALIZEDTIME *tu = NULL, *nu = NULL;
		int status, reason, h;
		int64_t this_u, next_u;

		OCSP_id_get0_info(NULL, &md, &key, NULL,
		    (OCSP_CERTID *)OCSP_SINGLERESP_get0_id(s));
		h = OBJ_obj2nid(md) == NID_sha1 ? PKI_OCSP_SHA1 :
		    OBJ_obj2nid(md) == NID_sha256 ? PKI_OCSP_SHA256 : 0;
		if (h == 0 || key == NULL || pki_ocsp_issuer_hashes(cacert,
		    (enum pki_ocsp_hash)h, nh, kh) != JPKI_OK ||
		    ASN1_STRING_length(key) != (h == PKI_OCSP_SHA1 ? 20 : 32) ||
		    memcmp(ASN1_STRING_get0_data(key), kh,
		    (size_t)ASN1_STRING_length(key)) != 0) {
			jpki_errclear();
			r = refuse("ResponseData", "answers for a certificate "
			    "of another issuer", NULL);
			goto out;
		}
		status = OCSP_single_get0_status(s, &reason, NULL, &tu, &nu);
		if (status < 0 || tu == NULL || nu == NULL ||
		    !ASN1_TIME_to_tm(tu, &tm)) {
			r = refuse("ResponseData", "a response without "
			    "thisUpdate and nextUpdate", NULL);
			goto out;
		}
		this_u = (int64_t)timegm(&tm);
		if (!ASN1_TIME_to_tm(nu, &tm)) {
			r = refuse("ResponseData", "unreadable nextUpdate",
			    NULL);
			goto out;
		}
		next_u = (int64_t)timegm(&tm);
		if (this_u < now - LINT_CLOCK_SKEW - validity ||
		    this_u > now + LINT_CLOCK_SKEW || next_u < this_u ||
		    next_u - this_u > validity) {
			r = refuse("ResponseData", "thisUpdate/nextUpdate "
			    "outside a response's validity from now", NULL);
			goto out;
		}
	}
out:
	ERR_clear_error();
	OCSP_BASICRESP_free(bs);
	jbuf_free(&b);
	return r;
}

int
ca_lint_crl_head(struct ca *ca, enum cert_type t, int gen,
    const uint8_t *head, size_t len, uint64_t total, int64_t now)
{
	static const uint8_t v2[] = {0x02, 0x01, 0x01};
	static const uint8_t alg[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86,
	    0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};
	X509 *cacert = ca_gen_cert(ca, t, gen);
	struct cursor c, body, sub;
	const uint8_t *tlv;
	uint8_t *name = NULL, tag;
	size_t tlv_len, declared, hdr;
	int64_t this_u, next_u;
	int name_len, r = JPKI_OK;

	if (cacert == NULL)
		return jpki_fail(JPKI_ERR_INTERNAL, "profile: no CA %d",
		    (int)t);
	cursor_init(&c, head, len);
	/* TBSCertList ::= SEQUENCE, exactly the bytes streamed. */
	if (der_tlv(&c, &tag, &tlv, &tlv_len, NULL, &declared) || tag != 0x30)
		return refuse("TBSCertList", "not a DER SEQUENCE", NULL);
	hdr = len - cursor_left(&c);
	if ((uint64_t)hdr + declared != total)
		return refuse("TBSCertList", "its length is not the length "
		    "streamed", NULL);
	body = c;
	/* version v2, sha256WithRSAEncryption, issuer this CA. */
	if (der_tlv(&body, &tag, &tlv, &tlv_len, &sub, NULL) ||
	    tlv_len != sizeof(v2) || memcmp(tlv, v2, sizeof(v2)) != 0)
		return refuse("TBSCertList", "not a version 2 CRL", NULL);
	if (der_tlv(&body, &tag, &tlv, &tlv_len, &sub, NULL) ||
	    tlv_len != sizeof(alg) || memcmp(tlv, alg, sizeof(alg)) != 0)
		return refuse("TBSCertList", "not signed with "
		    "sha256WithRSAEncryption", NULL);
	if ((name_len = i2d_X509_NAME(X509_get_subject_name(cacert), &name)) <=
	    0)
		return jpki_fail(JPKI_ERR_CRYPTO, "profile: the CA's name");
	if (der_tlv(&body, &tag, &tlv, &tlv_len, &sub, NULL) ||
	    tlv_len != (size_t)name_len || memcmp(tlv, name, tlv_len) != 0)
		r = refuse("TBSCertList", "issuer is not this CA", NULL);
	OPENSSL_free(name);
	if (r != JPKI_OK)
		return r;
	/* thisUpdate now, nextUpdate at most a CRL's validity on. */
	if (der_tlv(&body, &tag, &tlv, &tlv_len, &sub, NULL) ||
	    der_time(tlv, tlv_len, &this_u) ||
	    der_tlv(&body, &tag, &tlv, &tlv_len, &sub, NULL) ||
	    der_time(tlv, tlv_len, &next_u))
		return refuse("TBSCertList", "no thisUpdate and nextUpdate",
		    NULL);
	if (this_u < now - LINT_CLOCK_SKEW || this_u > now + LINT_CLOCK_SKEW)
		return refuse("TBSCertList", "thisUpdate is not now", NULL);
	if (next_u <= this_u || next_u - this_u > CA_CRL_VALIDITY_SECONDS)
		return refuse("TBSCertList", "nextUpdate is not within a CRL's "
		    "validity of thisUpdate", NULL);
	return JPKI_OK;
}
