/*
 * cardinfo.c: the content of the card-info AP's files (券面事項入力補助AP)
 * in the encodings real clients parse (docs/card.md;
 * the structures jpki/myna declares), written by the counter through the
 * card client and read back by the host.  Both directions live here so
 * the layout is written down once.
 *
 *   EF 0001  FF 10 0C <12 ASCII digits> FF FF          (17 bytes)
 *   EF 0002  FF 20 L { DF 21 offsets of the four facts, DF 22 name,
 *                      DF 23 address, DF 24 birth YYYYMMDD,
 *                      DF 25 sex (ISO 5218) }
 *
 * Tags are PRIVATE class in the two-byte form (FF = constructed, DF =
 * primitive; second byte the tag number), as real cards hold them; myna
 * reads them with a BER reader that accepts that form for numbers below
 * 31.  The parsers take BER lengths (short, 81, 82), read through the
 * bounded cursor and refuse anything that does not fit the named limits.
 *
 * What it does not do: talk to a card (client.c), or check the facts
 * against a register (the counter) or a signature (EF 0003, not yet).
 */
#include "card/card_int.h"

#include <stdio.h>
#include <string.h>

#define INFO_TAG_NUMBER 0xFF10
#define INFO_TAG_FACTS 0xFF20
#define INFO_TAG_HEADER 0xDF21
#define INFO_TAG_NAME 0xDF22
#define INFO_TAG_ADDRESS 0xDF23
#define INFO_TAG_BIRTH 0xDF24
#define INFO_TAG_SEX 0xDF25

/* Padding after the number's TLV up to CARD_INFO_NUMBER_EF_LEN. */
#define INFO_NUMBER_PAD 0xFF
/* The DF 21 header: AokiApp's mynacard schema calls it "offsets".  Ours
 * holds, for each of the four facts, the 2-byte big-endian offset of its
 * element from the start of the EF (docs/card.md: our reading, not
 * confirmed against a real card). */
#define INFO_FACT_COUNT 4
#define INFO_HEADER_LEN (2 * INFO_FACT_COUNT)

int
card_tlv_next(struct cursor *c, unsigned *tag, struct cursor *value)
{
	uint8_t b, l1;
	uint16_t l2;
	size_t len;

	if (cursor_get_u8(c, &b))
		return JPKI_ERR_INPUT;
	*tag = b;
	if ((b & 0x1F) == 0x1F) {
		/* Two-byte tags only: a number below 128. */
		if (cursor_get_u8(c, &b) || (b & 0x80))
			return JPKI_ERR_INPUT;
		*tag = *tag << 8 | b;
	}
	if (cursor_get_u8(c, &b))
		return JPKI_ERR_INPUT;
	if (b < 0x80) {
		len = b;
	} else if (b == 0x81) {
		if (cursor_get_u8(c, &l1))
			return JPKI_ERR_INPUT;
		len = l1;
	} else if (b == 0x82) {
		if (cursor_get_u16be(c, &l2))
			return JPKI_ERR_INPUT;
		len = l2;
	} else {
		return JPKI_ERR_INPUT;
	}
	return cursor_sub(c, value, len);
}

int
card_tlv_header_len(const uint8_t *p, size_t n, size_t *total)
{
	struct cursor c;
	uint8_t b, l1;
	uint16_t l2;
	size_t len;

	cursor_init(&c, p, n);
	if (cursor_get_u8(&c, &b))
		return JPKI_ERR_INPUT;
	if ((b & 0x1F) == 0x1F && (cursor_get_u8(&c, &b) || (b & 0x80)))
		return JPKI_ERR_INPUT;
	if (cursor_get_u8(&c, &b))
		return JPKI_ERR_INPUT;
	if (b < 0x80)
		len = b;
	else if (b == 0x81 && cursor_get_u8(&c, &l1) == JPKI_OK)
		len = l1;
	else if (b == 0x82 && cursor_get_u16be(&c, &l2) == JPKI_OK)
		len = l2;
	else
		return JPKI_ERR_INPUT;
	*total = (n - cursor_left(&c)) + len;
	return JPKI_OK;
}

