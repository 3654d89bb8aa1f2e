/*
 * api_proc.c: the counter procedures, each a POST that calls the library
 * operation `jpki counter` calls (counter.h) with the signed-in clerk as
 * the clerk of record, and answers the receipt or the library's refusal
 * (its message names the rule).  PINs and check codes arrive in the JSON
 * body, are handed to the procedure and wiped; no answer carries one.
 *
 * GET /api/check tells the page, before the clerk commits, which rule
 * allows or refuses a procedure for this resident or card now: the same
 * pure rule functions (rules_check_eligibility, rules_fees_for) on what
 * the store holds.  The procedure checks everything again when it runs,
 * inside its transaction: that answer is the one that counts.
 */
#include "webui/webui_int.h"

#include <dirent.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- reading the request ---- */

static int
types_of(struct call *k, int *mask)
{
	const char *t = webui_str(k, "types");

	if (t == NULL)
		t = webui_query(k, "types");
	if (t != NULL && strcmp(t, "none") == 0) {
		*mask = 0;
		return JPKI_OK;
	}
	if (counter_types_parse(t ? t : "both", mask) != JPKI_OK)
		return jpki_fail(JPKI_ERR_INPUT, "types: sign, auth, both or "
		    "none");
	return JPKI_OK;
}

static void
pins_of(struct call *k, struct counter_pins *p)
{
	json_t *o = json_object_get(k->body, "pins");

	memset(p, 0, sizeof(*p));
	p->sign = webui_str_in(o, "sign");
	p->auth = webui_str_in(o, "auth");
	p->cardinfo = webui_str_in(o, "cardinfo");
}

static void
visit_of(struct call *k, struct counter_visit *v)
{
	memset(v, 0, sizeof(*v));
	v->clerk = k->who.clerk;
	v->holder_id.doc_type = webui_str(k, "id_doc");
	if (v->holder_id.doc_type != NULL && v->holder_id.doc_type[0] == '\0')
		v->holder_id.doc_type = NULL;
	v->holder_id.doc_number = webui_str(k, "id_number");
	if (v->holder_id.doc_number != NULL &&
	    v->holder_id.doc_number[0] == '\0')
		v->holder_id.doc_number = NULL;
}

