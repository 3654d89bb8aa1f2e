/* Unit tests of the store: migrations, records, transactions, the audit
 * chain (tamper detection), read-only stores, waiting for another writer,
 * the config file and the municipality table. */
#include "store/store.h"
#include "test.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/jpki-store-test-XXXXXX";
static char dbpath[256];
/* The database under test: dbpath, or with JPKI_TEST_PG (the test
 * cluster's directory, tests/support/pg_cluster.sh) a fresh PostgreSQL
 * database of that cluster. */
static char url[512];
static int on_pg;

/* SQL run behind the store's back, as an insider with the database would. */
static int
raw_exec(const char *sql)
{
	if (on_pg) {
		PGconn *c = PQconnectdb(url);
		PGresult *res = PQexec(c, sql);
		int ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
		    PQresultStatus(res) == PGRES_TUPLES_OK;

		PQclear(res);
		PQfinish(c);
		return ok ? 0 : -1;
	} else {
		sqlite3 *db;
		int rc;

		if (sqlite3_open(dbpath, &db) != SQLITE_OK)
			return -1;
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
		sqlite3_close(db);
		return rc == SQLITE_OK ? 0 : -1;
	}
}

static struct resident
sample_resident(const char *number)
{
	struct resident r;

	memset(&r, 0, sizeof(r));
	snprintf(r.number, sizeof(r.number), "%s", number);
	strcpy(r.surname, "山田");
	strcpy(r.given, "太郎");
	strcpy(r.name_flags, "00000");
	strcpy(r.address, "東京都千代田区千代田1-1");
	strcpy(r.address_flags, "0");
	r.birth = (struct jdate){1980, 12, 31};
	r.gender = GENDER_MALE;
	strcpy(r.municipality, "131016");
	r.status = RESIDENT_ACTIVE;
	r.facts_version = 1;
	return r;
}

static void
test_database_is_private(void)
{
	struct stat st;

	/* It holds individual numbers. */
	CHECK(stat(dbpath, &st) == 0 && (st.st_mode & 077) == 0);
}

static void
test_schema_is_migrated(struct store *s)
{
	int v = 0;

	CHECK_INT(store_schema_version(s, &v), JPKI_OK);
	CHECK(v >= 1);
}

static void
test_municipality_table_loads_and_stores(struct store *s)
{
	struct municipality *t, m;
	size_t n;

	CHECK_INT(store_municipality_table_load(&t, &n), JPKI_OK);
	CHECK_INT(n, 1736);
	CHECK_INT(store_begin(s), JPKI_OK);
	for (size_t i = 0; i < n; i++)
		store_municipality_put(s, &t[i]);
	CHECK_INT(store_commit(s), JPKI_OK);
	free(t);
	CHECK_INT(store_municipality_get(s, "011002", &m), JPKI_OK);
	CHECK_STR(m.name_ja, "札幌市");
	CHECK_STR(m.pref_romaji, "Hokkaido");
	CHECK_INT(store_municipality_get(s, "999999", &m), JPKI_ERR_NOTFOUND);
}

static void
test_resident_round_trip_and_duplicate_refused(struct store *s)
{
	struct resident r = sample_resident("123456789018"), got;
	long before, after;

	CHECK_INT(store_resident_insert(s, &r), JPKI_OK);
	CHECK(r.id > 0);
	CHECK_INT(store_resident_get(s, r.id, &got), JPKI_OK);
	CHECK_STR(got.surname, "山田");
	CHECK_INT(got.birth.y, 1980);
	CHECK_INT(got.gender, GENDER_MALE);
	store_resident_count(s, &before);
	CHECK_INT(store_resident_insert(s, &r), JPKI_ERR_CONFLICT);
	store_resident_count(s, &after);
	CHECK_INT(after, before);
	CHECK_INT(store_resident_by_number(s, "123456789018", &got), JPKI_OK);
	CHECK_INT(store_resident_get(s, 99999, &got), JPKI_ERR_NOTFOUND);
}

