/*
 * db_pg.c: the PostgreSQL driver (db.h), through libpq.
 *
 * Statements are written with `?` placeholders, as for SQLite; prepare
 * numbers them $1, $2, ... (outside quoted literals).  Parameters go as
 * text, blobs as binary; results come as text, bytea decoded from its hex
 * form.
 *
 * Rows are streamed (libpq's single-row mode), so that a CRL of a million
 * revocations never sits in memory at once.  One connection runs one
 * query at a time: a statement started while another still streams
 * first reads the rest of the other's rows into memory (only a query
 * made from inside a row callback pays that).
 *
 * The connection waits for locks up to the busy timeout (lock_timeout);
 * a lock not granted in time, a deadlock or a serialisation failure is
 * DB_BUSY; a unique, foreign-key, not-null or check violation (SQLSTATE
 * class 23) is DB_CONSTRAINT.
 *
 * A connection lost (the server restarted, the backend terminated, a
 * failover) is seen by the call that finds it gone (PQstatus
 * CONNECTION_BAD); pg_reconnect makes it again on the same struct, with
 * the same settings, and the statements stay valid (they are kept as
 * text, never prepared on the server).  When to reconnect, and what may
 * run again, is the caller's business (sql_conn.c).  A connection waits
 * PG_CONNECT_TIMEOUT_S at most to be made, unless the URL says otherwise
 * (connect_timeout), so connecting to a server that went away without a
 * word does not hold a caller for the kernel's TCP timeout (a query in
 * flight to one is bounded by the URL's tcp_user_timeout and keepalives_*,
 * docs/deployment.md).
 */
#include "store/db.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Limits of a statement: its parameters, and the SQL once numbered. */
#define PG_PARAMS_MAX 64
#define PG_SQL_MAX 8192
/* Seconds to wait for a connection to be made (libpq connect_timeout),
 * unless the URL sets its own. */
#define PG_CONNECT_TIMEOUT_S "10"

struct pg_stmt;

struct pg_db {
	struct db base;
	PGconn *c;
	int64_t changes;
	struct pg_stmt *streaming;  /* the statement whose rows are coming */
	uint64_t rows;              /* rows stepped to, ever */
	char setup[160];            /* the session's settings, run again on
	                               a new connection */
	char err[512];
};

enum pg_state { PG_IDLE, PG_STREAMING, PG_BUFFERED, PG_FINISHED };

struct pg_stmt {
	struct db_stmt base;
	struct pg_db *db;
	char *sql;
	int nparams;
	char *value[PG_PARAMS_MAX];
	int length[PG_PARAMS_MAX];
	int format[PG_PARAMS_MAX];
	enum pg_state state;
	PGresult *row;              /* the current row (a one-row result) */
	PGresult **buffered;        /* rows read ahead (PG_BUFFERED) */
	size_t nbuffered, next;
	int end;                    /* the step code after the last row */
	unsigned char *blob[PG_PARAMS_MAX]; /* decoded bytea of this row */
	size_t blob_len[PG_PARAMS_MAX];
};

#define PDB(d) ((struct pg_db *)(d))
#define PST(s) ((struct pg_stmt *)(s))

static void
set_err(struct pg_db *d, const char *msg)
{
	size_t n;

	snprintf(d->err, sizeof(d->err), "%s", msg ? msg : "unknown error");
	n = strlen(d->err);
	while (n > 0 && (d->err[n - 1] == '\n' || d->err[n - 1] == ' '))
		d->err[--n] = '\0';
}

/* A finished result's step code; records its error and row count. */
static int
result_code(struct pg_db *d, const PGresult *res)
{
	const char *state;

	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_EMPTY_QUERY:
		d->changes = strtoll(PQcmdTuples((PGresult *)res), NULL, 10);
		return DB_DONE;
	default:
		break;
	}
	set_err(d, PQresultErrorMessage(res));
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (state == NULL)
		return DB_FAILED;
	if (strncmp(state, "23", 2) == 0)
		return DB_CONSTRAINT;
	if (strcmp(state, "55P03") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "40001") == 0)
		return DB_BUSY;
	return DB_FAILED;
}

