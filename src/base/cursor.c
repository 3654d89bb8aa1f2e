/*
 * cursor.c: the bounded cursor over untrusted bytes.  Length checks compare
 * against what is left, never add to a pointer first, so they cannot wrap.
 */
#include "base.h"

#include <string.h>

void
cursor_init(struct cursor *c, const void *p, size_t len)
{
	c->p = p;
	c->len = p == NULL ? 0 : len;
}

size_t
cursor_left(const struct cursor *c)
{
	return c->len;
}

int
cursor_take(struct cursor *c, const uint8_t **p, size_t n)
{
	if (n > c->len)
		return JPKI_ERR_INPUT;
	*p = c->p;
	c->p += n;
	c->len -= n;
	return JPKI_OK;
}

int
cursor_skip(struct cursor *c, size_t n)
{
	const uint8_t *p;

	return cursor_take(c, &p, n);
}

int
cursor_get_bytes(struct cursor *c, void *out, size_t n)
{
	const uint8_t *p;

	if (cursor_take(c, &p, n) != JPKI_OK)
		return JPKI_ERR_INPUT;
	if (n > 0)
		memcpy(out, p, n);
	return JPKI_OK;
}

int
cursor_sub(struct cursor *c, struct cursor *sub, size_t n)
{
	const uint8_t *p;

	if (cursor_take(c, &p, n) != JPKI_OK)
		return JPKI_ERR_INPUT;
	sub->p = p;
	sub->len = n;
	return JPKI_OK;
}

int
cursor_get_u8(struct cursor *c, uint8_t *v)
{
	return cursor_get_bytes(c, v, 1);
}

static int
get_be(struct cursor *c, uint64_t *v, size_t n)
{
	const uint8_t *p;
	uint64_t x = 0;

	if (cursor_take(c, &p, n) != JPKI_OK)
		return JPKI_ERR_INPUT;
	for (size_t i = 0; i < n; i++)
		x = (x << 8) | p[i];
	*v = x;
	return JPKI_OK;
}

int
cursor_get_u16be(struct cursor *c, uint16_t *v)
{
	uint64_t x;

	if (get_be(c, &x, 2) != JPKI_OK)
		return JPKI_ERR_INPUT;
	*v = (uint16_t)x;
	return JPKI_OK;
}

int
cursor_get_u32be(struct cursor *c, uint32_t *v)
{
	uint64_t x;

	if (get_be(c, &x, 4) != JPKI_OK)
		return JPKI_ERR_INPUT;
	*v = (uint32_t)x;
	return JPKI_OK;
}

int
cursor_get_u64be(struct cursor *c, uint64_t *v)
{
	return get_be(c, v, 8);
}
