/*
 * sql_card_writes.c: the writes committed for a card in a reader, waiting
 * to be applied over APDUs (docs/counter.md, "A card in a reader").
 */
#include "store/sql_int.h"

int
store_sql_card_writes_add(void *impl, const char *card_serial,
    int64_t receipt_id, const char *writes, int64_t at, int64_t *id)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "INSERT INTO card_writes(card_serial,"
	    " receipt_id, writes, at) VALUES (?,?,?,?) RETURNING id",
	    &st)) != JPKI_OK)
		return r;
	store_db_bind_text(st, 1, card_serial);
	if (receipt_id != 0)
		db_bind_int64(st, 2, receipt_id);
	store_db_bind_text(st, 3, writes);
	db_bind_int64(st, 4, at);
	return store_db_insert(s, st, "card writes", id);
}

int
store_sql_card_writes_pending(void *impl, const char *card_serial,
    int (*fn)(void *, int64_t, int64_t, const char *), void *arg)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r, rc;

	if ((r = store_db_prep(s, "SELECT id, receipt_id, writes FROM"
	    " card_writes WHERE card_serial = ? AND applied_at IS NULL"
	    " ORDER BY id", &st)) != JPKI_OK)
		return r;
	store_db_bind_text(st, 1, card_serial);
	while ((rc = db_step(st)) == DB_ROW)
		if (fn(arg, db_col_int64(st, 0), db_col_int64(st, 1),
		    db_col_text(st, 2)) != 0)
			break;
	return store_db_rows_end(s, st, rc, "card writes");
}

int
store_sql_card_writes_applied(void *impl, int64_t id, int64_t at)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "UPDATE card_writes SET applied_at = ?"
	    " WHERE id = ? AND applied_at IS NULL", &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, at);
	db_bind_int64(st, 2, id);
	if ((r = store_db_update_one(s, st, "card writes")) ==
	    JPKI_ERR_NOTFOUND)
		return jpki_fail(r, "store: card writes %lld: not pending",
		    (long long)id);
	return r;
}