static void
test_rollback_changes_nothing(struct store *s)
{
	struct resident r = sample_resident("000000000019");
	long before, after, abefore, aafter;

	store_resident_count(s, &before);
	store_audit_count(s, &abefore);
	CHECK_INT(store_begin(s), JPKI_OK);
	CHECK_INT(store_resident_insert(s, &r), JPKI_OK);
	CHECK_INT(store_audit_append(s, "test", "resident.add", "x", "{}"),
	    JPKI_OK);
	store_rollback(s);
	store_resident_count(s, &after);
	store_audit_count(s, &aafter);
	CHECK_INT(after, before);
	CHECK_INT(aafter, abefore);
}

/* The data version moves when another connection commits, not when this
 * one does: a long issuance can tell whether anyone else wrote between two
 * of its transactions. */
static void
test_data_version_sees_only_other_writers(struct store *s)
{
	struct store *other = NULL;
	struct resident a = sample_resident("000000000027");
	struct resident b = sample_resident("000000000035");
	uint64_t v0 = 0, v1 = 0, v2 = 0;

	CHECK_INT(store_open(url, &other), JPKI_OK);
	if (other == NULL)
		return;
	CHECK_INT(store_data_version(s, &v0), JPKI_OK);
	CHECK_INT(store_begin(s), JPKI_OK);
	CHECK_INT(store_resident_insert(s, &a), JPKI_OK);
	CHECK_INT(store_commit(s), JPKI_OK);
	CHECK_INT(store_data_version(s, &v1), JPKI_OK);
	CHECK(v1 == v0);
	CHECK_INT(store_begin(other), JPKI_OK);
	CHECK_INT(store_resident_insert(other, &b), JPKI_OK);
	CHECK_INT(store_commit(other), JPKI_OK);
	CHECK_INT(store_data_version(s, &v2), JPKI_OK);
	CHECK(v2 != v1);
	store_close(&other);
}

static void
test_certificate_revocation_is_recorded_once(struct store *s)
{
	struct resident r = sample_resident("111111111118");
	struct cert_record c, got;
	uint8_t der[3] = {0x30, 0x01, 0x00};
	int64_t n1, n2;

	store_resident_insert(s, &r);
	memset(&c, 0, sizeof(c));
	c.ca = CERT_SIGN;
	strcpy(c.serial, "0A1B2C");
	c.resident_id = r.id;
	c.status = CERT_STATUS_VALID;
	c.not_before = 100;
	c.not_after = 200;
	c.issued_at = 100;
	c.crl_shard = 7;
	c.der = der;
	c.der_len = sizeof(der);
	CHECK_INT(store_cert_insert(s, &c), JPKI_OK);
	CHECK_INT(store_cert_insert(s, &c), JPKI_ERR_CONFLICT);
	CHECK_INT(store_cert_revoke(s, "0A1B2C", REASON_KEY_COMPROMISE, 150),
	    JPKI_OK);
	CHECK_INT(store_cert_revoke(s, "0A1B2C", REASON_SUPERSEDED, 160),
	    JPKI_ERR_CONFLICT);
	CHECK_INT(store_cert_get(s, "0A1B2C", &got), JPKI_OK);
	CHECK_INT(got.status, CERT_STATUS_REVOKED);
	CHECK_INT(got.reason, REASON_KEY_COMPROMISE);
	CHECK_INT(got.der_len, 3);
	store_cert_free(&got);
	CHECK_INT(store_cert_revoke(s, "FFFF", REASON_KEY_COMPROMISE, 150),
	    JPKI_ERR_NOTFOUND);
	CHECK_INT(store_crl_number_next(s, CERT_SIGN, 7, &n1), JPKI_OK);
	CHECK_INT(store_crl_number_next(s, CERT_SIGN, 7, &n2), JPKI_OK);
	CHECK_INT(n2, n1 + 1);
}