static void
clear_row(struct pg_stmt *s)
{
	for (int i = 0; i < PG_PARAMS_MAX; i++) {
		if (s->blob[i] != NULL)
			PQfreemem(s->blob[i]);
		s->blob[i] = NULL;
	}
	PQclear(s->row);
	s->row = NULL;
}

/* Read what is left of the streaming statement's results: the rows into
 * its buffer (keep) or nowhere, and the final status. */
static void
drain(struct pg_stmt *s, int keep)
{
	struct pg_db *d = s->db;
	PGresult *res;
	int end = DB_DONE, failed = 0;

	while ((res = PQgetResult(d->c)) != NULL) {
		ExecStatusType t = PQresultStatus(res);

		if (t == PGRES_SINGLE_TUPLE && keep && !failed) {
			PGresult **b = realloc(s->buffered,
			    (s->nbuffered + 1) * sizeof(*b));

			if (b == NULL) {
				set_err(d, "out of memory reading rows ahead");
				end = DB_FAILED;
				failed = 1;
				PQclear(res);
				continue;
			}
			s->buffered = b;
			s->buffered[s->nbuffered++] = res;
			continue;
		}
		if (t != PGRES_SINGLE_TUPLE && !failed) {
			end = result_code(d, res);
			failed = end != DB_DONE;
		}
		PQclear(res);
	}
	s->end = end;
	if (d->streaming == s)
		d->streaming = NULL;
	s->state = keep ? PG_BUFFERED : PG_FINISHED;
}

/* Before the connection runs anything else. */
static void
free_connection(struct pg_db *d)
{
	if (d->streaming != NULL)
		drain(d->streaming, 1);
}

static void
discard_buffer(struct pg_stmt *s)
{
	for (size_t i = s->next; i < s->nbuffered; i++)
		PQclear(s->buffered[i]);
	free(s->buffered);
	s->buffered = NULL;
	s->nbuffered = s->next = 0;
}

static void
notice_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* A connection to url (a libpq URL or key=value string): the timeout
 * first, so that the URL's own, if it has one, wins. */
static PGconn *
pg_connect(const char *url)
{
	static const char *const keys[] = {"connect_timeout", "dbname", NULL};
	const char *values[] = {PG_CONNECT_TIMEOUT_S, url, NULL};

	return PQconnectdbParams(keys, values, 1);
}

static void
pg_close(struct db *d)
{
	if (d == NULL)
		return;
	PQfinish(PDB(d)->c);
	free(d);
}

static int
pg_exec(struct db *db, const char *sql)
{
	struct pg_db *d = PDB(db);
	PGresult *res;
	int rc;

	free_connection(d);
	if ((res = PQexec(d->c, sql)) == NULL) {
		set_err(d, PQerrorMessage(d->c));
		return DB_FAILED;
	}
	rc = result_code(d, res);
	PQclear(res);
	return rc;
}

static int
pg_open(const char *url, const struct store_open_options *o, struct db **out)
{
	struct pg_db *d;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	d->base.drv = &db_pg_driver;
	d->c = pg_connect(url);
	if (d->c == NULL || PQstatus(d->c) != CONNECTION_OK) {
		set_err(d, d->c ? PQerrorMessage(d->c) : "out of memory");
		jpki_fail(JPKI_ERR_IO, "store: cannot connect to PostgreSQL: %s",
		    d->err);
		pg_close(&d->base);
		return JPKI_ERR_IO;
	}
	PQsetNoticeProcessor(d->c, notice_quiet, NULL);
	snprintf(d->setup, sizeof(d->setup), "SET client_encoding = 'UTF8';"
	    " SET lock_timeout = %ld; SET default_transaction_read_only = %s",
	    o->busy_timeout_ms, o->read_only ? "on" : "off");
	if (pg_exec(&d->base, d->setup) != DB_DONE) {
		jpki_fail(JPKI_ERR_IO, "store: PostgreSQL: %s", d->err);
		pg_close(&d->base);
		return JPKI_ERR_IO;
	}
	*out = &d->base;
	return JPKI_OK;
}

