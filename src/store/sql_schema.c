/*
 * sql_schema.c: the store's schema, as numbered migrations written once
 * per database dialect: migration N is the same tables, indexes and
 * append-only rules in SQLite's words and in PostgreSQL's (BIGINT for
 * times and ids, BYTEA for blobs, identity columns for SQLite's integer
 * primary keys, a PL/pgSQL trigger for the audit table).  A read-write
 * open applies what is missing, in one transaction that holds the write
 * lock; a read-only open only checks the schema is this program's.
 *
 * Where the version is kept: SQLite's PRAGMA user_version; on PostgreSQL
 * the one row of jpki_meta, which also holds the write counter
 * (sql_conn.c, data_version).
 *
 * A new migration is appended to both arrays, never an old one edited.
 */
#include "store/sql_int.h"

#include <stdio.h>
#include <string.h>

static const char *const sqlite_migrations[] = {
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
    /* 4: clerk accounts of the counter's web UI (argon2id hashes; lockout),
     * the requests that wait for a second person, and the indexes its
     * search and dashboard read */
    "CREATE TABLE IF NOT EXISTS clerks("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    "  role INTEGER NOT NULL, pw_hash TEXT NOT NULL,"
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  failures INTEGER NOT NULL DEFAULT 0,"
    "  locked_until INTEGER NOT NULL DEFAULT 0,"
    "  last_login INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS approvals("
    "  id INTEGER PRIMARY KEY, kind INTEGER NOT NULL,"
    "  state INTEGER NOT NULL, requester TEXT NOT NULL,"
    "  approver TEXT, serial TEXT, reason INTEGER NOT NULL,"
    "  note TEXT, at INTEGER NOT NULL, decided_at INTEGER,"
    "  exported INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS receipts_at ON receipts(at);"
    "CREATE INDEX IF NOT EXISTS certificates_revoked_at ON"
    "  certificates(revoked_at);",
    /* 5: the CRLs published: what each covers, until when (sql_crl.c) */
    "CREATE TABLE IF NOT EXISTS crl_published("
    "  ca INTEGER NOT NULL, shard INTEGER NOT NULL,"
    "  number INTEGER NOT NULL, this_update INTEGER NOT NULL,"
    "  next_update INTEGER NOT NULL, entries INTEGER NOT NULL,"
    "  PRIMARY KEY(ca, shard)) WITHOUT ROWID;",
    /* 6: relying party (src/rp): login nonces, each used once, expiring */
    "CREATE TABLE IF NOT EXISTS rp_nonces("
    "  nonce TEXT PRIMARY KEY, created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL, used_at INTEGER) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS rp_nonces_expiry ON rp_nonces(expires_at);",
    /* 7: pre-signed OCSP responses (docs/ocsp.md): one per certificate and
     * issuer (SHA-1 name hash || key hash), and the queue of certificates
     * whose status changed, filled by triggers in the writer's own
     * transaction so that any process's issuance or revocation shows */
    "CREATE TABLE IF NOT EXISTS ocsp_responses("
    "  serial TEXT NOT NULL, issuer BLOB NOT NULL,"
    "  status INTEGER NOT NULL, this_update INTEGER NOT NULL,"
    "  next_update INTEGER NOT NULL, der BLOB NOT NULL,"
    "  PRIMARY KEY(serial, issuer));"
    "CREATE INDEX IF NOT EXISTS ocsp_responses_this_update"
    "  ON ocsp_responses(this_update, serial);"
    "CREATE TABLE IF NOT EXISTS ocsp_changes("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT, serial TEXT NOT NULL);"
    "CREATE TRIGGER IF NOT EXISTS ocsp_changes_issued"
    "  AFTER INSERT ON certificates"
    "  BEGIN INSERT INTO ocsp_changes(serial) VALUES (NEW.serial); END;"
    "CREATE TRIGGER IF NOT EXISTS ocsp_changes_status"
    "  AFTER UPDATE OF status, reason, revoked_at ON certificates"
    "  BEGIN INSERT INTO ocsp_changes(serial) VALUES (NEW.serial); END;",
    /* 8: CA generations (ca rollover): which generation issued each
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
    /* 9: CRL records per CA generation (each generation publishes its own
     * CRLs); the records before it did not say which generation, so they
     * go, and the next publisher run makes every CRL once (records are
     * only ever what was last published: nothing else is lost).  The
     * revocation counts the publisher compares with, one pass over an
     * index.  And a resident's certificates of one CA by an index of both:
     * with certificates_generation (ca, ...) beside certificates_resident,
     * SQLite chose the CA's index and read half the table for every
     * issuance's "a valid one already?" (issuance slowed with the store,
     * to 16 certificates/s at 50,000). */
    "DROP TABLE IF EXISTS crl_published;"
    "CREATE TABLE crl_published("
    "  ca INTEGER NOT NULL, gen INTEGER NOT NULL, shard INTEGER NOT NULL,"
    "  number INTEGER NOT NULL, this_update INTEGER NOT NULL,"
    "  next_update INTEGER NOT NULL, entries INTEGER NOT NULL,"
    "  PRIMARY KEY(ca, gen, shard)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS revocations_generation"
    "  ON revocations(ca, gen, shard);"
    "CREATE INDEX IF NOT EXISTS certificates_resident_ca"
    "  ON certificates(resident_id, ca);"
    "DROP INDEX IF EXISTS certificates_resident;",
    /* 10: a card in a reader: the writes each procedure committed for the
     * card, applied over APDUs after the commit (docs/counter.md) */
    "CREATE TABLE IF NOT EXISTS card_writes("
    "  id INTEGER PRIMARY KEY, card_serial TEXT NOT NULL,"
    "  receipt_id INTEGER REFERENCES receipts(id), writes TEXT NOT NULL,"
    "  at INTEGER NOT NULL, applied_at INTEGER);"
    "CREATE INDEX IF NOT EXISTS card_writes_serial"
    "  ON card_writes(card_serial, applied_at);",
    /* 11: a stored response replaced (refreshed, re-signed) or removed
     * is queued too, for the servers' response caches (docs/ocsp.md, "The
     * response cache"); a first response is not (none was cached). */
    "CREATE TRIGGER IF NOT EXISTS ocsp_changes_resigned"
    "  AFTER UPDATE OF der ON ocsp_responses"
    "  BEGIN INSERT INTO ocsp_changes(serial) VALUES (NEW.serial); END;"
    "CREATE TRIGGER IF NOT EXISTS ocsp_changes_unstored"
    "  AFTER DELETE ON ocsp_responses"
    "  BEGIN INSERT INTO ocsp_changes(serial) VALUES (OLD.serial); END;",
};

