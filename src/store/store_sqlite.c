/*
 * store_sqlite.c: the embedded store.  One SQLite database in WAL mode;
 * versioned migrations applied at open, each in its own transaction;
 * prepared statements cached for the hot paths (issuance, audit).
 *
 * Transactions are BEGIN IMMEDIATE so that two processes never both hold
 * a read snapshot and then race to write.  With durability on
 * (synchronous=FULL) a commit is on disk when store_commit() returns.
 */
#include "store/store_impl.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 10000

enum stmt_id {
	ST_CERT_INSERT,
	ST_AUDIT_LAST,
	ST_AUDIT_INSERT,
	ST_RESIDENT_GET,
	ST_MUNICIPALITY_GET,
	ST_CERT_VALID_OF,
	ST__COUNT
};

struct sqlite_store {
	sqlite3 *db;
	int in_tx;
	sqlite3_stmt *stmt[ST__COUNT];
};

static int
db_fail(struct sqlite_store *s, const char *what)
{
	return jpki_fail(JPKI_ERR_IO, "store: %s: %s", what,
	    sqlite3_errmsg(s->db));
}

static int
db_exec(struct sqlite_store *s, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		jpki_fail(JPKI_ERR_IO, "store: %s", err ? err : "exec failed");
		sqlite3_free(err);
		return JPKI_ERR_IO;
	}
	return JPKI_OK;
}

/* Prepare a one-off statement. */
static int
db_prep(struct sqlite_store *s, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		return db_fail(s, "prepare");
	return JPKI_OK;
}

/* A cached statement, reset and ready to bind. */
static int
db_cached(struct sqlite_store *s, enum stmt_id id, const char *sql,
    sqlite3_stmt **st)
{
	if (s->stmt[id] == NULL &&
	    sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &s->stmt[id], NULL) != SQLITE_OK)
		return db_fail(s, "prepare");
	sqlite3_reset(s->stmt[id]);
	sqlite3_clear_bindings(s->stmt[id]);
	*st = s->stmt[id];
	return JPKI_OK;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

static void
col_text(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
	const unsigned char *v = sqlite3_column_text(st, i);
	size_t n = v ? strlen((const char *)v) : 0;

	if (n >= cap)
		n = cap - 1;
	if (n > 0)
		memcpy(dst, v, n);
	dst[n] = '\0';
}

static struct jdate
col_date(sqlite3_stmt *st, int i)
{
	struct jdate d = {0, 0, 0};
	const char *v = (const char *)sqlite3_column_text(st, i);

	if (v != NULL)
		jdate_parse(v, &d);
	return d;
}

static void
bind_date(sqlite3_stmt *st, int i, struct jdate d)
{
	char buf[11];

	jdate_format(d, buf);
	bind_text(st, i, buf);
}

/* Step a statement that returns no rows. */
static int
db_step_done(struct sqlite_store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_CONSTRAINT)
		return jpki_fail(JPKI_ERR_CONFLICT, "store: %s: %s", what,
		    sqlite3_errmsg(s->db));
	if (rc != SQLITE_DONE)
		return db_fail(s, what);
	return JPKI_OK;
}

/* ---- migrations ---- */

static const char *const migrations[] = {
    /* 1: the foundation schema */
    "CREATE TABLE municipalities("
    "  code TEXT PRIMARY KEY, name_ja TEXT NOT NULL, name_kana TEXT,"
    "  name_romaji TEXT NOT NULL, pref_ja TEXT NOT NULL,"
    "  pref_romaji TEXT NOT NULL);"
    "CREATE TABLE residents("
    "  id INTEGER PRIMARY KEY, number TEXT NOT NULL UNIQUE,"
    "  surname TEXT NOT NULL, given TEXT NOT NULL, name_kana TEXT,"
    "  name_flags TEXT NOT NULL, address TEXT NOT NULL,"
    "  address_flags TEXT NOT NULL, birth TEXT NOT NULL,"
    "  gender INTEGER NOT NULL,"
    "  municipality TEXT NOT NULL REFERENCES municipalities(code),"
    "  status INTEGER NOT NULL, facts_version INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE TABLE cards("
    "  id INTEGER PRIMARY KEY, serial TEXT NOT NULL UNIQUE,"
    "  resident_id INTEGER NOT NULL REFERENCES residents(id),"
    "  kind INTEGER NOT NULL, status INTEGER NOT NULL,"
    "  issued_on TEXT NOT NULL, expiry TEXT NOT NULL,"
    "  facts_version INTEGER NOT NULL, image_path TEXT);"
    "CREATE INDEX cards_resident ON cards(resident_id);"
    "CREATE TABLE certificates("
    "  serial TEXT PRIMARY KEY, ca INTEGER NOT NULL,"
    "  resident_id INTEGER NOT NULL REFERENCES residents(id),"
    "  card_id INTEGER, status INTEGER NOT NULL, reason INTEGER,"
    "  not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,"
    "  issued_at INTEGER NOT NULL, revoked_at INTEGER,"
    "  crl_shard INTEGER NOT NULL, replaces TEXT, der BLOB NOT NULL);"
    "CREATE INDEX certificates_resident ON certificates(resident_id);"
    "CREATE TABLE revocations("
    "  ca INTEGER NOT NULL, shard INTEGER NOT NULL, serial TEXT NOT NULL,"
    "  revoked_at INTEGER NOT NULL, reason INTEGER NOT NULL,"
    "  PRIMARY KEY(ca, shard, serial)) WITHOUT ROWID;"
    "CREATE TABLE crl_numbers("
    "  ca INTEGER NOT NULL, shard INTEGER NOT NULL,"
    "  number INTEGER NOT NULL, PRIMARY KEY(ca, shard)) WITHOUT ROWID;"
    "CREATE TABLE audit("
    "  seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL,"
    "  action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL,"
    "  prev_hash BLOB NOT NULL, hash BLOB NOT NULL);"
    "CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
    "CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;",
    /* 2: counter procedures (receipts, certificate links, PIN resets) */
    "CREATE TABLE receipts("
    "  id INTEGER PRIMARY KEY, at INTEGER NOT NULL, clerk TEXT NOT NULL,"
    "  procedure TEXT NOT NULL,"
    "  resident_id INTEGER NOT NULL REFERENCES residents(id),"
    "  card_id INTEGER REFERENCES cards(id), total_yen INTEGER NOT NULL,"
    "  holder_doc_type TEXT NOT NULL, holder_doc_number TEXT,"
    "  proxy_name TEXT, proxy_doc_type TEXT, proxy_doc_number TEXT,"
    "  form TEXT);"
    "CREATE INDEX receipts_resident ON receipts(resident_id);"
    "CREATE TABLE receipt_lines("
    "  receipt_id INTEGER NOT NULL REFERENCES receipts(id),"
    "  line INTEGER NOT NULL, item TEXT NOT NULL, yen INTEGER NOT NULL,"
    "  PRIMARY KEY(receipt_id, line)) WITHOUT ROWID;"
    "CREATE TABLE cert_links("
    "  old_serial TEXT NOT NULL REFERENCES certificates(serial),"
    "  new_serial TEXT NOT NULL REFERENCES certificates(serial),"
    "  kind TEXT NOT NULL, at INTEGER NOT NULL,"
    "  receipt_id INTEGER REFERENCES receipts(id),"
    "  PRIMARY KEY(old_serial, new_serial)) WITHOUT ROWID;"
    "CREATE INDEX cert_links_new ON cert_links(new_serial);"
    "CREATE TABLE pin_resets("
    "  receipt_id INTEGER PRIMARY KEY REFERENCES receipts(id),"
    "  card_id INTEGER NOT NULL REFERENCES cards(id),"
    "  pin_kind INTEGER NOT NULL, was_locked INTEGER NOT NULL);"
    "CREATE TABLE card_images("
    "  card_id INTEGER PRIMARY KEY REFERENCES cards(id),"
    "  sha256 BLOB NOT NULL, receipt_id INTEGER REFERENCES receipts(id),"
    "  at INTEGER NOT NULL);",
    /* 3: proxy applications and inquiry/response forms, expiry notices */
    "CREATE TABLE proxy_applications("
    "  id INTEGER PRIMARY KEY,"
    "  resident_id INTEGER NOT NULL REFERENCES residents(id),"
    "  purpose INTEGER NOT NULL, cert_types INTEGER NOT NULL,"
    "  pin_kind INTEGER NOT NULL, proxy_name TEXT NOT NULL,"
    "  proxy_doc_type TEXT NOT NULL, proxy_doc_number TEXT NOT NULL,"
    "  clerk TEXT NOT NULL, applied_at INTEGER NOT NULL,"
    "  form_number INTEGER, status INTEGER NOT NULL,"
    "  completed_at INTEGER);"
    "CREATE TABLE form_numbers("
    "  number INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  reserved_at INTEGER NOT NULL);"
    "CREATE TABLE inquiry_forms("
    "  number INTEGER PRIMARY KEY REFERENCES form_numbers(number),"
    "  resident_id INTEGER NOT NULL REFERENCES residents(id),"
    "  purpose INTEGER NOT NULL, cert_types INTEGER NOT NULL,"
    "  pin_kind INTEGER NOT NULL, origin INTEGER NOT NULL,"
    "  application_id INTEGER REFERENCES proxy_applications(id),"
    "  issued_on TEXT NOT NULL, expiry TEXT NOT NULL,"
    "  check_salt BLOB NOT NULL, check_hash BLOB NOT NULL,"
    "  status INTEGER NOT NULL, used_at INTEGER,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX inquiry_forms_resident ON inquiry_forms(resident_id);"
    "CREATE TABLE expiry_notices("
    "  serial TEXT PRIMARY KEY REFERENCES certificates(serial),"
    "  form_number INTEGER NOT NULL REFERENCES inquiry_forms(number))"
    "  WITHOUT ROWID;"
    "CREATE INDEX certificates_not_after ON certificates(not_after);",
};

