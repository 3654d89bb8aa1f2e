/*
 * pki_cert.c: the parts every certificate of the profile shares: version,
 * serial, validity, the common extensions (KeyUsage, CRL distribution
 * points, key identifiers), signing and DER.
 *
 * Extensions are appended in call order (X509V3_ADD_APPEND), which is how
 * the profiles reproduce the real certificates' extension order.
 */
#include "pki_int.h"

#include <openssl/err.h>
#include <openssl/sha.h>
#include <stdio.h>

int
pki_crypto_fail(const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char reason[160];

	if (e == 0)
		snprintf(reason, sizeof(reason), "no detail from OpenSSL");
	else
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	return jpki_fail(JPKI_ERR_CRYPTO, "%s: %s", what, reason);
}

int
pki_serial_check(const uint8_t *serial, size_t len, size_t *skip)
{
	size_t i = 0;

	if (serial == NULL || len == 0)
		return jpki_fail(JPKI_ERR_INPUT, "serial: missing");
	while (i < len && serial[i] == 0)
		i++;
	if (i == len)
		return jpki_fail(JPKI_ERR_INPUT,
		    "serial: RFC 5280 4.1.2.2: must be positive, not zero");
	/* A set top bit costs a leading zero octet in DER. */
	if (len - i > PKI_SERIAL_MAX ||
	    (len - i == PKI_SERIAL_MAX && (serial[i] & 0x80)))
		return jpki_fail(JPKI_ERR_INPUT,
		    "serial: RFC 5280 4.1.2.2: at most %d octets",
		    PKI_SERIAL_MAX);
	*skip = i;
	return JPKI_OK;
}

static int
validity_check(int64_t not_before, int64_t not_after)
{
	/* 0000-01-01 .. 9999-12-31: what X.509 times can say. */
	const int64_t lo = -62167219200LL, hi = 253402300799LL;

	if (not_before < lo || not_before > hi || not_after < lo ||
	    not_after > hi)
		return jpki_fail(JPKI_ERR_INPUT,
		    "validity: outside the years 0000-9999");
	if (not_after <= not_before)
		return jpki_fail(JPKI_ERR_INPUT,
		    "validity: notAfter must come after notBefore");
	return JPKI_OK;
}

int
pki_cert_basics_check(const uint8_t *serial, size_t serial_len,
    int64_t not_before, int64_t not_after, size_t *skip)
{
	int r;

	if ((r = pki_serial_check(serial, serial_len, skip)) ||
	    (r = validity_check(not_before, not_after)))
		return r;
	return JPKI_OK;
}