static double
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* PostgreSQL: another connection's commit ends a watch's wait at once
 * (NOTIFY in every write transaction's commit, a LISTEN connection of the
 * watch's own); its own store's commits notify it too (the caller reads
 * the data version, which ignores them).  SQLite: nothing to listen to,
 * the wait only waits.  An interrupt ends every later wait at once. */
static void
test_watch_wakes_on_another_writers_commit(struct store *s)
{
	struct store *other = NULL;
	struct store_watch *w = NULL;
	struct resident a = sample_resident("444444444440");
	double t0;

	CHECK_INT(store_open(url, &other), JPKI_OK);
	CHECK_INT(store_watch_open(s, &w), JPKI_OK);
	if (other == NULL || w == NULL)
		return;
	CHECK_INT(store_watch_live(w), on_pg);
	/* Nothing committed: the wait runs to its end. */
	t0 = mono_ms();
	CHECK_INT(store_watch_wait(w, 200), 0);
	CHECK(mono_ms() - t0 >= 150);
	CHECK_INT(store_begin(other), JPKI_OK);
	CHECK_INT(store_resident_insert(other, &a), JPKI_OK);
	CHECK_INT(store_commit(other), JPKI_OK);
	t0 = mono_ms();
	CHECK_INT(store_watch_wait(w, 5000), on_pg);
	if (on_pg) {
		CHECK(mono_ms() - t0 < 4000);
		/* Read: the next wait has nothing. */
		CHECK_INT(store_watch_wait(w, 50), 0);
	}
	store_watch_interrupt(w);
	t0 = mono_ms();
	CHECK_INT(store_watch_wait(w, 5000), 0);
	CHECK_INT(store_watch_wait(w, 5000), 0);
	CHECK(mono_ms() - t0 < 4000);
	store_watch_close(&w);
	CHECK(w == NULL);
	store_close(&other);
}

/* store_ocsp_get_current finds a stored OCSP response only while the
 * certificate still has the status it says (a store on a replica, where
 * nobody re-signs it); store_ocsp_get finds it as stored. */
static void
test_ocsp_stored_answer_only_while_the_status_agrees(struct store *s)
{
	struct resident r = sample_resident("222222222227");
	struct cert_record c;
	struct ocsp_stored st, got;
	uint8_t der[3] = {0x30, 0x01, 0x00}, resp[4] = {0x30, 0x02, 0x05, 0x00};
	uint8_t buf[STORE_OCSP_DER_MAX];

	CHECK_INT(store_resident_insert(s, &r), JPKI_OK);
	memset(&c, 0, sizeof(c));
	c.ca = CERT_SIGN;
	strcpy(c.serial, "0B2C3D");
	c.resident_id = r.id;
	c.status = CERT_STATUS_VALID;
	c.not_before = 100;
	c.not_after = 200;
	c.issued_at = 100;
	c.der = der;
	c.der_len = sizeof(der);
	CHECK_INT(store_cert_insert(s, &c), JPKI_OK);
	memset(&st, 0, sizeof(st));
	memset(st.issuer, 0xab, sizeof(st.issuer));
	strcpy(st.serial, "0B2C3D");
	st.status = CERT_STATUS_VALID;
	st.this_update = 110;
	st.next_update = 190;
	st.der = resp;
	st.der_len = sizeof(resp);
	CHECK_INT(store_begin(s), JPKI_OK);
	CHECK_INT(store_ocsp_put(s, &st), JPKI_OK);
	CHECK_INT(store_commit(s), JPKI_OK);
	CHECK_INT(store_ocsp_get(s, st.issuer, "0B2C3D", &got, buf,
	    sizeof(buf)), JPKI_OK);
	CHECK_INT(got.der_len, sizeof(resp));
	CHECK_INT(store_ocsp_get_current(s, st.issuer, "0B2C3D", &got, buf,
	    sizeof(buf)), JPKI_OK);
	CHECK_INT(store_cert_revoke(s, "0B2C3D", REASON_KEY_COMPROMISE, 150),
	    JPKI_OK);
	/* As stored, and not while the certificate says otherwise. */
	CHECK_INT(store_ocsp_get(s, st.issuer, "0B2C3D", &got, buf,
	    sizeof(buf)), JPKI_OK);
	CHECK_INT(got.status, CERT_STATUS_VALID);
	CHECK_INT(store_ocsp_get_current(s, st.issuer, "0B2C3D", &got, buf,
	    sizeof(buf)), JPKI_ERR_NOTFOUND);
}

/* Several entries in one transaction chain on each other (the head is
 * kept by the transaction, not read again), and a rolled-back entry's
 * head is forgotten. */
static void
test_audit_entries_chain_within_a_transaction(struct store *s)
{
	long before = 0, after = 0;

	CHECK_INT(store_audit_verify(s, &before), JPKI_OK);
	CHECK_INT(store_begin(s), JPKI_OK);
	CHECK_INT(store_audit_append(s, "t", "test.one", "a", NULL), JPKI_OK);
	CHECK_INT(store_audit_append(s, "t", "test.two", "b", NULL), JPKI_OK);
	CHECK_INT(store_audit_append(s, "t", "test.three", "c", NULL), JPKI_OK);
	CHECK_INT(store_commit(s), JPKI_OK);
	CHECK_INT(store_begin(s), JPKI_OK);
	CHECK_INT(store_audit_append(s, "t", "test.undone", "d", NULL), JPKI_OK);
	store_rollback(s);
	CHECK_INT(store_begin(s), JPKI_OK);
	CHECK_INT(store_audit_append(s, "t", "test.four", "e", NULL), JPKI_OK);
	CHECK_INT(store_commit(s), JPKI_OK);
	CHECK_INT(store_audit_append(s, "t", "test.five", "f", NULL), JPKI_OK);
	CHECK_INT(store_audit_verify(s, &after), JPKI_OK);
	CHECK_INT(after, before + 5);
}

static int
count_revocations(void *arg, const char *serial, int64_t at, int reason)
{
	(void)serial;
	(void)at;
	(void)reason;
	(*(int *)arg)++;
	return 0;
}

static void
test_revocation_list_by_shard(struct store *s)
{
	int n = 0;

	CHECK_INT(store_revocation_list(s, CERT_SIGN, 0, 7, count_revocations, &n),
	    JPKI_OK);
	CHECK_INT(n, 1);
	n = 0;
	store_revocation_list(s, CERT_SIGN, 0, 8, count_revocations, &n);
	CHECK_INT(n, 0);
	n = 0;
	store_revocation_list(s, CERT_AUTH, 0, -1, count_revocations, &n);
	CHECK_INT(n, 0);
}

static void
test_audit_chain_detects_tampering(struct store *s)
{
	long checked;

	for (int i = 0; i < 5; i++)
		CHECK_INT(store_audit_append(s, "clerk", "test.event", "subject",
		    "{\"i\": 1}"), JPKI_OK);
	CHECK_INT(store_audit_verify(s, &checked), JPKI_OK);
	CHECK(checked >= 5);

	/* Alter entry 3 behind the store's back: the triggers forbid UPDATE,
	 * so an attacker drops them first. */
	CHECK(raw_exec("UPDATE audit SET actor='mallory' WHERE seq=3") != 0);
	CHECK(raw_exec("DELETE FROM audit WHERE seq=3") != 0);
	CHECK_INT(raw_exec(on_pg ?
	    "DROP TRIGGER audit_append_only_change ON audit" :
	    "DROP TRIGGER audit_append_only_update"), 0);
	CHECK_INT(raw_exec("UPDATE audit SET actor='mallory' WHERE seq=3"), 0);
	CHECK_INT(store_audit_verify(s, &checked), JPKI_ERR_VERIFY);
	CHECK(strstr(jpki_errmsg(), "entry 3") != NULL);
	CHECK_INT(checked, 2);
}

/* The config naming the test database (relative to the data directory,
 * as `jpki init` writes it). */
static struct jpki_config
test_config(void)
{
	struct jpki_config c;

	store_config_defaults(&c);
	snprintf(c.database, sizeof(c.database), "%s",
	    on_pg ? url : "sqlite:jpki.db");
	return c;
}

static long
resident_total(struct store *s)
{
	long n = -1;

	CHECK_INT(store_resident_count(s, &n), JPKI_OK);
	return n;
}

/* A responder reads while a clerk writes, and sees each commit on its
 * next read; a read transaction is one snapshot. */
static void
test_read_only_store_sees_what_others_commit(struct store *s)
{
	struct jpki_config c = test_config();
	struct resident a = sample_resident("000000000043");
	struct resident b = sample_resident("000000000051");
	struct store *ro = NULL;
	long n0;

	CHECK_INT(store_open_readonly(dir, &c, &ro), JPKI_OK);
	if (ro == NULL)
		return;
	n0 = resident_total(ro);
	CHECK_INT(store_begin(s), JPKI_OK);
	CHECK_INT(store_resident_insert(s, &a), JPKI_OK);
	CHECK_INT(resident_total(ro), n0);      /* not yet committed */
	CHECK_INT(store_commit(s), JPKI_OK);
	CHECK_INT(resident_total(ro), n0 + 1);

	CHECK_INT(store_begin(ro), JPKI_OK);
	CHECK_INT(resident_total(ro), n0 + 1);
	CHECK_INT(store_resident_insert(s, &b), JPKI_OK);
	CHECK_INT(resident_total(ro), n0 + 1);  /* the snapshot holds */
	CHECK_INT(store_commit(ro), JPKI_OK);
	CHECK_INT(resident_total(ro), n0 + 2);
	store_close(&ro);
}

static void
test_write_through_read_only_store_refused(struct store *s)
{
	struct jpki_config c = test_config();
	struct resident r = sample_resident("000000000060");
	struct store *ro = NULL;
	long residents, entries, after;
	int64_t n;

	CHECK_INT(store_open_readonly(dir, &c, &ro), JPKI_OK);
	if (ro == NULL)
		return;
	residents = resident_total(s);
	store_audit_count(s, &entries);
	CHECK_INT(store_resident_insert(ro, &r), JPKI_ERR_REFUSED);
	CHECK_STR(jpki_errmsg(), "store: opened read-only: resident_insert "
	    "writes, and a read-only store does not");
	CHECK_INT(store_audit_append(ro, "clerk", "test.event", "x", "{}"),
	    JPKI_ERR_REFUSED);
	CHECK(strstr(jpki_errmsg(), "read-only") != NULL);
	CHECK_INT(store_crl_number_next(ro, CERT_SIGN, 7, &n),
	    JPKI_ERR_REFUSED);
	CHECK_INT(store_cert_revoke(ro, "0A1B2C", REASON_SUPERSEDED, 170),
	    JPKI_ERR_REFUSED);
	/* Writes are refused inside a read transaction too. */
	CHECK_INT(store_begin(ro), JPKI_OK);
	CHECK_INT(store_resident_insert(ro, &r), JPKI_ERR_REFUSED);
	store_rollback(ro);
	CHECK_INT(resident_total(s), residents);
	store_audit_count(s, &after);
	CHECK_INT(after, entries);
	store_close(&ro);
}

static void
test_read_only_open_creates_and_migrates_nothing(void)
{
	struct jpki_config c = test_config();
	struct store *ro = NULL;
	char sub[300], path[320];
	sqlite3 *db;

	snprintf(sub, sizeof(sub), "%s/empty", dir);
	CHECK(mkdir(sub, 0700) == 0);
	snprintf(path, sizeof(path), "%s/jpki.db", sub);
	CHECK_INT(store_open_readonly(sub, &c, &ro), JPKI_ERR_IO);
	CHECK(ro == NULL);
	CHECK(access(path, F_OK) != 0);

	/* A database of an older schema is not migrated by a reader. */
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA user_version=1",
	    NULL, NULL, NULL);
	sqlite3_close(db);
	CHECK_INT(store_open_readonly(sub, &c, &ro), JPKI_ERR_IO);
	CHECK(strstr(jpki_errmsg(), "older than this program") != NULL);
	CHECK(ro == NULL);
}

