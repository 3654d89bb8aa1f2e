/*
 * api_read.c: what the pages show and change nothing: resident search,
 * the resident's page (facts, cards, certificates with status and expiry,
 * receipts, history), the cards present, stored receipts, the dashboard,
 * the audit log with the chain's verdict, and the PDFs made here.
 */
#include "webui/webui_int.h"

#include <PCSC/winscard.h>
#include <dirent.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEARCH_LIMIT 50
#define AUDIT_LIMIT_MAX 1000
#define DASHBOARD_LIST_MAX 100
/* A resident's history is looked for in the newest entries of the audit
 * log only, so that the page stays quick on a long log. */
#define HISTORY_SCAN_MAX 20000

static json_t *
date_json(struct jdate d)
{
	char s[11];

	if (!jdate_valid(d))
		return json_null();
	jdate_format(d, s);
	return json_string(s);
}

static json_t *
instant_json(int64_t t)
{
	char s[26];

	if (t == 0)
		return json_null();
	iso8601_format_jst(t, s);
	return json_string(s);
}

static json_t *
resident_json(const struct resident *r)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s}",
	    "id", (json_int_t)r->id, "number", r->number,
	    "surname", r->surname, "given", r->given, "kana", r->name_kana,
	    "address", r->address, "birth", date_json(r->birth),
	    "gender", rules_gender_name(r->gender),
	    "municipality", r->municipality,
	    "status", store_resident_status_name(r->status));
}

static int
search_one(void *arg, const struct resident *r)
{
	json_array_append_new(arg, resident_json(r));
	return 0;
}

unsigned
api_search(struct call *k)
{
	const char *q = webui_query(k, "q");
	json_t *arr = json_array();
	int r;

	if (q == NULL || q[0] == '\0' || strlen(q) > 256 ||
	    !utf8_valid_line(q, strlen(q))) {
		json_decref(arr);
		jpki_fail(JPKI_ERR_INPUT, "search: a name, kana, individual "
		    "number or card number");
		return webui_fail(k, JPKI_ERR_INPUT);
	}
	if ((r = store_resident_search(datadir_store(k->dd), q,
	    SEARCH_LIMIT, search_one, arr)) != JPKI_OK) {
		json_decref(arr);
		return webui_fail(k, r);
	}
	return webui_ok(k, json_pack("{s:o}", "residents", arr));
}

static const char *
card_status_name(enum card_record_status s)
{
	return s == CARD_ACTIVE ? "active" : s == CARD_LOST ? "lost" :
	    "returned";
}

static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static json_t *
card_json(const struct card_record *c, const struct resident *res)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:s, s:b}",
	    "id", (json_int_t)c->id, "serial", c->serial,
	    "kind", rules_card_kind_name(c->kind),
	    "status", card_status_name(c->status),
	    "issued_on", date_json(c->issued_on),
	    "expiry", date_json(c->expiry),
	    "image", base_name(c->image_path),
	    "facts_current", res == NULL ||
	    c->facts_version == res->facts_version);
}

struct page {
	json_t *arr;
	const struct resident *res;
	int64_t now;
};

static int
card_one(void *arg, const struct card_record *c)
{
	struct page *p = arg;

	json_array_append_new(p->arr, card_json(c, p->res));
	return 0;
}

static json_t *
cert_json(const struct cert_record *c, int64_t now)
{
	struct jdate opens = rules_renewal_opens_on(c->not_after);

	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:s, s:o, s:o}",
	    "serial", c->serial, "type", rules_cert_type_name(c->ca),
	    "status", ca_cert_status_name(c, now),
	    "not_before", instant_json(c->not_before),
	    "not_after", instant_json(c->not_after),
	    "revoked_at", c->status == CERT_STATUS_REVOKED ?
	    instant_json(c->revoked_at) : json_null(),
	    "card_id", (json_int_t)c->card_id,
	    "reason", c->status == CERT_STATUS_REVOKED ?
	    store_revocation_reason_name(c->reason) : "",
	    "renewal_opens", date_json(opens),
	    "expiry_date", date_json(jst_date_of(c->not_after)));
}

