/*
 * bench_ocsp-soak.c: `jpki serve` for ten minutes at half its measured
 * capacity while certificates are revoked and issued beside it.  Passes
 * when there are 0 errors, every answer is right for the state at the time
 * and the server's RSS grows by at most 10 % after its warm-up.
 *
 * On a copy of bench_ocsp's data set (ocsp_data.h; 100,000 certificates,
 * built or taken from the build directory), with the server's own CRL
 * publisher on:
 *   1. capacity: 5 s of the load generator's closed loop, 64 connections;
 *   2. the soak: the same 64 connections offering half that rate (each
 *      connection asks at its own steady pace), every answer decoded and
 *      its status checked, for BENCH_OCSP_SOAK_SECONDS (default 600);
 *   3. beside it, a thread of this process with the CA keys revokes a
 *      random good certificate of the set and issues a new one (for
 *      residents registered for it), each SOAK_CHANGES_PER_S times a
 *      second, each through the library as `jpki cert revoke` and `jpki
 *      ca issue` do; issued certificates join the requests drawn from.
 * "Right for the state at the time": a certificate's expected status
 * changes from good to revoked when its revocation commits; an answer
 * within SOAK_BOUND_S after that may say either (the propagation bound
 * issue 10 sets for pre-signed answers; answers signed from the store
 * show it at once).  After that only revoked is right, and an answer is
 * judged against the state when its request was sent or when its answer
 * came, whichever it matches.
 * RSS: /proc/PID/status VmRSS every 5 s; the baseline is the first sample
 * after a tenth of the time (at most 60 s), the figure the largest after.
 *
 * usage: bench_ocsp-soak [CERTS]       (default 100000)
 * env:   BENCH_OCSP_SOAK_SECONDS       the soak's length (default 600)
 */
#include "ocsp_data.h"

#include <pthread.h>

#define CONNS 64
#define SOAK_CHANGES_PER_S 5
#define SOAK_BOUND_S 1.0
#define SOAK_RSS_EVERY_S 5.0
#define SOAK_KEYS 4

struct soak {
	struct ocsp_data *d;
	char data[256];
	size_t live;                 /* requests drawn from (grows) */
	size_t cap;
	volatile int stop;
	long revoked, issued, change_errors;
	char change_error[256];
	/* the server's RSS */
	pid_t server;
	double duration, rss_from, next_rss, last_report;
	long rss_base_kb, rss_max_kb, rss_first_kb;
	unsigned long last_answers;
};

/* ---- revocations and issuance beside the load ---------------------------- */

struct pending {
	size_t ri;
	double due;
};

static void
change_failed(struct soak *s, const char *what)
{
	if (s->change_errors++ == 0)
		snprintf(s->change_error, sizeof(s->change_error), "%s: %s",
		    what, jpki_errmsg());
}

/* A new certificate's request into the set, then made visible. */
static void
add_request(struct soak *s, struct ca *ca, enum cert_type t,
    const struct ca_issued *is)
{
	const unsigned char *p = is->der;
	X509 *x = d2i_X509(NULL, &p, (long)is->der_len);
	OCSP_REQUEST *rq = OCSP_REQUEST_new();
	OCSP_CERTID *id = NULL;
	struct load_req *q = &s->d->reqs[s->live];
	unsigned char *der = NULL;
	int len;

	if (x != NULL && rq != NULL &&
	    (id = OCSP_cert_to_id(EVP_sha1(), x, ca_cert(ca, t))) != NULL &&
	    OCSP_request_add0_id(rq, id) != NULL &&
	    (len = i2d_OCSP_REQUEST(rq, &der)) > 0 && len <= LOAD_REQ_MAX) {
		memset(q, 0, sizeof(*q));
		memcpy(q->der, der, (size_t)len);
		q->len = (uint16_t)len;
		q->endpoint = t == CERT_SIGN ? 0 : 1;
		q->expect = V_OCSP_CERTSTATUS_GOOD;
		memcpy(s->d->serials + s->live * SERIAL_HEX_MAX, is->serial,
		    SERIAL_HEX_MAX);
		__atomic_store_n(&s->live, s->live + 1, __ATOMIC_RELEASE);
	} else {
		jpki_fail(JPKI_ERR_CRYPTO, "an OCSP request for %s", is->serial);
		change_failed(s, "request");
	}
	OPENSSL_free(der);
	OCSP_REQUEST_free(rq);
	X509_free(x);
}