static int
user_version(struct sqlite_store *s, int *out)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prep(s, "PRAGMA user_version", &st)) != JPKI_OK)
		return r;
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return db_fail(s, "read schema version");
	}
	*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return JPKI_OK;
}

static int
migrate(struct sqlite_store *s)
{
	int have = 0, r;
	int want = (int)JPKI_ARRAY_LEN(migrations);
	char sql[64];

	if ((r = db_exec(s, "BEGIN IMMEDIATE")) != JPKI_OK)
		return r;
	if ((r = user_version(s, &have)) != JPKI_OK)
		goto fail;
	if (have > want) {
		r = jpki_fail(JPKI_ERR_IO, "store: database schema %d is newer "
		    "than this program (%d)", have, want);
		goto fail;
	}
	for (int v = have; v < want; v++) {
		if ((r = db_exec(s, migrations[v])) != JPKI_OK)
			goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", want);
	if ((r = db_exec(s, sql)) != JPKI_OK)
		goto fail;
	return db_exec(s, "COMMIT");
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static void
sq_close(void *impl)
{
	struct sqlite_store *s = impl;

	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	free(s);
}

int
store_sqlite_open(const char *path, void **impl)
{
	struct sqlite_store *s;
	int r, fd;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	/* The register holds individual numbers: the database (and the WAL
	 * and shared-memory files SQLite gives its mode) is for the
	 * operator only. */
	if (strcmp(path, ":memory:") != 0 && (fd = open(path, O_RDWR |
	    O_CREAT | O_CLOEXEC, 0600)) >= 0)
		close(fd);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		r = jpki_fail(JPKI_ERR_IO, "store: cannot open %s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	if ((r = db_exec(s, "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")) != JPKI_OK)
		goto fail;
	if ((r = migrate(s)) != JPKI_OK)
		goto fail;
	*impl = s;
	return JPKI_OK;
fail:
	sq_close(s);
	return r;
}

static int
sq_set_durable(void *impl, int durable)
{
	return db_exec(impl, durable ? "PRAGMA synchronous=FULL" :
	    "PRAGMA synchronous=NORMAL");
}

static int
sq_schema_version(void *impl, int *out)
{
	return user_version(impl, out);
}

static int
sq_begin(void *impl)
{
	struct sqlite_store *s = impl;
	int r;

	if (s->in_tx)
		return jpki_fail(JPKI_ERR_INTERNAL, "store: nested transaction");
	if ((r = db_exec(s, "BEGIN IMMEDIATE")) != JPKI_OK)
		return r;
	s->in_tx = 1;
	return JPKI_OK;
}

static int
sq_commit(void *impl)
{
	struct sqlite_store *s = impl;
	int r;

	if ((r = db_exec(s, "COMMIT")) != JPKI_OK) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		s->in_tx = 0;
		return r;
	}
	s->in_tx = 0;
	return JPKI_OK;
}

static void
sq_rollback(void *impl)
{
	struct sqlite_store *s = impl;

	if (s->in_tx)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_tx = 0;
}

static int
sq_in_transaction(void *impl)
{
	return ((struct sqlite_store *)impl)->in_tx;
}

/* Run a one-row SELECT COUNT(*) style query. */
static int
count_query(struct sqlite_store *s, const char *sql, long *out)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prep(s, sql, &st)) != JPKI_OK)
		return r;
	if (sqlite3_step(st) != SQLITE_ROW) {
		r = db_fail(s, "count");
	} else {
		*out = (long)sqlite3_column_int64(st, 0);
		r = JPKI_OK;
	}
	sqlite3_finalize(st);
	return r;
}

static int
sq_data_version(void *impl, uint64_t *out)
{
	long v = 0;
	int r;

	/* PRAGMA data_version ignores this connection's own commits (unlike
	 * SQLITE_FCNTL_DATA_VERSION, which counts them too). */
	if ((r = count_query(impl, "PRAGMA data_version", &v)) != JPKI_OK)
		return r;
	*out = (uint64_t)v;
	return JPKI_OK;
}

/* ---- municipalities ---- */