static int
cert_one(void *arg, const struct cert_record *c)
{
	struct page *p = arg;

	json_array_append_new(p->arr, cert_json(c, p->now));
	return 0;
}

static json_t *
receipt_json(const struct receipt_record *rc)
{
	enum procedure proc = 0;

	for (int p = PROC_DELIVER; p <= PROC_UPDATE_CARD; p++)
		if (strcmp(rules_procedure_name((enum procedure)p),
		    rc->procedure) == 0)
			proc = (enum procedure)p;
	return json_pack("{s:I, s:o, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, "
	    "s:s}", "number", (json_int_t)rc->id, "at", instant_json(rc->at),
	    "clerk", rc->clerk, "procedure", rc->procedure,
	    "label", proc ? rules_procedure_label_ja(proc) : rc->procedure,
	    "resident", (json_int_t)rc->resident_id,
	    "total_yen", (json_int_t)rc->total_yen,
	    "holder_doc_type", rc->holder_doc_type,
	    "proxy_name", rc->proxy_name, "proxy_doc_type", rc->proxy_doc_type,
	    "form", rc->form);
}

static int
receipt_one(void *arg, const struct receipt_record *rc)
{
	json_array_append_new(arg, receipt_json(rc));
	return 0;
}

/* The audit entries about a resident: those whose subject is the
 * resident, one of the resident's cards or certificates, or whose details
 * name the resident. */
struct history {
	json_t *arr;
	json_t *subjects;           /* object used as a set */
	int64_t resident_id;
};

static int
history_one(void *arg, const struct audit_entry *e)
{
	struct history *h = arg;
	json_t *d = json_loads(e->detail, 0, NULL), *rid;

	rid = json_object_get(d, "resident");
	if (json_object_get(h->subjects, e->subject) == NULL &&
	    !(json_is_integer(rid) && json_integer_value(rid) ==
	    h->resident_id)) {
		json_decref(d);
		return 0;
	}
	json_array_append_new(h->arr, json_pack("{s:I, s:o, s:s, s:s, s:s, "
	    "s:o}", "seq", (json_int_t)e->seq, "at", instant_json(e->at),
	    "actor", e->actor, "action", e->action, "subject", e->subject,
	    "detail", d ? d : json_null()));
	return 0;
}

static void
history_subjects(struct history *h, json_t *cards, json_t *certs)
{
	size_t i;
	json_t *v;
	char s[64];

	snprintf(s, sizeof(s), "resident:%lld", (long long)h->resident_id);
	json_object_set_new(h->subjects, s, json_true());
	json_array_foreach(cards, i, v) {
		snprintf(s, sizeof(s), "card:%s",
		    json_string_value(json_object_get(v, "serial")));
		json_object_set_new(h->subjects, s, json_true());
	}
	json_array_foreach(certs, i, v)
		json_object_set_new(h->subjects,
		    json_string_value(json_object_get(v, "serial")), json_true());
}

static int
parse_tail_id(const char *tail, int64_t *id)
{
	char *end;
	long long v = strtoll(tail, &end, 10);

	if (tail[0] < '0' || tail[0] > '9' || *end != '\0' || v <= 0)
		return jpki_fail(JPKI_ERR_INPUT, "not a number: '%.20s'", tail);
	*id = v;
	return JPKI_OK;
}

