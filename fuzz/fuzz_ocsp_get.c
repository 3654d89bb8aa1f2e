/*
 * fuzz_ocsp_get: the decoder of the GET form of OCSP requests (the tail of
 * /ocsp/<type>/..., percent-encoded base64) on arbitrary text.  It must
 * stay inside its buffers, and what it accepts must be non-empty, within
 * its cap, and three bytes for every four base64 digits at most.
 */
#include "server/server.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[SERVER_URL_MAX + 2];
	static uint8_t out[256];
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1, len = 99;

	memcpy(text, data, n);
	text[n] = '\0';
	if (server_ocsp_get_decode(text, out, sizeof(out), &len) == JPKI_OK) {
		if (len == 0 || len > sizeof(out) || len > strlen(text))
			__builtin_trap();
	} else if (len > sizeof(out)) {
		__builtin_trap();
	}
	return 0;
}