int
pki_cert_basics(X509 *x, const uint8_t *serial, size_t serial_len,
    int64_t not_before, int64_t not_after)
{
	ASN1_INTEGER *sn = NULL;
	ASN1_TIME *t = NULL;
	BIGNUM *bn = NULL;
	size_t skip = 0;
	int r;

	if ((r = pki_cert_basics_check(serial, serial_len, not_before,
	    not_after, &skip)))
		return r;
	if (!X509_set_version(x, X509_VERSION_3)) {
		r = pki_crypto_fail("setting the version");
		goto fail;
	}
	if ((bn = BN_bin2bn(serial + skip, (int)(serial_len - skip), NULL)) == NULL ||
	    (sn = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    !X509_set_serialNumber(x, sn)) {
		r = pki_crypto_fail("setting the serial");
		goto fail;
	}
	/* ASN1_TIME_set picks UTCTime through 2049 and GeneralizedTime from
	 * 2050, as RFC 5280 4.1.2.5 requires. */
	if ((t = ASN1_TIME_set(NULL, (time_t)not_before)) == NULL ||
	    !X509_set1_notBefore(x, t)) {
		r = pki_crypto_fail("setting notBefore");
		goto fail;
	}
	ASN1_TIME_free(t);
	if ((t = ASN1_TIME_set(NULL, (time_t)not_after)) == NULL ||
	    !X509_set1_notAfter(x, t)) {
		r = pki_crypto_fail("setting notAfter");
		goto fail;
	}
	r = JPKI_OK;
fail:
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	return r;
}

int
pki_ext_add(X509 *x, int nid, void *value, int critical, const char *what)
{
	if (X509_add1_ext_i2d(x, nid, value, critical, X509V3_ADD_APPEND) != 1)
		return pki_crypto_fail(what);
	return JPKI_OK;
}

int
pki_ext_key_usage(X509 *x, const int *bits, size_t nbits)
{
	ASN1_BIT_STRING *ku;
	int r = JPKI_OK;

	if ((ku = ASN1_BIT_STRING_new()) == NULL)
		return pki_crypto_fail("allocating KeyUsage");
	/* set_bit drops the explicit unused-bits flag, so DER trims the
	 * trailing zero bits as X.690 11.2.2 requires (03 02 01 06 for
	 * keyCertSign+cRLSign, as in the real CA certificates). */
	for (size_t i = 0; i < nbits; i++)
		if (!ASN1_BIT_STRING_set_bit(ku, bits[i], 1)) {
			r = pki_crypto_fail("setting a KeyUsage bit");
			goto fail;
		}
	r = pki_ext_add(x, NID_key_usage, ku, 1, "adding KeyUsage");
fail:
	ASN1_BIT_STRING_free(ku);
	return r;
}

/* One distribution point whose fullName is the single general name gen
 * (taken over, even on failure). */
static int
cdp_push(CRL_DIST_POINTS *cdp, GENERAL_NAME *gen)
{
	DIST_POINT *dp = NULL;

	if ((dp = DIST_POINT_new()) == NULL ||
	    (dp->distpoint = DIST_POINT_NAME_new()) == NULL ||
	    (dp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL)
		goto fail;
	dp->distpoint->type = 0; /* fullName */
	if (!sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gen))
		goto fail;
	gen = NULL;
	if (!sk_DIST_POINT_push(cdp, dp))
		goto fail;
	return JPKI_OK;
fail:
	GENERAL_NAME_free(gen);
	DIST_POINT_free(dp);
	return pki_crypto_fail("building a CRL distribution point");
}

int
pki_ext_cdp(X509 *x, const char *uri, const X509_NAME *dirname)
{
	CRL_DIST_POINTS *cdp = NULL;
	GENERAL_NAME *gen = NULL;
	ASN1_IA5STRING *ia5 = NULL;
	X509_NAME *dn = NULL;
	int r;

	if ((cdp = CRL_DIST_POINTS_new()) == NULL) {
		r = pki_crypto_fail("allocating CRL distribution points");
		goto fail;
	}
	if (uri) {
		if ((gen = GENERAL_NAME_new()) == NULL ||
		    (ia5 = ASN1_IA5STRING_new()) == NULL ||
		    !ASN1_STRING_set(ia5, uri, -1)) {
			r = pki_crypto_fail("building a CDP URI");
			goto fail;
		}
		GENERAL_NAME_set0_value(gen, GEN_URI, ia5);
		ia5 = NULL;
		r = cdp_push(cdp, gen);
		gen = NULL;
		if (r)
			goto fail;
	}
	if (dirname) {
		if ((gen = GENERAL_NAME_new()) == NULL ||
		    (dn = X509_NAME_dup(dirname)) == NULL) {
			r = pki_crypto_fail("building a CDP DirName");
			goto fail;
		}
		GENERAL_NAME_set0_value(gen, GEN_DIRNAME, dn);
		dn = NULL;
		r = cdp_push(cdp, gen);
		gen = NULL;
		if (r)
			goto fail;
	}
	r = pki_ext_add(x, NID_crl_distribution_points, cdp, 0,
	    "adding CRL distribution points");
fail:
	X509_NAME_free(dn);
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gen);
	CRL_DIST_POINTS_free(cdp);
	return r;
}

/* SHA-1 of the subjectPublicKey BIT STRING contents: RFC 5280 4.2.1.2
 * method 1, which is what the real CA certificates carry. */
