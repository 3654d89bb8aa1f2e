/*
 * Unit tests of PIN formats and names: the signing password (6-16 of A-Z
 * 0-9, upper-cased by clients), the 4-digit authentication and card-info
 * PINs, their try counts, messages that never echo the PIN, and the short
 * names of the rules' enums.
 */
#include "rules/rules.h"
#include "test.h"

static void
test_pin_formats(void)
{
	static const struct {
		enum pin_kind kind;
		const char *pin;
		int normalise;
		int want;
	} table[] = {
	    /* signing password: length edges */
	    {PIN_SIGN, "ABC12", 0, JPKI_ERR_INPUT},
	    {PIN_SIGN, "ABC123", 0, JPKI_OK},
	    {PIN_SIGN, "ABCDEFGHIJ123456", 0, JPKI_OK},
	    {PIN_SIGN, "ABCDEFGHIJ1234567", 0, JPKI_ERR_INPUT},
	    {PIN_SIGN, "", 0, JPKI_ERR_INPUT},
	    /* letters only or digits only are fine */
	    {PIN_SIGN, "ABCDEF", 0, JPKI_OK},
	    {PIN_SIGN, "123456", 0, JPKI_OK},
	    /* lower case: refused raw, accepted once normalised */
	    {PIN_SIGN, "abc123", 0, JPKI_ERR_INPUT},
	    {PIN_SIGN, "abc123", 1, JPKI_OK},
	    {PIN_SIGN, "aBcDeFgHiJkLmNoP", 1, JPKI_OK},
	    {PIN_SIGN, "abcdefghij1234567", 1, JPKI_ERR_INPUT},
	    /* outside A-Z 0-9 */
	    {PIN_SIGN, "ABC 123", 1, JPKI_ERR_INPUT},
	    {PIN_SIGN, "ABC-123", 1, JPKI_ERR_INPUT},
	    {PIN_SIGN, "ABC_123", 1, JPKI_ERR_INPUT},
	    {PIN_SIGN, "ABC\xc3\xa9" "12", 1, JPKI_ERR_INPUT},  /* é */
	    {PIN_SIGN, "\xef\xbc\xa1\xef\xbc\xa2\xef\xbc\xa3" "123", 1,
		JPKI_ERR_INPUT}, /* full-width ＡＢＣ */
	    /* authentication PIN */
	    {PIN_AUTH, "123", 0, JPKI_ERR_INPUT},
	    {PIN_AUTH, "1234", 0, JPKI_OK},
	    {PIN_AUTH, "0000", 0, JPKI_OK},
	    {PIN_AUTH, "12345", 0, JPKI_ERR_INPUT},
	    {PIN_AUTH, "12a4", 1, JPKI_ERR_INPUT},
	    {PIN_AUTH, "12A4", 0, JPKI_ERR_INPUT},
	    {PIN_AUTH, " 123", 0, JPKI_ERR_INPUT},
	    {PIN_AUTH, "\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\x94", 0,
		JPKI_ERR_INPUT}, /* full-width １２３４ */
	    {PIN_AUTH, "", 0, JPKI_ERR_INPUT},
	    /* card-info AP PIN: the same format */
	    {PIN_CARDINFO, "123", 0, JPKI_ERR_INPUT},
	    {PIN_CARDINFO, "9876", 0, JPKI_OK},
	    {PIN_CARDINFO, "98765", 0, JPKI_ERR_INPUT},
	    {PIN_CARDINFO, "98x6", 0, JPKI_ERR_INPUT},
	};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(table); i++) {
		char pin[64];
		int got;

		snprintf(pin, sizeof(pin), "%s", table[i].pin);
		if (table[i].normalise)
			rules_pin_normalise(table[i].kind, pin);
		jpki_errclear();
		got = rules_pin_check(table[i].kind, pin);
		CHECK_INT(got, table[i].want);
		if (got != table[i].want)
			fprintf(stderr, "    row %zu\n", i);
		/* a refusal describes the format, never the PIN */
		if (got != JPKI_OK && pin[0] != '\0')
			CHECK(strstr(jpki_errmsg(), pin) == NULL);
		if (got != JPKI_OK)
			CHECK(jpki_errmsg()[0] != '\0');
	}
}

static void
test_signing_password_normalised_to_upper_case_in_place(void)
{
	char sign[] = "abcXYZ09z", auth[] = "ab12";

	rules_pin_normalise(PIN_SIGN, sign);
	CHECK_STR(sign, "ABCXYZ09Z");
	/* only the signing password is case-folded */
	rules_pin_normalise(PIN_AUTH, auth);
	CHECK_STR(auth, "ab12");
	rules_pin_normalise(PIN_SIGN, NULL); /* harmless */
}