int
card_tlv_put(struct jbuf *b, unsigned tag, const void *p, size_t n)
{
	int r = 0;

	if (n > 0xFFFF)
		return jpki_fail(JPKI_ERR_INPUT, "a TLV of %zu bytes is too "
		    "long for a card EF", n);
	if (tag > 0xFF)
		r |= jbuf_put_u8(b, (uint8_t)(tag >> 8));
	r |= jbuf_put_u8(b, (uint8_t)tag);
	if (n < 0x80) {
		r |= jbuf_put_u8(b, (uint8_t)n);
	} else if (n <= 0xFF) {
		r |= jbuf_put_u8(b, 0x81);
		r |= jbuf_put_u8(b, (uint8_t)n);
	} else {
		r |= jbuf_put_u8(b, 0x82);
		r |= jbuf_put_u16be(b, (uint16_t)n);
	}
	r |= jbuf_put(b, p, n);
	return r ? jpki_fail(JPKI_ERR_NOMEM, "out of memory") : JPKI_OK;
}

char
card_info_sex_of(enum gender g)
{
	/* ISO 5218: 1 male, 2 female, 9 not applicable.  The register's
	 * "unknown" is written as 9, the code myna and real cards know for
	 * a holder who is neither (docs/card.md). */
	switch (g) {
	case GENDER_MALE:
		return '1';
	case GENDER_FEMALE:
		return '2';
	default:
		return '9';
	}
}

static int
digits(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789") == n;
}

static int
check_info(const struct card_info *info)
{
	if (!digits(info->number, CARD_NUMBER_LEN))
		return jpki_fail(JPKI_ERR_INPUT,
		    "individual number must be 12 digits");
	if (!utf8_valid_line(info->name, strlen(info->name)) ||
	    !utf8_valid_line(info->address, strlen(info->address)) ||
	    !digits(info->birth, 8) || strlen(info->sex) != 1 ||
	    strchr("0129", info->sex[0]) == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "card-info facts: name and "
		    "address one line of UTF-8, birth YYYYMMDD, sex an ISO "
		    "5218 digit (0, 1, 2, 9)");
	return JPKI_OK;
}

int
card_info_encode_number(const struct card_info *info, struct jbuf *out)
{
	int r;

	if ((r = check_info(info)) != JPKI_OK ||
	    (r = card_tlv_put(out, INFO_TAG_NUMBER, info->number,
	    CARD_NUMBER_LEN)) != JPKI_OK)
		return r;
	while (out->len < CARD_INFO_NUMBER_EF_LEN)
		if (jbuf_put_u8(out, INFO_NUMBER_PAD))
			return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	return JPKI_OK;
}

int
card_info_encode_facts(const struct card_info *info, struct jbuf *out)
{
	const char *value[INFO_FACT_COUNT] = {info->name, info->address,
	    info->birth, info->sex};
	static const unsigned tag[INFO_FACT_COUNT] = {INFO_TAG_NAME,
	    INFO_TAG_ADDRESS, INFO_TAG_BIRTH, INFO_TAG_SEX};
	uint8_t header[INFO_HEADER_LEN];
	size_t at[INFO_FACT_COUNT], inner_len, outer_hdr;
	struct jbuf facts, inner;
	int r;

	if ((r = check_info(info)) != JPKI_OK)
		return r;
	jbuf_init(&facts);
	jbuf_init(&inner);
	for (int i = 0; i < INFO_FACT_COUNT; i++) {
		at[i] = facts.len;
		if ((r = card_tlv_put(&facts, tag[i], value[i],
		    strlen(value[i]))) != JPKI_OK)
			goto fail;
	}
	/* The header's own TLV is 2 + 1 + INFO_HEADER_LEN bytes. */
	inner_len = 3 + INFO_HEADER_LEN + facts.len;
	outer_hdr = 2 + (inner_len < 0x80 ? 1 : inner_len <= 0xFF ? 2 : 3);
	if (outer_hdr + inner_len > CARD_EF_MAX) {
		r = jpki_fail(JPKI_ERR_INPUT, "card-info facts do not fit in "
		    "an EF of %d bytes", CARD_EF_MAX);
		goto fail;
	}
	for (int i = 0; i < INFO_FACT_COUNT; i++) {
		size_t off = outer_hdr + 3 + INFO_HEADER_LEN + at[i];

		header[2 * i] = (uint8_t)(off >> 8);
		header[2 * i + 1] = (uint8_t)off;
	}
	if ((r = card_tlv_put(&inner, INFO_TAG_HEADER, header,
	    sizeof(header))) != JPKI_OK ||
	    (r = jbuf_put(&inner, facts.data, facts.len) ? jpki_fail(
	    JPKI_ERR_NOMEM, "out of memory") : JPKI_OK) != JPKI_OK)
		goto fail;
	r = card_tlv_put(out, INFO_TAG_FACTS, inner.data, inner.len);
fail:
	jbuf_free(&facts);
	jbuf_free(&inner);
	return r;
}