/* A responder may start before any clerk, when SQLite's WAL and
 * shared-memory files are gone. */
static void
test_read_only_store_opens_with_no_writer_open(void)
{
	struct jpki_config c = test_config();
	struct store *ro = NULL;
	char wal[300];

	snprintf(wal, sizeof(wal), "%s-wal", dbpath);
	CHECK(access(wal, F_OK) != 0);
	CHECK_INT(store_open_readonly(dir, &c, &ro), JPKI_OK);
	if (ro == NULL)
		return;
	CHECK(resident_total(ro) > 0);
	store_close(&ro);
}

/* ---- one writer at a time: the second waits ---- */

struct lock_holder {
	struct store *s;
	int ready[2];             /* a pipe: written once the lock is held */
	long hold_ms;
	const char *number;       /* the resident it adds meanwhile */
	int rc;
};

static void *
hold_write_lock(void *arg)
{
	struct lock_holder *h = arg;
	struct resident r = sample_resident(h->number);

	if ((h->rc = store_begin(h->s)) == JPKI_OK)
		h->rc = store_resident_insert(h->s, &r);
	if (write(h->ready[1], "x", 1) != 1)
		h->rc = JPKI_ERR_IO;
	usleep((useconds_t)h->hold_ms * 1000);
	if (h->rc == JPKI_OK)
		h->rc = store_commit(h->s);
	else
		store_rollback(h->s);
	return NULL;
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)(t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Another clerk holds the write lock for 300 ms, adding resident
 * `number`; `waiter` begins meanwhile.  *waited_ms: how long its
 * store_begin() took. */
static int
begin_while_locked(struct store *waiter, const char *number, long *waited_ms)
{
	struct lock_holder h = {.hold_ms = 300, .number = number};
	struct timespec t0;
	pthread_t thread;
	char c;
	int r;

	if (store_open(url, &h.s) != JPKI_OK || pipe(h.ready) != 0)
		return JPKI_ERR_IO;
	pthread_create(&thread, NULL, hold_write_lock, &h);
	if (read(h.ready[0], &c, 1) == 1) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = store_begin(waiter);
		*waited_ms = ms_since(&t0);
	} else {
		r = JPKI_ERR_IO;
	}
	pthread_join(thread, NULL);
	CHECK_INT(h.rc, JPKI_OK);
	close(h.ready[0]);
	close(h.ready[1]);
	store_close(&h.s);
	return r;
}

