/*
 * sqlite_stmt.c: the one way the SQLite store runs a statement: prepare
 * (one-off or cached per connection), bind, step, read columns, and turn
 * SQLite's errors into the store's.
 */
#include "store/sqlite_int.h"

#include <stdarg.h>
#include <string.h>

/* SQLITE_BUSY: another connection kept the lock this one needed past the
 * busy timeout (or could not wait for it without a deadlock). */
static int
db_busy(struct sqlite_store *s)
{
	return (sqlite3_extended_errcode(s->db) & 0xff) == SQLITE_BUSY;
}

static int
busy_fail(struct sqlite_store *s, const char *what)
{
	return jpki_fail(JPKI_ERR_IO, "store: %s%sthe database is busy: "
	    "another process is writing (waited up to %ld ms)",
	    what ? what : "", what ? ": " : "", s->busy_timeout_ms);
}

int
store_db_fail(struct sqlite_store *s, const char *what)
{
	if (db_busy(s))
		return busy_fail(s, what);
	return jpki_fail(JPKI_ERR_IO, "store: %s: %s", what,
	    sqlite3_errmsg(s->db));
}

int
store_db_exec(struct sqlite_store *s, const char *sql)
{
	char *err = NULL;
	int r = JPKI_OK;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK)
		r = db_busy(s) ? busy_fail(s, NULL) : jpki_fail(JPKI_ERR_IO,
		    "store: %s", err ? err : "exec failed");
	sqlite3_free(err);
	return r;
}

int
store_db_prep(struct sqlite_store *s, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		return store_db_fail(s, "prepare");
	return JPKI_OK;
}

int
store_db_cached(struct sqlite_store *s, enum stmt_id id, const char *sql,
    sqlite3_stmt **st)
{
	if (s->stmt[id] == NULL &&
	    sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &s->stmt[id], NULL) != SQLITE_OK)
		return store_db_fail(s, "prepare");
	sqlite3_reset(s->stmt[id]);
	sqlite3_clear_bindings(s->stmt[id]);
	*st = s->stmt[id];
	return JPKI_OK;
}

void
store_db_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

void
store_db_col_text(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
	const unsigned char *v = sqlite3_column_text(st, i);
	size_t n = v ? strlen((const char *)v) : 0;

	if (n >= cap)
		n = cap - 1;
	if (n > 0)
		memcpy(dst, v, n);
	dst[n] = '\0';
}

struct jdate
store_db_col_date(sqlite3_stmt *st, int i)
{
	struct jdate d = {0, 0, 0};
	const char *v = (const char *)sqlite3_column_text(st, i);

	if (v != NULL)
		jdate_parse(v, &d);
	return d;
}

void
store_db_bind_date(sqlite3_stmt *st, int i, struct jdate d)
{
	char buf[11];

	jdate_format(d, buf);
	store_db_bind_text(st, i, buf);
}

int
store_db_step_done(struct sqlite_store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_CONSTRAINT)
		return jpki_fail(JPKI_ERR_CONFLICT, "store: %s: %s", what,
		    sqlite3_errmsg(s->db));
	if (rc != SQLITE_DONE)
		return store_db_fail(s, what);
	return JPKI_OK;
}

int
store_db_run(struct sqlite_store *s, sqlite3_stmt *st, const char *what)
{
	int r = store_db_step_done(s, st, what);

	sqlite3_finalize(st);
	return r;
}

int
store_db_insert(struct sqlite_store *s, sqlite3_stmt *st, const char *what,
    int64_t *id)
{
	int r = store_db_step_done(s, st, what);

	if (r == JPKI_OK)
		*id = sqlite3_last_insert_rowid(s->db);
	sqlite3_finalize(st);
	return r;
}

int
store_db_update_one(struct sqlite_store *s, sqlite3_stmt *st, const char *what)
{
	int r = store_db_step_done(s, st, what);

	if (r == JPKI_OK && sqlite3_changes(s->db) != 1)
		r = JPKI_ERR_NOTFOUND;
	sqlite3_finalize(st);
	return r;
}

int
store_db_row(struct sqlite_store *s, sqlite3_stmt *st, const char *what,
    const char *notfound, ...)
{
	int rc = sqlite3_step(st), r;
	va_list ap;

	if (rc == SQLITE_ROW)
		return JPKI_OK;
	if (rc != SQLITE_DONE)
		return store_db_fail(s, what);
	if (notfound == NULL)
		return JPKI_ERR_NOTFOUND;
	va_start(ap, notfound);
	r = jpki_vfail(JPKI_ERR_NOTFOUND, notfound, ap);
	va_end(ap);
	return r;
}

int
store_db_rows_end(struct sqlite_store *s, sqlite3_stmt *st, int rc,
    const char *what)
{
	int r = rc == SQLITE_ROW || rc == SQLITE_DONE ? JPKI_OK :
	    store_db_fail(s, what);

	sqlite3_finalize(st);
	return r;
}

int
store_db_count(struct sqlite_store *s, const char *sql, long *out)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, sql, &st)) != JPKI_OK)
		return r;
	if ((r = store_db_row(s, st, "count", NULL)) == JPKI_OK)
		*out = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return r;
}

void
store_db_col_blob(sqlite3_stmt *st, int i, uint8_t *dst, size_t n)
{
	if ((size_t)sqlite3_column_bytes(st, i) == n)
		memcpy(dst, sqlite3_column_blob(st, i), n);
	else
		memset(dst, 0, n);
}

void
store_db_bind_opt_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v != NULL && *v != '\0')
		store_db_bind_text(st, i, v);
	else
		sqlite3_bind_null(st, i);
}
