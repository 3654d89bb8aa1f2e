/*
 * cardinfo_der.h: the tests' own reader of the card-info AP, independent
 * of cardinfo.c: raw APDUs (SELECT, VERIFY, READ BINARY of the lengths
 * jpki/myna asks for) and a strict DER reader over the bounded cursor that
 * accepts only myna's structures in myna's order, minimal lengths, and
 * nothing left over inside them.  Shared by tests/unit/card/test_cardinfo.c
 * and the counter's delivery test.
 */
#ifndef JPKI_CARDINFO_DER_H
#define JPKI_CARDINFO_DER_H

#include <string.h>

#include "card/card.h"

#define DER_UNUSED __attribute__((unused))

/* One APDU; data (may be NULL, room for APDU_RESP_MAX) and the SW. */
DER_UNUSED static uint16_t
der_apdu(struct card_transport *t, const uint8_t *cmd, size_t n,
    uint8_t *data, size_t *len)
{
	uint8_t resp[APDU_RESP_MAX];
	size_t rn = 0;

	if (t->transmit(t, cmd, n, resp, &rn) != 0 || rn < 2)
		return 0;
	if (data != NULL)
		memcpy(data, resp, rn - 2);
	if (len != NULL)
		*len = rn - 2;
	return (uint16_t)(resp[rn - 2] << 8 | resp[rn - 1]);
}

DER_UNUSED static uint16_t
der_select_ef(struct card_transport *t, uint16_t fid)
{
	uint8_t cmd[7] = {0x00, 0xA4, 0x02, 0x0C, 0x02, (uint8_t)(fid >> 8),
	    (uint8_t)fid};

	return der_apdu(t, cmd, sizeof(cmd), NULL, NULL);
}

DER_UNUSED static uint16_t
der_select_cardinfo(struct card_transport *t)
{
	uint8_t cmd[15] = {0x00, 0xA4, 0x04, 0x0C, 0x0A};

	memcpy(cmd + 5, card_aid_cardinfo, 10);
	return der_apdu(t, cmd, sizeof(cmd), NULL, NULL);
}

/* VERIFY of the PIN EF fid (selected first); pin NULL: no data. */
DER_UNUSED static uint16_t
der_verify(struct card_transport *t, uint16_t fid, const char *pin)
{
	uint8_t cmd[5 + CARD_PIN_MAX] = {0x00, 0x20, 0x00, 0x80};
	size_t n = pin != NULL ? strlen(pin) : 0;
	uint16_t sw;

	if ((sw = der_select_ef(t, fid)) != SW_OK)
		return sw;
	if (n > 0) {
		cmd[4] = (uint8_t)n;
		memcpy(cmd + 5, pin, n);
		return der_apdu(t, cmd, 5 + n, NULL, NULL);
	}
	return der_apdu(t, cmd, 4, NULL, NULL);
}

DER_UNUSED static uint16_t
der_read(struct card_transport *t, size_t off, size_t le, uint8_t *data,
    size_t *len)
{
	uint8_t cmd[5] = {0x00, 0xB0, (uint8_t)(off >> 8), (uint8_t)off,
	    (uint8_t)le};

	return der_apdu(t, cmd, sizeof(cmd), data, len);
}

/* READ BINARY of size bytes from offset 0 as myna's ReadBinary does:
 * chunks of Le 00 (256) while more than 255 are left, every answer 9000.
 * 0 on success with *len == size. */
DER_UNUSED static int
der_read_like_myna(struct card_transport *t, size_t size, uint8_t *buf,
    size_t *len)
{
	size_t pos = 0, n;

	while (pos < size) {
		size_t le = size - pos > 0xFF ? 0 : size - pos;

		if (der_read(t, pos, le, buf + pos, &n) != SW_OK || n == 0 ||
		    n > size - pos)
			return -1;
		pos += n;
	}
	*len = pos;
	return 0;
}

/* The whole length of the TLV that starts buf (at least 7 bytes), as
 * myna's ASN1PartialParser reads it: a one- or two-byte tag, then a short
 * or 81/82 length.  0 on success. */
DER_UNUSED static int
der_total_len(const uint8_t *buf, size_t n, size_t *total)
{
	size_t off = (buf[0] & 0x1F) == 0x1F ? 2 : 1;

	if (n < 7)
		return -1;
	if (buf[off] < 0x80)
		*total = off + 1 + buf[off];
	else if (buf[off] == 0x81)
		*total = off + 2 + buf[off + 1];
	else if (buf[off] == 0x82)
		*total = off + 3 + ((size_t)buf[off + 1] << 8 | buf[off + 2]);
	else
		return -1;
	return 0;
}

