/*
 * cms_verify.c: a CMS SignedData (RFC 5652) signed with a JPKI signing
 * certificate.  Exactly one signer; its certificate inside the CMS; at
 * most RP_CMS_CERTS_MAX certificates; the whole at most RP_CMS_MAX bytes,
 * DER (one value, nothing after it) or PEM.  The signature and the content
 * digest first (RFC 5652 5.6), the ESS signing-certificate(-v2) attribute
 * when there is one (RFC 5035: it must name the signer's certificate),
 * then the certificate for signing at the time asked (verify.c).
 */
#include "rp/rp_int.h"

#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/pem.h>
#include <string.h>
#include <time.h>

/* The CMS of p, its certificates into *certs: decoded by the verifier's
 * cache when the DER walk takes them out (cms_split.c), else by OpenSSL
 * with the rest. */
static int
parse(struct rp_verifier *v, const uint8_t *p, size_t n,
    CMS_ContentInfo **out, STACK_OF(X509) **certs)
{
	struct rp_cms_certs split_certs;
	struct jbuf stripped;
	const uint8_t *q;
	int split = 0, r;
	BIO *b;

	*out = NULL;
	*certs = NULL;
	jbuf_init(&stripped);
	if (n > RP_CMS_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "signature: more than %u bytes",
		    RP_CMS_MAX);
	if (n >= 10 && memcmp(p, "-----BEGIN", 10) == 0) {
		if ((b = BIO_new_mem_buf(p, (int)n)) != NULL)
			*out = PEM_read_bio_CMS(b, NULL, NULL, NULL);
		BIO_free(b);
	} else {
		if ((r = rp_cms_split(p, n, &stripped, &split_certs, &split)) !=
		    JPKI_OK)
			return r;
		if (split) {
			p = stripped.data;
			n = stripped.len;
		}
		q = p;
		*out = d2i_CMS_ContentInfo(NULL, &q, (long)n);
		if (*out != NULL && q != p + n) {
			CMS_ContentInfo_free(*out);
			*out = NULL;
			jbuf_free(&stripped);
			ERR_clear_error();
			return jpki_fail(JPKI_ERR_INPUT, "signature: %zu bytes "
			    "after the CMS (X.690 DER: one value)",
			    (size_t)(p + n - q));
		}
	}
	jbuf_free(&stripped);
	if (*out == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "signature: %s",
		    rp_ssl_error("not a CMS ContentInfo"));
	if (OBJ_obj2nid(CMS_get0_type(*out)) != NID_pkcs7_signed) {
		CMS_ContentInfo_free(*out);
		*out = NULL;
		return jpki_fail(JPKI_ERR_INPUT, "signature: RFC 5652 5: not "
		    "SignedData");
	}
	if (!split) {
		*certs = CMS_get1_certs(*out);
		if (*certs == NULL)
			*certs = sk_X509_new_null();
		return *certs != NULL ? JPKI_OK :
		    jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	}
	if ((*certs = sk_X509_new_null()) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < split_certs.n; i++) {
		X509 *x = rp_cert_cached(v, split_certs.der[i],
		    split_certs.len[i]);

		if (x == NULL || sk_X509_push(*certs, x) <= 0) {
			X509_free(x);
			sk_X509_pop_free(*certs, X509_free);
			*certs = NULL;
			CMS_ContentInfo_free(*out);
			*out = NULL;
			return jpki_fail(JPKI_ERR_INPUT, "signature: %s",
			    rp_ssl_error("a certificate is not X.509"));
		}
	}
	return JPKI_OK;
}

/* RFC 5035 / ETSI EN 319 122-1 5.2.2: a signing-certificate(-v2)
 * attribute, when there is one, names the signer's certificate first.
 * 1 if it does (or there is none). */
static int
signing_cert_matches(CMS_SignerInfo *si, X509 *signer)
{
	ASN1_STRING *v1 = CMS_signed_get0_data_by_OBJ(si,
	    OBJ_nid2obj(NID_id_smime_aa_signingCertificate), -3,
	    V_ASN1_SEQUENCE);
	ASN1_STRING *v2 = CMS_signed_get0_data_by_OBJ(si,
	    OBJ_nid2obj(NID_id_smime_aa_signingCertificateV2), -3,
	    V_ASN1_SEQUENCE);
	ESS_SIGNING_CERT *ss = NULL;
	ESS_SIGNING_CERT_V2 *ssv2 = NULL;
	STACK_OF(X509) *chain = sk_X509_new_null();
	const unsigned char *p;
	int ok = 0;

	if (v1 == NULL && v2 == NULL) {
		sk_X509_free(chain);
		return 1;
	}
	if (v1 != NULL) {
		p = ASN1_STRING_get0_data(v1);
		ss = d2i_ESS_SIGNING_CERT(NULL, &p, ASN1_STRING_length(v1));
	}
	if (v2 != NULL) {
		p = ASN1_STRING_get0_data(v2);
		ssv2 = d2i_ESS_SIGNING_CERT_V2(NULL, &p,
		    ASN1_STRING_length(v2));
	}
	if (chain != NULL && sk_X509_push(chain, signer) > 0 &&
	    (v1 == NULL || ss != NULL) && (v2 == NULL || ssv2 != NULL))
		ok = OSSL_ESS_check_signing_certs(ss, ssv2, chain, 1) == 1;
	ESS_SIGNING_CERT_free(ss);
	ESS_SIGNING_CERT_V2_free(ssv2);
	sk_X509_free(chain);
	ERR_clear_error();
	return ok;
}