unsigned
api_resident(struct call *k)
{
	struct store *s = datadir_store(k->dd);
	struct resident res;
	struct page cards = {json_array(), &res, 0},
	    certs = {json_array(), &res, jpki_now()};
	json_t *receipts = json_array();
	struct history h = {json_array(), json_object(), 0};
	long entries = 0;
	int64_t id;
	int r;

	if ((r = parse_tail_id(k->tail, &id)) != JPKI_OK ||
	    (r = store_resident_get(s, id, &res)) != JPKI_OK)
		goto fail;
	h.resident_id = id;
	if ((r = store_cards_of(s, id, card_one, &cards)) != JPKI_OK ||
	    (r = store_cert_list(s, id, cert_one, &certs)) != JPKI_OK ||
	    (r = store_receipt_list(s, id, 0, 0, 0, receipt_one, receipts)))
		goto fail;
	history_subjects(&h, cards.arr, certs.arr);
	if ((r = store_audit_count(s, &entries)) != JPKI_OK ||
	    (r = store_audit_list(s, entries > HISTORY_SCAN_MAX ?
	    entries - HISTORY_SCAN_MAX : 0, 0, history_one, &h)) != JPKI_OK)
		goto fail;
	json_decref(h.subjects);
	return webui_ok(k, json_pack("{s:o, s:o, s:o, s:o, s:o, s:i}",
	    "resident", resident_json(&res), "cards", cards.arr,
	    "certificates", certs.arr, "receipts", receipts, "history", h.arr,
	    "age", rules_age_on(res.birth, jst_date_of(certs.now))));
fail:
	json_decref(cards.arr);
	json_decref(certs.arr);
	json_decref(receipts);
	json_decref(h.arr);
	json_decref(h.subjects);
	return webui_fail(k, r);
}

/* ---- stored receipts ---- */

static int
line_one(void *arg, int line, const char *item, long yen)
{
	const char *label = item;

	for (int i = 0; i < FEE__COUNT; i++)
		if (strcmp(rules_fee_item_name((enum fee_item)i), item) == 0)
			label = rules_fee_item_label_ja((enum fee_item)i);
	json_array_append_new(arg, json_pack("{s:i, s:s, s:s, s:I}", "line",
	    line, "item", item, "label", label, "yen", (json_int_t)yen));
	return 0;
}

static unsigned
receipt_pdf(struct call *k)
{
	char num[24];
	size_t n = strlen(k->tail) - 4;
	struct jbuf pdf;
	int64_t id;
	int r;

	if (n >= sizeof(num)) {
		jpki_fail(JPKI_ERR_INPUT, "not a number: '%.20s'", k->tail);
		return webui_fail(k, JPKI_ERR_INPUT);
	}
	memcpy(num, k->tail, n);
	num[n] = '\0';
	jbuf_init(&pdf);
	if ((r = parse_tail_id(num, &id)) != JPKI_OK ||
	    (r = counter_receipt_pdf(k->dd, id, &pdf)) != JPKI_OK) {
		jbuf_free(&pdf);
		return webui_fail(k, r);
	}
	k->raw = pdf.data;          /* handed over; freed after sending */
	k->raw_len = pdf.len;
	k->raw_type = "application/pdf";
	return k->status = MHD_HTTP_OK;
}

unsigned
api_receipt(struct call *k)
{
	struct store *s = datadir_store(k->dd);
	struct receipt_record rc;
	struct resident res;
	json_t *o, *lines = json_array();
	int64_t id;
	int r;

	/* /api/receipts/N.pdf: the receipt as paper. */
	if (strlen(k->tail) > 4 &&
	    strcmp(k->tail + strlen(k->tail) - 4, ".pdf") == 0) {
		json_decref(lines);
		return receipt_pdf(k);
	}
	if ((r = parse_tail_id(k->tail, &id)) != JPKI_OK ||
	    (r = store_receipt_get(s, id, &rc)) != JPKI_OK ||
	    (r = store_receipt_lines(s, id, line_one, lines)) != JPKI_OK ||
	    (r = store_resident_get(s, rc.resident_id, &res)) != JPKI_OK) {
		json_decref(lines);
		return webui_fail(k, r);
	}
	o = receipt_json(&rc);
	json_object_set_new(o, "fees", lines);
	json_object_set_new(o, "resident_name", json_sprintf("%s %s",
	    res.surname, res.given));
	json_object_set_new(o, "resident_number", json_string(res.number));
	if (rc.card_id != 0) {
		struct card_record c;

		if (store_card_get(s, rc.card_id, &c) == JPKI_OK)
			json_object_set_new(o, "card", json_string(c.serial));
		jpki_errclear();
	}
	return webui_ok(k, o);
}

