/*
 * pki_crl.c: CRLs (RFC 5280 section 5) written as a stream.
 *
 * A CRL of millions of entries is never held in memory, nor built as one
 * OpenSSL object per entry (design.md): the caller encodes each
 * revokedCertificates entry with pki_crl_entry() and writes it out as it
 * goes, keeping the entries' total length; pki_crl_frame() then gives the
 * DER before the entries (the CertificateList and TBSCertList headers,
 * version, signature algorithm, issuer, thisUpdate, nextUpdate and the
 * revokedCertificates header) and after them (crlExtensions), whose
 * lengths depend only on that total.  The signature covers
 * head[tbs_offset..] + entries + tail; pki_crl_signature() writes what
 * follows it.
 *
 * Profile: version 2; sha256WithRSAEncryption; entries in the order given,
 * each with a reasonCode unless the reason is unspecified (RFC 5280 5.3.1:
 * SHOULD be absent then); crlExtensions AuthorityKeyIdentifier (the CA's
 * SKI), CRLNumber, and on a shard's CRL a critical IssuingDistributionPoint
 * whose fullName is the URI the shard's certificates carry in their CRL
 * distribution point, with onlyContainsUserCerts, so a relying party can
 * tell which certificates a shard covers (RFC 5280 5.2.5).  The full CRL
 * has no IssuingDistributionPoint: it covers every certificate of its CA.
 */
#include "pki_int.h"

#include <string.h>

static const uint8_t version_2[] = {0x02, 0x01, 0x01};
static const uint8_t oid_aki[] = {0x55, 0x1d, 0x23};
static const uint8_t oid_crl_number[] = {0x55, 0x1d, 0x14};
static const uint8_t oid_idp[] = {0x55, 0x1d, 0x1c};
static const uint8_t oid_reason[] = {0x55, 0x1d, 0x15};
static const uint8_t der_true[] = {0x01, 0x01, 0xff};

static int
reason_ok(int reason)
{
	/* 7 is unused; removeFromCRL (8) belongs in delta CRLs only. */
	return reason >= 0 && reason <= 10 && reason != 7 && reason != 8;
}

int
pki_crl_entry(const char *serial_hex, int64_t revoked_at, int reason,
    struct jbuf *out)
{
	struct pki_der w = {.b = out, .depth = 0, .err = JPKI_OK};
	uint8_t serial[2 * PKI_SERIAL_MAX];
	size_t n, len, skip, start = out->len;
	int r;

	if (serial_hex == NULL || (len = strlen(serial_hex)) == 0 ||
	    len % 2 != 0 || len / 2 > sizeof(serial))
		return jpki_fail(JPKI_ERR_INPUT, "CRL entry: serial '%s' is not "
		    "whole octets of hex", serial_hex ? serial_hex : "");
	for (n = 0; n < len / 2; n++) {
		int hi = hex_digit_value(serial_hex[2 * n]),
		    lo = hex_digit_value(serial_hex[2 * n + 1]);

		if (hi < 0 || lo < 0)
			return jpki_fail(JPKI_ERR_INPUT, "CRL entry: serial "
			    "'%s' is not hex", serial_hex);
		serial[n] = (uint8_t)(hi << 4 | lo);
	}
	if ((r = pki_serial_check(serial, n, &skip)) != JPKI_OK)
		return r;
	if (!reason_ok(reason))
		return jpki_fail(JPKI_ERR_INPUT, "CRL entry %s: reason %d is "
		    "not a CRLReason for a full CRL (RFC 5280 5.3.1)",
		    serial_hex, reason);
	pki_der_open(&w, 0x30);
	pki_der_uint(&w, serial + skip, n - skip);
	pki_der_time(&w, revoked_at);
	if (reason != 0) {
		uint8_t code[3] = {0x0a, 0x01, (uint8_t)reason};

		pki_der_open(&w, 0x30);
		pki_der_open(&w, 0x30);
		pki_der_prim(&w, 0x06, oid_reason, sizeof(oid_reason));
		pki_der_prim(&w, 0x04, code, sizeof(code));
		pki_der_close(&w);
		pki_der_close(&w);
	}
	pki_der_close(&w);
	if ((r = pki_der_result(&w, "CRL entry")) != JPKI_OK)
		out->len = start;
	return r;
}

