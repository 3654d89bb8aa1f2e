/*
 * sql_counter.c: what the counter keeps: cards, receipts and
 * their fee lines, old-to-new certificate links, PIN resets, and the hash
 * of each card image the counter last wrote.
 */
#include "store/sql_int.h"

#include <string.h>

/* ---- cards ---- */

#define CARD_COLS "id, serial, resident_id, kind, status, issued_on, expiry," \
	" facts_version, image_path"

static void
card_from_row(struct db_stmt *st, struct card_record *c)
{
	memset(c, 0, sizeof(*c));
	c->id = db_col_int64(st, 0);
	store_db_col_text(st, 1, c->serial, sizeof(c->serial));
	c->resident_id = db_col_int64(st, 2);
	c->kind = (enum card_kind)db_col_int(st, 3);
	c->status = (enum card_record_status)db_col_int(st, 4);
	c->issued_on = store_db_col_date(st, 5);
	c->expiry = store_db_col_date(st, 6);
	c->facts_version = db_col_int64(st, 7);
	store_db_col_text(st, 8, c->image_path, sizeof(c->image_path));
}

static void
card_bind(struct db_stmt *st, const struct card_record *c)
{
	store_db_bind_text(st, 1, c->serial);
	db_bind_int64(st, 2, c->resident_id);
	db_bind_int(st, 3, (int)c->kind);
	db_bind_int(st, 4, (int)c->status);
	store_db_bind_date(st, 5, c->issued_on);
	store_db_bind_date(st, 6, c->expiry);
	db_bind_int64(st, 7, c->facts_version);
	store_db_bind_text(st, 8, c->image_path);
}

int
store_sql_card_insert(void *impl, struct card_record *c)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "INSERT INTO cards(serial, resident_id, kind,"
	    " status, issued_on, expiry, facts_version, image_path)"
	    " VALUES (?,?,?,?,?,?,?,?) RETURNING id", &st)) != JPKI_OK)
		return r;
	card_bind(st, c);
	return store_db_insert(s, st, "card", &c->id);
}

int
store_sql_card_update(void *impl, const struct card_record *c)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "UPDATE cards SET serial = ?, resident_id = ?,"
	    " kind = ?, status = ?, issued_on = ?, expiry = ?,"
	    " facts_version = ?, image_path = ? WHERE id = ?", &st)))
		return r;
	card_bind(st, c);
	db_bind_int64(st, 9, c->id);
	if ((r = store_db_update_one(s, st, "card")) == JPKI_ERR_NOTFOUND)
		r = jpki_fail(JPKI_ERR_NOTFOUND, "card %lld not found",
		    (long long)c->id);
	return r;
}

static int
card_one(struct sql_store *s, struct db_stmt *st, struct card_record *out)
{
	int r;

	if ((r = store_db_row(s, st, "card", "card not found")) == JPKI_OK)
		card_from_row(st, out);
	db_finalize(st);
	return r;
}

int
store_sql_card_get(void *impl, int64_t id, struct card_record *out)
{
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(impl, "SELECT " CARD_COLS " FROM cards WHERE id = ?",
	    &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, id);
	return card_one(impl, st, out);
}

int
store_sql_card_by_serial(void *impl, const char *serial,
    struct card_record *out)
{
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(impl, "SELECT " CARD_COLS
	    " FROM cards WHERE serial = ?", &st)) != JPKI_OK)
		return r;
	store_db_bind_text(st, 1, serial);
	return card_one(impl, st, out);
}

int
store_sql_card_current(void *impl, int64_t resident_id,
    struct card_record *out)
{
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(impl, "SELECT " CARD_COLS " FROM cards WHERE"
	    " resident_id = ? AND status = 1 ORDER BY id DESC LIMIT 1", &st)))
		return r;
	db_bind_int64(st, 1, resident_id);
	return card_one(impl, st, out);
}

/* ---- counter ---- */

int
store_sql_receipt_insert(void *impl, struct receipt_record *rc)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "INSERT INTO receipts(at, clerk, procedure,"
	    " resident_id, card_id, total_yen, holder_doc_type,"
	    " holder_doc_number, proxy_name, proxy_doc_type, proxy_doc_number,"
	    " form) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id", &st))
	    != JPKI_OK)
		return r;
	db_bind_int64(st, 1, rc->at);
	store_db_bind_text(st, 2, rc->clerk);
	store_db_bind_text(st, 3, rc->procedure);
	db_bind_int64(st, 4, rc->resident_id);
	if (rc->card_id != 0)
		db_bind_int64(st, 5, rc->card_id);
	db_bind_int64(st, 6, rc->total_yen);
	store_db_bind_text(st, 7, rc->holder_doc_type);
	store_db_bind_opt_text(st, 8, rc->holder_doc_number);
	store_db_bind_opt_text(st, 9, rc->proxy_name);
	store_db_bind_opt_text(st, 10, rc->proxy_doc_type);
	store_db_bind_opt_text(st, 11, rc->proxy_doc_number);
	store_db_bind_opt_text(st, 12, rc->form);
	return store_db_insert(s, st, "receipt", &rc->id);
}

