/*
 * Unit tests of register facts: the individual number's check digit, the
 * local government code's check digit against every code in
 * data/municipalities.json ($JPKI_SOURCE), single-digit corruptions, the
 * known blind spots of both check digits, the era digit at every boundary,
 * the certificate's date-of-birth string and the address limit.
 */
#include "rules/rules.h"
#include "test.h"

#include <jansson.h>
#include <stdlib.h>

#define D(y, m, d) ((struct jdate){(y), (m), (d)})

/* Every way of changing exactly one digit of s must be refused by valid(). */
static void
check_every_single_digit_corruption_refused(const char *s,
    int (*valid)(const char *), size_t from, size_t to)
{
	char buf[16];
	size_t len = strlen(s);

	for (size_t i = from; i < to && i < len; i++) {
		for (char c = '0'; c <= '9'; c++) {
			if (c == s[i])
				continue;
			memcpy(buf, s, len + 1);
			buf[i] = c;
			CHECK(!valid(buf));
			if (valid(buf))
				fprintf(stderr, "    %s accepted (from %s)\n",
				    buf, s);
		}
	}
}

/* Hand-computed (weights 6 5 4 3 2 7 6 5 4 3 2, check 11 - sum mod 11). */
static const char *const valid_individual_numbers[] = {
	"123456789018", /* sum 212, rem 3 */
	"983205673214", /* sum 238, rem 7 */
	"000000000051", /* sum 10, rem 10 */
	"111111111118", /* sum 47, rem 3 */
	"999999999996", /* sum 423, rem 5 */
	"100000000005", /* sum 6, rem 6 */
	"000000000000", /* sum 0, rem 0: check 0 */
	"000000000060", /* sum 12, rem 1: check 0 */
};

static void
test_individual_number_check_digit(void)
{
	static const char *const invalid[] = {
		"123456789010", "123456789019", "12345678901", "1234567890180",
		"12345678901a", "a23456789018", "１２３４５６７８９０１８",
		"12345 789018", "", "-23456789018",
	};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(valid_individual_numbers); i++) {
		const char *s = valid_individual_numbers[i];

		CHECK(rules_individual_number_valid(s));
		CHECK_INT(rules_individual_number_check_digit(s), s[11] - '0');
	}
	for (size_t i = 0; i < JPKI_ARRAY_LEN(invalid); i++) {
		CHECK(!rules_individual_number_valid(invalid[i]));
		if (rules_individual_number_valid(invalid[i]))
			fprintf(stderr, "    accepted %s\n", invalid[i]);
	}
	CHECK(!rules_individual_number_valid(NULL));
	CHECK_INT(rules_individual_number_check_digit("1234567890"), -1);
	CHECK_INT(rules_individual_number_check_digit("1234567890x"), -1);
	CHECK_INT(rules_individual_number_check_digit(NULL), -1);
}

static void
test_individual_number_single_digit_corruption_refused(void)
{
	for (size_t i = 0; i < JPKI_ARRAY_LEN(valid_individual_numbers); i++) {
		const char *s = valid_individual_numbers[i];

		/* A wrong check digit is always caught. */
		check_every_single_digit_corruption_refused(s,
		    rules_individual_number_valid, 11, 12);
		/* A wrong data digit is caught unless the check digit is 0,
		 * which stands for two remainders (0 and 1); see below. */
		if (s[11] != '0')
			check_every_single_digit_corruption_refused(s,
			    rules_individual_number_valid, 0, 11);
	}
}

static void
test_individual_number_blind_spot_remainders_0_and_1(void)
{
	/* The ordinance maps remainders 0 and 1 both to check digit 0, so
	 * these two numbers, one digit apart, are both valid (docs/rules.md).
	 * Accepting them is the standard, not a bug. */
	CHECK(rules_individual_number_valid("000000000000"));
	CHECK(rules_individual_number_valid("000000000060"));
}

static char *
municipalities_path(void)
{
	const char *src = getenv("JPKI_SOURCE");
	static char path[4096];

	if (src == NULL || src[0] == '\0')
		return NULL;
	snprintf(path, sizeof(path), "%s/data/municipalities.json", src);
	return path;
}

static void
test_every_municipality_code_valid_and_corruptions_refused(void)
{
	const char *path = municipalities_path();
	json_error_t err;
	json_t *root, *m;
	size_t i, codes = 0;

	CHECK(path != NULL); /* ctest sets JPKI_SOURCE */
	if (path == NULL)
		return;
	root = json_load_file(path, 0, &err);
	CHECK(root != NULL && json_is_array(root));
	if (root == NULL) {
		fprintf(stderr, "    %s: %s\n", path, err.text);
		return;
	}
	json_array_foreach(root, i, m) {
		const char *code = json_string_value(json_object_get(m, "code"));

		CHECK(code != NULL);
		if (code == NULL)
			continue;
		codes++;
		CHECK(rules_municipality_code_valid(code));
		if (!rules_municipality_code_valid(code))
			fprintf(stderr, "    refused %s\n", code);
		check_every_single_digit_corruption_refused(code,
		    rules_municipality_code_valid, 5, 6);
		/* check digit 1 stands for remainders 0 and 10 */
		if (code[5] != '1')
			check_every_single_digit_corruption_refused(code,
			    rules_municipality_code_valid, 0, 5);
	}
	CHECK(codes >= 1700);
	json_decref(root);
}

