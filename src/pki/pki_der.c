/*
 * pki_der.c: a small DER writer for what openjpki encodes itself (the
 * issuance fast path, CRLs): definite lengths, fixed by pki_der_close()
 * once an element's contents are written.
 */
#include "pki_int.h"

#include <string.h>

/* AlgorithmIdentifier { sha256WithRSAEncryption, NULL } (RFC 4055). */
const uint8_t pki_algid_sha256_rsa[PKI_ALGID_SHA256_RSA_LEN] = {
	0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	0x01, 0x0b, 0x05, 0x00,
};

void
pki_der_put(struct pki_der *w, const void *p, size_t n)
{
	if (w->err == JPKI_OK && jbuf_put(w->b, p, n) != JPKI_OK)
		w->err = JPKI_ERR_NOMEM;
}

void
pki_der_open(struct pki_der *w, uint8_t tag)
{
	uint8_t hdr[2] = {tag, 0};

	if (w->depth == PKI_DER_DEPTH_MAX) {
		w->err = JPKI_ERR_INTERNAL;
		return;
	}
	pki_der_put(w, hdr, 2);
	w->open[w->depth++] = w->b->len;
}

void
pki_der_close(struct pki_der *w)
{
	size_t start, n, extra;
	uint8_t *len;

	if (w->depth == 0) {
		w->err = JPKI_ERR_INTERNAL;
		return;
	}
	start = w->open[--w->depth];
	if (w->err != JPKI_OK)
		return;
	n = w->b->len - start;
	extra = n < 0x80 ? 0 : n < 0x100 ? 1 : n < 0x10000 ? 2 : 3;
	if (n >= 0x1000000) {
		w->err = JPKI_ERR_INTERNAL;
		return;
	}
	if (extra > 0) {
		if (jbuf_reserve(w->b, extra) != JPKI_OK) {
			w->err = JPKI_ERR_NOMEM;
			return;
		}
		memmove(w->b->data + start + extra, w->b->data + start, n);
		w->b->len += extra;
	}
	len = w->b->data + start - 1;
	if (extra == 0) {
		len[0] = (uint8_t)n;
		return;
	}
	len[0] = (uint8_t)(0x80 | extra);
	for (size_t i = 0; i < extra; i++)
		len[1 + i] = (uint8_t)(n >> (8 * (extra - 1 - i)));
}

/* A primitive element: tag, length, contents. */
void
pki_der_prim(struct pki_der *w, uint8_t tag, const void *p, size_t n)
{
	pki_der_open(w, tag);
	pki_der_put(w, p, n);
	pki_der_close(w);
}

/* INTEGER of an unsigned big-endian magnitude (leading zeros dropped, one
 * zero octet added when the top bit is set). */
void
pki_der_uint(struct pki_der *w, const uint8_t *mag, size_t n)
{
	static const uint8_t zero = 0;

	while (n > 1 && mag[0] == 0) {
		mag++;
		n--;
	}
	pki_der_open(w, 0x02);
	if (n > 0 && (mag[0] & 0x80))
		pki_der_put(w, &zero, 1);
	pki_der_put(w, mag, n);
	pki_der_close(w);
}

/* An X.509 Time as ASN1_TIME_set() writes it: UTCTime for 1950-2049,
 * GeneralizedTime otherwise (RFC 5280 4.1.2.5). */
void
pki_der_time_as(struct pki_der *w, int64_t t, int generalized)
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	int64_t sec = t - days * 86400;
	struct jdate d = jdate_from_days(days);
	int hh = (int)(sec / 3600), mm = (int)(sec / 60 % 60), ss = (int)(sec % 60);
	char s[16];
	int n = 0;

	if (!generalized) {
		s[n++] = (char)('0' + d.y / 10 % 10);
		s[n++] = (char)('0' + d.y % 10);
	} else {
		s[n++] = (char)('0' + d.y / 1000 % 10);
		s[n++] = (char)('0' + d.y / 100 % 10);
		s[n++] = (char)('0' + d.y / 10 % 10);
		s[n++] = (char)('0' + d.y % 10);
	}
	s[n++] = (char)('0' + d.m / 10);
	s[n++] = (char)('0' + d.m % 10);
	s[n++] = (char)('0' + d.d / 10);
	s[n++] = (char)('0' + d.d % 10);
	s[n++] = (char)('0' + hh / 10);
	s[n++] = (char)('0' + hh % 10);
	s[n++] = (char)('0' + mm / 10);
	s[n++] = (char)('0' + mm % 10);
	s[n++] = (char)('0' + ss / 10);
	s[n++] = (char)('0' + ss % 10);
	s[n++] = 'Z';
	pki_der_prim(w, n == 13 ? 0x17 : 0x18, s, (size_t)n);
}

/* RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime outside
 * 1950-2049. */
static int
time_is_generalized(int64_t t)
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	struct jdate d = jdate_from_days(days);

	return d.y < 1950 || d.y > 2049;
}

void
pki_der_time(struct pki_der *w, int64_t t)
{
	pki_der_time_as(w, t, time_is_generalized(t));
}

size_t
pki_der_time_len(int64_t t)
{
	return 2 + (time_is_generalized(t) ? 15 : 13);
}

/* One RDN of one attribute: SET { SEQUENCE { OID, string } }. */
void
pki_der_rdn(struct pki_der *w, const uint8_t *oid, size_t oid_len, uint8_t str_tag,
    const char *value)
{
	pki_der_open(w, 0x31);
	pki_der_open(w, 0x30);
	pki_der_prim(w, 0x06, oid, oid_len);
	pki_der_prim(w, str_tag, value, strlen(value));
	pki_der_close(w);
	pki_der_close(w);
}


int
pki_der_result(struct pki_der *w, const char *what)
{
	if (w->err == JPKI_OK && w->depth != 0)
		w->err = JPKI_ERR_INTERNAL;
	if (w->err == JPKI_ERR_NOMEM)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	if (w->err != JPKI_OK)
		return jpki_fail(JPKI_ERR_INTERNAL, "%s: DER nesting", what);
	return JPKI_OK;
}

size_t
pki_der_header(uint8_t out[PKI_DER_HEADER_MAX], uint8_t tag, size_t len)
{
	size_t n = 0, extra = len < 0x80 ? 0 : len < 0x100 ? 1 :
	    len < 0x10000 ? 2 : len < 0x1000000 ? 3 : 4;

	out[n++] = tag;
	if (extra == 0) {
		out[n++] = (uint8_t)len;
		return n;
	}
	out[n++] = (uint8_t)(0x80 | extra);
	for (size_t i = 0; i < extra; i++)
		out[n++] = (uint8_t)(len >> (8 * (extra - 1 - i)));
	return n;
}
