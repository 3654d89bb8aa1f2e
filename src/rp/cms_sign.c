/*
 * cms_sign.c: a CMS SignedData (RFC 5652) in the CAdES-BES profile (ETSI EN
 * 319 122-1 5.2: content-type, message-digest, signing-time,
 * signing-certificate-v2), SHA-256 and sha256WithRSAEncryption, whose
 * signature is made by a callback: the key stays on the card.
 *
 * OpenSSL builds the structure (CMS_PARTIAL: it is asked to sign nothing);
 * the signed attributes are then encoded as RFC 5652 5.4 says the signature
 * covers them, a DER SET OF (each attribute's DER, sorted), their SHA-256 is
 * signed by the callback, and the signature is put into the SignerInfo.
 */
#include "rp/rp_int.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

struct der_item {
	uint8_t *p;
	int n;
};

/* DER SET OF order (X.690 11.6): as octet strings, a prefix first. */
static int
der_item_cmp(const void *a, const void *b)
{
	const struct der_item *x = a, *y = b;
	int c = memcmp(x->p, y->p, (size_t)(x->n < y->n ? x->n : y->n));

	return c != 0 ? c : x->n - y->n;
}

/* The DER of the signed attributes as the signature covers them: SET OF
 * Attribute (tag 0x31), not the [0] IMPLICIT of their place. */
int
rp_signed_attrs_der(CMS_SignerInfo *si, struct jbuf *out)
{
	int count = CMS_signed_get_attr_count(si), r = JPKI_OK;
	struct der_item *items;
	size_t total = 0;

	if (count <= 0)
		return jpki_fail(JPKI_ERR_INPUT, "CMS: no signed attributes");
	if ((items = calloc((size_t)count, sizeof(*items))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	for (int i = 0; i < count; i++) {
		items[i].p = NULL;
		items[i].n = i2d_X509_ATTRIBUTE(CMS_signed_get_attr(si, i),
		    &items[i].p);
		if (items[i].n <= 0) {
			r = jpki_fail(JPKI_ERR_CRYPTO, "CMS: encoding an "
			    "attribute");
			goto done;
		}
		total += (size_t)items[i].n;
	}
	qsort(items, (size_t)count, sizeof(*items), der_item_cmp);
	if ((r = rp_der_put_header(out, 0x31, total)) != JPKI_OK)
		goto done;
	for (int i = 0; r == JPKI_OK && i < count; i++)
		r = jbuf_put(out, items[i].p, (size_t)items[i].n);
done:
	for (int i = 0; i < count; i++)
		OPENSSL_free(items[i].p);
	free(items);
	return r;
}

static int
add_attrs(CMS_SignerInfo *si, const uint8_t digest[32], int64_t when)
{
	ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)when);
	int ok;

	if (t == NULL)
		return jpki_fail(JPKI_ERR_CRYPTO, "CMS: signing time");
	ok = CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType,
	    V_ASN1_OBJECT, OBJ_nid2obj(NID_pkcs7_data), -1) == 1 &&
	    CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime,
	    t->type, t, -1) == 1 &&
	    CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest,
	    V_ASN1_OCTET_STRING, digest, 32) == 1;
	ASN1_TIME_free(t);
	return ok ? JPKI_OK : jpki_fail(JPKI_ERR_CRYPTO,
	    "CMS: adding the signed attributes");
}

int
rp_cms_sign(const struct rp_sign_params *p, struct jbuf *out)
{
	unsigned flags = CMS_PARTIAL | CMS_BINARY | CMS_CADES |
	    CMS_NOSMIMECAP | (p->detached ? CMS_DETACHED : 0);
	uint8_t digest[32], hash[32], sig[PKI_SIG_MAX];
	size_t sig_len = sizeof(sig);
	struct jbuf attrs;
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	EVP_PKEY *pub = X509_get0_pubkey(p->cert);
	ASN1_OCTET_STRING **content;
	uint8_t *der = NULL;
	int n, r;

	jbuf_init(&attrs);
	if (pub == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "signer: no public key");
	if (p->content_len > RP_CONTENT_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "document: more than %u bytes",
		    RP_CONTENT_MAX);
	if (EVP_Digest(p->content, p->content_len, digest, NULL, EVP_sha256(),
	    NULL) != 1)
		return jpki_fail(JPKI_ERR_CRYPTO, "SHA-256 failed");
	/* A public key where the private one would go: OpenSSL checks that
	 * it is the certificate's, and CMS_PARTIAL keeps it from signing. */
	if ((cms = CMS_sign(NULL, NULL, NULL, NULL, flags)) == NULL ||
	    (si = CMS_add1_signer(cms, p->cert, pub, EVP_sha256(), flags)) ==
	    NULL ||
	    (p->ca != NULL && CMS_add1_cert(cms, p->ca) != 1)) {
		r = jpki_fail(JPKI_ERR_CRYPTO, "CMS: building SignedData: %s",
		    ERR_reason_error_string(ERR_peek_last_error()));
		goto done;
	}
	if ((r = add_attrs(si, digest, p->signing_time)) != JPKI_OK ||
	    (r = rp_signed_attrs_der(si, &attrs)) != JPKI_OK)
		goto done;
	if (EVP_Digest(attrs.data, attrs.len, hash, NULL, EVP_sha256(),
	    NULL) != 1) {
		r = jpki_fail(JPKI_ERR_CRYPTO, "SHA-256 failed");
		goto done;
	}
	if ((r = p->sign(p->arg, hash, sig, &sig_len)) != JPKI_OK)
		goto done;
	if (ASN1_STRING_set(CMS_SignerInfo_get0_signature(si), sig,
	    (int)sig_len) != 1) {
		r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		goto done;
	}
	if (!p->detached) {
		if ((content = CMS_get0_content(cms)) == NULL ||
		    (*content == NULL &&
		    (*content = ASN1_OCTET_STRING_new()) == NULL) ||
		    ASN1_STRING_set(*content, p->content,
		    (int)p->content_len) != 1) {
			r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
			goto done;
		}
	}
	if ((n = i2d_CMS_ContentInfo(cms, &der)) <= 0) {
		r = jpki_fail(JPKI_ERR_CRYPTO, "CMS: encoding");
		goto done;
	}
	r = jbuf_put(out, der, (size_t)n);
done:
	OPENSSL_free(der);
	jbuf_free(&attrs);
	CMS_ContentInfo_free(cms);
	return r;
}
