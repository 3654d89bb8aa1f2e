/*
 * sql_audit.c: the audit table.  Append-only: triggers
 * refuse UPDATE and DELETE (migration 1).  The hash chain is computed by
 * store.c, the same for every database.
 */
#include "store/sql_int.h"

#include <string.h>

/* ---- audit ---- */

int
store_sql_audit_last(void *impl, int64_t *seq, uint8_t hash[32])
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r, rc;

	/* This transaction's own last entry is the head: writers are
	 * serialised, so nobody else added one since. */
	if (s->in_tx && s->audit_head_known) {
		*seq = s->audit_head_seq;
		memcpy(hash, s->audit_head_hash, 32);
		return JPKI_OK;
	}
	if ((r = store_db_cached(s, ST_AUDIT_LAST, "SELECT seq, hash FROM audit"
	    " ORDER BY seq DESC LIMIT 1", &st)) != JPKI_OK)
		return r;
	rc = db_step(st);
	if (rc == DB_ROW) {
		*seq = db_col_int64(st, 0);
		store_db_col_blob(st, 1, hash, 32);
		r = JPKI_OK;
	} else if (rc == DB_DONE) {
		*seq = 0;
		memset(hash, 0, 32);
		r = JPKI_OK;
	} else {
		r = store_db_fail(s, "audit");
	}
	db_reset(st);
	return r;
}

int
store_sql_audit_insert(void *impl, const struct audit_entry *e)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_cached(s, ST_AUDIT_INSERT, "INSERT INTO audit VALUES"
	    " (?,?,?,?,?,?,?,?)", &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, e->seq);
	db_bind_int64(st, 2, e->at);
	db_bind_text(st, 3, e->actor);
	db_bind_text(st, 4, e->action);
	db_bind_text(st, 5, e->subject);
	db_bind_text(st, 6, e->detail);
	db_bind_blob(st, 7, e->prev_hash, 32);
	db_bind_blob(st, 8, e->hash, 32);
	r = store_db_step_done(s, st, "audit");
	db_reset(st);
	s->audit_head_known = r == JPKI_OK && s->in_tx;
	if (s->audit_head_known) {
		s->audit_head_seq = e->seq;
		memcpy(s->audit_head_hash, e->hash, 32);
	}
	return r;
}

int
store_sql_audit_list(void *impl, int64_t after_seq, long limit,
    int (*fn)(void *, const struct audit_entry *), void *arg)
{
	struct sql_store *s = impl;
	struct audit_entry e;
	struct db_stmt *st = NULL;
	int r, rc;

	if ((r = store_db_prep(s, "SELECT seq, at, actor, action, subject, detail,"
	    " prev_hash, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
	    &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, after_seq);
	db_bind_int64(st, 2, limit > 0 ? limit : INT64_MAX);
	while ((rc = db_step(st)) == DB_ROW) {
		memset(&e, 0, sizeof(e));
		e.seq = db_col_int64(st, 0);
		e.at = db_col_int64(st, 1);
		store_db_col_text(st, 2, e.actor, sizeof(e.actor));
		store_db_col_text(st, 3, e.action, sizeof(e.action));
		store_db_col_text(st, 4, e.subject, sizeof(e.subject));
		e.detail = (char *)db_col_text(st, 5);
		store_db_col_blob(st, 6, e.prev_hash, 32);
		store_db_col_blob(st, 7, e.hash, 32);
		if (fn(arg, &e) != 0)
			break;
	}
	return store_db_rows_end(s, st, rc, "audit list");
}

int
store_sql_audit_count(void *impl, long *out)
{
	return store_db_count(impl, "SELECT COUNT(*) FROM audit", out);
}