static void *
changer(void *arg)
{
	struct soak *s = arg;
	struct ca *ca = NULL;
	struct pending *pend;
	size_t npend = 0, head = 0, cap = (size_t)(s->duration *
	    SOAK_CHANGES_PER_S) + 64;
	EVP_PKEY *keys[SOAK_KEYS] = {0};
	unsigned seed = 4242;
	long next_resident = 1;
	int64_t first_resident = 0;
	double next = load_now();

	if ((pend = calloc(cap, sizeof(*pend))) == NULL ||
	    support_ca_open(s->data, CA_KEYS_CA, &ca) != JPKI_OK) {
		change_failed(s, "opening the CA");
		free(pend);
		return NULL;
	}
	for (int i = 0; i < SOAK_KEYS; i++)
		keys[i] = EVP_RSA_gen(2048);
	/* Residents for the new certificates: after the data set's. */
	{
		long have = 0;

		store_resident_count(datadir_store(ca_datadir(ca)), &have);
		first_resident = have + 1;
		if (bench_register_residents(ca, 30000000000L, (long)cap) !=
		    JPKI_OK)
			change_failed(s, "registering residents");
	}
	while (!s->stop) {
		double now = load_now();
		struct timespec ts = {0, 5 * 1000 * 1000};

		/* Revocations older than the bound: revoked is the only
		 * right answer from now on. */
		while (head < npend && pend[head].due <= now) {
			s->d->reqs[pend[head].ri].expect =
			    V_OCSP_CERTSTATUS_REVOKED;
			head++;
		}
		if (now < next) {
			nanosleep(&ts, NULL);
			continue;
		}
		next += 1.0 / SOAK_CHANGES_PER_S;
		/* A revocation of a good certificate of the set. */
		for (int tries = 0; tries < 100 && npend < cap; tries++) {
			size_t live = __atomic_load_n(&s->live,
			    __ATOMIC_ACQUIRE);
			size_t ri = (size_t)rand_r(&seed) % live;
			struct load_req *q = &s->d->reqs[ri];

			if (q->expect != V_OCSP_CERTSTATUS_GOOD)
				continue;
			q->expect = LOAD_EXPECT_EITHER;
			if (ca_revoke(ca, s->d->serials + ri * SERIAL_HEX_MAX,
			    REASON_KEY_COMPROMISE, "soak") != JPKI_OK) {
				change_failed(s, "revoking");
				break;
			}
			pend[npend].ri = ri;
			pend[npend].due = load_now() + SOAK_BOUND_S;
			npend++;
			s->revoked++;
			break;
		}
		/* An issuance. */
		if (s->live < s->cap) {
			struct ca_issue_request rq = {
			    .resident_id = first_resident + next_resident - 1,
			    .type = next_resident % 2 ? CERT_SIGN : CERT_AUTH,
			    .pub = keys[next_resident % SOAK_KEYS],
			    .actor = "soak"};
			struct ca_issued is;

			next_resident++;
			if (ca_issue(ca, &rq, &is) != JPKI_OK) {
				change_failed(s, "issuing");
			} else {
				add_request(s, ca, rq.type, &is);
				ca_issued_free(&is);
				s->issued++;
			}
		}
	}
	for (int i = 0; i < SOAK_KEYS; i++)
		EVP_PKEY_free(keys[i]);
	free(pend);
	support_ca_close(&ca);
	return NULL;
}

/* ---- the load's clock: RSS samples and progress ------------------------- */