/* One DER element with exactly the tag want (one or two bytes), a minimal
 * length, inside c.  0 on success. */
DER_UNUSED static int
der_take(struct cursor *c, unsigned want, struct cursor *v)
{
	uint8_t b, hi = (uint8_t)(want >> 8), lo = (uint8_t)want;
	uint16_t l2;
	size_t len;

	if (hi != 0 && (cursor_get_u8(c, &b) || b != hi))
		return -1;
	if (cursor_get_u8(c, &b) || b != lo || cursor_get_u8(c, &b))
		return -1;
	if (b < 0x80) {
		len = b;
	} else if (b == 0x81) {
		if (cursor_get_u8(c, &b) || b < 0x80)
			return -1;
		len = b;
	} else if (b == 0x82) {
		if (cursor_get_u16be(c, &l2) || l2 < 0x100)
			return -1;
		len = l2;
	} else {
		return -1;
	}
	return cursor_sub(c, v, len) ? -1 : 0;
}

/* The value of one element as a string (at most cap - 1 bytes). */
DER_UNUSED static int
der_take_str(struct cursor *c, unsigned want, char *dst, size_t cap)
{
	struct cursor v;

	if (der_take(c, want, &v) || cursor_left(&v) >= cap)
		return -1;
	memcpy(dst, v.p, cursor_left(&v));
	dst[cursor_left(&v)] = '\0';
	return 0;
}

/* Read EF 0001 and EF 0002 of the card-info AP (selected, PIN verified)
 * as myna does: 17 bytes of EF 0001; 7 bytes of EF 0002, then the whole
 * TLV.  Parse strictly into info.  0 on success. */
DER_UNUSED static int
der_read_cardinfo(struct card_transport *t, struct card_info *info)
{
	uint8_t buf[CARD_EF_MAX];
	struct cursor c, facts, v;
	size_t n, got, total;

	memset(info, 0, sizeof(*info));
	if (der_select_ef(t, CARD_EF_INFO_NUMBER) != SW_OK ||
	    der_read(t, 0, 17, buf, &n) != SW_OK || n != 17)
		return -1;
	cursor_init(&c, buf, n);
	if (der_take_str(&c, 0xFF10, info->number, sizeof(info->number)) ||
	    strlen(info->number) != 12)
		return -1;
	if (der_select_ef(t, CARD_EF_INFO_FACTS) != SW_OK ||
	    der_read(t, 0, 7, buf, &n) != SW_OK || n != 7)
		return -1;
	/* FF 20 then a length of one, two or three bytes. */
	if (buf[0] != 0xFF || buf[1] != 0x20)
		return -1;
	if (buf[2] < 0x80)
		total = 3 + (size_t)buf[2];
	else if (buf[2] == 0x81)
		total = 4 + (size_t)buf[3];
	else if (buf[2] == 0x82)
		total = 5 + ((size_t)buf[3] << 8 | buf[4]);
	else
		return -1;
	if (total > sizeof(buf))
		return -1;
	for (got = 7; got < total; got += n) {
		size_t want = total - got < 255 ? total - got : 255;

		if (der_read(t, got, want, buf + got, &n) != SW_OK || n != want)
			return -1;
	}
	cursor_init(&c, buf, total);
	if (der_take(&c, 0xFF20, &facts) || cursor_left(&c) != 0 ||
	    der_take(&facts, 0xDF21, &v) || cursor_left(&v) != 8)
		return -1;
	/* the header: where each fact's element starts in the EF */
	for (int i = 0; i < 4; i++) {
		size_t off = (size_t)v.p[2 * i] << 8 | v.p[2 * i + 1];

		if (off + 1 >= total || buf[off] != 0xDF ||
		    buf[off + 1] != 0x22 + i)
			return -1;
	}
	if (der_take_str(&facts, 0xDF22, info->name, sizeof(info->name)) ||
	    der_take_str(&facts, 0xDF23, info->address,
	    sizeof(info->address)) ||
	    der_take_str(&facts, 0xDF24, info->birth, sizeof(info->birth)) ||
	    der_take_str(&facts, 0xDF25, info->sex, sizeof(info->sex)) ||
	    cursor_left(&facts) != 0)
		return -1;
	return 0;
}

#endif
