/*
 * forms.c: the inquiry/response form (照会書兼回答書) and the proxy
 * procedures of R12-R14.
 *
 * A form is what lets someone act for the holder: the holder receives it
 * (by mail after a proxy's first visit, R14, or on the back of an expiry
 * notice, R12), writes the PINs on it, seals it, and the proxy brings it.
 * Its secret check code, printed inside, is what shows the holder really
 * had it in hand: the store keeps only a salted SHA-256 of the code, and
 * the counter compares in constant time.  A form is used once; the use is
 * recorded in the same transaction as the certificates it brought (the
 * procedures' in_tx hook, counter.h), so a refused or failed completion
 * leaves the form unused and nothing else changed.
 */
#include "counter/counter_int.h"
#include "counter/forms.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 32 symbols, without 0/O and 1/I, which a holder copying the code by hand
 * would confuse.  5 bits a symbol: FORM_CODE_LEN symbols = 60 bits. */
static const char code_alphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

static const char code_hash_label[] = "openjpki inquiry form check code v1";

static const char *const purpose_names[] = {
	[FORM_ISSUE] = "issue",
	[FORM_RENEW] = "renew",
	[FORM_PIN_RESET] = "reset-pin",
};

const char *
counter_form_purpose_name(enum form_purpose p)
{
	if ((int)p < FORM_ISSUE || (int)p > FORM_PIN_RESET)
		return NULL;
	return purpose_names[p];
}

int
counter_form_purpose_parse(const char *s, enum form_purpose *out)
{
	for (int p = FORM_ISSUE; p <= FORM_PIN_RESET; p++)
		if (strcmp(s, purpose_names[p]) == 0) {
			*out = (enum form_purpose)p;
			return JPKI_OK;
		}
	return jpki_fail(JPKI_ERR_USAGE, "purpose: '%.20s' is not issue, "
	    "renew or reset-pin", s);
}

/* The code as the hash sees it: FORM_CODE_LEN symbols of the alphabet, in
 * upper case, hyphens and spaces dropped.  0 if it cannot be a code. */
static int
code_normalise(const char *in, char out[FORM_CODE_LEN + 1])
{
	size_t n = 0;

	if (strlen(in) > FORM_CODE_INPUT_MAX)
		return 0;
	for (; *in != '\0'; in++) {
		char ch = *in;

		if (ch == '-' || ch == ' ')
			continue;
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		if (ch == '\0' || strchr(code_alphabet, ch) == NULL ||
		    n == FORM_CODE_LEN)
			return 0;
		out[n++] = ch;
	}
	out[n] = '\0';
	return n == FORM_CODE_LEN;
}

static int
code_hash(const uint8_t salt[FORM_SALT_LEN], const char *code,
    uint8_t out[FORM_HASH_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok;

	ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, code_hash_label, sizeof(code_hash_label)) == 1 &&
	    EVP_DigestUpdate(md, salt, FORM_SALT_LEN) == 1 &&
	    EVP_DigestUpdate(md, code, strlen(code)) == 1 &&
	    EVP_DigestFinal_ex(md, out, NULL) == 1;
	EVP_MD_CTX_free(md);
	return ok ? JPKI_OK : jpki_fail(JPKI_ERR_CRYPTO, "form: SHA-256 "
	    "failed");
}

int
counter_form_prepare(struct inquiry_form *f, char code[FORM_CODE_BUF])
{
	uint8_t rnd[FORM_CODE_LEN];
	char plain[FORM_CODE_LEN + 1];
	int r;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    RAND_bytes(f->check_salt, sizeof(f->check_salt)) != 1) {
		r = jpki_fail(JPKI_ERR_CRYPTO, "form: no random bytes");
		goto out;
	}
	/* 256 is a multiple of 32: the low five bits are uniform. */
	for (size_t i = 0; i < FORM_CODE_LEN; i++)
		plain[i] = code_alphabet[rnd[i] & 31];
	plain[FORM_CODE_LEN] = '\0';
	if ((r = code_hash(f->check_salt, plain, f->check_hash)) != JPKI_OK)
		goto out;
	f->status = FORM_UNUSED;
	f->used_at = 0;
	snprintf(code, FORM_CODE_BUF, "%.4s-%.4s-%.4s", plain, plain + 4,
	    plain + 8);
