/*
 * sqlite_audit.c: the audit table in SQLite.  Append-only: triggers
 * refuse UPDATE and DELETE (migration 1).  The hash chain is computed by
 * store.c, the same for every database.
 */
#include "store/sqlite_int.h"

#include <string.h>

/* ---- audit ---- */

int
store_sqlite_audit_last(void *impl, int64_t *seq, uint8_t hash[32])
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = store_db_cached(s, ST_AUDIT_LAST, "SELECT seq, hash FROM audit"
	    " ORDER BY seq DESC LIMIT 1", &st)) != JPKI_OK)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 1) == 32) {
		*seq = sqlite3_column_int64(st, 0);
		memcpy(hash, sqlite3_column_blob(st, 1), 32);
		r = JPKI_OK;
	} else if (rc == SQLITE_DONE) {
		*seq = 0;
		memset(hash, 0, 32);
		r = JPKI_OK;
	} else {
		r = store_db_fail(s, "audit");
	}
	sqlite3_reset(st);
	return r;
}

int
store_sqlite_audit_insert(void *impl, const struct audit_entry *e)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = store_db_cached(s, ST_AUDIT_INSERT, "INSERT INTO audit VALUES"
	    " (?,?,?,?,?,?,?,?)", &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int64(st, 1, e->seq);
	sqlite3_bind_int64(st, 2, e->at);
	sqlite3_bind_text(st, 3, e->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, e->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, e->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, e->detail, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, e->prev_hash, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 8, e->hash, 32, SQLITE_STATIC);
	r = store_db_step_done(s, st, "audit");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

int
store_sqlite_audit_list(void *impl, int64_t after_seq, long limit,
    int (*fn)(void *, const struct audit_entry *), void *arg)
{
	struct sqlite_store *s = impl;
	struct audit_entry e;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = store_db_prep(s, "SELECT seq, at, actor, action, subject, detail,"
	    " prev_hash, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
	    &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int64(st, 1, after_seq);
	sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&e, 0, sizeof(e));
		e.seq = sqlite3_column_int64(st, 0);
		e.at = sqlite3_column_int64(st, 1);
		store_db_col_text(st, 2, e.actor, sizeof(e.actor));
		store_db_col_text(st, 3, e.action, sizeof(e.action));
		store_db_col_text(st, 4, e.subject, sizeof(e.subject));
		e.detail = (char *)sqlite3_column_text(st, 5);
		if (sqlite3_column_bytes(st, 6) == 32)
			memcpy(e.prev_hash, sqlite3_column_blob(st, 6), 32);
		if (sqlite3_column_bytes(st, 7) == 32)
			memcpy(e.hash, sqlite3_column_blob(st, 7), 32);
		if (fn(arg, &e) != 0)
			break;
	}
	return store_db_rows_end(s, st, rc, "audit list");
}

int
store_sqlite_audit_count(void *impl, long *out)
{
	return store_db_count(impl, "SELECT COUNT(*) FROM audit", out);
}
