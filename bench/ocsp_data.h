/*
 * ocsp_data.h: the data set of bench_ocsp and bench_ocsp-soak, and the
 * servers they start.
 *
 * N live certificates, half signing and half authentication (one resident
 * each of both), issued through ca_issue_stream as the counter would, in a
 * data directory of their own; one in OCSP_DATA_REVOKED_EVERY revoked (so
 * that the answers checked hold both statuses).  Beside them, the same
 * certificates for the baselines: an index.txt per CA for `openssl ocsp
 * -index`, and a cfssl certificate database per CA, from which `cfssl
 * ocsprefresh` signs a response for each certificate (`cfssl ocspsign`,
 * one process per certificate, would take most of an hour for 100,000)
 * and `cfssl ocspdump` writes the responses file `cfssl ocspserve
 * -responses` reads.  And the DER OCSP request of every certificate (SHA-1
 * CertID, no nonce, as RFC 5019 clients send), with the status expected.
 *
 * Building it signs 2N times (issuance, cfssl) and takes minutes, so it
 * is kept under the build directory (bench-ocsp-<N>/) and used again
 * while younger than OCSP_DATA_MAX_AGE (cfssl's responses are good for
 * 96 hours).  The soak copies the data directory before changing it.
 */
#ifndef JPKI_BENCH_OCSP_DATA_H
#define JPKI_BENCH_OCSP_DATA_H

#include "bench_util.h"
#include "ocsp_load.h"
#include "support/open_ca.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define OCSP_DATA_REVOKED_EVERY 20
#define OCSP_DATA_CHUNK 10000
#define OCSP_DATA_KEYS 16
#define OCSP_DATA_MAX_AGE (3 * 86400)

struct ocsp_data {
	char dir[1100];                  /* the cache directory */
	char data[1200];                 /* our data directory */
	char jpki[1100];                 /* the jpki binary beside us */
	struct load_req *reqs;
	size_t n;
	char *serials;                   /* n x SERIAL_HEX_MAX */
};

static void
od_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
od_die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static int
od_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
od_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(stdout);
	return system(cmd);
}

