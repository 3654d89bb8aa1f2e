/*
 * test_check_agrees.c: the check the web UI shows before the clerk
 * commits (counter_check) and the procedure itself judge every rule the
 * same way.  A table of rule cases -- R1, R2, R7, R8, R8e, R9, R11, a card
 * not registered, a second card, a loss reported twice, a deceased holder
 * -- run in order on one data directory: for each, the check is asked
 * first, then the procedure runs; both allow, or both refuse with the
 * same code and the same words, which name the rule the case is about,
 * and a refused procedure leaves no card image behind.
 * When both allow, the certificates the check counted for the fees are
 * those the procedure loaded.
 */
#include "support/open_ca.h"
#include "test.h"
#include "counter/counter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

enum who { A = 0, B, C, D, NOBODY };
enum setup { NONE = 0, DECEASE_D, AT_RENEWAL };

static const struct rule_case {
	const char *what;
	enum setup setup;             /* done before the case */
	enum procedure proc;
	enum who who;
	const char *card;             /* image name, or NULL: by resident */
	int types;
	enum pin_kind pin;
	int want;                     /* JPKI_OK or the refusal's code */
	const char *words;            /* how the refusal begins */
} cases[] = {
    {"R8a: delivery loads both certificates", NONE, PROC_DELIVER, A,
	"a1.img", COUNTER_BOTH, 0, JPKI_OK, NULL},
    {"a second card while one is active", NONE, PROC_DELIVER, A, "a9.img",
	COUNTER_BOTH, 0, JPKI_ERR_REFUSED, "resident "},
    {"reissue while the card is active", NONE, PROC_REISSUE, A, "a9.img",
	COUNTER_BOTH, 0, JPKI_ERR_REFUSED, "resident "},
    {"R7: reissue without a loss", NONE, PROC_REISSUE, C, "c9.img",
	COUNTER_BOTH, 0, JPKI_ERR_REFUSED, "R7: reissue is for a card "},
    {"R8: issue over valid certificates", NONE, PROC_ISSUE, A, "a1.img",
	COUNTER_BOTH, 0, JPKI_ERR_REFUSED, "R8"},
    {"R9: renewal long before expiry", NONE, PROC_RENEW, A, "a1.img",
	COUNTER_BOTH, 0, JPKI_ERR_REFUSED, "R9"},
    {"R11: update of a current card", NONE, PROC_UPDATE_CARD, A, "a1.img",
	0, 0, JPKI_ERR_CONFLICT, "card "},
    {"R2: PIN reset with the card", NONE, PROC_PIN_RESET, A, "a1.img", 0,
	PIN_AUTH, JPKI_OK, NULL},
    {"R8e: a child's delivery leaves the signing one out", NONE,
	PROC_DELIVER, B, "b1.img", COUNTER_BOTH, 0, JPKI_OK, NULL},
    {"R2: a PIN never set is not reset", NONE, PROC_PIN_RESET, B, "b1.img",
	0, PIN_SIGN, JPKI_ERR_REFUSED, "R2: "},
    {"R8e: no signing certificate under 15", NONE, PROC_ISSUE, B, "b1.img",
	COUNTER_SIGN, 0, JPKI_ERR_REFUSED, "R8e"},
    {"R1: a Juki card", NONE, PROC_ISSUE, NOBODY, "juki.img", COUNTER_AUTH,
	0, JPKI_ERR_REFUSED, "R1: "},
    {"a card this counter never made", NONE, PROC_ISSUE, NOBODY,
	"stray.img", COUNTER_AUTH, 0, JPKI_ERR_NOTFOUND, "card "},
    {"delivery to a holder who then dies", NONE, PROC_DELIVER, D, "d1.img",
	COUNTER_AUTH, 0, JPKI_OK, NULL},
    {"R11: no PIN reset for a deceased holder", DECEASE_D, PROC_PIN_RESET,
	D, "d1.img", 0, PIN_AUTH, JPKI_ERR_REFUSED, "R11: "},
    {"R11: no card for a deceased holder", NONE, PROC_DELIVER, D, "d2.img",
	COUNTER_AUTH, 0, JPKI_ERR_REFUSED, "R11: "},
    {"R9: renewal within 3 months of expiry", AT_RENEWAL, PROC_RENEW, A,
	"a1.img", COUNTER_BOTH, 0, JPKI_OK, NULL},
    {"R7: loss reported by the resident", NONE, PROC_REPORT_LOST, A, NULL,
	0, 0, JPKI_OK, NULL},
    {"a loss reported twice", NONE, PROC_REPORT_LOST, A, NULL, 0, 0,
	JPKI_ERR_NOTFOUND, "resident "},
    {"a loss reported twice, with the card", NONE, PROC_REPORT_LOST, A,
	"a1.img", 0, 0, JPKI_ERR_CONFLICT, "card "},
    {"R11: a lost card gets nothing", NONE, PROC_ISSUE, A, "a1.img",
	COUNTER_AUTH, 0, JPKI_ERR_REFUSED, "R11: "},
    {"R7: after a loss, no delivery", NONE, PROC_DELIVER, A, "a9.img",
	COUNTER_BOTH, 0, JPKI_ERR_REFUSED, "R7: "},
    {"R7: reissue after the loss", NONE, PROC_REISSUE, A, "a2.img",
	COUNTER_BOTH, 0, JPKI_OK, NULL},
    {"R7: the reissued card reported lost by the card", NONE,
	PROC_REPORT_LOST, A, "a2.img", 0, 0, JPKI_OK, NULL},
};

