/*
 * bench_pg.c: `make bench BENCH=pg`: does the store stay fast when it is
 * full?  On each database (SQLite, and PostgreSQL on a throwaway cluster
 * of the bench's own, tests/support/pg_cluster.sh), in one run:
 *
 *   1. an empty store: the issuance rate (ca_issue_stream, as
 *      bench_issuance) and OCSP latency (ca_ocsp_respond, p50 and p99,
 *      requests for stored certificates);
 *   2. the store filled with BENCH_PG_CERTS certificates (default
 *      10,000,000; 1 % revoked): on SQLite through the store's own
 *      insert; on PostgreSQL by COPY FROM STDIN on a connection of the
 *      bench's own (the rows the store's insert writes, the change-queue
 *      trigger firing for each as it does), the revocations through the
 *      store's own revoke;
 *   3. the same two measurements again, full.
 *
 * The full figures are printed beside the empty ones (the baseline of the
 * same run); the target is within 20 % of empty.  The filler certificates
 * carry the DER of a real one (the store never parses it back), their own
 * serials, and resident 1; OCSP asks for random stored serials, so its
 * lookups go wherever in the index they fall.
 *
 * Environment: BENCH_PG_CERTS (certificates to fill), BENCH_PG_ISSUE
 * (certificates issued per measurement, default 2000), BENCH_PG_OCSP
 * (OCSP requests per measurement, default 4000), BENCH_PG_ONLY (sqlite or
 * postgresql).
 */
#include "bench_util.h"
#include "pki/pki.h"
#include "support/open_ca.h"

#include <libpq-fe.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef JPKI_SOURCE_DIR
#define JPKI_SOURCE_DIR "."
#endif

/* A sample of the stored serials, for the OCSP requests. */
#define SAMPLE_MAX 100000
#define FILL_GROUP 20000
/* COPY data is sent in chunks of about this many bytes. */
#define COPY_CHUNK (1 << 20)

struct figures {
	double issue_rate;
	double p50_ms, p99_ms;
};

static long
env_long(const char *name, long dflt)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? atol(v) : dflt;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Issue n certificates (both types, n/2 new residents numbered from
 * base) and return the rate. */
static int
measure_issuance(struct ca *ca, long base, long n, double *rate)
{
	struct store *st = datadir_store(ca_datadir(ca));
	struct ca_stream_options so = {0};
	struct ca_issue_request *reqs;
	EVP_PKEY *key;
	size_t committed = 0;
	long residents = (n + 1) / 2, cores = sysconf(_SC_NPROCESSORS_ONLN);
	double t0;
	int r;

	if ((r = bench_register_residents(ca, base, residents)) != JPKI_OK)
		return r;
	if ((key = EVP_RSA_gen(2048)) == NULL)
		return JPKI_ERR_CRYPTO;
	if ((reqs = calloc((size_t)n, sizeof(*reqs))) == NULL) {
		EVP_PKEY_free(key);
		return JPKI_ERR_NOMEM;
	}
	for (long i = 0; i < n && r == JPKI_OK; i++) {
		struct resident res;
		char number[RESIDENT_NUMBER_LEN + 1];

		support_individual_number(base + i / 2, number);
		if ((r = store_resident_by_number(st, number, &res)) != JPKI_OK)
			break;
		reqs[i].resident_id = res.id;
		reqs[i].type = i % 2 ? CERT_AUTH : CERT_SIGN;
		reqs[i].pub = key;
		reqs[i].actor = "bench";
	}
	so.threads = cores > 1 ? (int)cores - 1 : 1;
	so.group = 100;
	t0 = bench_seconds();
	if (r == JPKI_OK)
		r = ca_issue_stream(ca, reqs, (size_t)n, NULL, &so, &committed);
	if (r == JPKI_OK && committed != (size_t)n)
		r = jpki_fail(JPKI_ERR_INTERNAL, "issued %zu of %ld", committed, n);
	*rate = (double)n / (bench_seconds() - t0);
	free(reqs);
	EVP_PKEY_free(key);
	return r;
}

