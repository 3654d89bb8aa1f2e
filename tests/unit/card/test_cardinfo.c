/*
 * test_cardinfo.c: the card-info AP's EF 0001 and EF 0002 as real clients
 * (jpki/myna) read them, through the APDUs they send, parsed with the
 * tests' own strict DER reader (cardinfo_der.h); the sex as an ISO 5218
 * digit; reads past the end; the host parsers refusing what is not that
 * layout.
 */
#include "test.h"

#include "card/card_fixture.h"
#include "card/cardinfo_der.h"

static void
test_number_and_facts_read_as_myna_reads_them(struct card_transport *t)
{
	struct card_info info;
	uint8_t buf[APDU_RESP_MAX];
	size_t n;

	CHECK_INT(der_select_cardinfo(t), SW_OK);
	CHECK_INT(der_select_ef(t, CARD_EF_INFO_NUMBER), SW_OK);
	CHECK_INT(der_read(t, 0, 17, buf, &n), SW_SECURITY);
	CHECK_INT(der_verify(t, CARD_EF_INFO_PIN, FIXTURE_INFO_PIN), SW_OK);
	CHECK_INT(der_read_cardinfo(t, &info), 0);
	CHECK_STR(info.number, fixture_info.number);
	CHECK_STR(info.name, fixture_info.name);
	CHECK_STR(info.address, fixture_info.address);
	CHECK_STR(info.birth, fixture_info.birth);
	CHECK_STR(info.sex, "2");

	/* EF 0001 is exactly the 17 bytes myna asks for: FF 10 0C, the
	 * digits, padding. */
	CHECK_INT(der_select_ef(t, CARD_EF_INFO_NUMBER), SW_OK);
	CHECK_INT(der_read(t, 0, 0, buf, &n), SW_OK); /* Le 00: up to 256 */
	CHECK_INT(n, CARD_INFO_NUMBER_EF_LEN);
	CHECK(memcmp(buf, "\xFF\x10\x0C" "123456789018", 15) == 0);
	/* past the end: 6B00, as real cards answer */
	CHECK_INT(der_read(t, 17, 1, buf, &n), SW_WRONG_OFFSET);
	CHECK_INT(der_read(t, 16, 5, buf, &n), SW_OK);
	CHECK_INT(n, 1);
}

static void
test_client_reads_new_layout(struct card_transport *t)
{
	struct card_info info;

	CHECK_INT(card_client_verify(t, PIN_CARDINFO, FIXTURE_INFO_PIN, NULL),
	    JPKI_OK);
	CHECK_INT(card_client_read_info(t, &info), JPKI_OK);
	CHECK_STR(info.number, fixture_info.number);
	CHECK_STR(info.name, fixture_info.name);
	CHECK_STR(info.sex, fixture_info.sex);
}

static void
test_sex_is_iso5218(void)
{
	static const struct {
		enum gender g;
		char iso;
	} table[] = {{GENDER_MALE, '1'}, {GENDER_FEMALE, '2'},
	    {GENDER_UNKNOWN, '9'}};
	struct card_info info = fixture_info;
	struct jbuf b;

	for (size_t i = 0; i < JPKI_ARRAY_LEN(table); i++)
		CHECK_INT(card_info_sex_of(table[i].g), table[i].iso);
	/* the certificate's code 3 is not an ISO 5218 digit */
	jbuf_init(&b);
	info.sex[0] = '3';
	CHECK_INT(card_info_encode_facts(&info, &b), JPKI_ERR_INPUT);
	info.sex[0] = '9';
	CHECK_INT(card_info_encode_facts(&info, &b), JPKI_OK);
	jbuf_free(&b);
}

static void
test_parsers_refuse_other_layouts(void)
{
	/* the layout before issue 14: a universal tag, no header */
	static const uint8_t old_number[] = "\x10\x0C" "123456789018";
	static const uint8_t old_facts[] = {0xFF, 0x20, 0x0B, 0xDF, 0x22,
	    0x01, 'A', 0xDF, 0x23, 0x01, 'B', 0xDF, 0x24, 0x00};
	struct card_info info, back;
	struct jbuf num, facts;

	memset(&back, 0, sizeof(back));
	CHECK_INT(card_info_parse_number(old_number, sizeof(old_number) - 1,
	    &back), JPKI_ERR_INPUT);
	CHECK_INT(card_info_parse_facts(old_facts, sizeof(old_facts), &back),
	    JPKI_ERR_INPUT);

	info = fixture_info;
	jbuf_init(&num);
	jbuf_init(&facts);
	CHECK_INT(card_info_encode_number(&info, &num), JPKI_OK);
	CHECK_INT(card_info_encode_facts(&info, &facts), JPKI_OK);
	CHECK_INT(num.len, CARD_INFO_NUMBER_EF_LEN);
	CHECK_INT(card_info_parse_number(num.data, num.len, &back), JPKI_OK);
	CHECK_INT(card_info_parse_facts(facts.data, facts.len, &back),
	    JPKI_OK);
	CHECK_STR(back.address, info.address);
	/* every truncation is refused */
	for (size_t n = 0; n < facts.len; n++)
		CHECK_INT(card_info_parse_facts(facts.data, n, &back),
		    JPKI_ERR_INPUT);
	for (size_t n = 0; n < 15; n++)
		CHECK_INT(card_info_parse_number(num.data, n, &back),
		    JPKI_ERR_INPUT);
	jbuf_free(&num);
	jbuf_free(&facts);
}

int
main(void)
{
	uint8_t master[CARD_ISSUER_KEY_LEN];
	struct card_transport *t = NULL;
	char image[512], *d = fixture_dir();

	if (d == NULL || fixture_master(d, master) != 0 ||
	    fixture_card_image(d, master, image) != 0)
		return 1;
	test_sex_is_iso5218();
	test_parsers_refuse_other_layouts();
	CHECK_INT(card_transport_image(image, &t), JPKI_OK);
	if (t != NULL) {
		test_number_and_facts_read_as_myna_reads_them(t);
		card_transport_free(&t);
	}
	CHECK_INT(card_transport_image(image, &t), JPKI_OK);
	if (t != NULL) {
		test_client_reads_new_layout(t);
		card_transport_free(&t);
	}
	fixture_rmdir(d);
	return test_summary();
}