static void
test_missing_pin_or_unknown_kind_refused(void)
{
	CHECK_INT(rules_pin_check(PIN_SIGN, NULL), JPKI_ERR_INPUT);
	CHECK_INT(rules_pin_check((enum pin_kind)0, "1234"), JPKI_ERR_INPUT);
	CHECK_INT(rules_pin_check((enum pin_kind)4, "1234"), JPKI_ERR_INPUT);
}

static void
test_pin_tries(void)
{
	CHECK_INT(rules_pin_tries(PIN_AUTH), 3);
	CHECK_INT(rules_pin_tries(PIN_SIGN), 5);
	CHECK_INT(rules_pin_tries(PIN_CARDINFO), 3);
	CHECK_INT(rules_pin_tries((enum pin_kind)0), 0);
}

static void
test_names_round_trip(void)
{
	static const struct {
		const char *name;
		int value;
	} certs[] = {{"sign", CERT_SIGN}, {"auth", CERT_AUTH}},
	  genders[] = {{"male", GENDER_MALE}, {"female", GENDER_FEMALE},
	      {"unknown", GENDER_UNKNOWN}},
	  pins[] = {{"auth", PIN_AUTH}, {"sign", PIN_SIGN},
	      {"cardinfo", PIN_CARDINFO}},
	  cards[] = {{"mynumber", CARD_MYNUMBER}, {"juki", CARD_JUKI}};
	enum cert_type ct;
	enum gender g;
	enum pin_kind pk;
	enum card_kind ck;

	for (size_t i = 0; i < JPKI_ARRAY_LEN(certs); i++) {
		CHECK_STR(rules_cert_type_name(certs[i].value), certs[i].name);
		CHECK_INT(rules_cert_type_parse(certs[i].name, &ct), JPKI_OK);
		CHECK_INT(ct, certs[i].value);
	}
	for (size_t i = 0; i < JPKI_ARRAY_LEN(genders); i++) {
		CHECK_STR(rules_gender_name(genders[i].value), genders[i].name);
		CHECK_INT(rules_gender_parse(genders[i].name, &g), JPKI_OK);
		CHECK_INT(g, genders[i].value);
	}
	for (size_t i = 0; i < JPKI_ARRAY_LEN(pins); i++) {
		CHECK_STR(rules_pin_kind_name(pins[i].value), pins[i].name);
		CHECK_INT(rules_pin_kind_parse(pins[i].name, &pk), JPKI_OK);
		CHECK_INT(pk, pins[i].value);
	}
	for (size_t i = 0; i < JPKI_ARRAY_LEN(cards); i++) {
		CHECK_STR(rules_card_kind_name(cards[i].value), cards[i].name);
		CHECK_INT(rules_card_kind_parse(cards[i].name, &ck), JPKI_OK);
		CHECK_INT(ck, cards[i].value);
	}
	/* the gender values are the certificate's digits */
	CHECK_INT(GENDER_MALE, 1);
	CHECK_INT(GENDER_FEMALE, 2);
	CHECK_INT(GENDER_UNKNOWN, 3);
}

static void
test_unknown_names_refused(void)
{
	enum cert_type ct = CERT_AUTH;
	enum gender g = GENDER_MALE;
	enum pin_kind pk = PIN_AUTH;
	enum card_kind ck = CARD_MYNUMBER;

	CHECK_INT(rules_cert_type_parse("Sign", &ct), JPKI_ERR_INPUT);
	CHECK_INT(rules_cert_type_parse("signing", &ct), JPKI_ERR_INPUT);
	CHECK_INT(rules_cert_type_parse(NULL, &ct), JPKI_ERR_INPUT);
	CHECK_INT(ct, CERT_AUTH); /* untouched */
	CHECK_INT(rules_gender_parse("1", &g), JPKI_ERR_INPUT);
	CHECK_INT(rules_gender_parse("", &g), JPKI_ERR_INPUT);
	CHECK_INT(rules_pin_kind_parse("card-info", &pk), JPKI_ERR_INPUT);
	CHECK_INT(rules_card_kind_parse("my number", &ck), JPKI_ERR_INPUT);
	CHECK(rules_cert_type_name((enum cert_type)0) == NULL);
	CHECK(rules_gender_name((enum gender)4) == NULL);
	CHECK(rules_pin_kind_name((enum pin_kind)-1) == NULL);
	CHECK(rules_card_kind_name((enum card_kind)3) == NULL);
}

int
main(void)
{
	test_pin_formats();
	test_signing_password_normalised_to_upper_case_in_place();
	test_missing_pin_or_unknown_kind_refused();
	test_pin_tries();
	test_names_round_trip();
	test_unknown_names_refused();
	return test_summary();
}
