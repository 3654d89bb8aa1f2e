/*
 * Unit tests of the rules' dates: birthdays (29 February included), ages,
 * the n-th birthday after a day (Civil Code art. 140), card expiry, the
 * certificate's notAfter (R6, capped by the card) and the day renewal
 * opens (R9).  Expected dates are worked out by hand in the tables.
 */
#include "rules/rules.h"
#include "test.h"

#define D(y, m, d) ((struct jdate){(y), (m), (d)})

static int64_t
at(const char *iso)
{
	int64_t t = 0;

	CHECK_INT(iso8601_parse(iso, &t), JPKI_OK);
	return t;
}

static void
check_date(struct jdate got, struct jdate want, const char *what, int row)
{
	char g[11], w[11];
	int ok = jdate_cmp(got, want) == 0;

	test_record(ok, __FILE__, __LINE__, what);
	if (!ok) {
		jdate_format(got, g);
		jdate_format(want, w);
		fprintf(stderr, "    row %d: got %s, want %s\n", row, g, w);
	}
}

static void
test_leap_day_birthday_is_28_february_in_common_years(void)
{
	static const struct {
		struct jdate birth;
		int year;
		struct jdate want;
	} table[] = {
	    {D(1980, 12, 31), 2025, D(2025, 12, 31)},
	    {D(2000, 2, 29), 2001, D(2001, 2, 28)},
	    {D(2000, 2, 29), 2004, D(2004, 2, 29)},
	    {D(2000, 2, 29), 2100, D(2100, 2, 28)}, /* century, common */
	    {D(2000, 2, 29), 2400, D(2400, 2, 29)}, /* 400th, leap */
	    {D(2001, 2, 28), 2004, D(2004, 2, 28)}, /* not moved to the 29th */
	    {D(2001, 3, 1), 2004, D(2004, 3, 1)},
	};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(table); i++)
		check_date(rules_birthday_in(table[i].birth, table[i].year),
		    table[i].want, "birthday_in", (int)i);
}

static void
test_age_goes_up_on_the_birthday(void)
{
	static const struct {
		struct jdate birth, on;
		int age;
	} table[] = {
	    {D(2000, 4, 2), D(2015, 4, 1), 14},
	    {D(2000, 4, 2), D(2015, 4, 2), 15},
	    {D(1980, 12, 31), D(2025, 12, 30), 44},
	    {D(1980, 12, 31), D(2025, 12, 31), 45},
	    {D(1980, 12, 31), D(2026, 1, 1), 45},
	    {D(2000, 2, 29), D(2015, 2, 27), 14},
	    {D(2000, 2, 29), D(2015, 2, 28), 15}, /* common year: 28 Feb */
	    {D(2000, 2, 29), D(2016, 2, 28), 15}, /* leap year: not yet */
	    {D(2000, 2, 29), D(2016, 2, 29), 16},
	    {D(2000, 2, 29), D(2000, 2, 29), 0},
	    {D(2000, 2, 29), D(1999, 1, 1), 0},  /* before birth */
	};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(table); i++) {
		int got = rules_age_on(table[i].birth, table[i].on);

		CHECK_INT(got, table[i].age);
		if (got != table[i].age)
			fprintf(stderr, "    row %zu\n", i);
	}
}

static void
test_nth_birthday_does_not_count_the_day_itself(void)
{
	static const struct {
		struct jdate birth, after;
		int n;
		struct jdate want;
	} table[] = {
	    /* issued on a birthday: counting starts with the next one */
	    {D(1990, 6, 15), D(2025, 6, 15), 5, D(2030, 6, 15)},
	    /* issued the day before a birthday: that birthday is the 1st */
	    {D(1990, 6, 15), D(2025, 6, 14), 5, D(2029, 6, 15)},
	    {D(1990, 6, 15), D(2025, 6, 16), 5, D(2030, 6, 15)},
	    {D(1990, 6, 15), D(2025, 6, 14), 1, D(2025, 6, 15)},
	    {D(1990, 6, 15), D(2025, 6, 15), 1, D(2026, 6, 15)},
	    /* 29 February: 28 Feb in common years, back to 29 in leap ones */
	    {D(2000, 2, 29), D(2023, 3, 1), 5, D(2028, 2, 29)},
	    {D(2000, 2, 29), D(2024, 2, 29), 5, D(2029, 2, 28)},
	    {D(2000, 2, 29), D(2025, 2, 28), 5, D(2030, 2, 28)},
	    {D(2000, 2, 29), D(2025, 2, 27), 5, D(2029, 2, 28)},
	    {D(2000, 2, 29), D(2025, 2, 27), 4, D(2028, 2, 29)},
	    /* the day of birth is not a birthday */
	    {D(2025, 4, 1), D(2025, 4, 1), 1, D(2026, 4, 1)},
	    {D(2025, 4, 1), D(2024, 1, 1), 1, D(2026, 4, 1)},
	    /* year end */
	    {D(1980, 12, 31), D(2025, 12, 31), 1, D(2026, 12, 31)},
	    {D(1980, 1, 1), D(2025, 12, 31), 1, D(2026, 1, 1)},
	};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(table); i++)
		check_date(rules_nth_birthday_after(table[i].birth,
		    table[i].after, table[i].n), table[i].want,
		    "nth_birthday_after", (int)i);
	CHECK(!jdate_valid(rules_nth_birthday_after(D(1990, 6, 15),
	    D(2025, 1, 1), 0)));
}

