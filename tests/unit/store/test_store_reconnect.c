/* Unit tests of a lost PostgreSQL connection (store.h, "A lost
 * connection"; sql_conn.c): a read on a connection whose backend was
 * terminated runs once more on a new one and succeeds; a transaction
 * whose connection is lost fails, commits nothing, and the next begin
 * connects again; a COMMIT whose answer is lost says its outcome is not
 * known and is not sent again; while the database refuses connections
 * a connection is tried again at most once a second, failing at once in
 * between, and is made again once it accepts them.
 *
 * PostgreSQL only (JPKI_TEST_PG: the test cluster's directory,
 * tests/support/pg_cluster.sh), on a database of its own; skipped (77)
 * elsewhere. */
#include "store/store.h"
#include "test.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static char url[512];       /* the test's database */
static char admin[512];     /* the cluster's `postgres` database */
static char dbname[64];

/* SQL run behind the store's back; the first column of the first row
 * (or "" for none) into out. */
static int
raw(const char *where, const char *sql, char *out, size_t cap)
{
	PGconn *c = PQconnectdb(where);
	PGresult *res = PQexec(c, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok)
		fprintf(stderr, "raw: %s: %s", sql, PQerrorMessage(c));
	if (out != NULL) {
		snprintf(out, cap, "%s", ok && PQntuples(res) > 0 ?
		    PQgetvalue(res, 0, 0) : "");
	}
	PQclear(res);
	PQfinish(c);
	return ok ? 0 : -1;
}

/* End every backend of the test's database (the store's connection),
 * from another database; how many. */
static long
terminate_all(void)
{
	char sql[200], n[32], left[32];

	snprintf(sql, sizeof(sql), "SELECT COUNT(pg_terminate_backend(pid)) "
	    "FROM pg_stat_activity WHERE datname = '%s' AND backend_type = "
	    "'client backend'", dbname);
	if (raw(admin, sql, n, sizeof(n)) != 0)
		return -1;
	/* Until the server has ended them (pg_terminate_backend signals). */
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM pg_stat_activity "
	    "WHERE datname = '%s' AND backend_type = 'client backend'",
	    dbname);
	for (int i = 0; i < 100; i++) {
		if (raw(admin, sql, left, sizeof(left)) == 0 &&
		    strcmp(left, "0") == 0)
			break;
		usleep(20000);
	}
	return atol(n);
}

/* A connection is tried again at most once a second, made or not: past
 * that since the last test's. */
static void
settle(void)
{
	usleep(1100 * 1000);
}

static void
allow_connections(int yes)
{
	char sql[200];

	snprintf(sql, sizeof(sql), "ALTER DATABASE \"%s\" WITH "
	    "ALLOW_CONNECTIONS %s", dbname, yes ? "true" : "false");
	CHECK_INT(raw(admin, sql, NULL, 0), 0);
}

static struct municipality
sample(const char *code, const char *romaji)
{
	struct municipality m;

	memset(&m, 0, sizeof(m));
	snprintf(m.code, sizeof(m.code), "%s", code);
	snprintf(m.name_ja, sizeof(m.name_ja), "試験市");
	snprintf(m.name_kana, sizeof(m.name_kana), "シケンシ");
	snprintf(m.name_romaji, sizeof(m.name_romaji), "%s", romaji);
	snprintf(m.pref_ja, sizeof(m.pref_ja), "東京都");
	snprintf(m.pref_romaji, sizeof(m.pref_romaji), "Tokyo");
	return m;
}

static long
rows_with_code(const char *code)
{
	char sql[160], n[32];

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM municipalities "
	    "WHERE code = '%s'", code);
	if (raw(url, sql, n, sizeof(n)) != 0)
		return -1;
	return atol(n);
}