static int
run(struct ca *ca, const struct rule_case *c, int64_t rid, const char *card,
    struct counter_receipt *rc)
{
	struct counter_pins pins = {"HOLDER1", "1234", "5678"};
	struct counter_visit v = {"clerk-unit", {NULL, NULL}, NULL, NULL, NULL};

	switch (c->proc) {
	case PROC_DELIVER:
		return counter_deliver(ca, rid, card, c->types, &pins, &v, rc);
	case PROC_REISSUE:
		return counter_reissue(ca, rid, card, c->types, &pins, &v, rc);
	case PROC_ISSUE:
		return counter_issue(ca, card, c->types, &pins, &v, rc);
	case PROC_RENEW:
		return counter_renew(ca, card, c->types, &pins, &v, rc);
	case PROC_REPORT_LOST:
		return counter_report_lost(ca, card, card ? 0 : rid, &v, rc);
	case PROC_PIN_RESET:
		return counter_reset_pin(ca, card, c->pin, c->pin == PIN_SIGN ?
		    "NEWPASS1" : "9876", &v, rc);
	case PROC_UPDATE_CARD:
		return counter_update_card(ca, card, &v, rc);
	}
	return JPKI_ERR_INTERNAL;
}

/* The clock two months before A's newest authentication certificate
 * expires. */
static int
newest_auth(void *arg, const struct cert_record *c)
{
	int64_t *na = arg;

	if (c->ca == CERT_AUTH && c->status == CERT_STATUS_VALID &&
	    c->not_after > *na)
		*na = c->not_after;
	return 0;
}

static void
set_clock_before_expiry(struct ca *ca, int64_t rid)
{
	int64_t na = 0;
	char when[26];

	CHECK_INT(store_cert_list(datadir_store(ca_datadir(ca)), rid,
	    newest_auth, &na), JPKI_OK);
	CHECK(na > 0);
	iso8601_format_jst(na - 60 * 86400, when);
	setenv("JPKI_NOW", when, 1);
}

static int
add_resident(struct ca *ca, const char *number, const char *name,
    const char *birth, int64_t *id)
{
	struct counter_register_input in = {.number = number, .name = name,
	    .address = "東京都清瀬市中里1-1", .birth = birth,
	    .gender = "female"};
	struct resident r;
	int rv;

	if ((rv = counter_register_parse(ca_datadir(ca), &in, &r)) ||
	    (rv = counter_register_add(ca_datadir(ca), &r, "unit")))
		return rv;
	*id = r.id;
	return JPKI_OK;
}

