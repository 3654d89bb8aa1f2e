/*
 * pades_sign.c: a PDF signed inside (PAdES baseline B, ETSI EN 319 142-1;
 * ISO 32000-1 12.8): qpdf adds the signature field (an invisible widget on
 * the first page, in the AcroForm with SigFlags 3) and its signature
 * dictionary (/SubFilter /ETSI.CAdES.detached) with placeholders for
 * /ByteRange and /Contents, and writes the PDF (no object streams, so the
 * dictionary is plain in the file).  The placeholders are then found in
 * the bytes qpdf wrote (ours, not a document from outside), the ranges
 * filled in, and the CAdES-BES CMS (cms_sign.c, detached) over the bytes
 * they name written into /Contents as hex.
 */
#include "rp/rp_int.h"

#include <qpdf/qpdf-c.h>
#include <stdio.h>
#include <string.h>

/* Bytes kept for the CMS in /Contents (two certificates and a 2048-bit
 * signature take about 4 KiB). */
#define PADES_CONTENTS_MAX 16384
/* The /ByteRange placeholder: wide enough for any offset of a PDF we
 * sign (RP_PDF_MAX). */
#define PADES_RANGE_PLACEHOLDER 1000000000LL

/* The first "[ ... ]" after "/ByteRange" at or after from. */
static int
find_byterange(const uint8_t *p, size_t n, size_t *open, size_t *close)
{
	const uint8_t *k = memmem(p, n, "/ByteRange", 10);
	size_t i;

	if (k == NULL)
		return 0;
	for (i = (size_t)(k - p) + 10; i < n && p[i] != '['; i++)
		if (p[i] != ' ' && p[i] != '\n' && p[i] != '\r')
			return 0;
	if (i == n)
		return 0;
	*open = i;
	for (; i < n && p[i] != ']'; i++)
		;
	if (i == n)
		return 0;
	*close = i;
	return 1;
}

