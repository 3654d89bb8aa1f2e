/*
 * bench_crl.c: how fast and in how little memory the full CRL of a CA is
 * generated, beside `openssl ca -gencrl` on the same revocations in the
 * same run.  Targets (design.md): 1,000,000 revoked entries >= 10x faster
 * than openssl ca -gencrl in <= 64 MB RSS; 10,000,000 in <= 10 s and
 * <= 256 MB RSS.
 *
 * Setup (not measured): a throwaway data directory whose signing CA has
 * ENTRIES revoked certificates, recorded through the store interface as
 * issuance and revocation would record them (serials of 16 random-looking
 * octets, the reasons J-LIS uses), and an openssl CA directory holding the
 * same revocations in an index.txt.  Each generator then runs in a child
 * of its own, timed from fork to wait4(), whose ru_maxrss is its peak
 * RSS: the children are forked by a spawner process made before setup
 * (see "running a child").  Ours runs as this binary's --generate mode,
 * exec'ed, so it opens the CA itself; it also reports its own VmHWM as a
 * cross-check.  Ours must
 * verify under the CA certificate (openssl crl -CAfile) and hold every
 * entry; openssl's output must parse.
 *
 * usage: bench_crl [ENTRIES]           (default 1000000)
 *        bench_crl --generate DATADIR OUTDIR   (the measured child)
 */
#include "bench_util.h"
#include "support/open_ca.h"
#include "ca/ca.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#define TX_ROWS 50000            /* certificates per setup transaction */
#define OURS_RUNS 3              /* our generator's runs; the median counts */
#define DAY 86400
#define SIGN_VALIDITY (5 * 365 * DAY)

static char tmpdir[] = "/tmp/jpki-crlbench-XXXXXX";
static int tmpdir_made;

static void
cleanup(void)
{
	char cmd[128];

	if (!tmpdir_made)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: could not remove %s\n", tmpdir);
	tmpdir_made = 0;
}

/* One clear line, the temp dir removed, a nonzero status. */
static void
die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	cleanup();
	exit(1);
}

/* A kB figure from /proc/self/status ("VmRSS", "VmHWM"), or -1. */
static long
proc_status_kb(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t n = strlen(field);
	long kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			kb = atol(line + n + 1);
	fclose(f);
	return kb;
}

/* ---- the measured child: our generator ---------------------------------- */

static int
generate_mode(const char *datadir, const char *outdir)
{
	struct ca *ca = NULL;
	struct ca_crl_result res;

	if (support_ca_open(datadir, CA_KEYS_CA | CA_KEYS_OCSP, &ca) != JPKI_OK ||
	    ca_crl_generate(ca, CERT_SIGN, CA_CRL_FULL, outdir, &res) !=
	    JPKI_OK) {
		fprintf(stderr, "bench: generate: %s\n", jpki_errmsg());
		support_ca_close(&ca);
		return 1;
	}
	support_ca_close(&ca);
	printf("entries %ld\nhwm_kb %ld\npath %s\n", res.entries,
	    proc_status_kb("VmHWM"), res.path);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- running a child ----------------------------------------------------
 *
 * A child's ru_maxrss counts the pages it inherited at fork (Linux keeps
 * the pre-exec high-water mark across exec), so a generator forked from
 * this process after setup would be charged with its footprint (a few MB
 * normally, hundreds under ASan).  So every measured child is forked by a
 * spawner, itself forked first thing while this process is small, which
 * runs one request at a time: argv, where stdout goes, whether stderr is
 * silenced; it answers with the wall time, ru_maxrss and status. */

#define SPAWN_ARGS_MAX 16
#define SPAWN_BUF 4096

struct spawn_req {
	int argc;
	int quiet;               /* stderr to /dev/null */
	size_t len;              /* of the NUL-separated arguments that follow */
	char out[512];           /* stdout to this file; "" for /dev/null */
};

struct run {
	double wall;             /* fork to reaped, seconds */
	long maxrss_kb;          /* the child's ru_maxrss */
	int status;              /* as wait4 gives it; -1: not started */
	int err;                 /* errno when not started */
};

static int spawn_fd = -1, reply_fd = -1;

