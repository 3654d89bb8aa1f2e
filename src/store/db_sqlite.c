/*
 * db_sqlite.c: the SQLite driver (db.h).  One database file in WAL mode,
 * foreign keys on, synchronous=FULL (a commit is on disk when it
 * returns); a read-only connection is SQLITE_OPEN_READONLY with
 * query_only.  A connection that finds the write lock held waits for it
 * (SQLite's busy handler, sleeping 1 ms growing to 100 ms between tries)
 * up to the busy timeout.
 */
#include "store/db.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sqlite_db {
	struct db base;
	sqlite3 *h;
};

struct sqlite_stmt {
	struct db_stmt base;
	struct sqlite_db *db;
	sqlite3_stmt *st;
};

#define SDB(d) ((struct sqlite_db *)(d))
#define SST(s) ((struct sqlite_stmt *)(s))

static int
code_of(sqlite3 *h, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
		return DB_DONE;
	case SQLITE_ROW:
		return DB_ROW;
	case SQLITE_CONSTRAINT:
		return DB_CONSTRAINT;
	case SQLITE_BUSY:
		return DB_BUSY;
	default:
		return (sqlite3_extended_errcode(h) & 0xff) == SQLITE_BUSY ?
		    DB_BUSY : DB_FAILED;
	}
}

static void
sqlite_close(struct db *d)
{
	if (d == NULL)
		return;
	sqlite3_close(SDB(d)->h);
	free(d);
}

static int
sqlite_exec(struct db *d, const char *sql)
{
	return code_of(SDB(d)->h, sqlite3_exec(SDB(d)->h, sql, NULL, NULL,
	    NULL));
}

static int
sqlite_open(const char *path, const struct store_open_options *o,
    struct db **out)
{
	int flags = o->read_only ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	struct sqlite_db *d;
	int fd;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	d->base.drv = &db_sqlite_driver;
	/* The register holds individual numbers: the database (and the WAL
	 * and shared-memory files SQLite gives its mode) is for the
	 * operator only.  Made here only when missing (O_EXCL): closing a
	 * descriptor of a file that another connection of this process has
	 * open would drop that connection's POSIX locks, and another process
	 * could then take the WAL away from under it. */
	if (!o->read_only && strcmp(path, ":memory:") != 0 &&
	    (fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) >= 0)
		close(fd);
	if (sqlite3_open_v2(path, &d->h, flags | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		jpki_fail(JPKI_ERR_IO, "store: cannot open %s: %s", path,
		    d->h ? sqlite3_errmsg(d->h) : "out of memory");
		sqlite_close(&d->base);
		return JPKI_ERR_IO;
	}
	sqlite3_busy_timeout(d->h, (int)o->busy_timeout_ms);
	if (sqlite_exec(&d->base, o->read_only ? "PRAGMA query_only=ON" :
	    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	    " PRAGMA foreign_keys=ON;") != DB_DONE) {
		jpki_fail(JPKI_ERR_IO, "store: %s: %s", path,
		    sqlite3_errmsg(d->h));
		sqlite_close(&d->base);
		return JPKI_ERR_IO;
	}
	*out = &d->base;
	return JPKI_OK;
}

static int
sqlite_prepare(struct db *d, const char *sql, int persistent,
    struct db_stmt **out)
{
	struct sqlite_stmt *s;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return DB_FAILED;
	s->base.drv = &db_sqlite_driver;
	s->db = SDB(d);
	if (sqlite3_prepare_v3(SDB(d)->h, sql, -1,
	    persistent ? SQLITE_PREPARE_PERSISTENT : 0, &s->st, NULL) !=
	    SQLITE_OK) {
		free(s);
		return DB_FAILED;
	}
	*out = &s->base;
	return DB_DONE;
}

static int
sqlite_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	return code_of(SST(st)->db->h, sqlite3_bind_int64(SST(st)->st, i, v));
}

static int
sqlite_bind_text(struct db_stmt *st, int i, const char *v)
{
	return code_of(SST(st)->db->h, sqlite3_bind_text(SST(st)->st, i, v, -1,
	    SQLITE_TRANSIENT));
}

static int
sqlite_bind_blob(struct db_stmt *st, int i, const void *v, size_t n)
{
	return code_of(SST(st)->db->h, sqlite3_bind_blob64(SST(st)->st, i, v, n,
	    SQLITE_TRANSIENT));
}

static int
sqlite_bind_null(struct db_stmt *st, int i)
{
	return code_of(SST(st)->db->h, sqlite3_bind_null(SST(st)->st, i));
}

static int
sqlite_step(struct db_stmt *st)
{
	return code_of(SST(st)->db->h, sqlite3_step(SST(st)->st));
}

static void
sqlite_reset(struct db_stmt *st)
{
	sqlite3_reset(SST(st)->st);
	sqlite3_clear_bindings(SST(st)->st);
}

static void
sqlite_finalize(struct db_stmt *st)
{
	sqlite3_finalize(SST(st)->st);
	free(st);
}

static int
sqlite_col_is_null(struct db_stmt *st, int i)
{
	return sqlite3_column_type(SST(st)->st, i) == SQLITE_NULL;
}

static int64_t
sqlite_col_int64(struct db_stmt *st, int i)
{
	return sqlite3_column_int64(SST(st)->st, i);
}

static const char *
sqlite_col_text(struct db_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(SST(st)->st, i);
}

static const void *
sqlite_col_blob(struct db_stmt *st, int i, size_t *n)
{
	const void *v = sqlite3_column_blob(SST(st)->st, i);

	*n = (size_t)sqlite3_column_bytes(SST(st)->st, i);
	return v;
}

static int64_t
sqlite_changes(struct db *d)
{
	return sqlite3_changes64(SDB(d)->h);
}

static const char *
sqlite_errmsg(struct db *d)
{
	return sqlite3_errmsg(SDB(d)->h);
}

const struct db_driver db_sqlite_driver = {
	.name = "SQLite",
	.dialect = DB_SQLITE,
	.open = sqlite_open,
	.close = sqlite_close,
	.exec = sqlite_exec,
	.prepare = sqlite_prepare,
	.bind_int64 = sqlite_bind_int64,
	.bind_text = sqlite_bind_text,
	.bind_blob = sqlite_bind_blob,
	.bind_null = sqlite_bind_null,
	.step = sqlite_step,
	.reset = sqlite_reset,
	.finalize = sqlite_finalize,
	.col_is_null = sqlite_col_is_null,
	.col_int64 = sqlite_col_int64,
	.col_text = sqlite_col_text,
	.col_blob = sqlite_col_blob,
	.changes = sqlite_changes,
	.errmsg = sqlite_errmsg,
};

/* ---- choosing a driver ---- */

const struct db_driver *
db_driver_for(const char *url, const char **where)
{
	if (strncmp(url, "postgresql:", 11) == 0 ||
	    strncmp(url, "postgres:", 9) == 0) {
		*where = url;
		return &db_pg_driver;
	}
	*where = strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;
	return &db_sqlite_driver;
}