/* ? -> $n outside quoted literals and identifiers. */
static int
number_params(const char *sql, char *out, size_t cap, int *n)
{
	size_t o = 0;
	char quote = 0;

	*n = 0;
	for (const char *p = sql; *p != '\0'; p++) {
		char num[16];
		size_t k;

		if (quote != 0) {
			if (*p == quote)
				quote = 0;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
		} else if (*p == '?') {
			/* ?NNN (SQLite's numbered form) is $NNN. */
			int at = ++*n;

			if (p[1] >= '1' && p[1] <= '9') {
				char *end;

				at = (int)strtol(p + 1, &end, 10);
				p = end - 1;
				*n = at > *n - 1 ? at : *n - 1;
			}
			if (at > PG_PARAMS_MAX || *n > PG_PARAMS_MAX)
				return -1;
			k = (size_t)snprintf(num, sizeof(num), "$%d", at);
			if (o + k >= cap)
				return -1;
			memcpy(out + o, num, k);
			o += k;
			continue;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = *p;
	}
	out[o] = '\0';
	return 0;
}

static int
pg_prepare(struct db *db, const char *sql, int persistent,
    struct db_stmt **out)
{
	struct pg_stmt *s;
	char buf[PG_SQL_MAX];

	(void)persistent;
	*out = NULL;
	if (number_params(sql, buf, sizeof(buf), &(int){0}) != 0) {
		set_err(PDB(db), "statement too long or with too many "
		    "parameters");
		return DB_FAILED;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->sql = strdup(buf)) == NULL) {
		free(s);
		set_err(PDB(db), "out of memory");
		return DB_FAILED;
	}
	number_params(sql, buf, sizeof(buf), &s->nparams);
	s->base.drv = &db_pg_driver;
	s->db = PDB(db);
	*out = &s->base;
	return DB_DONE;
}

static int
set_param(struct pg_stmt *s, int i, const void *v, size_t n, int binary)
{
	char *copy = NULL;

	if (i < 1 || i > s->nparams) {
		set_err(s->db, "parameter index out of range");
		return DB_FAILED;
	}
	if (v != NULL) {
		if ((copy = malloc(n + 1)) == NULL) {
			set_err(s->db, "out of memory");
			return DB_FAILED;
		}
		if (n > 0)
			memcpy(copy, v, n);
		copy[n] = '\0';
	}
	free(s->value[i - 1]);
	s->value[i - 1] = copy;
	s->length[i - 1] = (int)n;
	s->format[i - 1] = binary;
	return DB_DONE;
}

static int
pg_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%lld", (long long)v);

	return set_param(PST(st), i, buf, (size_t)n, 0);
}

static int
pg_bind_text(struct db_stmt *st, int i, const char *v)
{
	return set_param(PST(st), i, v, strlen(v), 0);
}

static int
pg_bind_blob(struct db_stmt *st, int i, const void *v, size_t n)
{
	return set_param(PST(st), i, v != NULL ? v : "", n, 1);
}

static int
pg_bind_null(struct db_stmt *st, int i)
{
	return set_param(PST(st), i, NULL, 0, 0);
}

