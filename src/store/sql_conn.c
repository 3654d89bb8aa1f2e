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
 *
 * Losing the connection (PostgreSQL; SQLite's is a file and is never
 * lost): the server restarted, the backend was terminated
 * (pg_terminate_backend), a failover moved the database.  The call that
 * finds it gone fails as any failed call does, and the loss is said once
 * on stderr (store_sql_noticed, from every failed step).  The next
 * operation outside a transaction connects again (store_sql_ready): at
 * once the first time, then at most every STORE_RECONNECT_MS, failing at
 * once in between with one line, so a server whose database is down
 * answers errors without waiting and without hammering it; the
 * connection back is said once too.  A read that failed having delivered
 * no row, outside a transaction, runs once more on the new connection
 * (store_sql_retry, called by store.c), so a connection that died while
 * idle costs its caller nothing.  Nothing inside a transaction is ever
 * run again: the transaction died with its connection (the server rolls
 * it back), its caller sees the failure and rolls back, and the next
 * begin connects again.  A COMMIT whose answer was lost fails saying
 * that whether it committed is not known: it is never sent again.
 */
#include "store/sql_int.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	s->durable = -1;
	s->last_try_ms = store_mono_ms() - STORE_RECONNECT_MS;
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

/* Also run again on a new connection (reconnect). */
static int
apply_durable(struct sql_store *s, int durable)
{
	if (s->dialect == DB_POSTGRESQL)
		return store_db_exec(s, durable ? "SET synchronous_commit = on" :
		    "SET synchronous_commit = off");
	return store_db_exec(s, durable ? "PRAGMA synchronous=FULL" :
	    "PRAGMA synchronous=NORMAL");
}

