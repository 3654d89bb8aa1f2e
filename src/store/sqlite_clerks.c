/*
 * sqlite_clerks.c: clerk accounts of the counter's web UI in SQLite.  The
 * password is never here: only the argon2id hash text the web UI module
 * made (crypto_pwhash_str), which carries its own salt and parameters.
 */
#include "store/sqlite_int.h"

#include <string.h>

#define CLERK_COLS "id, name, role, pw_hash, disabled, failures," \
	" locked_until, last_login, created_at, updated_at"

static void
clerk_from_row(sqlite3_stmt *st, struct clerk *c)
{
	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(st, 0);
	store_db_col_text(st, 1, c->name, sizeof(c->name));
	c->role = (enum clerk_role)sqlite3_column_int(st, 2);
	store_db_col_text(st, 3, c->pw_hash, sizeof(c->pw_hash));
	c->disabled = sqlite3_column_int(st, 4);
	c->failures = sqlite3_column_int(st, 5);
	c->locked_until = sqlite3_column_int64(st, 6);
	c->last_login = sqlite3_column_int64(st, 7);
	c->created_at = sqlite3_column_int64(st, 8);
	c->updated_at = sqlite3_column_int64(st, 9);
}

int
store_sqlite_clerk_insert(void *impl, struct clerk *c)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "INSERT INTO clerks(name, role, pw_hash,"
	    " disabled, failures, locked_until, last_login, created_at,"
	    " updated_at) VALUES (?,?,?,?,?,?,?,?,?)", &st)) != JPKI_OK)
		return r;
	store_db_bind_text(st, 1, c->name);
	sqlite3_bind_int(st, 2, (int)c->role);
	store_db_bind_text(st, 3, c->pw_hash);
	sqlite3_bind_int(st, 4, c->disabled);
	sqlite3_bind_int(st, 5, c->failures);
	sqlite3_bind_int64(st, 6, c->locked_until);
	sqlite3_bind_int64(st, 7, c->last_login);
	sqlite3_bind_int64(st, 8, c->created_at);
	sqlite3_bind_int64(st, 9, c->updated_at);
	if ((r = store_db_insert(s, st, "clerk", &c->id)) == JPKI_ERR_CONFLICT)
		r = jpki_fail(r, "clerk %s exists already", c->name);
	return r;
}

int
store_sqlite_clerk_update(void *impl, const struct clerk *c)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "UPDATE clerks SET role = ?, pw_hash = ?,"
	    " disabled = ?, failures = ?, locked_until = ?, last_login = ?,"
	    " updated_at = ? WHERE id = ?", &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int(st, 1, (int)c->role);
	store_db_bind_text(st, 2, c->pw_hash);
	sqlite3_bind_int(st, 3, c->disabled);
	sqlite3_bind_int(st, 4, c->failures);
	sqlite3_bind_int64(st, 5, c->locked_until);
	sqlite3_bind_int64(st, 6, c->last_login);
	sqlite3_bind_int64(st, 7, c->updated_at);
	sqlite3_bind_int64(st, 8, c->id);
	if ((r = store_db_update_one(s, st, "clerk")) == JPKI_ERR_NOTFOUND)
		r = jpki_fail(r, "no clerk %s", c->name);
	return r;
}

int
store_sqlite_clerk_get(void *impl, const char *name, struct clerk *out)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "SELECT " CLERK_COLS " FROM clerks"
	    " WHERE name = ?", &st)) != JPKI_OK)
		return r;
	store_db_bind_text(st, 1, name);
	if ((r = store_db_row(s, st, "clerk", "no clerk %.63s", name)) ==
	    JPKI_OK)
		clerk_from_row(st, out);
	sqlite3_finalize(st);
	return r;
}

int
store_sqlite_clerk_list(void *impl, int (*fn)(void *, const struct clerk *),
    void *arg)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	struct clerk c;
	int r, rc;

	if ((r = store_db_prep(s, "SELECT " CLERK_COLS " FROM clerks"
	    " ORDER BY name", &st)) != JPKI_OK)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		clerk_from_row(st, &c);
		if (fn(arg, &c) != 0)
			break;
	}
	return store_db_rows_end(s, st, rc, "clerk list");
}