static int
pg_step(struct db_stmt *st)
{
	struct pg_stmt *s = PST(st);
	struct pg_db *d = s->db;
	PGresult *res;

	clear_row(s);
	switch (s->state) {
	case PG_IDLE:
		free_connection(d);
		if (!PQsendQueryParams(d->c, s->sql, s->nparams, NULL,
		    (const char *const *)s->value, s->length, s->format, 0) ||
		    !PQsetSingleRowMode(d->c)) {
			set_err(d, PQerrorMessage(d->c));
			s->state = PG_FINISHED;
			s->end = DB_FAILED;
			while ((res = PQgetResult(d->c)) != NULL)
				PQclear(res);
			return DB_FAILED;
		}
		s->state = PG_STREAMING;
		d->streaming = s;
		/* FALLTHROUGH */
	case PG_STREAMING:
		if ((res = PQgetResult(d->c)) != NULL &&
		    PQresultStatus(res) == PGRES_SINGLE_TUPLE) {
			s->row = res;
			d->rows++;
			return DB_ROW;
		}
		if (res == NULL) {
			s->end = DB_DONE;
			d->streaming = NULL;
			s->state = PG_FINISHED;
			return s->end;
		}
		s->end = result_code(d, res);
		PQclear(res);
		{
			int end = s->end;

			drain(s, 0);
			/* The first failure is the statement's. */
			if (end != DB_DONE)
				s->end = end;
		}
		return s->end;
	case PG_BUFFERED:
		if (s->next < s->nbuffered) {
			s->row = s->buffered[s->next++];
			d->rows++;
			return DB_ROW;
		}
		discard_buffer(s);
		s->state = PG_FINISHED;
		return s->end;
	case PG_FINISHED:
	default:
		return s->end;
	}
}

static void
pg_reset(struct db_stmt *st)
{
	struct pg_stmt *s = PST(st);

	clear_row(s);
	if (s->state == PG_STREAMING)
		drain(s, 0);
	discard_buffer(s);
	for (int i = 0; i < s->nparams; i++) {
		free(s->value[i]);
		s->value[i] = NULL;
		s->length[i] = 0;
		s->format[i] = 0;
	}
	s->state = PG_IDLE;
	s->end = DB_DONE;
}

static void
pg_finalize(struct db_stmt *st)
{
	pg_reset(st);
	free(PST(st)->sql);
	free(st);
}

static int
pg_col_is_null(struct db_stmt *st, int i)
{
	const PGresult *r = PST(st)->row;

	return r == NULL || i >= PQnfields(r) || PQgetisnull(r, 0, i);
}

static int64_t
pg_col_int64(struct db_stmt *st, int i)
{
	if (pg_col_is_null(st, i))
		return 0;
	return strtoll(PQgetvalue(PST(st)->row, 0, i), NULL, 10);
}

static const char *
pg_col_text(struct db_stmt *st, int i)
{
	if (pg_col_is_null(st, i))
		return NULL;
	return PQgetvalue(PST(st)->row, 0, i);
}

static const void *
pg_col_blob(struct db_stmt *st, int i, size_t *n)
{
	struct pg_stmt *s = PST(st);

	*n = 0;
	if (pg_col_is_null(st, i) || i >= PG_PARAMS_MAX)
		return NULL;
	if (s->blob[i] == NULL) {
		s->blob[i] = PQunescapeBytea(
		    (const unsigned char *)PQgetvalue(s->row, 0, i),
		    &s->blob_len[i]);
		if (s->blob[i] == NULL)
			return NULL;
	}
	*n = s->blob_len[i];
	return s->blob[i];
}

static int64_t
pg_changes(struct db *d)
{
	return PDB(d)->changes;
}

static const char *
pg_errmsg(struct db *d)
{
	return PDB(d)->err;
}

static int
pg_lost(struct db *d)
{
	return PQstatus(PDB(d)->c) == CONNECTION_BAD;
}

static int
pg_reconnect(struct db *db)
{
	struct pg_db *d = PDB(db);

	/* The rows still coming will not come: that statement has failed. */
	if (d->streaming != NULL) {
		clear_row(d->streaming);
		d->streaming->state = PG_FINISHED;
		d->streaming->end = DB_FAILED;
		d->streaming = NULL;
	}
	PQreset(d->c);
	if (PQstatus(d->c) != CONNECTION_OK) {
		set_err(d, PQerrorMessage(d->c));
		return DB_FAILED;
	}
	return pg_exec(db, d->setup);
}

static uint64_t
pg_rows(struct db *d)
{
	return PDB(d)->rows;
}

/* ---- change notices: a LISTEN connection of its own ---- */