/* n OCSP requests for random serials of the sample: p50 and p99. */
static int
measure_ocsp(struct ca *ca, X509 *issuer, char (*sample)[SERIAL_HEX_MAX],
    long nsample, long n, double *p50, double *p99)
{
	double *lat = calloc((size_t)n, sizeof(double));
	struct jbuf out;
	int r = JPKI_OK;

	if (lat == NULL)
		return JPKI_ERR_NOMEM;
	jbuf_init(&out);
	for (long i = 0; i < n && r == JPKI_OK; i++) {
		OCSP_REQUEST *q = OCSP_REQUEST_new();
		BIGNUM *bn = NULL;
		ASN1_INTEGER *serial;
		OCSP_CERTID *id;
		struct ca_ocsp_answer ans;
		unsigned char *der = NULL;
		uint32_t pick;
		int len;
		double t0;

		RAND_bytes((unsigned char *)&pick, sizeof(pick));
		BN_hex2bn(&bn, sample[pick % (uint32_t)nsample]);
		serial = BN_to_ASN1_INTEGER(bn, NULL);
		id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer),
		    X509_get0_pubkey_bitstr(issuer), serial);
		OCSP_request_add0_id(q, id);
		len = i2d_OCSP_REQUEST(q, &der);
		out.len = 0;
		t0 = bench_seconds();
		r = ca_ocsp_respond(ca, der, (size_t)len, &out, &ans);
		lat[i] = (bench_seconds() - t0) * 1000.0;
		if (r == JPKI_OK && (ans.status != 0 || ans.n != 1 ||
		    ans.cert[0].status == PKI_OCSP_UNKNOWN))
			r = jpki_fail(JPKI_ERR_INTERNAL, "OCSP answer for %s: "
			    "status %d", sample[pick % (uint32_t)nsample],
			    ans.status);
		OPENSSL_free(der);
		ASN1_INTEGER_free(serial);
		BN_free(bn);
		OCSP_REQUEST_free(q);
	}
	jbuf_free(&out);
	qsort(lat, (size_t)n, sizeof(double), cmp_double);
	*p50 = lat[n / 2];
	*p99 = lat[(n * 99) / 100];
	free(lat);
	return r;
}

/* A filler's serial: 16 random bytes, the first below 0x80. */
static void
random_serial(char serial[SERIAL_HEX_MAX], int *shard)
{
	unsigned char b[16];

	RAND_bytes(b, sizeof(b));
	b[0] &= 0x7f;
	b[0] |= 0x10;
	for (int j = 0; j < 16; j++)
		snprintf(serial + 2 * j, 3, "%02X", b[j]);
	*shard = (int)(b[1] % 64);
}

/* Fill the store with n certificates of the template's DER: serials of
 * 16 random bytes, 1 % revoked, FILL_GROUP per transaction.  Some of
 * them go into the sample. */
static int
fill(struct ca *ca, const struct cert_record *tmpl, long n,
    char (*sample)[SERIAL_HEX_MAX], long *nsample)
{
	struct store *st = datadir_store(ca_datadir(ca));
	struct cert_record c = *tmpl;
	double t0 = bench_seconds(), last = t0;
	int r = JPKI_OK;

	store_set_durable(st, 0);
	for (long i = 0; i < n && r == JPKI_OK;) {
		if ((r = store_begin(st)) != JPKI_OK)
			break;
		for (long k = 0; k < FILL_GROUP && i < n && r == JPKI_OK; k++, i++) {
			random_serial(c.serial, &c.crl_shard);
			c.ca = i % 2 ? CERT_AUTH : CERT_SIGN;
			c.status = CERT_STATUS_VALID;
			c.replaces[0] = '\0';
			if ((r = store_cert_insert(st, &c)) != JPKI_OK)
				break;
			if (i % 100 == 0)
				r = store_cert_revoke(st, c.serial,
				    REASON_KEY_COMPROMISE, c.issued_at);
			/* The sample: signing certificates, spread over the
			 * whole fill. */
			if (c.ca == CERT_SIGN && i % (n / SAMPLE_MAX + 1) == 0 &&
			    *nsample < SAMPLE_MAX)
				memcpy(sample[(*nsample)++], c.serial,
				    SERIAL_HEX_MAX);
		}
		if (r == JPKI_OK)
			r = store_commit(st);
		else
			store_rollback(st);
		if (bench_seconds() - last > 30) {
			last = bench_seconds();
			fprintf(stderr, "bench: pg: filled %ld of %ld (%.0f/s)\n",
			    i, n, (double)i / (last - t0));
		}
	}
	store_set_durable(st, 1);
	if (r == JPKI_OK)
		printf("bench: pg: %ld certificates stored in %.0f s (%.0f/s)\n",
		    n, bench_seconds() - t0, (double)n / (bench_seconds() - t0));
	return r;
}

static int
pg_ok(PGconn *c, PGresult *res, ExecStatusType want, const char *what)
{
	int ok = PQresultStatus(res) == want;

	if (!ok)
		jpki_fail(JPKI_ERR_IO, "bench: pg: %s: %s", what,
		    PQerrorMessage(c));
	PQclear(res);
	return ok ? JPKI_OK : JPKI_ERR_IO;
}

