/*
 * validity.c: birthdays, ages and the dates that follow from them: the
 * card's expiry, the certificate's notAfter (R6) and the day renewal opens
 * (R9).  Every date is a JST calendar date; the only instants are the
 * certificate's notAfter (23:59:59 JST) and the issuance instant.
 */
#include "rules.h"

static int
born_on_leap_day(struct jdate birth)
{
	return birth.m == 2 && birth.d == 29;
}

/*
 * A 29 February birthday falls on 28 February in a common year.  Civil Code
 * art. 143(2): a period reckoned in years whose last year has no day
 * corresponding to its start ends on the last day of that month; the Act on
 * Calculation of Age (年齢計算ニ関スル法律) reckons age by that article.
 * docs/rules.md has the reasoning and the alternative (1 March).
 */
struct jdate
rules_birthday_in(struct jdate birth, int year)
{
	struct jdate b = {year, birth.m, birth.d};

	if (born_on_leap_day(birth) && !jdate_is_leap(year))
		b.d = 28;
	return b;
}

int
rules_age_on(struct jdate birth, struct jdate on)
{
	int age;

	if (jdate_cmp(on, birth) < 0)
		return 0;
	age = on.y - birth.y;
	if (jdate_cmp(on, rules_birthday_in(birth, on.y)) < 0)
		age--;
	return age;
}

struct jdate
rules_nth_birthday_after(struct jdate birth, struct jdate after, int n)
{
	struct jdate none = {0, 0, 0};
	int year = after.y;

	if (n < 1)
		return none;
	/* Civil Code art. 140: the starting day is not counted, so a
	 * birthday on `after` itself is not the first one. */
	if (jdate_cmp(rules_birthday_in(birth, year), after) <= 0)
		year++;
	/* The day of birth is not a birthday, nor anything before it. */
	if (year <= birth.y)
		year = birth.y + 1;
	/* Each birthday is taken from the birth date, not from the previous
	 * birthday, so a 29 February birthday returns in leap years. */
	return rules_birthday_in(birth, year + n - 1);
}

struct jdate
rules_card_expiry(struct jdate birth, struct jdate issued_on)
{
	int n = rules_age_on(birth, issued_on) >= RULES_ADULT_AGE ?
	    RULES_CARD_BIRTHDAYS_ADULT : RULES_CARD_BIRTHDAYS_MINOR;

	return rules_nth_birthday_after(birth, issued_on, n);
}

int64_t
rules_cert_not_after(struct jdate birth, int64_t issued_at,
    struct jdate card_expiry)
{
	struct jdate last = rules_nth_birthday_after(birth,
	    jst_date_of(issued_at), RULES_CERT_BIRTHDAYS);

	/* A certificate never outlives its card. */
	if (jdate_valid(card_expiry) && jdate_cmp(card_expiry, last) < 0)
		last = card_expiry;
	return jst_end_of_day(last);
}

struct jdate
rules_renewal_opens_on(int64_t not_after)
{
	/* R9; jdate_add_months clamps 31 May to 28/29 February etc. */
	return jdate_add_months(jst_date_of(not_after), -RULES_RENEWAL_MONTHS);
}
