/*
 * apdu.c: decoding ISO 7816-4 short command APDUs (the only kind a My Number
 * card's JPKI-AP takes) and building response APDUs, including the 61xx /
 * GET RESPONSE chaining of answers longer than Le.
 */
#include "card/apdu.h"

#include <string.h>

int
card_apdu_parse(const uint8_t *cmd, size_t n, struct apdu *a)
{
	struct cursor c;
	uint8_t b;

	memset(a, 0, sizeof(*a));
	if (n < 4 || n > APDU_MAX)
		return SW_WRONG_LENGTH;
	cursor_init(&c, cmd, n);
	cursor_get_u8(&c, &a->cla);
	cursor_get_u8(&c, &a->ins);
	cursor_get_u8(&c, &a->p1);
	cursor_get_u8(&c, &a->p2);
	if (cursor_left(&c) == 0)
		return SW_OK; /* case 1 */
	cursor_get_u8(&c, &b);
	if (cursor_left(&c) == 0) {
		/* case 2: Le = 00 means 256 */
		a->has_le = 1;
		a->le = b == 0 ? 256 : b;
		return SW_OK;
	}
	/* Lc = 00 followed by more bytes would be an extended APDU, which the
	 * card does not take. */
	if (b == 0 || cursor_take(&c, &a->data, b) != JPKI_OK)
		return SW_WRONG_LENGTH;
	a->lc = b;
	if (cursor_left(&c) == 0)
		return SW_OK; /* case 3 */
	if (cursor_get_u8(&c, &b) != JPKI_OK || cursor_left(&c) != 0)
		return SW_WRONG_LENGTH;
	a->has_le = 1; /* case 4 */
	a->le = b == 0 ? 256 : b;
	return SW_OK;
}

void
card_apdu_resp_sw(struct apdu_resp *r, uint16_t sw)
{
	r->sw = sw;
}

int
card_apdu_resp_put(struct apdu_resp *r, const void *p, size_t n)
{
	if (n > APDU_RESP_MAX - 2 - r->len)
		return -1;
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	return 0;
}

void
card_apdu_resp_finish(struct apdu_resp *r)
{
	r->buf[r->len++] = (uint8_t)(r->sw >> 8);
	r->buf[r->len++] = (uint8_t)r->sw;
}
