/*
 * pades.c: the signatures of a PDF (ISO 32000-1 12.8, ETSI EN 319 142-1
 * PAdES): the PDF is read by qpdf (a real PDF library: this file parses no
 * PDF syntax itself), its AcroForm's signature fields (/FT /Sig) give each
 * signature dictionary's /SubFilter, /ByteRange and /Contents; the CMS in
 * /Contents is verified, detached, over the bytes the ranges name
 * (cms_verify.c).
 *
 * What is checked of the ranges before anything is hashed: four integers
 * 0, a, b, c with the gap [a, b) inside the file and holding exactly the
 * hex string of /Contents ("<...>"), and b + c at most the file's size.  A
 * signature whose ranges end before the file does is one followed by an
 * incremental update: it is verified over what it signed, and
 * covers_whole says it does not cover the file.
 */
#include "rp/rp_int.h"

#include <openssl/err.h>
#include <qpdf/qpdf-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
rp_pdf_result_free(struct rp_pdf_result *p)
{
	for (size_t i = 0; i < p->n; i++) {
		rp_result_free(&p->sig[i].res);
		free(p->sig[i].cms);
	}
	memset(p, 0, sizeof(*p));
}

static int
is_hex(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* The length of the CMS at the start of p, as OpenSSL's decoder reads it
 * (DER, or BER with indefinite lengths as NSS writes it); a padded
 * /Contents holds zeros after it.  0 if p does not start with one. */
static size_t
cms_length(const uint8_t *p, size_t n)
{
	const uint8_t *q = p;
	CMS_ContentInfo *cms;

	if (n > RP_CMS_MAX)
		n = RP_CMS_MAX;
	if ((cms = d2i_CMS_ContentInfo(NULL, &q, (long)n)) == NULL) {
		ERR_clear_error();
		return 0;
	}
	CMS_ContentInfo_free(cms);
	return (size_t)(q - p);
}

/* One signature field's dictionary /V into s (its verdict not yet). */
static int
read_signature(qpdf_data q, qpdf_oh v, const uint8_t *pdf, size_t n,
    struct rp_pdf_signature *s)
{
	qpdf_oh br = qpdf_oh_get_key(q, v, "/ByteRange"),
	    contents = qpdf_oh_get_key(q, v, "/Contents"),
	    sub = qpdf_oh_get_key(q, v, "/SubFilter");
	long long r[4];
	const char *bin;
	size_t len, gap_hex;

	if (qpdf_oh_is_name(q, sub))
		snprintf(s->subfilter, sizeof(s->subfilter), "%s",
		    qpdf_oh_get_name(q, sub));
	if (strcmp(s->subfilter, "/adbe.pkcs7.detached") != 0 &&
	    strcmp(s->subfilter, "/ETSI.CAdES.detached") != 0)
		return jpki_fail(JPKI_ERR_INPUT, "PDF: signature %s: SubFilter "
		    "%s; adbe.pkcs7.detached and ETSI.CAdES.detached are read",
		    s->field, s->subfilter[0] ? s->subfilter : "missing");
	if (!qpdf_oh_is_array(q, br) || qpdf_oh_get_array_n_items(q, br) != 4)
		return jpki_fail(JPKI_ERR_INPUT, "PDF: signature %s: ISO "
		    "32000-1 12.8.1: /ByteRange is not 4 integers", s->field);
	for (int i = 0; i < 4; i++) {
		qpdf_oh x = qpdf_oh_get_array_item(q, br, i);

		if (!qpdf_oh_is_integer(q, x) ||
		    (r[i] = qpdf_oh_get_int_value(q, x)) < 0 ||
		    (unsigned long long)r[i] > n)
			return jpki_fail(JPKI_ERR_INPUT, "PDF: signature %s: "
			    "/ByteRange value %d outside the file", s->field,
			    i);
	}
	/* 0, a, b, c: the gap [a, b) is "<hex>", b + c within the file. */
	if (r[0] != 0 || r[1] < 2 || r[2] <= r[1] + 1 ||
	    (unsigned long long)(r[2] + r[3]) > n || pdf[r[1]] != '<' ||
	    pdf[r[2] - 1] != '>')
		return jpki_fail(JPKI_ERR_INPUT, "PDF: signature %s: ISO "
		    "32000-1 12.8.1: /ByteRange [%lld %lld %lld %lld] does not "
		    "leave out just the /Contents string", s->field, r[0], r[1],
		    r[2], r[3]);
	gap_hex = (size_t)(r[2] - r[1] - 2);
	for (size_t i = 0; i < gap_hex; i++)
		if (!is_hex(pdf[r[1] + 1 + (long long)i]))
			return jpki_fail(JPKI_ERR_INPUT, "PDF: signature %s: "
			    "the /ByteRange gap is not the /Contents hex "
			    "string", s->field);
	if (!qpdf_oh_is_string(q, contents) ||
	    (bin = qpdf_oh_get_binary_string_value(q, contents, &len)) ==
	    NULL || len != gap_hex / 2)
		return jpki_fail(JPKI_ERR_INPUT, "PDF: signature %s: /Contents "
		    "is not the string the /ByteRange leaves out", s->field);
	if ((s->cms_len = cms_length((const uint8_t *)bin, len)) == 0)
		return jpki_fail(JPKI_ERR_INPUT, "PDF: signature %s: /Contents "
		    "holds no CMS", s->field);
	for (size_t i = s->cms_len; i < len; i++)
		if (bin[i] != 0)
			return jpki_fail(JPKI_ERR_INPUT, "PDF: signature %s: "
			    "bytes after the CMS in /Contents", s->field);
	if ((s->cms = malloc(s->cms_len)) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	memcpy(s->cms, bin, s->cms_len);
	for (int i = 0; i < 4; i++)
		s->range[i] = (size_t)r[i];
	s->covers_whole = (size_t)(r[2] + r[3]) == n;
	return JPKI_OK;
}

/* The signature fields of fields (and their kids), depth-first. */
static int
walk(qpdf_data q, qpdf_oh fields, const uint8_t *pdf, size_t n,
    struct rp_pdf_result *out, int depth, int *visited)
{
	int count = qpdf_oh_get_array_n_items(q, fields), r;

	if (depth > RP_PDF_FIELD_DEPTH_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "PDF: form fields nested more "
		    "than %d deep", RP_PDF_FIELD_DEPTH_MAX);
	for (int i = 0; i < count; i++) {
		qpdf_oh f = qpdf_oh_get_array_item(q, fields, i), v, t;
		struct rp_pdf_signature *s;

		if (++*visited > RP_PDF_FIELDS_MAX)
			return jpki_fail(JPKI_ERR_INPUT, "PDF: more than %d "
			    "form fields", RP_PDF_FIELDS_MAX);
		if (!qpdf_oh_is_dictionary(q, f))
			continue;
		if (qpdf_oh_has_key(q, f, "/Kids") && (r = walk(q,
		    qpdf_oh_get_key(q, f, "/Kids"), pdf, n, out, depth + 1,
		    visited)) != JPKI_OK)
			return r;
		t = qpdf_oh_get_key(q, f, "/FT");
		v = qpdf_oh_get_key(q, f, "/V");
		if (!qpdf_oh_is_name_and_equals(q, t, "/Sig") ||
		    !qpdf_oh_is_dictionary(q, v))
			continue;
		if (out->n == RP_PDF_SIGNATURES_MAX)
			return jpki_fail(JPKI_ERR_INPUT, "PDF: more than %d "
			    "signatures", RP_PDF_SIGNATURES_MAX);
		s = &out->sig[out->n++];
		if (qpdf_oh_has_key(q, f, "/T"))
			snprintf(s->field, sizeof(s->field), "%s",
			    qpdf_oh_get_utf8_value(q, qpdf_oh_get_key(q, f,
			    "/T")));
		if ((r = read_signature(q, v, pdf, n, s)) != JPKI_OK)
			return r;
	}
	return JPKI_OK;
}

int
rp_pdf_signatures(const uint8_t *pdf, size_t n, struct rp_pdf_result *out)
{
	qpdf_data q;
	qpdf_oh acro, fields;
	int visited = 0, r = JPKI_OK;

	memset(out, 0, sizeof(*out));
	if (n > RP_PDF_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "PDF: more than %u bytes",
		    RP_PDF_MAX);
	if ((q = qpdf_init()) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	qpdf_silence_errors(q);
	qpdf_set_suppress_warnings(q, QPDF_TRUE);
	if (qpdf_read_memory(q, "document.pdf", (const char *)pdf,
	    (unsigned long long)n, NULL) & QPDF_ERRORS) {
		r = jpki_fail(JPKI_ERR_INPUT, "PDF: %s", qpdf_get_error_full_text(
		    q, qpdf_get_error(q)));
		goto done;
	}
	acro = qpdf_oh_get_key(q, qpdf_get_root(q), "/AcroForm");
	fields = qpdf_oh_get_key(q, acro, "/Fields");
	if (qpdf_oh_is_array(q, fields))
		r = walk(q, fields, pdf, n, out, 0, &visited);
	if (r == JPKI_OK && qpdf_has_error(q))
		r = jpki_fail(JPKI_ERR_INPUT, "PDF: %s",
		    qpdf_get_error_full_text(q, qpdf_get_error(q)));
	if (r == JPKI_OK && out->n == 0)
		r = jpki_fail(JPKI_ERR_INPUT, "PDF: no signature field with a "
		    "signature");
done:
	if (r != JPKI_OK)
		rp_pdf_result_free(out);
	qpdf_cleanup(&q);
	return r;
}

int
rp_pades_verify(struct rp_verifier *v, const uint8_t *pdf, size_t n,
    int64_t at, struct rp_pdf_result *out)
{
	int r;

	if ((r = rp_pdf_signatures(pdf, n, out)) != JPKI_OK)
		return r;
	for (size_t i = 0; i < out->n; i++) {
		struct rp_pdf_signature *s = &out->sig[i];
		size_t a = s->range[1], c = s->range[3];
		uint8_t *signed_bytes = malloc(a + c + 1);

		if (signed_bytes == NULL) {
			r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
			break;
		}
		memcpy(signed_bytes, pdf, a);
		memcpy(signed_bytes + a, pdf + s->range[2], c);
		r = rp_cms_verify(v, s->cms, s->cms_len, signed_bytes, a + c, at,
		    &s->res);
		free(signed_bytes);
		free(s->cms);
		s->cms = NULL;
		if (r != JPKI_OK)
			break;
	}
	if (r != JPKI_OK)
		rp_pdf_result_free(out);
	return r;
}
