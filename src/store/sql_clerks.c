/*
 * sql_clerks.c: clerk accounts of the counter's web UI in SQLite, and
 * the requests that wait for a second person's approval.  The password is
 * never here: only the argon2id hash text the web UI module
 * made (crypto_pwhash_str), which carries its own salt and parameters.
 */
#include "store/sql_int.h"

#include <string.h>

#define CLERK_COLS "id, name, role, pw_hash, disabled, failures," \
	" locked_until, last_login, created_at, updated_at"

static void
clerk_from_row(struct db_stmt *st, struct clerk *c)
{
	memset(c, 0, sizeof(*c));
	c->id = db_col_int64(st, 0);
	store_db_col_text(st, 1, c->name, sizeof(c->name));
	c->role = (enum clerk_role)db_col_int(st, 2);
	store_db_col_text(st, 3, c->pw_hash, sizeof(c->pw_hash));
	c->disabled = db_col_int(st, 4);
	c->failures = db_col_int(st, 5);
	c->locked_until = db_col_int64(st, 6);
	c->last_login = db_col_int64(st, 7);
	c->created_at = db_col_int64(st, 8);
	c->updated_at = db_col_int64(st, 9);
}

int
store_sql_clerk_insert(void *impl, struct clerk *c)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "INSERT INTO clerks(name, role, pw_hash,"
	    " disabled, failures, locked_until, last_login, created_at,"
	    " updated_at) VALUES (?,?,?,?,?,?,?,?,?) RETURNING id", &st))
	    != JPKI_OK)
		return r;
	store_db_bind_text(st, 1, c->name);
	db_bind_int(st, 2, (int)c->role);
	store_db_bind_text(st, 3, c->pw_hash);
	db_bind_int(st, 4, c->disabled);
	db_bind_int(st, 5, c->failures);
	db_bind_int64(st, 6, c->locked_until);
	db_bind_int64(st, 7, c->last_login);
	db_bind_int64(st, 8, c->created_at);
	db_bind_int64(st, 9, c->updated_at);
	if ((r = store_db_insert(s, st, "clerk", &c->id)) == JPKI_ERR_CONFLICT)
		r = jpki_fail(r, "clerk %s exists already", c->name);
	return r;
}

int
store_sql_clerk_update(void *impl, const struct clerk *c)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "UPDATE clerks SET role = ?, pw_hash = ?,"
	    " disabled = ?, failures = ?, locked_until = ?, last_login = ?,"
	    " updated_at = ? WHERE id = ?", &st)) != JPKI_OK)
		return r;
	db_bind_int(st, 1, (int)c->role);
	store_db_bind_text(st, 2, c->pw_hash);
	db_bind_int(st, 3, c->disabled);
	db_bind_int(st, 4, c->failures);
	db_bind_int64(st, 5, c->locked_until);
	db_bind_int64(st, 6, c->last_login);
	db_bind_int64(st, 7, c->updated_at);
	db_bind_int64(st, 8, c->id);
	if ((r = store_db_update_one(s, st, "clerk")) == JPKI_ERR_NOTFOUND)
		r = jpki_fail(r, "no clerk %s", c->name);
	return r;
}

int
store_sql_clerk_get(void *impl, const char *name, struct clerk *out)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "SELECT " CLERK_COLS " FROM clerks"
	    " WHERE name = ?", &st)) != JPKI_OK)
		return r;
	store_db_bind_text(st, 1, name);
	if ((r = store_db_row(s, st, "clerk", "no clerk %.63s", name)) ==
	    JPKI_OK)
		clerk_from_row(st, out);
	db_finalize(st);
	return r;
}

