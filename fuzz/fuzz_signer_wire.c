/*
 * fuzz_signer_wire: both directions of the signer protocol on arbitrary
 * bytes (signer_wire.h): requests as `jpki signer` reads them from a
 * client, responses as a client reads them from a signer, and a
 * checkpoint line as `jpki audit verify` reads it from a file.  The first
 * byte picks which.  What a decoder accepts must lie inside the input,
 * within the named limits, and encode back to the same bytes.
 */
#include "ca/ca.h"
#include "ca/signer_wire.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
request(const uint8_t *p, size_t n)
{
	struct signer_request q;
	struct jbuf b;

	if (signer_request_decode(p, n, &q) != JPKI_OK)
		return;
	if (q.kind == SIGNER_SIGN && (q.len == 0 || q.len > CA_SIGN_INPUT_MAX ||
	    q.in < p || q.in + q.len > p + n))
		__builtin_trap();
	jbuf_init(&b);
	if (signer_request_encode(&q, &b) != JPKI_OK || b.len != n + 4 ||
	    memcmp(b.data + 4, p, n) != 0)
		__builtin_trap();
	jbuf_free(&b);
}

static void
response(const uint8_t *p, size_t n)
{
	struct signer_response a;
	struct jbuf b;

	if (signer_response_decode(p, n, &a) != JPKI_OK)
		return;
	if (a.status == JPKI_OK ? (a.len > SIGNER_DATA_MAX || (a.len > 0 &&
	    (a.data < p || a.data + a.len > p + n))) :
	    strlen(a.msg) > SIGNER_MSG_MAX || strchr(a.msg, '\n') != NULL)
		__builtin_trap();
	jbuf_init(&b);
	if (signer_response_encode(&a, &b) != JPKI_OK)
		__builtin_trap();
	/* A message with a newline or NUL is decoded to one line: the same
	 * length back, possibly different bytes. */
	if (b.len != n + 4 || (a.status == JPKI_OK && memcmp(b.data + 4, p, n)
	    != 0))
		__builtin_trap();
	jbuf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line;

	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		request(data + 1, size - 1);
		break;
	case 1:
		response(data + 1, size - 1);
		break;
	default:
		if ((line = malloc(size)) == NULL)
			return 0;
		memcpy(line, data + 1, size - 1);
		line[size - 1] = '\0';
		(void)ca_checkpoint_line_check(line);
		free(line);
	}
	return 0;
}