static int
io_full(int fd, void *p, size_t n, int writing)
{
	uint8_t *b = p;

	while (n > 0) {
		ssize_t k = writing ? write(fd, b, n) : read(fd, b, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

static void
run_child(char *const argv[], const char *out, int quiet, struct run *r)
{
	struct rusage ru;
	double t0 = bench_seconds();
	pid_t pid;

	r->status = -1;
	r->err = 0;
	if ((pid = fork()) < 0) {
		r->err = errno;
		return;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR), fd = out[0] != '\0' ?
		    open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600) : null;

		if (null < 0 || fd < 0 || dup2(fd, 1) < 0 ||
		    (quiet && dup2(null, 2) < 0))
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &r->status, 0, &ru) != pid) {
		r->status = -1;
		r->err = errno;
		return;
	}
	r->wall = bench_seconds() - t0;
	r->maxrss_kb = ru.ru_maxrss;
}

static void
spawner(int in, int out)
{
	struct spawn_req q;
	char buf[SPAWN_BUF], *av[SPAWN_ARGS_MAX + 1];
	struct run r;

	/* Until the bench closes its end (it exits, or dies). */
	while (io_full(in, &q, sizeof(q), 0) == 0) {
		size_t at = 0;

		q.out[sizeof(q.out) - 1] = '\0';
		if (q.argc < 1 || q.argc > SPAWN_ARGS_MAX || q.len == 0 ||
		    q.len > sizeof(buf) || io_full(in, buf, q.len, 0) != 0)
			_exit(1);
		buf[q.len - 1] = '\0';
		for (int i = 0; i < q.argc; i++) {
			av[i] = buf + at;
			at += strlen(buf + at) + 1;
			if (at > q.len)
				_exit(1);
		}
		av[q.argc] = NULL;
		run_child(av, q.out, q.quiet, &r);
		if (io_full(out, &r, sizeof(r), 1) != 0)
			_exit(1);
	}
	_exit(0);
}

static void
spawner_start(void)
{
	int req[2], rep[2];
	pid_t pid;

	if (pipe(req) != 0 || pipe(rep) != 0)
		die("pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(req[1]);
		close(rep[0]);
		spawner(req[0], rep[1]);
	}
	close(req[0]);
	close(rep[1]);
	spawn_fd = req[1];
	reply_fd = rep[0];
}

/* Run argv through the spawner; out NULL: stdout to /dev/null. */
static void
measure(char *const argv[], const char *out, int quiet, struct run *r)
{
	struct spawn_req q;
	char buf[SPAWN_BUF];

	memset(&q, 0, sizeof(q));
	q.quiet = quiet;
	if (out != NULL && (size_t)snprintf(q.out, sizeof(q.out), "%s", out) >=
	    sizeof(q.out))
		die("%s: path too long", out);
	for (q.argc = 0; argv[q.argc] != NULL; q.argc++) {
		size_t n = strlen(argv[q.argc]) + 1;

		if (q.argc == SPAWN_ARGS_MAX || q.len + n > sizeof(buf))
			die("%s: command line too long", argv[0]);
		memcpy(buf + q.len, argv[q.argc], n);
		q.len += n;
	}
	fflush(stdout);
	fflush(stderr);
	if (io_full(spawn_fd, &q, sizeof(q), 1) != 0 ||
	    io_full(spawn_fd, buf, q.len, 1) != 0 ||
	    io_full(reply_fd, r, sizeof(*r), 0) != 0)
		die("the spawner process went away");
	if (r->status == -1)
		die("running %s: %s", argv[0], strerror(r->err));
}

static int
by_wall(const void *a, const void *b)
{
	double x = ((const struct run *)a)->wall,
	    y = ((const struct run *)b)->wall;

	return x < y ? -1 : x > y;
}

static int
exited_ok(const struct run *r)
{
	return WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;
}

/* ---- setup -------------------------------------------------------------- */

/* A bijection of 64-bit integers (splitmix64's finaliser: an added
 * constant, xor-shifts and odd multipliers are each invertible), so
 * distinct i give distinct, random-looking octets. */
static uint64_t
mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Entry i's serial as the CA draws them (ca_serial_random: 16 octets, top
 * bit clear, next bit set); the low 8 octets are mix(i), so unique. */