static void
test_a_read_after_the_backend_was_terminated_runs_again(struct store *s)
{
	struct store_connection_stats before, after;
	long n = -1;

	CHECK_INT(store_municipality_count(s, &n), JPKI_OK);
	store_connection_stats(&before);
	CHECK_INT(terminate_all(), 1);
	n = -1;
	CHECK_INT(store_municipality_count(s, &n), JPKI_OK);
	CHECK_INT(n, 0);
	store_connection_stats(&after);
	CHECK_INT(after.lost - before.lost, 1);
	CHECK_INT(after.reconnected - before.reconnected, 1);
	CHECK_INT(after.failed - before.failed, 0);
	/* The connection's settings came back with it: still read-write,
	 * still the store's lock timeout. */
	{
		struct municipality m = sample("990001", "After");

		CHECK_INT(store_municipality_put(s, &m), JPKI_OK);
		CHECK_INT(rows_with_code("990001"), 1);
	}
}

static void
test_a_transaction_that_lost_its_connection_commits_nothing(struct store *s)
{
	struct municipality a = sample("990002", "First"),
	    b = sample("990003", "Second");

	settle();
	CHECK_INT(store_begin(s), JPKI_OK);
	CHECK_INT(store_municipality_put(s, &a), JPKI_OK);
	CHECK_INT(terminate_all(), 1);
	/* Not run again on a new connection outside the transaction. */
	CHECK(store_municipality_put(s, &b) != JPKI_OK);
	CHECK(store_commit(s) != JPKI_OK);
	CHECK(strstr(jpki_errmsg(), "nothing was committed") != NULL);
	CHECK_INT(rows_with_code("990002"), 0);
	CHECK_INT(rows_with_code("990003"), 0);
	/* The next transaction connects again. */
	CHECK_INT(store_begin(s), JPKI_OK);
	CHECK_INT(store_municipality_put(s, &b), JPKI_OK);
	CHECK_INT(store_commit(s), JPKI_OK);
	CHECK_INT(rows_with_code("990003"), 1);
}

/* The backend dies while it commits: a deferred constraint trigger that
 * runs at COMMIT terminates its own backend. */
