/*
 * decide.c: what every counter procedure's rules are given and what they
 * say (counter_int.h: struct counter_plan).  The inputs are read from the
 * store the way the procedure reads them -- the holder, the card brought
 * or the resident's cards, the certificates already on the card -- and
 * judged by the pure rule functions (rules.h) and the counter's own rules
 * (R1, R7, R9's gain, R11, R2).  The procedures call it before their slow
 * work and again inside their transaction; counter_check() calls it for
 * the page before the clerk commits, after opening the card as the
 * procedure opens it.  One function, so the two cannot drift apart.
 */
#include "counter/counter_int.h"

#include <stdio.h>
#include <string.h>

static const char *
pin_noun(enum pin_kind k)
{
	return k == PIN_SIGN ? "signing password" : k == PIN_AUTH ?
	    "authentication PIN" : "card-info PIN";
}

static const char *
type_noun(enum cert_type t)
{
	return t == CERT_SIGN ? "signing" : "authentication";
}

/* The holder lives here: not deceased, not moved away (転出: a card's
 * procedures, but for a loss report, are the municipality moved to's). */
static int
holder_here(const struct resident *res)
{
	if (res->status == RESIDENT_DECEASED)
		return jpki_fail(JPKI_ERR_REFUSED, "R11: the register records "
		    "the holder (resident %lld) as deceased",
		    (long long)res->id);
	if (res->status == RESIDENT_MOVED_AWAY)
		return jpki_fail(JPKI_ERR_REFUSED, "R11: the register records "
		    "the holder (resident %lld) as moved away (転出); the "
		    "municipality moved to does this procedure",
		    (long long)res->id);
	return JPKI_OK;
}

static int
card_usable(const struct card_record *card)
{
	if (card->status == CARD_LOST)
		return jpki_fail(JPKI_ERR_REFUSED, "R11: card %s was reported "
		    "lost; it is not usable", card->serial);
	if (card->status != CARD_ACTIVE)
		return jpki_fail(JPKI_ERR_REFUSED, "R11: card %s was returned; "
		    "it is not usable", card->serial);
	return JPKI_OK;
}

/* The card brought: R1 by what the chip says it is, then its record and
 * its holder. */
static int
read_card(struct store *s, struct counter_plan *p)
{
	int r;

	/* R1: certificates on the Basic Resident Register card have ended. */
	if (p->card_kind != CARD_MYNUMBER)
		return jpki_fail(JPKI_ERR_REFUSED, "R1: card %s is a Basic "
		    "Resident Register (Juki) card; only My Number cards get "
		    "certificates", p->card_serial);
	if ((r = store_card_by_serial(s, p->card_serial, &p->card)) ==
	    JPKI_ERR_NOTFOUND)
		return jpki_fail(JPKI_ERR_NOTFOUND, "card %s is not registered "
		    "at this counter (cards are made by card delivery)",
		    p->card_serial);
	if (r != JPKI_OK)
		return r;
	p->have_card = 1;
	if ((r = store_resident_get(s, p->card.resident_id, &p->res)))
		return r;
	p->have_res = 1;
	return JPKI_OK;
}

/* ---- certificates already on the card ---- */

struct existing_scan {
	int64_t card_id, now;
	enum cert_type type;
	struct counter_existing *x;
};

static int
scan_existing(void *arg, const struct cert_record *c)
{
	struct existing_scan *e = arg;
	struct counter_existing *x = e->x;

	if (c->card_id != e->card_id || c->ca != e->type)
		return 0;
	x->found = 1;
	x->last = *c;
	x->last.der = NULL;
	if (c->status == CERT_STATUS_VALID && e->now <= c->not_after) {
		x->have_valid = 1;
		x->valid = *c;
		x->valid.der = NULL;
	}
	return 0;
}

static void
eligibility_for(const struct counter_plan *p, enum cert_op op,
    enum cert_type type, const struct counter_existing *x,
    struct eligibility *el)
{
	memset(el, 0, sizeof(*el));
	el->op = op;
	el->type = type;
	el->card_kind = p->card.kind;
	el->card_usable = p->card.status == CARD_ACTIVE;
	el->card_expiry = p->card.expiry;
	el->birth = p->res.birth;
	el->holder_alive = p->res.status != RESIDENT_DECEASED;
	/* R11: the card must carry the register's current facts. */
	el->facts_current = p->card.facts_version == p->res.facts_version;
	el->now = p->now;
	if (x == NULL || !x->found)
		el->existing = EXISTING_NONE;
	else if (x->have_valid) {
		el->existing = EXISTING_VALID;
		el->existing_not_after = x->valid.not_after;
	} else if (x->last.status == CERT_STATUS_REVOKED)
		el->existing = EXISTING_REVOKED;
	else
		el->existing = EXISTING_EXPIRED;
}