static void
serial_of(long i, char out[SERIAL_HEX_MAX], int *shard)
{
	static const char hex[] = "0123456789ABCDEF";
	uint64_t hi = mix((uint64_t)i ^ 0x5bd1e9955bd1e995ULL),
	    lo = mix((uint64_t)i);
	uint8_t b[16];

	for (int k = 0; k < 8; k++) {
		b[k] = (uint8_t)(hi >> (56 - 8 * k));
		b[8 + k] = (uint8_t)(lo >> (56 - 8 * k));
	}
	b[0] = (uint8_t)((b[0] & 0x7F) | 0x40);
	for (int k = 0; k < 16; k++) {
		out[2 * k] = hex[b[k] >> 4];
		out[2 * k + 1] = hex[b[k] & 15];
	}
	out[32] = '\0';
	/* As issue.c places a certificate in its shard. */
	*shard = (int)(((unsigned)b[1] << 8 | b[2]) % 64);
}

/* The reasons J-LIS revokes for, superseded (renewal) the most common. */
static const int reasons[] = {
	REASON_SUPERSEDED, REASON_SUPERSEDED, REASON_SUPERSEDED,
	REASON_SUPERSEDED, REASON_CESSATION_OF_OPERATION,
	REASON_CESSATION_OF_OPERATION, REASON_UNSPECIFIED,
	REASON_KEY_COMPROMISE, REASON_AFFILIATION_CHANGED, REASON_SUPERSEDED,
};

/* openssl ca's index.txt names for them (none for unspecified). */
static const char *
openssl_reason(int reason)
{
	switch (reason) {
	case REASON_KEY_COMPROMISE:
		return "keyCompromise";
	case REASON_AFFILIATION_CHANGED:
		return "affiliationChanged";
	case REASON_SUPERSEDED:
		return "superseded";
	case REASON_CESSATION_OF_OPERATION:
		return "cessationOfOperation";
	default:
		return NULL;
	}
}

