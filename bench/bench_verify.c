/*
 * bench_verify.c: how many CMS signatures (CAdES-BES, a 1 KiB document,
 * a JPKI signing certificate) one core verifies per second with the status
 * cached, beside `openssl speed rsa2048` verifications in the same run:
 * the signature, the content digest, the chain to the CA, key usage and
 * policy, and the status the first verification fetched by OCSP from the
 * in-process `jpki serve` at the certificate's AIA (target: >= 5,000
 * documents/s per core).  Then login checks per second through the HTTP
 * server (POST /rp/login: the nonce used up in the store, the RS256
 * signature, the authentication certificate's chain and status), the
 * tokens made beforehand, from CLIENTS client threads.
 *
 * Setup (not measured): a throwaway data directory whose certificates
 * point at a free loopback port, one resident with both certificates for
 * keys made here, the server on that port with the relying party's routes.
 *
 * Both figures of the last line are per CPU second of one thread: ours by
 * the verifying thread's CPU clock, openssl's as `openssl speed` counts by
 * default (user CPU), so that other load on the machine moves neither.
 *
 * usage: bench_verify [SECONDS] [LOGINS]    (default 3 s, 2000 logins)
 */
#include "bench_util.h"
#include "support/open_ca.h"
#include "rp/rp.h"
#include "server/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CLIENTS 4

static char tmpdir[] = "/tmp/jpki-verifybench-XXXXXX";

static void die(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

static void
die(const char *fmt, ...)
{
	va_list ap;
	char cmd[128];

	fprintf(stderr, "bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", jpki_errmsg());
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: could not remove %s\n", tmpdir);
	exit(1);
}

/* CPU seconds of the calling thread: the figure `openssl speed` divides
 * by too (its default), so both are per core whatever else runs. */
static double
thread_cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned
free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int
key_sign(void *arg, const uint8_t hash[32], uint8_t *sig, size_t *sig_len)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(arg, NULL);
	int ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
	    EVP_PKEY_sign(ctx, sig, sig_len, hash, 32) == 1;

	EVP_PKEY_CTX_free(ctx);
	return ok ? JPKI_OK : jpki_fail(JPKI_ERR_CRYPTO, "signing");
}

static X509 *
issue(struct ca *ca, enum cert_type type, EVP_PKEY *key)
{
	struct ca_issue_request req = {.resident_id = 1, .type = type,
	    .pub = key, .actor = "bench"};
	struct ca_issued out;
	const uint8_t *p;
	X509 *x;

	if (ca_issue(ca, &req, &out) != JPKI_OK)
		die("issuing");
	p = out.der;
	x = d2i_X509(NULL, &p, (long)out.der_len);
	ca_issued_free(&out);
	return x;
}

/* `openssl speed rsa2048`'s verifications per second (one core). */
static double
openssl_rsa_verify(int seconds)
{
	char cmd[128], line[256];
	double sign = 0, verify = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "openssl speed -seconds %d -mr rsa2048 "
	    "2>/dev/null", seconds);
	if ((f = popen(cmd, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "+F2:%*u:2048:%lf:%lf", &sign, &verify) == 2)
			break;
	pclose(f);
	return verify;
}

/* ---- logins through HTTP ---------------------------------------------- */

struct login_work {
	const char *url;
	char **tokens;
	size_t from, to;
	long ok, refused;
};

static void *
login_client(void *arg)
{
	struct login_work *w = arg;

	for (size_t i = w->from; i < w->to; i++) {
		struct rp_http_answer a;

		if (rp_http_post(w->url, "application/json", w->tokens[i],
		    strlen(w->tokens[i]), RP_HTTP_JSON_MAX, &a) != JPKI_OK) {
			w->refused++;
			continue;
		}
		if (a.status == 200)
			w->ok++;
		else
			w->refused++;
		rp_http_answer_free(&a);
	}
	return NULL;
}

/* A login token for the authentication certificate, as jpki login makes
 * it, for a fresh challenge. */
