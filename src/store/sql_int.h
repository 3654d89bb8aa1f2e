/*
 * sql_int.h: private to the SQL implementation of the store, the same
 * queries for SQLite and PostgreSQL (db.h runs them through a driver per
 * database).  Its files follow store.h's sections:
 *
 *   sql_conn.c      opening, transactions, the ops table
 *   sql_schema.c    the migrations, in each database's dialect
 *   sql_stmt.c      the statement helpers below (one way to run SQL)
 *   sql_register.c  municipalities and residents
 *   sql_certs.c     certificates, revocations, CRL numbers
 *   sql_audit.c     the audit table (the chain itself is store.c's)
 *   sql_forms.c     inquiry/response forms, proxy applications
 *   sql_counter.c   cards, receipts, certificate links, PIN resets,
 *                   card images
 *   sql_crl.c       the published CRLs' records, revocation counts
 *   sql_clerks.c    the web UI's clerk accounts and approvals
 *   sql_rp.c        the relying party's login nonces
 *   sql_ocsp.c      pre-signed OCSP responses and the change queue
 *   sql_copy.c      a whole store into another database
 *   sql_generations.c  CA generations (ca rollover)
 *
 * Each query is store_sql_<op>(), declared here from store_ops.def.
 */
#ifndef JPKI_SQL_INT_H
#define JPKI_SQL_INT_H

#include "store/db.h"

/* Statements prepared once per connection, for the hot paths (issuance,
 * audit, the register lookups they and an import's check make). */
enum stmt_id {
	ST_CERT_INSERT,
	ST_AUDIT_LAST,
	ST_AUDIT_INSERT,
	ST_RESIDENT_GET,
	ST_RESIDENT_BY_NUMBER,
	ST_MUNICIPALITY_GET,
	ST_CERT_VALID_OF,
	ST_OCSP_GET,
	ST_OCSP_GET_CURRENT,
	ST_OCSP_PUT,
	ST_OCSP_STATUS,
	ST__COUNT
};

struct sql_store {
	struct db *db;
	enum db_dialect dialect;
	int in_tx;
	int read_only;
	long busy_timeout_ms;
	uint64_t own_writes;    /* PostgreSQL: this connection's commits */
	char *where;            /* PostgreSQL: the libpq URL (store_watch) */
	/* A lost connection (sql_conn.c, "losing the connection"): said
	 * once, made again before the next operation outside a
	 * transaction, tried at most every STORE_RECONNECT_MS. */
	int lost;
	int64_t lost_at_ms, last_try_ms;
	int durable;            /* -1: never set; else set again on a new
	                           connection */
	/* The audit chain's head as this transaction last wrote it
	 * (sql_audit.c): the next entry's audit_last without a query.  Only
	 * within the transaction, which holds the write lock; cleared at
	 * begin, commit, rollback and any failed insert. */
	int audit_head_known;
	int64_t audit_head_seq;
	uint8_t audit_head_hash[32];
	struct db_stmt *stmt[ST__COUNT];
};

/* The channel every PostgreSQL write transaction NOTIFYs as it commits
 * (sql_conn.c) and store_watch LISTENs on (sql_watch.c). */
#define STORE_PG_CHANNEL "jpki_store"

/* A lost connection is tried again at most this often (sql_conn.c). */
#define STORE_RECONNECT_MS 1000
/* Milliseconds on the monotonic clock. */
int64_t store_mono_ms(void);

/* ---- statement helpers (sql_stmt.c) ---- */

/* Record the connection's last error as JPKI_ERR_IO, naming what failed. */
int store_db_fail(struct sql_store *s, const char *what);
/* Run SQL that returns no rows. */
int store_db_exec(struct sql_store *s, const char *sql);
/* Prepare a one-off statement; the caller finalizes it. */
int store_db_prep(struct sql_store *s, const char *sql, struct db_stmt **st);
/* A cached statement, reset and ready to bind; the caller resets it. */
int store_db_cached(struct sql_store *s, enum stmt_id id, const char *sql,
    struct db_stmt **st);
/* Step a statement that returns no rows; a constraint is
 * JPKI_ERR_CONFLICT. */
int store_db_step_done(struct sql_store *s, struct db_stmt *st,
    const char *what);
/* The same for a one-off statement, which it then finalizes. */
int store_db_run(struct sql_store *s, struct db_stmt *st, const char *what);
/* store_db_run() for an INSERT ... RETURNING id: the new row's id into *id. */
int store_db_insert(struct sql_store *s, struct db_stmt *st, const char *what,
    int64_t *id);
/* store_db_run() for an UPDATE of one row by its key: JPKI_ERR_NOTFOUND with no
 * message (the caller names the record) if it changed none. */
int store_db_update_one(struct sql_store *s, struct db_stmt *st,
    const char *what);
/* Step to the one row a lookup returns: JPKI_OK on it, or
 * JPKI_ERR_NOTFOUND with the message notfound (none if NULL).  The caller
 * resets or finalizes the statement. */
int store_db_row(struct sql_store *s, struct db_stmt *st, const char *what,
    const char *notfound, ...) __attribute__((format(printf, 4, 5)));
/* After a loop over rows that ended at step result rc: DB_ROW (the
 * callback stopped it) and DB_DONE are success.  Finalizes. */
int store_db_rows_end(struct sql_store *s, struct db_stmt *st, int rc,
    const char *what);
/* Run a one-row, one-column integer query (SELECT COUNT(*)). */
int store_db_count(struct sql_store *s, const char *sql, long *out);

void store_db_bind_text(struct db_stmt *st, int i, const char *v);
/* Bind text, or NULL for an empty string (optional columns). */
void store_db_bind_opt_text(struct db_stmt *st, int i, const char *v);
void store_db_bind_date(struct db_stmt *st, int i, struct jdate d);
/* Copy a text column, truncated to cap - 1 bytes. */
void store_db_col_text(struct db_stmt *st, int i, char *dst, size_t cap);
struct jdate store_db_col_date(struct db_stmt *st, int i);
/* Copy a blob column of exactly n bytes; zeros if it is another size. */
void store_db_col_blob(struct db_stmt *st, int i, uint8_t *dst, size_t n);

/* The migrations: bring a read-write connection's schema up to date, or
 * check that a read-only one's is current (sql_schema.c). */
int store_sql_migrate(struct sql_store *s, const char *where);
int store_sql_schema_is_current(struct sql_store *s, const char *where);

/* ---- the implementation ---- */

int store_sql_open(const char *url, const struct store_open_options *o,
    void **impl);
void store_sql_close(void *impl);
int store_sql_begin(void *impl);
int store_sql_commit(void *impl);
void store_sql_rollback(void *impl);
int store_sql_in_transaction(void *impl);
int store_sql_ready(void *impl, uint64_t *mark);
int store_sql_retry(void *impl, uint64_t mark);
/* After a failed call: if it found the connection lost, say so (once)
 * and count it.  1 when the connection is lost. */
int store_sql_noticed(struct sql_store *s);
int store_sql_audit_last(void *impl, int64_t *seq, uint8_t hash[32]);
int store_sql_audit_insert(void *impl, const struct audit_entry *e);

#define STORE_OP(mode, op, params, args) \
	int store_sql_##op(void *impl, STORE_UNPAREN params);
#include "store/store_ops.def"
#undef STORE_OP

#endif