/* The PostgreSQL fill: each group of FILL_GROUP certificates in one
 * transaction of the bench's own connection, COPY FROM STDIN in text
 * format, the write counter bumped as a store's commit does (so that the
 * store's connection sees another writer's commit); then the group's 1 %
 * revoked through the store. */
static int
fill_pg(struct ca *ca, const char *url, const struct cert_record *tmpl,
    long n, char (*sample)[SERIAL_HEX_MAX], long *nsample)
{
	static const char hexd[] = "0123456789abcdef";
	struct store *st = datadir_store(ca_datadir(ca));
	char (*revoke)[SERIAL_HEX_MAX] = NULL;
	char *der_hex = NULL, *buf = NULL, card[24];
	size_t der_hex_len = 2 * tmpl->der_len, cap, len = 0;
	double t0 = bench_seconds(), last = t0;
	PGconn *c = PQconnectdb(url);
	int r = JPKI_OK;

	if (PQstatus(c) != CONNECTION_OK) {
		r = jpki_fail(JPKI_ERR_IO, "bench: pg: %s", PQerrorMessage(c));
		goto out;
	}
	cap = COPY_CHUNK + der_hex_len + 512;
	if ((der_hex = malloc(der_hex_len + 1)) == NULL ||
	    (buf = malloc(cap)) == NULL ||
	    (revoke = calloc(FILL_GROUP / 100 + 1, SERIAL_HEX_MAX)) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < tmpl->der_len; i++) {
		der_hex[2 * i] = hexd[tmpl->der[i] >> 4];
		der_hex[2 * i + 1] = hexd[tmpl->der[i] & 15];
	}
	der_hex[der_hex_len] = '\0';
	if (tmpl->card_id != 0)
		snprintf(card, sizeof(card), "%lld", (long long)tmpl->card_id);
	else
		snprintf(card, sizeof(card), "\\N");
	if ((r = pg_ok(c, PQexec(c, "SET synchronous_commit = off"),
	    PGRES_COMMAND_OK, "SET")) != JPKI_OK)
		goto out;
	for (long i = 0; i < n && r == JPKI_OK;) {
		long nrevoke = 0;

		if ((r = pg_ok(c, PQexec(c, "BEGIN; UPDATE jpki_meta SET"
		    " data_version = data_version + 1"), PGRES_COMMAND_OK,
		    "BEGIN")) != JPKI_OK ||
		    (r = pg_ok(c, PQexec(c, "COPY certificates(serial, ca,"
		    " resident_id, card_id, status, reason, not_before,"
		    " not_after, issued_at, revoked_at, crl_shard, replaces,"
		    " gen, der) FROM STDIN"), PGRES_COPY_IN, "COPY")) != JPKI_OK)
			break;
		for (long k = 0; k < FILL_GROUP && i < n && r == JPKI_OK;
		    k++, i++) {
			char serial[SERIAL_HEX_MAX];
			int shard, ca_type = i % 2 ? CERT_AUTH : CERT_SIGN;

			random_serial(serial, &shard);
			len += (size_t)snprintf(buf + len, cap - len,
			    "%s\t%d\t%lld\t%s\t%d\t\\N\t%lld\t%lld\t%lld\t\\N\t%d"
			    "\t\\N\t%d\t\\\\x", serial, ca_type,
			    (long long)tmpl->resident_id, card,
			    (int)CERT_STATUS_VALID, (long long)tmpl->not_before,
			    (long long)tmpl->not_after,
			    (long long)tmpl->issued_at, shard,
			    tmpl->gen > 0 ? tmpl->gen : 1);
			memcpy(buf + len, der_hex, der_hex_len);
			len += der_hex_len;
			buf[len++] = '\n';
			if (len >= COPY_CHUNK) {
				if (PQputCopyData(c, buf, (int)len) != 1)
					r = jpki_fail(JPKI_ERR_IO, "bench: pg: "
					    "COPY: %s", PQerrorMessage(c));
				len = 0;
			}
			if (i % 100 == 0)
				memcpy(revoke[nrevoke++], serial, SERIAL_HEX_MAX);
			/* The sample: signing certificates, spread over the
			 * whole fill. */
			if (ca_type == CERT_SIGN && i % (n / SAMPLE_MAX + 1) == 0 &&
			    *nsample < SAMPLE_MAX)
				memcpy(sample[(*nsample)++], serial,
				    SERIAL_HEX_MAX);
		}
		if (r == JPKI_OK && len > 0 &&
		    PQputCopyData(c, buf, (int)len) != 1)
			r = jpki_fail(JPKI_ERR_IO, "bench: pg: COPY: %s",
			    PQerrorMessage(c));
		len = 0;
		if (PQputCopyEnd(c, r == JPKI_OK ? NULL : "failed") != 1 &&
		    r == JPKI_OK)
			r = jpki_fail(JPKI_ERR_IO, "bench: pg: COPY: %s",
			    PQerrorMessage(c));
		if (pg_ok(c, PQgetResult(c), PGRES_COMMAND_OK, "COPY") !=
		    JPKI_OK && r == JPKI_OK)
			r = JPKI_ERR_IO;
		while (PQgetResult(c) != NULL)
			;
		if (r != JPKI_OK) {
			PQclear(PQexec(c, "ROLLBACK"));
			break;
		}
		if ((r = pg_ok(c, PQexec(c, "COMMIT"), PGRES_COMMAND_OK,
		    "COMMIT")) != JPKI_OK)
			break;
		/* The group's revocations, as `jpki cert revoke` makes them. */
		if ((r = store_begin(st)) != JPKI_OK)
			break;
		for (long k = 0; k < nrevoke && r == JPKI_OK; k++)
			r = store_cert_revoke(st, revoke[k],
			    REASON_KEY_COMPROMISE, tmpl->issued_at);
		if (r == JPKI_OK)
			r = store_commit(st);
		else
			store_rollback(st);
		if (bench_seconds() - last > 30) {
			last = bench_seconds();
			fprintf(stderr, "bench: pg: filled %ld of %ld (%.0f/s)\n",
			    i, n, (double)i / (last - t0));
		}
	}
	if (r == JPKI_OK)
		printf("bench: pg: %ld certificates stored in %.0f s (%.0f/s, "
		    "COPY)\n", n, bench_seconds() - t0,
		    (double)n / (bench_seconds() - t0));
out:
	free(revoke);
	free(buf);
	free(der_hex);
	PQfinish(c);
	return r;
}

