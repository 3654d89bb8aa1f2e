/*
 * bench_ocsp.c: OCSP responses per second from `jpki serve`, beside
 * `openssl ocsp -index` and `cfssl ocspserve` measured in the same run by
 * the same load generator (ocsp_load.h): loopback, keep-alive, requests
 * drawn uniformly over the data set's live certificates of both CAs
 * (ocsp_data.h: 100,000 by default, 1 in 20 revoked), POST (and ours
 * once more, half GET), one answer in 16 decoded and its status checked.
 *
 *   jpki serve             64 connections, 32 to each CA's URL
 *                          (/ocsp/sign, /ocsp/auth)
 *   openssl ocsp -index    one process per CA (it takes one index and one
 *                          responder key); 1 and then 2 connections to
 *                          each (it stalls with more), the better counts
 *   cfssl ocspserve        one process, both CAs' responses (pre-signed by
 *                          cfssl ocsprefresh), 64 connections
 *
 * Targets (issue 10): >= 50,000 responses/s, >= 20x openssl ocsp, >= 2x
 * cfssl ocspserve.  Printed: the rates, p50/p99 latency, each server's RSS
 * at the end of its run; the last two lines compare.
 *
 * usage: bench_ocsp [CERTS]    (default 100000)
 * env:   BENCH_OCSP_SECONDS    measured seconds per run (default 10)
 */
#include "ocsp_data.h"

#define CONNS 64

struct figure {
	const char *name;
	double rate, p50, p99;
	long rss_kb;
	struct load_result r;
};

static void
report(struct figure *f, const char *how)
{
	f->rate = f->r.seconds > 0 ? (double)f->r.answers / f->r.seconds : 0;
	f->p50 = load_percentile_ms(&f->r, 50);
	f->p99 = load_percentile_ms(&f->r, 99);
	printf("bench: %s (%s): %.0f responses/s; p50 %.2f ms, p99 %.2f ms; "
	    "%lu answers in %.1f s, %lu checked (%lu wrong), %lu errors%s%s, "
	    "%lu reconnects; RSS %.1f MB\n", f->name, how, f->rate, f->p50,
	    f->p99, f->r.answers, f->r.seconds, f->r.checked, f->r.wrong,
	    f->r.errors, f->r.first_error[0] ? ": first: " : "",
	    f->r.first_error, f->r.reconnects, (double)f->rss_kb / 1024);
	fflush(stdout);
}

static void
run_load(struct load_opts *o, struct ocsp_data *d, struct figure *f)
{
	if (load_run(o, d->reqs, d->n, &f->r) != 0)
		od_die("%s: the load did not start: %s", f->name,
		    f->r.first_error);
}

static void
opts_init(struct load_opts *o, double seconds)
{
	memset(o, 0, sizeof(*o));
	o->seconds = seconds;
	o->warmup = 1;
	o->get_percent = 0;
	o->check_every = 16;
}

