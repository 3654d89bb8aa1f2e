/*
 * pin.c: the formats of the card's three PINs and their try counts.  The
 * signing password is 6-16 characters of A-Z and 0-9 with 5 tries; the
 * authentication PIN and the card-info AP PIN are 4 digits with 3 tries.
 * Messages describe the format only and never echo the PIN, not even its
 * length, since they may reach logs.
 */
#include "rules.h"

#include <string.h>

int
rules_pin_tries(enum pin_kind k)
{
	switch (k) {
	case PIN_AUTH:
		return 3;
	case PIN_SIGN:
		return 5;
	case PIN_CARDINFO:
		return 3;
	}
	return 0;
}

void
rules_pin_normalise(enum pin_kind k, char *pin)
{
	/* Only the signing password has letters; clients upper-case it so
	 * that "abc123" and "ABC123" are the same password. */
	if (k != PIN_SIGN || pin == NULL)
		return;
	for (char *p = pin; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_upper_alnum(char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'Z');
}

static int
check_signing_password(const char *pin)
{
	size_t n = strnlen(pin, RULES_SIGN_PIN_MAX + 1);

	if (n < RULES_SIGN_PIN_MIN || n > RULES_SIGN_PIN_MAX)
		return jpki_fail(JPKI_ERR_INPUT,
		    "signing password must be %d to %d characters",
		    RULES_SIGN_PIN_MIN, RULES_SIGN_PIN_MAX);
	for (size_t i = 0; i < n; i++)
		if (!is_upper_alnum(pin[i]))
			return jpki_fail(JPKI_ERR_INPUT,
			    "signing password may hold only A-Z and 0-9");
	return JPKI_OK;
}

static int
check_digit_pin(enum pin_kind k, const char *pin)
{
	const char *what = k == PIN_AUTH ? "authentication PIN" :
	    "card-info PIN";
	size_t n = strnlen(pin, RULES_DIGIT_PIN_LEN + 1);

	if (n != RULES_DIGIT_PIN_LEN)
		return jpki_fail(JPKI_ERR_INPUT, "%s must be exactly %d digits",
		    what, RULES_DIGIT_PIN_LEN);
	for (size_t i = 0; i < n; i++)
		if (!is_digit(pin[i]))
			return jpki_fail(JPKI_ERR_INPUT,
			    "%s must be exactly %d digits", what,
			    RULES_DIGIT_PIN_LEN);
	return JPKI_OK;
}

int
rules_pin_check(enum pin_kind k, const char *pin)
{
	if (rules_pin_kind_name(k) == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "unknown PIN kind");
	if (pin == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "%s PIN is missing",
		    rules_pin_kind_name(k));
	if (k == PIN_SIGN)
		return check_signing_password(pin);
	return check_digit_pin(k, pin);
}