static void
test_begin_waits_for_another_writer(struct store *s)
{
	struct resident mine = sample_resident("000000000086"), theirs;
	long waited = 0;

	CHECK_INT(begin_while_locked(s, "000000000078", &waited), JPKI_OK);
	CHECK(waited >= 200);
	CHECK_INT(store_resident_insert(s, &mine), JPKI_OK);
	CHECK_INT(store_commit(s), JPKI_OK);
	/* Both writers' residents are there. */
	CHECK_INT(store_resident_by_number(s, "000000000078", &theirs), JPKI_OK);
	CHECK_INT(store_resident_by_number(s, "000000000086", &theirs), JPKI_OK);
}

static void
test_begin_gives_up_after_the_busy_timeout(void)
{
	struct jpki_config c = test_config();
	struct store *impatient = NULL;
	long waited = 0;

	c.busy_timeout_ms = 50;
	CHECK_INT(store_open_datadir(dir, &c, &impatient), JPKI_OK);
	if (impatient == NULL)
		return;
	CHECK_INT(begin_while_locked(impatient, "000000000094", &waited),
	    JPKI_ERR_IO);
	CHECK(strstr(jpki_errmsg(), "the database is busy") != NULL);
	CHECK(strstr(jpki_errmsg(), "50 ms") != NULL);
	CHECK(waited >= 40 && waited < 280);
	store_rollback(impatient);
	store_close(&impatient);
}

