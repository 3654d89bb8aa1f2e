/*
 * jbuf.c: a growable byte buffer for building outputs (DER, APDU
 * responses, JSON).  Freed buffers are wiped, since some held secrets.
 */
#include "base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
jbuf_init(struct jbuf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

int
jbuf_reserve(struct jbuf *b, size_t extra)
{
	size_t want, cap;
	uint8_t *p;

	if (extra > SIZE_MAX / 2 - b->len)
		return jpki_fail(JPKI_ERR_NOMEM, "buffer too large");
	want = b->len + extra;
	if (want <= b->cap)
		return JPKI_OK;
	cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap *= 2;
	/* Not realloc: the old block may hold a secret and must be wiped. */
	if ((p = malloc(cap)) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	if (b->len > 0)
		memcpy(p, b->data, b->len);
	if (b->data != NULL) {
		jpki_wipe(b->data, b->cap);
		free(b->data);
	}
	b->data = p;
	b->cap = cap;
	return JPKI_OK;
}

int
jbuf_put(struct jbuf *b, const void *p, size_t n)
{
	int r;

	if (n == 0)
		return JPKI_OK;
	if ((r = jbuf_reserve(b, n)) != JPKI_OK)
		return r;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return JPKI_OK;
}

int
jbuf_put_u8(struct jbuf *b, uint8_t v)
{
	return jbuf_put(b, &v, 1);
}

int
jbuf_put_u16be(struct jbuf *b, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	return jbuf_put(b, x, sizeof(x));
}

int
jbuf_put_u32be(struct jbuf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v};

	return jbuf_put(b, x, sizeof(x));
}

int
jbuf_put_u64be(struct jbuf *b, uint64_t v)
{
	int r;

	if ((r = jbuf_put_u32be(b, (uint32_t)(v >> 32))) != JPKI_OK)
		return r;
	return jbuf_put_u32be(b, (uint32_t)v);
}

int
jbuf_printf(struct jbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return jpki_fail(JPKI_ERR_INTERNAL, "bad format");
	/* One extra byte for vsnprintf's NUL, which is not counted in len. */
	if ((r = jbuf_reserve(b, (size_t)n + 1)) != JPKI_OK)
		return r;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return JPKI_OK;
}

void
jbuf_free(struct jbuf *b)
{
	if (b->data != NULL) {
		jpki_wipe(b->data, b->cap);
		free(b->data);
	}
	jbuf_init(b);
}