static int
sq_municipality_put(void *impl, const struct municipality *m)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prep(s, "INSERT OR REPLACE INTO municipalities VALUES"
	    "(?,?,?,?,?,?)", &st)) != JPKI_OK)
		return r;
	bind_text(st, 1, m->code);
	bind_text(st, 2, m->name_ja);
	bind_text(st, 3, m->name_kana);
	bind_text(st, 4, m->name_romaji);
	bind_text(st, 5, m->pref_ja);
	bind_text(st, 6, m->pref_romaji);
	r = db_step_done(s, st, "municipality");
	sqlite3_finalize(st);
	return r;
}

static int
sq_municipality_get(void *impl, const char *code, struct municipality *m)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_cached(s, ST_MUNICIPALITY_GET, "SELECT code, name_ja,"
	    " name_kana, name_romaji, pref_ja, pref_romaji FROM municipalities"
	    " WHERE code = ?", &st)))
		return r;
	bind_text(st, 1, code);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		col_text(st, 0, m->code, sizeof(m->code));
		col_text(st, 1, m->name_ja, sizeof(m->name_ja));
		col_text(st, 2, m->name_kana, sizeof(m->name_kana));
		col_text(st, 3, m->name_romaji, sizeof(m->name_romaji));
		col_text(st, 4, m->pref_ja, sizeof(m->pref_ja));
		col_text(st, 5, m->pref_romaji, sizeof(m->pref_romaji));
		r = JPKI_OK;
	} else if (rc == SQLITE_DONE) {
		r = jpki_fail(JPKI_ERR_NOTFOUND,
		    "municipality: no municipality with code %s", code);
	} else {
		r = db_fail(s, "municipality");
	}
	sqlite3_reset(st);
	return r;
}

static int
sq_municipality_count(void *impl, long *out)
{
	return count_query(impl, "SELECT COUNT(*) FROM municipalities", out);
}

/* ---- residents ---- */

#define RESIDENT_COLS "id, number, surname, given, name_kana, name_flags," \
	" address, address_flags, birth, gender, municipality, status," \
	" facts_version, created_at, updated_at"

static void
resident_from_row(sqlite3_stmt *st, struct resident *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	col_text(st, 1, r->number, sizeof(r->number));
	col_text(st, 2, r->surname, sizeof(r->surname));
	col_text(st, 3, r->given, sizeof(r->given));
	col_text(st, 4, r->name_kana, sizeof(r->name_kana));
	col_text(st, 5, r->name_flags, sizeof(r->name_flags));
	col_text(st, 6, r->address, sizeof(r->address));
	col_text(st, 7, r->address_flags, sizeof(r->address_flags));
	r->birth = col_date(st, 8);
	r->gender = (enum gender)sqlite3_column_int(st, 9);
	col_text(st, 10, r->municipality, sizeof(r->municipality));
	r->status = (enum resident_status)sqlite3_column_int(st, 11);
	r->facts_version = sqlite3_column_int64(st, 12);
	r->created_at = sqlite3_column_int64(st, 13);
	r->updated_at = sqlite3_column_int64(st, 14);
}

static void
resident_bind(sqlite3_stmt *st, const struct resident *r)
{
	bind_text(st, 1, r->number);
	bind_text(st, 2, r->surname);
	bind_text(st, 3, r->given);
	bind_text(st, 4, r->name_kana);
	bind_text(st, 5, r->name_flags);
	bind_text(st, 6, r->address);
	bind_text(st, 7, r->address_flags);
	bind_date(st, 8, r->birth);
	sqlite3_bind_int(st, 9, (int)r->gender);
	bind_text(st, 10, r->municipality);
	sqlite3_bind_int(st, 11, (int)r->status);
	sqlite3_bind_int64(st, 12, r->facts_version);
	sqlite3_bind_int64(st, 13, r->created_at);
	sqlite3_bind_int64(st, 14, r->updated_at);
}

static int
sq_resident_insert(void *impl, struct resident *res)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prep(s, "INSERT INTO residents(number, surname, given,"
	    " name_kana, name_flags, address, address_flags, birth, gender,"
	    " municipality, status, facts_version, created_at, updated_at)"
	    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &st)) != JPKI_OK)
		return r;
	resident_bind(st, res);
	if ((r = db_step_done(s, st, "resident")) == JPKI_OK)
		res->id = sqlite3_last_insert_rowid(s->db);
	sqlite3_finalize(st);
	return r;
}

static int
sq_resident_update(void *impl, const struct resident *res)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prep(s, "UPDATE residents SET number = ?, surname = ?,"
	    " given = ?, name_kana = ?, name_flags = ?, address = ?,"
	    " address_flags = ?, birth = ?, gender = ?, municipality = ?,"
	    " status = ?, facts_version = ?, created_at = ?, updated_at = ?"
	    " WHERE id = ?", &st)) != JPKI_OK)
		return r;
	resident_bind(st, res);
	sqlite3_bind_int64(st, 15, res->id);
	r = db_step_done(s, st, "resident");
	if (r == JPKI_OK && sqlite3_changes(s->db) != 1)
		r = jpki_fail(JPKI_ERR_NOTFOUND, "resident %lld not found",
		    (long long)res->id);
	sqlite3_finalize(st);
	return r;
}

static int
resident_one(struct sqlite_store *s, int cached, sqlite3_stmt *st,
    struct resident *out, const char *what)
{
	int rc = sqlite3_step(st), r;

	if (rc == SQLITE_ROW) {
		resident_from_row(st, out);
		r = JPKI_OK;
	} else if (rc == SQLITE_DONE) {
		r = jpki_fail(JPKI_ERR_NOTFOUND, "no resident %s", what);
	} else {
		r = db_fail(s, "resident");
	}
	if (cached)
		sqlite3_reset(st);
	else
		sqlite3_finalize(st);
	return r;
}

