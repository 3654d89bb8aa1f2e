/*
 * Unit tests of eligibility: every refusal (R1, R8, R8e, R9, R11) with its
 * rule in the message and, where it is about time, the date it lifts; the
 * edges of the renewal window and of the card's validity in JST; and the
 * cases R8 explicitly allows (a revoked or expired certificate replaced,
 * the other type added, a holder who has turned 15).
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

/* An adult with a good My Number card asks for a signing certificate on
 * 2026-11-25 and has none: allowed.  Each case changes one thing. */
static struct eligibility
adult_issue_request(void)
{
	struct eligibility e = {
		.op = CERT_OP_ISSUE,
		.type = CERT_SIGN,
		.card_kind = CARD_MYNUMBER,
		.card_usable = 1,
		.card_expiry = D(2032, 7, 20),
		.birth = D(1985, 7, 20),
		.holder_alive = 1,
		.facts_current = 1,
		.existing = EXISTING_NONE,
		.existing_not_after = 0,
	};

	e.now = at("2026-11-25T10:00:00+09:00");
	return e;
}

/* A renewal of a valid signing certificate expiring 2027-05-05. */
static struct eligibility
renewal_request(const char *now)
{
	struct eligibility e = adult_issue_request();

	e.op = CERT_OP_RENEW;
	e.existing = EXISTING_VALID;
	e.existing_not_after = at("2027-05-05T23:59:59+09:00");
	e.now = at(now);
	return e;
}

static void
expect(const struct eligibility *e, int want, const char *msg, int line)
{
	int got;

	jpki_errclear();
	got = rules_check_eligibility(e);
	test_record(got == want, __FILE__, line, "eligibility code");
	if (got != want)
		fprintf(stderr, "    got %s (%s), want %s\n", jpki_strerr(got),
		    jpki_errmsg(), jpki_strerr(want));
	if (msg != NULL) {
		test_record(strcmp(jpki_errmsg(), msg) == 0, __FILE__, line,
		    "eligibility message");
		if (strcmp(jpki_errmsg(), msg) != 0)
			fprintf(stderr, "    got \"%s\"\n    want \"%s\"\n",
			    jpki_errmsg(), msg);
	}
}

#define EXPECT(e, want, msg) expect(&(e), (want), (msg), __LINE__)

static void
test_adult_with_good_card_may_get_both_certificates(void)
{
	struct eligibility e = adult_issue_request();

	EXPECT(e, JPKI_OK, NULL);
	e.type = CERT_AUTH;
	EXPECT(e, JPKI_OK, NULL);
}

static void
test_juki_card_refused_r1(void)
{
	struct eligibility e = adult_issue_request();

	e.card_kind = CARD_JUKI;
	EXPECT(e, JPKI_ERR_REFUSED, "R1: only My Number cards get certificates "
	    "(certificates on Juki cards have ended)");
	e.op = CERT_OP_RENEW;
	e.existing = EXISTING_VALID;
	e.existing_not_after = at("2027-01-31T23:59:59+09:00");
	EXPECT(e, JPKI_ERR_REFUSED, "R1: only My Number cards get certificates "
	    "(certificates on Juki cards have ended)");
}

static void
test_deceased_holder_refused(void)
{
	struct eligibility e = adult_issue_request();

	e.holder_alive = 0;
	EXPECT(e, JPKI_ERR_REFUSED,
	    "R11: the register records the holder as deceased");
}

static void
test_lost_card_refused_r11(void)
{
	struct eligibility e = adult_issue_request();

	e.card_usable = 0;
	EXPECT(e, JPKI_ERR_REFUSED,
	    "R11: the card is not usable (lost, revoked or returned)");
}

static void
test_card_valid_through_its_expiry_day_r11(void)
{
	struct eligibility e = adult_issue_request();

	e.card_expiry = D(2026, 11, 25);
	e.now = at("2026-11-25T23:59:59+09:00");
	EXPECT(e, JPKI_OK, NULL);
	e.now = at("2026-11-26T00:00:00+09:00");
	EXPECT(e, JPKI_ERR_REFUSED, "R11: card expired on 2026-11-25");
	/* 15:00Z is already the next JST day */
	e.now = at("2026-11-25T15:00:00Z");
	EXPECT(e, JPKI_ERR_REFUSED, "R11: card expired on 2026-11-25");
}

