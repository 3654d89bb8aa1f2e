/*
 * sql_forms.c: proxy forms: form numbers, inquiry/response
 * forms (照会書兼回答書) and their expiry-notice links, and proxy
 * applications (R12-R14).  A form's check code is never stored, only its
 * salted hash.
 */
#include "store/sql_int.h"

#include <string.h>

/* ---- proxy forms ---- */

#define FORM_COLS "number, resident_id, purpose, cert_types, pin_kind," \
	" origin, application_id, issued_on, expiry, check_salt, check_hash," \
	" status, used_at, created_at"

static void
form_from_row(struct db_stmt *st, struct inquiry_form *f)
{
	memset(f, 0, sizeof(*f));
	f->number = db_col_int64(st, 0);
	f->resident_id = db_col_int64(st, 1);
	f->purpose = (enum form_purpose)db_col_int(st, 2);
	f->cert_types = db_col_int(st, 3);
	f->pin_kind = db_col_int(st, 4);
	f->origin = (enum form_origin)db_col_int(st, 5);
	f->application_id = db_col_int64(st, 6);
	f->issued_on = store_db_col_date(st, 7);
	f->expiry = store_db_col_date(st, 8);
	store_db_col_blob(st, 9, f->check_salt, sizeof(f->check_salt));
	store_db_col_blob(st, 10, f->check_hash, sizeof(f->check_hash));
	f->status = (enum form_status)db_col_int(st, 11);
	f->used_at = db_col_int64(st, 12);
	f->created_at = db_col_int64(st, 13);
}

int
store_sql_form_insert(void *impl, struct inquiry_form *f)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if (f->number <= 0)
		return jpki_fail(JPKI_ERR_INTERNAL, "inquiry form: no reserved "
		    "number");
	if ((r = store_db_prep(s, "INSERT INTO inquiry_forms(resident_id, purpose,"
	    " cert_types, pin_kind, origin, application_id, issued_on, expiry,"
	    " check_salt, check_hash, status, used_at, created_at, number)"
	    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 14, f->number);
	db_bind_int64(st, 1, f->resident_id);
	db_bind_int(st, 2, (int)f->purpose);
	db_bind_int(st, 3, f->cert_types);
	db_bind_int(st, 4, f->pin_kind);
	db_bind_int(st, 5, (int)f->origin);
	if (f->application_id != 0)
		db_bind_int64(st, 6, f->application_id);
	store_db_bind_date(st, 7, f->issued_on);
	store_db_bind_date(st, 8, f->expiry);
	db_bind_blob(st, 9, f->check_salt, sizeof(f->check_salt));
	db_bind_blob(st, 10, f->check_hash, sizeof(f->check_hash));
	db_bind_int(st, 11, (int)f->status);
	if (f->status == FORM_USED)
		db_bind_int64(st, 12, f->used_at);
	db_bind_int64(st, 13, f->created_at);
	return store_db_run(s, st, "inquiry form");
}

int
store_sql_form_number_reserve(void *impl, int64_t at, int64_t *number)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "INSERT INTO form_numbers(reserved_at) VALUES (?)"
	    " RETURNING number",
	    &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, at);
	return store_db_insert(s, st, "form number", number);
}

int
store_sql_form_get(void *impl, int64_t number, struct inquiry_form *out)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "SELECT " FORM_COLS " FROM inquiry_forms"
	    " WHERE number = ?", &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, number);
	if ((r = store_db_row(s, st, "inquiry form", "no inquiry/response form "
	    "number %lld", (long long)number)) == JPKI_OK)
		form_from_row(st, out);
	db_finalize(st);
	return r;
}

int
store_sql_form_mark_used(void *impl, int64_t number, int64_t at)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	/* The status test in the WHERE clause makes "use once" a property of
	 * the row, not of whoever read it first. */
	if ((r = store_db_prep(s, "UPDATE inquiry_forms SET status = 2, used_at = ?"
	    " WHERE number = ? AND status = 1", &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, at);
	db_bind_int64(st, 2, number);
	if ((r = store_db_update_one(s, st, "inquiry form")) == JPKI_ERR_NOTFOUND)
		r = jpki_fail(JPKI_ERR_CONFLICT, "R13: inquiry/response form "
		    "%lld has already been used", (long long)number);
	return r;
}

int
store_sql_form_notice_link(void *impl, const char *serial, int64_t number)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "INSERT INTO expiry_notices VALUES (?, ?)", &st)))
		return r;
	store_db_bind_text(st, 1, serial);
	db_bind_int64(st, 2, number);
	return store_db_run(s, st, "expiry notice");
}