/* crlExtensions [0] EXPLICIT: AKI, CRLNumber, [IDP]. */
static int
extensions(const struct pki_crl_params *p, struct jbuf *out)
{
	struct pki_der w = {.b = out, .depth = 0, .err = JPKI_OK};
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(p->ca_cert);
	uint8_t number[8];

	if (ski == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "CRL: the CA certificate has "
		    "no subjectKeyIdentifier for the AuthorityKeyIdentifier");
	for (int i = 0; i < 8; i++)
		number[i] = (uint8_t)((uint64_t)p->number >> (56 - 8 * i));
	pki_der_open(&w, 0xa0);
	pki_der_open(&w, 0x30);
	/* AuthorityKeyIdentifier { [0] keyIdentifier } */
	pki_der_open(&w, 0x30);
	pki_der_prim(&w, 0x06, oid_aki, sizeof(oid_aki));
	pki_der_open(&w, 0x04);
	pki_der_open(&w, 0x30);
	pki_der_prim(&w, 0x80, ASN1_STRING_get0_data(ski),
	    (size_t)ASN1_STRING_length(ski));
	pki_der_close(&w);
	pki_der_close(&w);
	pki_der_close(&w);
	/* CRLNumber INTEGER */
	pki_der_open(&w, 0x30);
	pki_der_prim(&w, 0x06, oid_crl_number, sizeof(oid_crl_number));
	pki_der_open(&w, 0x04);
	pki_der_uint(&w, number, sizeof(number));
	pki_der_close(&w);
	pki_der_close(&w);
	if (p->idp_uri != NULL) {
		static const uint8_t only_user_certs[] = {0x81, 0x01, 0xff};

		/* IssuingDistributionPoint (critical) { [0] { [0] fullName
		 * { URI } }, [1] onlyContainsUserCerts TRUE } */
		pki_der_open(&w, 0x30);
		pki_der_prim(&w, 0x06, oid_idp, sizeof(oid_idp));
		pki_der_put(&w, der_true, sizeof(der_true));
		pki_der_open(&w, 0x04);
		pki_der_open(&w, 0x30);
		pki_der_open(&w, 0xa0);
		pki_der_open(&w, 0xa0);
		pki_der_prim(&w, 0x86, p->idp_uri, strlen(p->idp_uri));
		pki_der_close(&w);
		pki_der_close(&w);
		pki_der_put(&w, only_user_certs, sizeof(only_user_certs));
		pki_der_close(&w);
		pki_der_close(&w);
		pki_der_close(&w);
	}
	pki_der_close(&w);
	pki_der_close(&w);
	return pki_der_result(&w, "CRL extensions");
}

void
pki_crl_frame_free(struct pki_crl_frame *f)
{
	jbuf_free(&f->head);
	jbuf_free(&f->tail);
	f->tbs_offset = 0;
}

int
pki_crl_frame(const struct pki_crl_params *p, size_t entries_len,
    struct pki_crl_frame *out)
{
	struct pki_der w;
	const X509_NAME *issuer;
	const unsigned char *issuer_der = NULL;
	size_t issuer_len = 0, tbs_len, total, bits;
	uint8_t hdr[PKI_DER_HEADER_MAX];
	int r;

	jbuf_init(&out->head);
	jbuf_init(&out->tail);
	out->tbs_offset = 0;
	if (p == NULL || p->ca_cert == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "CRL: no CA certificate");
	if (p->number <= 0)
		return jpki_fail(JPKI_ERR_INPUT, "CRL: the CRL number must be "
		    "positive (RFC 5280 5.2.3)");
	if (p->next_update <= p->this_update)
		return jpki_fail(JPKI_ERR_INPUT,
		    "CRL: nextUpdate must come after thisUpdate");
	if (p->sig_len == 0 || p->sig_len > 1024)
		return jpki_fail(JPKI_ERR_INPUT, "CRL: signature length");
	if (p->idp_uri != NULL &&
	    (r = pki_uri_check(p->idp_uri, 0, "CRL distribution point")))
		return r;
	if (entries_len >= (1u << 31))
		return jpki_fail(JPKI_ERR_INPUT, "CRL: %zu bytes of entries "
		    "is past what this writer encodes (2 GiB)", entries_len);
	issuer = X509_get_subject_name(p->ca_cert);
	if (!X509_NAME_get0_der((X509_NAME *)issuer, &issuer_der, &issuer_len))
		return pki_crypto_fail("CRL: encoding the issuer");
	if ((r = extensions(p, &out->tail)) != JPKI_OK)
		goto fail;

	tbs_len = sizeof(version_2) + PKI_ALGID_SHA256_RSA_LEN + issuer_len +
	    pki_der_time_len(p->this_update) + pki_der_time_len(p->next_update) +
	    out->tail.len;
	/* revokedCertificates is left out when empty (RFC 5280 5.1.2.6). */
	if (entries_len > 0)
		tbs_len += pki_der_header(hdr, 0x30, entries_len) + entries_len;
	bits = pki_der_header(hdr, 0x03, p->sig_len + 1) + 1 + p->sig_len;
	total = pki_der_header(hdr, 0x30, tbs_len) + tbs_len +
	    PKI_ALGID_SHA256_RSA_LEN + bits;

	w = (struct pki_der){.b = &out->head, .depth = 0, .err = JPKI_OK};
	pki_der_put(&w, hdr, pki_der_header(hdr, 0x30, total));
	out->tbs_offset = out->head.len;
	pki_der_put(&w, hdr, pki_der_header(hdr, 0x30, tbs_len));
	pki_der_put(&w, version_2, sizeof(version_2));
	pki_der_put(&w, pki_algid_sha256_rsa, PKI_ALGID_SHA256_RSA_LEN);
	pki_der_put(&w, issuer_der, issuer_len);
	pki_der_time(&w, p->this_update);
	pki_der_time(&w, p->next_update);
	if (entries_len > 0)
		pki_der_put(&w, hdr, pki_der_header(hdr, 0x30, entries_len));
	if ((r = pki_der_result(&w, "CRL header")) != JPKI_OK)
		goto fail;
	return JPKI_OK;
fail:
	pki_crl_frame_free(out);
	return r;
}

int
pki_crl_signature(const uint8_t *sig, size_t sig_len, struct jbuf *out)
{
	uint8_t hdr[PKI_DER_HEADER_MAX];
	static const uint8_t no_unused_bits = 0;
	int r;

	if ((r = jbuf_put(out, pki_algid_sha256_rsa,
	    PKI_ALGID_SHA256_RSA_LEN)) ||
	    (r = jbuf_put(out, hdr, pki_der_header(hdr, 0x03, sig_len + 1))) ||
	    (r = jbuf_put(out, &no_unused_bits, 1)) ||
	    (r = jbuf_put(out, sig, sig_len)))
		return r;
	return JPKI_OK;
}
