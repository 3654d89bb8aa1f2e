/*
 * metrics.c: the counters behind GET /metrics and their Prometheus text
 * exposition (format 0.0.4, checked by `promtool check metrics` in
 * tests/interop/test_serve_ops.sh): requests by route and status, and a
 * latency histogram by route, from a request's headers received to
 * its completion.
 */
#include "server/server_impl.h"

#include <stdio.h>
#include <time.h>

static const unsigned statuses[] = SERVER_STATUSES;
static const uint64_t bounds_us[] = SERVER_LATENCY_BOUNDS_US;
_Static_assert(sizeof(statuses) / sizeof(statuses[0]) + 1 == SERVER_STATUS_N,
    "a counter for every status and one for the rest");
_Static_assert(sizeof(bounds_us) / sizeof(bounds_us[0]) + 1 ==
    SERVER_LATENCY_N, "a bucket for every bound and +Inf");

static const char *const route_names[ROUTE_N] = {
	[ROUTE_OTHER] = "other",
	[ROUTE_INDEX] = "index",
	[ROUTE_CA] = "ca",
	[ROUTE_CRL] = "crl",
	[ROUTE_OCSP] = "ocsp",
	[ROUTE_HEALTHZ] = "healthz",
	[ROUTE_METRICS] = "metrics",
	[ROUTE_ADDED] = "added",
};

const char *
server_route_name(enum server_route r)
{
	return (unsigned)r < ROUTE_N ? route_names[r] : "other";
}

uint64_t
server_monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void
server_metrics_count(struct server_metrics *m, enum server_route route,
    unsigned status, uint64_t micros)
{
	size_t si = SERVER_STATUS_N - 1, bi = SERVER_LATENCY_N - 1;

	if ((unsigned)route >= ROUTE_N)
		route = ROUTE_OTHER;
	for (size_t i = 0; i < SERVER_STATUS_N - 1; i++)
		if (statuses[i] == status)
			si = i;
	for (size_t i = SERVER_LATENCY_N - 1; i-- > 0;)
		if (micros <= bounds_us[i])
			bi = i;
	atomic_fetch_add_explicit(&m->requests[route][si], 1,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&m->latency[route][bi], 1,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&m->latency_us_sum[route], micros,
	    memory_order_relaxed);
}

static int
render_requests(struct server_metrics *m, struct jbuf *out)
{
	int r = jbuf_printf(out,
	    "# HELP jpki_serve_requests_total HTTP requests answered, by "
	    "route and status.\n"
	    "# TYPE jpki_serve_requests_total counter\n");

	for (int rt = 0; rt < ROUTE_N && r == JPKI_OK; rt++)
		for (size_t i = 0; i < SERVER_STATUS_N && r == JPKI_OK; i++) {
			unsigned long n = atomic_load_explicit(
			    &m->requests[rt][i], memory_order_relaxed);
			char code[16];

			if (n == 0)
				continue;
			if (i < SERVER_STATUS_N - 1)
				snprintf(code, sizeof(code), "%u", statuses[i]);
			else
				snprintf(code, sizeof(code), "other");
			r = jbuf_printf(out, "jpki_serve_requests_total{route="
			    "\"%s\",status=\"%s\"} %lu\n", route_names[rt], code,
			    n);
		}
	return r;
}

static int
render_latency(struct server_metrics *m, struct jbuf *out)
{
	int r = jbuf_printf(out,
	    "# HELP jpki_serve_request_duration_seconds Time from a "
	    "request's headers received to its answer sent, by route.\n"
	    "# TYPE jpki_serve_request_duration_seconds histogram\n");

	for (int rt = 0; rt < ROUTE_N && r == JPKI_OK; rt++) {
		unsigned long cum = 0;

		for (size_t i = 0; i < SERVER_LATENCY_N && r == JPKI_OK; i++) {
			cum += atomic_load_explicit(&m->latency[rt][i],
			    memory_order_relaxed);
			if (i < SERVER_LATENCY_N - 1)
				r = jbuf_printf(out, "jpki_serve_request_"
				    "duration_seconds_bucket{route=\"%s\","
				    "le=\"%g\"} %lu\n", route_names[rt],
				    (double)bounds_us[i] / 1e6, cum);
			else
				r = jbuf_printf(out, "jpki_serve_request_"
				    "duration_seconds_bucket{route=\"%s\","
				    "le=\"+Inf\"} %lu\n", route_names[rt], cum);
		}
		if (r == JPKI_OK)
			r = jbuf_printf(out,
			    "jpki_serve_request_duration_seconds_sum{route="
			    "\"%s\"} %.6f\n"
			    "jpki_serve_request_duration_seconds_count{route="
			    "\"%s\"} %lu\n", route_names[rt],
			    (double)atomic_load_explicit(&m->latency_us_sum[rt],
			    memory_order_relaxed) / 1e6, route_names[rt], cum);
	}
	return r;
}

int
server_metrics_render(struct server_metrics *m, struct jbuf *out)
{
	int r;

	if ((r = render_requests(m, out)) || (r = render_latency(m, out)))
		return r;
	return jbuf_printf(out,
	    "# HELP jpki_serve_requests_in_flight Requests begun and not yet "
	    "answered.\n"
	    "# TYPE jpki_serve_requests_in_flight gauge\n"
	    "jpki_serve_requests_in_flight %ld\n",
	    atomic_load_explicit(&m->in_flight, memory_order_relaxed));
}
