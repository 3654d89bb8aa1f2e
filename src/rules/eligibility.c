/*
 * eligibility.c: may this holder get (or renew) this certificate on this
 * card today?  One function walks the rules in a fixed order (documented in
 * docs/rules.md) and reports the first refusal, naming the rule and, where
 * the refusal is about time, the date it lifts, so the clerk can tell the
 * holder when to come back.
 */
#include "rules.h"

static const char *
cert_noun(enum cert_type t)
{
	return t == CERT_SIGN ? "signing" : "authentication";
}

static int
check_request(const struct eligibility *e)
{
	if (e == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "eligibility: no request");
	if (e->op != CERT_OP_ISSUE && e->op != CERT_OP_RENEW)
		return jpki_fail(JPKI_ERR_INPUT,
		    "eligibility: operation must be issue or renew");
	if (rules_cert_type_name(e->type) == NULL)
		return jpki_fail(JPKI_ERR_INPUT,
		    "eligibility: certificate type must be sign or auth");
	if (rules_card_kind_name(e->card_kind) == NULL)
		return jpki_fail(JPKI_ERR_INPUT,
		    "eligibility: card kind must be mynumber or juki");
	if (!jdate_valid(e->birth))
		return jpki_fail(JPKI_ERR_INPUT,
		    "eligibility: date of birth is not a valid date");
	if ((int)e->existing < EXISTING_NONE ||
	    (int)e->existing > EXISTING_EXPIRED)
		return jpki_fail(JPKI_ERR_INPUT,
		    "eligibility: unknown state of the existing certificate");
	return JPKI_OK;
}

/* R1 and R11: the card and its holder. */
static int
check_card(const struct eligibility *e, struct jdate today)
{
	char date[11];

	if (e->card_kind != CARD_MYNUMBER)
		return jpki_fail(JPKI_ERR_REFUSED,
		    "R1: only My Number cards get certificates "
		    "(certificates on Juki cards have ended)");
	if (!e->holder_alive)
		return jpki_fail(JPKI_ERR_REFUSED,
		    "R11: the register records the holder as deceased");
	if (!e->card_usable)
		return jpki_fail(JPKI_ERR_REFUSED,
		    "R11: the card is not usable (lost, revoked or returned)");
	if (!jdate_valid(e->card_expiry))
		return jpki_fail(JPKI_ERR_INPUT,
		    "eligibility: card expiry is not a valid date");
	/* The card is valid through its expiry date. */
	if (jdate_cmp(today, e->card_expiry) > 0) {
		jdate_format(e->card_expiry, date);
		return jpki_fail(JPKI_ERR_REFUSED, "R11: card expired on %s",
		    date);
	}
	if (!e->facts_current)
		return jpki_fail(JPKI_ERR_REFUSED,
		    "R11: card facts are not current; "
		    "update the card at the counter first");
	return JPKI_OK;
}

/* R8e and the facts: no signing certificate under 15. */
static int
check_age(const struct eligibility *e, struct jdate today)
{
	struct jdate from;
	char from_s[11], expiry_s[11];

	if (e->type != CERT_SIGN ||
	    rules_age_on(e->birth, today) >= RULES_SIGN_MIN_AGE)
		return JPKI_OK;
	from = rules_birthday_in(e->birth, e->birth.y + RULES_SIGN_MIN_AGE);
	jdate_format(from, from_s);
	/* R8e applies "within the card's validity": say so if this card
	 * will not live to see the holder's 15th birthday. */
	if (jdate_cmp(from, e->card_expiry) > 0) {
		jdate_format(e->card_expiry, expiry_s);
		return jpki_fail(JPKI_ERR_REFUSED,
		    "R8e: no signing certificate under 15; eligible from %s "
		    "on a card valid then (this one expires %s)",
		    from_s, expiry_s);
	}
	return jpki_fail(JPKI_ERR_REFUSED,
	    "R8e: no signing certificate under 15; eligible from %s", from_s);
}

/* R8 (issue only when none is valid) and R9 (renew only a valid one,
 * from 3 months before its expiry). */
static int
check_existing(const struct eligibility *e, struct jdate today)
{
	/* A "valid" certificate past its notAfter has expired. */
	int valid = e->existing == EXISTING_VALID &&
	    e->now <= e->existing_not_after;
	struct jdate opens, expiry;
	char opens_s[11], expiry_s[11];

	if (e->op == CERT_OP_ISSUE) {
		if (valid)
			return jpki_fail(JPKI_ERR_REFUSED,
			    "R8: a valid %s certificate is already on the "
			    "card (renew instead)", cert_noun(e->type));
		return JPKI_OK;
	}
	if (!valid)
		return jpki_fail(JPKI_ERR_REFUSED,
		    "R9: no valid %s certificate to renew (issue a new one "
		    "instead)", cert_noun(e->type));
	opens = rules_renewal_opens_on(e->existing_not_after);
	if (jdate_cmp(today, opens) < 0) {
		expiry = jst_date_of(e->existing_not_after);
		jdate_format(opens, opens_s);
		jdate_format(expiry, expiry_s);
		return jpki_fail(JPKI_ERR_REFUSED,
		    "R9: renewal opens %s (%d months before expiry %s)",
		    opens_s, RULES_RENEWAL_MONTHS, expiry_s);
	}
	return JPKI_OK;
}

int
rules_check_eligibility(const struct eligibility *e)
{
	struct jdate today;
	int r;

	if ((r = check_request(e)) != JPKI_OK)
		return r;
	today = jst_date_of(e->now);
	if ((r = check_card(e, today)) != JPKI_OK)
		return r;
	if ((r = check_age(e, today)) != JPKI_OK)
		return r;
	return check_existing(e, today);
}