static int
sq_resident_get(void *impl, int64_t id, struct resident *out)
{
	struct sqlite_store *s = impl;
	const char *sql = "SELECT " RESIDENT_COLS " FROM residents WHERE id = ?";
	sqlite3_stmt *st = NULL;
	char what[40];
	int r;

	if ((r = db_cached(s, ST_RESIDENT_GET, sql, &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int64(st, 1, id);
	snprintf(what, sizeof(what), "with id %lld", (long long)id);
	return resident_one(s, 1, st, out, what);
}

static int
sq_resident_by_number(void *impl, const char *number, struct resident *out)
{
	struct sqlite_store *s = impl;
	const char *sql = "SELECT " RESIDENT_COLS
	    " FROM residents WHERE number = ?";
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prep(s, sql, &st)) != JPKI_OK)
		return r;
	bind_text(st, 1, number);
	return resident_one(s, 0, st, out, "with that individual number");
}

static int
sq_resident_list(void *impl, int64_t after_id, long limit,
    int (*fn)(void *, const struct resident *), void *arg)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	struct resident res;
	int r, rc;

	if ((r = db_prep(s, "SELECT " RESIDENT_COLS " FROM residents"
	    " WHERE id > ? ORDER BY id LIMIT ?", &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int64(st, 1, after_id);
	sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		resident_from_row(st, &res);
		if (fn(arg, &res) != 0)
			break;
	}
	r = rc == SQLITE_ROW || rc == SQLITE_DONE ? JPKI_OK :
	    db_fail(s, "resident list");
	sqlite3_finalize(st);
	return r;
}

static int
sq_resident_count(void *impl, long *out)
{
	return count_query(impl, "SELECT COUNT(*) FROM residents", out);
}

/* ---- cards ---- */

#define CARD_COLS "id, serial, resident_id, kind, status, issued_on, expiry," \
	" facts_version, image_path"

static void
card_from_row(sqlite3_stmt *st, struct card_record *c)
{
	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(st, 0);
	col_text(st, 1, c->serial, sizeof(c->serial));
	c->resident_id = sqlite3_column_int64(st, 2);
	c->kind = (enum card_kind)sqlite3_column_int(st, 3);
	c->status = (enum card_record_status)sqlite3_column_int(st, 4);
	c->issued_on = col_date(st, 5);
	c->expiry = col_date(st, 6);
	c->facts_version = sqlite3_column_int64(st, 7);
	col_text(st, 8, c->image_path, sizeof(c->image_path));
}

static void
card_bind(sqlite3_stmt *st, const struct card_record *c)
{
	bind_text(st, 1, c->serial);
	sqlite3_bind_int64(st, 2, c->resident_id);
	sqlite3_bind_int(st, 3, (int)c->kind);
	sqlite3_bind_int(st, 4, (int)c->status);
	bind_date(st, 5, c->issued_on);
	bind_date(st, 6, c->expiry);
	sqlite3_bind_int64(st, 7, c->facts_version);
	bind_text(st, 8, c->image_path);
}

static int
sq_card_insert(void *impl, struct card_record *c)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prep(s, "INSERT INTO cards(serial, resident_id, kind,"
	    " status, issued_on, expiry, facts_version, image_path)"
	    " VALUES (?,?,?,?,?,?,?,?)", &st)) != JPKI_OK)
		return r;
	card_bind(st, c);
	if ((r = db_step_done(s, st, "card")) == JPKI_OK)
		c->id = sqlite3_last_insert_rowid(s->db);
	sqlite3_finalize(st);
	return r;
}

static int
sq_card_update(void *impl, const struct card_record *c)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prep(s, "UPDATE cards SET serial = ?, resident_id = ?,"
	    " kind = ?, status = ?, issued_on = ?, expiry = ?,"
	    " facts_version = ?, image_path = ? WHERE id = ?", &st)))
		return r;
	card_bind(st, c);
	sqlite3_bind_int64(st, 9, c->id);
	r = db_step_done(s, st, "card");
	if (r == JPKI_OK && sqlite3_changes(s->db) != 1)
		r = jpki_fail(JPKI_ERR_NOTFOUND, "card %lld not found",
		    (long long)c->id);
	sqlite3_finalize(st);
	return r;
}

static int
card_one(struct sqlite_store *s, sqlite3_stmt *st, struct card_record *out)
{
	int rc = sqlite3_step(st), r;

	if (rc == SQLITE_ROW) {
		card_from_row(st, out);
		r = JPKI_OK;
	} else if (rc == SQLITE_DONE) {
		r = jpki_fail(JPKI_ERR_NOTFOUND, "card not found");
	} else {
		r = db_fail(s, "card");
	}
	sqlite3_finalize(st);
	return r;
}

static int
sq_card_get(void *impl, int64_t id, struct card_record *out)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prep(impl, "SELECT " CARD_COLS " FROM cards WHERE id = ?",
	    &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int64(st, 1, id);
	return card_one(impl, st, out);
}

static int
sq_card_by_serial(void *impl, const char *serial, struct card_record *out)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prep(impl, "SELECT " CARD_COLS
	    " FROM cards WHERE serial = ?", &st)) != JPKI_OK)
		return r;
	bind_text(st, 1, serial);
	return card_one(impl, st, out);
}

static int
sq_card_current(void *impl, int64_t resident_id, struct card_record *out)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prep(impl, "SELECT " CARD_COLS " FROM cards WHERE"
	    " resident_id = ? AND status = 1 ORDER BY id DESC LIMIT 1", &st)))
		return r;
	sqlite3_bind_int64(st, 1, resident_id);
	return card_one(impl, st, out);
}

/* ---- certificates ---- */

#define CERT_COLS "serial, ca, resident_id, card_id, status, reason," \
	" not_before, not_after, issued_at, revoked_at, crl_shard, replaces"

static void
cert_from_row(sqlite3_stmt *st, struct cert_record *c)
{
	memset(c, 0, sizeof(*c));
	col_text(st, 0, c->serial, sizeof(c->serial));
	c->ca = (enum cert_type)sqlite3_column_int(st, 1);
	c->resident_id = sqlite3_column_int64(st, 2);
	c->card_id = sqlite3_column_int64(st, 3);
	c->status = (enum cert_status)sqlite3_column_int(st, 4);
	c->reason = sqlite3_column_int(st, 5);
	c->not_before = sqlite3_column_int64(st, 6);
	c->not_after = sqlite3_column_int64(st, 7);
	c->issued_at = sqlite3_column_int64(st, 8);
	c->revoked_at = sqlite3_column_int64(st, 9);
	c->crl_shard = sqlite3_column_int(st, 10);
	col_text(st, 11, c->replaces, sizeof(c->replaces));
}

static int
sq_cert_insert(void *impl, const struct cert_record *c)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_cached(s, ST_CERT_INSERT, "INSERT INTO certificates("
	    CERT_COLS ", der) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", &st)))
		return r;
	sqlite3_bind_text(st, 1, c->serial, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)c->ca);
	sqlite3_bind_int64(st, 3, c->resident_id);
	if (c->card_id != 0)
		sqlite3_bind_int64(st, 4, c->card_id);
	sqlite3_bind_int(st, 5, (int)c->status);
	if (c->status == CERT_STATUS_REVOKED)
		sqlite3_bind_int(st, 6, c->reason);
	sqlite3_bind_int64(st, 7, c->not_before);
	sqlite3_bind_int64(st, 8, c->not_after);
	sqlite3_bind_int64(st, 9, c->issued_at);
	if (c->status == CERT_STATUS_REVOKED)
		sqlite3_bind_int64(st, 10, c->revoked_at);
	sqlite3_bind_int(st, 11, c->crl_shard);
	if (c->replaces[0] != '\0')
		sqlite3_bind_text(st, 12, c->replaces, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 13, c->der, (int)c->der_len, SQLITE_STATIC);
	r = db_step_done(s, st, "certificate");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

static int
sq_cert_get(void *impl, const char *serial, struct cert_record *out)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prep(s, "SELECT " CERT_COLS ", der FROM certificates"
	    " WHERE serial = ?", &st)) != JPKI_OK)
		return r;
	bind_text(st, 1, serial);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int n = sqlite3_column_bytes(st, 12);

		cert_from_row(st, out);
		if ((out->der = malloc(n > 0 ? (size_t)n : 1)) == NULL) {
			r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		} else {
			memcpy(out->der, sqlite3_column_blob(st, 12), (size_t)n);
			out->der_len = (size_t)n;
			r = JPKI_OK;
		}
	} else if (rc == SQLITE_DONE) {
		r = jpki_fail(JPKI_ERR_NOTFOUND,
		    "no certificate with serial %s", serial);
	} else {
		r = db_fail(s, "certificate");
	}
	sqlite3_finalize(st);
	return r;
}