static void
blank_card(const char *data, const char *path, enum card_kind kind)
{
	uint8_t master[CARD_ISSUER_KEY_LEN];
	char key[128];

	snprintf(key, sizeof(key), "%s/issuer-master.key", data);
	CHECK_INT(card_issuer_master_load(key, master), JPKI_OK);
	CHECK_INT(card_image_create(path, kind, master, NULL), JPKI_OK);
	jpki_wipe(master, sizeof(master));
}

int
main(void)
{
	struct ca *ca = NULL;
	int64_t ids[NOBODY + 1] = {0};
	char data[80], path[128];

	setenv("JPKI_NOW", "2026-04-01T10:00:00+09:00", 1);
	snprintf(dir, sizeof(dir), "/tmp/test_check_agrees.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(data, sizeof(data), "%s/data", dir);
	CHECK_INT(support_ca_new(data, CA_KEYS_CA | CA_KEYS_OCSP, &ca),
	    JPKI_OK);
	if (ca == NULL)
		return test_summary();
	CHECK_INT(add_resident(ca, "123456789018", "Unit Aki", "1990-05-05",
	    &ids[A]), JPKI_OK);
	CHECK_INT(add_resident(ca, "000000000019", "Unit Bun", "2015-06-01",
	    &ids[B]), JPKI_OK);
	CHECK_INT(add_resident(ca, "000000000035", "Unit Chie", "1980-02-02",
	    &ids[C]), JPKI_OK);
	CHECK_INT(add_resident(ca, "000000000027", "Unit Dai", "1950-01-01",
	    &ids[D]), JPKI_OK);
	snprintf(path, sizeof(path), "%s/juki.img", dir);
	blank_card(data, path, CARD_JUKI);
	snprintf(path, sizeof(path), "%s/stray.img", dir);
	blank_card(data, path, CARD_MYNUMBER);

	for (size_t i = 0; i < JPKI_ARRAY_LEN(cases); i++) {
		const struct rule_case *c = &cases[i];
		const int new_card = c->proc == PROC_DELIVER ||
		    c->proc == PROC_REISSUE;
		struct counter_check_in in;
		struct counter_check_out out;
		struct counter_receipt rc;
		char said[512], card[128];
		int checked, done, failed = test_failed;

		if (c->setup == DECEASE_D) {
			struct counter_register_change ch = {.deceased = 1};
			int revoked = 0;

			CHECK_INT(counter_register_change(ca, ids[D], &ch,
			    "unit", &revoked), JPKI_OK);
		} else if (c->setup == AT_RENEWAL) {
			set_clock_before_expiry(ca, ids[A]);
		}
		if (c->card != NULL)
			snprintf(card, sizeof(card), "%s/%s", dir, c->card);
		memset(&in, 0, sizeof(in));
		in.proc = c->proc;
		in.resident_id = ids[c->who];
		in.card_path = c->card != NULL && !new_card ? card : NULL;
		in.types = c->types;
		in.pin_kind = c->pin;
		checked = counter_check(ca, &in, &out);
		snprintf(said, sizeof(said), "%s", jpki_errmsg());
		jpki_errclear();
		done = run(ca, c, ids[c->who], c->card ? card : NULL, &rc);

		CHECK_INT(checked, done);
		CHECK_INT(done, c->want);
		if (done != JPKI_OK) {
			if (new_card)
				CHECK(access(card, F_OK) != 0);
			CHECK_STR(said, jpki_errmsg());
			CHECK(strncmp(jpki_errmsg(), c->words,
			    strlen(c->words)) == 0);
		} else if (c->proc != PROC_REPORT_LOST &&
		    c->proc != PROC_PIN_RESET) {
			CHECK_INT(out.certs, rc.nissued);
		}
		if (c->want == JPKI_OK && c->proc == PROC_DELIVER)
			CHECK_STR(out.note, rc.note);
		if (test_failed != failed)
			fprintf(stderr, "  in case %zu: %s (check: %d '%s'; "
			    "procedure: %d '%s')\n", i + 1, c->what, checked,
			    said, done, jpki_errmsg());
		jpki_errclear();
	}

	support_ca_close(&ca);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return test_summary();
}
