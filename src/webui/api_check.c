/*
 * api_check.c: GET /api/check?procedure=P&resident=ID|card=NAME[&types=T]
 * [&pin_kind=K] — which rule allows or refuses procedure P now, for the
 * page to show before the clerk commits.  The judgement is the
 * procedure's own (counter_check(): the same inputs read the same way, the
 * card opened as the procedure opens it); it changes nothing, and the
 * procedure judges again when it runs.
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

/* What the rule allows, in its words, once counter_check() has said yes. */
static void
say_allowed(struct verdict *v, const struct counter_check_in *in,
    const struct counter_check_out *out)
{
	static const enum cert_type order[] = {CERT_SIGN, CERT_AUTH};
	char day[11];

	v->allowed = 1;
	switch (in->proc) {
	case PROC_DELIVER:
	case PROC_REISSUE:
		if (in->proc == PROC_REISSUE)
			say(v, 1, "R7", "certificates on a card reissued after "
			    "loss cost 200 yen; reissuing the card itself costs "
			    "800 yen more");
		else
			say(v, 1, "R8", "certificates are loaded by default when "
			    "the card is made (R8a)");
		if (out->sign_left_out)
			say(v, 1, "R8e", "%s", out->note);
		break;
	case PROC_ISSUE:
	case PROC_RENEW:
		for (size_t i = 0; i < JPKI_ARRAY_LEN(order); i++) {
			enum cert_type t = order[i];

			if (!(in->types & (t == CERT_SIGN ? COUNTER_SIGN :
			    COUNTER_AUTH)))
				continue;
			if (in->proc == PROC_ISSUE) {
				say(v, 1, "R8", "the %s certificate may be issued "
				    "onto this card", rules_cert_type_name(t));
				continue;
			}
			jdate_format(out->renewal_opens[t], day);
			say(v, 1, "R9", "the %s certificate: renewal is possible "
			    "from 3 months before expiry (opened %s)",
			    rules_cert_type_name(t), day);
		}
		break;
	case PROC_REPORT_LOST:
		say(v, 1, "R7", "the card is marked lost and its valid "
		    "certificates revoked (keyCompromise) at once; a new card is "
		    "then a reissue (R7)");
		break;
	case PROC_PIN_RESET:
		say(v, 1, "R2", "a forgotten password, or a certificate locked by "
		    "wrong entries, is unlocked and re-initialised at the "
		    "counter; the holder comes in person and brings the card");
		break;
	case PROC_UPDATE_CARD:
		say(v, 1, "R11", "the card is brought up to the register's "
		    "current name and address (R11: a card with current name "
		    "and address)");
		break;
	}
}

/* The procedures counter_check() judges, by the names the pages use. */
static const struct {
	const char *name;
	enum procedure proc;
} checked[] = {
    {"deliver", PROC_DELIVER}, {"issue", PROC_ISSUE}, {"renew", PROC_RENEW},
    {"report-lost", PROC_REPORT_LOST}, {"reissue", PROC_REISSUE},
    {"reset-pin", PROC_PIN_RESET}, {"update-card", PROC_UPDATE_CARD},
};