struct db_listener {
	PGconn *c;
};

int
db_pg_listen_open(const char *where, const char *channel,
    struct db_listener **out)
{
	struct db_listener *l;
	PGresult *res;
	char sql[96];
	int standby;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	l->c = pg_connect(where);
	if (l->c == NULL || PQstatus(l->c) != CONNECTION_OK) {
		jpki_fail(JPKI_ERR_IO, "store: cannot connect to PostgreSQL to "
		    "listen: %s", l->c ? PQerrorMessage(l->c) : "out of memory");
		db_pg_listen_close(l);
		return JPKI_ERR_IO;
	}
	PQsetNoticeProcessor(l->c, notice_quiet, NULL);
	/* A hot standby cannot LISTEN (NOTIFY is not replicated). */
	res = PQexec(l->c, "SELECT pg_is_in_recovery()");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		jpki_fail(JPKI_ERR_IO, "store: PostgreSQL: %s",
		    PQerrorMessage(l->c));
		PQclear(res);
		db_pg_listen_close(l);
		return JPKI_ERR_IO;
	}
	standby = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (standby) {
		db_pg_listen_close(l);
		return jpki_fail(JPKI_ERR_REFUSED, "store: the database is a "
		    "hot standby, where nothing can LISTEN");
	}
	snprintf(sql, sizeof(sql), "LISTEN %s", channel);
	res = PQexec(l->c, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		jpki_fail(JPKI_ERR_IO, "store: PostgreSQL: LISTEN: %s",
		    PQerrorMessage(l->c));
		PQclear(res);
		db_pg_listen_close(l);
		return JPKI_ERR_IO;
	}
	PQclear(res);
	*out = l;
	return JPKI_OK;
}

/* Read what has arrived: how many notices. */
static int
notices(struct db_listener *l)
{
	PGnotify *n;
	int got = 0;

	while ((n = PQnotifies(l->c)) != NULL) {
		got++;
		PQfreemem(n);
	}
	return got;
}

int
db_pg_listen_wait(struct db_listener *l, int wake_fd, long timeout_ms)
{
	struct pollfd pfd[2];
	int rc;

	if (!PQconsumeInput(l->c) || PQstatus(l->c) != CONNECTION_OK)
		return -1;
	if (notices(l) > 0)
		return 1;
	if ((pfd[0].fd = PQsocket(l->c)) < 0)
		return -1;
	pfd[0].events = POLLIN;
	pfd[0].revents = 0;
	pfd[1].fd = wake_fd;
	pfd[1].events = POLLIN;
	pfd[1].revents = 0;
	rc = poll(pfd, wake_fd >= 0 ? 2 : 1,
	    timeout_ms > INT32_MAX ? INT32_MAX : (int)timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 : -1;
	if (rc == 0 || !(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
		return 0;
	/* Readable: notices, or the end of the connection. */
	if (!PQconsumeInput(l->c) || PQstatus(l->c) != CONNECTION_OK)
		return -1;
	return notices(l) > 0;
}

void
db_pg_listen_close(struct db_listener *l)
{
	if (l == NULL)
		return;
	PQfinish(l->c);
	free(l);
}

const struct db_driver db_pg_driver = {
	.name = "PostgreSQL",
	.dialect = DB_POSTGRESQL,
	.open = pg_open,
	.close = pg_close,
	.exec = pg_exec,
	.prepare = pg_prepare,
	.bind_int64 = pg_bind_int64,
	.bind_text = pg_bind_text,
	.bind_blob = pg_bind_blob,
	.bind_null = pg_bind_null,
	.step = pg_step,
	.reset = pg_reset,
	.finalize = pg_finalize,
	.col_is_null = pg_col_is_null,
	.col_int64 = pg_col_int64,
	.col_text = pg_col_text,
	.col_blob = pg_col_blob,
	.changes = pg_changes,
	.errmsg = pg_errmsg,
	.lost = pg_lost,
	.reconnect = pg_reconnect,
	.rows = pg_rows,
};