int
store_sql_clerk_list(void *impl, int (*fn)(void *, const struct clerk *),
    void *arg)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	struct clerk c;
	int r, rc;

	if ((r = store_db_prep(s, "SELECT " CLERK_COLS " FROM clerks"
	    " ORDER BY name", &st)) != JPKI_OK)
		return r;
	while ((rc = db_step(st)) == DB_ROW) {
		clerk_from_row(st, &c);
		if (fn(arg, &c) != 0)
			break;
	}
	return store_db_rows_end(s, st, rc, "clerk list");
}

/* ---- approvals ---- */

#define APPROVAL_COLS "id, kind, state, requester, approver, serial, reason," \
	" note, at, decided_at, exported"

static void
approval_from_row(struct db_stmt *st, struct approval *a)
{
	memset(a, 0, sizeof(*a));
	a->id = db_col_int64(st, 0);
	a->kind = (enum approval_kind)db_col_int(st, 1);
	a->state = (enum approval_state)db_col_int(st, 2);
	store_db_col_text(st, 3, a->requester, sizeof(a->requester));
	store_db_col_text(st, 4, a->approver, sizeof(a->approver));
	store_db_col_text(st, 5, a->serial, sizeof(a->serial));
	a->reason = db_col_int(st, 6);
	store_db_col_text(st, 7, a->note, sizeof(a->note));
	a->at = db_col_int64(st, 8);
	a->decided_at = db_col_int64(st, 9);
	a->exported = db_col_int(st, 10);
}

static void
approval_bind(struct db_stmt *st, const struct approval *a)
{
	db_bind_int(st, 1, (int)a->kind);
	db_bind_int(st, 2, (int)a->state);
	store_db_bind_text(st, 3, a->requester);
	store_db_bind_opt_text(st, 4, a->approver);
	store_db_bind_opt_text(st, 5, a->serial);
	db_bind_int(st, 6, a->reason);
	store_db_bind_opt_text(st, 7, a->note);
	db_bind_int64(st, 8, a->at);
	if (a->decided_at != 0)
		db_bind_int64(st, 9, a->decided_at);
	db_bind_int(st, 10, a->exported);
}

int
store_sql_approval_insert(void *impl, struct approval *a)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "INSERT INTO approvals(kind, state,"
	    " requester, approver, serial, reason, note, at, decided_at,"
	    " exported) VALUES (?,?,?,?,?,?,?,?,?,?) RETURNING id", &st))
	    != JPKI_OK)
		return r;
	approval_bind(st, a);
	return store_db_insert(s, st, "approval", &a->id);
}

int
store_sql_approval_update(void *impl, const struct approval *a)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "UPDATE approvals SET kind = ?, state = ?,"
	    " requester = ?, approver = ?, serial = ?, reason = ?, note = ?,"
	    " at = ?, decided_at = ?, exported = ? WHERE id = ?", &st)))
		return r;
	approval_bind(st, a);
	db_bind_int64(st, 11, a->id);
	if ((r = store_db_update_one(s, st, "approval")) == JPKI_ERR_NOTFOUND)
		r = jpki_fail(r, "no approval %lld", (long long)a->id);
	return r;
}

int
store_sql_approval_get(void *impl, int64_t id, struct approval *out)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "SELECT " APPROVAL_COLS " FROM approvals"
	    " WHERE id = ?", &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, id);
	if ((r = store_db_row(s, st, "approval", "no approval %lld",
	    (long long)id)) == JPKI_OK)
		approval_from_row(st, out);
	db_finalize(st);
	return r;
}

int
store_sql_approval_list(void *impl, long limit,
    int (*fn)(void *, const struct approval *), void *arg)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	struct approval a;
	int r, rc;

	if ((r = store_db_prep(s, "SELECT " APPROVAL_COLS " FROM approvals"
	    " ORDER BY id DESC LIMIT ?", &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, limit > 0 ? limit : INT64_MAX);
	while ((rc = db_step(st)) == DB_ROW) {
		approval_from_row(st, &a);
		if (fn(arg, &a) != 0)
			break;
	}
	return store_db_rows_end(s, st, rc, "approval list");
}
