/*
 * sql_stmt.c: the one way the store's queries run a statement: prepare
 * (one-off or cached per connection), bind, step, read columns, and turn
 * the database's errors into the store's.
 */
#include "store/sql_int.h"

#include <stdarg.h>
#include <string.h>

static int
busy_fail(struct sql_store *s, const char *what)
{
	return jpki_fail(JPKI_ERR_IO, "store: %s%sthe database is busy: "
	    "another process is writing (waited up to %ld ms)",
	    what ? what : "", what ? ": " : "", s->busy_timeout_ms);
}

/* A failed step or exec's code as the store's error. */
static int
step_fail(struct sql_store *s, int rc, const char *what)
{
	/* A lost connection is said here, once (sql_conn.c). */
	store_sql_noticed(s);
	if (rc == DB_BUSY)
		return busy_fail(s, what);
	if (rc == DB_CONSTRAINT)
		return jpki_fail(JPKI_ERR_CONFLICT, "store: %s: %s",
		    what ? what : "constraint", s->db->drv->errmsg(s->db));
	return jpki_fail(JPKI_ERR_IO, "store: %s%s%s", what ? what : "",
	    what ? ": " : "", s->db->drv->errmsg(s->db));
}

int
store_db_fail(struct sql_store *s, const char *what)
{
	return step_fail(s, DB_FAILED, what);
}

int
store_db_exec(struct sql_store *s, const char *sql)
{
	int rc = s->db->drv->exec(s->db, sql);

	return rc == DB_DONE ? JPKI_OK : step_fail(s, rc, NULL);
}

int
store_db_prep(struct sql_store *s, const char *sql, struct db_stmt **st)
{
	if (s->db->drv->prepare(s->db, sql, 0, st) != DB_DONE)
		return store_db_fail(s, "prepare");
	return JPKI_OK;
}

int
store_db_cached(struct sql_store *s, enum stmt_id id, const char *sql,
    struct db_stmt **st)
{
	if (s->stmt[id] == NULL &&
	    s->db->drv->prepare(s->db, sql, 1, &s->stmt[id]) != DB_DONE)
		return store_db_fail(s, "prepare");
	db_reset(s->stmt[id]);
	*st = s->stmt[id];
	return JPKI_OK;
}

void
store_db_bind_text(struct db_stmt *st, int i, const char *v)
{
	db_bind_text(st, i, v);
}

void
store_db_col_text(struct db_stmt *st, int i, char *dst, size_t cap)
{
	const char *v = db_col_text(st, i);
	size_t n = v ? strlen(v) : 0;

	if (n >= cap)
		n = cap - 1;
	if (n > 0)
		memcpy(dst, v, n);
	dst[n] = '\0';
}

struct jdate
store_db_col_date(struct db_stmt *st, int i)
{
	struct jdate d = {0, 0, 0};
	const char *v = db_col_text(st, i);

	if (v != NULL)
		jdate_parse(v, &d);
	return d;
}

void
store_db_bind_date(struct db_stmt *st, int i, struct jdate d)
{
	char buf[11];

	jdate_format(d, buf);
	store_db_bind_text(st, i, buf);
}

int
store_db_step_done(struct sql_store *s, struct db_stmt *st, const char *what)
{
	int rc = db_step(st);

	if (rc == DB_ROW || rc == DB_DONE)
		return JPKI_OK;
	return step_fail(s, rc, what);
}

int
store_db_run(struct sql_store *s, struct db_stmt *st, const char *what)
{
	int r = store_db_step_done(s, st, what);

	db_finalize(st);
	return r;
}

int
store_db_insert(struct sql_store *s, struct db_stmt *st, const char *what,
    int64_t *id)
{
	int rc = db_step(st), r = JPKI_OK;

	if (rc == DB_ROW)
		*id = db_col_int64(st, 0);
	else if (rc == DB_DONE)
		r = jpki_fail(JPKI_ERR_INTERNAL, "store: %s: no id returned", what);
	else
		r = step_fail(s, rc, what);
	db_finalize(st);
	return r;
}

int
store_db_update_one(struct sql_store *s, struct db_stmt *st, const char *what)
{
	int r = store_db_step_done(s, st, what);

	if (r == JPKI_OK && s->db->drv->changes(s->db) != 1)
		r = JPKI_ERR_NOTFOUND;
	db_finalize(st);
	return r;
}

int
store_db_row(struct sql_store *s, struct db_stmt *st, const char *what,
    const char *notfound, ...)
{
	int rc = db_step(st), r;
	va_list ap;

	if (rc == DB_ROW)
		return JPKI_OK;
	if (rc != DB_DONE)
		return step_fail(s, rc, what);
	if (notfound == NULL)
		return JPKI_ERR_NOTFOUND;
	va_start(ap, notfound);
	r = jpki_vfail(JPKI_ERR_NOTFOUND, notfound, ap);
	va_end(ap);
	return r;
}

int
store_db_rows_end(struct sql_store *s, struct db_stmt *st, int rc,
    const char *what)
{
	int r = rc == DB_ROW || rc == DB_DONE ? JPKI_OK : step_fail(s, rc, what);

	db_finalize(st);
	return r;
}

int
store_db_count(struct sql_store *s, const char *sql, long *out)
{
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, sql, &st)) != JPKI_OK)
		return r;
	if ((r = store_db_row(s, st, "count", NULL)) == JPKI_OK)
		*out = (long)db_col_int64(st, 0);
	db_finalize(st);
	return r;
}

void
store_db_col_blob(struct db_stmt *st, int i, uint8_t *dst, size_t n)
{
	size_t have = 0;
	const void *v = db_col_blob(st, i, &have);

	if (v != NULL && have == n)
		memcpy(dst, v, n);
	else
		memset(dst, 0, n);
}

void
store_db_bind_opt_text(struct db_stmt *st, int i, const char *v)
{
	if (v != NULL && *v != '\0')
		store_db_bind_text(st, i, v);
	else
		db_bind_null(st, i);
}
