/*
 * fuzz_rp_http_answer: the relying-party client's HTTP answer parser
 * (rp_http_answer_parse) on arbitrary bytes.  What it accepts has a
 * status from 100 to 599 and a body that is the tail of the input, within the
 * bound it was given.
 */
#include "rp/rp.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_http_answer a;

	memset(&a, 0, sizeof(a));
	jbuf_init(&a.body);
	if (rp_http_answer_parse(data, size, 4096, &a) == JPKI_OK) {
		if (a.status < 100 || a.status > 599 || a.body.len > 4096 || a.body.len > size ||
		    (a.body.len > 0 && memcmp(a.body.data,
		    data + size - a.body.len, a.body.len) != 0))
			__builtin_trap();
	}
	rp_http_answer_free(&a);
	return 0;
}