#define RECEIPT_COLS "id, at, clerk, procedure, resident_id, card_id," \
	" total_yen, holder_doc_type, holder_doc_number, proxy_name," \
	" proxy_doc_type, proxy_doc_number, form"

static void
receipt_from_row(struct db_stmt *st, struct receipt_record *out)
{
	memset(out, 0, sizeof(*out));
	out->id = db_col_int64(st, 0);
	out->at = db_col_int64(st, 1);
	store_db_col_text(st, 2, out->clerk, sizeof(out->clerk));
	store_db_col_text(st, 3, out->procedure, sizeof(out->procedure));
	out->resident_id = db_col_int64(st, 4);
	out->card_id = db_col_int64(st, 5);
	out->total_yen = (long)db_col_int64(st, 6);
	store_db_col_text(st, 7, out->holder_doc_type,
	    sizeof(out->holder_doc_type));
	store_db_col_text(st, 8, out->holder_doc_number,
	    sizeof(out->holder_doc_number));
	store_db_col_text(st, 9, out->proxy_name, sizeof(out->proxy_name));
	store_db_col_text(st, 10, out->proxy_doc_type,
	    sizeof(out->proxy_doc_type));
	store_db_col_text(st, 11, out->proxy_doc_number,
	    sizeof(out->proxy_doc_number));
	store_db_col_text(st, 12, out->form, sizeof(out->form));
}

int
store_sql_receipt_get(void *impl, int64_t id, struct receipt_record *out)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "SELECT " RECEIPT_COLS
	    " FROM receipts WHERE id = ?", &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, id);
	if ((r = store_db_row(s, st, "receipt", "no receipt %lld",
	    (long long)id)) == JPKI_OK)
		receipt_from_row(st, out);
	db_finalize(st);
	return r;
}

int
store_sql_receipt_list(void *impl, int64_t resident_id, int64_t from,
    int64_t to, long limit,
    int (*fn)(void *, const struct receipt_record *), void *arg)
{
	struct sql_store *s = impl;
	struct receipt_record rc;
	struct db_stmt *st = NULL;
	int r, step;

	if ((r = store_db_prep(s, resident_id != 0 ?
	    "SELECT " RECEIPT_COLS " FROM receipts WHERE resident_id = ?"
	    " ORDER BY id DESC LIMIT ?" :
	    "SELECT " RECEIPT_COLS " FROM receipts WHERE at >= ? AND at < ?"
	    " ORDER BY id DESC LIMIT ?", &st)) != JPKI_OK)
		return r;
	if (resident_id != 0) {
		db_bind_int64(st, 1, resident_id);
		db_bind_int64(st, 2, limit > 0 ? limit : INT64_MAX);
	} else {
		db_bind_int64(st, 1, from);
		db_bind_int64(st, 2, to);
		db_bind_int64(st, 3, limit > 0 ? limit : INT64_MAX);
	}
	while ((step = db_step(st)) == DB_ROW) {
		receipt_from_row(st, &rc);
		if (fn(arg, &rc) != 0)
			break;
	}
	return store_db_rows_end(s, st, step, "receipt list");
}

int
store_sql_receipt_line_add(void *impl, int64_t receipt_id, int line,
    const char *item, long yen)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "INSERT INTO receipt_lines VALUES (?,?,?,?)",
	    &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, receipt_id);
	db_bind_int(st, 2, line);
	store_db_bind_text(st, 3, item);
	db_bind_int64(st, 4, yen);
	return store_db_run(s, st, "receipt line");
}