static int
sq_cert_revoke(void *impl, const char *serial, int reason, int64_t at)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r, rc, ca, shard, status;

	if ((r = db_prep(s, "SELECT ca, crl_shard, status FROM certificates"
	    " WHERE serial = ?", &st)) != JPKI_OK)
		return r;
	bind_text(st, 1, serial);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? jpki_fail(JPKI_ERR_NOTFOUND,
		    "no certificate with serial %s", serial) :
		    db_fail(s, "certificate");
		sqlite3_finalize(st);
		return r;
	}
	ca = sqlite3_column_int(st, 0);
	shard = sqlite3_column_int(st, 1);
	status = sqlite3_column_int(st, 2);
	sqlite3_finalize(st);
	if (status == CERT_STATUS_REVOKED)
		return jpki_fail(JPKI_ERR_CONFLICT,
		    "certificate %s is already revoked", serial);
	if ((r = db_prep(s, "UPDATE certificates SET status = 2, reason = ?,"
	    " revoked_at = ? WHERE serial = ?", &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int(st, 1, reason);
	sqlite3_bind_int64(st, 2, at);
	bind_text(st, 3, serial);
	r = db_step_done(s, st, "revoke");
	sqlite3_finalize(st);
	if (r != JPKI_OK)
		return r;
	if ((r = db_prep(s, "INSERT INTO revocations VALUES (?,?,?,?,?)",
	    &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int(st, 1, ca);
	sqlite3_bind_int(st, 2, shard);
	bind_text(st, 3, serial);
	sqlite3_bind_int64(st, 4, at);
	sqlite3_bind_int(st, 5, reason);
	r = db_step_done(s, st, "revocation");
	sqlite3_finalize(st);
	return r;
}

static int
sq_cert_list(void *impl, int64_t resident_id,
    int (*fn)(void *, const struct cert_record *), void *arg)
{
	struct sqlite_store *s = impl;
	struct cert_record c;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prep(s, resident_id != 0 ?
	    "SELECT " CERT_COLS " FROM certificates WHERE resident_id = ?"
	    " ORDER BY issued_at, rowid" :
	    "SELECT " CERT_COLS " FROM certificates ORDER BY issued_at, rowid",
	    &st)) != JPKI_OK)
		return r;
	if (resident_id != 0)
		sqlite3_bind_int64(st, 1, resident_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cert_from_row(st, &c);
		if (fn(arg, &c) != 0)
			break;
	}
	r = rc == SQLITE_ROW || rc == SQLITE_DONE ? JPKI_OK :
	    db_fail(s, "certificate list");
	sqlite3_finalize(st);
	return r;
}

static int
sq_cert_count(void *impl, long *out)
{
	return count_query(impl, "SELECT COUNT(*) FROM certificates", out);
}

static int
sq_cert_valid_of(void *impl, int64_t resident_id, enum cert_type type,
    int64_t now, char serial[SERIAL_HEX_MAX], int64_t *not_after)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_cached(s, ST_CERT_VALID_OF, "SELECT serial, not_after FROM"
	    " certificates WHERE resident_id = ? AND ca = ? AND status = 1"
	    " AND not_after >= ? ORDER BY issued_at DESC, rowid DESC LIMIT 1",
	    &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int64(st, 1, resident_id);
	sqlite3_bind_int(st, 2, (int)type);
	sqlite3_bind_int64(st, 3, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		col_text(st, 0, serial, SERIAL_HEX_MAX);
		*not_after = sqlite3_column_int64(st, 1);
		r = JPKI_OK;
	} else if (rc == SQLITE_DONE) {
		r = JPKI_ERR_NOTFOUND;
	} else {
		r = db_fail(s, "certificate");
	}
	sqlite3_reset(st);
	return r;
}

static int
sq_revocation_list(void *impl, enum cert_type ca, int shard,
    int (*fn)(void *, const char *, int64_t, int), void *arg)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prep(s, shard >= 0 ?
	    "SELECT serial, revoked_at, reason FROM revocations"
	    " WHERE ca = ? AND shard = ? ORDER BY serial" :
	    "SELECT serial, revoked_at, reason FROM revocations"
	    " WHERE ca = ? ORDER BY shard, serial", &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int(st, 1, (int)ca);
	if (shard >= 0)
		sqlite3_bind_int(st, 2, shard);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (fn(arg, (const char *)sqlite3_column_text(st, 0),
		    sqlite3_column_int64(st, 1), sqlite3_column_int(st, 2)))
			break;
	}
	r = rc == SQLITE_ROW || rc == SQLITE_DONE ? JPKI_OK :
	    db_fail(s, "revocation list");
	sqlite3_finalize(st);
	return r;
}

static int
sq_crl_number_next(void *impl, enum cert_type ca, int shard, int64_t *out)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prep(s, "INSERT INTO crl_numbers VALUES (?, ?, 1)"
	    " ON CONFLICT(ca, shard) DO UPDATE SET number = number + 1"
	    " RETURNING number", &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int(st, 1, (int)ca);
	sqlite3_bind_int(st, 2, shard);
	if (sqlite3_step(st) != SQLITE_ROW) {
		r = db_fail(s, "crl number");
	} else {
		*out = sqlite3_column_int64(st, 0);
		r = JPKI_OK;
	}
	sqlite3_finalize(st);
	return r;
}

/* ---- audit ---- */

static int
sq_audit_last(void *impl, int64_t *seq, uint8_t hash[32])
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_cached(s, ST_AUDIT_LAST, "SELECT seq, hash FROM audit"
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
		r = db_fail(s, "audit");
	}
	sqlite3_reset(st);
	return r;
}

static int
sq_audit_insert(void *impl, const struct audit_entry *e)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_cached(s, ST_AUDIT_INSERT, "INSERT INTO audit VALUES"
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
	r = db_step_done(s, st, "audit");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

static int
sq_audit_list(void *impl, int64_t after_seq, long limit,
    int (*fn)(void *, const struct audit_entry *), void *arg)
{
	struct sqlite_store *s = impl;
	struct audit_entry e;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prep(s, "SELECT seq, at, actor, action, subject, detail,"
	    " prev_hash, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
	    &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int64(st, 1, after_seq);
	sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&e, 0, sizeof(e));
		e.seq = sqlite3_column_int64(st, 0);
		e.at = sqlite3_column_int64(st, 1);
		col_text(st, 2, e.actor, sizeof(e.actor));
		col_text(st, 3, e.action, sizeof(e.action));
		col_text(st, 4, e.subject, sizeof(e.subject));
		e.detail = (char *)sqlite3_column_text(st, 5);
		if (sqlite3_column_bytes(st, 6) == 32)
			memcpy(e.prev_hash, sqlite3_column_blob(st, 6), 32);
		if (sqlite3_column_bytes(st, 7) == 32)
			memcpy(e.hash, sqlite3_column_blob(st, 7), 32);
		if (fn(arg, &e) != 0)
			break;
	}
	r = rc == SQLITE_ROW || rc == SQLITE_DONE ? JPKI_OK :
	    db_fail(s, "audit list");
	sqlite3_finalize(st);
	return r;
}

static int
sq_audit_count(void *impl, long *out)
{
	return count_query(impl, "SELECT COUNT(*) FROM audit", out);
}

/* ---- proxy forms ---- */

#define FORM_COLS "number, resident_id, purpose, cert_types, pin_kind," \
	" origin, application_id, issued_on, expiry, check_salt, check_hash," \
	" status, used_at, created_at"

static void
col_blob(sqlite3_stmt *st, int i, uint8_t *dst, size_t n)
{
	if ((size_t)sqlite3_column_bytes(st, i) == n)
		memcpy(dst, sqlite3_column_blob(st, i), n);
	else
		memset(dst, 0, n);
}

static void
form_from_row(sqlite3_stmt *st, struct inquiry_form *f)
{
	memset(f, 0, sizeof(*f));
	f->number = sqlite3_column_int64(st, 0);
	f->resident_id = sqlite3_column_int64(st, 1);
	f->purpose = (enum form_purpose)sqlite3_column_int(st, 2);
	f->cert_types = sqlite3_column_int(st, 3);
	f->pin_kind = sqlite3_column_int(st, 4);
	f->origin = (enum form_origin)sqlite3_column_int(st, 5);
	f->application_id = sqlite3_column_int64(st, 6);
	f->issued_on = col_date(st, 7);
	f->expiry = col_date(st, 8);
	col_blob(st, 9, f->check_salt, sizeof(f->check_salt));
	col_blob(st, 10, f->check_hash, sizeof(f->check_hash));
	f->status = (enum form_status)sqlite3_column_int(st, 11);
	f->used_at = sqlite3_column_int64(st, 12);
	f->created_at = sqlite3_column_int64(st, 13);
}

static int
sq_form_insert(void *impl, struct inquiry_form *f)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if (f->number <= 0)
		return jpki_fail(JPKI_ERR_INTERNAL, "inquiry form: no reserved "
		    "number");
	if ((r = db_prep(s, "INSERT INTO inquiry_forms(resident_id, purpose,"
	    " cert_types, pin_kind, origin, application_id, issued_on, expiry,"
	    " check_salt, check_hash, status, used_at, created_at, number)"
	    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int64(st, 14, f->number);
	sqlite3_bind_int64(st, 1, f->resident_id);
	sqlite3_bind_int(st, 2, (int)f->purpose);
	sqlite3_bind_int(st, 3, f->cert_types);
	sqlite3_bind_int(st, 4, f->pin_kind);
	sqlite3_bind_int(st, 5, (int)f->origin);
	if (f->application_id != 0)
		sqlite3_bind_int64(st, 6, f->application_id);
	bind_date(st, 7, f->issued_on);
	bind_date(st, 8, f->expiry);
	sqlite3_bind_blob(st, 9, f->check_salt, sizeof(f->check_salt),
	    SQLITE_STATIC);
	sqlite3_bind_blob(st, 10, f->check_hash, sizeof(f->check_hash),
	    SQLITE_STATIC);
	sqlite3_bind_int(st, 11, (int)f->status);
	if (f->status == FORM_USED)
		sqlite3_bind_int64(st, 12, f->used_at);
	sqlite3_bind_int64(st, 13, f->created_at);
	r = db_step_done(s, st, "inquiry form");
	sqlite3_finalize(st);
	return r;
}

static int
sq_form_number_reserve(void *impl, int64_t at, int64_t *number)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prep(s, "INSERT INTO form_numbers(reserved_at) VALUES (?)",
	    &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int64(st, 1, at);
	if ((r = db_step_done(s, st, "form number")) == JPKI_OK)
		*number = sqlite3_last_insert_rowid(s->db);
	sqlite3_finalize(st);
	return r;
}

static int
sq_form_get(void *impl, int64_t number, struct inquiry_form *out)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prep(s, "SELECT " FORM_COLS " FROM inquiry_forms"
	    " WHERE number = ?", &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int64(st, 1, number);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		form_from_row(st, out);
		r = JPKI_OK;
	} else if (rc == SQLITE_DONE) {
		r = jpki_fail(JPKI_ERR_NOTFOUND, "no inquiry/response form "
		    "number %lld", (long long)number);
	} else {
		r = db_fail(s, "inquiry form");
	}
	sqlite3_finalize(st);
	return r;
}

static int
sq_form_mark_used(void *impl, int64_t number, int64_t at)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	/* The status test in the WHERE clause makes "use once" a property of
	 * the row, not of whoever read it first. */
	if ((r = db_prep(s, "UPDATE inquiry_forms SET status = 2, used_at = ?"
	    " WHERE number = ? AND status = 1", &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int64(st, 1, at);
	sqlite3_bind_int64(st, 2, number);
	r = db_step_done(s, st, "inquiry form");
	if (r == JPKI_OK && sqlite3_changes(s->db) != 1)
		r = jpki_fail(JPKI_ERR_CONFLICT, "R13: inquiry/response form "
		    "%lld has already been used", (long long)number);
	sqlite3_finalize(st);
	return r;
}

static int
sq_form_notice_link(void *impl, const char *serial, int64_t number)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prep(s, "INSERT INTO expiry_notices VALUES (?, ?)", &st)))
		return r;
	bind_text(st, 1, serial);
	sqlite3_bind_int64(st, 2, number);
	r = db_step_done(s, st, "expiry notice");
	sqlite3_finalize(st);
	return r;
}

static int
sq_form_notice_find(void *impl, const char *serial, int64_t *number)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prep(s, "SELECT form_number FROM expiry_notices"
	    " WHERE serial = ?", &st)) != JPKI_OK)
		return r;
	bind_text(st, 1, serial);
	rc = sqlite3_step(st);
	*number = 0;
	if (rc == SQLITE_ROW)
		*number = sqlite3_column_int64(st, 0);
	r = rc == SQLITE_ROW || rc == SQLITE_DONE ? JPKI_OK :
	    db_fail(s, "expiry notice");
	sqlite3_finalize(st);
	return r;
}

