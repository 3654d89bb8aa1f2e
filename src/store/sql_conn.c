/*
 * sql_conn.c: the store's connection, over a database driver (db.h):
 * opening (the driver from the URL, then the schema: sql_schema.c),
 * transactions, the write counter, and the ops table store.c dispatches
 * through.  The same code serves SQLite and PostgreSQL; where they differ
 * it says so here.
 *
 * Writers are serialised, so that two processes never both read the
 * state and then race to write (two serials, two CRL numbers, two audit
 * entries with one sequence number):
 *   - SQLite: BEGIN IMMEDIATE takes the database's write lock.
 *   - PostgreSQL: a write transaction first takes one transaction-level
 *     advisory lock (STORE_PG_WRITE_LOCK) that every writer takes.
 * A connection that finds the lock held waits up to the busy timeout (the
 * driver: SQLite's busy handler, PostgreSQL's lock_timeout), so
 * concurrent clerks queue rather than fail.
 *
 * A read-only connection (store_open_readonly) creates nothing, runs no
 * migration, refuses writes, and each transaction is a read snapshot
 * that sees every commit made before it began (SQLite in WAL mode; a
 * REPEATABLE READ READ ONLY transaction on PostgreSQL, which also runs
 * on a streaming replica).
 */
#include "store/sql_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every writer's advisory lock on PostgreSQL ("jpki" in ASCII). */
#define STORE_PG_WRITE_LOCK "1785752425"

void
store_sql_close(void *impl)
{
	struct sql_store *s = impl;

	if (s == NULL)
		return;
	for (int i = 0; i < ST__COUNT; i++)
		db_finalize(s->stmt[i]);
	if (s->db != NULL)
		s->db->drv->close(s->db);
	free(s->where);
	free(s);
}

/* A read-write open of a hot standby (a streaming replica) fails here,
 * with one line that says so, rather than at its first write. */
static int
refuse_standby(struct sql_store *s)
{
	long standby = 0;
	int r;

	if ((r = store_db_count(s, "SELECT CASE WHEN pg_is_in_recovery()"
	    " THEN 1 ELSE 0 END", &standby)) != JPKI_OK)
		return r;
	if (standby)
		return jpki_fail(JPKI_ERR_REFUSED, "store: the database is a "
		    "read-only standby (a streaming replica): writers use the "
		    "primary");
	return JPKI_OK;
}

int
store_sql_open(const char *url, const struct store_open_options *o,
    void **impl)
{
	const char *where = url;
	const struct db_driver *drv = db_driver_for(url, &where);
	struct sql_store *s;
	int r;

	if (drv == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "store: %s is not in this "
		    "build (database = %s)", "this database", url);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	s->read_only = o->read_only;
	s->busy_timeout_ms = o->busy_timeout_ms;
	s->dialect = drv->dialect;
	if ((r = drv->open(where, o, &s->db)) != JPKI_OK)
		goto fail;
	if (drv->dialect == DB_POSTGRESQL) {
		if ((s->where = strdup(where)) == NULL) {
			r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
			goto fail;
		}
		if (!o->read_only && (r = refuse_standby(s)) != JPKI_OK)
			goto fail;
	}
	if (o->version_before != NULL &&
	    (r = store_sql_schema_version(s, o->version_before)) != JPKI_OK)
		goto fail;
	r = o->read_only ? store_sql_schema_is_current(s, where) :
	    store_sql_migrate(s, where);
	if (r != JPKI_OK)
		goto fail;
	*impl = s;
	return JPKI_OK;
fail:
	store_sql_close(s);
	return r;
}

const char *
store_sql_database_name(const void *impl)
{
	return ((const struct sql_store *)impl)->db->drv->name;
}

/* ---- connection settings ---- */

int
store_sql_set_durable(void *impl, int durable)
{
	struct sql_store *s = impl;

	if (s->dialect == DB_POSTGRESQL)
		return store_db_exec(s, durable ? "SET synchronous_commit = on" :
		    "SET synchronous_commit = off");
	return store_db_exec(s, durable ? "PRAGMA synchronous=FULL" :
	    "PRAGMA synchronous=NORMAL");
}

/* Changes whenever another connection commits a write, never for this
 * one's own.  SQLite counts them itself (PRAGMA data_version ignores the
 * connection's own commits); on PostgreSQL every write transaction adds
 * one to jpki_meta.data_version as it commits, and this connection
 * subtracts the ones it added. */
int
store_sql_data_version(void *impl, uint64_t *out)
{
	struct sql_store *s = impl;
	long v = 0;
	int r;

	if ((r = store_db_count(s, s->dialect == DB_POSTGRESQL ?
	    "SELECT data_version FROM jpki_meta" : "PRAGMA data_version",
	    &v)) != JPKI_OK)
		return r;
	*out = (uint64_t)v - (s->dialect == DB_POSTGRESQL ? s->own_writes : 0);
	return JPKI_OK;
}

/* ---- transactions ---- */

int
store_sql_begin(void *impl)
{
	struct sql_store *s = impl;
	const char *sql;
	int r;

	if (s->in_tx)
		return jpki_fail(JPKI_ERR_INTERNAL, "store: nested transaction");
	if (s->dialect == DB_POSTGRESQL)
		sql = s->read_only ?
		    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" :
		    "BEGIN; SELECT pg_advisory_xact_lock(" STORE_PG_WRITE_LOCK ")";
	else
		sql = s->read_only ? "BEGIN" : "BEGIN IMMEDIATE";
	if ((r = store_db_exec(s, sql)) != JPKI_OK) {
		if (s->dialect == DB_POSTGRESQL)
			s->db->drv->exec(s->db, "ROLLBACK");
		return r;
	}
	s->in_tx = 1;
	s->audit_head_known = 0;
	return JPKI_OK;
}

int
store_sql_commit(void *impl)
{
	struct sql_store *s = impl;
	int counted = 0, r = JPKI_OK;

	/* The write counter: bumped last, under the write lock.  A fresh
	 * database's first transaction (the migration) makes jpki_meta.
	 * The notice goes out as the transaction commits, to every
	 * connection that LISTENs (store_watch), in the same round trip. */
	if (s->dialect == DB_POSTGRESQL && !s->read_only) {
		if ((r = store_db_exec(s, "UPDATE jpki_meta SET data_version ="
		    " data_version + 1; NOTIFY " STORE_PG_CHANNEL)) == JPKI_OK)
			counted = 1;
	}
	if (r == JPKI_OK)
		r = store_db_exec(s, "COMMIT");
	if (r != JPKI_OK)
		s->db->drv->exec(s->db, "ROLLBACK");
	else if (counted)
		s->own_writes++;
	s->in_tx = 0;
	s->audit_head_known = 0;
	return r;
}

void
store_sql_rollback(void *impl)
{
	struct sql_store *s = impl;

	if (s->in_tx)
		s->db->drv->exec(s->db, "ROLLBACK");
	s->in_tx = 0;
	s->audit_head_known = 0;
}

int
store_sql_in_transaction(void *impl)
{
	return ((struct sql_store *)impl)->in_tx;
}

/* ---- the table store.c dispatches through ---- */

const struct store_ops store_sql_ops = {
	.name = "sql",
	.open = store_sql_open,
	.close = store_sql_close,
	.begin = store_sql_begin,
	.commit = store_sql_commit,
	.rollback = store_sql_rollback,
	.in_transaction = store_sql_in_transaction,
	.audit_last = store_sql_audit_last,
	.audit_insert = store_sql_audit_insert,
#define STORE_OP(mode, op, params, args) .op = store_sql_##op,
#include "store/store_ops.def"
#undef STORE_OP
};
