/*
 * api_check.c: GET /api/check?procedure=P&resident=ID|card=NAME[&types=T]
 * — which rule allows or refuses procedure P now, for the page to show
 * before the clerk commits.  Built from the store as the procedure reads
 * it and judged by the same pure rule functions (rules.h); it changes
 * nothing, and the procedure judges again when it runs.
 *
 * Answer: {"allowed": bool, "rules": ["R9", ...], "message": the rule
 * function's own words (a refusal) or what the rule allows, "fees":
 * [{item, label, yen}], "total_yen"}.
 */
#include "webui/webui_int.h"

#include <stdio.h>
#include <string.h>

struct verdict {
	int allowed;
	json_t *rules;
	char message[512];
	enum procedure proc;
	int certs;                  /* certificates the procedure loads */
};

static void
say(struct verdict *v, int allowed, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
say(struct verdict *v, int allowed, const char *rule, const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(v->message);

	v->allowed = allowed;
	if (rule != NULL)
		json_array_append_new(v->rules, json_string(rule));
	if (n > 0 && n + 2 < sizeof(v->message)) {
		memcpy(v->message + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(v->message + n, sizeof(v->message) - n, fmt, ap);
	va_end(ap);
}

/* The refusal of a library rule function, as it words it. */
static void
say_refusal(struct verdict *v)
{
	const char *m = jpki_errmsg();
	char rule[4] = "";

	if (m[0] == 'R' && m[1] >= '0' && m[1] <= '9')
		snprintf(rule, sizeof(rule), "%.*s", m[2] >= '0' && m[2] <= '9' ?
		    3 : 2, m);
	say(v, 0, rule[0] ? rule : NULL, "%s", m);
	jpki_errclear();
}

struct existing {
	int64_t card_id, now;
	enum cert_type type;
	int found, valid;
	struct cert_record last, valid_cert;
};

static int
scan_existing(void *arg, const struct cert_record *c)
{
	struct existing *x = arg;

	if (c->card_id != x->card_id || c->ca != x->type)
		return 0;
	x->found = 1;
	x->last = *c;
	x->last.der = NULL;
	if (c->status == CERT_STATUS_VALID && x->now <= c->not_after) {
		x->valid = 1;
		x->valid_cert = *c;
		x->valid_cert.der = NULL;
	}
	return 0;
}

/* Issue (R8) or renew (R9) on a card: rules_check_eligibility for each
 * certificate type asked for. */
static int
check_certs(struct store *s, const struct card_record *card,
    const struct resident *res, int types, int renew, int64_t now,
    struct verdict *v)
{
	static const enum cert_type order[] = {CERT_SIGN, CERT_AUTH};
	int r;

	v->allowed = 1;
	for (size_t i = 0; i < JPKI_ARRAY_LEN(order); i++) {
		enum cert_type t = order[i];
		struct existing x;
		struct eligibility el;

		if (!(types & (t == CERT_SIGN ? COUNTER_SIGN : COUNTER_AUTH)))
			continue;
		memset(&x, 0, sizeof(x));
		x.card_id = card->id;
		x.now = now;
		x.type = t;
		if ((r = store_cert_list(s, res->id, scan_existing, &x)))
			return r;
		memset(&el, 0, sizeof(el));
		el.op = renew ? CERT_OP_RENEW : CERT_OP_ISSUE;
		el.type = t;
		el.card_kind = card->kind;
		el.card_usable = card->status == CARD_ACTIVE;
		el.card_expiry = card->expiry;
		el.birth = res->birth;
		el.holder_alive = res->status != RESIDENT_DECEASED;
		el.facts_current = card->facts_version == res->facts_version;
		el.now = now;
		if (!x.found)
			el.existing = EXISTING_NONE;
		else if (x.valid) {
			el.existing = EXISTING_VALID;
			el.existing_not_after = x.valid_cert.not_after;
		} else
			el.existing = x.last.status == CERT_STATUS_REVOKED ?
			    EXISTING_REVOKED : EXISTING_EXPIRED;
		if (rules_check_eligibility(&el) != JPKI_OK) {
			say_refusal(v);
			return JPKI_OK;
		}
		v->certs++;
		if (renew) {
			char opens[11];

			jdate_format(rules_renewal_opens_on(
			    x.valid_cert.not_after), opens);
			say(v, v->allowed, "R9", "the %s certificate: renewal "
			    "is possible from 3 months before expiry (opened "
			    "%s)", rules_cert_type_name(t), opens);
		} else {
			say(v, v->allowed, "R8", "the %s certificate may be "
			    "issued onto this card", rules_cert_type_name(t));
		}
	}
	return JPKI_OK;
}

struct cards_scan {
	int active, lost;
	struct card_record a;
};

static int
scan_cards(void *arg, const struct card_record *c)
{
	struct cards_scan *x = arg;

	if (c->status == CARD_ACTIVE) {
		x->active = 1;
		x->a = *c;
	} else if (c->status == CARD_LOST)
		x->lost = 1;
	return 0;
}

static void
check_new_card(const struct resident *res, const struct cards_scan *cs,
    int reissue, int types, int64_t now, struct verdict *v)
{
	struct jdate today = jst_date_of(now);

	if (res->status == RESIDENT_DECEASED) {
		say(v, 0, "R11", "R11: the register records the holder as "
		    "deceased");
		return;
	}
	if (cs->active && !(jdate_cmp(today, cs->a.expiry) > 0 && !reissue)) {
		say(v, 0, NULL, "resident %lld already holds card %s; a lost "
		    "card is reported lost first, then reissued",
		    (long long)res->id, cs->a.serial);
		return;
	}
	if (reissue && !cs->lost) {
		say(v, 0, "R7", "R7: reissue is for a card reported lost; "
		    "resident %lld has none (deliver a first card instead)",
		    (long long)res->id);
		return;
	}
	if (!reissue && cs->lost) {
		say(v, 0, "R7", "R7: resident %lld lost a card; a new card is "
		    "a reissue after loss", (long long)res->id);
		return;
	}
	v->certs = ((types & COUNTER_SIGN) != 0) + ((types & COUNTER_AUTH) != 0);
	if (reissue)
		say(v, 1, "R7", "certificates on a card reissued after loss "
		    "cost 200 yen; reissuing the card itself costs 800 yen "
		    "more");
	else
		say(v, 1, "R8", "certificates are loaded by default when the "
		    "card is made (R8a)");
	if ((types & COUNTER_SIGN) &&
	    rules_age_on(res->birth, today) < RULES_SIGN_MIN_AGE) {
		v->certs--;
		say(v, 1, "R8e", "R8e: under 15 on %04d-%02d-%02d: no signing "
		    "certificate", today.y, today.m, today.d);
	}
}

unsigned
api_check(struct call *k)
{
	struct store *s = datadir_store(k->dd);
	const char *proc = webui_query(k, "procedure");
	struct verdict v;
	struct resident res;
	struct card_record card;
	struct cards_scan cs;
	struct fee_line fees[RULES_FEE_LINES_MAX];
	char path[JPKI_PATH_MAX];
	int64_t now = jpki_now(), rid = 0;
	int types = COUNTER_BOTH, r, have_card = 0;
	size_t nfees;
	json_t *fl;

	memset(&v, 0, sizeof(v));
	memset(&card, 0, sizeof(card));
	memset(&cs, 0, sizeof(cs));
	v.rules = json_array();
	if (proc == NULL) {
		r = jpki_fail(JPKI_ERR_INPUT, "procedure is needed");
		goto fail;
	}
	if (webui_query(k, "types") != NULL) {
		const char *t = webui_query(k, "types");

		if (strcmp(t, "none") == 0)
			types = 0;
		else if (counter_types_parse(t, &types) != JPKI_OK) {
			r = jpki_fail(JPKI_ERR_INPUT, "types: sign, auth, both "
			    "or none");
			goto fail;
		}
	}
	/* The card (by image name) and its holder, or the resident. */
	if (webui_query(k, "card") != NULL) {
		struct card_transport *t = NULL;
		struct card_status st;

		if ((r = webui_card_path(k->dd, webui_query(k, "card"), path,
		    sizeof(path))) != JPKI_OK ||
		    (r = card_transport_image(path, &t)) != JPKI_OK ||
		    (r = card_client_status(t, &st)) != JPKI_OK) {
			card_transport_free(&t);
			goto fail;
		}
		card_transport_free(&t);
		if ((r = store_card_by_serial(s, st.serial, &card)) != JPKI_OK) {
			jpki_errclear();
			say(&v, 0, "R11", "card %s is not registered here",
			    st.serial);
			goto answer;
		}
		rid = card.resident_id;
		have_card = 1;
	} else if ((r = webui_id(k, "resident", &rid)) != JPKI_OK)
		goto fail;
	if ((r = store_resident_get(s, rid, &res)) != JPKI_OK ||
	    (r = store_cards_of(s, rid, scan_cards, &cs)) != JPKI_OK)
		goto fail;
	if (strcmp(proc, "deliver") == 0 || strcmp(proc, "reissue") == 0) {
		v.proc = proc[0] == 'd' ? PROC_DELIVER : PROC_REISSUE;
		check_new_card(&res, &cs, v.proc == PROC_REISSUE, types, now, &v);
	} else if (strcmp(proc, "issue") == 0 || strcmp(proc, "renew") == 0) {
		v.proc = proc[0] == 'i' ? PROC_ISSUE : PROC_RENEW;
		if (!have_card && !cs.active) {
			say(&v, 0, "R11", "R11: the holder brings the card: "
			    "resident %lld has no active card", (long long)rid);
		} else if ((r = check_certs(s, have_card ? &card : &cs.a, &res,
		    types, v.proc == PROC_RENEW, now, &v)) != JPKI_OK)
			goto fail;
	} else if (strcmp(proc, "report-lost") == 0) {
		v.proc = PROC_REPORT_LOST;
		if (!cs.active && !have_card)
			say(&v, 0, NULL, "resident %lld has no active card to "
			    "report lost", (long long)rid);
		else
			say(&v, 1, "R7", "the card is marked lost and its valid "
			    "certificates revoked (keyCompromise) at once; a new "
			    "card is then a reissue (R7)");
	} else if (strcmp(proc, "reset-pin") == 0) {
		v.proc = PROC_PIN_RESET;
		if (!have_card)
			say(&v, 0, "R2", "R2: the holder comes in person and "
			    "brings the card");
		else if (card.status != CARD_ACTIVE)
			say(&v, 0, "R2", "R2: card %s is not in use (%s)",
			    card.serial, card.status == CARD_LOST ? "lost" :
			    "returned");
		else
			say(&v, 1, "R2", "a forgotten password, or a certificate "
			    "locked by wrong entries, is unlocked and "
			    "re-initialised at the counter; the holder comes "
			    "in person and brings the card");
	} else if (strcmp(proc, "update-card") == 0) {
		v.proc = PROC_UPDATE_CARD;
		if (!have_card)
			say(&v, 0, "R11", "R11: the holder brings the card");
		else if (card.facts_version == res.facts_version)
			say(&v, 0, "R11", "card %s already carries the "
			    "register's current facts", card.serial);
		else
			say(&v, 1, "R11", "the card is brought up to the "
			    "register's current name and address (R11: a card "
			    "with current name and address)");
	} else if (strcmp(proc, "proxy-apply") == 0) {
		say(&v, 1, "R14", "proxy without the form: no same-day "
		    "issuance; the form is mailed to the holder and the proxy "
		    "completes at a second visit");
	} else if (strcmp(proc, "proxy-complete") == 0) {
		say(&v, 1, "R13", "proxy with the form: the holder's card, the "
		    "sealed form with the PINs, the proxy's own identity "
		    "document; staff enter the PINs written on the form");
	} else {
		r = jpki_fail(JPKI_ERR_INPUT, "procedure: deliver, issue, renew, "
		    "report-lost, reissue, reset-pin, update-card, "
		    "proxy-apply or proxy-complete");
		goto fail;
	}
answer:
	fl = json_array();
	nfees = v.proc ? rules_fees_for(&datadir_config(k->dd)->fees,
	    v.proc, v.certs, fees, JPKI_ARRAY_LEN(fees)) : 0;
	if (nfees > JPKI_ARRAY_LEN(fees))
		nfees = JPKI_ARRAY_LEN(fees);
	for (size_t i = 0; i < nfees; i++)
		json_array_append_new(fl, json_pack("{s:s, s:s, s:i}", "item",
		    rules_fee_item_name(fees[i].item), "label",
		    rules_fee_item_label_ja(fees[i].item), "yen", fees[i].yen));
	return webui_ok(k, json_pack("{s:b, s:o, s:s, s:o, s:I, s:I}",
	    "allowed", v.allowed, "rules", v.rules, "message", v.message,
	    "fees", fl, "total_yen", (json_int_t)rules_fees_total(fees, nfees),
	    "resident", (json_int_t)rid));
fail:
	json_decref(v.rules);
	return webui_fail(k, r);
}
