/*
 * fuzz_pades: a PDF's signatures (rp_pdf_signatures: qpdf reads the PDF,
 * our code checks the /ByteRange and /Contents it finds) on arbitrary
 * bytes.  What is accepted has ranges inside the input that leave out
 * exactly its /Contents, and a CMS inside that.
 */
#include "rp/rp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_pdf_result p;

	if (rp_pdf_signatures(data, size, &p) != JPKI_OK)
		return 0;
	if (p.n == 0 || p.n > RP_PDF_SIGNATURES_MAX)
		__builtin_trap();
	for (size_t i = 0; i < p.n; i++) {
		const struct rp_pdf_signature *s = &p.sig[i];

		if (s->range[0] != 0 || s->range[1] >= s->range[2] ||
		    s->range[2] + s->range[3] > size || s->cms == NULL ||
		    s->cms_len == 0 ||
		    s->cms_len > (s->range[2] - s->range[1] - 2) / 2 ||
		    data[s->range[1]] != '<' || data[s->range[2] - 1] != '>')
			__builtin_trap();
	}
	rp_pdf_result_free(&p);
	return 0;
}