/* YYMMDDHHMMSSZ (index.txt) or "YYYY-MM-DD HH:MM:SS" (cfssl's database). */
static void
od_time(int64_t t, int cfssl, char buf[64])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	if (cfssl)
		snprintf(buf, 64, "%04d-%02d-%02d %02d:%02d:%02d",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
	else
		snprintf(buf, 64, "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec);
}

struct od_build {
	struct ocsp_data *d;
	char cfdir[64];                  /* cfssl's databases, on tmpfs */
	struct ca *ca;
	FILE *index[3], *reqs;
	sqlite3 *db[3];
	sqlite3_stmt *ins[3];
	long done;
};

/* One issued certificate into the baselines' inputs and the request set. */
static void
od_add(struct od_build *b, enum cert_type t, const struct ca_issued *is,
    int revoked, int64_t revoked_at)
{
	const unsigned char *p = is->der;
	X509 *x = d2i_X509(NULL, &p, (long)is->der_len);
	OCSP_REQUEST *rq = OCSP_REQUEST_new();
	OCSP_CERTID *id;
	BIGNUM *bn = NULL;
	BIO *mem = BIO_new(BIO_s_mem());
	char exp[64], rev[64], *dec, *pem;
	unsigned char *der = NULL;
	long pem_len;
	int len;
	uint8_t hdr[4];

	if (x == NULL || rq == NULL || mem == NULL ||
	    (id = OCSP_cert_to_id(EVP_sha1(), x, ca_cert(b->ca, t))) == NULL ||
	    OCSP_request_add0_id(rq, id) == NULL ||
	    (len = i2d_OCSP_REQUEST(rq, &der)) <= 0 || len > LOAD_REQ_MAX)
		od_die("an OCSP request for %s", is->serial);
	hdr[0] = (uint8_t)(len >> 8);
	hdr[1] = (uint8_t)len;
	hdr[2] = (uint8_t)(t == CERT_SIGN ? 0 : 1);
	hdr[3] = (uint8_t)(revoked ? V_OCSP_CERTSTATUS_REVOKED :
	    V_OCSP_CERTSTATUS_GOOD);
	if (fwrite(hdr, 1, 4, b->reqs) != 4 ||
	    fwrite(der, 1, (size_t)len, b->reqs) != (size_t)len ||
	    fprintf(b->reqs, "%s\n", is->serial) < 0)
		od_die("writing the requests");
	OPENSSL_free(der);
	OCSP_REQUEST_free(rq);

	od_time(is->not_after, 0, exp);
	od_time(revoked_at, 0, rev);
	fprintf(b->index[t], "%c\t%s\t%s%s\t%s\tunknown\t/CN=%s\n",
	    revoked ? 'R' : 'V', exp, revoked ? rev : "",
	    revoked ? ",keyCompromise" : "", is->serial, is->serial);

	/* cfssl keys its database by the decimal serial (Go's big.Int). */
	if (BN_hex2bn(&bn, is->serial) == 0 || (dec = BN_bn2dec(bn)) == NULL ||
	    PEM_write_bio_X509(mem, x) != 1)
		od_die("cfssl row for %s", is->serial);
	pem_len = BIO_get_mem_data(mem, &pem);
	od_time(is->not_after, 1, exp);
	if (revoked)
		od_time(revoked_at, 1, rev);
	else    /* Go's zero time: cfssl cannot scan a NULL into it */
		snprintf(rev, sizeof(rev), "0001-01-01 00:00:00");
	sqlite3_reset(b->ins[t]);
	sqlite3_bind_text(b->ins[t], 1, dec, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(b->ins[t], 2, revoked ? "revoked" : "good", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int(b->ins[t], 3, revoked ? 1 : 0);
	sqlite3_bind_text(b->ins[t], 4, exp, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(b->ins[t], 5, rev, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(b->ins[t], 6, pem, (int)pem_len, SQLITE_TRANSIENT);
	if (sqlite3_step(b->ins[t]) != SQLITE_DONE)
		od_die("cfssl database: %s", sqlite3_errmsg(b->db[t]));
	OPENSSL_free(dec);
	BN_free(bn);
	BIO_free(mem);
	X509_free(x);
}

static void
od_build(struct ocsp_data *d, long n)
{
	struct od_build b = {.d = d};
	struct ca_issue_request *rq;
	struct ca_issued *out;
	EVP_PKEY *keys[OCSP_DATA_KEYS];
	struct ca_stream_options so = {0};
	long cores = sysconf(_SC_NPROCESSORS_ONLN), residents = n / 2;
	char path[1200];
	double t0 = bench_seconds();

	if (od_sh("rm -rf '%s' && mkdir -p '%s'", d->dir, d->dir) != 0)
		od_die("cannot make %s", d->dir);
	/* cfssl ocsprefresh commits (and syncs) each response on its own:
	 * 100,000 fsyncs on a disk take most of an hour, on tmpfs nothing.
	 * The databases are only a way to its responses file. */
	snprintf(b.cfdir, sizeof(b.cfdir), "/dev/shm/jpki-bench-cfssl-XXXXXX");
	if (mkdtemp(b.cfdir) == NULL) {
		snprintf(b.cfdir, sizeof(b.cfdir), "/tmp/jpki-bench-cfssl-XXXXXX");
		if (mkdtemp(b.cfdir) == NULL)
			od_die("mkdtemp: %s", strerror(errno));
	}
	if (support_ca_new(d->data, CA_KEYS_CA | CA_KEYS_OCSP, &b.ca) !=
	    JPKI_OK)
		od_die("data directory: %s", jpki_errmsg());
	store_set_durable(datadir_store(ca_datadir(b.ca)), 0);
	if (bench_register_residents(b.ca, 20000000000L, residents) != JPKI_OK)
		od_die("residents: %s", jpki_errmsg());
	fprintf(stderr, "bench: setup: %ld residents registered (%.0f s)\n",
	    residents, bench_seconds() - t0);
	for (int i = 0; i < OCSP_DATA_KEYS; i++)
		if ((keys[i] = EVP_RSA_gen(2048)) == NULL)
			od_die("RSA key");
	for (int t = CERT_SIGN; t <= CERT_AUTH; t++) {
		const char *tn = rules_cert_type_name((enum cert_type)t);

		snprintf(path, sizeof(path), "%s/%s-index.txt", d->dir, tn);
		if ((b.index[t] = fopen(path, "w")) == NULL)
			od_die("%s: %s", path, strerror(errno));
		snprintf(path, sizeof(path), "%s/%s-index.txt.attr", d->dir, tn);
		od_sh("echo 'unique_subject = no' > '%s'", path);
		snprintf(path, sizeof(path), "%s/cfssl-%s.db", b.cfdir, tn);
		if (sqlite3_open(path, &b.db[t]) != SQLITE_OK ||
		    sqlite3_exec(b.db[t],
		    "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
		    "CREATE TABLE certificates (serial_number blob NOT NULL,"
		    " authority_key_identifier blob NOT NULL, ca_label blob,"
		    " status blob NOT NULL, reason int, expiry timestamp,"
		    " revoked_at timestamp, pem blob NOT NULL,"
		    " PRIMARY KEY(serial_number, authority_key_identifier));"
		    "CREATE TABLE ocsp_responses (serial_number blob NOT NULL,"
		    " authority_key_identifier blob NOT NULL, body blob NOT NULL,"
		    " expiry timestamp,"
		    " PRIMARY KEY(serial_number, authority_key_identifier));"
		    "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(b.db[t], "INSERT INTO certificates VALUES"
		    " (?1, 'bench', '', ?2, ?3, ?4, ?5, ?6)", -1, &b.ins[t],
		    NULL) != SQLITE_OK)
			od_die("%s: %s", path, sqlite3_errmsg(b.db[t]));
		snprintf(path, sizeof(path), "%s/cfssl-%s.json", d->dir, tn);
		od_sh("printf '{\"driver\":\"sqlite3\",\"data_source\":"
		    "\"%s/cfssl-%s.db\"}' > '%s'", b.cfdir, tn, path);
	}
	snprintf(path, sizeof(path), "%s/requests.bin", d->dir);
	if ((b.reqs = fopen(path, "w")) == NULL)
		od_die("%s: %s", path, strerror(errno));

	/* Issued in chunks (each chunk's DER is held until it is written
	 * out), both types of a resident in one chunk. */
	if ((rq = calloc(OCSP_DATA_CHUNK, sizeof(*rq))) == NULL ||
	    (out = calloc(OCSP_DATA_CHUNK, sizeof(*out))) == NULL)
		od_die("out of memory");
	so.threads = cores > 1 ? (int)cores - 1 : 1;
	so.group = 2048;
	for (long at = 0; at < 2 * residents; at += OCSP_DATA_CHUNK) {
		size_t k = (size_t)(2 * residents - at < OCSP_DATA_CHUNK ?
		    2 * residents - at : OCSP_DATA_CHUNK), committed = 0;
		struct store *st = datadir_store(ca_datadir(b.ca));
		int64_t now = jpki_now();

		for (size_t i = 0; i < k; i++) {
			long c = at + (long)i;

			memset(&rq[i], 0, sizeof(rq[i]));
			rq[i].resident_id = c / 2 + 1;
			rq[i].type = c % 2 ? CERT_AUTH : CERT_SIGN;
			rq[i].pub = keys[c % OCSP_DATA_KEYS];
			rq[i].actor = "bench";
		}
		if (ca_issue_stream(b.ca, rq, k, out, &so, &committed) !=
		    JPKI_OK || committed != k)
			od_die("issuing: %s", jpki_errmsg());
		if (store_begin(st) != JPKI_OK)
			od_die("revoking: %s", jpki_errmsg());
		for (size_t i = 0; i < k; i++) {
			int rev = (at + (long)i) % OCSP_DATA_REVOKED_EVERY ==
			    OCSP_DATA_REVOKED_EVERY - 1;

			if (rev && ca_revoke_in_tx(b.ca, out[i].serial,
			    REASON_KEY_COMPROMISE, "bench") != JPKI_OK)
				od_die("revoking: %s", jpki_errmsg());
			od_add(&b, rq[i].type, &out[i], rev, now);
			ca_issued_free(&out[i]);
		}
		if (store_commit(st) != JPKI_OK)
			od_die("revoking: %s", jpki_errmsg());
		b.done += (long)k;
		fprintf(stderr, "\rbench: setup: %ld of %ld certificates "
		    "(%.0f s)", b.done, 2 * residents, bench_seconds() - t0);
	}
	fprintf(stderr, "\n");
	free(rq);
	free(out);
	for (int i = 0; i < OCSP_DATA_KEYS; i++)
		EVP_PKEY_free(keys[i]);
	if (fclose(b.reqs) != 0)
		od_die("requests.bin: %s", strerror(errno));
	for (int t = CERT_SIGN; t <= CERT_AUTH; t++) {
		const char *tn = rules_cert_type_name((enum cert_type)t);

		fclose(b.index[t]);
		sqlite3_finalize(b.ins[t]);
		if (sqlite3_exec(b.db[t], "COMMIT", NULL, NULL, NULL) !=
		    SQLITE_OK)
			od_die("cfssl database: %s", sqlite3_errmsg(b.db[t]));
		sqlite3_close(b.db[t]);
		/* PEM copies of the CA and responder certificates and keys. */
		od_sh("cp '%s/ca/%s-ca.pem' '%s/ca/%s-ocsp.pem' "
		    "'%s/ca/%s-ocsp.key' '%s/'", d->data, tn, d->data, tn,
		    d->data, tn, d->dir);
		fprintf(stderr, "bench: setup: cfssl ocsprefresh, %s CA (%.0f "
		    "s)\n", tn, bench_seconds() - t0);
		if (od_sh("cd '%s' && cfssl ocsprefresh -loglevel 3 -db-config "
		    "cfssl-%s.json -ca %s-ca.pem -responder %s-ocsp.pem "
		    "-responder-key %s-ocsp.key && cfssl ocspdump -db-config "
		    "cfssl-%s.json >> cfssl-responses.txt", d->dir, tn, tn, tn,
		    tn, tn) != 0)
			od_die("cfssl ocsprefresh / ocspdump failed in %s", d->dir);
	}
	support_ca_close(&b.ca);
	od_sh("rm -rf '%s'", b.cfdir);
	snprintf(path, sizeof(path), "%s/complete", d->dir);
	od_sh("date +%%s > '%s'", path);
	printf("bench: setup: %ld certificates issued (1 in %d revoked), "
	    "openssl index.txt and cfssl responses made in %.0f s, kept in "
	    "%s\n", b.done, OCSP_DATA_REVOKED_EVERY, bench_seconds() - t0,
	    d->dir);
}

/* Load the request set. */
static void
od_load(struct ocsp_data *d)
{
	char path[1200], line[SERIAL_HEX_MAX + 2];
	uint8_t hdr[4];
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/requests.bin", d->dir);
	if ((f = fopen(path, "r")) == NULL)
		od_die("%s: %s", path, strerror(errno));
	while (fread(hdr, 1, 4, f) == 4) {
		struct load_req *q;

		if (d->n == cap) {
			cap = cap ? cap * 2 : 65536;
			if ((d->reqs = realloc(d->reqs, cap * sizeof(*d->reqs)))
			    == NULL || (d->serials = realloc(d->serials,
			    cap * SERIAL_HEX_MAX)) == NULL)
				od_die("out of memory");
		}
		q = &d->reqs[d->n];
		memset(q, 0, sizeof(*q));
		q->len = (uint16_t)(hdr[0] << 8 | hdr[1]);
		q->endpoint = hdr[2];
		q->expect = hdr[3];
		if (q->len > LOAD_REQ_MAX ||
		    fread(q->der, 1, q->len, f) != q->len ||
		    fgets(line, sizeof(line), f) == NULL)
			od_die("%s: truncated", path);
		line[strcspn(line, "\n")] = '\0';
		line[SERIAL_HEX_MAX - 1] = '\0';
		memcpy(d->serials + d->n * SERIAL_HEX_MAX, line, SERIAL_HEX_MAX);
		d->n++;
	}
	fclose(f);
}

/* The data set of n certificates, built or found in the cache. */
static void
od_open(struct ocsp_data *d, long n)
{
	char self[1024], path[1200];
	ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
	FILE *f;
	long made = 0;

	memset(d, 0, sizeof(*d));
	if (k <= 0)
		od_die("/proc/self/exe: %s", strerror(errno));
	self[k] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(d->jpki, sizeof(d->jpki), "%s/jpki", self);
	snprintf(d->dir, sizeof(d->dir), "%s/bench-ocsp-%ld", self, n);
	snprintf(d->data, sizeof(d->data), "%s/data", d->dir);
	snprintf(path, sizeof(path), "%s/complete", d->dir);
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%ld", &made) != 1)
			made = 0;
		fclose(f);
	}
	if (made > 0 && time(NULL) - made < OCSP_DATA_MAX_AGE)
		printf("bench: setup: the data set of %ld certificates kept in "
		    "%s (made %.1f h ago)\n", n, d->dir,
		    (double)(time(NULL) - made) / 3600);
	else
		od_build(d, n);
	od_load(d);
	if ((long)d->n != n - n % 2)
		od_die("%s holds %zu requests, not %ld", d->dir, d->n, n);
}

/* ---- servers ------------------------------------------------------------ */

/* A free port below the ephemeral range: the load generator's own
 * connections, opened again and again for openssl ocsp, leave ephemeral
 * ports in TIME_WAIT, and openssl binds the wildcard address without
 * SO_REUSEADDR, which they would block. */
static uint16_t
od_free_port(void)
{
	static unsigned seed;

	if (seed == 0)
		seed = (unsigned)getpid();
	for (int tries = 0; tries < 1000; tries++) {
		struct sockaddr_in6 sa = {.sin6_family = AF_INET6,
		    .sin6_addr = IN6ADDR_ANY_INIT};
		uint16_t port = (uint16_t)(20000 + rand_r(&seed) % 10000);
		int fd = socket(AF_INET6, SOCK_STREAM, 0), ok;

		sa.sin6_port = htons(port);
		ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (fd >= 0)
			close(fd);
		if (ok)
			return port;
	}
	od_die("no free port");
}

/* 1 once the server on port answers an OCSP POST of q (a connection
 * opened and closed without a request would hang openssl ocsp, which
 * answers one connection at a time and waits for its request). */
static int
od_answers(uint16_t port, const struct load_req *q)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	    .sin_port = htons(port)};
	struct timeval tv = {2, 0};
	char buf[LOAD_HEAD_MAX + LOAD_REQ_MAX];
	int fd = socket(AF_INET, SOCK_STREAM, 0), n, ok = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		n = snprintf(buf, sizeof(buf), "POST / HTTP/1.0\r\n"
		    "Content-Type: application/ocsp-request\r\n"
		    "Content-Length: %u\r\n\r\n", q->len);
		memcpy(buf + n, q->der, q->len);
		ok = send(fd, buf, (size_t)n + q->len, MSG_NOSIGNAL) ==
		    n + q->len && recv(fd, buf, sizeof(buf), 0) > 0;
	}
	close(fd);
	return ok;
}

/* Start argv (stdout and stderr to log) and wait until it answers q. */
static pid_t
od_start(char *const argv[], uint16_t port, const char *log,
    const struct load_req *q)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0)
		od_die("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		setpgid(0, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	/* cfssl ocspserve reads and parses its whole responses file first:
	 * 200 MB for 100,000, a minute or more on a busy machine. */
	for (int i = 0; i < 3000; i++) {
		struct timespec ts = {0, 100 * 1000 * 1000};

		if (od_answers(port, q)) {
			printf("bench: %s answers after %.1f s\n", argv[0],
			    i * 0.1);
			return pid;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			od_die("%s exited at start; see %s", argv[0], log);
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	od_die("%s did not answer on port %u within 300 s; see %s", argv[0],
	    port, log);
}

static void
od_stop(pid_t pid)
{
	kill(pid, SIGTERM);
	kill(-pid, SIGTERM);   /* and its process group (openssl ocsp -multi) */
	for (int i = 0; i < 150; i++) {
		struct timespec ts = {0, 100 * 1000 * 1000};

		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		nanosleep(&ts, NULL);
	}
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* VmRSS (or another field) of a process, kB; -1 if gone. */
static long
od_rss_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			kb = atol(line + n + 1);
	fclose(f);
	return kb;
}

#endif
