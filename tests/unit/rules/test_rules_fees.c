/*
 * Unit tests of fees (R7): the lines each procedure charges with the
 * default table (reissue after loss = 800 + 200 yen), zero-yen lines kept
 * for the receipt, config overrides by item name, and refusals of unknown
 * items and impossible amounts.
 */
#include "rules/rules.h"
#include "test.h"

#define NONE (-1)

static void
test_each_procedure_charges_its_lines(void)
{
	static const struct {
		enum procedure p;
		int certs;
		int items[RULES_FEE_LINES_MAX]; /* NONE-padded */
		int yen[RULES_FEE_LINES_MAX];
		long total;
	} table[] = {
	    {PROC_DELIVER, 2, {FEE_CARD_DELIVERY, FEE_CERT_ISSUE}, {0, 0}, 0},
	    {PROC_DELIVER, 0, {FEE_CARD_DELIVERY, NONE}, {0, 0}, 0},
	    {PROC_ISSUE, 1, {FEE_CERT_ISSUE, NONE}, {0, 0}, 0},
	    {PROC_ISSUE, 2, {FEE_CERT_ISSUE, NONE}, {0, 0}, 0},
	    {PROC_ISSUE, 0, {NONE, NONE}, {0, 0}, 0},
	    {PROC_RENEW, 2, {FEE_CERT_RENEW, NONE}, {0, 0}, 0},
	    {PROC_RENEW, 1, {FEE_CERT_RENEW, NONE}, {0, 0}, 0},
	    /* R7: 800 for the card, 200 for the certificates on it */
	    {PROC_REISSUE, 2,
		{FEE_CARD_REISSUE, FEE_CERTS_ON_REISSUED_CARD}, {800, 200},
		1000},
	    {PROC_REISSUE, 1,
		{FEE_CARD_REISSUE, FEE_CERTS_ON_REISSUED_CARD}, {800, 200},
		1000},
	    {PROC_REISSUE, 0, {FEE_CARD_REISSUE, NONE}, {800, 0},
		800},
	    {PROC_PIN_RESET, 0, {FEE_PIN_RESET, NONE}, {0, 0}, 0},
	    /* a loss report and a card update charge nothing */
	    {PROC_REPORT_LOST, 0, {NONE, NONE}, {0, 0}, 0},
	    {PROC_UPDATE_CARD, 0, {NONE, NONE}, {0, 0}, 0},
	    {(enum procedure)0, 2, {NONE, NONE}, {0, 0}, 0},
	};
	struct fee_table t;

	rules_fee_defaults(&t);
	for (size_t i = 0; i < JPKI_ARRAY_LEN(table); i++) {
		struct fee_line lines[RULES_FEE_LINES_MAX + 1];
		size_t want_n = 0, n;

		while (want_n < RULES_FEE_LINES_MAX &&
		    table[i].items[want_n] != NONE)
			want_n++;
		n = rules_fees_for(&t, table[i].p, table[i].certs, lines,
		    JPKI_ARRAY_LEN(lines));
		CHECK_INT(n, want_n);
		if (n != want_n) {
			fprintf(stderr, "    row %zu\n", i);
			continue;
		}
		for (size_t j = 0; j < n; j++) {
			CHECK_INT(lines[j].item, table[i].items[j]);
			CHECK_INT(lines[j].yen, table[i].yen[j]);
		}
		CHECK_INT(rules_fees_total(lines, n), table[i].total);
	}
}

static void
test_short_output_gets_the_first_lines_and_the_full_count(void)
{
	struct fee_table t;
	struct fee_line line = {FEE_PIN_RESET, -1};

	rules_fee_defaults(&t);
	CHECK_INT(rules_fees_for(&t, PROC_REISSUE, 2, &line, 1), 2);
	CHECK_INT(line.item, FEE_CARD_REISSUE);
	CHECK_INT(line.yen, 800);
	CHECK_INT(rules_fees_for(&t, PROC_REISSUE, 2, NULL, 0), 2);
}