/* ---- the cards present: images in the data directory, PC/SC readers ---- */

static json_t *
image_card(struct datadir *dd, const char *name)
{
	char path[JPKI_PATH_MAX];
	struct card_transport *t = NULL;
	struct card_status st;
	struct card_record c;
	json_t *o = json_pack("{s:s, s:s}", "source", "image", "name", name);

	if (datadir_path(dd, DATADIR_CARDS_DIR, name, path, sizeof(path)) ||
	    card_transport_image(path, &t) != JPKI_OK ||
	    card_client_status(t, &st) != JPKI_OK) {
		json_object_set_new(o, "error", json_string(jpki_errmsg()));
		jpki_errclear();
		card_transport_free(&t);
		return o;
	}
	card_transport_free(&t);
	json_object_set_new(o, "serial", json_string(st.serial));
	if (store_card_by_serial(datadir_store(dd), st.serial, &c) ==
	    JPKI_OK) {
		json_object_set_new(o, "resident", json_integer(c.resident_id));
		json_object_set_new(o, "status",
		    json_string(card_status_name(c.status)));
	}
	jpki_errclear();
	return o;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every PC/SC reader pcscd knows (real readers, vsmartcard's vpcd), each
 * with the card in it read through card_transport_pcsc, as `jpki card
 * --reader NAME` reads one. */
#define READERS_MAX 16
#define READER_NAMES_MAX 8192

static void
reader_card(struct datadir *dd, const char *reader, json_t *arr)
{
	struct card_transport *t = NULL;
	struct card_status st;
	struct card_record c;
	json_t *o = json_pack("{s:s, s:s}", "source", "pcsc", "name", reader);
	int r;

	if ((r = card_transport_pcsc_open(reader, CARD_PCSC_NOWAIT, &t)) !=
	    JPKI_OK ||
	    (r = card_client_status(t, &st)) != JPKI_OK) {
		/* Held by a procedure (an exclusive connection): refused at
		 * once, never waited for. */
		json_object_set_new(o, "error", json_string(jpki_errmsg()));
		if (r == JPKI_ERR_CONFLICT)
			json_object_set_new(o, "in_use", json_true());
	} else {
		json_object_set_new(o, "serial", json_string(st.serial));
		if (store_card_by_serial(datadir_store(dd), st.serial,
		    &c) == JPKI_OK) {
			json_object_set_new(o, "resident",
			    json_integer(c.resident_id));
			json_object_set_new(o, "status",
			    json_string(card_status_name(c.status)));
			json_object_set_new(o, "image",
			    json_string(base_name(c.image_path)));
		}
	}
	jpki_errclear();
	card_transport_free(&t);
	json_array_append_new(arr, o);
}

static void
reader_cards(struct datadir *dd, json_t *arr, json_t **note)
{
	SCARDCONTEXT ctx;
	DWORD len = 0;
	char *names = NULL;
	LONG rv;
	int n = 0;

	if ((rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL,
	    &ctx)) != SCARD_S_SUCCESS) {
		*note = json_sprintf("no PC/SC service (pcscd): %s",
		    pcsc_stringify_error(rv));
		return;
	}
	if ((rv = SCardListReaders(ctx, NULL, NULL, &len)) != SCARD_S_SUCCESS ||
	    len > READER_NAMES_MAX || (names = calloc(1, len + 1)) == NULL ||
	    (rv = SCardListReaders(ctx, NULL, names, &len)) !=
	    SCARD_S_SUCCESS) {
		*note = json_sprintf("no PC/SC readers: %s",
		    pcsc_stringify_error(rv));
		free(names);
		SCardReleaseContext(ctx);
		return;
	}
	SCardReleaseContext(ctx);
	for (const char *p = names; *p != '\0' && n < READERS_MAX;
	    p += strlen(p) + 1, n++)
		reader_card(dd, p, arr);
	free(names);
}

unsigned
api_cards(struct call *k)
{
	char dir[JPKI_PATH_MAX];
	json_t *arr = json_array(), *note = json_null();
	char *names[512];
	size_t n = 0;
	struct dirent *e;
	DIR *d;
	int r;

	if ((r = datadir_path(k->dd, DATADIR_CARDS_DIR, NULL, dir,
	    sizeof(dir))) != JPKI_OK) {
		json_decref(arr);
		return webui_fail(k, r);
	}
	if ((d = opendir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL && n < JPKI_ARRAY_LEN(names)) {
			size_t len = strlen(e->d_name);

			if (e->d_name[0] != '.' && len > 4 &&
			    strcmp(e->d_name + len - 4, ".img") == 0)
				names[n++] = strdup(e->d_name);
		}
		closedir(d);
	}
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (size_t i = 0; i < n; i++) {
		if (names[i] != NULL)
			json_array_append_new(arr, image_card(k->dd, names[i]));
		free(names[i]);
	}
	if (webui_query(k, "readers") != NULL)
		reader_cards(k->dd, arr, &note);
	return webui_ok(k, json_pack("{s:o, s:o}", "cards", arr,
	    "readers_note", note));
}

/* ---- dashboard ---- */

static int
expiring_one(void *arg, const struct cert_record *c)
{
	struct page *p = arg;
	json_t *o;
	struct resident res;

	if (json_array_size(p->arr) >= DASHBOARD_LIST_MAX)
		return 1;
	o = cert_json(c, p->now);
	json_object_set_new(o, "resident", json_integer(c->resident_id));
	if (store_resident_get((struct store *)p->res, c->resident_id, &res) ==
	    JPKI_OK)
		json_object_set_new(o, "name", json_sprintf("%s %s",
		    res.surname, res.given));
	jpki_errclear();
	json_array_append_new(p->arr, o);
	return 0;
}

unsigned
api_dashboard(struct call *k)
{
	struct store *s = datadir_store(k->dd);
	int64_t now = jpki_now();
	struct jdate today = jst_date_of(now);
	int64_t from = jst_instant(today, 0, 0, 0),
	    to = jst_instant(jdate_add_days(today, 1), 0, 0, 0);
	struct page expiring = {json_array(), (const void *)s, now},
	    revoked = {json_array(), (const void *)s, now};
	json_t *procs = json_array();
	char day[11];
	int r;

	jdate_format(today, day);
	if ((r = store_receipt_list(s, 0, from, to, DASHBOARD_LIST_MAX,
	    receipt_one, procs)) != JPKI_OK ||
	    (r = store_cert_expiring(s, now, jst_end_of_day(
	    jdate_add_months(today, 3)), expiring_one, &expiring)) ||
	    (r = store_revocation_recent(s, now - 30 * 86400,
	    DASHBOARD_LIST_MAX, expiring_one, &revoked)) != JPKI_OK) {
		json_decref(procs);
		json_decref(expiring.arr);
		json_decref(revoked.arr);
		return webui_fail(k, r);
	}
	return webui_ok(k, json_pack("{s:s, s:o, s:o, s:o}", "today", day,
	    "procedures", procs, "expiring", expiring.arr,
	    "revocations", revoked.arr));
}

/* ---- the audit log ---- */

struct audit_filter {
	json_t *arr;
	const char *actor, *action, *subject;
	long limit;
};

static int
audit_one(void *arg, const struct audit_entry *e)
{
	struct audit_filter *f = arg;
	char hash[65];
	json_t *d;

	if ((f->actor && strstr(e->actor, f->actor) == NULL) ||
	    (f->action && strstr(e->action, f->action) == NULL) ||
	    (f->subject && strstr(e->subject, f->subject) == NULL))
		return 0;
	for (int i = 0; i < 32; i++)
		snprintf(hash + 2 * i, 3, "%02x", e->hash[i]);
	d = json_loads(e->detail, 0, NULL);
	json_array_append_new(f->arr, json_pack("{s:I, s:o, s:s, s:s, s:s, "
	    "s:o, s:s}", "seq", (json_int_t)e->seq, "at", instant_json(e->at),
	    "actor", e->actor, "action", e->action, "subject", e->subject,
	    "detail", d ? d : json_string(e->detail), "hash", hash));
	/* Keep the newest `limit`: drop from the front. */
	if ((long)json_array_size(f->arr) > f->limit)
		json_array_remove(f->arr, 0);
	return 0;
}

static const char *
filter_text(struct call *k, const char *name)
{
	const char *v = webui_query(k, name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

unsigned
api_audit(struct call *k)
{
	struct store *s = datadir_store(k->dd);
	struct audit_filter f = {json_array(), filter_text(k, "actor"),
	    filter_text(k, "action"), filter_text(k, "subject"), 200};
	const char *lim = webui_query(k, "limit");
	char message[256] = "";
	long checked = 0;
	int r, verdict;

	if (lim != NULL && (f.limit = atol(lim)) <= 0)
		f.limit = 200;
	if (f.limit > AUDIT_LIMIT_MAX)
		f.limit = AUDIT_LIMIT_MAX;
	/* The verdict `jpki audit verify` gives, over the whole chain. */
	if ((verdict = store_audit_verify(s, &checked)) != JPKI_OK)
		snprintf(message, sizeof(message), "%s", jpki_errmsg());
	jpki_errclear();
	if ((r = store_audit_list(s, 0, 0, audit_one, &f)) != JPKI_OK) {
		json_decref(f.arr);
		return webui_fail(k, r);
	}
	return webui_ok(k, json_pack("{s:{s:s, s:I, s:s}, s:o}", "verify",
	    "verdict", verdict == JPKI_OK ? "ok" : "broken", "checked",
	    (json_int_t)checked, "message", message, "entries", f.arr));
}

/* ---- PDFs made here (forms, notices): <data>/documents ---- */

unsigned
api_document(struct call *k)
{
	char path[JPKI_PATH_MAX];
	struct jbuf data;
	size_t n = strlen(k->tail);
	int r, ok;

	/* Only names this server gave: form-N.pdf and
	 * notices-DATE/notice-N.pdf; [a-z0-9-] parts, one '/' at most, one
	 * '.' (the extension's). */
	ok = n > 4 && n < 128 && strcmp(k->tail + n - 4, ".pdf") == 0 &&
	    (strncmp(k->tail, "form-", 5) == 0 ||
	    strncmp(k->tail, "notices-", 8) == 0);
	for (size_t i = 0; ok && i < n - 4; i++) {
		char c = k->tail[i];

		ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || (c == '/' && i > 0 && k->tail[i - 1] != '/');
	}
	if (!ok) {
		jpki_fail(JPKI_ERR_NOTFOUND, "no such document");
		return webui_fail(k, JPKI_ERR_NOTFOUND);
	}
	jbuf_init(&data);
	if ((r = jpki_path(path, sizeof(path), "%s/%s", k->w->docs_dir,
	    k->tail)) != JPKI_OK ||
	    (r = file_read_all(path, 64 * 1024 * 1024, &data)) != JPKI_OK) {
		jbuf_free(&data);
		return webui_fail(k, r);
	}
	k->raw = data.data;         /* handed over; freed after sending */
	k->raw_len = data.len;
	k->raw_type = "application/pdf";
	return k->status = MHD_HTTP_OK;
}

/* ---- the fee table and rule facts the pages show ---- */

unsigned
api_rules(struct call *k)
{
	const struct jpki_config *c = datadir_config(k->dd);
	json_t *fees = json_object();

	for (int i = 0; i < FEE__COUNT; i++)
		json_object_set_new(fees, rules_fee_item_name((enum fee_item)i),
		    json_pack("{s:s, s:i}", "label",
		    rules_fee_item_label_ja((enum fee_item)i), "yen",
		    c->fees.yen[i]));
	return webui_ok(k, json_pack("{s:o, s:i, s:i}", "fees", fees,
	    "renewal_months", RULES_RENEWAL_MONTHS, "sign_min_age",
	    RULES_SIGN_MIN_AGE));
}