int
store_sql_form_notice_find(void *impl, const char *serial, int64_t *number)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "SELECT form_number FROM expiry_notices"
	    " WHERE serial = ?", &st)) != JPKI_OK)
		return r;
	store_db_bind_text(st, 1, serial);
	*number = 0;
	if ((r = store_db_row(s, st, "expiry notice", NULL)) == JPKI_OK)
		*number = db_col_int64(st, 0);
	else if (r == JPKI_ERR_NOTFOUND)
		r = JPKI_OK;     /* no notice yet */
	db_finalize(st);
	return r;
}

#define PROXY_APP_COLS "id, resident_id, purpose, cert_types, pin_kind," \
	" proxy_name, proxy_doc_type, proxy_doc_number, clerk, applied_at," \
	" form_number, status, completed_at"

static void
proxy_app_bind(struct db_stmt *st, const struct proxy_application *a)
{
	db_bind_int64(st, 1, a->resident_id);
	db_bind_int(st, 2, (int)a->purpose);
	db_bind_int(st, 3, a->cert_types);
	db_bind_int(st, 4, a->pin_kind);
	store_db_bind_text(st, 5, a->proxy_name);
	store_db_bind_text(st, 6, a->proxy_doc_type);
	store_db_bind_text(st, 7, a->proxy_doc_number);
	store_db_bind_text(st, 8, a->clerk);
	db_bind_int64(st, 9, a->applied_at);
	if (a->form_number != 0)
		db_bind_int64(st, 10, a->form_number);
	db_bind_int(st, 11, (int)a->status);
	if (a->status == PROXY_APP_COMPLETED)
		db_bind_int64(st, 12, a->completed_at);
}

int
store_sql_proxy_app_insert(void *impl, struct proxy_application *a)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "INSERT INTO proxy_applications(resident_id,"
	    " purpose, cert_types, pin_kind, proxy_name, proxy_doc_type,"
	    " proxy_doc_number, clerk, applied_at, form_number, status,"
	    " completed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id", &st)))
		return r;
	proxy_app_bind(st, a);
	return store_db_insert(s, st, "proxy application", &a->id);
}

int
store_sql_proxy_app_update(void *impl, const struct proxy_application *a)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "UPDATE proxy_applications SET resident_id = ?,"
	    " purpose = ?, cert_types = ?, pin_kind = ?, proxy_name = ?,"
	    " proxy_doc_type = ?, proxy_doc_number = ?, clerk = ?,"
	    " applied_at = ?, form_number = ?, status = ?, completed_at = ?"
	    " WHERE id = ?", &st)) != JPKI_OK)
		return r;
	proxy_app_bind(st, a);
	db_bind_int64(st, 13, a->id);
	if ((r = store_db_update_one(s, st, "proxy application")) ==
	    JPKI_ERR_NOTFOUND)
		r = jpki_fail(JPKI_ERR_NOTFOUND, "no proxy application %lld",
		    (long long)a->id);
	return r;
}

int
store_sql_proxy_app_get(void *impl, int64_t id, struct proxy_application *a)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "SELECT " PROXY_APP_COLS " FROM proxy_applications"
	    " WHERE id = ?", &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, id);
	if ((r = store_db_row(s, st, "proxy application", "no proxy application "
	    "%lld", (long long)id)) == JPKI_OK) {
		memset(a, 0, sizeof(*a));
		a->id = db_col_int64(st, 0);
		a->resident_id = db_col_int64(st, 1);
		a->purpose = (enum form_purpose)db_col_int(st, 2);
		a->cert_types = db_col_int(st, 3);
		a->pin_kind = db_col_int(st, 4);
		store_db_col_text(st, 5, a->proxy_name, sizeof(a->proxy_name));
		store_db_col_text(st, 6, a->proxy_doc_type, sizeof(a->proxy_doc_type));
		store_db_col_text(st, 7, a->proxy_doc_number,
		    sizeof(a->proxy_doc_number));
		store_db_col_text(st, 8, a->clerk, sizeof(a->clerk));
		a->applied_at = db_col_int64(st, 9);
		a->form_number = db_col_int64(st, 10);
		a->status = (enum proxy_app_status)db_col_int(st, 11);
		a->completed_at = db_col_int64(st, 12);
	}
	db_finalize(st);
	return r;
}