static int64_t
signing_time_of(CMS_SignerInfo *si)
{
	int i = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
	X509_ATTRIBUTE *a;
	ASN1_TYPE *t;
	struct tm tm;

	if (i < 0 || (a = CMS_signed_get_attr(si, i)) == NULL ||
	    X509_ATTRIBUTE_count(a) != 1 ||
	    (t = X509_ATTRIBUTE_get0_type(a, 0)) == NULL ||
	    (t->type != V_ASN1_UTCTIME && t->type != V_ASN1_GENERALIZEDTIME) ||
	    ASN1_TIME_to_tm(t->value.utctime, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

int
rp_cms_verify(struct rp_verifier *v, const uint8_t *der, size_t der_len,
    const uint8_t *content, size_t content_len, int64_t at,
    struct rp_result *res)
{
	CMS_ContentInfo *cms = NULL;
	STACK_OF(CMS_SignerInfo) *sis;
	STACK_OF(X509) *certs = NULL;
	CMS_SignerInfo *si;
	X509 *signer = NULL;
	BIO *dcont = NULL;
	unsigned flags = CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY;
	int r;

	memset(res, 0, sizeof(*res));
	res->at = at;
	if (content_len > RP_CONTENT_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "content: more than %u bytes",
		    RP_CONTENT_MAX);
	if ((r = parse(v, der, der_len, &cms, &certs)) != JPKI_OK)
		return r;
	sis = CMS_get0_SignerInfos(cms);
	if (sk_CMS_SignerInfo_num(sis) != 1) {
		r = jpki_fail(JPKI_ERR_INPUT, "signature: %d signers; one is "
		    "read", sk_CMS_SignerInfo_num(sis));
		goto done;
	}
	if (sk_X509_num(certs) > RP_CMS_CERTS_MAX) {
		r = jpki_fail(JPKI_ERR_INPUT, "signature: more than %d "
		    "certificates", RP_CMS_CERTS_MAX);
		goto done;
	}
	if (CMS_is_detached(cms) && content == NULL) {
		r = jpki_fail(JPKI_ERR_INPUT, "signature: detached; the signed "
		    "document is needed too");
		goto done;
	}
	if (!CMS_is_detached(cms) && content != NULL) {
		r = jpki_fail(JPKI_ERR_INPUT, "signature: it holds its "
		    "document; none is to be given beside it");
		goto done;
	}
	si = sk_CMS_SignerInfo_value(sis, 0);
	if (CMS_set1_signers_certs(cms, certs, 0) < 0)
		ERR_clear_error();
	CMS_SignerInfo_get0_algs(si, NULL, &signer, NULL, NULL);
	if (signer == NULL) {
		r = jpki_fail(JPKI_ERR_INPUT, "signature: the signer's "
		    "certificate is not in it");
		goto done;
	}
	res->signing_time = signing_time_of(si);
	if (content != NULL &&
	    (dcont = BIO_new_mem_buf(content, (int)content_len)) == NULL) {
		r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		goto done;
	}
	if (CMS_verify(cms, certs, NULL, dcont, NULL, flags) != 1) {
		X509_up_ref(signer);
		res->signer = signer;
		res->reason = RP_BAD_SIGNATURE;
		snprintf(res->why, sizeof(res->why), "RFC 5652 5.6: %s",
		    rp_ssl_error("the signature does not verify"));
		/* Whose it claims to be, all the same. */
		rp_describe(signer, res);
		r = JPKI_OK;
		goto done;
	}
	if (!signing_cert_matches(si, signer)) {
		X509_up_ref(signer);
		res->signer = signer;
		res->reason = RP_BAD_SIGNATURE;
		snprintf(res->why, sizeof(res->why), "RFC 5035 5.4: the "
		    "signing-certificate attribute does not name the signer's "
		    "certificate");
		rp_describe(signer, res);
		goto done;
	}
	r = rp_verify_cert(v, signer, certs, CERT_SIGN, at, res);
done:
	BIO_free(dcont);
	sk_X509_pop_free(certs, X509_free);
	CMS_ContentInfo_free(cms);
	return r;
}