static const char *
met(int ok)
{
	return ok ? "met" : "NOT met";
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	const char *sec_env = getenv("BENCH_OCSP_SECONDS");
	double seconds = sec_env != NULL ? atof(sec_env) : 10;
	struct ocsp_data d;
	struct figure ours = {.name = "jpki serve"},
	    ours_get = {.name = "jpki serve"},
	    os[2] = {{.name = "openssl ocsp"}, {.name = "openssl ocsp"}},
	    cf = {.name = "cfssl ocspserve"}, *best_os;
	struct load_opts o;
	char log[1200], port_s[2][16], addr[64], idx[2][1200], ca[2][1200],
	    rsigner[2][1200], rkey[2][1200], resp[1200];
	uint16_t port[2];
	pid_t pid[2];
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int ok;

	if (n < 2 || seconds <= 0 || argc > 2) {
		fprintf(stderr, "usage: bench_ocsp [CERTS]  (env "
		    "BENCH_OCSP_SECONDS)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	od_open(&d, n);
	printf("bench: %zu requests (both CAs, 1 in %d revoked), POST, %.0f s "
	    "a run after 1 s warm-up, %d connections from 127.1.0.x (%d from "
	    "each address), %ld cores shared by server and load generator\n",
	    d.n, OCSP_DATA_REVOKED_EVERY, seconds, CONNS,
	    LOAD_CONNS_PER_SOURCE, cores);

	/* Ours, answering from pre-signed responses as in service: made
	 * before the server starts (`jpki ocsp presign`, what the server's
	 * pre-signer does; only what is missing or due for a refresh), so
	 * that the run measures serving, not a pre-signer catching up (the
	 * answers it has not made yet are signed live, or tryLater). */
	{
		double t0 = bench_seconds();

		if (od_sh("'%s' ocsp presign --data '%s' >'%s/presign.log' "
		    "2>&1", d.jpki, d.data, d.dir) != 0)
			od_die("jpki ocsp presign failed: %s/presign.log",
			    d.dir);
		printf("bench: jpki ocsp presign before the runs: %.1f s\n",
		    bench_seconds() - t0);
	}
	port[0] = od_free_port();
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port[0]);
	snprintf(log, sizeof(log), "%s/serve.log", d.dir);
	{
		char *av[] = {d.jpki, "serve", "--data", d.data, "--listen",
		    addr, "--no-crl", NULL};

		pid[0] = od_start(av, port[0], log, &d.reqs[0]);
	}
	opts_init(&o, seconds);
	o.nep = 2;
	o.conns_per_ep = CONNS / 2;
	for (int t = 0; t < 2; t++) {
		o.ep[t].port = port[0];
		snprintf(o.ep[t].post_path, sizeof(o.ep[t].post_path),
		    "/ocsp/%s", t == 0 ? "sign" : "auth");
		snprintf(o.ep[t].get_prefix, sizeof(o.ep[t].get_prefix),
		    "/ocsp/%s/", t == 0 ? "sign" : "auth");
	}
	run_load(&o, &d, &ours);
	ours.rss_kb = od_rss_kb(pid[0], "VmRSS");
	report(&ours, "64 connections");
	/* Half GET (RFC 5019's cacheable form), ours only: cfssl 1.2's GET
	 * takes the path's leading '/' into the base64 and answers 400. */
	o.get_percent = 50;
	run_load(&o, &d, &ours_get);
	ours_get.rss_kb = od_rss_kb(pid[0], "VmRSS");
	od_stop(pid[0]);
	report(&ours_get, "64 connections, half GET");
	for (size_t i = 0; i < d.n; i++)   /* the GET paths differ below */
		d.reqs[i].get_path[0] = '\0';

	/* openssl ocsp: a process per CA, started afresh for each run: a
	 * connection closed without a request (the generator's own, at the
	 * end of a run) leaves it waiting on that connection for good. */
	for (int c = 1; c <= 2; c++) {
		for (int t = 0; t < 2; t++) {
			const char *tn = t == 0 ? "sign" : "auth";

			port[t] = od_free_port();
			snprintf(port_s[t], sizeof(port_s[t]), "%u", port[t]);
			snprintf(idx[t], sizeof(idx[t]), "%s/%s-index.txt", d.dir,
			    tn);
			snprintf(ca[t], sizeof(ca[t]), "%s/%s-ca.pem", d.dir, tn);
			snprintf(rsigner[t], sizeof(rsigner[t]),
			    "%s/%s-ocsp.pem", d.dir, tn);
			snprintf(rkey[t], sizeof(rkey[t]), "%s/%s-ocsp.key",
			    d.dir, tn);
			snprintf(log, sizeof(log), "%s/openssl-%s.log", d.dir,
			    tn);
			{
				char *av[] = {"openssl", "ocsp", "-index",
				    idx[t], "-CA", ca[t], "-rsigner",
				    rsigner[t], "-rkey", rkey[t], "-port",
				    port_s[t], "-ndays", "1", "-ignore_err",
				    NULL};

				pid[t] = od_start(av, port[t], log,
				    &d.reqs[t]);
			}
		}
		opts_init(&o, seconds);
		o.nep = 2;
		o.conns_per_ep = c;
		for (int t = 0; t < 2; t++) {
			o.ep[t].port = port[t];
			snprintf(o.ep[t].post_path, sizeof(o.ep[t].post_path), "/");
			snprintf(o.ep[t].get_prefix, sizeof(o.ep[t].get_prefix),
			    "/");
		}
		run_load(&o, &d, &os[c - 1]);
		os[c - 1].rss_kb = od_rss_kb(pid[0], "VmRSS") +
		    od_rss_kb(pid[1], "VmRSS");
		od_stop(pid[0]);
		od_stop(pid[1]);
		report(&os[c - 1], c == 1 ? "1 connection to each CA's" :
		    "2 connections to each CA's");
	}
	best_os = os[1].rate > os[0].rate ? &os[1] : &os[0];

	/* cfssl ocspserve: both CAs' responses in one file. */
	port[0] = od_free_port();
	snprintf(port_s[0], sizeof(port_s[0]), "%u", port[0]);
	snprintf(resp, sizeof(resp), "%s/cfssl-responses.txt", d.dir);
	snprintf(log, sizeof(log), "%s/cfssl.log", d.dir);
	{
		char *av[] = {"cfssl", "ocspserve", "-address", "127.0.0.1",
		    "-port", port_s[0], "-responses", resp, "-loglevel", "3",
		    NULL};

		pid[0] = od_start(av, port[0], log, &d.reqs[0]);
	}
	opts_init(&o, seconds);
	o.nep = 2;
	o.conns_per_ep = CONNS / 2;
	for (int t = 0; t < 2; t++) {
		o.ep[t].port = port[0];
		snprintf(o.ep[t].post_path, sizeof(o.ep[t].post_path), "/");
		snprintf(o.ep[t].get_prefix, sizeof(o.ep[t].get_prefix), "/");
	}
	run_load(&o, &d, &cf);
	cf.rss_kb = od_rss_kb(pid[0], "VmRSS");
	od_stop(pid[0]);
	report(&cf, "64 connections");

	printf("bench: latency of jpki serve: p50 %.2f ms, p99 %.2f ms; its "
	    "RSS at the end %.1f MB\n", ours.p50, ours.p99,
	    (double)ours.rss_kb / 1024);
	printf("bench: targets (issue 10): >= 50,000 responses/s %s; >= 20x "
	    "openssl ocsp %s; >= 2x cfssl ocspserve %s\n",
	    met(ours.rate >= 50000), met(ours.rate >= 20 * best_os->rate),
	    met(ours.rate >= 2 * cf.rate));
	printf("bench: ocsp %.0f responses/s vs openssl-ocsp %.0f responses/s "
	    "= %.1fx\n", ours.rate, best_os->rate, best_os->rate > 0 ?
	    ours.rate / best_os->rate : 0);
	printf("bench: ocsp %.0f responses/s vs cfssl-ocspserve %.0f "
	    "responses/s = %.1fx\n", ours.rate, cf.rate, cf.rate > 0 ?
	    ours.rate / cf.rate : 0);
	ok = ours.r.errors == 0 && ours.r.wrong == 0 && ours.r.checked > 0 &&
	    ours_get.r.errors == 0 && ours_get.r.wrong == 0;
	load_result_free(&ours_get.r);
	load_result_free(&ours.r);
	load_result_free(&os[0].r);
	load_result_free(&os[1].r);
	load_result_free(&cf.r);
	/* Our answers must all be right. */
	return ok ? 0 : 1;
}