int
rp_pades_sign(const uint8_t *pdf, size_t n, const struct rp_sign_params *sp,
    const char *reason, struct jbuf *out)
{
	qpdf_data q = NULL;
	qpdf_oh root, page, acro, fields, annots, sig, field, range, zeros_oh;
	char *zeros = NULL, when[40], *hex_needle = NULL;
	struct rp_sign_params cms_params = *sp;
	struct jbuf signed_bytes, cms;
	size_t len, open, close, lt, gt;
	const uint8_t *w, *hit;
	uint8_t *buf;
	int r = JPKI_OK;
	struct tm tm;
	time_t t = (time_t)sp->signing_time;

	jbuf_init(&signed_bytes);
	jbuf_init(&cms);
	if (n > RP_PDF_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "PDF: more than %u bytes",
		    RP_PDF_MAX);
	if ((q = qpdf_init()) == NULL ||
	    (zeros = calloc(1, PADES_CONTENTS_MAX)) == NULL ||
	    (hex_needle = malloc(2 * 64 + 2)) == NULL) {
		r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		goto done;
	}
	qpdf_silence_errors(q);
	qpdf_set_suppress_warnings(q, QPDF_TRUE);
	if (qpdf_read_memory(q, "document.pdf", (const char *)pdf,
	    (unsigned long long)n, NULL) & QPDF_ERRORS) {
		r = jpki_fail(JPKI_ERR_INPUT, "PDF: %s",
		    qpdf_get_error_full_text(q, qpdf_get_error(q)));
		goto done;
	}
	root = qpdf_get_root(q);
	page = qpdf_get_page_n(q, 0);
	if (!qpdf_oh_is_dictionary(q, page)) {
		r = jpki_fail(JPKI_ERR_INPUT, "PDF: no page to put the "
		    "signature field on");
		goto done;
	}
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "D:%Y%m%d%H%M%SZ", &tm);

	/* The signature dictionary, its ranges and contents placeholders. */
	sig = qpdf_oh_new_dictionary(q);
	qpdf_oh_replace_key(q, sig, "/Type", qpdf_oh_new_name(q, "/Sig"));
	qpdf_oh_replace_key(q, sig, "/Filter",
	    qpdf_oh_new_name(q, "/Adobe.PPKLite"));
	qpdf_oh_replace_key(q, sig, "/SubFilter",
	    qpdf_oh_new_name(q, "/ETSI.CAdES.detached"));
	range = qpdf_oh_new_array(q);
	qpdf_oh_append_item(q, range, qpdf_oh_new_integer(q, 0));
	for (int i = 0; i < 3; i++)
		qpdf_oh_append_item(q, range, qpdf_oh_new_integer(q,
		    PADES_RANGE_PLACEHOLDER));
	qpdf_oh_replace_key(q, sig, "/ByteRange", range);
	zeros_oh = qpdf_oh_new_binary_string(q, zeros, PADES_CONTENTS_MAX);
	qpdf_oh_replace_key(q, sig, "/Contents", zeros_oh);
	qpdf_oh_replace_key(q, sig, "/M", qpdf_oh_new_string(q, when));
	if (reason != NULL)
		qpdf_oh_replace_key(q, sig, "/Reason",
		    qpdf_oh_new_unicode_string(q, reason));
	sig = qpdf_make_indirect_object(q, sig);

	/* The field, an invisible widget on the first page. */
	field = qpdf_oh_new_dictionary(q);
	qpdf_oh_replace_key(q, field, "/FT", qpdf_oh_new_name(q, "/Sig"));
	qpdf_oh_replace_key(q, field, "/T", qpdf_oh_new_unicode_string(q,
	    "Signature1"));
	qpdf_oh_replace_key(q, field, "/V", sig);
	qpdf_oh_replace_key(q, field, "/Type", qpdf_oh_new_name(q, "/Annot"));
	qpdf_oh_replace_key(q, field, "/Subtype",
	    qpdf_oh_new_name(q, "/Widget"));
	range = qpdf_oh_new_array(q);
	for (int i = 0; i < 4; i++)
		qpdf_oh_append_item(q, range, qpdf_oh_new_integer(q, 0));
	qpdf_oh_replace_key(q, field, "/Rect", range);
	qpdf_oh_replace_key(q, field, "/F", qpdf_oh_new_integer(q, 132));
	qpdf_oh_replace_key(q, field, "/P", page);
	field = qpdf_make_indirect_object(q, field);
	annots = qpdf_oh_get_key(q, page, "/Annots");
	if (!qpdf_oh_is_array(q, annots)) {
		annots = qpdf_oh_new_array(q);
		qpdf_oh_replace_key(q, page, "/Annots", annots);
	}
	qpdf_oh_append_item(q, annots, field);
	acro = qpdf_oh_get_key(q, root, "/AcroForm");
	if (!qpdf_oh_is_dictionary(q, acro)) {
		acro = qpdf_oh_new_dictionary(q);
		qpdf_oh_replace_key(q, root, "/AcroForm", acro);
	}
	fields = qpdf_oh_get_key(q, acro, "/Fields");
	if (!qpdf_oh_is_array(q, fields)) {
		fields = qpdf_oh_new_array(q);
		qpdf_oh_replace_key(q, acro, "/Fields", fields);
	}
	qpdf_oh_append_item(q, fields, field);
	qpdf_oh_replace_key(q, acro, "/SigFlags", qpdf_oh_new_integer(q, 3));

	if (qpdf_init_write_memory(q) & QPDF_ERRORS) {
		r = jpki_fail(JPKI_ERR_INPUT, "PDF: %s",
		    qpdf_get_error_full_text(q, qpdf_get_error(q)));
		goto done;
	}
	qpdf_set_object_stream_mode(q, qpdf_o_disable);
	if ((qpdf_write(q) & QPDF_ERRORS) || qpdf_has_error(q)) {
		r = jpki_fail(JPKI_ERR_INPUT, "PDF: %s",
		    qpdf_get_error_full_text(q, qpdf_get_error(q)));
		goto done;
	}
	w = qpdf_get_buffer(q);
	len = qpdf_get_buffer_length(q);
	if ((r = jbuf_put(out, w, len)) != JPKI_OK)
		goto done;
	buf = out->data;

	/* The placeholders in what qpdf wrote: /Contents as hex zeros. */
	memset(hex_needle, '0', 2 * 64 + 1);
	hex_needle[0] = '<';
	hit = memmem(buf, len, hex_needle, 2 * 64 + 1);
	if (hit == NULL || !find_byterange(buf, len, &open, &close)) {
		r = jpki_fail(JPKI_ERR_INTERNAL, "PDF: the signature "
		    "placeholders are not in what qpdf wrote");
		goto done;
	}
	lt = (size_t)(hit - buf);
	gt = lt + 1 + 2 * PADES_CONTENTS_MAX;
	if (gt >= len || buf[gt] != '>') {
		r = jpki_fail(JPKI_ERR_INTERNAL, "PDF: /Contents is not where "
		    "it was put");
		goto done;
	}
	{
		char ranges[128];
		int m = snprintf(ranges, sizeof(ranges), "0 %zu %zu %zu", lt,
		    gt + 1, len - gt - 1);

		if (m < 0 || (size_t)m > close - open - 1) {
			r = jpki_fail(JPKI_ERR_INTERNAL, "PDF: /ByteRange does "
			    "not fit its placeholder");
			goto done;
		}
		memset(buf + open + 1, ' ', close - open - 1);
		memcpy(buf + open + 1, ranges, (size_t)m);
	}
	/* The CMS over both ranges, detached, into the gap as hex. */
	if ((r = jbuf_put(&signed_bytes, buf, lt)) != JPKI_OK ||
	    (r = jbuf_put(&signed_bytes, buf + gt + 1, len - gt - 1)) !=
	    JPKI_OK)
		goto done;
	cms_params.content = signed_bytes.data;
	cms_params.content_len = signed_bytes.len;
	cms_params.detached = 1;
	if ((r = rp_cms_sign(&cms_params, &cms)) != JPKI_OK)
		goto done;
	if (cms.len > PADES_CONTENTS_MAX) {
		r = jpki_fail(JPKI_ERR_INTERNAL, "PDF: a CMS of %zu bytes does "
		    "not fit /Contents (%d)", cms.len, PADES_CONTENTS_MAX);
		goto done;
	}
	buf = out->data;
	for (size_t i = 0; i < cms.len; i++) {
		static const char hexd[] = "0123456789abcdef";

		buf[lt + 1 + 2 * i] = (uint8_t)hexd[cms.data[i] >> 4];
		buf[lt + 2 + 2 * i] = (uint8_t)hexd[cms.data[i] & 15];
	}
done:
	if (r != JPKI_OK)
		out->len = 0;
	free(zeros);
	free(hex_needle);
	jbuf_free(&signed_bytes);
	jbuf_free(&cms);
	qpdf_cleanup(&q);
	return r;
}