static char *
make_token(const char *base, const char *origin, X509 *cert, EVP_PKEY *key)
{
	char url[256], *out, cert_b64[4096], sig_b64[400];
	uint8_t digest[32], sig[256], *der = NULL;
	size_t sig_len = sizeof(sig);
	struct rp_http_answer a;
	json_t *j;
	int n = 0;

	snprintf(url, sizeof(url), "%s/rp/challenge", base);
	if (rp_http_post(url, "application/json", "", 0, RP_HTTP_JSON_MAX,
	    &a) != JPKI_OK || a.status != 200)
		die("POST /rp/challenge");
	j = json_loadb((const char *)a.body.data, a.body.len, 0, NULL);
	rp_http_answer_free(&a);
	if (j == NULL || rp_login_digest(origin, json_string_value(
	    json_object_get(j, "nonce")), digest) != JPKI_OK ||
	    key_sign(key, digest, sig, &sig_len) != JPKI_OK ||
	    (n = i2d_X509(cert, &der)) <= 0)
		die("a login token");
	EVP_EncodeBlock((unsigned char *)cert_b64, der, n);
	EVP_EncodeBlock((unsigned char *)sig_b64, sig, (int)sig_len);
	OPENSSL_free(der);
	json_object_set_new(j, "certificate", json_string(cert_b64));
	json_object_set_new(j, "signature", json_string(sig_b64));
	json_object_set_new(j, "algorithm", json_string(RP_LOGIN_ALGORITHM));
	json_object_set_new(j, "format", json_string(RP_LOGIN_FORMAT));
	json_object_del(j, "expires_at");
	json_object_del(j, "origin");
	out = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return out;
}