static void
test_card_runs_ten_birthdays_from_18_and_five_under_18(void)
{
	static const struct {
		struct jdate birth, issued;
		struct jdate want;
	} table[] = {
	    /* 17 on the day before the 18th birthday: 5 birthdays */
	    {D(2007, 4, 2), D(2025, 4, 1), D(2029, 4, 2)},
	    /* 18 on the day: 10 birthdays, counted from the next one */
	    {D(2007, 4, 2), D(2025, 4, 2), D(2035, 4, 2)},
	    {D(2010, 5, 10), D(2025, 5, 9), D(2029, 5, 10)},  /* 14 */
	    {D(2010, 5, 10), D(2025, 5, 10), D(2030, 5, 10)}, /* 15 */
	    {D(1980, 12, 31), D(2025, 11, 25), D(2034, 12, 31)},
	    {D(2025, 1, 10), D(2025, 3, 1), D(2030, 1, 10)},  /* baby */
	    /* 29 Feb: 18 on 28 Feb of a common year */
	    {D(2004, 2, 29), D(2022, 2, 28), D(2032, 2, 29)},
	    {D(2004, 2, 29), D(2022, 2, 27), D(2026, 2, 28)},
	};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(table); i++)
		check_date(rules_card_expiry(table[i].birth, table[i].issued),
		    table[i].want, "card_expiry", (int)i);
}

static void
test_cert_valid_to_5th_birthday_and_never_past_the_card(void)
{
	static const struct {
		struct jdate birth;
		const char *issued_at;
		struct jdate card_expiry;
		const char *want;
	} table[] = {
	    /* issued on the birthday */
	    {D(1990, 6, 15), "2025-06-15T10:00:00+09:00", D(2035, 6, 15),
		"2030-06-15T23:59:59+09:00"},
	    /* the day before the birthday */
	    {D(1990, 6, 15), "2025-06-14T10:00:00+09:00", D(2035, 6, 15),
		"2029-06-15T23:59:59+09:00"},
	    /* the JST date counts, not the UTC one */
	    {D(1990, 6, 15), "2025-06-14T15:30:00Z", D(2035, 6, 15),
		"2030-06-15T23:59:59+09:00"},
	    {D(1990, 6, 15), "2025-06-14T14:59:59Z", D(2035, 6, 15),
		"2029-06-15T23:59:59+09:00"},
	    /* capped by an adult's card issued years earlier */
	    {D(1970, 3, 3), "2028-05-01T09:00:00+09:00", D(2031, 3, 3),
		"2031-03-03T23:59:59+09:00"},
	    /* capped by a minor's 5-birthday card */
	    {D(2010, 5, 10), "2026-01-15T09:00:00+09:00", D(2029, 5, 10),
		"2029-05-10T23:59:59+09:00"},
	    /* cap equal to the 5th birthday changes nothing */
	    {D(2010, 5, 10), "2025-05-09T09:00:00+09:00", D(2029, 5, 10),
		"2029-05-10T23:59:59+09:00"},
	    /* 29 Feb issued on 28 Feb of a common year (the birthday) */
	    {D(2000, 2, 29), "2025-02-28T09:00:00+09:00", D(2035, 2, 28),
		"2030-02-28T23:59:59+09:00"},
	    /* 29 Feb issued in a leap year, 5th birthday in a leap year */
	    {D(2000, 2, 29), "2023-03-01T09:00:00+09:00", D(2033, 2, 28),
		"2028-02-29T23:59:59+09:00"},
	    /* invalid card expiry: no cap */
	    {D(1990, 6, 15), "2025-06-15T10:00:00+09:00", D(0, 0, 0),
		"2030-06-15T23:59:59+09:00"},
	};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(table); i++) {
		int64_t got = rules_cert_not_after(table[i].birth,
		    at(table[i].issued_at), table[i].card_expiry);
		char g[26];

		iso8601_format_jst(got, g);
		CHECK_STR(g, table[i].want);
	}
}

static void
test_renewal_opens_three_months_before_expiry(void)
{
	static const struct {
		const char *not_after;
		struct jdate want;
	} table[] = {
	    {"2027-05-05T23:59:59+09:00", D(2027, 2, 5)},
	    {"2030-05-31T23:59:59+09:00", D(2030, 2, 28)}, /* clamped */
	    {"2028-05-31T23:59:59+09:00", D(2028, 2, 29)}, /* leap */
	    {"2030-03-03T23:59:59+09:00", D(2029, 12, 3)}, /* year back */
	    {"2030-02-28T23:59:59+09:00", D(2029, 11, 28)},
	    {"2030-12-31T23:59:59+09:00", D(2030, 9, 30)},
	    /* a notAfter written in UTC is still a JST date */
	    {"2027-05-05T14:59:59Z", D(2027, 2, 5)},
	};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(table); i++)
		check_date(rules_renewal_opens_on(at(table[i].not_after)),
		    table[i].want, "renewal_opens_on", (int)i);
}

int
main(void)
{
	test_leap_day_birthday_is_28_february_in_common_years();
	test_age_goes_up_on_the_birthday();
	test_nth_birthday_does_not_count_the_day_itself();
	test_card_runs_ten_birthdays_from_18_and_five_under_18();
	test_cert_valid_to_5th_birthday_and_never_past_the_card();
	test_renewal_opens_three_months_before_expiry();
	return test_summary();
}