static void
test_stale_card_facts_refused_r11(void)
{
	struct eligibility e = adult_issue_request();

	e.facts_current = 0;
	EXPECT(e, JPKI_ERR_REFUSED, "R11: card facts are not current; "
	    "update the card at the counter first");
}

static void
test_signing_cert_refused_under_15_r8e(void)
{
	struct eligibility e = adult_issue_request();

	/* 14 on 2026-11-25, 15 on 2027-04-02 */
	e.birth = D(2012, 4, 2);
	e.card_expiry = D(2030, 4, 2);
	EXPECT(e, JPKI_ERR_REFUSED,
	    "R8e: no signing certificate under 15; eligible from 2027-04-02");
	/* the authentication certificate has no age limit */
	e.type = CERT_AUTH;
	EXPECT(e, JPKI_OK, NULL);
	/* on the 15th birthday R8e allows it */
	e.type = CERT_SIGN;
	e.now = at("2027-04-02T00:00:00+09:00");
	EXPECT(e, JPKI_OK, NULL);
	e.now = at("2027-04-01T23:59:59+09:00");
	EXPECT(e, JPKI_ERR_REFUSED,
	    "R8e: no signing certificate under 15; eligible from 2027-04-02");
}

static void
test_under_15_told_when_card_expires_before_15th_birthday(void)
{
	struct eligibility e = adult_issue_request();

	e.birth = D(2012, 4, 2);
	e.card_expiry = D(2027, 4, 1);
	EXPECT(e, JPKI_ERR_REFUSED,
	    "R8e: no signing certificate under 15; eligible from 2027-04-02 "
	    "on a card valid then (this one expires 2027-04-01)");
}

static void
test_leap_day_holder_turns_15_on_28_february(void)
{
	struct eligibility e = adult_issue_request();

	e.birth = D(2012, 2, 29);
	e.card_expiry = D(2030, 2, 28);
	e.now = at("2027-02-27T12:00:00+09:00");
	EXPECT(e, JPKI_ERR_REFUSED,
	    "R8e: no signing certificate under 15; eligible from 2027-02-28");
	e.now = at("2027-02-28T00:00:00+09:00");
	EXPECT(e, JPKI_OK, NULL);
}

static void
test_second_certificate_of_a_type_refused_r8(void)
{
	struct eligibility e = adult_issue_request();

	e.existing = EXISTING_VALID;
	e.existing_not_after = at("2030-07-20T23:59:59+09:00");
	EXPECT(e, JPKI_ERR_REFUSED, "R8: a valid signing certificate is "
	    "already on the card (renew instead)");
	e.type = CERT_AUTH;
	EXPECT(e, JPKI_ERR_REFUSED, "R8: a valid authentication certificate "
	    "is already on the card (renew instead)");
}

static void
test_revoked_or_expired_certificate_may_be_replaced_r8d(void)
{
	struct eligibility e = adult_issue_request();

	e.existing = EXISTING_REVOKED;
	EXPECT(e, JPKI_OK, NULL);
	e.existing = EXISTING_EXPIRED;
	EXPECT(e, JPKI_OK, NULL);
	/* recorded as valid but past its notAfter: it has expired */
	e.existing = EXISTING_VALID;
	e.existing_not_after = at("2026-11-24T23:59:59+09:00");
	EXPECT(e, JPKI_OK, NULL);
}

