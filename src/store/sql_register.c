/*
 * sql_register.c: the register: municipalities (the table
 * shipped in the binary, loaded at init) and residents.
 */
#include "store/sql_int.h"

#include <stdio.h>
#include <string.h>

/* ---- municipalities ---- */

int
store_sql_municipality_put(void *impl, const struct municipality *m)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "INSERT INTO municipalities VALUES"
	    " (?,?,?,?,?,?) ON CONFLICT(code) DO UPDATE SET"
	    " name_ja = excluded.name_ja, name_kana = excluded.name_kana,"
	    " name_romaji = excluded.name_romaji, pref_ja = excluded.pref_ja,"
	    " pref_romaji = excluded.pref_romaji", &st)) != JPKI_OK)
		return r;
	store_db_bind_text(st, 1, m->code);
	store_db_bind_text(st, 2, m->name_ja);
	store_db_bind_text(st, 3, m->name_kana);
	store_db_bind_text(st, 4, m->name_romaji);
	store_db_bind_text(st, 5, m->pref_ja);
	store_db_bind_text(st, 6, m->pref_romaji);
	return store_db_run(s, st, "municipality");
}

int
store_sql_municipality_get(void *impl, const char *code,
    struct municipality *m)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_cached(s, ST_MUNICIPALITY_GET, "SELECT code, name_ja,"
	    " name_kana, name_romaji, pref_ja, pref_romaji FROM municipalities"
	    " WHERE code = ?", &st)))
		return r;
	store_db_bind_text(st, 1, code);
	if ((r = store_db_row(s, st, "municipality", "municipality: no municipality "
	    "with code %s", code)) == JPKI_OK) {
		store_db_col_text(st, 0, m->code, sizeof(m->code));
		store_db_col_text(st, 1, m->name_ja, sizeof(m->name_ja));
		store_db_col_text(st, 2, m->name_kana, sizeof(m->name_kana));
		store_db_col_text(st, 3, m->name_romaji, sizeof(m->name_romaji));
		store_db_col_text(st, 4, m->pref_ja, sizeof(m->pref_ja));
		store_db_col_text(st, 5, m->pref_romaji, sizeof(m->pref_romaji));
	}
	db_reset(st);
	return r;
}

int
store_sql_municipality_count(void *impl, long *out)
{
	return store_db_count(impl, "SELECT COUNT(*) FROM municipalities", out);
}

/* ---- residents ---- */

#define RESIDENT_COLS "id, number, surname, given, name_kana, name_flags," \
	" address, address_flags, birth, gender, municipality, status," \
	" facts_version, created_at, updated_at"

static void
resident_from_row(struct db_stmt *st, struct resident *r)
{
	memset(r, 0, sizeof(*r));
	r->id = db_col_int64(st, 0);
	store_db_col_text(st, 1, r->number, sizeof(r->number));
	store_db_col_text(st, 2, r->surname, sizeof(r->surname));
	store_db_col_text(st, 3, r->given, sizeof(r->given));
	store_db_col_text(st, 4, r->name_kana, sizeof(r->name_kana));
	store_db_col_text(st, 5, r->name_flags, sizeof(r->name_flags));
	store_db_col_text(st, 6, r->address, sizeof(r->address));
	store_db_col_text(st, 7, r->address_flags, sizeof(r->address_flags));
	r->birth = store_db_col_date(st, 8);
	r->gender = (enum gender)db_col_int(st, 9);
	store_db_col_text(st, 10, r->municipality, sizeof(r->municipality));
	r->status = (enum resident_status)db_col_int(st, 11);
	r->facts_version = db_col_int64(st, 12);
	r->created_at = db_col_int64(st, 13);
	r->updated_at = db_col_int64(st, 14);
}

static void
resident_bind(struct db_stmt *st, const struct resident *r)
{
	store_db_bind_text(st, 1, r->number);
	store_db_bind_text(st, 2, r->surname);
	store_db_bind_text(st, 3, r->given);
	store_db_bind_text(st, 4, r->name_kana);
	store_db_bind_text(st, 5, r->name_flags);
	store_db_bind_text(st, 6, r->address);
	store_db_bind_text(st, 7, r->address_flags);
	store_db_bind_date(st, 8, r->birth);
	db_bind_int(st, 9, (int)r->gender);
	store_db_bind_text(st, 10, r->municipality);
	db_bind_int(st, 11, (int)r->status);
	db_bind_int64(st, 12, r->facts_version);
	db_bind_int64(st, 13, r->created_at);
	db_bind_int64(st, 14, r->updated_at);
}

