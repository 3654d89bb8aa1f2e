/*
 * bench_ocsp-presign.c: how fast OCSP responses are pre-signed, beside
 * the machine's RSA-2048 signing limit measured in the same run (`openssl
 * speed rsa2048` signs/s x cores, before and after, their mean; target
 * >= 0.75x), and the resident memory of `jpki serve` answering from
 * COUNT pre-signed responses (target: 1,000,000 in <= 256 MB RSS).
 *
 * Setup (not measured): a throwaway data directory with COUNT
 * certificates recorded through the store as issuance records them (both
 * CAs, serials of 16 random-looking octets, 1 in 50 revoked; a placeholder
 * instead of each certificate's DER, which OCSP never reads).
 *
 * On a shared, oversubscribed machine both wall-clock figures follow the
 * load; the CPU time a response costs against the CPU time openssl
 * spends on a signature (openssl speed without -elapsed) is printed too.
 *
 * Measured: ca_presign_run() over every certificate (the library function
 * `jpki ocsp presign` and the server's pre-signer run) with one signing
 * thread per core, each response written to the store.  Then `jpki serve`
 * (this build's, beside this program) is started on the data directory
 * with its pre-signer, and asked, over one keep-alive connection, one
 * request after another, REQUESTS POSTs for certificates picked uniformly
 * among the COUNT (a check that it answers from the stored responses, not
 * a load test: the load generator is `make bench BENCH=ocsp`); every
 * answer must be successful, and /metrics must count them pre-signed.
 * Its VmRSS and VmHWM are read from /proc at the end.
 *
 * usage: bench_ocsp-presign [COUNT [REQUESTS]]   (1000000, 50000)
 */
#include "bench_util.h"
#include "support/open_ca.h"
#include "ca/ca.h"
#include "pki/pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define TX_ROWS 50000
#define DAY 86400
#define REVOKED_ONE_IN 50

static char tmpdir[] = "/tmp/jpki-presignbench-XXXXXX";
static int tmpdir_made;
static pid_t server_pid = -1;

static void
cleanup(void)
{
	char cmd[128];

	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
		server_pid = -1;
	}
	if (!tmpdir_made)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: could not remove %s\n", tmpdir);
	tmpdir_made = 0;
}

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

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

static double openssl_speed(const char *cmd);

/* openssl speed's RSA-2048 signs per second on one core: per wall-clock
 * second (elapsed 1), as our own figure is, or per CPU second. */
static double
openssl_sign_rate(int elapsed)
{
	return openssl_speed(elapsed ?
	    "openssl speed -elapsed -seconds 3 rsa2048 2>/dev/null" :
	    "openssl speed -seconds 3 rsa2048 2>/dev/null");
}

/* The same with one process per core at once (-multi): what the cores
 * give to as many signers as this program runs, now. */
static double
openssl_sign_rate_multi(long cores)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "openssl speed -elapsed -multi %ld "
	    "-seconds 3 rsa2048 2>/dev/null", cores);
	return openssl_speed(cmd);
}

static double
openssl_speed(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	char line[512];
	double rate = 0, sign_s, verify_s, sps, vps;

	if (p == NULL)
		return 0;
	while (fgets(line, sizeof(line), p) != NULL)
		if (sscanf(line, "rsa 2048 bits %lfs %lfs %lf %lf", &sign_s,
		    &verify_s, &sps, &vps) == 4)
			rate = sps;
	pclose(p);
	return rate;
}

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Certificate i: its serial's 16 octets (positive, no leading zero). */
static void
serial_octets(long i, uint8_t b[16])
{
	uint64_t hi = mix((uint64_t)i ^ 0x5bd1e9955bd1e995ULL),
	    lo = mix((uint64_t)i);

	for (int k = 0; k < 8; k++) {
		b[k] = (uint8_t)(hi >> (56 - 8 * k));
		b[8 + k] = (uint8_t)(lo >> (56 - 8 * k));
	}
	b[0] = (uint8_t)((b[0] & 0x7F) | 0x40);
}