/* Issue (R8) or renew (R9) onto the card brought: every rule for every
 * certificate asked for. */
static int
decide_certs(struct store *s, struct counter_plan *p)
{
	static const enum cert_type order[] = {CERT_SIGN, CERT_AUTH};
	int renew = p->proc == PROC_RENEW, r;

	if ((r = read_card(s, p)) != JPKI_OK)
		return r;
	/* (A deceased holder: the eligibility rules say so, below.) */
	if (p->res.status == RESIDENT_MOVED_AWAY)
		return holder_here(&p->res);
	for (size_t i = 0; i < JPKI_ARRAY_LEN(order); i++) {
		enum cert_type t = order[i];
		struct existing_scan e = {p->card.id, p->now, t, &p->x[t]};
		struct eligibility el;

		if (!(p->types & (t == CERT_SIGN ? COUNTER_SIGN : COUNTER_AUTH)))
			continue;
		memset(&p->x[t], 0, sizeof(p->x[t]));
		if ((r = store_cert_list(s, p->res.id, scan_existing, &e)))
			return r;
		eligibility_for(p, renew ? CERT_OP_RENEW : CERT_OP_ISSUE, t,
		    &p->x[t], &el);
		if ((r = rules_check_eligibility(&el)) != JPKI_OK)
			return r;
		/* A certificate never outlives its card: renewing one that
		 * already ends with the card would gain nothing. */
		if (renew && rules_cert_not_after(p->res.birth, p->now,
		    p->card.expiry) <= p->x[t].valid.not_after) {
			char day[11];

			jdate_format(p->card.expiry, day);
			return jpki_fail(JPKI_ERR_REFUSED, "R9: renewing the %s "
			    "certificate would not extend it: the card "
			    "itself expires %s (a new card first)",
			    type_noun(t), day);
		}
	}
	return JPKI_OK;
}

/* ---- a new card: delivery, reissue after loss ---- */

static int
scan_cards(void *arg, const struct card_record *c)
{
	struct counter_cards *l = arg;

	l->have_lost = 0;
	if (c->status == CARD_ACTIVE) {
		l->have_active = 1;
		l->active = *c;
	} else if (c->status == CARD_LOST) {
		l->have_lost = 1;
		l->lost = *c;
	}
	return 0;
}

static int
decide_new_card(struct store *s, struct counter_plan *p)
{
	struct counter_cards *cards = &p->cards;
	struct jdate today = jst_date_of(p->now);
	int r;

	p->sign = (p->types & COUNTER_SIGN) != 0;
	p->auth = (p->types & COUNTER_AUTH) != 0;
	if ((r = store_resident_get(s, p->resident_id, &p->res)) != JPKI_OK)
		return r;
	p->have_res = 1;
	if ((r = holder_here(&p->res)) != JPKI_OK ||
	    (r = store_cards_of(s, p->res.id, scan_cards, cards)))
		return r;
	/* The old card has expired: it is handed back at delivery of the
	 * new one (its certificates ended with it). */
	if (cards->have_active && p->proc == PROC_DELIVER &&
	    jdate_cmp(today, cards->active.expiry) > 0) {
		p->return_expired = 1;
		cards->have_active = 0;
	}
	if (cards->have_active)
		return jpki_fail(JPKI_ERR_REFUSED, "resident %lld already holds "
		    "card %s; a lost card is reported lost first, then "
		    "reissued", (long long)p->res.id, cards->active.serial);
	if (p->proc == PROC_REISSUE && !cards->have_lost)
		return jpki_fail(JPKI_ERR_REFUSED, "R7: reissue is for a card "
		    "reported lost; resident %lld has none (deliver a first "
		    "card instead)", (long long)p->res.id);
	if (p->proc == PROC_DELIVER && cards->have_lost)
		return jpki_fail(JPKI_ERR_REFUSED, "R7: resident %lld lost card "
		    "%s; a new card is a reissue after loss",
		    (long long)p->res.id, cards->lost.serial);
	/* R8e: by default both certificates; under 15 the signing one is
	 * left out, and the receipt says from when it can be had. */
	if (p->sign && rules_age_on(p->res.birth, today) < RULES_SIGN_MIN_AGE) {
		struct eligibility el;

		memset(&el, 0, sizeof(el));
		el.op = CERT_OP_ISSUE;
		el.type = CERT_SIGN;
		el.card_kind = CARD_MYNUMBER;
		el.card_usable = el.holder_alive = el.facts_current = 1;
		el.card_expiry = rules_card_expiry(p->res.birth, today);
		el.birth = p->res.birth;
		el.now = p->now;
		rules_check_eligibility(&el);
		snprintf(p->note, sizeof(p->note), "%s", jpki_errmsg());
		jpki_errclear();
		p->sign = 0;
	}
	return JPKI_OK;
}

