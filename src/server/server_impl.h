/*
 * server_impl.h: what the files of the server module share: the request
 * being answered, the routes and statuses counted, the metrics
 * (metrics.c) and the access log (access_log.c).  Private to src/server.
 *
 * Counters are C11 atomics so that any number of libmicrohttpd threads
 * can count without a lock; a /metrics reader sees each counter exact but
 * the set of them not as one snapshot (Prometheus does not ask for one).
 */
#ifndef JPKI_SERVER_IMPL_H
#define JPKI_SERVER_IMPL_H

#include "server/server.h"

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

/* The routes of server.h, as /metrics and the access log name them. */
enum server_route {
	ROUTE_OTHER,        /* 404s, and a request cut short before routing */
	ROUTE_INDEX,
	ROUTE_CA,
	ROUTE_CRL,
	ROUTE_OCSP,
	ROUTE_HEALTHZ,
	ROUTE_METRICS,
	ROUTE_ADDED,        /* a route of server_options.handlers */
	ROUTE_N
};
const char *server_route_name(enum server_route r);

/* The HTTP statuses the server sends, each counted on its own; anything
 * else (none today) would count as "other". */
#define SERVER_STATUSES {200, 304, 400, 404, 405, 413, 414, 500, 503}
#define SERVER_STATUS_N 10      /* the nine, and "other" */

/* Latency histogram bucket bounds, microseconds (le="0.0005" ... "2.5"),
 * then +Inf. */
#define SERVER_LATENCY_BOUNDS_US \
	{500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, \
	 500000, 1000000, 2500000}
#define SERVER_LATENCY_N 13     /* the twelve, and +Inf */

struct server_metrics {
	atomic_ulong requests[ROUTE_N][SERVER_STATUS_N];
	atomic_ulong latency[ROUTE_N][SERVER_LATENCY_N];   /* not cumulative */
	atomic_ullong latency_us_sum[ROUTE_N];
	atomic_long in_flight;
};

/* Count one answered request. */
void server_metrics_count(struct server_metrics *m, enum server_route route,
    unsigned status, uint64_t micros);
/* The Prometheus text exposition (format 0.0.4) of m, appended to out. */
int server_metrics_render(struct server_metrics *m, struct jbuf *out);

/* A path written into the access log at most (longer ones are cut, and
 * say so): OCSP GET paths carry a whole request. */
#define SERVER_LOG_PATH_MAX 256

/* One request, from its first header to its completion. */
struct request {
	struct jbuf body;
	int too_big;
	const struct server_handler *added; /* the route it is for, or NULL */
	int after_drain;            /* its headers came after server_drain() */
	enum server_route route;
	unsigned status;            /* 0: no answer queued */
	uint64_t bytes;             /* the answer's body */
	int ocsp_status;            /* enum pki_ocsp_status, or -1 */
	uint64_t start_us;          /* monotonic */
	char method[8];
	char path[SERVER_LOG_PATH_MAX + 1];
	int path_cut;
};

/* ---- HTTP caching (http_cache.c) ---- */
struct MHD_Connection;
#define HTTP_DATE_LEN 64        /* "Sun, 06 Nov 1994 08:49:37 GMT" (29), room
                                   for any int the compiler imagines */
#define HTTP_ETAG_LEN 35        /* a quoted 32-digit hex tag and NUL */
void http_date_format(int64_t t, char buf[static HTTP_DATE_LEN]);
int http_date_parse(const char *s, int64_t *out);
/* A strong entity tag: the first 128 bits of the SHA-256 of the body. */
void http_etag_of(const void *data, size_t len, char buf[static HTTP_ETAG_LEN]);
/* 1 if the request's If-None-Match lists etag, or, without one, its
 * If-Modified-Since is not before last_modified: answer 304. */
int http_not_modified(struct MHD_Connection *c, const char *etag,
    int64_t last_modified);

/* ---- the whole-request deadline (deadline.c) ---- */
enum MHD_ConnectionNotificationCode;
struct deadlines;
int deadlines_start(struct deadlines **out);
void deadlines_stop(struct deadlines **d);
/* MHD_OPTION_NOTIFY_CONNECTION: watch a connection from its accept. */
void deadlines_notify(void *cls, struct MHD_Connection *c,
    void **socket_context, enum MHD_ConnectionNotificationCode toe);
