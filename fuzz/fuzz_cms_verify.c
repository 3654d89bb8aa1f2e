/*
 * fuzz_cms_verify: the CMS verifier (rp_cms_verify) on arbitrary bytes.
 * The first byte chooses attached (even) or detached (odd: the bytes after
 * the next 2-byte length are the document).  No network (RP_OFFLINE), no
 * store, no anchor: whatever parses ends in a verdict other than valid,
 * with its reason said; what does not is bad input, never anything else.
 */
#include "rp/rp.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rp_verifier *v;
	const uint8_t *content = NULL;
	size_t content_len = 0, cms_len;
	struct rp_result res;
	int r;

	if (v == NULL && rp_verifier_new(NULL, RP_OFFLINE, &v) != JPKI_OK)
		__builtin_trap();
	if (size < 3)
		return 0;
	cms_len = size - 3;
	if (data[0] & 1) {
		size_t n = (size_t)data[1] << 8 | data[2];

		if (n > cms_len)
			n = cms_len;
		content = data + 3 + n;
		content_len = cms_len - n;
		cms_len = n;
	}
	r = rp_cms_verify(v, data + 3, cms_len, content, content_len,
	    1767225600, &res);
	if (r == JPKI_OK) {
		if (res.reason == RP_VALID || res.reason >= RP_REASON_N ||
		    res.why[0] == '\0')
			__builtin_trap();
	} else if (r != JPKI_ERR_INPUT && r != JPKI_ERR_CRYPTO &&
	    r != JPKI_ERR_NOMEM) {
		__builtin_trap();
	}
	rp_result_free(&res);
	return 0;
}
