/*
 * cms_split.c: a DER CMS SignedData's certificates taken out before
 * OpenSSL reads it.  OpenSSL 3.0 decodes every certificate's public key
 * through its provider decoders, about 100 us a certificate, four times
 * what the rest of a verification costs; a relying party sees the same few
 * certificates in document after document.  So the outer layers are walked
 * here (bounded cursor, definite lengths only, nothing after the value):
 *
 *   ContentInfo ::= SEQUENCE { contentType OID, [0] EXPLICIT SignedData }
 *   SignedData  ::= SEQUENCE { version, digestAlgorithms SET,
 *                   encapContentInfo SEQUENCE, [0] IMPLICIT certificates
 *                   OPTIONAL, [1] IMPLICIT crls OPTIONAL, signerInfos SET }
 *
 * and the same CMS is written again without [0] (RFC 5652 5.1: it is
 * optional), its certificates handed out as DER; the verifier decodes each
 * certificate once (its cache, by SHA-256 of the DER).  Anything this walk
 * does not take (BER indefinite lengths, as NSS writes) is left to OpenSSL
 * whole (*split 0).
 */
#include "rp/rp_int.h"

#include <string.h>

/* One TLV's tag and the cursor over its contents; definite lengths of at
 * most four octets only. */
static int
tlv(struct cursor *c, uint8_t *tag, struct cursor *in)
{
	uint8_t b, nlen;
	size_t len = 0;

	if (cursor_get_u8(c, tag) != JPKI_OK || (*tag & 0x1f) == 0x1f ||
	    cursor_get_u8(c, &b) != JPKI_OK)
		return 0;
	if (b < 0x80) {
		len = b;
	} else {
		nlen = b & 0x7f;
		if (nlen == 0 || nlen > 4)
			return 0;
		for (uint8_t i = 0; i < nlen; i++) {
			if (cursor_get_u8(c, &b) != JPKI_OK)
				return 0;
			len = len << 8 | b;
		}
	}
	return cursor_sub(c, in, len) == JPKI_OK;
}

int
rp_der_put_header(struct jbuf *out, uint8_t tag, size_t len)
{
	uint8_t h[6];
	size_t n = 0;

	h[n++] = tag;
	if (len < 0x80) {
		h[n++] = (uint8_t)len;
	} else {
		size_t octets = len < 0x100 ? 1 : len < 0x10000 ? 2 :
		    len < 0x1000000 ? 3 : 4;

		if (len > 0xffffffffu)
			return jpki_fail(JPKI_ERR_INPUT, "DER: a length of "
			    "%zu", len);
		h[n++] = (uint8_t)(0x80 | octets);
		for (size_t i = octets; i > 0; i--)
			h[n++] = (uint8_t)(len >> (8 * (i - 1)));
	}
	return jbuf_put(out, h, n);
}

static size_t
header_len(size_t len)
{
	return len < 0x80 ? 2 : len < 0x100 ? 3 : len < 0x10000 ? 4 :
	    len < 0x1000000 ? 5 : 6;
}

int
rp_cms_split(const uint8_t *p, size_t n, struct jbuf *stripped,
    struct rp_cms_certs *certs, int *split)
{
	struct cursor all, ci, oid, explicit, sd, field, cert;
	const uint8_t *fields_start, *certs_at = NULL, *after_certs = NULL;
	uint8_t tag;
	size_t sd_len, ex_len, ci_len;

	certs->n = 0;
	*split = 0;
	cursor_init(&all, p, n);
	if (!tlv(&all, &tag, &ci) || tag != 0x30 || all.len != 0 ||
	    !tlv(&ci, &tag, &oid) || tag != 0x06)
		return JPKI_OK;
	if (!tlv(&ci, &tag, &explicit) || tag != 0xA0 || ci.len != 0 ||
	    !tlv(&explicit, &tag, &sd) || tag != 0x30 || explicit.len != 0)
		return JPKI_OK;
	fields_start = sd.p;
	while (sd.len > 0) {
		const uint8_t *at = sd.p;

		if (!tlv(&sd, &tag, &field))
			return JPKI_OK;
		if (tag != 0xA0)
			continue;
		if (certs_at != NULL)
			return JPKI_OK;
		certs_at = at;
		after_certs = sd.p;
		while (field.len > 0) {
			const uint8_t *c0 = field.p;

			if (!tlv(&field, &tag, &cert) || tag != 0x30)
				return JPKI_OK;
			if (certs->n == RP_CMS_CERTS_MAX)
				return jpki_fail(JPKI_ERR_INPUT, "signature: "
				    "more than %d certificates",
				    RP_CMS_CERTS_MAX);
			certs->der[certs->n] = c0;
			certs->len[certs->n++] = (size_t)(field.p - c0);
		}
	}
	if (certs_at == NULL)
		return JPKI_OK;
	/* The same, without [0]: SignedData, the [0] EXPLICIT around it and
	 * the ContentInfo get their new lengths. */
	sd_len = (size_t)(certs_at - fields_start) +
	    (size_t)(sd.p - after_certs);
	ex_len = header_len(sd_len) + sd_len;
	{
		/* contentType: from the ContentInfo's contents to [0]. */
		struct cursor again;
		const uint8_t *ct_start, *ct_end;

		cursor_init(&again, p, n);
		(void)tlv(&again, &tag, &ci);
		ct_start = ci.p;
		(void)tlv(&ci, &tag, &oid);
		ct_end = ci.p;
		ci_len = (size_t)(ct_end - ct_start) + header_len(ex_len) +
		    ex_len;
		stripped->len = 0;
		if (rp_der_put_header(stripped, 0x30, ci_len) != JPKI_OK ||
		    jbuf_put(stripped, ct_start, (size_t)(ct_end - ct_start)) !=
		    JPKI_OK || rp_der_put_header(stripped, 0xA0, ex_len) != JPKI_OK ||
		    rp_der_put_header(stripped, 0x30, sd_len) != JPKI_OK ||
		    jbuf_put(stripped, fields_start,
		    (size_t)(certs_at - fields_start)) != JPKI_OK ||
		    jbuf_put(stripped, after_certs,
		    (size_t)(sd.p - after_certs)) != JPKI_OK)
			return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	}
	*split = 1;
	return JPKI_OK;
}
