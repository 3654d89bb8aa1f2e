/*
 * fees.c: what each counter procedure costs (R7).  The amounts live in a
 * table the operator can override from the config (keys are the item
 * names); the defaults are the seed's: 800 yen to reissue a card after loss
 * and 200 yen for the certificates on the reissued card, everything else
 * at the counter free; 200 yen for a residence certificate from the kiosk
 * (what many municipalities charge there, less than at their counter).  A procedure yields receipt lines, zero-yen ones included, so a
 * receipt shows what was done even when it cost nothing.
 */
#include "rules.h"

#include <string.h>

static const struct {
	const char *name;      /* config key */
	const char *label_ja;  /* receipt label */
	int default_yen;
} fee_items[FEE__COUNT] = {
	[FEE_CARD_REISSUE] = {"card_reissue",
	    "個人番号カード再交付手数料", 800},
	[FEE_CERTS_ON_REISSUED_CARD] = {"certs_on_reissued_card",
	    "電子証明書発行手数料（カード再交付）", 200},
	[FEE_CARD_DELIVERY] = {"card_delivery",
	    "個人番号カード交付手数料", 0},
	[FEE_CERT_ISSUE] = {"cert_issue", "電子証明書発行手数料", 0},
	[FEE_CERT_RENEW] = {"cert_renew", "電子証明書更新手数料", 0},
	[FEE_PIN_RESET] = {"pin_reset", "暗証番号初期化手数料", 0},
	[FEE_KIOSK_RESIDENCE] = {"kiosk_residence",
	    "住民票の写し交付手数料（コンビニ交付）", 200},
};

static int
fee_item_known(enum fee_item item)
{
	return (int)item >= 0 && (int)item < FEE__COUNT;
}

void
rules_fee_defaults(struct fee_table *t)
{
	for (int i = 0; i < FEE__COUNT; i++)
		t->yen[i] = fee_items[i].default_yen;
}

const char *
rules_fee_item_name(enum fee_item item)
{
	return fee_item_known(item) ? fee_items[item].name : NULL;
}

const char *
rules_fee_item_label_ja(enum fee_item item)
{
	return fee_item_known(item) ? fee_items[item].label_ja : NULL;
}

int
rules_fee_set(struct fee_table *t, const char *name, long yen)
{
	for (int i = 0; name != NULL && i < FEE__COUNT; i++) {
		if (strcmp(fee_items[i].name, name) != 0)
			continue;
		if (yen < 0 || yen > RULES_FEE_MAX_YEN)
			return jpki_fail(JPKI_ERR_INPUT,
			    "fee %s: amount must be 0 to %ld yen", name,
			    RULES_FEE_MAX_YEN);
		t->yen[i] = (int)yen;
		return JPKI_OK;
	}
	return jpki_fail(JPKI_ERR_INPUT, "fee: unknown item %s",
	    name != NULL ? name : "(none)");
}

/* Append one line if there is room; count it either way. */
static void
add_line(const struct fee_table *t, enum fee_item item, struct fee_line *out,
    size_t max, size_t *n)
{
	if (*n < max) {
		out[*n].item = item;
		out[*n].yen = t->yen[item];
	}
	(*n)++;
}

size_t
rules_fees_for(const struct fee_table *t, enum procedure p, int certs_loaded,
    struct fee_line *out, size_t max)
{
	size_t n = 0;
	/* R7 prices the certificates of one visit together: one line. */
	int certs = certs_loaded > 0;

	switch (p) {
	case PROC_DELIVER:
		add_line(t, FEE_CARD_DELIVERY, out, max, &n);
		if (certs)
			add_line(t, FEE_CERT_ISSUE, out, max, &n);
		break;
	case PROC_ISSUE:
		if (certs)
			add_line(t, FEE_CERT_ISSUE, out, max, &n);
		break;
	case PROC_RENEW:
		if (certs)
			add_line(t, FEE_CERT_RENEW, out, max, &n);
		break;
	case PROC_REISSUE:
		add_line(t, FEE_CARD_REISSUE, out, max, &n);
		if (certs)
			add_line(t, FEE_CERTS_ON_REISSUED_CARD, out, max, &n);
		break;
	case PROC_PIN_RESET:
		add_line(t, FEE_PIN_RESET, out, max, &n);
		break;
	case PROC_REPORT_LOST:
	case PROC_UPDATE_CARD:
		break;
	}
	return n;
}

long
rules_fees_total(const struct fee_line *lines, size_t n)
{
	long total = 0;

	for (size_t i = 0; i < n; i++)
		total += lines[i].yen;
	return total;
}