#define PROXY_APP_COLS "id, resident_id, purpose, cert_types, pin_kind," \
	" proxy_name, proxy_doc_type, proxy_doc_number, clerk, applied_at," \
	" form_number, status, completed_at"

static void
proxy_app_bind(sqlite3_stmt *st, const struct proxy_application *a)
{
	sqlite3_bind_int64(st, 1, a->resident_id);
	sqlite3_bind_int(st, 2, (int)a->purpose);
	sqlite3_bind_int(st, 3, a->cert_types);
	sqlite3_bind_int(st, 4, a->pin_kind);
	bind_text(st, 5, a->proxy_name);
	bind_text(st, 6, a->proxy_doc_type);
	bind_text(st, 7, a->proxy_doc_number);
	bind_text(st, 8, a->clerk);
	sqlite3_bind_int64(st, 9, a->applied_at);
	if (a->form_number != 0)
		sqlite3_bind_int64(st, 10, a->form_number);
	sqlite3_bind_int(st, 11, (int)a->status);
	if (a->status == PROXY_APP_COMPLETED)
		sqlite3_bind_int64(st, 12, a->completed_at);
}

static int
sq_proxy_app_insert(void *impl, struct proxy_application *a)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prep(s, "INSERT INTO proxy_applications(resident_id,"
	    " purpose, cert_types, pin_kind, proxy_name, proxy_doc_type,"
	    " proxy_doc_number, clerk, applied_at, form_number, status,"
	    " completed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", &st)))
		return r;
	proxy_app_bind(st, a);
	if ((r = db_step_done(s, st, "proxy application")) == JPKI_OK)
		a->id = sqlite3_last_insert_rowid(s->db);
	sqlite3_finalize(st);
	return r;
}