static void
populate(struct ca *ca, long count)
{
	struct store *s = datadir_store(ca_datadir(ca));
	uint8_t der[16] = {0x30, 0x0e};  /* a placeholder: OCSP never reads it */
	int64_t now = jpki_now(), resident;
	struct cert_record c;
	uint8_t b[16];

	if (support_resident_add(ca, 10000000000L, "東京都千代田区千代田1-1",
	    &resident) != JPKI_OK)
		die("resident: %s", jpki_errmsg());
	memset(&c, 0, sizeof(c));
	c.resident_id = resident;
	c.status = CERT_STATUS_VALID;
	c.der = der;
	c.der_len = sizeof(der);
	for (long i = 0; i < count;) {
		if (store_begin(s) != JPKI_OK)
			die("setup: %s", jpki_errmsg());
		for (long end = i + TX_ROWS; i < count && i < end; i++) {
			serial_octets(i, b);
			if (pki_serial_hex(b, 16, c.serial, sizeof(c.serial)))
				die("serial: %s", jpki_errmsg());
			c.ca = i % 2 ? CERT_AUTH : CERT_SIGN;
			c.crl_shard = (int)(((unsigned)b[1] << 8 | b[2]) % 64);
			c.not_before = now - DAY * (1 + i % 1500);
			c.not_after = now + DAY * (30 + i % 1500);
			c.issued_at = c.not_before;
			if (store_cert_insert(s, &c) != JPKI_OK ||
			    (i % REVOKED_ONE_IN == 0 && store_cert_revoke(s,
			    c.serial, 4, now - DAY) != JPKI_OK)) {
				store_rollback(s);
				die("setup, certificate %ld: %s", i, jpki_errmsg());
			}
		}
		if (store_commit(s) != JPKI_OK) {
			store_rollback(s);
			die("setup: %s", jpki_errmsg());
		}
	}
}

/* A kB figure from /proc/PID/status ("VmRSS", "VmHWM"), or -1. */
static long
proc_status_kb(pid_t pid, const char *field)
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