int
store_sql_receipt_lines(void *impl, int64_t receipt_id,
    int (*fn)(void *, int, const char *, long), void *arg)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r, rc;

	if ((r = store_db_prep(s, "SELECT line, item, yen FROM receipt_lines"
	    " WHERE receipt_id = ? ORDER BY line", &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, receipt_id);
	while ((rc = db_step(st)) == DB_ROW)
		if (fn(arg, db_col_int(st, 0),
		    db_col_text(st, 1),
		    (long)db_col_int64(st, 2)) != 0)
			break;
	return store_db_rows_end(s, st, rc, "receipt lines");
}

int
store_sql_cert_link_add(void *impl, const char *old_serial,
    const char *new_serial, const char *kind, int64_t at, int64_t receipt_id)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "INSERT INTO cert_links VALUES (?,?,?,?,?)",
	    &st)) != JPKI_OK)
		return r;
	store_db_bind_text(st, 1, old_serial);
	store_db_bind_text(st, 2, new_serial);
	store_db_bind_text(st, 3, kind);
	db_bind_int64(st, 4, at);
	if (receipt_id != 0)
		db_bind_int64(st, 5, receipt_id);
	return store_db_run(s, st, "certificate link");
}

int
store_sql_cert_links(void *impl, const char *serial,
    int (*fn)(void *, const char *, const char *, const char *, int64_t),
    void *arg)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r, rc;

	if ((r = store_db_prep(s, "SELECT old_serial, new_serial, kind, at"
	    " FROM cert_links WHERE old_serial = ?1 OR new_serial = ?1"
	    " ORDER BY at, old_serial", &st)) != JPKI_OK)
		return r;
	store_db_bind_text(st, 1, serial);
	while ((rc = db_step(st)) == DB_ROW)
		if (fn(arg, db_col_text(st, 0),
		    db_col_text(st, 1),
		    db_col_text(st, 2),
		    db_col_int64(st, 3)) != 0)
			break;
	return store_db_rows_end(s, st, rc, "certificate links");
}

int
store_sql_pin_reset_add(void *impl, int64_t receipt_id, int64_t card_id,
    int pin_kind, int was_locked)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "INSERT INTO pin_resets VALUES (?,?,?,?)", &st)))
		return r;
	db_bind_int64(st, 1, receipt_id);
	db_bind_int64(st, 2, card_id);
	db_bind_int(st, 3, pin_kind);
	db_bind_int(st, 4, was_locked != 0);
	return store_db_run(s, st, "PIN reset");
}

int
store_sql_pin_reset_count(void *impl, int64_t card_id, long *out)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "SELECT COUNT(*) FROM pin_resets WHERE card_id = ?",
	    &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, card_id);
	if ((r = store_db_row(s, st, "PIN resets", NULL)) == JPKI_OK)
		*out = (long)db_col_int64(st, 0);
	db_finalize(st);
	return r;
}

int
store_sql_cards_of(void *impl, int64_t resident_id,
    int (*fn)(void *, const struct card_record *), void *arg)
{
	struct sql_store *s = impl;
	struct card_record c;
	struct db_stmt *st = NULL;
	int r, rc;

	if ((r = store_db_prep(s, "SELECT " CARD_COLS " FROM cards"
	    " WHERE resident_id = ? ORDER BY id", &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, resident_id);
	while ((rc = db_step(st)) == DB_ROW) {
		card_from_row(st, &c);
		if (fn(arg, &c) != 0)
			break;
	}
	return store_db_rows_end(s, st, rc, "card list");
}

int
store_sql_card_image_set(void *impl, int64_t card_id,
    const uint8_t sha256[32], int64_t receipt_id, int64_t at)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "INSERT INTO card_images VALUES"
	    " (?,?,?,?) ON CONFLICT(card_id) DO UPDATE SET"
	    " sha256 = excluded.sha256, receipt_id = excluded.receipt_id,"
	    " at = excluded.at", &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, card_id);
	db_bind_blob(st, 2, sha256, 32);
	if (receipt_id != 0)
		db_bind_int64(st, 3, receipt_id);
	db_bind_int64(st, 4, at);
	return store_db_run(s, st, "card image");
}

int
store_sql_card_image_get(void *impl, int64_t card_id, uint8_t sha256[32])
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "SELECT sha256 FROM card_images WHERE card_id = ?",
	    &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, card_id);
	if ((r = store_db_row(s, st, "card image", "no image recorded for card %lld",
	    (long long)card_id)) == JPKI_OK) {
		size_t n = 0;
		const void *v = db_col_blob(st, 0, &n);

		if (v != NULL && n == 32)
			memcpy(sha256, v, 32);
		else
			r = jpki_fail(JPKI_ERR_IO, "store: card image: the hash "
			    "recorded for card %lld is not 32 bytes",
			    (long long)card_id);
	}
	db_finalize(st);
	return r;
}