static const char *const pg_migrations[] = {
    /* 1: the foundation schema */
    "CREATE TABLE municipalities("
    "  code TEXT PRIMARY KEY, name_ja TEXT NOT NULL, name_kana TEXT,"
    "  name_romaji TEXT NOT NULL, pref_ja TEXT NOT NULL,"
    "  pref_romaji TEXT NOT NULL);"
    "CREATE TABLE residents("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  number TEXT NOT NULL UNIQUE,"
    "  surname TEXT NOT NULL, given TEXT NOT NULL, name_kana TEXT,"
    "  name_flags TEXT NOT NULL, address TEXT NOT NULL,"
    "  address_flags TEXT NOT NULL, birth TEXT NOT NULL,"
    "  gender INTEGER NOT NULL,"
    "  municipality TEXT NOT NULL REFERENCES municipalities(code),"
    "  status INTEGER NOT NULL, facts_version BIGINT NOT NULL,"
    "  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
    "CREATE TABLE cards("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  serial TEXT NOT NULL UNIQUE,"
    "  resident_id BIGINT NOT NULL REFERENCES residents(id),"
    "  kind INTEGER NOT NULL, status INTEGER NOT NULL,"
    "  issued_on TEXT NOT NULL, expiry TEXT NOT NULL,"
    "  facts_version BIGINT NOT NULL, image_path TEXT);"
    "CREATE INDEX cards_resident ON cards(resident_id);"
    /* rowid: the insertion order SQLite's implicit rowid gives, which
     * the queries order by. */
    "CREATE TABLE certificates("
    "  serial TEXT PRIMARY KEY, ca INTEGER NOT NULL,"
    "  resident_id BIGINT NOT NULL REFERENCES residents(id),"
    "  card_id BIGINT, status INTEGER NOT NULL, reason INTEGER,"
    "  not_before BIGINT NOT NULL, not_after BIGINT NOT NULL,"
    "  issued_at BIGINT NOT NULL, revoked_at BIGINT,"
    "  crl_shard INTEGER NOT NULL, replaces TEXT, der BYTEA NOT NULL,"
    "  rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE);"
    "CREATE INDEX certificates_resident ON certificates(resident_id);"
    "CREATE TABLE revocations("
    "  ca INTEGER NOT NULL, shard INTEGER NOT NULL, serial TEXT NOT NULL,"
    "  revoked_at BIGINT NOT NULL, reason INTEGER NOT NULL,"
    "  PRIMARY KEY(ca, shard, serial));"
    "CREATE TABLE crl_numbers("
    "  ca INTEGER NOT NULL, shard INTEGER NOT NULL,"
    "  number BIGINT NOT NULL, PRIMARY KEY(ca, shard));"
    "CREATE TABLE audit("
    "  seq BIGINT PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL,"
    "  action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL,"
    "  prev_hash BYTEA NOT NULL, hash BYTEA NOT NULL);"
    "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql"
    "  AS $$BEGIN RAISE EXCEPTION 'audit log is append-only'; END$$;"
    "CREATE TRIGGER audit_append_only_change BEFORE UPDATE OR DELETE"
    "  ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();"
    "CREATE TRIGGER audit_append_only_truncate BEFORE TRUNCATE"
    "  ON audit FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();",
    /* 2: counter procedures (receipts, certificate links, PIN resets) */
    "CREATE TABLE receipts("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  at BIGINT NOT NULL, clerk TEXT NOT NULL,"
    "  procedure TEXT NOT NULL,"
    "  resident_id BIGINT NOT NULL REFERENCES residents(id),"
    "  card_id BIGINT REFERENCES cards(id), total_yen BIGINT NOT NULL,"
    "  holder_doc_type TEXT NOT NULL, holder_doc_number TEXT,"
    "  proxy_name TEXT, proxy_doc_type TEXT, proxy_doc_number TEXT,"
    "  form TEXT);"
    "CREATE INDEX receipts_resident ON receipts(resident_id);"
    "CREATE TABLE receipt_lines("
    "  receipt_id BIGINT NOT NULL REFERENCES receipts(id),"
    "  line INTEGER NOT NULL, item TEXT NOT NULL, yen BIGINT NOT NULL,"
    "  PRIMARY KEY(receipt_id, line));"
    "CREATE TABLE cert_links("
    "  old_serial TEXT NOT NULL REFERENCES certificates(serial),"
    "  new_serial TEXT NOT NULL REFERENCES certificates(serial),"
    "  kind TEXT NOT NULL, at BIGINT NOT NULL,"
    "  receipt_id BIGINT REFERENCES receipts(id),"
    "  PRIMARY KEY(old_serial, new_serial));"
    "CREATE INDEX cert_links_new ON cert_links(new_serial);"
    "CREATE TABLE pin_resets("
    "  receipt_id BIGINT PRIMARY KEY REFERENCES receipts(id),"
    "  card_id BIGINT NOT NULL REFERENCES cards(id),"
    "  pin_kind INTEGER NOT NULL, was_locked INTEGER NOT NULL);"
    "CREATE TABLE card_images("
    "  card_id BIGINT PRIMARY KEY REFERENCES cards(id),"
    "  sha256 BYTEA NOT NULL, receipt_id BIGINT REFERENCES receipts(id),"
    "  at BIGINT NOT NULL);",
    /* 3: proxy applications and inquiry/response forms, expiry notices */
    "CREATE TABLE proxy_applications("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  resident_id BIGINT NOT NULL REFERENCES residents(id),"
    "  purpose INTEGER NOT NULL, cert_types INTEGER NOT NULL,"
    "  pin_kind INTEGER NOT NULL, proxy_name TEXT NOT NULL,"
    "  proxy_doc_type TEXT NOT NULL, proxy_doc_number TEXT NOT NULL,"
    "  clerk TEXT NOT NULL, applied_at BIGINT NOT NULL,"
    "  form_number BIGINT, status INTEGER NOT NULL,"
    "  completed_at BIGINT);"
    "CREATE TABLE form_numbers("
    "  number BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  reserved_at BIGINT NOT NULL);"
    "CREATE TABLE inquiry_forms("
    "  number BIGINT PRIMARY KEY REFERENCES form_numbers(number),"
    "  resident_id BIGINT NOT NULL REFERENCES residents(id),"
    "  purpose INTEGER NOT NULL, cert_types INTEGER NOT NULL,"
    "  pin_kind INTEGER NOT NULL, origin INTEGER NOT NULL,"
    "  application_id BIGINT REFERENCES proxy_applications(id),"
    "  issued_on TEXT NOT NULL, expiry TEXT NOT NULL,"
    "  check_salt BYTEA NOT NULL, check_hash BYTEA NOT NULL,"
    "  status INTEGER NOT NULL, used_at BIGINT,"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX inquiry_forms_resident ON inquiry_forms(resident_id);"
    "CREATE TABLE expiry_notices("
    "  serial TEXT PRIMARY KEY REFERENCES certificates(serial),"
    "  form_number BIGINT NOT NULL REFERENCES inquiry_forms(number));"
    "CREATE INDEX certificates_not_after ON certificates(not_after);",
    /* 4: clerk accounts of the counter's web UI (argon2id hashes;
     * lockout), the requests that wait for a second person, and the
     * indexes its search and dashboard read */
    "CREATE TABLE IF NOT EXISTS clerks("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  role INTEGER NOT NULL, pw_hash TEXT NOT NULL,"
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  failures INTEGER NOT NULL DEFAULT 0,"
    "  locked_until BIGINT NOT NULL DEFAULT 0,"
    "  last_login BIGINT NOT NULL DEFAULT 0,"
    "  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS approvals("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  kind INTEGER NOT NULL,"
    "  state INTEGER NOT NULL, requester TEXT NOT NULL,"
    "  approver TEXT, serial TEXT, reason INTEGER NOT NULL,"
    "  note TEXT, at BIGINT NOT NULL, decided_at BIGINT,"
    "  exported INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS receipts_at ON receipts(at);"
    "CREATE INDEX IF NOT EXISTS certificates_revoked_at ON"
    "  certificates(revoked_at);",
    /* 5: the CRLs published: what each covers, until when (sql_crl.c) */
    "CREATE TABLE IF NOT EXISTS crl_published("
    "  ca INTEGER NOT NULL, shard INTEGER NOT NULL,"
    "  number BIGINT NOT NULL, this_update BIGINT NOT NULL,"
    "  next_update BIGINT NOT NULL, entries BIGINT NOT NULL,"
    "  PRIMARY KEY(ca, shard));",
    /* 6: relying party (src/rp): login nonces, each used once, expiring */
    "CREATE TABLE IF NOT EXISTS rp_nonces("
    "  nonce TEXT PRIMARY KEY, created_at BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL, used_at BIGINT);"
    "CREATE INDEX IF NOT EXISTS rp_nonces_expiry ON rp_nonces(expires_at);",
    /* 7: pre-signed OCSP responses (docs/ocsp.md) and the queue of
     * certificates whose status changed, filled by triggers in the
     * writer's own transaction */
    "CREATE TABLE IF NOT EXISTS ocsp_responses("
    "  serial TEXT NOT NULL, issuer BYTEA NOT NULL,"
    "  status INTEGER NOT NULL, this_update BIGINT NOT NULL,"
    "  next_update BIGINT NOT NULL, der BYTEA NOT NULL,"
    "  PRIMARY KEY(serial, issuer));"
    "CREATE INDEX IF NOT EXISTS ocsp_responses_this_update"
    "  ON ocsp_responses(this_update, serial);"
    "CREATE TABLE IF NOT EXISTS ocsp_changes("
    "  seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  serial TEXT NOT NULL);"
    "CREATE OR REPLACE FUNCTION ocsp_changes_note() RETURNS trigger"
    "  LANGUAGE plpgsql AS $$BEGIN"
    "  INSERT INTO ocsp_changes(serial) VALUES (NEW.serial); RETURN NULL;"
    "  END$$;"
    "CREATE OR REPLACE TRIGGER ocsp_changes_issued AFTER INSERT"
    "  ON certificates FOR EACH ROW EXECUTE FUNCTION ocsp_changes_note();"
    "CREATE OR REPLACE TRIGGER ocsp_changes_status"
    "  AFTER UPDATE OF status, reason, revoked_at ON certificates"
    "  FOR EACH ROW EXECUTE FUNCTION ocsp_changes_note();",
    /* 8: CA generations (ca rollover): which generation issued each
     * certificate and revocation; a store from before has generation 1
     * of both CAs, which issued everything in it. */
    "CREATE TABLE IF NOT EXISTS ca_generations("
    "  ca INTEGER NOT NULL, gen INTEGER NOT NULL, created_at BIGINT NOT NULL,"
    "  PRIMARY KEY(ca, gen));"
    "INSERT INTO ca_generations VALUES (1, 1, 0), (2, 1, 0)"
    "  ON CONFLICT DO NOTHING;"
    "ALTER TABLE certificates ADD COLUMN gen INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE revocations ADD COLUMN gen INTEGER NOT NULL DEFAULT 1;"
    "CREATE INDEX IF NOT EXISTS certificates_generation"
    "  ON certificates(ca, gen, not_after);",
    /* 9: CRL records per CA generation (see the SQLite migration) */
    "DROP TABLE IF EXISTS crl_published;"
    "CREATE TABLE crl_published("
    "  ca INTEGER NOT NULL, gen INTEGER NOT NULL, shard INTEGER NOT NULL,"
    "  number BIGINT NOT NULL, this_update BIGINT NOT NULL,"
    "  next_update BIGINT NOT NULL, entries BIGINT NOT NULL,"
    "  PRIMARY KEY(ca, gen, shard));"
    "CREATE INDEX IF NOT EXISTS revocations_generation"
    "  ON revocations(ca, gen, shard);"
    "CREATE INDEX IF NOT EXISTS certificates_resident_ca"
    "  ON certificates(resident_id, ca);"
    "DROP INDEX IF EXISTS certificates_resident;",
    /* 10: a card in a reader (see the SQLite migration) */
    "CREATE TABLE IF NOT EXISTS card_writes("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  card_serial TEXT NOT NULL,"
    "  receipt_id BIGINT REFERENCES receipts(id), writes TEXT NOT NULL,"
    "  at BIGINT NOT NULL, applied_at BIGINT);"
    "CREATE INDEX IF NOT EXISTS card_writes_serial"
    "  ON card_writes(card_serial, applied_at);",
    /* 11: stored responses replaced or removed, queued too (see the
     * SQLite migration) */
    "CREATE OR REPLACE FUNCTION ocsp_changes_note_old() RETURNS trigger"
    "  LANGUAGE plpgsql AS $$BEGIN"
    "  INSERT INTO ocsp_changes(serial) VALUES (OLD.serial); RETURN NULL;"
    "  END$$;"
    "CREATE OR REPLACE TRIGGER ocsp_changes_resigned"
    "  AFTER UPDATE OF der ON ocsp_responses"
    "  FOR EACH ROW EXECUTE FUNCTION ocsp_changes_note();"
    "CREATE OR REPLACE TRIGGER ocsp_changes_unstored"
    "  AFTER DELETE ON ocsp_responses"
    "  FOR EACH ROW EXECUTE FUNCTION ocsp_changes_note_old();",
};