static void
test_config_round_trip_and_unknown_key_refused(void)
{
	struct jpki_config c, got;
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/config", dir);
	store_config_defaults(&c);
	strcpy(c.municipality, "132217");
	c.fees.yen[FEE_CARD_REISSUE] = 1000;
	CHECK_INT(store_config_write(path, &c), JPKI_OK);
	CHECK_INT(store_config_load(path, &got), JPKI_OK);
	CHECK_STR(got.municipality, "132217");
	CHECK_INT(got.fees.yen[FEE_CARD_REISSUE], 1000);
	CHECK_INT(got.fees.yen[FEE_CERTS_ON_REISSUED_CARD], 200);
	CHECK_INT(got.busy_timeout_ms, STORE_BUSY_TIMEOUT_MS);

	f = fopen(path, "a");
	fprintf(f, "colour = blue\n");
	fclose(f);
	CHECK_INT(store_config_load(path, &got), JPKI_ERR_INPUT);
	CHECK(strstr(jpki_errmsg(), "colour") != NULL);
}

static void
test_config_sets_the_busy_timeout(void)
{
	struct jpki_config got;
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/config-busy", dir);
	f = fopen(path, "w");
	fprintf(f, "database_busy_timeout_ms = 1500\n");
	fclose(f);
	CHECK_INT(store_config_load(path, &got), JPKI_OK);
	CHECK_INT(got.busy_timeout_ms, 1500);
	f = fopen(path, "w");
	fprintf(f, "database_busy_timeout_ms = 0\n");
	fclose(f);
	CHECK_INT(store_config_load(path, &got), JPKI_ERR_INPUT);
	CHECK(strstr(jpki_errmsg(), "database_busy_timeout_ms") != NULL);
}