unsigned
api_check(struct call *k)
{
	struct store *s = datadir_store(k->dd);
	const char *proc = webui_query(k, "procedure");
	struct counter_check_in in;
	struct counter_check_out out;
	struct verdict v;
	struct resident res;
	struct fee_line fees[RULES_FEE_LINES_MAX];
	char path[JPKI_PATH_MAX];
	int types = COUNTER_BOTH, r;
	size_t nfees;
	json_t *fl;

	memset(&v, 0, sizeof(v));
	memset(&in, 0, sizeof(in));
	memset(&out, 0, sizeof(out));
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
	/* The card (by image name, or in a PC/SC reader), or the resident
	 * (who must exist). */
	if ((r = webui_reader_of(k, &in.reader)) != JPKI_OK)
		goto fail;
	/* A blank card in a reader for a new card: the resident decides. */
	if (in.reader != NULL && (strcmp(proc, "deliver") == 0 ||
	    strcmp(proc, "reissue") == 0))
		in.reader = NULL;
	if (in.reader != NULL)
		/* counter_check() reads the card, rolling nothing forward. */
		r = JPKI_OK;
	else if (webui_query(k, "card") != NULL) {
		if ((r = webui_card_path(k->dd, webui_query(k, "card"), path,
		    sizeof(path))) != JPKI_OK)
			goto fail;
		in.card_path = path;
	} else if ((r = webui_id(k, "resident", &in.resident_id)) != JPKI_OK ||
	    (r = store_resident_get(s, in.resident_id, &res)) != JPKI_OK)
		goto fail;
	out.resident_id = in.resident_id;
	if (strcmp(proc, "proxy-apply") == 0) {
		say(&v, 1, "R14", "proxy without the form: no same-day "
		    "issuance; the form is mailed to the holder and the proxy "
		    "completes at a second visit");
		goto answer;
	}
	if (strcmp(proc, "proxy-complete") == 0) {
		say(&v, 1, "R13", "proxy with the form: the holder's card, the "
		    "sealed form with the PINs, the proxy's own identity "
		    "document; staff enter the PINs written on the form");
		goto answer;
	}
	for (size_t i = 0; i < JPKI_ARRAY_LEN(checked); i++)
		if (strcmp(proc, checked[i].name) == 0)
			v.proc = in.proc = checked[i].proc;
	if (in.proc == 0) {
		r = jpki_fail(JPKI_ERR_INPUT, "procedure: deliver, issue, renew, "
		    "report-lost, reissue, reset-pin, update-card, "
		    "proxy-apply or proxy-complete");
		goto fail;
	}
	in.types = types;
	if (in.proc == PROC_PIN_RESET) {
		const char *pk = webui_query(k, "pin_kind");

		in.pin_kind = PIN_AUTH;
		if (pk != NULL && rules_pin_kind_parse(pk, &in.pin_kind)) {
			r = jpki_fail(JPKI_ERR_INPUT, "pin_kind: sign, auth or "
			    "cardinfo");
			goto fail;
		}
	}
	/* The one judgement the procedure makes (counter_check): a refusal
	 * by a rule is the answer; anything else is an error. */
	r = counter_check(k->ca, &in, &out);
	if (r == JPKI_ERR_REFUSED || r == JPKI_ERR_CONFLICT ||
	    r == JPKI_ERR_NOTFOUND)
		say_refusal(&v);
	else if (r != JPKI_OK)
		goto fail;
	else {
		say_allowed(&v, &in, &out);
		v.certs = out.certs;
	}
	if (out.writes_waiting > 0)
		say(&v, v.allowed, NULL, "the card writes of receipt %s, committed "
		    "and not yet on the card, are applied first; judged on the "
		    "card as they leave it", out.waiting_receipts);
answer:
	fl = json_array();
	nfees = v.proc ? rules_fees_for(
	    &datadir_config(k->dd)->fees, v.proc, v.certs, fees,
	    JPKI_ARRAY_LEN(fees)) : 0;
	if (nfees > JPKI_ARRAY_LEN(fees))
		nfees = JPKI_ARRAY_LEN(fees);
	for (size_t i = 0; i < nfees; i++)
		json_array_append_new(fl, json_pack("{s:s, s:s, s:i}", "item",
		    rules_fee_item_name(fees[i].item), "label",
		    rules_fee_item_label_ja(fees[i].item), "yen", fees[i].yen));
	return webui_ok(k, json_pack("{s:b, s:o, s:s, s:o, s:I, s:I, s:i}",
	    "allowed", v.allowed, "rules", v.rules, "message", v.message,
	    "fees", fl, "total_yen", (json_int_t)rules_fees_total(fees, nfees),
	    "resident", (json_int_t)out.resident_id, "writes_waiting",
	    out.writes_waiting));
fail:
	json_decref(v.rules);
	return webui_fail(k, r);
}