struct sample_arg {
	char (*sample)[SERIAL_HEX_MAX];
	long *n;
};

static int
sample_one(void *arg, const struct cert_record *c)
{
	struct sample_arg *a = arg;

	if (c->ca == CERT_SIGN && *a->n < SAMPLE_MAX)
		memcpy(a->sample[(*a->n)++], c->serial, SERIAL_HEX_MAX);
	return 0;
}

static int
measure(struct ca *ca, X509 *issuer, long base, long issue_n, long ocsp_n,
    char (*sample)[SERIAL_HEX_MAX], long nsample, struct figures *f)
{
	int r;

	if ((r = measure_issuance(ca, base, issue_n, &f->issue_rate)) != JPKI_OK)
		return r;
	return measure_ocsp(ca, issuer, sample, nsample, ocsp_n, &f->p50_ms,
	    &f->p99_ms);
}

static int
run_backend(const char *name, const char *database, const char *dir,
    long fill_n, long issue_n, long ocsp_n)
{
	struct datadir_init_options o = {0};
	struct figures empty, full;
	struct cert_record tmpl;
	struct sample_arg sa;
	char path[JPKI_PATH_MAX];
	char (*sample)[SERIAL_HEX_MAX];
	long nsample = 0;
	struct ca *ca = NULL;
	X509 *issuer = NULL;
	FILE *f;
	int r;

	o.database = database;
	if ((sample = calloc(SAMPLE_MAX, SERIAL_HEX_MAX)) == NULL)
		return JPKI_ERR_NOMEM;
	if ((r = support_datadir_init(dir, &o)) != JPKI_OK ||
	    (r = support_ca_open(dir, CA_KEYS_CA | CA_KEYS_OCSP, &ca)) != JPKI_OK)
		goto out;
	snprintf(path, sizeof(path), "%s/ca/sign-ca.pem", dir);
	if ((f = fopen(path, "r")) == NULL ||
	    (issuer = PEM_read_X509(f, NULL, NULL, NULL)) == NULL) {
		if (f != NULL)
			fclose(f);
		r = jpki_fail(JPKI_ERR_IO, "%s: no CA certificate", path);
		goto out;
	}
	fclose(f);

	/* Empty: the issued certificates are the store. */
	if ((r = measure_issuance(ca, 10000000000L, issue_n,
	    &empty.issue_rate)) != JPKI_OK)
		goto out;
	sa.sample = sample;
	sa.n = &nsample;
	if ((r = store_cert_list(datadir_store(ca_datadir(ca)), 0, sample_one,
	    &sa)) != JPKI_OK || nsample == 0 ||
	    (r = store_cert_get(datadir_store(ca_datadir(ca)), sample[0],
	    &tmpl)) != JPKI_OK)
		goto out;
	if ((r = measure_ocsp(ca, issuer, sample, nsample, ocsp_n,
	    &empty.p50_ms, &empty.p99_ms)) != JPKI_OK)
		goto out;

	/* Full. */
	nsample = 0;
	if (database != NULL && getenv("BENCH_PG_FILL_STORE") == NULL)
		r = fill_pg(ca, database, &tmpl, fill_n, sample, &nsample);
	else
		r = fill(ca, &tmpl, fill_n, sample, &nsample);
	store_cert_free(&tmpl);
	if (r != JPKI_OK ||
	    (r = measure(ca, issuer, 20000000000L, issue_n, ocsp_n, sample,
	    nsample, &full)) != JPKI_OK)
		goto out;

	printf("bench: pg %s: issuance %.0f certs/s with %ld stored vs %.0f "
	    "certs/s empty = %.2fx (target >= 0.8x)\n", name,
	    full.issue_rate, fill_n, empty.issue_rate,
	    full.issue_rate / empty.issue_rate);
	printf("bench: pg %s: ocsp p50 %.2f ms p99 %.2f ms with %ld stored vs "
	    "p50 %.2f ms p99 %.2f ms empty = %.2fx at p50 (target <= 1.2x)\n",
	    name, full.p50_ms, full.p99_ms, fill_n, empty.p50_ms, empty.p99_ms,
	    full.p50_ms / empty.p50_ms);
out:
	if (r != JPKI_OK)
		fprintf(stderr, "bench: pg %s: %s\n", name, jpki_errmsg());
	X509_free(issuer);
	support_ca_close(&ca);
	free(sample);
	return r;
}

