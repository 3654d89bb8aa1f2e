/*
 * sqlite_conn.c: the embedded store's connection.  One SQLite database in
 * WAL mode; versioned migrations applied at a read-write open, in one
 * transaction; transactions; the ops table store.c dispatches through.
 *
 * Transactions are BEGIN IMMEDIATE so that two processes never both hold
 * a read snapshot and then race to write.  A connection that finds the
 * write lock held waits for it (SQLite's busy handler, sleeping 1 ms
 * growing to 100 ms between tries) up to the busy timeout, so concurrent
 * clerks queue rather than fail.  With durability on (synchronous=FULL) a
 * commit is on disk when store_commit() returns.
 *
 * A read-only connection (store_open_readonly) is opened
 * SQLITE_OPEN_READONLY with PRAGMA query_only: it creates nothing, runs no
 * migration, and its transactions are plain BEGIN, a read snapshot.  In
 * WAL mode it reads while others write and each new read sees their
 * commits.
 */
#include "store/sqlite_int.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    /* CA generations (ca rollover): which generation issued each
     * certificate and revocation; a store from before has generation 1
     * of both CAs, which issued everything in it. */
    "CREATE TABLE IF NOT EXISTS ca_generations("
    "  ca INTEGER NOT NULL, gen INTEGER NOT NULL, created_at INTEGER NOT NULL,"
    "  PRIMARY KEY(ca, gen)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO ca_generations VALUES (1, 1, 0), (2, 1, 0);"
    "ALTER TABLE certificates ADD COLUMN gen INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE revocations ADD COLUMN gen INTEGER NOT NULL DEFAULT 1;"
    "CREATE INDEX IF NOT EXISTS certificates_generation"
    "  ON certificates(ca, gen, not_after);",
};

static int
user_version(struct sqlite_store *s, int *out)
{
	long v = 0;
	int r;

	if ((r = store_db_count(s, "PRAGMA user_version", &v)) != JPKI_OK)
		return r;
	*out = (int)v;
	return JPKI_OK;
}

static int
schema_check(int have, int want)
{
	if (have > want)
		return jpki_fail(JPKI_ERR_IO, "store: database schema %d is "
		    "newer than this program (%d)", have, want);
	return JPKI_OK;
}

/* Bring the schema up to date.  The version is read first without a
 * lock, so that opening a current database never waits for a writer; a
 * migration takes the write lock and reads it again. */
static int
migrate(struct sqlite_store *s)
{
	int have = 0, r;
	int want = (int)JPKI_ARRAY_LEN(migrations);
	char sql[64];

	if ((r = user_version(s, &have)) != JPKI_OK ||
	    (r = schema_check(have, want)) != JPKI_OK || have == want)
		return r;
	if ((r = store_db_exec(s, "BEGIN IMMEDIATE")) != JPKI_OK)
		return r;
	if ((r = user_version(s, &have)) != JPKI_OK ||
	    (r = schema_check(have, want)) != JPKI_OK)
		goto fail;
	for (int v = have; v < want; v++) {
		if ((r = store_db_exec(s, migrations[v])) != JPKI_OK)
			goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", want);
	if ((r = store_db_exec(s, sql)) != JPKI_OK)
		goto fail;
	return store_db_exec(s, "COMMIT");
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/* A read-only connection migrates nothing: it reads this program's schema
 * or none. */
static int
schema_is_current(struct sqlite_store *s, const char *path)
{
	int have = 0, r;
	int want = (int)JPKI_ARRAY_LEN(migrations);

	if ((r = user_version(s, &have)) != JPKI_OK ||
	    (r = schema_check(have, want)) != JPKI_OK)
		return r;
	if (have < want)
		return jpki_fail(JPKI_ERR_IO, "store: %s: database schema %d is "
		    "older than this program (%d); a read-write open migrates "
		    "it, a read-only one does not", path, have, want);
	return JPKI_OK;
}

/* ---- opening ---- */

void
store_sqlite_close(void *impl)
{
	struct sqlite_store *s = impl;

	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	free(s);
}

int
store_sqlite_open(const char *url, const struct store_open_options *o,
    void **impl)
{
	const char *path = strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;
	int flags = o->read_only ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	struct sqlite_store *s;
	int r, fd;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	s->read_only = o->read_only;
	s->busy_timeout_ms = o->busy_timeout_ms;
	/* The register holds individual numbers: the database (and the WAL
	 * and shared-memory files SQLite gives its mode) is for the
	 * operator only. */
	if (!o->read_only && strcmp(path, ":memory:") != 0 &&
	    (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) >= 0)
		close(fd);
	if (sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK) {
		r = jpki_fail(JPKI_ERR_IO, "store: cannot open %s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, (int)o->busy_timeout_ms);
	if (o->read_only)
		r = store_db_exec(s, "PRAGMA query_only=ON");
	else if ((r = store_db_exec(s, "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")) == JPKI_OK)
		r = migrate(s);
	if (r == JPKI_OK && o->read_only)
		r = schema_is_current(s, path);
	if (r != JPKI_OK)
		goto fail;
	*impl = s;
	return JPKI_OK;
fail:
	store_sqlite_close(s);
	return r;
}

/* ---- connection settings ---- */

int
store_sqlite_set_durable(void *impl, int durable)
{
	return store_db_exec(impl, durable ? "PRAGMA synchronous=FULL" :
	    "PRAGMA synchronous=NORMAL");
}

int
store_sqlite_schema_version(void *impl, int *out)
{
	return user_version(impl, out);
}

int
store_sqlite_data_version(void *impl, uint64_t *out)
{
	long v = 0;
	int r;

	/* PRAGMA data_version ignores this connection's own commits (unlike
	 * SQLITE_FCNTL_DATA_VERSION, which counts them too). */
	if ((r = store_db_count(impl, "PRAGMA data_version", &v)) != JPKI_OK)
		return r;
	*out = (uint64_t)v;
	return JPKI_OK;
}

/* ---- transactions ---- */

int
store_sqlite_begin(void *impl)
{
	struct sqlite_store *s = impl;
	int r;

	if (s->in_tx)
		return jpki_fail(JPKI_ERR_INTERNAL, "store: nested transaction");
	/* Read-only: a snapshot, no write lock to wait for. */
	if ((r = store_db_exec(s, s->read_only ? "BEGIN" : "BEGIN IMMEDIATE")) !=
	    JPKI_OK)
		return r;
	s->in_tx = 1;
	return JPKI_OK;
}

int
store_sqlite_commit(void *impl)
{
	struct sqlite_store *s = impl;
	int r = store_db_exec(s, "COMMIT");

	if (r != JPKI_OK)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_tx = 0;
	return r;
}

void
store_sqlite_rollback(void *impl)
{
	struct sqlite_store *s = impl;

	if (s->in_tx)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_tx = 0;
}

int
store_sqlite_in_transaction(void *impl)
{
	return ((struct sqlite_store *)impl)->in_tx;
}

/* ---- the table store.c dispatches through ---- */

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.open = store_sqlite_open,
	.close = store_sqlite_close,
	.begin = store_sqlite_begin,
	.commit = store_sqlite_commit,
	.rollback = store_sqlite_rollback,
	.in_transaction = store_sqlite_in_transaction,
	.audit_last = store_sqlite_audit_last,
	.audit_insert = store_sqlite_audit_insert,
#define STORE_OP(mode, op, params, args) .op = store_sqlite_##op,
#include "store/store_ops.def"
#undef STORE_OP
};