static void
test_configured_fee_replaces_the_default(void)
{
	struct fee_table t;
	struct fee_line lines[RULES_FEE_LINES_MAX];
	size_t n;

	rules_fee_defaults(&t);
	CHECK_INT(rules_fee_set(&t, "cert_issue", 300), JPKI_OK);
	CHECK_INT(rules_fee_set(&t, "card_reissue", 1000), JPKI_OK);
	n = rules_fees_for(&t, PROC_ISSUE, 2, lines, RULES_FEE_LINES_MAX);
	CHECK_INT(n, 1);
	CHECK_INT(lines[0].yen, 300);
	n = rules_fees_for(&t, PROC_REISSUE, 2, lines,
	    RULES_FEE_LINES_MAX);
	CHECK_INT(rules_fees_total(lines, n), 1200);
	/* zero is a valid fee, and the maximum is */
	CHECK_INT(rules_fee_set(&t, "card_reissue", 0), JPKI_OK);
	CHECK_INT(rules_fee_set(&t, "pin_reset", RULES_FEE_MAX_YEN), JPKI_OK);
	CHECK_INT(t.yen[FEE_PIN_RESET], RULES_FEE_MAX_YEN);
}

static void
test_unknown_item_or_bad_amount_refused_and_table_unchanged(void)
{
	static const struct {
		const char *name;
		long yen;
	} table[] = {
	    {"card_reissue", -1},
	    {"card_reissue", RULES_FEE_MAX_YEN + 1},
	    {"cert_issue", -800},
	    {"card-reissue", 100},
	    {"Card_reissue", 100},
	    {"", 100},
	    {NULL, 100},
	};
	struct fee_table t, before;

	rules_fee_defaults(&t);
	before = t;
	for (size_t i = 0; i < JPKI_ARRAY_LEN(table); i++) {
		jpki_errclear();
		CHECK_INT(rules_fee_set(&t, table[i].name, table[i].yen),
		    JPKI_ERR_INPUT);
		CHECK(strncmp(jpki_errmsg(), "fee", 3) == 0);
	}
	CHECK(memcmp(&t, &before, sizeof(t)) == 0);
}

static void
test_every_item_has_a_unique_name_and_a_label(void)
{
	struct fee_table t;

	for (int i = 0; i < FEE__COUNT; i++) {
		const char *name = rules_fee_item_name((enum fee_item)i);

		CHECK(name != NULL);
		CHECK(rules_fee_item_label_ja((enum fee_item)i) != NULL);
		if (name == NULL)
			continue;
		for (int j = 0; j < i; j++)
			CHECK(strcmp(name,
			    rules_fee_item_name((enum fee_item)j)) != 0);
		/* the name is the config key */
		rules_fee_defaults(&t);
		CHECK_INT(rules_fee_set(&t, name, 12345), JPKI_OK);
		CHECK_INT(t.yen[i], 12345);
	}
	CHECK_STR(rules_fee_item_name(FEE_CARD_REISSUE), "card_reissue");
	CHECK_STR(rules_fee_item_name(FEE_CERTS_ON_REISSUED_CARD),
	    "certs_on_reissued_card");
	CHECK_STR(rules_fee_item_label_ja(FEE_CARD_REISSUE),
	    "個人番号カード再交付手数料");
	CHECK(rules_fee_item_name(FEE__COUNT) == NULL);
	CHECK(rules_fee_item_label_ja((enum fee_item)-1) == NULL);
}

/* One table names the counter's procedures: for the receipt, the audit
 * log's counter.<name> and the store. */
static void
test_every_procedure_has_one_name_and_a_label(void)
{
	static const struct {
		enum procedure p;
		const char *name, *label_ja;
	} table[] = {
	    {PROC_DELIVER, "deliver", "個人番号カード交付"},
	    {PROC_ISSUE, "issue", "電子証明書発行"},
	    {PROC_RENEW, "renew", "電子証明書更新"},
	    {PROC_REPORT_LOST, "report-lost", "紛失届（電子証明書失効）"},
	    {PROC_REISSUE, "reissue", "個人番号カード再交付"},
	    {PROC_PIN_RESET, "reset-pin", "暗証番号初期化"},
	    {PROC_UPDATE_CARD, "update-card", "券面事項変更"},
	};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(table); i++) {
		CHECK_STR(rules_procedure_name(table[i].p), table[i].name);
		CHECK_STR(rules_procedure_label_ja(table[i].p),
		    table[i].label_ja);
	}
	CHECK(rules_procedure_name((enum procedure)0) == NULL);
	CHECK(rules_procedure_name((enum procedure)(PROC_UPDATE_CARD + 1)) ==
	    NULL);
	CHECK(rules_procedure_label_ja((enum procedure)-1) == NULL);
}

int
main(void)
{
	test_each_procedure_charges_its_lines();
	test_short_output_gets_the_first_lines_and_the_full_count();
	test_configured_fee_replaces_the_default();
	test_unknown_item_or_bad_amount_refused_and_table_unchanged();
	test_every_item_has_a_unique_name_and_a_label();
	test_every_procedure_has_one_name_and_a_label();
	return test_summary();
}