/* Its request is in (no deadline while it is answered); its answer is
 * done (the next request's deadline starts). */
void deadlines_answering(struct MHD_Connection *c);
void deadlines_answered(struct MHD_Connection *c);
/* Connections cut off so far. */
unsigned long deadlines_reaped(struct deadlines *d);

/* ---- CRLs without cron (crl_publisher.c) ---- */
struct crl_publisher;
struct store;
/* Fork the publisher (before any thread exists): it waits for
 * crl_publisher_go, then keeps the data directory's CRLs fresh with the CA
 * keys, until crl_publisher_stop (or this process's death). */
int crl_publisher_start(const char *data_dir, unsigned delay_s,
    struct crl_publisher **out);
void crl_publisher_go(struct crl_publisher *cp);
/* 1 while it runs (NULL: none). */
int crl_publisher_running(struct crl_publisher *cp);
/* Tell it to stop and wait for it (it finishes the CRL it is writing). */
void crl_publisher_stop(struct crl_publisher **cp);
/* Its store's connections lost and made again (zeros: none). */
struct store_connection_stats;
void crl_publisher_store_stats(struct crl_publisher *cp,
    struct store_connection_stats *out);
/* /metrics: whether it runs, and each published CRL's number, age and
 * time left, from the store's records (any server's or cron's; st NULL:
 * none). */
int crl_metrics_render(struct crl_publisher *cp, struct store *st,
    struct jbuf *out);

/* The connections the server takes at most: SERVER_CONNECTIONS_MAX, with
 * RLIMIT_NOFILE raised for them and SERVER_FDS_RESERVED more, or fewer if
 * the hard limit is too low (limits.c). */
#define SERVER_FDS_RESERVED 256
unsigned server_connection_limit(void);

/* Microseconds on the monotonic clock. */
uint64_t server_monotonic_us(void);

/* The access log: one JSON line per request, written with one write(2) to
 * a file opened O_APPEND, so lines from several threads never interleave. */
struct access_log;
int access_log_open(const char *path, struct access_log **out);
void access_log_write(struct access_log *l, const struct request *rq,
    const struct sockaddr *client, int complete);
void access_log_close(struct access_log **l);

/* The OCSP pre-signer's thread (presigner.c): steps of PRESIGNER_BATCH
 * certificates, the data version read when a commit's notice wakes it or
 * every PRESIGNER_POLL_MS when idle with no notices to wait for,
 * responses due for refresh looked for every PRESIGNER_DUE_SECONDS. */
#define PRESIGNER_BATCH 64
#define PRESIGNER_POLL_MS 50
/* The data version read at least this often while a notice would wake it
 * (presigner.c): the fallback for a notice lost with its connection. */
#define PRESIGNER_LISTEN_POLL_MS 1000
#define PRESIGNER_DUE_SECONDS 60
/* After a failed step (the database gone), the next try is this much
 * later (presigner.c). */
#define PRESIGNER_RETRY_MS 1000
struct presigner;
struct store;
struct ca_ocsp_gate;
/* current: set to 1 once the pre-signer's first pass is done, back to 0
 * when it stops (struct ca_ocsp_gate's stored_current). */
int presigner_start(const char *data_dir, atomic_int *current,
    struct presigner **out);
void presigner_stop(struct presigner **p);
/* Its figures and the live-signing gate's, Prometheus text, onto out;
 * p may be NULL (no pre-signer); s NULL, or a store that cannot be read
 * now, leaves out the figures read from the store. */
int presigner_metrics(struct presigner *p, struct store *s,
    const struct ca_ocsp_gate *g, struct jbuf *out);

/* The follower of the store's OCSP change queue (ocsp_feed.c), which
 * feeds the answering threads' response caches: it reads the queue every
 * FEED_POLL_MS, FEED_BATCH entries a read at most, and preloads the stored
 * responses FEED_PRELOAD_BATCH a read. */
#define FEED_POLL_MS 50
#define FEED_BATCH 4096
#define FEED_PRELOAD_BATCH 2048
struct ocsp_follower;
struct ca_ocsp_cache;
int ocsp_follower_start(const char *data_dir, struct ca_ocsp_cache *cache,
    struct ocsp_follower **out);
void ocsp_follower_stop(struct ocsp_follower **f);

#endif