static void
test_municipality_code_check_digit(void)
{
	static const struct {
		const char *code;
		int valid;
	} table[] = {
	    {"011002", 1}, /* Sapporo: 0+5+4+0+0 = 9, 11 - 9 = 2 */
	    {"131016", 1}, /* Chiyoda: 27 rem 5 -> 6 */
	    {"000001", 1}, /* rem 0 -> 11 -> 1 */
	    {"000051", 1}, /* rem 10 -> 1: the blind spot's other half */
	    {"011000", 0}, {"01100", 0}, {"0110022", 0}, {"01100x", 0},
	    {"O11002", 0}, {"", 0},
	};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(table); i++)
		CHECK_INT(rules_municipality_code_valid(table[i].code),
		    table[i].valid);
	CHECK(!rules_municipality_code_valid(NULL));
	CHECK_INT(rules_municipality_check_digit("01100"), 2);
	CHECK_INT(rules_municipality_check_digit("0110"), -1);
}

static void
test_era_digit_at_each_boundary(void)
{
	static const struct {
		struct jdate d;
		int era;
	} table[] = {
	    {D(1800, 1, 1), 0},
	    {D(1868, 1, 24), 0},
	    {D(1868, 1, 25), 1}, /* Meiji (retroactive to Keiō 4-1-1) */
	    {D(1868, 10, 23), 1},
	    {D(1912, 7, 29), 1},
	    {D(1912, 7, 30), 2}, /* Taisho */
	    {D(1926, 12, 24), 2},
	    {D(1926, 12, 25), 3}, /* Showa */
	    {D(1980, 12, 31), 3},
	    {D(1989, 1, 7), 3},
	    {D(1989, 1, 8), 4}, /* Heisei */
	    {D(2019, 4, 30), 4},
	    {D(2019, 5, 1), 5}, /* Reiwa */
	    {D(2026, 11, 25), 5},
	    {D(2023, 2, 29), 0}, /* not a date */
	    {D(0, 0, 0), 0},
	};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(table); i++) {
		int got = rules_era_digit(table[i].d);

		CHECK_INT(got, table[i].era);
		if (got != table[i].era)
			fprintf(stderr, "    row %zu\n", i);
	}
}

static void
test_birth_for_cert_is_era_digit_and_gregorian_date(void)
{
	static const struct {
		struct jdate d;
		const char *want;
	} table[] = {
	    {D(1980, 12, 31), "319801231"},
	    {D(1989, 1, 7), "319890107"},
	    {D(1989, 1, 8), "419890108"},
	    {D(2019, 5, 1), "520190501"},
	    {D(1912, 7, 30), "219120730"},
	    {D(1900, 2, 28), "119000228"},
	    {D(1800, 1, 1), "018000101"},
	    {D(2001, 2, 29), "000000000"},
	};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(table); i++) {
		char out[RULES_BIRTH_FOR_CERT_LEN + 1];

		memset(out, 'x', sizeof(out));
		rules_birth_for_cert(table[i].d, out);
		CHECK_STR(out, table[i].want);
	}
}

static void
test_address_up_to_200_characters_one_line(void)
{
	char buf[4 * RULES_ADDRESS_MAX_CHARS + 8];
	size_t n;

	CHECK_INT(rules_address_check("東京都千代田区千代田1-1"), JPKI_OK);
	/* 200 three-byte characters: fine; 201: too long */
	for (n = 0; n < RULES_ADDRESS_MAX_CHARS; n++)
		memcpy(buf + 3 * n, "あ", 3);
	buf[3 * n] = '\0';
	CHECK_INT(rules_address_check(buf), JPKI_OK);
	memcpy(buf + 3 * n, "あ", 4);
	CHECK_INT(rules_address_check(buf), JPKI_ERR_INPUT);
	/* 200 and 201 ASCII characters */
	memset(buf, 'a', RULES_ADDRESS_MAX_CHARS);
	buf[RULES_ADDRESS_MAX_CHARS] = '\0';
	CHECK_INT(rules_address_check(buf), JPKI_OK);
	memset(buf, 'a', RULES_ADDRESS_MAX_CHARS + 1);
	buf[RULES_ADDRESS_MAX_CHARS + 1] = '\0';
	CHECK_INT(rules_address_check(buf), JPKI_ERR_INPUT);
	/* far too long, bounded scan */
	memset(buf, 'a', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	CHECK_INT(rules_address_check(buf), JPKI_ERR_INPUT);
	CHECK_INT(rules_address_check(""), JPKI_ERR_INPUT);
	CHECK_INT(rules_address_check(NULL), JPKI_ERR_INPUT);
	CHECK_INT(rules_address_check("東京都\n千代田区"), JPKI_ERR_INPUT);
	CHECK_INT(rules_address_check("\xff\xfe"), JPKI_ERR_INPUT);
	CHECK_INT(rules_address_check("\xe3\x81"), JPKI_ERR_INPUT);
}

int
main(void)
{
	test_individual_number_check_digit();
	test_individual_number_single_digit_corruption_refused();
	test_individual_number_blind_spot_remainders_0_and_1();
	test_every_municipality_code_valid_and_corruptions_refused();
	test_municipality_code_check_digit();
	test_era_digit_at_each_boundary();
	test_birth_for_cert_is_era_digit_and_gregorian_date();
	test_address_up_to_200_characters_one_line();
	return test_summary();
}