static void
test_renewal_window_edges_r9(void)
{
	struct eligibility e;

	e = renewal_request("2027-02-04T23:59:59+09:00");
	EXPECT(e, JPKI_ERR_REFUSED,
	    "R9: renewal opens 2027-02-05 (3 months before expiry 2027-05-05)");
	e = renewal_request("2026-11-25T10:00:00+09:00");
	EXPECT(e, JPKI_ERR_REFUSED,
	    "R9: renewal opens 2027-02-05 (3 months before expiry 2027-05-05)");
	e = renewal_request("2027-02-05T00:00:00+09:00");
	EXPECT(e, JPKI_OK, NULL);
	/* 15:00Z on the 4th is 00:00 JST on the 5th */
	e = renewal_request("2027-02-04T15:00:00Z");
	EXPECT(e, JPKI_OK, NULL);
	e = renewal_request("2027-02-04T14:59:59Z");
	EXPECT(e, JPKI_ERR_REFUSED,
	    "R9: renewal opens 2027-02-05 (3 months before expiry 2027-05-05)");
	e = renewal_request("2027-05-05T23:59:59+09:00");
	EXPECT(e, JPKI_OK, NULL);
}

static void
test_nothing_to_renew_r9(void)
{
	struct eligibility e;

	e = renewal_request("2027-05-06T00:00:00+09:00");
	EXPECT(e, JPKI_ERR_REFUSED, "R9: no valid signing certificate to "
	    "renew (issue a new one instead)");
	e = renewal_request("2027-03-01T10:00:00+09:00");
	e.existing = EXISTING_REVOKED;
	EXPECT(e, JPKI_ERR_REFUSED, "R9: no valid signing certificate to "
	    "renew (issue a new one instead)");
	e.existing = EXISTING_NONE;
	e.type = CERT_AUTH;
	EXPECT(e, JPKI_ERR_REFUSED, "R9: no valid authentication certificate "
	    "to renew (issue a new one instead)");
}

static void
test_first_refusal_in_documented_order_is_reported(void)
{
	struct eligibility e = adult_issue_request();

	/* Juki card, dead holder, expired card, under 15: R1 wins */
	e.card_kind = CARD_JUKI;
	e.holder_alive = 0;
	e.card_expiry = D(2020, 1, 1);
	e.birth = D(2015, 1, 1);
	EXPECT(e, JPKI_ERR_REFUSED, "R1: only My Number cards get "
	    "certificates (certificates on Juki cards have ended)");
	e.card_kind = CARD_MYNUMBER;
	EXPECT(e, JPKI_ERR_REFUSED,
	    "R11: the register records the holder as deceased");
	e.holder_alive = 1;
	EXPECT(e, JPKI_ERR_REFUSED, "R11: card expired on 2020-01-01");
}

static void
test_malformed_request_is_bad_input(void)
{
	struct eligibility e;

	CHECK_INT(rules_check_eligibility(NULL), JPKI_ERR_INPUT);
	e = adult_issue_request();
	e.op = (enum cert_op)0;
	EXPECT(e, JPKI_ERR_INPUT, NULL);
	e = adult_issue_request();
	e.type = (enum cert_type)7;
	EXPECT(e, JPKI_ERR_INPUT, NULL);
	e = adult_issue_request();
	e.card_kind = (enum card_kind)0;
	EXPECT(e, JPKI_ERR_INPUT, NULL);
	e = adult_issue_request();
	e.birth = D(2001, 2, 29);
	EXPECT(e, JPKI_ERR_INPUT, NULL);
	e = adult_issue_request();
	e.card_expiry = D(0, 0, 0);
	EXPECT(e, JPKI_ERR_INPUT, NULL);
	e = adult_issue_request();
	e.existing = (enum existing_cert)9;
	EXPECT(e, JPKI_ERR_INPUT, NULL);
}

int
main(void)
{
	test_adult_with_good_card_may_get_both_certificates();
	test_juki_card_refused_r1();
	test_deceased_holder_refused();
	test_lost_card_refused_r11();
	test_card_valid_through_its_expiry_day_r11();
	test_stale_card_facts_refused_r11();
	test_signing_cert_refused_under_15_r8e();
	test_under_15_told_when_card_expires_before_15th_birthday();
	test_leap_day_holder_turns_15_on_28_february();
	test_second_certificate_of_a_type_refused_r8();
	test_revoked_or_expired_certificate_may_be_replaced_r8d();
	test_renewal_window_edges_r9();
	test_nothing_to_renew_r9();
	test_first_refusal_in_documented_order_is_reported();
	test_malformed_request_is_bad_input();
	return test_summary();
}