static int
sq_proxy_app_update(void *impl, const struct proxy_application *a)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prep(s, "UPDATE proxy_applications SET resident_id = ?,"
	    " purpose = ?, cert_types = ?, pin_kind = ?, proxy_name = ?,"
	    " proxy_doc_type = ?, proxy_doc_number = ?, clerk = ?,"
	    " applied_at = ?, form_number = ?, status = ?, completed_at = ?"
	    " WHERE id = ?", &st)) != JPKI_OK)
		return r;
	proxy_app_bind(st, a);
	sqlite3_bind_int64(st, 13, a->id);
	r = db_step_done(s, st, "proxy application");
	if (r == JPKI_OK && sqlite3_changes(s->db) != 1)
		r = jpki_fail(JPKI_ERR_NOTFOUND, "no proxy application %lld",
		    (long long)a->id);
	sqlite3_finalize(st);
	return r;
}

static int
sq_proxy_app_get(void *impl, int64_t id, struct proxy_application *a)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prep(s, "SELECT " PROXY_APP_COLS " FROM proxy_applications"
	    " WHERE id = ?", &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(a, 0, sizeof(*a));
		a->id = sqlite3_column_int64(st, 0);
		a->resident_id = sqlite3_column_int64(st, 1);
		a->purpose = (enum form_purpose)sqlite3_column_int(st, 2);
		a->cert_types = sqlite3_column_int(st, 3);
		a->pin_kind = sqlite3_column_int(st, 4);
		col_text(st, 5, a->proxy_name, sizeof(a->proxy_name));
		col_text(st, 6, a->proxy_doc_type, sizeof(a->proxy_doc_type));
		col_text(st, 7, a->proxy_doc_number,
		    sizeof(a->proxy_doc_number));
		col_text(st, 8, a->clerk, sizeof(a->clerk));
		a->applied_at = sqlite3_column_int64(st, 9);
		a->form_number = sqlite3_column_int64(st, 10);
		a->status = (enum proxy_app_status)sqlite3_column_int(st, 11);
		a->completed_at = sqlite3_column_int64(st, 12);
		r = JPKI_OK;
	} else if (rc == SQLITE_DONE) {
		r = jpki_fail(JPKI_ERR_NOTFOUND, "no proxy application %lld",
		    (long long)id);
	} else {
		r = db_fail(s, "proxy application");
	}
	sqlite3_finalize(st);
	return r;
}

static int
sq_cert_expiring(void *impl, int64_t from, int64_t to,
    int (*fn)(void *, const struct cert_record *), void *arg)
{
	struct sqlite_store *s = impl;
	struct cert_record c;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prep(s, "SELECT " CERT_COLS " FROM certificates"
	    " WHERE status = 1 AND not_after BETWEEN ? AND ?"
	    " ORDER BY not_after, rowid", &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, to);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cert_from_row(st, &c);
		if (fn(arg, &c) != 0)
			break;
	}
	r = rc == SQLITE_ROW || rc == SQLITE_DONE ? JPKI_OK :
	    db_fail(s, "expiring certificates");
	sqlite3_finalize(st);
	return r;
}

/* ---- counter ---- */

/* Bind text, or NULL for an empty string (optional columns). */
static void
bind_opt_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v != NULL && *v != '\0')
		bind_text(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static int
sq_receipt_insert(void *impl, struct receipt_record *rc)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prep(s, "INSERT INTO receipts(at, clerk, procedure,"
	    " resident_id, card_id, total_yen, holder_doc_type,"
	    " holder_doc_number, proxy_name, proxy_doc_type, proxy_doc_number,"
	    " form) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int64(st, 1, rc->at);
	bind_text(st, 2, rc->clerk);
	bind_text(st, 3, rc->procedure);
	sqlite3_bind_int64(st, 4, rc->resident_id);
	if (rc->card_id != 0)
		sqlite3_bind_int64(st, 5, rc->card_id);
	sqlite3_bind_int64(st, 6, rc->total_yen);
	bind_text(st, 7, rc->holder_doc_type);
	bind_opt_text(st, 8, rc->holder_doc_number);
	bind_opt_text(st, 9, rc->proxy_name);
	bind_opt_text(st, 10, rc->proxy_doc_type);
	bind_opt_text(st, 11, rc->proxy_doc_number);
	bind_opt_text(st, 12, rc->form);
	if ((r = db_step_done(s, st, "receipt")) == JPKI_OK)
		rc->id = sqlite3_last_insert_rowid(s->db);
	sqlite3_finalize(st);
	return r;
}

static int
sq_receipt_get(void *impl, int64_t id, struct receipt_record *out)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prep(s, "SELECT id, at, clerk, procedure, resident_id,"
	    " card_id, total_yen, holder_doc_type, holder_doc_number,"
	    " proxy_name, proxy_doc_type, proxy_doc_number, form"
	    " FROM receipts WHERE id = ?", &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		out->id = sqlite3_column_int64(st, 0);
		out->at = sqlite3_column_int64(st, 1);
		col_text(st, 2, out->clerk, sizeof(out->clerk));
		col_text(st, 3, out->procedure, sizeof(out->procedure));
		out->resident_id = sqlite3_column_int64(st, 4);
		out->card_id = sqlite3_column_int64(st, 5);
		out->total_yen = (long)sqlite3_column_int64(st, 6);
		col_text(st, 7, out->holder_doc_type,
		    sizeof(out->holder_doc_type));
		col_text(st, 8, out->holder_doc_number,
		    sizeof(out->holder_doc_number));
		col_text(st, 9, out->proxy_name, sizeof(out->proxy_name));
		col_text(st, 10, out->proxy_doc_type,
		    sizeof(out->proxy_doc_type));
		col_text(st, 11, out->proxy_doc_number,
		    sizeof(out->proxy_doc_number));
		col_text(st, 12, out->form, sizeof(out->form));
		r = JPKI_OK;
	} else if (rc == SQLITE_DONE) {
		r = jpki_fail(JPKI_ERR_NOTFOUND, "no receipt %lld",
		    (long long)id);
	} else {
		r = db_fail(s, "receipt");
	}
	sqlite3_finalize(st);
	return r;
}

static int
sq_receipt_line_add(void *impl, int64_t receipt_id, int line,
    const char *item, long yen)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prep(s, "INSERT INTO receipt_lines VALUES (?,?,?,?)",
	    &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int64(st, 1, receipt_id);
	sqlite3_bind_int(st, 2, line);
	bind_text(st, 3, item);
	sqlite3_bind_int64(st, 4, yen);
	r = db_step_done(s, st, "receipt line");
	sqlite3_finalize(st);
	return r;
}

