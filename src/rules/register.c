/*
 * register.c: the resident-register facts the rules touch: the check digits
 * of the individual number (My Number) and of the local government code,
 * the era digit and date-of-birth string of the signing certificate, and
 * the address limit.  Check digits catch typing errors at the counter;
 * they are not secrets and prove nothing about a person.
 */
#include "rules.h"

#include <stdio.h>
#include <string.h>

/* Sum of digit[i] * weight[i] over n ASCII digits, or -1 on a non-digit. */
static int
weighted_sum(const char *s, const int *weight, int n)
{
	int sum = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		sum += (s[i] - '0') * weight[i];
	}
	return sum;
}

/* The length of s, looking no further than max + 1 bytes. */
static size_t
bounded_len(const char *s, size_t max)
{
	return s == NULL ? 0 : strnlen(s, max + 1);
}

/*
 * MIC ordinance no. 85 of 2014 on notification cards and individual number
 * cards (通知カード及び個人番号カード…に関する省令) art. 5, under art. 8 of
 * the Number Act's cabinet order: with P(n) the n-th of the 11
 * digits counted from the lowest, Q(n) = n + 1 for n <= 6 and n - 5 for
 * n >= 7, the check digit is 11 - (sum P(n)Q(n) mod 11), or 0 when that
 * remainder is 0 or 1.  Written left to right the weights are below.
 */
int
rules_individual_number_check_digit(const char *first11)
{
	static const int weight[11] = {6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2};
	int sum, rem;

	if (bounded_len(first11, 11) < 11)
		return -1;
	if ((sum = weighted_sum(first11, weight, 11)) < 0)
		return -1;
	rem = sum % 11;
	return rem <= 1 ? 0 : 11 - rem;
}

int
rules_individual_number_valid(const char *s)
{
	int check;

	if (bounded_len(s, RULES_INDIVIDUAL_NUMBER_LEN) !=
	    RULES_INDIVIDUAL_NUMBER_LEN)
		return 0;
	check = rules_individual_number_check_digit(s);
	return check >= 0 && s[11] - '0' == check;
}

/*
 * 全国地方公共団体コード (JIS X 0402): the five digits weighted 6, 5, 4, 3, 2
 * from the left; the check digit is the last digit of 11 - (sum mod 11), so
 * remainders 0 and 10 both give 1.  Every code in data/municipalities.json
 * satisfies it (tested).
 */
int
rules_municipality_check_digit(const char *first5)
{
	static const int weight[5] = {6, 5, 4, 3, 2};
	int sum;

	if (bounded_len(first5, 5) < 5)
		return -1;
	if ((sum = weighted_sum(first5, weight, 5)) < 0)
		return -1;
	return (11 - sum % 11) % 10;
}

int
rules_municipality_code_valid(const char *s)
{
	int check;

	if (bounded_len(s, RULES_MUNICIPALITY_CODE_LEN) !=
	    RULES_MUNICIPALITY_CODE_LEN)
		return 0;
	check = rules_municipality_check_digit(s);
	return check >= 0 && s[5] - '0' == check;
}

/*
 * First Gregorian day of each era.  Meiji is taken from 1868-01-25, the
 * first day of Keiō 4, to which the change of era of 1868-10-23 was made
 * retroactive (docs/rules.md).  On the day an emperor died the new era
 * began, so Taisho includes 1912-07-30 and Showa 1926-12-25.
 */
static const struct {
	struct jdate from;
	int digit;
} eras[] = {
	{{1868, 1, 25}, 1}, /* Meiji */
	{{1912, 7, 30}, 2}, /* Taisho */
	{{1926, 12, 25}, 3}, /* Showa */
	{{1989, 1, 8}, 4}, /* Heisei */
	{{2019, 5, 1}, 5}, /* Reiwa */
};

int
rules_era_digit(struct jdate d)
{
	if (!jdate_valid(d))
		return 0;
	for (size_t i = JPKI_ARRAY_LEN(eras); i > 0; i--)
		if (jdate_cmp(d, eras[i - 1].from) >= 0)
			return eras[i - 1].digit;
	return 0;
}

int
rules_era_year(struct jdate d)
{
	int digit = rules_era_digit(d);

	for (size_t i = 0; digit != 0 && i < JPKI_ARRAY_LEN(eras); i++)
		if (eras[i].digit == digit)
			return d.y - eras[i].from.y + 1;
	return 0;
}

const char *
rules_era_name(int digit, int japanese)
{
	static const char *const en[] = {"unknown", "Meiji", "Taisho",
	    "Showa", "Heisei", "Reiwa"};
	static const char *const ja[] = {"不明", "明治", "大正", "昭和", "平成",
	    "令和"};

	if (digit < 0 || digit > 5)
		digit = 0;
	return japanese ? ja[digit] : en[digit];
}

void
rules_era_date_ja(struct jdate d, char *buf, size_t n)
{
	int digit = rules_era_digit(d), y = rules_era_year(d);

	if (digit == 0 || y == 0)
		snprintf(buf, n, "%d年%d月%d日", d.y, d.m, d.d);
	else if (y == 1)
		snprintf(buf, n, "%s元年%d月%d日", rules_era_name(digit, 1),
		    d.m, d.d);
	else
		snprintf(buf, n, "%s%d年%d月%d日", rules_era_name(digit, 1), y,
		    d.m, d.d);
}

void
rules_birth_for_cert(struct jdate birth,
    char out[static RULES_BIRTH_FOR_CERT_LEN + 1])
{
	if (!jdate_valid(birth)) {
		memcpy(out, "000000000", RULES_BIRTH_FOR_CERT_LEN + 1);
		return;
	}
	/* jdate_valid bounds the year to 4 digits, so this fits exactly. */
	snprintf(out, RULES_BIRTH_FOR_CERT_LEN + 1, "%d%04d%02d%02d",
	    rules_era_digit(birth), birth.y, birth.m, birth.d);
}

int
rules_address_check(const char *s)
{
	/* A code point takes at most 4 bytes; looking further is pointless. */
	size_t n = bounded_len(s, 4 * RULES_ADDRESS_MAX_CHARS);

	if (n == 0)
		return jpki_fail(JPKI_ERR_INPUT, "address is empty");
	if (n > 4 * RULES_ADDRESS_MAX_CHARS)
		return jpki_fail(JPKI_ERR_INPUT,
		    "address is longer than %d characters",
		    RULES_ADDRESS_MAX_CHARS);
	if (!utf8_valid_line(s, n))
		return jpki_fail(JPKI_ERR_INPUT,
		    "address must be one line of well-formed UTF-8");
	if (utf8_count(s, n) > RULES_ADDRESS_MAX_CHARS)
		return jpki_fail(JPKI_ERR_INPUT,
		    "address is longer than %d characters",
		    RULES_ADDRESS_MAX_CHARS);
	return JPKI_OK;
}