/* ---- loss, PIN reset, card update ---- */

static int
decide_report_lost(struct store *s, struct counter_plan *p)
{
	int r;

	if (p->card_serial != NULL) {
		if ((r = read_card(s, p)) != JPKI_OK)
			return r;
	} else {
		if ((r = store_resident_get(s, p->resident_id, &p->res)))
			return r;
		p->have_res = 1;
		if ((r = store_card_current(s, p->resident_id, &p->card)) ==
		    JPKI_ERR_NOTFOUND)
			return jpki_fail(JPKI_ERR_NOTFOUND, "resident %lld holds "
			    "no active card", (long long)p->resident_id);
		if (r != JPKI_OK)
			return r;
		p->have_card = 1;
	}
	if (p->card.status == CARD_LOST)
		return jpki_fail(JPKI_ERR_CONFLICT, "card %s was already "
		    "reported lost", p->card.serial);
	return card_usable(&p->card);
}

static int
decide_reset_pin(struct store *s, struct counter_plan *p)
{
	int r;

	/* R2: the holder comes with the card; the card answers for itself. */
	if ((r = read_card(s, p)) != JPKI_OK ||
	    (r = card_usable(&p->card)) != JPKI_OK ||
	    (r = holder_here(&p->res)) != JPKI_OK)
		return r;
	if (!p->pin_set)
		return jpki_fail(JPKI_ERR_REFUSED, "R2: the %s was never set on "
		    "card %s (it is set when its certificate is issued)",
		    pin_noun(p->pin_kind), p->card.serial);
	return JPKI_OK;
}

static int
decide_update_card(struct store *s, struct counter_plan *p)
{
	int r;

	if ((r = read_card(s, p)) != JPKI_OK ||
	    (r = card_usable(&p->card)) != JPKI_OK ||
	    (r = holder_here(&p->res)) != JPKI_OK)
		return r;
	/* A card written before the card-info layout of issue 14 (or
	 * without its collation numbers), or without its card face, is
	 * rewritten all the same, and so is one given a new photo. */
	if (p->card.facts_version == p->res.facts_version && !p->card_outdated)
		return jpki_fail(JPKI_ERR_CONFLICT, "card %s already carries the "
		    "register's current facts", p->card.serial);
	return JPKI_OK;
}

int
counter_plan_decide(struct store *s, struct counter_plan *p)
{
	const int card_proc = p->proc == PROC_ISSUE || p->proc == PROC_RENEW ||
	    p->proc == PROC_PIN_RESET || p->proc == PROC_UPDATE_CARD;

	p->have_res = p->have_card = 0;
	p->return_expired = p->sign = p->auth = 0;
	p->note[0] = '\0';
	memset(&p->cards, 0, sizeof(p->cards));
	memset(p->x, 0, sizeof(p->x));
	if (card_proc && p->card_serial == NULL)
		return jpki_fail(JPKI_ERR_USAGE, "the card's image is required");
	switch (p->proc) {
	case PROC_DELIVER:
	case PROC_REISSUE:
		return decide_new_card(s, p);
	case PROC_ISSUE:
	case PROC_RENEW:
		return decide_certs(s, p);
	case PROC_REPORT_LOST:
		return decide_report_lost(s, p);
	case PROC_PIN_RESET:
		return decide_reset_pin(s, p);
	case PROC_UPDATE_CARD:
		return decide_update_card(s, p);
	}
	return jpki_fail(JPKI_ERR_USAGE, "no such procedure");
}

/* ---- the check before the clerk commits ---- */