/* A PostgreSQL server that is not there: one line naming it. */
static void
test_postgresql_unreachable_said_clearly(void)
{
	struct store *s;

	CHECK_INT(store_open("postgresql://jpki@127.0.0.1:1/jpki"
	    "?connect_timeout=2", &s), JPKI_ERR_IO);
	CHECK(strstr(jpki_errmsg(), "cannot connect to PostgreSQL") != NULL);
	CHECK(strchr(jpki_errmsg(), '\n') == NULL);
}

/* The test database: a fresh one of the test cluster, or a file. */
static int
choose_database(void)
{
	const char *pg = getenv("JPKI_TEST_PG");
	char cmd[700];
	FILE *p;

	snprintf(dbpath, sizeof(dbpath), "%s/jpki.db", dir);
	if (pg == NULL || *pg == '\0') {
		snprintf(url, sizeof(url), "%s", dbpath);
		return 0;
	}
	on_pg = 1;
	snprintf(cmd, sizeof(cmd), "sh %s/tests/support/pg_cluster.sh createdb "
	    "'%s' store_test_%ld_%ld", getenv("JPKI_SOURCE"), pg,
	    (long)getpid(), (long)time(NULL));
	if ((p = popen(cmd, "r")) == NULL || fgets(url, sizeof(url), p) == NULL) {
		if (p != NULL)
			pclose(p);
		return -1;
	}
	url[strcspn(url, "\n")] = '\0';
	return pclose(p) == 0 ? 0 : -1;
}

/* A card in a reader: the writes committed for its serial wait, oldest
 * first, until marked applied; a row is marked once. */
struct pending_seen {
	int n;
	int64_t id[4];
	char writes[4][32];
};

static int
seen_pending(void *arg, int64_t id, int64_t receipt_id, const char *writes)
{
	struct pending_seen *p = arg;

	(void)receipt_id;
	if (p->n < 4) {
		p->id[p->n] = id;
		snprintf(p->writes[p->n++], sizeof(p->writes[0]), "%s", writes);
	}
	return 0;
}