static void
test_a_commit_whose_answer_was_lost_is_reported_not_replayed(struct store *s)
{
	struct municipality m = sample("990004", "Vanish");
	struct store_connection_stats before, after;

	CHECK_INT(raw(url, "CREATE FUNCTION die_at_commit() RETURNS trigger "
	    "LANGUAGE plpgsql AS $$BEGIN "
	    "PERFORM pg_terminate_backend(pg_backend_pid()); "
	    "PERFORM pg_sleep(5); RETURN NULL; END$$;"
	    "CREATE CONSTRAINT TRIGGER die_at_commit AFTER INSERT ON "
	    "municipalities DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
	    "WHEN (NEW.name_romaji = 'Vanish') EXECUTE FUNCTION "
	    "die_at_commit()", NULL, 0), 0);
	settle();
	store_connection_stats(&before);
	CHECK_INT(store_begin(s), JPKI_OK);
	CHECK_INT(store_municipality_put(s, &m), JPKI_OK);
	CHECK_INT(store_commit(s), JPKI_ERR_IO);
	CHECK(strstr(jpki_errmsg(), "lost while committing") != NULL);
	CHECK(strstr(jpki_errmsg(), "not known") != NULL);
	CHECK(strchr(jpki_errmsg(), '\n') == NULL);
	store_connection_stats(&after);
	CHECK_INT(after.lost - before.lost, 1);
	/* Not sent again: no new connection was made for it. */
	CHECK_INT(after.reconnected - before.reconnected, 0);
	CHECK_INT(raw(url, "DROP TRIGGER die_at_commit ON municipalities;"
	    "DROP FUNCTION die_at_commit()", NULL, 0), 0);
	/* Here it did not commit (the trigger ran first); the store says
	 * so on its next read, made on a new connection. */
	CHECK_INT(rows_with_code("990004"), 0);
	{
		struct municipality got;

		CHECK_INT(store_municipality_get(s, "990004", &got),
		    JPKI_ERR_NOTFOUND);
	}
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_connections_refused_tried_once_a_second(struct store *s)
{
	struct store_connection_stats before, after;
	long n = -1;
	double t0;
	int tries;

	settle();
	CHECK_INT(store_municipality_count(s, &n), JPKI_OK);
	settle();
	allow_connections(0);
	CHECK_INT(terminate_all(), 1);
	store_connection_stats(&before);
	/* Found lost, tried at once: refused. */
	CHECK_INT(store_municipality_count(s, &n), JPKI_ERR_IO);
	CHECK(strstr(jpki_errmsg(), "cannot connect to PostgreSQL again") !=
	    NULL);
	store_connection_stats(&after);
	CHECK_INT(after.lost - before.lost, 1);
	CHECK_INT(after.failed - before.failed, 1);
	/* For the next second, every call fails at once, trying nothing. */
	t0 = now_s();
	for (int i = 0; i < 20; i++) {
		CHECK_INT(store_municipality_count(s, &n), JPKI_ERR_IO);
		usleep(20000);
	}
	CHECK(strstr(jpki_errmsg(), "no connection to PostgreSQL") != NULL);
	store_connection_stats(&after);
	CHECK_INT(after.failed - before.failed, 1);
	CHECK(now_s() - t0 < 0.95);
	/* Calls as fast as they come for 2.5 s: about one try a second. */
	t0 = now_s();
	while (now_s() - t0 < 2.5) {
		store_municipality_count(s, &n);
		usleep(5000);
	}
	store_connection_stats(&after);
	tries = (int)(after.failed - before.failed);
	CHECK(tries >= 3 && tries <= 4);
	if (tries < 3 || tries > 4)
		fprintf(stderr, "    %d tries in 3.5 s\n", tries);
	/* Accepted again: within the second, the connection is back. */
	allow_connections(1);
	t0 = now_s();
	while (store_municipality_count(s, &n) != JPKI_OK && now_s() - t0 < 3)
		usleep(50000);
	CHECK_INT(store_municipality_count(s, &n), JPKI_OK);
	CHECK(now_s() - t0 < 1.2);
	store_connection_stats(&after);
	CHECK_INT(after.reconnected - before.reconnected, 1);
}

int
main(void)
{
	const char *pg = getenv("JPKI_TEST_PG");
	struct store *s;
	char cmd[700];
	FILE *p;

	if (pg == NULL || *pg == '\0') {
		printf("PostgreSQL only (JPKI_TEST_PG)\n");
		return 77;
	}
	snprintf(dbname, sizeof(dbname), "reconnect_test_%ld_%ld",
	    (long)getpid(), (long)time(NULL));
	snprintf(cmd, sizeof(cmd), "sh %s/tests/support/pg_cluster.sh createdb "
	    "'%s' %s", getenv("JPKI_SOURCE"), pg, dbname);
	if ((p = popen(cmd, "r")) == NULL || fgets(url, sizeof(url), p) == NULL ||
	    pclose(p) != 0)
		return 3;
	url[strcspn(url, "\n")] = '\0';
	snprintf(admin, sizeof(admin), "%.*spostgres",
	    (int)(strrchr(url, '/') + 1 - url), url);
	printf("database: %s\n", url);
	if (store_open(url, &s) != JPKI_OK) {
		fprintf(stderr, "%s\n", jpki_errmsg());
		return 3;
	}
	test_a_read_after_the_backend_was_terminated_runs_again(s);
	test_a_transaction_that_lost_its_connection_commits_nothing(s);
	test_a_commit_whose_answer_was_lost_is_reported_not_replayed(s);
	test_connections_refused_tried_once_a_second(s);
	store_close(&s);
	snprintf(cmd, sizeof(cmd), "DROP DATABASE IF EXISTS \"%s\"", dbname);
	raw(admin, cmd, NULL, 0);
	return test_summary();
}
