/*
 * db.h: private to the store module.  The one way the store's queries run
 * SQL, whatever the database: a connection (struct db) and statements
 * (struct db_stmt) written with `?` placeholders, bound, stepped row by
 * row and read by column, over a driver per database:
 *
 *   db_sqlite.c   SQLite (the embedded default)
 *   db_pg.c       PostgreSQL, through libpq
 *
 * The queries (sql_*.c) are written once, in the SQL both databases
 * accept (upserts as INSERT ... ON CONFLICT, new ids through RETURNING,
 * no LIMIT -1); what differs (the schema's types, locking, the version
 * counters) is each driver's or sql_schema.c's business.
 */
#ifndef JPKI_STORE_DB_H
#define JPKI_STORE_DB_H

#include "store/store_impl.h"

#include <stddef.h>
#include <stdint.h>

enum db_dialect { DB_SQLITE, DB_POSTGRESQL };

/* What db_step() returns. */
enum db_step {
	DB_ROW = 1,        /* a row is ready to read */
	DB_DONE = 0,       /* no (more) rows */
	DB_FAILED = -1,    /* an error: db_errmsg() says which */
	DB_CONSTRAINT = -2, /* a UNIQUE, FOREIGN KEY, NOT NULL or CHECK refused */
	DB_BUSY = -3,      /* another writer held a lock past the timeout */
};

struct db;
struct db_stmt;

struct db_driver {
	const char *name;
	enum db_dialect dialect;
	int (*open)(const char *where, const struct store_open_options *o,
	    struct db **out);
	void (*close)(struct db *d);
	/* SQL returning no rows, one statement or several; a db_step code. */
	int (*exec)(struct db *d, const char *sql);
	/* persistent: kept for the connection's life (cached statements). */
	int (*prepare)(struct db *d, const char *sql, int persistent,
	    struct db_stmt **out);
	int (*bind_int64)(struct db_stmt *st, int i, int64_t v);
	int (*bind_text)(struct db_stmt *st, int i, const char *v);
	int (*bind_blob)(struct db_stmt *st, int i, const void *v, size_t n);
	int (*bind_null)(struct db_stmt *st, int i);
	int (*step)(struct db_stmt *st);
	/* Ready to run again: bindings cleared. */
	void (*reset)(struct db_stmt *st);
	void (*finalize)(struct db_stmt *st);
	int (*col_is_null)(struct db_stmt *st, int i);
	int64_t (*col_int64)(struct db_stmt *st, int i);
	/* NULL for SQL NULL; valid until the next step, reset or finalize. */
	const char *(*col_text)(struct db_stmt *st, int i);
	const void *(*col_blob)(struct db_stmt *st, int i, size_t *n);
	/* Rows the last statement run on d inserted, updated or deleted. */
	int64_t (*changes)(struct db *d);
	const char *(*errmsg)(struct db *d);
	/* A connection to a server can be lost (PostgreSQL restarted, its
	 * backend terminated, a failover); NULL where it cannot (SQLite).
	 * lost: 1 once a call found the server gone.  reconnect: connect
	 * again as open did, with the same settings, on the same struct db
	 * and its statements (the one streaming is ended); DB_DONE or
	 * DB_FAILED (errmsg).  rows: the rows step has returned on this
	 * connection so far (a read that failed before any may run again). */
	int (*lost)(struct db *d);
	int (*reconnect)(struct db *d);
	uint64_t (*rows)(struct db *d);
};

/* Every connection and statement starts with its driver. */
struct db {
	const struct db_driver *drv;
};

struct db_stmt {
	const struct db_driver *drv;
};

extern const struct db_driver db_sqlite_driver;
extern const struct db_driver db_pg_driver;

/* PostgreSQL's change notices (db_pg.c): a connection of its own to
 * where (a libpq URL) that LISTENs on channel.  JPKI_ERR_REFUSED on a hot
 * standby, which cannot LISTEN (NOTIFY is not replicated); JPKI_ERR_IO if
 * it cannot connect.  wait: 1 when one notice or more came within
 * timeout_ms (all read), 0 when none or when wake_fd (if >= 0) became
 * readable, -1 when the connection is lost (close it and open another). */
struct db_listener;
int db_pg_listen_open(const char *where, const char *channel,
    struct db_listener **out);
int db_pg_listen_wait(struct db_listener *l, int wake_fd, long timeout_ms);
void db_pg_listen_close(struct db_listener *l);

/* The driver for a database URL (sqlite:PATH, a bare path, postgresql://,
 * postgres://), and where to open it (what the driver's open takes). */
const struct db_driver *db_driver_for(const char *url, const char **where);

static inline int
db_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	return st->drv->bind_int64(st, i, v);
}

static inline int
db_bind_int(struct db_stmt *st, int i, int v)
{
	return st->drv->bind_int64(st, i, v);
}

static inline int
db_bind_text(struct db_stmt *st, int i, const char *v)
{
	return v ? st->drv->bind_text(st, i, v) : st->drv->bind_null(st, i);
}

static inline int
db_bind_blob(struct db_stmt *st, int i, const void *v, size_t n)
{
	return st->drv->bind_blob(st, i, v, n);
}

static inline int
db_bind_null(struct db_stmt *st, int i)
{
	return st->drv->bind_null(st, i);
}

static inline int
db_step(struct db_stmt *st)
{
	return st->drv->step(st);
}

static inline void
db_reset(struct db_stmt *st)
{
	st->drv->reset(st);
}

static inline void
db_finalize(struct db_stmt *st)
{
	if (st != NULL)
		st->drv->finalize(st);
}

static inline int64_t
db_col_int64(struct db_stmt *st, int i)
{
	return st->drv->col_int64(st, i);
}

static inline int
db_col_int(struct db_stmt *st, int i)
{
	return (int)st->drv->col_int64(st, i);
}

static inline const char *
db_col_text(struct db_stmt *st, int i)
{
	return st->drv->col_text(st, i);
}

static inline const void *
db_col_blob(struct db_stmt *st, int i, size_t *n)
{
	return st->drv->col_blob(st, i, n);
}

#endif