static int
key_id(X509 *x, ASN1_OCTET_STRING **out)
{
	unsigned char md[SHA_DIGEST_LENGTH];
	unsigned int mdlen = 0;
	ASN1_OCTET_STRING *id;

	*out = NULL;
	if (!X509_pubkey_digest(x, EVP_sha1(), md, &mdlen))
		return pki_crypto_fail("hashing the public key");
	if ((id = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(id, md, (int)mdlen)) {
		ASN1_OCTET_STRING_free(id);
		return pki_crypto_fail("building a key identifier");
	}
	*out = id;
	return JPKI_OK;
}

int
pki_ext_ski(X509 *x)
{
	ASN1_OCTET_STRING *id;
	int r;

	if ((r = key_id(x, &id)))
		return r;
	r = pki_ext_add(x, NID_subject_key_identifier, id, 0,
	    "adding SubjectKeyIdentifier");
	ASN1_OCTET_STRING_free(id);
	return r;
}

int
pki_ext_aki(X509 *x, X509 *issuer)
{
	const ASN1_OCTET_STRING *ski;
	AUTHORITY_KEYID *aki = NULL;
	int r;

	if ((aki = AUTHORITY_KEYID_new()) == NULL)
		return pki_crypto_fail("allocating AuthorityKeyIdentifier");
	/* The issuer's own SKI, so the two always match (RFC 5280 4.2.1.1);
	 * an issuer without one gets the same method-1 hash. */
	if ((ski = X509_get0_subject_key_id(issuer)) != NULL) {
		if ((aki->keyid = ASN1_OCTET_STRING_dup(ski)) == NULL) {
			r = pki_crypto_fail("copying the issuer's SKI");
			goto fail;
		}
	} else if ((r = key_id(issuer, &aki->keyid)))
		goto fail;
	r = pki_ext_add(x, NID_authority_key_identifier, aki, 0,
	    "adding AuthorityKeyIdentifier");
fail:
	AUTHORITY_KEYID_free(aki);
	return r;
}

int
pki_cert_sign(X509 *x, EVP_PKEY *ca_key)
{
	if (x == NULL || ca_key == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "signing: missing certificate "
		    "or key");
	if (EVP_PKEY_get_base_id(ca_key) != EVP_PKEY_RSA)
		return jpki_fail(JPKI_ERR_INPUT, "signing: the profile signs "
		    "with sha256WithRSAEncryption, the CA key is not RSA");
	/* X509_sign builds its own EVP_MD_CTX and EVP_PKEY_CTX per call and
	 * touches the key only through OpenSSL's locked paths, so one CA key
	 * may sign from several threads at once. */
	if (X509_sign(x, ca_key, EVP_sha256()) <= 0)
		return pki_crypto_fail("signing the certificate");
	return JPKI_OK;
}

int
pki_cert_tbs(X509 *x, uint8_t **tbs, size_t *len)
{
	X509_ALGOR *tbs_alg;
	uint8_t *der = NULL;
	int n;

	*tbs = NULL;
	*len = 0;
	if (x == NULL || (tbs_alg = (X509_ALGOR *)X509_get0_tbs_sigalg(x)) ==
	    NULL)
		return jpki_fail(JPKI_ERR_INPUT, "TBSCertificate: no "
		    "certificate");
	/* The TBSCertificate names the algorithm that signs it (RFC 5280
	 * 4.1.2.3); the outer one must match (4.1.1.2). */
	if (!X509_ALGOR_set0(tbs_alg, OBJ_nid2obj(NID_sha256WithRSAEncryption),
	    V_ASN1_NULL, NULL))
		return pki_crypto_fail("signature algorithm");
	if ((n = i2d_re_X509_tbs(x, &der)) <= 0)
		return pki_crypto_fail("encoding the TBSCertificate");
	*tbs = der;
	*len = (size_t)n;
	return JPKI_OK;
}

int
pki_cert_assemble(const uint8_t *tbs, size_t tbs_len, const uint8_t *sig,
    size_t sig_len, uint8_t **der, size_t *len)
{
	uint8_t seqhdr[PKI_DER_HEADER_MAX], bithdr[PKI_DER_HEADER_MAX];
	uint8_t *out;
	size_t body, n, bl, ll;

	*der = NULL;
	*len = 0;
	if (tbs == NULL || tbs_len == 0 || tbs_len > PKI_TBS_MAX ||
	    sig == NULL || sig_len == 0 || sig_len > PKI_SIG_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "certificate: TBSCertificate "
		    "or signature empty or too long");
	/* Certificate ::= SEQUENCE { tbs, algid, BIT STRING signature } */
	bl = pki_der_header(bithdr, 0x03, sig_len + 1);
	body = tbs_len + sizeof(pki_algid_sha256_rsa) + bl + 1 + sig_len;
	ll = pki_der_header(seqhdr, 0x30, body);
	if ((out = OPENSSL_malloc(ll + body)) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	n = 0;
	memcpy(out + n, seqhdr, ll);
	n += ll;
	memcpy(out + n, tbs, tbs_len);
	n += tbs_len;
	memcpy(out + n, pki_algid_sha256_rsa, sizeof(pki_algid_sha256_rsa));
	n += sizeof(pki_algid_sha256_rsa);
	memcpy(out + n, bithdr, bl);
	n += bl;
	out[n++] = 0x00; /* no unused bits */
	memcpy(out + n, sig, sig_len);
	n += sig_len;
	*der = out;
	*len = n;
	return JPKI_OK;
}

int
pki_cert_der(X509 *x, uint8_t **der, size_t *len)
{
	unsigned char *p = NULL;
	int n;

	*der = NULL;
	*len = 0;
	if (x == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "DER: no certificate");
	if ((n = i2d_X509(x, &p)) <= 0)
		return pki_crypto_fail("encoding the certificate");
	*der = p;
	*len = (size_t)n;
	return JPKI_OK;
}

int
pki_serial_hex(const uint8_t *serial, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0, need, o = 0;

	if (serial == NULL || len == 0 || out == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "serial: missing");
	while (i < len - 1 && serial[i] == 0)
		i++;
	need = 2 * (len - i) + 1;
	if (outlen < need)
		return jpki_fail(JPKI_ERR_INPUT,
		    "serial: %zu bytes of room for %zu hex characters",
		    outlen, need - 1);
	for (; i < len; i++) {
		out[o++] = hex[serial[i] >> 4];
		out[o++] = hex[serial[i] & 0x0F];
	}
	out[o] = '\0';
	return JPKI_OK;
}