int
counter_check(struct ca *ca, const struct counter_check_in *in,
    struct counter_check_out *out)
{
	struct store *s = datadir_store(ca_datadir(ca));
	const int card_proc = in->proc == PROC_ISSUE ||
	    in->proc == PROC_RENEW || in->proc == PROC_PIN_RESET ||
	    in->proc == PROC_UPDATE_CARD;
	struct counter_plan p;
	struct card_session cs;
	struct card_record current;
	const char *path = in->card_path;
	struct counter_waiting waiting;
	int r, have_cs = 0;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	memset(&waiting, 0, sizeof(waiting));
	p.proc = in->proc;
	p.types = in->types;
	p.resident_id = in->resident_id;
	p.pin_kind = in->pin_kind;
	if ((r = jpki_now_checked(&p.now)) != JPKI_OK)
		return r;
	if (rules_procedure_name(in->proc) == NULL)
		return jpki_fail(JPKI_ERR_USAGE, "no such procedure");
	if (in->proc == PROC_PIN_RESET && rules_pin_kind_name(in->pin_kind) ==
	    NULL)
		return jpki_fail(JPKI_ERR_USAGE, "the PIN to reset: sign, auth "
		    "or cardinfo");
	/* Asked about a resident for a procedure on a card: the card the
	 * holder would bring is the resident's active one. */
	if (card_proc && path == NULL && in->reader == NULL) {
		if ((r = store_card_current(s, in->resident_id, &current)) ==
		    JPKI_ERR_NOTFOUND)
			return jpki_fail(JPKI_ERR_REFUSED, "R11: the holder "
			    "brings the card: resident %lld has no active card",
			    (long long)in->resident_id);
		if (r != JPKI_OK)
			return r;
		path = current.image_path;
	}
	if ((path != NULL || in->reader != NULL) &&
	    in->proc != PROC_DELIVER && in->proc != PROC_REISSUE) {
		/* A card in a reader is only read: what waits to be rolled
		 * forward is applied by the procedure itself, so the check
		 * says what waits and judges on the card as it will be. */
		if (in->reader != NULL)
			r = counter_card_open_reader(ca, in->reader, 0, NULL,
			    &cs);
		else
			r = counter_card_open(ca, path, &cs);
		if (r != JPKI_OK)
			goto out;
		have_cs = 1;
		p.card_serial = cs.serial;
		p.card_kind = cs.kind;
		snprintf(out->card_serial, sizeof(out->card_serial), "%s",
		    p.card_serial);
		if (in->proc == PROC_PIN_RESET) {
			struct card_status st;

			if ((r = card_client_status(cs.t, &st)) != JPKI_OK)
				goto out;
			p.pin_set = st.pin[in->pin_kind].initialised;
		}
		if (cs.in_reader && (r = counter_card_writes_waiting(s,
		    cs.serial, &waiting)) != JPKI_OK)
			goto out;
		out->writes_waiting = waiting.rows;
		counter_waiting_receipts(&waiting, out->waiting_receipts,
		    sizeof(out->waiting_receipts));
		if (in->proc == PROC_UPDATE_CARD) {
			int info_bad, face_bad;

			if ((r = counter_card_outdated_parts(&cs, s, &info_bad,
			    &face_bad)) != JPKI_OK)
				goto out;
			/* What the waiting writes replace, the card will hold
			 * when the procedure runs: a signed card-info AP, a
			 * card-face AP, both made by a committed procedure. */
			if ((waiting.ops & COUNTER_WAIT_INFO) &&
			    (waiting.ops & COUNTER_WAIT_INFO_SIGNATURE))
				info_bad = 0;
			if (waiting.ops & COUNTER_WAIT_FACE)
				face_bad = 0;
			p.card_outdated = info_bad || face_bad ||
			    in->photo != 0;
		}
	}
	r = counter_plan_decide(s, &p);
	if (p.have_res)
		out->resident_id = p.res.id;
	if (p.have_card && out->card_serial[0] == '\0')
		snprintf(out->card_serial, sizeof(out->card_serial), "%s",
		    p.card.serial);
	if (r != JPKI_OK)
		goto out;
	if (in->proc == PROC_DELIVER || in->proc == PROC_REISSUE) {
		out->certs = p.sign + p.auth;
		out->sign_left_out = p.note[0] != '\0';
		snprintf(out->note, sizeof(out->note), "%s", p.note);
	} else if (in->proc == PROC_ISSUE || in->proc == PROC_RENEW) {
		out->certs = ((in->types & COUNTER_SIGN) != 0) +
		    ((in->types & COUNTER_AUTH) != 0);
		for (int t = CERT_SIGN; t <= CERT_AUTH; t++)
			if (p.x[t].have_valid)
				out->renewal_opens[t] = rules_renewal_opens_on(
				    p.x[t].valid.not_after);
	}
out:
	if (have_cs)
		counter_card_close(&cs);
	return r;
}