static void
test_card_writes_wait_until_applied(struct store *s)
{
	struct pending_seen p;
	int64_t a = 0, b = 0, c = 0;

	CHECK_INT(store_begin(s), JPKI_OK);
	CHECK_INT(store_card_writes_add(s, "00AA", 0, "[1]", 100, &a), JPKI_OK);
	CHECK_INT(store_card_writes_add(s, "00BB", 0, "[2]", 101, &b), JPKI_OK);
	CHECK_INT(store_card_writes_add(s, "00AA", 0, "[3]", 102, &c), JPKI_OK);
	CHECK_INT(store_commit(s), JPKI_OK);
	CHECK(a > 0 && b > a && c > b);
	memset(&p, 0, sizeof(p));
	CHECK_INT(store_card_writes_pending(s, "00AA", seen_pending, &p),
	    JPKI_OK);
	CHECK_INT(p.n, 2);
	CHECK(p.id[0] == a && p.id[1] == c);
	CHECK_STR(p.writes[0], "[1]");
	CHECK_STR(p.writes[1], "[3]");
	CHECK_INT(store_card_writes_applied(s, a, 200), JPKI_OK);
	CHECK_INT(store_card_writes_applied(s, a, 201), JPKI_ERR_NOTFOUND);
	memset(&p, 0, sizeof(p));
	CHECK_INT(store_card_writes_pending(s, "00AA", seen_pending, &p),
	    JPKI_OK);
	CHECK_INT(p.n, 1);
	CHECK(p.id[0] == c);
	/* A rolled-back row never waits. */
	CHECK_INT(store_begin(s), JPKI_OK);
	CHECK_INT(store_card_writes_add(s, "00CC", 0, "[4]", 103, &a), JPKI_OK);
	store_rollback(s);
	memset(&p, 0, sizeof(p));
	CHECK_INT(store_card_writes_pending(s, "00CC", seen_pending, &p),
	    JPKI_OK);
	CHECK_INT(p.n, 0);
	jpki_errclear();
}

int
main(void)
{
	struct store *s;
	char cmd[300];

	if (mkdtemp(dir) == NULL || choose_database() != 0)
		return 3;
	printf("database: %s\n", url);
	if (store_open(url, &s) != JPKI_OK) {
		fprintf(stderr, "%s\n", jpki_errmsg());
		return 3;
	}
	if (!on_pg)
		test_database_is_private();
	test_schema_is_migrated(s);
	test_municipality_table_loads_and_stores(s);
	test_resident_round_trip_and_duplicate_refused(s);
	test_rollback_changes_nothing(s);
	test_card_writes_wait_until_applied(s);
	test_data_version_sees_only_other_writers(s);
	test_watch_wakes_on_another_writers_commit(s);
	test_ocsp_stored_answer_only_while_the_status_agrees(s);
	test_certificate_revocation_is_recorded_once(s);
	test_revocation_list_by_shard(s);
	test_audit_entries_chain_within_a_transaction(s);
	test_audit_chain_detects_tampering(s);
	test_read_only_store_sees_what_others_commit(s);
	test_write_through_read_only_store_refused(s);
	if (!on_pg)
		test_read_only_open_creates_and_migrates_nothing();
	test_begin_waits_for_another_writer(s);
	test_begin_gives_up_after_the_busy_timeout();
	store_close(&s);
	CHECK(s == NULL);
	/* Reopening an existing database does not re-run migrations. */
	CHECK_INT(store_open(url, &s), JPKI_OK);
	store_close(&s);
	if (!on_pg)
		test_read_only_store_opens_with_no_writer_open();
	test_config_round_trip_and_unknown_key_refused();
	test_config_sets_the_busy_timeout();
	test_postgresql_unreachable_said_clearly();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
	return test_summary();
}