out:
	jpki_wipe(rnd, sizeof(rnd));
	jpki_wipe(plain, sizeof(plain));
	return r;
}

int
counter_form_create_in_tx(struct store *s, struct inquiry_form *f,
    char code[FORM_CODE_BUF])
{
	int r;

	if (f->number == 0 && (r = store_form_number_reserve(s, f->created_at,
	    &f->number)) != JPKI_OK)
		return r;
	if ((r = counter_form_prepare(f, code)) != JPKI_OK)
		return r;
	if ((r = store_form_insert(s, f)) != JPKI_OK)
		jpki_wipe(code, FORM_CODE_BUF);
	return r;
}

int
counter_form_code_matches(const struct inquiry_form *f, const char *code)
{
	char plain[FORM_CODE_LEN + 1];
	uint8_t h[FORM_HASH_LEN];
	int same = 0;

	/* A malformed code is still hashed, so a wrong code of the wrong
	 * shape costs what a wrong code of the right shape does. */
	if (!code_normalise(code, plain))
		memset(plain, '?', FORM_CODE_LEN), plain[FORM_CODE_LEN] = '\0';
	if (code_hash(f->check_salt, plain, h) == JPKI_OK)
		same = jpki_ct_equal(h, f->check_hash, FORM_HASH_LEN);
	jpki_wipe(plain, sizeof(plain));
	jpki_wipe(h, sizeof(h));
	return same;
}

int
counter_form_check(const struct inquiry_form *f, int64_t holder_id,
    enum form_purpose purpose, const char *code, int64_t now)
{
	struct jdate today = jst_date_of(now);
	char d[11];

	/* The code first: without it nothing about the form is revealed. */
	if (code == NULL || !counter_form_code_matches(f, code))
		return jpki_fail(JPKI_ERR_VERIFY, "R13: the check code does not "
		    "match inquiry/response form %lld", (long long)f->number);
	if (f->resident_id != holder_id)
		return jpki_fail(JPKI_ERR_REFUSED, "R13: inquiry/response form "
		    "%lld was issued to another holder, not the card's",
		    (long long)f->number);
	if (f->purpose != purpose)
		return jpki_fail(JPKI_ERR_REFUSED, "R13: inquiry/response form "
		    "%lld is for %s, not %s", (long long)f->number,
		    counter_form_purpose_name(f->purpose),
		    counter_form_purpose_name(purpose) ?
		    counter_form_purpose_name(purpose) : "?");
	if (f->status != FORM_UNUSED) {
		jdate_format(jst_date_of(f->used_at), d);
		return jpki_fail(JPKI_ERR_REFUSED, "R13: inquiry/response form "
		    "%lld was already used on %s; a form is used once",
		    (long long)f->number, d);
	}
	if (jdate_cmp(today, f->expiry) > 0) {
		jdate_format(f->expiry, d);
		return jpki_fail(JPKI_ERR_REFUSED, "R13: inquiry/response form "
		    "%lld expired on %s", (long long)f->number, d);
	}
	/* R14: a form made at a proxy's first visit goes to the holder by
	 * mail; it cannot be back, filled in and sealed, the same day. */
	if (f->origin == FORM_FROM_APPLICATION &&
	    jdate_cmp(today, f->issued_on) <= 0) {
		jdate_format(f->issued_on, d);
		return jpki_fail(JPKI_ERR_REFUSED, "R14: inquiry/response form "
		    "%lld was made on %s and mailed to the holder; no same-day "
		    "completion for a proxy without the form",
		    (long long)f->number, d);
	}
	return JPKI_OK;
}

/* ---- the proxy ---- */

/* The proxy at the counter as a visit, for counter_visit_check(). */
static void
proxy_visit(const struct proxy_person *p, const char *clerk,
    struct counter_proxy *cp, struct counter_visit *v)
{
	memset(cp, 0, sizeof(*cp));
	cp->name = p->name;
	cp->id.doc_type = p->doc_type;
	cp->id.doc_number = p->doc_number;
	memset(v, 0, sizeof(*v));
	v->clerk = clerk;
	v->proxy = cp;
}