/* `jpki serve` on the data directory, any free port: its port. */
static unsigned
server_start(const char *jpki)
{
	int out[2];
	char line[512];
	unsigned port = 0;
	FILE *f;

	if (pipe(out) != 0)
		die("pipe: %s", strerror(errno));
	if ((server_pid = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (server_pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		execl(jpki, jpki, "--data", tmpdir, "serve", "--listen",
		    "127.0.0.1:0", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	if ((f = fdopen(out[0], "r")) == NULL)
		die("fdopen: %s", strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "jpki: serving http://127.0.0.1:%u/", &port) == 1)
			break;
	if (port == 0)
		die("jpki serve did not start (%s)", jpki);
	/* Its stdout stays open: a pipe nobody reads would fill, but the
	 * server says nothing more until it stops. */
	return port;
}

static int
connect_to(unsigned port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		die("connect: %s", strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void
write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t k = write(fd, b, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			die("write: %s", strerror(errno));
		b += k;
		n -= (size_t)k;
	}
}

/* One HTTP/1.1 exchange on fd: the status and the body into body. */
static int
exchange(int fd, const char *head, const uint8_t *req, size_t req_len,
    struct jbuf *body)
{
	char buf[8192];
	size_t have = 0, clen = 0;
	char *end = NULL, *cl;
	int status = 0;

	write_all(fd, head, strlen(head));
	if (req_len > 0)
		write_all(fd, req, req_len);
	while (end == NULL) {
		ssize_t k = read(fd, buf + have, sizeof(buf) - 1 - have);

		if (k <= 0)
			die("read: %s", k < 0 ? strerror(errno) : "closed");
		have += (size_t)k;
		buf[have] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end == NULL && have == sizeof(buf) - 1)
			die("headers too long");
	}
	if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
		die("not HTTP: %.40s", buf);
	if ((cl = strcasestr(buf, "\r\nContent-Length:")) == NULL || cl > end)
		die("no Content-Length");
	clen = (size_t)atol(cl + 17);
	end += 4;
	body->len = 0;
	if (jbuf_put(body, end, have - (size_t)(end - buf)) != JPKI_OK)
		die("out of memory");
	while (body->len < clen) {
		ssize_t k = read(fd, buf, sizeof(buf));

		if (k <= 0)
			die("read body: %s", k < 0 ? strerror(errno) : "closed");
		if (jbuf_put(body, buf, (size_t)k) != JPKI_OK)
			die("out of memory");
	}
	return status;
}

/* An OCSPRequest for one CertID (RFC 5019: SHA-1, no nonce). */
static size_t
request_of(const struct pki_ocsp_certid *id, uint8_t *out)
{
	size_t n = 0, l = id->der_len;

	out[n++] = 0x30;
	out[n++] = (uint8_t)(l + 6);
	out[n++] = 0x30;
	out[n++] = (uint8_t)(l + 4);
	out[n++] = 0x30;
	out[n++] = (uint8_t)(l + 2);
	out[n++] = 0x30;
	out[n++] = (uint8_t)l;
	memcpy(out + n, id->der, l);
	return n + l;
}

static unsigned long
metric(const char *text, const char *name)
{
	const char *p = text;
	size_t n = strlen(name);

	/* At the start of a line: not the HELP line naming it. */
	while ((p = strstr(p, name)) != NULL) {
		if (p == text || p[-1] == '\n')
			return strtoul(p + n, NULL, 10);
		p += n;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	long count = argc > 1 ? atol(argv[1]) : 1000000;
	long requests = argc > 2 ? atol(argv[2]) : 50000;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	char jpki[JPKI_PATH_MAX], self[JPKI_PATH_MAX], head[256];
	uint8_t name[2][32], key[2][32], sb[16], req[256];
	struct ca *ca = NULL;
	struct ca_presigner *ps = NULL;
	struct ca_presign_pass pass;
	struct jbuf body;
	double t0, c0, elapsed, cpu, before, after, limit, rate, t_serve, per_cpu,
	    multi_before, multi_after, multi;
	long made, ok = 0, rss, hwm;
	unsigned port;
	int fd;

	if (count <= 0 || requests < 0 || cores <= 0)
		return 2;
	snprintf(self, sizeof(self), "%s", argv[0]);
	snprintf(jpki, sizeof(jpki), "%s/jpki", dirname(self));
	if (access(jpki, X_OK) != 0)
		die("%s: not found (build the jpki target)", jpki);
	if (mkdtemp(tmpdir) == NULL)
		die("mkdtemp: %s", strerror(errno));
	tmpdir_made = 1;
	if (support_ca_new(tmpdir, CA_KEYS_OCSP, &ca) != JPKI_OK)
		die("setup: %s", jpki_errmsg());
	populate(ca, count);
	printf("bench: %ld certificates (both CAs, 1 in %d revoked) in the "
	    "store\n", count, REVOKED_ONE_IN);
	fflush(stdout);

	before = openssl_sign_rate(1);
	multi_before = openssl_sign_rate_multi(cores);
	memset(&pass, 0, sizeof(pass));
	pass.what = CA_PRESIGN_ALL;
	t0 = bench_seconds();
	c0 = bench_cpu_seconds(RUSAGE_SELF);
	if (store_set_durable(datadir_store(ca_datadir(ca)), 0) != JPKI_OK ||
	    ca_presigner_new(ca, (int)cores, &ps) != JPKI_OK ||
	    ca_presign_run(ps, &pass) != JPKI_OK)
		die("presign: %s", jpki_errmsg());
	elapsed = bench_seconds() - t0;
	cpu = bench_cpu_seconds(RUSAGE_SELF) - c0;
	ca_presigner_free(&ps);
	after = openssl_sign_rate(1);
	multi_after = openssl_sign_rate_multi(cores);
	per_cpu = openssl_sign_rate(0);
	made = pass.signed_good + pass.signed_revoked;
	if (made != count)
		die("presigned %ld of %ld", made, count);
	limit = (before + after) / 2 * (double)cores;
	rate = (double)made / elapsed;
	printf("bench: presigned %ld responses (%ld good, %ld revoked) in "
	    "%.1f s, %ld threads, %.0f%% of the cores busy\n", made,
	    pass.signed_good, pass.signed_revoked, elapsed, cores,
	    100 * cpu / elapsed / (double)cores);
	printf("bench: of which reading the store %.1f s, signing %.1f s, "
	    "writing %.1f s\n", pass.scan_s, pass.sign_s, pass.write_s);
	printf("bench: openssl speed rsa2048: %.0f signs/s per core before, "
	    "%.0f after; mean x %ld cores = %.0f signs/s\n", before, after,
	    cores, limit);
	/* On a shared machine the wall-clock figures move with the load;
	 * CPU time per answer against openssl's per signature does not. */
	printf("bench: %.0f us of CPU a response vs openssl %.0f us a "
	    "signature (%.0f signs per CPU second) = %.2fx\n",
	    1e6 * cpu / (double)made, per_cpu > 0 ? 1e6 / per_cpu : 0, per_cpu,
	    per_cpu > 0 ? (1e6 / per_cpu) / (1e6 * cpu / (double)made) : 0);
	multi = (multi_before + multi_after) / 2;
	printf("bench: openssl speed -multi %ld rsa2048: %.0f signs/s before, "
	    "%.0f after\n", cores, multi_before, multi_after);
	printf("bench: presign %.0f responses/s vs openssl-multi-%ld %.0f "
	    "signs/s = %.2fx\n", rate, cores, multi, multi > 0 ? rate / multi :
	    0);
	printf("bench: presign %.0f responses/s vs rsa2048-sign-limit %.0f "
	    "signs/s = %.2fx\n", rate, limit, limit > 0 ? rate / limit : 0);
	fflush(stdout);

	/* The issuer hashes the requests name the CAs by. */
	for (int t = 0; t < 2; t++)
		if (pki_ocsp_issuer_hashes(ca_cert(ca, t ? CERT_AUTH : CERT_SIGN),
		    PKI_OCSP_SHA1, name[t], key[t]) != JPKI_OK)
			die("hashes: %s", jpki_errmsg());
	support_ca_close(&ca);

	t_serve = bench_seconds();
	port = server_start(jpki);
	fd = connect_to(port);
	jbuf_init(&body);
	srand(12345);
	t0 = bench_seconds();
	for (long k = 0; k < requests; k++) {
		long i = (long)(((uint64_t)rand() << 31 | (uint64_t)rand()) %
		    (uint64_t)count);
		struct pki_ocsp_certid id;
		size_t len;

		serial_octets(i, sb);
		if (pki_ocsp_certid_sha1(name[i % 2], key[i % 2], sb, 16, &id))
			die("CertID: %s", jpki_errmsg());
		len = request_of(&id, req);
		snprintf(head, sizeof(head), "POST /ocsp HTTP/1.1\r\nHost: "
		    "127.0.0.1\r\nContent-Type: application/ocsp-request\r\n"
		    "Content-Length: %zu\r\n\r\n", len);
		if (exchange(fd, head, req, len, &body) != 200)
			die("request %ld: HTTP error", k);
		/* OCSPResponse { responseStatus successful (0) ... } */
		if (body.len < 8 || body.data[0] != 0x30 ||
		    memcmp(body.data + 4, "\x0a\x01\x00", 3) != 0)
			die("request %ld: not a successful response", k);
		ok++;
	}
	elapsed = bench_seconds() - t0;
	if (exchange(fd, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
	    NULL, 0, &body) != 200 || jbuf_put_u8(&body, 0) != JPKI_OK)
		die("/metrics");
	rss = proc_status_kb(server_pid, "VmRSS");
	hwm = proc_status_kb(server_pid, "VmHWM");
	close(fd);
	printf("bench: jpki serve answered %ld requests for certificates "
	    "picked among %ld, one at a time on one connection, in %.1f s "
	    "(started %.1f s before); pre-signed answers %lu, live %lu; "
	    "stored %lu\n", ok, count, elapsed, t0 - t_serve,
	    metric((char *)body.data,
	    "jpki_ocsp_answers_total{source=\"presigned\"} "),
	    metric((char *)body.data, "jpki_ocsp_answers_total{source=\"live\"} "),
	    metric((char *)body.data, "jpki_ocsp_presigned_responses "));
	printf("bench: serve RSS %.1f MB (peak %.1f MB) with %ld pre-signed "
	    "vs target 256 MB = %.2fx\n", (double)rss / 1024,
	    (double)hwm / 1024, count, (double)hwm / 1024 / 256);
	jbuf_free(&body);
	cleanup();
	return 0;
}