static int
sq_receipt_lines(void *impl, int64_t receipt_id,
    int (*fn)(void *, int, const char *, long), void *arg)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prep(s, "SELECT line, item, yen FROM receipt_lines"
	    " WHERE receipt_id = ? ORDER BY line", &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int64(st, 1, receipt_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn(arg, sqlite3_column_int(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    (long)sqlite3_column_int64(st, 2)) != 0)
			break;
	r = rc == SQLITE_ROW || rc == SQLITE_DONE ? JPKI_OK :
	    db_fail(s, "receipt lines");
	sqlite3_finalize(st);
	return r;
}

static int
sq_cert_link_add(void *impl, const char *old_serial, const char *new_serial,
    const char *kind, int64_t at, int64_t receipt_id)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prep(s, "INSERT INTO cert_links VALUES (?,?,?,?,?)",
	    &st)) != JPKI_OK)
		return r;
	bind_text(st, 1, old_serial);
	bind_text(st, 2, new_serial);
	bind_text(st, 3, kind);
	sqlite3_bind_int64(st, 4, at);
	if (receipt_id != 0)
		sqlite3_bind_int64(st, 5, receipt_id);
	r = db_step_done(s, st, "certificate link");
	sqlite3_finalize(st);
	return r;
}

static int
sq_cert_links(void *impl, const char *serial,
    int (*fn)(void *, const char *, const char *, const char *, int64_t),
    void *arg)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prep(s, "SELECT old_serial, new_serial, kind, at"
	    " FROM cert_links WHERE old_serial = ?1 OR new_serial = ?1"
	    " ORDER BY at, old_serial", &st)) != JPKI_OK)
		return r;
	bind_text(st, 1, serial);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn(arg, (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2),
		    sqlite3_column_int64(st, 3)) != 0)
			break;
	r = rc == SQLITE_ROW || rc == SQLITE_DONE ? JPKI_OK :
	    db_fail(s, "certificate links");
	sqlite3_finalize(st);
	return r;
}

static int
sq_pin_reset_add(void *impl, int64_t receipt_id, int64_t card_id,
    int pin_kind, int was_locked)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prep(s, "INSERT INTO pin_resets VALUES (?,?,?,?)", &st)))
		return r;
	sqlite3_bind_int64(st, 1, receipt_id);
	sqlite3_bind_int64(st, 2, card_id);
	sqlite3_bind_int(st, 3, pin_kind);
	sqlite3_bind_int(st, 4, was_locked != 0);
	r = db_step_done(s, st, "PIN reset");
	sqlite3_finalize(st);
	return r;
}

static int
sq_pin_reset_count(void *impl, int64_t card_id, long *out)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prep(s, "SELECT COUNT(*) FROM pin_resets WHERE card_id = ?",
	    &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int64(st, 1, card_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		r = db_fail(s, "PIN resets");
	} else {
		*out = (long)sqlite3_column_int64(st, 0);
		r = JPKI_OK;
	}
	sqlite3_finalize(st);
	return r;
}

static int
sq_cards_of(void *impl, int64_t resident_id,
    int (*fn)(void *, const struct card_record *), void *arg)
{
	struct sqlite_store *s = impl;
	struct card_record c;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prep(s, "SELECT " CARD_COLS " FROM cards"
	    " WHERE resident_id = ? ORDER BY id", &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int64(st, 1, resident_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		card_from_row(st, &c);
		if (fn(arg, &c) != 0)
			break;
	}
	r = rc == SQLITE_ROW || rc == SQLITE_DONE ? JPKI_OK :
	    db_fail(s, "card list");
	sqlite3_finalize(st);
	return r;
}

static int
sq_card_image_set(void *impl, int64_t card_id, const uint8_t sha256[32],
    int64_t receipt_id, int64_t at)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prep(s, "INSERT OR REPLACE INTO card_images VALUES"
	    " (?,?,?,?)", &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int64(st, 1, card_id);
	sqlite3_bind_blob(st, 2, sha256, 32, SQLITE_STATIC);
	if (receipt_id != 0)
		sqlite3_bind_int64(st, 3, receipt_id);
	sqlite3_bind_int64(st, 4, at);
	r = db_step_done(s, st, "card image");
	sqlite3_finalize(st);
	return r;
}

static int
sq_card_image_get(void *impl, int64_t card_id, uint8_t sha256[32])
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prep(s, "SELECT sha256 FROM card_images WHERE card_id = ?",
	    &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int64(st, 1, card_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
		memcpy(sha256, sqlite3_column_blob(st, 0), 32);
		r = JPKI_OK;
	} else if (rc == SQLITE_DONE) {
		r = jpki_fail(JPKI_ERR_NOTFOUND, "no image recorded for card "
		    "%lld", (long long)card_id);
	} else {
		r = db_fail(s, "card image");
	}
	sqlite3_finalize(st);
	return r;
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.close = sq_close,
	.set_durable = sq_set_durable,
	.schema_version = sq_schema_version,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.in_transaction = sq_in_transaction,
	.data_version = sq_data_version,
	.municipality_put = sq_municipality_put,
	.municipality_get = sq_municipality_get,
	.municipality_count = sq_municipality_count,
	.resident_insert = sq_resident_insert,
	.resident_update = sq_resident_update,
	.resident_get = sq_resident_get,
	.resident_by_number = sq_resident_by_number,
	.resident_list = sq_resident_list,
	.resident_count = sq_resident_count,
	.card_insert = sq_card_insert,
	.card_update = sq_card_update,
	.card_get = sq_card_get,
	.card_by_serial = sq_card_by_serial,
	.card_current = sq_card_current,
	.cert_insert = sq_cert_insert,
	.cert_get = sq_cert_get,
	.cert_revoke = sq_cert_revoke,
	.cert_list = sq_cert_list,
	.cert_count = sq_cert_count,
	.cert_valid_of = sq_cert_valid_of,
	.revocation_list = sq_revocation_list,
	.crl_number_next = sq_crl_number_next,
	.audit_last = sq_audit_last,
	.audit_insert = sq_audit_insert,
	.audit_list = sq_audit_list,
	.audit_count = sq_audit_count,
	/* ---- counter ---- */
	.receipt_insert = sq_receipt_insert,
	.receipt_get = sq_receipt_get,
	.receipt_line_add = sq_receipt_line_add,
	.receipt_lines = sq_receipt_lines,
	.cert_link_add = sq_cert_link_add,
	.cert_links = sq_cert_links,
	.pin_reset_add = sq_pin_reset_add,
	.pin_reset_count = sq_pin_reset_count,
	.cards_of = sq_cards_of,
	.card_image_set = sq_card_image_set,
	.card_image_get = sq_card_image_get,
	/* ---- proxy forms ---- */
	.form_insert = sq_form_insert,
	.form_number_reserve = sq_form_number_reserve,
	.form_get = sq_form_get,
	.form_mark_used = sq_form_mark_used,
	.form_notice_link = sq_form_notice_link,
	.form_notice_find = sq_form_notice_find,
	.proxy_app_insert = sq_proxy_app_insert,
	.proxy_app_update = sq_proxy_app_update,
	.proxy_app_get = sq_proxy_app_get,
	.cert_expiring = sq_cert_expiring,
};