static int
tick(void *arg, double elapsed, unsigned long answers)
{
	struct soak *s = arg;
	long kb;

	if (elapsed < s->next_rss)
		return 0;
	s->next_rss = elapsed + SOAK_RSS_EVERY_S;
	if ((kb = od_rss_kb(s->server, "VmRSS")) < 0) {
		fprintf(stderr, "bench: the server has gone\n");
		return 1;
	}
	if (s->rss_first_kb == 0)
		s->rss_first_kb = kb;
	if (elapsed >= s->rss_from) {
		if (s->rss_base_kb == 0)
			s->rss_base_kb = kb;
		if (kb > s->rss_max_kb)
			s->rss_max_kb = kb;
	}
	if (elapsed - s->last_report >= 60) {
		printf("bench: soak: %4.0f s: %.0f responses/s, RSS %.1f MB, "
		    "%ld revoked, %ld issued\n", elapsed, (double)(answers -
		    s->last_answers) / (elapsed - s->last_report),
		    (double)kb / 1024, s->revoked, s->issued);
		fflush(stdout);
		s->last_report = elapsed;
		s->last_answers = answers;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	const char *env = getenv("BENCH_OCSP_SOAK_SECONDS");
	double duration = env != NULL ? atof(env) : 600, capacity, growth;
	struct ocsp_data d;
	struct soak s;
	struct load_opts o;
	struct load_result cap_r, r;
	char tmp[] = "/tmp/jpki-soak-XXXXXX", addr[64], log[1200], crl[16];
	uint16_t port;
	pthread_t th;
	int ok;

	if (n < 2 || duration <= 0 || argc > 2) {
		fprintf(stderr, "usage: bench_ocsp-soak [CERTS]  (env "
		    "BENCH_OCSP_SOAK_SECONDS)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	od_open(&d, n);
	memset(&s, 0, sizeof(s));
	s.d = &d;
	s.duration = duration;
	s.live = d.n;
	s.cap = d.n + (size_t)(duration * SOAK_CHANGES_PER_S) + 64;
	if ((d.reqs = realloc(d.reqs, s.cap * sizeof(*d.reqs))) == NULL ||
	    (d.serials = realloc(d.serials, s.cap * SERIAL_HEX_MAX)) == NULL)
		od_die("out of memory");
	if (mkdtemp(tmp) == NULL)
		od_die("mkdtemp: %s", strerror(errno));
	snprintf(s.data, sizeof(s.data), "%s/data", tmp);
	if (od_sh("cp -a '%s' '%s'", d.data, s.data) != 0)
		od_die("copying %s", d.data);

	port = od_free_port();
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	snprintf(log, sizeof(log), "%s/serve.log", tmp);
	snprintf(crl, sizeof(crl), "%d", 60);
	{
		char *av[] = {d.jpki, "serve", "--data", s.data, "--listen",
		    addr, "--crl-delay", crl, NULL};

		s.server = od_start(av, port, log, &d.reqs[0]);
	}
	memset(&o, 0, sizeof(o));
	o.nep = 2;
	o.conns_per_ep = CONNS / 2;
	for (int t = 0; t < 2; t++) {
		o.ep[t].port = port;
		snprintf(o.ep[t].post_path, sizeof(o.ep[t].post_path),
		    "/ocsp/%s", t == 0 ? "sign" : "auth");
		snprintf(o.ep[t].get_prefix, sizeof(o.ep[t].get_prefix),
		    "/ocsp/%s/", t == 0 ? "sign" : "auth");
	}
	o.get_percent = 50;
	o.warmup = 1;
	o.seconds = 5;
	o.check_every = 16;
	if (load_run(&o, d.reqs, d.n, &cap_r) != 0)
		od_die("capacity: %s", cap_r.first_error);
	capacity = (double)cap_r.answers / cap_r.seconds;
	printf("bench: soak: capacity %.0f responses/s (5 s, 64 connections, "
	    "%lu errors); soaking at %.0f for %.0f s with %d revocations and "
	    "%d issuances a second beside, revoked within %.1f s\n", capacity,
	    cap_r.errors, capacity / 2, duration, SOAK_CHANGES_PER_S,
	    SOAK_CHANGES_PER_S, SOAK_BOUND_S);
	fflush(stdout);

	s.rss_from = duration / 10 < 60 ? duration / 10 : 60;
	o.seconds = duration;
	o.warmup = 0;
	o.rate = capacity / 2;
	o.check_every = 1;
	o.live = &s.live;
	o.tick = tick;
	o.tick_arg = &s;
	if (pthread_create(&th, NULL, changer, &s) != 0)
		od_die("thread: %s", strerror(errno));
	if (load_run(&o, d.reqs, d.n, &r) != 0)
		od_die("soak: %s", r.first_error);
	s.stop = 1;
	pthread_join(th, NULL);
	od_stop(s.server);

	growth = s.rss_base_kb > 0 ? 100.0 * (double)(s.rss_max_kb -
	    s.rss_base_kb) / (double)s.rss_base_kb : 0;
	printf("bench: soak: %lu answers in %.0f s (%.0f responses/s offered "
	    "%.0f), every one checked: %lu wrong, %lu errors%s%s; p50 %.2f ms, "
	    "p99 %.2f ms\n", r.answers, r.seconds, (double)r.answers /
	    r.seconds, capacity / 2, r.wrong, r.errors,
	    r.first_error[0] ? ": first: " : "", r.first_error,
	    load_percentile_ms(&r, 50), load_percentile_ms(&r, 99));
	if (r.wrong > 0)
		printf("bench: soak: first wrong answer: serial %s said %d, "
		    "expected %d\n", d.serials + r.wrong_ri * SERIAL_HEX_MAX,
		    r.wrong_st, d.reqs[r.wrong_ri].expect);
	printf("bench: soak: beside it: %ld revoked, %ld issued, %ld failed%s%s\n",
	    s.revoked, s.issued, s.change_errors,
	    s.change_error[0] ? ": first: " : "", s.change_error);
	printf("bench: soak: server RSS %.1f MB at the start, %.1f MB after "
	    "%.0f s, at most %.1f MB after: %+.1f %% (<= 10 %%)\n",
	    (double)s.rss_first_kb / 1024, (double)s.rss_base_kb / 1024,
	    s.rss_from, (double)s.rss_max_kb / 1024, growth);
	ok = r.errors == 0 && r.wrong == 0 && r.checked == r.answers &&
	    s.change_errors == 0 && growth <= 10 && s.revoked > 0 &&
	    s.issued > 0;
	printf("bench: ocsp-soak %.0f s at %.0f responses/s: %lu errors, %lu "
	    "wrong, RSS %+.1f %%: %s\n", r.seconds, (double)r.answers /
	    r.seconds, r.errors, r.wrong, growth, ok ? "passed" : "FAILED");
	load_result_free(&cap_r);
	load_result_free(&r);
	od_sh("rm -rf '%s'", tmp);
	return ok ? 0 : 1;
}