int
webui_reader_of(const struct call *k, const char **reader)
{
	const char *name = webui_str(k, "reader");
	size_t n;

	if (name == NULL)
		name = webui_query(k, "reader");
	*reader = NULL;
	if (name == NULL)
		return JPKI_OK;
	if ((n = strlen(name)) == 0 || n > WEBUI_READER_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "reader: a PC/SC reader's "
		    "name, 1 to %d bytes", WEBUI_READER_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return jpki_fail(JPKI_ERR_INPUT, "reader: one line of "
			    "text");
	*reader = name;
	return JPKI_OK;
}

/* The card brought: an image ("card": a serial or an image name in the
 * data directory) or a card in a PC/SC reader on this host ("reader"),
 * one of the two.  *card gets the image's path, or NULL with v->reader
 * set.  Call after visit_of(). */
static int
card_of(struct call *k, struct counter_visit *v, char *path, size_t n,
    const char **card)
{
	const char *name = webui_str(k, "card");
	int r;

	if (name == NULL)
		name = webui_query(k, "card");
	*card = NULL;
	if ((r = webui_reader_of(k, &v->reader)) != JPKI_OK)
		return r;
	if (v->reader != NULL) {
		if (name != NULL)
			return jpki_fail(JPKI_ERR_INPUT, "card or reader, not "
			    "both");
		return JPKI_OK;
	}
	if ((r = webui_card_path(k->dd, name, path, n)) != JPKI_OK)
		return r;
	*card = path;
	return JPKI_OK;
}

static unsigned
receipt_answer(struct call *k, int r, const struct counter_receipt *rc)
{
	if (r != JPKI_OK)
		return webui_fail(k, r);
	return webui_ok(k, json_pack("{s:o}", "receipt",
	    counter_receipt_json(rc)));
}

/* A new card's image name: r<resident>-<n>.img, the first free n. */
static int
new_card_path(struct call *k, int64_t resident, char *path, size_t n)
{
	char name[64];
	struct stat st;
	int r;

	for (int i = 1; i < 1000; i++) {
		snprintf(name, sizeof(name), "r%lld-%d.img", (long long)resident,
		    i);
		if ((r = webui_card_path(k->dd, name, path, n)) != JPKI_OK)
			return r;
		if (stat(path, &st) != 0 && errno == ENOENT)
			return JPKI_OK;
	}
	return jpki_fail(JPKI_ERR_CONFLICT, "resident %lld: too many card "
	    "images", (long long)resident);
}

/* ---- the procedures ---- */

static unsigned
new_card(struct call *k, int reissue)
{
	char path[JPKI_PATH_MAX];
	struct counter_receipt rc;
	struct counter_pins pins;
	struct counter_visit v;
	int64_t resident;
	int mask, r;

	visit_of(k, &v);
	/* A blank card in a reader, or a new image in the data directory. */
	if ((r = webui_id(k, "resident", &resident)) != JPKI_OK ||
	    (r = types_of(k, &mask)) != JPKI_OK ||
	    (r = webui_reader_of(k, &v.reader)) != JPKI_OK ||
	    (v.reader == NULL && (r = new_card_path(k, resident, path,
	    sizeof(path))) != JPKI_OK))
		return webui_fail(k, r);
	pins_of(k, &pins);
	memset(&rc, 0, sizeof(rc));
	r = reissue ? counter_reissue(k->ca, resident, v.reader ? NULL : path,
	    mask, &pins, &v, &rc) : counter_deliver(k->ca, resident,
	    v.reader ? NULL : path, mask, &pins, &v, &rc);
	if (r == JPKI_OK) {
		receipt_answer(k, r, &rc);
		if (v.reader != NULL)
			json_object_set_new(k->out, "card_reader",
			    json_string(v.reader));
		else
			json_object_set_new(k->out, "card_image",
			    json_string(strrchr(path, '/') + 1));
		return k->status;
	}
	return webui_fail(k, r);
}

unsigned
api_proc_deliver(struct call *k)
{
	return new_card(k, 0);
}

unsigned
api_proc_reissue(struct call *k)
{
	return new_card(k, 1);
}

static unsigned
certs(struct call *k, int renew)
{
	char path[JPKI_PATH_MAX];
	struct counter_receipt rc;
	struct counter_pins pins;
	struct counter_visit v;
	const char *card;
	int mask, r;

	visit_of(k, &v);
	if ((r = card_of(k, &v, path, sizeof(path), &card)) != JPKI_OK ||
	    (r = types_of(k, &mask)) != JPKI_OK)
		return webui_fail(k, r);
	if (mask == 0) {
		jpki_fail(JPKI_ERR_INPUT, "types: sign, auth or both");
		return webui_fail(k, JPKI_ERR_INPUT);
	}
	pins_of(k, &pins);
	memset(&rc, 0, sizeof(rc));
	r = renew ? counter_renew(k->ca, card, mask, &pins, &v, &rc) :
	    counter_issue(k->ca, card, mask, &pins, &v, &rc);
	return receipt_answer(k, r, &rc);
}

unsigned
api_proc_issue(struct call *k)
{
	return certs(k, 0);
}

unsigned
api_proc_renew(struct call *k)
{
	return certs(k, 1);
}

unsigned
api_proc_report_lost(struct call *k)
{
	char path[JPKI_PATH_MAX];
	struct counter_receipt rc;
	struct counter_visit v;
	int64_t resident = 0;
	const char *card = NULL;
	int r, by_card = webui_str(k, "card") != NULL ||
	    webui_str(k, "reader") != NULL;

	visit_of(k, &v);
	if ((r = by_card ? card_of(k, &v, path, sizeof(path), &card) :
	    webui_id(k, "resident", &resident)) != JPKI_OK)
		return webui_fail(k, r);
	memset(&rc, 0, sizeof(rc));
	r = counter_report_lost(k->ca, card, resident, &v, &rc);
	return receipt_answer(k, r, &rc);
}

unsigned
api_proc_reset_pin(struct call *k)
{
	char path[JPKI_PATH_MAX];
	struct counter_receipt rc;
	struct counter_visit v;
	enum pin_kind pin;
	const char *kind = webui_str(k, "pin_kind"), *card;
	int r;

	visit_of(k, &v);
	if ((r = card_of(k, &v, path, sizeof(path), &card)) != JPKI_OK)
		return webui_fail(k, r);
	if (rules_pin_kind_parse(kind ? kind : "", &pin) != JPKI_OK) {
		jpki_fail(JPKI_ERR_INPUT, "pin_kind: sign, auth or cardinfo");
		return webui_fail(k, JPKI_ERR_INPUT);
	}
	memset(&rc, 0, sizeof(rc));
	r = counter_reset_pin(k->ca, card, pin, webui_str(k, "new_pin"), &v,
	    &rc);
	return receipt_answer(k, r, &rc);
}

unsigned
api_proc_update_card(struct call *k)
{
	char path[JPKI_PATH_MAX];
	struct counter_receipt rc;
	struct counter_visit v;
	const char *card;
	int r;

	visit_of(k, &v);
	if ((r = card_of(k, &v, path, sizeof(path), &card)) != JPKI_OK)
		return webui_fail(k, r);
	memset(&rc, 0, sizeof(rc));
	r = counter_update_card(k->ca, card, &v, &rc);
	return receipt_answer(k, r, &rc);
}

static void
proxy_of(struct call *k, struct proxy_person *p)
{
	json_t *o = json_object_get(k->body, "proxy");

	p->name = webui_str_in(o, "name");
	p->doc_type = webui_str_in(o, "doc_type");
	p->doc_number = webui_str_in(o, "doc_number");
}

unsigned
api_proc_proxy_apply(struct call *k)
{
	struct proxy_apply_result res;
	struct proxy_person proxy;
	enum form_purpose purpose;
	enum pin_kind pin = 0;
	const char *p = webui_str(k, "purpose"), *kind;
	char tmp[JPKI_PATH_MAX], final[JPKI_PATH_MAX], name[64], hex[17];
	char exp[11];
	int64_t resident;
	int types = 0, r;

	if ((r = webui_id(k, "resident", &resident)) != JPKI_OK)
		return webui_fail(k, r);
	if (counter_form_purpose_parse(p ? p : "", &purpose) != JPKI_OK) {
		jpki_fail(JPKI_ERR_INPUT, "purpose: issue, renew or reset-pin");
		return webui_fail(k, JPKI_ERR_INPUT);
	}
	if (purpose == FORM_PIN_RESET) {
		kind = webui_str(k, "pin_kind");
		if (rules_pin_kind_parse(kind ? kind : "", &pin) != JPKI_OK) {
			jpki_fail(JPKI_ERR_INPUT, "pin_kind: sign, auth or "
			    "cardinfo");
			return webui_fail(k, JPKI_ERR_INPUT);
		}
	} else if ((r = types_of(k, &types)) != JPKI_OK || types == 0) {
		jpki_fail(JPKI_ERR_INPUT, "types: sign, auth or both");
		return webui_fail(k, JPKI_ERR_INPUT);
	}
	proxy_of(k, &proxy);
	/* The form's number comes with the application: the PDF is written
	 * under a name of its own and renamed after. */
	webui_random_hex(hex, 8);
	if ((r = jpki_path(tmp, sizeof(tmp), "%s/form-new-%s.pdf",
	    k->w->docs_dir, hex)) != JPKI_OK ||
	    (r = counter_proxy_apply(k->ca, resident, purpose, types, pin,
	    &proxy, k->who.clerk, tmp, &res)) != JPKI_OK)
		return webui_fail(k, r);
	snprintf(name, sizeof(name), "form-%lld.pdf",
	    (long long)res.form_number);
	if (jpki_path(final, sizeof(final), "%s/%s", k->w->docs_dir, name) !=
	    JPKI_OK || rename(tmp, final) != 0)
		snprintf(name, sizeof(name), "%s", strrchr(tmp, '/') + 1);
	jpki_errclear();
	jdate_format(res.form_expiry, exp);
	return webui_ok(k, json_pack("{s:I, s:I, s:s, s:s, s:s}",
	    "application", (json_int_t)res.application_id,
	    "form", (json_int_t)res.form_number, "form_expiry", exp,
	    "purpose", counter_form_purpose_name(purpose),
	    "document", name));
}

unsigned
api_proc_proxy_complete(struct call *k)
{
	char path[JPKI_PATH_MAX];
	struct counter_receipt rc;
	struct counter_pins pins;
	struct proxy_person proxy;
	struct counter_visit where;
	const char *card;
	int64_t form = 0;
	int r;

	proxy_of(k, &proxy);
	memset(&rc, 0, sizeof(rc));
	/* The holder's card: an image, or the card in a PC/SC reader. */
	memset(&where, 0, sizeof(where));
	if ((r = card_of(k, &where, path, sizeof(path), &card)) != JPKI_OK)
		return webui_fail(k, r);
	/* No form: the library refuses with R14's words. */
	if (json_object_get(k->body, "form") != NULL &&
	    (r = webui_id(k, "form", &form)) != JPKI_OK)
		return webui_fail(k, r);
	pins_of(k, &pins);
	r = counter_proxy_complete(k->ca, form, 0, card, where.reader,
	    webui_str(k, "check_code"), &pins, &proxy, k->who.clerk, &rc);
	return receipt_answer(k, r, &rc);
}

static void
notices_progress(void *arg, size_t done, size_t total)
{
	(void)arg;
	(void)done;
	(void)total;
}

/* The notices made (notice-<form>.pdf), as names for GET /api/documents/. */
static json_t *
notice_pdfs(const char *dir, const char *rel)
{
	json_t *arr = json_array();
	struct dirent *e;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return arr;
	while ((e = readdir(d)) != NULL && json_array_size(arr) < 1000) {
		size_t n = strlen(e->d_name), digits;

		if (n < 12 || strncmp(e->d_name, "notice-", 7) != 0 ||
		    strcmp(e->d_name + n - 4, ".pdf") != 0)
			continue;
		digits = strspn(e->d_name + 7, "0123456789");
		if (digits == n - 11)
			json_array_append_new(arr, json_sprintf("%s/%s", rel,
			    e->d_name));
	}
	closedir(d);
	return arr;
}

unsigned
api_proc_notices(struct call *k)
{
	struct notice_run run;
	char dir[JPKI_PATH_MAX], rel[64], day[11];
	json_t *months = json_object_get(k->body, "within_months");
	struct jdate today = jst_date_of(jpki_now());
	int r, made = 0;

	memset(&run, 0, sizeof(run));
	run.within_months = json_is_integer(months) ?
	    (int)json_integer_value(months) : 3;
	if (run.within_months < 1 || run.within_months > 24) {
		jpki_fail(JPKI_ERR_INPUT, "within_months: 1 to 24");
		return webui_fail(k, JPKI_ERR_INPUT);
	}
	jdate_format(today, day);
	for (int i = 1; i < 100 && !made; i++) {
		snprintf(rel, sizeof(rel), "notices-%s-%d", day, i);
		if ((r = jpki_path(dir, sizeof(dir), "%s/%s", k->w->docs_dir,
		    rel)) != JPKI_OK)
			return webui_fail(k, r);
		made = mkdir(dir, 0700) == 0;
	}
	if (!made) {
		jpki_fail(JPKI_ERR_IO, "%s: cannot make a directory for the "
		    "notices", k->w->docs_dir);
		return webui_fail(k, JPKI_ERR_IO);
	}
	run.out_dir = dir;
	run.clerk = k->who.clerk;
	run.progress = notices_progress;
	if ((r = counter_notices(k->dd, &run)) != JPKI_OK) {
		rmdir(dir);
		return webui_fail(k, r);
	}
	return webui_ok(k, json_pack("{s:s, s:I, s:I, s:I, s:o}", "directory",
	    rel, "certificates", (json_int_t)run.certificates, "notices",
	    (json_int_t)run.notices_made, "already", (json_int_t)run.already,
	    "documents", notice_pdfs(dir, rel)));
}