static void
copy_field(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

static json_t *
proxy_json(const struct proxy_person *p)
{
	return json_pack("{s:s, s:s, s:s}", "name", p->name, "document_type",
	    p->doc_type, "document_number", p->doc_number);
}

/* ---- visit 1 of a proxy without the form (R14) ----
 *
 * In steps: the clerk's input checked; the holder read; a form number
 * reserved and the check code drawn; the mailing's two pages laid out by
 * Pango into <pdf>.tmp with no store lock held; then one transaction that
 * reads the holder again and records the application, the form and the
 * audit entry; commit; the PDF renamed into place.  Should the register
 * change the name or address the PDF prints in between, the transaction
 * is rolled back and the PDF laid out again. */

#define APPLY_LAYOUT_TRIES 3

static int
apply_check_input(enum form_purpose purpose, int types,
    enum pin_kind pin_kind, const struct proxy_person *proxy,
    const char *clerk, const char *pdf_path, size_t pdf_path_max)
{
	struct counter_proxy cp;
	struct counter_visit v;
	int r;

	proxy_visit(proxy, clerk, &cp, &v);
	if ((r = counter_visit_check(&v)) != JPKI_OK)
		return r;
	if (counter_form_purpose_name(purpose) == NULL)
		return jpki_fail(JPKI_ERR_USAGE, "the form's purpose (issue, "
		    "renew or reset-pin) is required");
	if (purpose == FORM_PIN_RESET ? rules_pin_kind_name(pin_kind) == NULL :
	    (types & ~COUNTER_BOTH) != 0 || types == 0)
		return jpki_fail(JPKI_ERR_USAGE, purpose == FORM_PIN_RESET ?
		    "a PIN reset names the PIN: sign, auth or cardinfo" :
		    "certificates: sign, auth or both");
	if (pdf_path == NULL || strlen(pdf_path) >= pdf_path_max)
		return jpki_fail(JPKI_ERR_USAGE, "a path for the form's PDF is "
		    "required");
	if (access(pdf_path, F_OK) == 0)
		return jpki_fail(JPKI_ERR_CONFLICT, "%s exists; a form is "
		    "written once", pdf_path);
	return JPKI_OK;
}

/* The holder the form is addressed to, alive, and the municipality that
 * sends it. */
static int
apply_read_holder(struct store *s, int64_t resident_id,
    struct resident *holder, struct municipality *muni)
{
	int r;

	if ((r = store_resident_get(s, resident_id, holder)) != JPKI_OK)
		return r;
	if (holder->status != RESIDENT_ACTIVE)
		return jpki_fail(JPKI_ERR_REFUSED, "resident %lld is recorded as "
		    "deceased; no form is sent", (long long)resident_id);
	return store_municipality_get(s, holder->municipality, muni);
}

/* Whether the mailing laid out for `printed` still says what the register
 * says of `now`: the addressee's name, address and municipality. */
static int
apply_same_addressee(const struct resident *printed,
    const struct resident *now)
{
	return strcmp(printed->surname, now->surname) == 0 &&
	    strcmp(printed->given, now->given) == 0 &&
	    strcmp(printed->address, now->address) == 0 &&
	    strcmp(printed->municipality, now->municipality) == 0;
}

/* The application as recorded, and the form mailed for it (its number
 * reserved, its check code drawn into code). */
static int
apply_draw_form(struct store *s, int64_t resident_id,
    enum form_purpose purpose, int types, enum pin_kind pin_kind,
    const struct proxy_person *proxy, const char *clerk, int64_t now,
    struct proxy_application *app, struct inquiry_form *f,
    char code[FORM_CODE_BUF])
{
	int r;

	memset(app, 0, sizeof(*app));
	app->resident_id = resident_id;
	app->purpose = purpose;
	app->cert_types = purpose == FORM_PIN_RESET ? 0 : types;
	app->pin_kind = purpose == FORM_PIN_RESET ? (int)pin_kind : 0;
	copy_field(app->proxy_name, sizeof(app->proxy_name), proxy->name);
	copy_field(app->proxy_doc_type, sizeof(app->proxy_doc_type),
	    proxy->doc_type);
	copy_field(app->proxy_doc_number, sizeof(app->proxy_doc_number),
	    proxy->doc_number);
	copy_field(app->clerk, sizeof(app->clerk), clerk);
	app->applied_at = now;
	app->status = PROXY_APP_PENDING;

	memset(f, 0, sizeof(*f));
	f->resident_id = resident_id;
	f->purpose = purpose;
	f->cert_types = app->cert_types;
	f->pin_kind = app->pin_kind;
	f->origin = FORM_FROM_APPLICATION;
	f->issued_on = jst_date_of(now);
	f->expiry = jdate_add_days(f->issued_on, FORM_MAIL_VALID_DAYS);
	f->created_at = now;
	if ((r = store_form_number_reserve(s, now, &f->number)) != JPKI_OK)
		return r;
	return counter_form_prepare(f, code);
}

/* The mailing: a cover letter to the holder's registered address naming
 * the proxy who applied, and the form (fsync'd at tmp). */
static int
apply_layout(const char *tmp, mode_t mode, const struct resident *holder,
    const struct municipality *muni, const struct inquiry_form *f,
    const char *code, const struct proxy_person *proxy)
{
	struct notice_doc doc;

	memset(&doc, 0, sizeof(doc));
	doc.kind = NOTICE_MAILED_FORM;
	doc.holder = holder;
	doc.muni = muni;
	doc.form = f;
	doc.code = code;
	doc.proxy_name = proxy->name;
	doc.today = f->issued_on;
	return counter_notice_pdf_write(tmp, &doc, mode);
}

/* Inside the transaction: the application, its form, the audit entry. */
static int
apply_record(struct store *s, struct proxy_application *app,
    struct inquiry_form *f, const struct proxy_person *proxy,
    const char *clerk)
{
	char subject[40], expiry[11];
	int r;

	if ((r = store_proxy_app_insert(s, app)) != JPKI_OK)
		return r;
	f->application_id = app->id;
	if ((r = store_form_insert(s, f)) != JPKI_OK)
		return r;
	app->form_number = f->number;
	if ((r = store_proxy_app_update(s, app)) != JPKI_OK)
		return r;
	snprintf(subject, sizeof(subject), "resident:%lld",
	    (long long)app->resident_id);
	jdate_format(f->expiry, expiry);
	return store_audit_json(s, clerk, "proxy.apply", subject,
	    json_pack("{s:I, s:I, s:s, s:i, s:i, s:s, s:o}",
	    "application", (json_int_t)app->id, "form", (json_int_t)f->number,
	    "purpose", counter_form_purpose_name(app->purpose), "types",
	    app->cert_types, "pin", app->pin_kind, "form_expiry", expiry,
	    "proxy", proxy_json(proxy)));
}

int
counter_proxy_apply(struct ca *ca, int64_t resident_id,
    enum form_purpose purpose, int types, enum pin_kind pin_kind,
    const struct proxy_person *proxy, const char *clerk,
    const char *pdf_path, struct proxy_apply_result *out)
{
	struct store *s = datadir_store(ca_datadir(ca));
	struct proxy_application app;
	struct inquiry_form f;
	struct resident holder, now_holder;
	struct municipality muni;
	char code[FORM_CODE_BUF] = "", tmp[JPKI_PATH_MAX];
	int64_t now;
	int r, tries = 0, in_tx = 0, wrote = 0;

	memset(out, 0, sizeof(*out));
	if ((r = apply_check_input(purpose, types, pin_kind, proxy, clerk,
	    pdf_path, sizeof(out->pdf_path))) != JPKI_OK)
		return r;
	if ((r = jpki_path(tmp, sizeof(tmp), "%s.tmp", pdf_path)) != JPKI_OK)
		return r;
	if ((r = jpki_now_checked(&now)) != JPKI_OK ||
	    (r = apply_read_holder(s, resident_id, &holder, &muni)) != JPKI_OK ||
	    (r = apply_draw_form(s, resident_id, purpose, types, pin_kind,
	    proxy, clerk, now, &app, &f, code)) != JPKI_OK)
		goto fail;
	for (;;) {
		if ((r = apply_layout(tmp, datadir_config(ca_datadir(ca))->
		    document_mode, &holder, &muni, &f, code, proxy)))
			goto fail;
		wrote = 1;
		counter_test_pause();
		if ((r = store_begin(s)) != JPKI_OK)
			goto fail;
		in_tx = 1;
		if ((r = apply_read_holder(s, resident_id, &now_holder,
		    &muni)) != JPKI_OK)
			goto fail;
		if (apply_same_addressee(&holder, &now_holder))
			break;
		/* The register changed what the mailing prints: lay it out
		 * again from what it says now. */
		store_rollback(s);
		in_tx = 0;
		holder = now_holder;
		if (++tries == APPLY_LAYOUT_TRIES) {
			r = jpki_fail(JPKI_ERR_CONFLICT, "resident %lld: the "
			    "register's name or address kept changing while "
			    "the form was laid out; nothing was recorded",
			    (long long)resident_id);
			goto fail;
		}
	}
	if ((r = apply_record(s, &app, &f, proxy, clerk)) != JPKI_OK)
		goto fail;
	in_tx = 0;
	if ((r = store_commit(s)) != JPKI_OK)
		goto fail;
	if (rename(tmp, pdf_path) != 0) {
		/* Committed: the form exists; say where its PDF is. */
		r = jpki_fail(JPKI_ERR_IO, "form %lld recorded but %s could not "
		    "be renamed to %s", (long long)f.number, tmp, pdf_path);
		goto out;
	}
	out->application_id = app.id;
	out->form_number = f.number;
	out->form_expiry = f.expiry;
	snprintf(out->pdf_path, sizeof(out->pdf_path), "%s", pdf_path);
	r = JPKI_OK;
	goto out;
fail:
	if (in_tx)
		store_rollback(s);
	if (wrote)
		unlink(tmp);
out:
	jpki_wipe(code, sizeof(code));
	return r;
}

/* What the completion's in-transaction step needs. */
struct complete_ctx {
	int64_t form_number;
	enum form_purpose purpose;
	const char *code;
	const struct proxy_person *proxy;
	const char *clerk;
	int64_t now;
};

/* Runs inside the procedure's transaction, after its certificates and card
 * writes are recorded: check the form against the card's holder, consume
 * it and record the proxy.  Any failure rolls the procedure back. */
static int
complete_in_tx(void *arg, struct ca *ca, const struct counter_receipt *rcpt)
{
	struct complete_ctx *c = arg;
	struct store *s = datadir_store(ca_datadir(ca));
	struct inquiry_form f;
	struct proxy_application app;
	char subject[40];
	int r;

	if ((r = store_form_get(s, c->form_number, &f)) != JPKI_OK)
		return r;
	if ((r = counter_form_check(&f, rcpt->resident_id, c->purpose, c->code,
	    c->now)) != JPKI_OK)
		return r;
	if ((r = store_form_mark_used(s, f.number, c->now)) != JPKI_OK)
		return r;
	if (f.origin == FORM_FROM_APPLICATION) {
		if ((r = store_proxy_app_get(s, f.application_id, &app)))
			return r;
	} else {
		/* R13 with a notice's form: the visit is the application. */
		memset(&app, 0, sizeof(app));
		app.resident_id = f.resident_id;
		app.purpose = f.purpose;
		app.cert_types = f.cert_types;
		app.pin_kind = f.pin_kind;
		app.applied_at = c->now;
		app.form_number = f.number;
	}
	/* The document checked at completion is the one recorded. */
	copy_field(app.proxy_name, sizeof(app.proxy_name), c->proxy->name);
	copy_field(app.proxy_doc_type, sizeof(app.proxy_doc_type),
	    c->proxy->doc_type);
	copy_field(app.proxy_doc_number, sizeof(app.proxy_doc_number),
	    c->proxy->doc_number);
	copy_field(app.clerk, sizeof(app.clerk), c->clerk);
	app.status = PROXY_APP_COMPLETED;
	app.completed_at = c->now;
	r = app.id != 0 ? store_proxy_app_update(s, &app) :
	    store_proxy_app_insert(s, &app);
	if (r != JPKI_OK)
		return r;
	snprintf(subject, sizeof(subject), "form:%lld", (long long)f.number);
	return store_audit_json(s, c->clerk, "proxy.complete", subject,
	    json_pack("{s:I, s:I, s:s, s:I, s:I, s:o}",
	    "form", (json_int_t)f.number, "application", (json_int_t)app.id,
	    "purpose", counter_form_purpose_name(f.purpose),
	    "resident", (json_int_t)f.resident_id,
	    "receipt", (json_int_t)rcpt->number, "proxy",
	    proxy_json(c->proxy)));
}

int
counter_proxy_complete(struct ca *ca, int64_t form_number,
    enum form_purpose purpose, const char *card_path, const char *reader,
    const char *check_code, const struct counter_pins *pins,
    const struct proxy_person *proxy, const char *clerk,
    struct counter_receipt *rcpt)
{
	struct inquiry_form f;
	struct complete_ctx ctx;
	struct counter_proxy cp;
	struct counter_visit v;
	char form_text[24];
	const char *new_pin;
	int r;

	/* R14: without the form there is nothing to complete today. */
	if (form_number <= 0)
		return jpki_fail(JPKI_ERR_REFUSED, "R14: a proxy without the "
		    "inquiry/response form cannot be served the same day; "
		    "on a proxy application the form is mailed to the holder");
	snprintf(form_text, sizeof(form_text), "%lld", (long long)form_number);
	proxy_visit(proxy, clerk, &cp, &v);
	cp.form = form_text;
	cp.in_tx = complete_in_tx;
	cp.arg = &ctx;
	/* The holder is not at the counter: the form and its code stand for
	 * the holder's identity check (R13). */
	v.holder_id.doc_type = "inquiry-response-form";
	v.holder_id.doc_number = form_text;
	if ((r = counter_visit_check(&v)) != JPKI_OK)
		return r;
	if (card_path == NULL && reader == NULL)
		return jpki_fail(JPKI_ERR_USAGE, "R13: the holder's card is "
		    "required");
	v.reader = reader;
	if (check_code == NULL)
		return jpki_fail(JPKI_ERR_USAGE, "the form's check code is "
		    "needed");
	memset(&ctx, 0, sizeof(ctx));
	if ((r = jpki_now_checked(&ctx.now)) != JPKI_OK)
		return r;
	if ((r = store_form_get(datadir_store(ca_datadir(ca)), form_number, &f)) != JPKI_OK)
		return r;
	if (purpose == 0)
		purpose = f.purpose;
	/* Everything but the holder can be checked before the card is
	 * touched; the holder is checked against the card in the
	 * transaction, where the form is also consumed. */
	if ((r = counter_form_check(&f, f.resident_id, purpose, check_code,
	    ctx.now)))
		return r;

	ctx.form_number = form_number;
	ctx.purpose = purpose;
	ctx.code = check_code;
	ctx.proxy = proxy;
	ctx.clerk = clerk;

	switch (f.purpose) {
	case FORM_ISSUE:
		return counter_issue(ca, card_path, f.cert_types, pins, &v, rcpt);
	case FORM_RENEW:
		return counter_renew(ca, card_path, f.cert_types, pins, &v, rcpt);
	case FORM_PIN_RESET:
		new_pin = f.pin_kind == PIN_SIGN ? pins->sign :
		    f.pin_kind == PIN_AUTH ? pins->auth : pins->cardinfo;
		if (new_pin == NULL)
			return jpki_fail(JPKI_ERR_USAGE, "the new %s PIN written "
			    "on the form is needed",
			    rules_pin_kind_name((enum pin_kind)f.pin_kind));
		return counter_reset_pin(ca, card_path,
		    (enum pin_kind)f.pin_kind, new_pin, &v, rcpt);
	}
	return jpki_fail(JPKI_ERR_INTERNAL, "form %lld has no purpose",
	    (long long)form_number);
}