/* One element of the facts: the expected tag, its value copied as a
 * NUL-terminated string of at most cap - 1 bytes. */
static int
take_fact(struct cursor *c, unsigned want, char *dst, size_t cap)
{
	struct cursor v;
	unsigned tag;
	size_t n;

	if (card_tlv_next(c, &tag, &v) || tag != want)
		return JPKI_ERR_INPUT;
	n = cursor_left(&v);
	if (n >= cap || !utf8_valid_line((const char *)v.p, n))
		return JPKI_ERR_INPUT;
	memcpy(dst, v.p, n);
	dst[n] = '\0';
	return JPKI_OK;
}

int
card_info_parse_number(const uint8_t *p, size_t n, struct card_info *info)
{
	struct cursor c;

	/* Whatever follows the TLV is the EF's padding. */
	cursor_init(&c, p, n);
	if (n > CARD_EF_MAX ||
	    take_fact(&c, INFO_TAG_NUMBER, info->number,
	    sizeof(info->number)) || !digits(info->number, CARD_NUMBER_LEN)) {
		info->number[0] = '\0';
		return jpki_fail(JPKI_ERR_INPUT, "card-info EF 0001 is not "
		    "FF 10 0C and 12 digits");
	}
	return JPKI_OK;
}

int
card_info_parse_facts(const uint8_t *p, size_t n, struct card_info *info)
{
	struct cursor c, facts;
	struct cursor header;
	unsigned tag;

	/* myna's TextAttrs, in its order; elements after the sex (a later
	 * card's additions) and bytes after the outer TLV are ignored. */
	cursor_init(&c, p, n);
	if (n > CARD_EF_MAX ||
	    card_tlv_next(&c, &tag, &facts) || tag != INFO_TAG_FACTS ||
	    card_tlv_next(&facts, &tag, &header) || tag != INFO_TAG_HEADER ||
	    cursor_left(&header) > CARD_INFO_HEADER_MAX ||
	    take_fact(&facts, INFO_TAG_NAME, info->name, sizeof(info->name)) ||
	    take_fact(&facts, INFO_TAG_ADDRESS, info->address,
	    sizeof(info->address)) ||
	    take_fact(&facts, INFO_TAG_BIRTH, info->birth,
	    sizeof(info->birth)) || !digits(info->birth, 8) ||
	    take_fact(&facts, INFO_TAG_SEX, info->sex, sizeof(info->sex)) ||
	    strlen(info->sex) != 1 || strchr("0129", info->sex[0]) == NULL) {
		info->name[0] = info->address[0] = '\0';
		info->birth[0] = info->sex[0] = '\0';
		return jpki_fail(JPKI_ERR_INPUT, "card-info EF 0002 is not "
		    "FF 20 { DF 21 header, DF 22 name, DF 23 address, DF 24 "
		    "birth, DF 25 sex }");
	}
	return JPKI_OK;
}

int
card_match_b(const char *birth, int expiry_year, const char *code,
    char out[CARD_MATCH_B_LEN + 1])
{
	if (!digits(birth, 8) || expiry_year < 1000 || expiry_year > 9999 ||
	    !digits(code, CARD_SECURITY_CODE_LEN))
		return jpki_fail(JPKI_ERR_INPUT, "collation number B: birth "
		    "YYYYMMDD, a 4-digit expiry year, a 4-digit security "
		    "code");
	snprintf(out, CARD_MATCH_B_LEN + 1, "%.6s%04d%.4s", birth + 2,
	    expiry_year, code);
	return JPKI_OK;
}

int
card_info_outdated(const struct card *c)
{
	struct card_info info;
	const struct jbuf *num = &c->ef[SEF_INFO_NUMBER];
	const struct jbuf *facts = &c->ef[SEF_INFO_FACTS];
	int outdated;

	memset(&info, 0, sizeof(info));
	outdated = c->ef[SEF_INFO_SIGNATURE].len == 0 ||
	    !c->pin[CARD_SLOT_MATCH(CARD_MATCH_A)].set ||
	    !c->pin[CARD_SLOT_MATCH(CARD_MATCH_B)].set ||
	    card_info_parse_number(num->data, num->len, &info) != JPKI_OK ||
	    card_info_parse_facts(facts->data, facts->len, &info) != JPKI_OK;
	jpki_errclear();
	jpki_wipe(&info, sizeof(info));
	return outdated;
}