/* YYMMDDHHMMSSZ, as index.txt holds times. */
static void
utc_time(int64_t t, char buf[64])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	snprintf(buf, 64, "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ENTRIES revoked signing certificates in the store, and the same
 * revocations as openssl ca's index lines. */
static void
populate(struct ca *ca, long entries, FILE *index)
{
	struct store *s = datadir_store(ca_datadir(ca));
	uint8_t der[16] = {0x30, 0x0e};  /* a placeholder: CRLs never read it */
	int64_t now = jpki_now(), resident;
	struct cert_record c;

	if (support_resident_add(ca, 10000000000L, "東京都千代田区千代田1-1",
	    &resident) != JPKI_OK)
		die("resident: %s", jpki_errmsg());
	memset(&c, 0, sizeof(c));
	c.ca = CERT_SIGN;
	c.resident_id = resident;
	c.status = CERT_STATUS_VALID;
	c.der = der;
	c.der_len = sizeof(der);
	for (long i = 0; i < entries;) {
		if (store_begin(s) != JPKI_OK)
			die("setup: %s", jpki_errmsg());
		for (long end = i + TX_ROWS; i < entries && i < end; i++) {
			char expiry[64], revoked[64];
			int reason = reasons[i % 10];
			const char *name = openssl_reason(reason);
			int64_t at;

			serial_of(i, c.serial, &c.crl_shard);
			/* Issued over the last ~4 years, revoked half way
			 * between issuance and now. */
			c.not_before = now - DAY * (1 + i % 1500);
			c.not_after = c.not_before + SIGN_VALIDITY;
			c.issued_at = c.not_before;
			at = c.not_before + (now - c.not_before) / 2;
			if (store_cert_insert(s, &c) != JPKI_OK ||
			    store_cert_revoke(s, c.serial, reason, at) !=
			    JPKI_OK) {
				store_rollback(s);
				die("setup, entry %ld: %s", i, jpki_errmsg());
			}
			utc_time(c.not_after, expiry);
			utc_time(at, revoked);
			fprintf(index, "R\t%s\t%s%s%s\t%s\tunknown\t/CN=%s\n",
			    expiry, revoked, name ? "," : "", name ? name : "",
			    c.serial, c.serial);
		}
		if (store_commit(s) != JPKI_OK) {
			store_rollback(s);
			die("setup: %s", jpki_errmsg());
		}
	}
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		die("%s: %s", path, strerror(errno));
}

/* An openssl CA directory for the signing CA: its key and certificate,
 * a config with just what -gencrl reads, the CRL number, and index.txt
 * (left open for populate()). */
static FILE *
openssl_ca_dir(struct ca *ca, const char *datadir, const char *osdir)
{
	char path[1024], conf[3072];
	FILE *f;

	if (mkdir(osdir, 0700) != 0)
		die("%s: %s", osdir, strerror(errno));
	snprintf(path, sizeof(path), "%s/ca.pem", osdir);
	if ((f = fopen(path, "w")) == NULL ||
	    PEM_write_X509(f, ca_cert(ca, CERT_SIGN)) != 1 || fclose(f) != 0)
		die("%s: cannot write the CA certificate", path);
	snprintf(conf, sizeof(conf),
	    "[ca]\n"
	    "default_ca = jpki_sign\n"
	    "[jpki_sign]\n"
	    "database = %s/index.txt\n"
	    "crlnumber = %s/crlnumber\n"
	    "certificate = %s/ca.pem\n"
	    "private_key = %s/ca/sign-ca.key\n"
	    "default_md = sha256\n"
	    "default_crl_days = 1\n",
	    osdir, osdir, osdir, datadir);
	snprintf(path, sizeof(path), "%s/openssl.cnf", osdir);
	write_text(path, conf);
	snprintf(path, sizeof(path), "%s/crlnumber", osdir);
	write_text(path, "01\n");
	snprintf(path, sizeof(path), "%s/index.txt.attr", osdir);
	write_text(path, "unique_subject = no\n");
	snprintf(path, sizeof(path), "%s/index.txt", osdir);
	if ((f = fopen(path, "w")) == NULL)
		die("%s: %s", path, strerror(errno));
	return f;
}

/* ---- main --------------------------------------------------------------- */

static const char *
met(int ok)
{
	return ok ? "met" : "NOT met";
}

int
main(int argc, char **argv)
{
	char datadir[256], outdir[256], osdir[256], conf[300], crl_pem[300],
	    ca_pem[300], gen_out[300], cmd[1200], line[512], self[4096],
	    *ours_path = NULL;
	long entries = 1000000, got = -1, hwm_kb = -1;
	struct ca *ca = NULL;
	struct run runs[OURS_RUNS], ours, theirs, check;
	double t0, mb_ours, mb_theirs, speedup;
	int verified = 0;
	ssize_t n;
	FILE *index, *p;

	if (argc == 4 && strcmp(argv[1], "--generate") == 0)
		return generate_mode(argv[2], argv[3]);
	if (argc > 2 || (argc == 2 && (entries = atol(argv[1])) <= 0)) {
		fprintf(stderr, "usage: bench_crl [ENTRIES]\n");
		return 2;
	}
	spawner_start();  /* while this process is small */
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		die("/proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	if (mkdtemp(tmpdir) == NULL)
		die("%s: %s", tmpdir, strerror(errno));
	tmpdir_made = 1;
	snprintf(datadir, sizeof(datadir), "%s/data", tmpdir);
	snprintf(outdir, sizeof(outdir), "%s/crl", tmpdir);
	snprintf(osdir, sizeof(osdir), "%s/openssl", tmpdir);
	snprintf(conf, sizeof(conf), "%s/openssl.cnf", osdir);
	snprintf(crl_pem, sizeof(crl_pem), "%s/crl.pem", osdir);
	snprintf(ca_pem, sizeof(ca_pem), "%s/ca.pem", osdir);
	snprintf(gen_out, sizeof(gen_out), "%s/generate.out", tmpdir);

	/* Setup, not measured. */
	t0 = bench_seconds();
	if (support_ca_new(datadir, CA_KEYS_CA | CA_KEYS_OCSP, &ca) != JPKI_OK)
		die("data directory: %s", jpki_errmsg());
	store_set_durable(datadir_store(ca_datadir(ca)), 0);
	index = openssl_ca_dir(ca, datadir, osdir);
	populate(ca, entries, index);
	if (fclose(index) != 0)
		die("index.txt: %s", strerror(errno));
	support_ca_close(&ca);
	printf("bench: setup: %ld revoked signing certificates recorded "
	    "through the store (and openssl's index.txt) in %.1f s\n",
	    entries, bench_seconds() - t0);

	/* Ours: the full CRL of the signing CA, in a child of its own, a few
	 * times (each publishes the next CRL number): a shared machine's disk
	 * and cores make one run's time wander, so the median counts. */
	for (int i = 0; i < OURS_RUNS; i++) {
		char *av[] = {self, "--generate", datadir, outdir, NULL};

		measure(av, gen_out, 0, &runs[i]);
		if ((p = fopen(gen_out, "r")) == NULL)
			die("%s: %s", gen_out, strerror(errno));
		got = -1;
		while (fgets(line, sizeof(line), p) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (strncmp(line, "entries ", 8) == 0)
				got = atol(line + 8);
			else if (strncmp(line, "hwm_kb ", 7) == 0 &&
			    atol(line + 7) > hwm_kb)
				hwm_kb = atol(line + 7);
			else if (strncmp(line, "path ", 5) == 0 &&
			    ours_path == NULL)
				ours_path = strdup(line + 5);
		}
		fclose(p);
		if (!exited_ok(&runs[i]) || ours_path == NULL)
			die("ca_crl_generate failed in the child (status %#x)",
			    runs[i].status);
		if (got != entries)
			die("our CRL has %ld entries, not %ld", got, entries);
	}
	/* The median time; the largest peak RSS. */
	qsort(runs, OURS_RUNS, sizeof(runs[0]), by_wall);
	ours = runs[OURS_RUNS / 2];
	for (int i = 0; i < OURS_RUNS; i++)
		if (runs[i].maxrss_kb > ours.maxrss_kb)
			ours.maxrss_kb = runs[i].maxrss_kb;

	/* The baseline, on the same revocations. */
	{
		char *av[] = {"openssl", "ca", "-gencrl", "-batch", "-config",
		    conf, "-out", crl_pem, NULL};

		measure(av, NULL, 1, &theirs);
	}
	if (!exited_ok(&theirs))
		die("openssl ca -gencrl failed (status %#x); try it by hand: "
		    "openssl ca -gencrl -config %s", theirs.status, conf);
	{
		char *av[] = {"openssl", "crl", "-in", crl_pem, "-noout", NULL};

		measure(av, NULL, 1, &check);
	}
	if (!exited_ok(&check))
		die("openssl crl cannot read openssl ca -gencrl's output %s",
		    crl_pem);

	/* Ours must verify under the CA certificate. */
	snprintf(cmd, sizeof(cmd), "openssl crl -inform DER -in '%s' "
	    "-CAfile '%s' -noout 2>&1", ours_path, ca_pem);
	if ((p = popen(cmd, "r")) == NULL)
		die("popen: %s", strerror(errno));
	while (fgets(line, sizeof(line), p) != NULL)
		if (strncmp(line, "verify OK", 9) == 0)
			verified = 1;
	if (pclose(p) != 0 || !verified)
		die("our CRL %s does not verify: %s", ours_path, cmd);

	mb_ours = (double)ours.maxrss_kb / 1024;
	mb_theirs = (double)theirs.maxrss_kb / 1024;
	speedup = theirs.wall / ours.wall;
	printf("bench: ours: %ld entries, verify OK under the CA certificate;"
	    " %d runs: %.2f / %.2f / %.2f s (median counts); peak RSS %.1f MB "
	    "by wait4 (the child's own VmHWM: %.1f MB)\n", got, OURS_RUNS,
	    runs[0].wall, runs[OURS_RUNS / 2].wall, runs[OURS_RUNS - 1].wall,
	    mb_ours, (double)hwm_kb / 1024);
	printf("bench: targets (design.md): 1,000,000 entries >= 10x faster "
	    "than openssl ca -gencrl and <= 64 MB RSS; 10,000,000 entries "
	    "<= 10 s and <= 256 MB RSS\n");
	printf("bench: 1M target: %.1fx (>= 10x) %s, %.1f MB (<= 64 MB) %s%s\n",
	    speedup, met(speedup >= 10), mb_ours, met(mb_ours <= 64),
	    entries == 1000000 ? "" : " -- measured at this run's entry "
	    "count, not at 1,000,000");
	/* Not extrapolated: the time grows faster than the count. */
	if (entries == 10000000)
		printf("bench: 10M target: %.2f s (<= 10 s) %s, %.1f MB "
		    "(<= 256 MB) %s\n", ours.wall, met(ours.wall <= 10),
		    mb_ours, met(mb_ours <= 256));
	else
		printf("bench: 10M target: not measured by this run (run "
		    "bench_crl 10000000; its setup takes ~20 minutes)\n");
	printf("bench: crl %ld entries in %.2f s (%.1f MB RSS) vs openssl ca "
	    "-gencrl %.2f s (%.1f MB RSS) = %.1fx faster\n", entries,
	    ours.wall, mb_ours, theirs.wall, mb_theirs, speedup);
	free(ours_path);
	cleanup();
	return 0;
}