_Static_assert(JPKI_ARRAY_LEN(sqlite_migrations) ==
    JPKI_ARRAY_LEN(pg_migrations),
    "every migration in both dialects");

#define MIGRATIONS ((int)JPKI_ARRAY_LEN(sqlite_migrations))

/* PostgreSQL's bookkeeping, made before migration 1 (and by it harmless
 * again): the schema version and the write counter. */
static const char pg_meta[] =
    "CREATE TABLE IF NOT EXISTS jpki_meta("
    "  one INTEGER PRIMARY KEY CHECK (one = 1),"
    "  schema_version INTEGER NOT NULL, data_version BIGINT NOT NULL);"
    "INSERT INTO jpki_meta VALUES (1, 0, 0) ON CONFLICT DO NOTHING";

int
store_sql_schema_version(void *impl, int *out)
{
	struct sql_store *s = impl;
	long v = 0;
	int r;

	if (s->dialect == DB_POSTGRESQL) {
		/* No jpki_meta yet: an empty database, version 0. */
		if ((r = store_db_count(s, "SELECT COUNT(*) FROM"
		    " information_schema.tables WHERE table_schema ="
		    " current_schema() AND table_name = 'jpki_meta'", &v)) !=
		    JPKI_OK)
			return r;
		if (v == 1 && (r = store_db_count(s, "SELECT schema_version"
		    " FROM jpki_meta", &v)) != JPKI_OK)
			return r;
	} else if ((r = store_db_count(s, "PRAGMA user_version", &v)) !=
	    JPKI_OK) {
		return r;
	}
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

static int
set_version(struct sql_store *s, int v)
{
	char sql[64];

	if (s->dialect == DB_POSTGRESQL)
		snprintf(sql, sizeof(sql),
		    "UPDATE jpki_meta SET schema_version = %d", v);
	else
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	return store_db_exec(s, sql);
}

/* Bring the schema up to date.  The version is read first without a
 * lock, so that opening a current database never waits for a writer; a
 * migration takes the write lock and reads it again. */
int
store_sql_migrate(struct sql_store *s, const char *where)
{
	const char *const *m = s->dialect == DB_POSTGRESQL ? pg_migrations :
	    sqlite_migrations;
	int have = 0, r;

	(void)where;
	if ((r = store_sql_schema_version(s, &have)) != JPKI_OK ||
	    (r = schema_check(have, MIGRATIONS)) != JPKI_OK ||
	    have == MIGRATIONS)
		return r;
	if ((r = store_sql_begin(s)) != JPKI_OK)
		return r;
	if (s->dialect == DB_POSTGRESQL &&
	    (r = store_db_exec(s, pg_meta)) != JPKI_OK)
		goto fail;
	if ((r = store_sql_schema_version(s, &have)) != JPKI_OK ||
	    (r = schema_check(have, MIGRATIONS)) != JPKI_OK)
		goto fail;
	for (int v = have; v < MIGRATIONS; v++) {
		if ((r = store_db_exec(s, m[v])) != JPKI_OK)
			goto fail;
	}
	if ((r = set_version(s, MIGRATIONS)) != JPKI_OK)
		goto fail;
	return store_sql_commit(s);
fail:
	store_sql_rollback(s);
	return r;
}

/* A read-only connection migrates nothing: it reads this program's schema
 * or none. */
int
store_sql_schema_is_current(struct sql_store *s, const char *where)
{
	int have = 0, r;

	if ((r = store_sql_schema_version(s, &have)) != JPKI_OK ||
	    (r = schema_check(have, MIGRATIONS)) != JPKI_OK)
		return r;
	if (have < MIGRATIONS)
		return jpki_fail(JPKI_ERR_IO, "store: %s: database schema %d is "
		    "older than this program (%d); a read-write open migrates "
		    "it, a read-only one does not", where, have, MIGRATIONS);
	return JPKI_OK;
}