int
main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 3;
	long logins = argc > 2 ? atol(argv[2]) : 2000;
	unsigned port = free_port();
	char base[64], origin[RP_ORIGIN_MAX + 1], url[128], cmd[128];
	struct datadir_init_options io = {0};
	struct server_options so = {0};
	struct rp_service_options ro = {0};
	struct rp_service *rp = NULL;
	struct server *srv = NULL;
	struct rp_verifier *v = NULL;
	struct rp_sign_params sp = {0};
	struct rp_result res;
	struct ca *ca = NULL;
	struct datadir *dd = NULL;
	struct jbuf cms;
	EVP_PKEY *sign_key = EVP_RSA_gen(2048), *auth_key = EVP_RSA_gen(2048);
	X509 *sign_cert, *auth_cert;
	uint8_t doc[1024];
	double t0, elapsed, ours, theirs, cpu0;

	long n = 0;
	pthread_t th[CLIENTS];
	struct login_work work[CLIENTS];
	char **tokens;
	long ok = 0, refused = 0;

	if (seconds < 1 || logins < CLIENTS || port == 0 || sign_key == NULL ||
	    auth_key == NULL || mkdtemp(tmpdir) == NULL)
		die("setup");
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", port);
	io.base_url = base;
	snprintf(url, sizeof(url), "%s/data", tmpdir);
	if (support_datadir_init(url, &io) != JPKI_OK ||
	    support_ca_open(url, CA_KEYS_CA, &ca) != JPKI_OK ||
	    bench_register_residents(ca, 10000000000L, 1) != JPKI_OK)
		die("data directory");
	sign_cert = issue(ca, CERT_SIGN, sign_key);
	auth_cert = issue(ca, CERT_AUTH, auth_key);
	support_ca_close(&ca);

	/* The server with the relying party's routes. */
	ro.data_dir = url;
	so.data_dir = url;
	so.host = "127.0.0.1";
	so.port = port;
	if (rp_service_new(&ro, &rp) != JPKI_OK)
		die("relying party");
	so.handlers = rp_service_handlers(rp, &so.nhandlers);
	if (server_start(&so, &srv) != JPKI_OK)
		die("server");

	/* One signed document. */
	memset(doc, 'A', sizeof(doc));
	jbuf_init(&cms);
	sp.cert = sign_cert;
	sp.content = doc;
	sp.content_len = sizeof(doc);
	sp.signing_time = jpki_now();
	sp.sign = key_sign;
	sp.arg = sign_key;
	if (rp_cms_sign(&sp, &cms) != JPKI_OK)
		die("signing");

	/* The verifier: the CAs as anchors, status by OCSP (then cached). */
	if (datadir_open(url, DATADIR_READ_ONLY, &dd) != JPKI_OK ||
	    rp_verifier_new(NULL, 0, &v) != JPKI_OK ||
	    rp_verifier_add_datadir_anchors(v, dd) != JPKI_OK)
		die("verifier");
	if (rp_cms_verify(v, cms.data, cms.len, NULL, 0, jpki_now(), &res) !=
	    JPKI_OK || res.reason != RP_VALID ||
	    res.status.source != RP_SRC_OCSP)
		die("the first verification (%s: %s)", rp_reason_name(
		    res.reason), res.why);
	rp_result_free(&res);
	printf("bench: first verification: valid, status by OCSP from %s\n",
	    base);

	cpu0 = thread_cpu_seconds();
	t0 = bench_seconds();
	do {
		for (int i = 0; i < 100; i++, n++) {
			if (rp_cms_verify(v, cms.data, cms.len, NULL, 0,
			    jpki_now(), &res) != JPKI_OK ||
			    res.reason != RP_VALID || !res.status.cached)
				die("verification %ld", n);
			rp_result_free(&res);
		}
	} while ((elapsed = bench_seconds() - t0) < seconds);
	cpu0 = thread_cpu_seconds() - cpu0;
	ours = (double)n / cpu0;
	printf("bench: %ld verifications in %.2f s on one thread, %.2f s of "
	    "its CPU (%.0f/s wall), status cached\n", n, elapsed, cpu0,
	    (double)n / elapsed);
	theirs = openssl_rsa_verify(seconds);

	/* Logins through HTTP: tokens first, then the POSTs timed. */
	if (rp_origin_of(base, origin) != JPKI_OK ||
	    (tokens = calloc((size_t)logins, sizeof(*tokens))) == NULL)
		die("tokens");
	for (long i = 0; i < logins; i++)
		tokens[i] = make_token(base, origin, auth_cert, auth_key);
	snprintf(url, sizeof(url), "%s/rp/login", base);
	t0 = bench_seconds();
	for (int i = 0; i < CLIENTS; i++) {
		work[i] = (struct login_work){.url = url, .tokens = tokens,
		    .from = (size_t)(logins * i / CLIENTS),
		    .to = (size_t)(logins * (i + 1) / CLIENTS)};
		pthread_create(&th[i], NULL, login_client, &work[i]);
	}
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(th[i], NULL);
		ok += work[i].ok;
		refused += work[i].refused;
	}
	elapsed = bench_seconds() - t0;
	if (refused != 0 || ok != logins)
		die("%ld logins refused", refused);
	printf("bench: login: %ld checks through HTTP in %.2f s = %.0f/s "
	    "(%d clients, %ld server threads)\n", ok, elapsed,
	    (double)ok / elapsed, CLIENTS, sysconf(_SC_NPROCESSORS_ONLN));

	printf("bench: per core (CPU seconds, as openssl speed counts); target "
	    ">= 5000 docs/s\n");
	printf("bench: verify %.0f docs/s vs rsa2048-verify %.0f verifies/s = "
	    "%.2fx\n", ours, theirs, theirs > 0 ? ours / theirs : 0);

	for (long i = 0; i < logins; i++)
		free(tokens[i]);
	free(tokens);
	server_stop(&srv);
	rp_service_free(&rp);
	rp_verifier_free(&v);
	datadir_close(&dd);
	jbuf_free(&cms);
	X509_free(sign_cert);
	X509_free(auth_cert);
	EVP_PKEY_free(sign_key);
	EVP_PKEY_free(auth_key);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: could not remove %s\n", tmpdir);
	return 0;
}