/* The throwaway cluster: its base URL, a database of its own. */
static int
pg_database(const char *cluster, char *url, size_t n)
{
	char cmd[JPKI_PATH_MAX * 4];
	FILE *p;
	int ok;

	snprintf(cmd, sizeof(cmd), "sh %s/tests/support/pg_cluster.sh start %s "
	    ">/dev/null && sh %s/tests/support/pg_cluster.sh createdb %s bench",
	    JPKI_SOURCE_DIR, cluster, JPKI_SOURCE_DIR, cluster);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	ok = fgets(url, (int)n, p) != NULL;
	if (pclose(p) != 0 || !ok)
		return -1;
	url[strcspn(url, "\n")] = '\0';
	return 0;
}

int
main(void)
{
	long fill_n = env_long("BENCH_PG_CERTS", 10000000L);
	long issue_n = env_long("BENCH_PG_ISSUE", 2000);
	long ocsp_n = env_long("BENCH_PG_OCSP", 4000);
	const char *only = getenv("BENCH_PG_ONLY");
	char tmp[] = "/tmp/jpki-bench-pg-XXXXXX";
	char dir[JPKI_PATH_MAX], cluster[JPKI_PATH_MAX], url[512];
	char cmd[JPKI_PATH_MAX * 3];
	int rc = 0;

	/* Reachable by the cluster's own user (pg_cluster.sh). */
	if (mkdtemp(tmp) == NULL || chmod(tmp, 0755) != 0)
		return 1;
	printf("bench: pg: %ld certificates to fill; %ld issued and %ld OCSP "
	    "requests per measurement\n", fill_n, issue_n, ocsp_n);
	if (only == NULL || strcmp(only, "sqlite") == 0) {
		snprintf(dir, sizeof(dir), "%s/sqlite", tmp);
		rc |= run_backend("sqlite", NULL, dir, fill_n, issue_n, ocsp_n);
	}
	if (only == NULL || strcmp(only, "postgresql") == 0) {
		snprintf(dir, sizeof(dir), "%s/postgresql", tmp);
		snprintf(cluster, sizeof(cluster), "%s/cluster", tmp);
		if (pg_database(cluster, url, sizeof(url)) != 0) {
			fprintf(stderr, "bench: pg: no PostgreSQL cluster "
			    "(Debian postgresql)\n");
			rc = 1;
		} else {
			rc |= run_backend("postgresql", url, dir, fill_n,
			    issue_n, ocsp_n);
		}
		snprintf(cmd, sizeof(cmd), "sh %s/tests/support/pg_cluster.sh "
		    "stop %s", JPKI_SOURCE_DIR, cluster);
		if (system(cmd) != 0)
			fprintf(stderr, "bench: pg: stopping the cluster failed\n");
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: pg: cleanup failed\n");
	return rc != 0;
}