int
store_sql_resident_insert(void *impl, struct resident *res)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "INSERT INTO residents(number, surname, given,"
	    " name_kana, name_flags, address, address_flags, birth, gender,"
	    " municipality, status, facts_version, created_at, updated_at)"
	    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id", &st))
	    != JPKI_OK)
		return r;
	resident_bind(st, res);
	return store_db_insert(s, st, "resident", &res->id);
}

int
store_sql_resident_update(void *impl, const struct resident *res)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "UPDATE residents SET number = ?, surname = ?,"
	    " given = ?, name_kana = ?, name_flags = ?, address = ?,"
	    " address_flags = ?, birth = ?, gender = ?, municipality = ?,"
	    " status = ?, facts_version = ?, created_at = ?, updated_at = ?"
	    " WHERE id = ?", &st)) != JPKI_OK)
		return r;
	resident_bind(st, res);
	db_bind_int64(st, 15, res->id);
	if ((r = store_db_update_one(s, st, "resident")) == JPKI_ERR_NOTFOUND)
		r = jpki_fail(JPKI_ERR_NOTFOUND, "resident %lld not found",
		    (long long)res->id);
	return r;
}

int
store_sql_resident_get(void *impl, int64_t id, struct resident *out)
{
	struct sql_store *s = impl;
	const char *sql = "SELECT " RESIDENT_COLS " FROM residents WHERE id = ?";
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_cached(s, ST_RESIDENT_GET, sql, &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, id);
	if ((r = store_db_row(s, st, "resident", "no resident with id %lld",
	    (long long)id)) == JPKI_OK)
		resident_from_row(st, out);
	db_reset(st);
	return r;
}

int
store_sql_resident_by_number(void *impl, const char *number,
    struct resident *out)
{
	struct sql_store *s = impl;
	const char *sql = "SELECT " RESIDENT_COLS
	    " FROM residents WHERE number = ?";
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_cached(s, ST_RESIDENT_BY_NUMBER, sql, &st)) != JPKI_OK)
		return r;
	store_db_bind_text(st, 1, number);
	if ((r = store_db_row(s, st, "resident", "no resident with that individual "
	    "number")) == JPKI_OK)
		resident_from_row(st, out);
	db_reset(st);
	return r;
}

int
store_sql_resident_list(void *impl, int64_t after_id, long limit,
    int (*fn)(void *, const struct resident *), void *arg)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	struct resident res;
	int r, rc;

	if ((r = store_db_prep(s, "SELECT " RESIDENT_COLS " FROM residents"
	    " WHERE id > ? ORDER BY id LIMIT ?", &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, after_id);
	db_bind_int64(st, 2, limit > 0 ? limit : INT64_MAX);
	while ((rc = db_step(st)) == DB_ROW) {
		resident_from_row(st, &res);
		if (fn(arg, &res) != 0)
			break;
	}
	return store_db_rows_end(s, st, rc, "resident list");
}

int
store_sql_resident_count(void *impl, long *out)
{
	return store_db_count(impl, "SELECT COUNT(*) FROM residents", out);
}

/* The web UI's resident search: an exact individual number or card serial,
 * or a part of the name or kana.  A substring search (SQLite's instr(),
 * PostgreSQL's strpos(), the same arguments) rather than LIKE: the text
 * typed is matched as it is, with no wildcard of its own.  A full-width
 * space typed between surname and given name matches the stored one. */
int
store_sql_resident_search(void *impl, const char *text, long limit,
    int (*fn)(void *, const struct resident *), void *arg)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	struct resident res;
	const char *pos = s->dialect == DB_POSTGRESQL ? "strpos" : "instr";
	char sql[1024];
	int r, rc;

	snprintf(sql, sizeof(sql), "SELECT " RESIDENT_COLS " FROM residents"
	    " WHERE number = ?1"
	    " OR id IN (SELECT resident_id FROM cards WHERE serial = upper(?1))"
	    " OR %s(replace(surname || ' ' || given, '\u3000', ' '),"
	    "   replace(?1, '\u3000', ' ')) > 0"
	    " OR %s(surname || given, ?1) > 0"
	    " OR %s(replace(coalesce(name_kana, ''), '\u3000', ' '),"
	    "   replace(?1, '\u3000', ' ')) > 0"
	    " ORDER BY id LIMIT ?2", pos, pos, pos);
	if ((r = store_db_prep(s, sql, &st)) != JPKI_OK)
		return r;
	store_db_bind_text(st, 1, text);
	db_bind_int64(st, 2, limit > 0 ? limit : INT64_MAX);
	while ((rc = db_step(st)) == DB_ROW) {
		resident_from_row(st, &res);
		if (fn(arg, &res) != 0)
			break;
	}
	return store_db_rows_end(s, st, rc, "resident search");
}