int
store_sql_set_durable(void *impl, int durable)
{
	struct sql_store *s = impl;

	s->durable = durable;
	return apply_durable(s, durable);
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

/* ---- losing the connection ---- */

static atomic_ulong conn_lost, conn_back, conn_failed;

int64_t
store_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
store_connection_stats(struct store_connection_stats *out)
{
	out->lost = atomic_load(&conn_lost);
	out->reconnected = atomic_load(&conn_back);
	out->failed = atomic_load(&conn_failed);
}

/* The first line of the driver's message, for a line of its own. */
static const char *
first_line(struct sql_store *s, char *buf, size_t cap)
{
	const char *m = s->db->drv->errmsg(s->db);
	size_t n = strcspn(m, "\n");

	if (n >= cap)
		n = cap - 1;
	memcpy(buf, m, n);
	buf[n] = '\0';
	for (char *p = buf; *p != '\0'; p++)
		if (*p == '\t' || *p == '\r')
			*p = ' ';
	return buf;
}

int
store_sql_noticed(struct sql_store *s)
{
	char why[256];

	if (s->db->drv->lost == NULL || !s->db->drv->lost(s->db))
		return 0;
	if (!s->lost) {
		s->lost = 1;
		s->lost_at_ms = store_mono_ms();
		atomic_fetch_add(&conn_lost, 1);
		fprintf(stderr, "jpki: store: lost the connection to %s (%s); "
		    "connecting again\n", s->db->drv->name,
		    first_line(s, why, sizeof(why)));
		fflush(stderr);
	}
	return 1;
}

/* Connect again, unless tried less than STORE_RECONNECT_MS ago. */
static int
reconnect(struct sql_store *s)
{
	int64_t now = store_mono_ms();
	char why[256];

	if (now - s->last_try_ms < STORE_RECONNECT_MS)
		return jpki_fail(JPKI_ERR_IO, "store: no connection to %s (lost "
		    "%lld s ago; tried again every %d s)", s->db->drv->name,
		    (long long)((now - s->lost_at_ms) / 1000),
		    STORE_RECONNECT_MS / 1000);
	s->last_try_ms = now;
	if (s->db->drv->reconnect(s->db) != DB_DONE) {
		atomic_fetch_add(&conn_failed, 1);
		return jpki_fail(JPKI_ERR_IO, "store: cannot connect to %s "
		    "again: %s", s->db->drv->name, first_line(s, why,
		    sizeof(why)));
	}
	if (s->durable >= 0 && apply_durable(s, s->durable) != JPKI_OK) {
		atomic_fetch_add(&conn_failed, 1);
		return JPKI_ERR_IO;
	}
	s->lost = 0;
	atomic_fetch_add(&conn_back, 1);
	fprintf(stderr, "jpki: store: connected to %s again (%.1f s after "
	    "the connection was lost)\n", s->db->drv->name,
	    (double)(store_mono_ms() - s->lost_at_ms) / 1000.0);
	fflush(stderr);
	return JPKI_OK;
}

static uint64_t
rows_so_far(struct sql_store *s)
{
	return s->db->drv->rows != NULL ? s->db->drv->rows(s->db) : 0;
}

int
store_sql_ready(void *impl, uint64_t *mark)
{
	struct sql_store *s = impl;

	*mark = rows_so_far(s);
	if (s->in_tx || (!s->lost && !store_sql_noticed(s)))
		return JPKI_OK;
	return reconnect(s);
}

int
store_sql_retry(void *impl, uint64_t mark)
{
	struct sql_store *s = impl;

	if (s->in_tx || !store_sql_noticed(s) || rows_so_far(s) != mark)
		return 0;
	return reconnect(s) == JPKI_OK;
}

/* ---- transactions ---- */

static int
begin_once(struct sql_store *s, const char *sql)
{
	int r = store_db_exec(s, sql);

	if (r != JPKI_OK && s->dialect == DB_POSTGRESQL)
		s->db->drv->exec(s->db, "ROLLBACK");
	return r;
}

int
store_sql_begin(void *impl)
{
	struct sql_store *s = impl;
	const char *sql;
	uint64_t mark;
	int r;

	if (s->in_tx)
		return jpki_fail(JPKI_ERR_INTERNAL, "store: nested transaction");
	if ((r = store_sql_ready(s, &mark)) != JPKI_OK)
		return r;
	if (s->dialect == DB_POSTGRESQL)
		sql = s->read_only ?
		    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" :
		    "BEGIN; SELECT pg_advisory_xact_lock(" STORE_PG_WRITE_LOCK ")";
	else
		sql = s->read_only ? "BEGIN" : "BEGIN IMMEDIATE";
	/* Nothing has begun: on a connection found lost, begin again. */
	if ((r = begin_once(s, sql)) != JPKI_OK &&
	    (!store_sql_retry(s, mark) || (r = begin_once(s, sql)) != JPKI_OK))
		return r;
	s->in_tx = 1;
	s->audit_head_known = 0;
	return JPKI_OK;
}

int
store_sql_commit(void *impl)
{
	struct sql_store *s = impl;
	int counted = 0, r = JPKI_OK;
	char why[256];

	/* The write counter: bumped last, under the write lock.  A fresh
	 * database's first transaction (the migration) makes jpki_meta.
	 * The notice goes out as the transaction commits, to every
	 * connection that LISTENs (store_watch), in the same round trip. */
	if (s->dialect == DB_POSTGRESQL && !s->read_only) {
		if ((r = store_db_exec(s, "UPDATE jpki_meta SET data_version ="
		    " data_version + 1; NOTIFY " STORE_PG_CHANNEL)) == JPKI_OK)
			counted = 1;
		else if (s->lost)
			r = jpki_fail(JPKI_ERR_IO, "store: the connection to %s "
			    "was lost before the commit: nothing was committed "
			    "(%s)", s->db->drv->name,
			    first_line(s, why, sizeof(why)));
	}
	if (r == JPKI_OK && (r = store_db_exec(s, "COMMIT")) != JPKI_OK &&
	    s->lost && !s->read_only)
		/* The COMMIT went, its answer did not come: it may have
		 * committed or not, and running it again could do it twice. */
		r = jpki_fail(JPKI_ERR_IO, "store: the connection to %s was "
		    "lost while committing: whether the transaction was "
		    "committed is not known (%s)", s->db->drv->name,
		    first_line(s, why, sizeof(why)));
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
	.ready = store_sql_ready,
	.retry = store_sql_retry,
	.audit_last = store_sql_audit_last,
	.audit_insert = store_sql_audit_insert,
#define STORE_OP(mode, op, params, args) .op = store_sql_##op,
#include "store/store_ops.def"
#undef STORE_OP
};
