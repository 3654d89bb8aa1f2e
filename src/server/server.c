/*
 * server.c: the routes of server.h on libmicrohttpd, a pool of threads, one
 * per core, each polling its own connections with epoll.  Each thread
 * answers with its own worker (its own read-only store connection and its
 * own CAs with their signer session), made on its first request: nothing
 * on the answering path is shared but the atomics of the metrics, so it
 * takes no lock.  Paths are matched exactly against the forms the
 * certificates carry; anything else is 404, a wrong method 405, an
 * oversized body 413.  Every answer goes through send_response(), which
 * notes its status and size for the metrics and the access log, counted
 * when the request completes.
 */
#include "server/server_impl.h"
#include "ca/ca.h"
#include "pki/pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* What one libmicrohttpd thread answers with: its own store connection
 * (the read-only data directory, opened again) and its own CAs (the
 * responder keys, the lazily made OCSP state, the signer session). */
struct worker {
	struct server *s;
	struct datadir *dd;
	struct ca *ca;
	struct worker *next;        /* the server's list, for server_stop */
	/* A read transaction held across requests (SQLite only; see
	 * "read transactions held across requests"): `mu` is held while
	 * the thread uses its store, and by the holds thread ending an
	 * idle one. */
	pthread_mutex_t mu;
	int hold;                   /* the store is SQLite: hold at all */
	int holding;                /* a read transaction is open */
	int64_t held_since_ms;      /* when it began (CLOCK_MONOTONIC) */
};

struct server {
	struct MHD_Daemon *d;
	/* Opened at start, so that a data directory or a key that is not
	 * there fails `jpki serve` at once; the answers use the workers'. */
	struct datadir *dd;
	struct ca *ca;
	pthread_mutex_t workers_lock;   /* taken to add a worker, and by
	                                 * the holds thread to walk them */
	struct worker *workers;
	pthread_t holds;            /* ends read transactions held too long */
	int holds_started;
	pthread_mutex_t holds_lock;
	pthread_cond_t holds_wake;
	int holds_stop;
	char crl_dir[JPKI_PATH_MAX];
	/* [type][generation]: each generation's CA certificate, at the
	 * caIssuers URL its certificates carry. */
	uint8_t *ca_der[3][CA_GEN_MAX + 1];
	size_t ca_der_len[3][CA_GEN_MAX + 1];
	unsigned port;
	struct server_metrics metrics;
	struct deadlines *deadlines;
	struct access_log *log;
	atomic_int draining;        /* server_drain() has begun */
	struct crl_publisher *crl;  /* NULL: CRLs not made here */
	const struct server_handler *handlers;
	size_t nhandlers;
	struct ca_ocsp_gate gate;   /* live OCSP signing, bounded */
	struct presigner *presigner;
	/* The answering threads' OCSP response cache and its follower
	 * (NULL: no cache). */
	struct ca_ocsp_cache *cache;
	struct ocsp_follower *follower;
};

/* ---- decoding the GET form of an OCSP request ---------------------------- */

static int
b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int
server_ocsp_get_decode(const char *tail, uint8_t *out, size_t cap,
    size_t *len)
{
	char text[SERVER_URL_MAX];
	size_t n = 0, i, pad = 0;
	uint32_t acc = 0;
	int bits = 0;

	*len = 0;
	/* Percent-decoding first: '+', '/' and '=' arrive as %2B, %2F, %3D. */
	for (i = 0; tail[i] != '\0'; i++) {
		char c = tail[i];

		if (n + 1 >= sizeof(text))
			return jpki_fail(JPKI_ERR_INPUT, "OCSP GET: longer than "
			    "%d bytes", SERVER_URL_MAX);
		if (c == '%') {
			int hi = hex_digit_value(tail[i + 1]), lo;

			if (hi < 0 || (lo = hex_digit_value(tail[i + 2])) < 0)
				return jpki_fail(JPKI_ERR_INPUT, "OCSP GET: bad "
				    "percent-encoding");
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		text[n++] = c;
	}
	for (i = 0; i < n; i++) {
		int v;

		if (text[i] == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = b64_val(text[i])) < 0)
			return jpki_fail(JPKI_ERR_INPUT, "OCSP GET: not base64");
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (*len == cap)
				return jpki_fail(JPKI_ERR_INPUT, "OCSP GET: request "
				    "over %zu bytes", cap);
			out[(*len)++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be padding zeros, and '=' at most two. */
	if (pad > 2 || bits >= 6 || acc != 0 || *len == 0)
		return jpki_fail(JPKI_ERR_INPUT, "OCSP GET: not base64");
	return JPKI_OK;
}

/* ---- workers --------------------------------------------------------------- */

/* The calling thread's worker: libmicrohttpd's threads live as long as the
 * daemon, and the server frees the workers after stopping it. */
static _Thread_local struct worker *this_worker;

/* Milliseconds on the monotonic clock. */
static int64_t
monotonic_ms(void)
{
	return (int64_t)(server_monotonic_us() / 1000);
}

static int
worker_get(struct server *s, struct worker **out)
{
	struct worker *w = this_worker;
	int r;

	if (w != NULL && w->s == s) {
		*out = w;
		return JPKI_OK;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	w->s = s;
	if ((r = datadir_open(datadir_root(s->dd), DATADIR_READ_ONLY,
	    &w->dd)) || (r = ca_open(w->dd, CA_KEYS_OCSP, &w->ca))) {
		datadir_close(&w->dd);
		free(w);
		return r;
	}
	pthread_mutex_init(&w->mu, NULL);
	w->hold = strcmp(store_database_name(datadir_store(w->dd)),
	    "SQLite") == 0;
	pthread_mutex_lock(&s->workers_lock);
	w->next = s->workers;
	s->workers = w;
	pthread_mutex_unlock(&s->workers_lock);
	this_worker = w;
	*out = w;
	return JPKI_OK;
}


/* ---- read transactions held across requests --------------------------- */

/*
 * A SQLite read transaction costs more than the lookup in it: the file's
 * size checked (fstat), a read lock taken and given back in the WAL's
 * shared memory (fcntl), under a mutex the threads share.  So a thread
 * keeps one open across its requests for at most SERVER_READ_HOLD_MS and
 * then begins another; the holds thread ends one its thread has left idle
 * for that long, so that an idle server holds no snapshot (which would keep
 * the WAL from being restarted).  What an answer reads is then at most that
 * much older than the store: nothing beside the second within which a
 * revocation must show.  On PostgreSQL each statement reads what is
 * committed anyway, and an open transaction would hold back its vacuum:
 * nothing is held there.
 */

/* Under w->mu: the held transaction, if any, ended. */
static void
hold_end(struct worker *w)
{
	if (w->holding) {
		store_rollback(datadir_store(w->dd));
		w->holding = 0;
	}
}

/* Under w->mu: a read transaction begun at now, if one can be (a
 * failure only means the reads go without). */
static void
hold_begin(struct worker *w, int64_t now)
{
	if (store_begin(datadir_store(w->dd)) == JPKI_OK) {
		w->holding = 1;
		w->held_since_ms = now;
	} else {
		jpki_errclear();
	}
}

/* The thread is about to read its store: w->mu taken, and a read
 * transaction no older than SERVER_READ_HOLD_MS open where one is held (a
 * failure to begin one only means the reads go without). */
static void
worker_enter(struct worker *w)
{
	int64_t now;

	pthread_mutex_lock(&w->mu);
	if (!w->hold)
		return;
	now = monotonic_ms();
	if (w->holding && now - w->held_since_ms >= SERVER_READ_HOLD_MS)
		hold_end(w);
	if (!w->holding)
		hold_begin(w, now);
}

/* ok: the reads went well; after a failure the transaction is not kept
 * (the next request begins afresh). */
static void
worker_leave(struct worker *w, int ok)
{
	if (!ok)
		hold_end(w);
	pthread_mutex_unlock(&w->mu);
}

static void *
holds_main(void *arg)
{
	struct server *s = arg;
	struct timespec until;

	pthread_mutex_lock(&s->holds_lock);
	while (!s->holds_stop) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += SERVER_READ_HOLD_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->holds_wake, &s->holds_lock, &until);
		if (s->holds_stop)
			break;
		pthread_mutex_unlock(&s->holds_lock);
		pthread_mutex_lock(&s->workers_lock);
		for (struct worker *w = s->workers; w != NULL; w = w->next) {
			/* Busy: its thread ends it at its next request. */
			if (pthread_mutex_trylock(&w->mu) != 0)
				continue;
			if (w->holding && monotonic_ms() - w->held_since_ms >=
			    SERVER_READ_HOLD_MS)
				hold_end(w);
			pthread_mutex_unlock(&w->mu);
		}
		pthread_mutex_unlock(&s->workers_lock);
		pthread_mutex_lock(&s->holds_lock);
	}
	pthread_mutex_unlock(&s->holds_lock);
	return NULL;
}

static int
holds_start(struct server *s)
{
	pthread_condattr_t ca;
	int rc;

#ifdef JPKI_TEST_HOOKS
	/* So that a test can see a thread's own renewal at work, with no
	 * holds thread to end a transaction between its requests. */
	if (getenv("JPKI_SERVE_HOLDS_PAUSE") != NULL)
		return JPKI_OK;
#endif
	pthread_mutex_init(&s->holds_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->holds_wake, &ca);
	pthread_condattr_destroy(&ca);
	if ((rc = pthread_create(&s->holds, NULL, holds_main, s)) != 0)
		return jpki_fail(JPKI_ERR_INTERNAL, "a thread: %s",
		    strerror(rc));
	s->holds_started = 1;
	return JPKI_OK;
}

static void
holds_stop(struct server *s)
{
	if (!s->holds_started)
		return;
	pthread_mutex_lock(&s->holds_lock);
	s->holds_stop = 1;
	pthread_cond_signal(&s->holds_wake);
	pthread_mutex_unlock(&s->holds_lock);
	pthread_join(s->holds, NULL);
	s->holds_started = 0;
	pthread_cond_destroy(&s->holds_wake);
	pthread_mutex_destroy(&s->holds_lock);
}

/* ---- answering ----------------------------------------------------------- */

/* Queue r on the request's connection and note its status and size.
 * While draining, the connection is closed after it. */
static enum MHD_Result
send_response(struct server *s, struct MHD_Connection *c, struct request *rq,
    unsigned status, struct MHD_Response *r, uint64_t bytes)
{
	enum MHD_Result ok;

	if (atomic_load(&s->draining))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	ok = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	if (ok == MHD_YES) {
		rq->status = status;
		rq->bytes = bytes;
	}
	return ok;
}

static enum MHD_Result
send_buf(struct server *s, struct MHD_Connection *c, struct request *rq,
    unsigned status, const char *type, const void *data, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len,
	    (void *)data, MHD_RESPMEM_MUST_COPY);

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	return send_response(s, c, rq, status, r, len);
}

static enum MHD_Result
send_text(struct server *s, struct MHD_Connection *c, struct request *rq,
    unsigned status, const char *text)
{
	return send_buf(s, c, rq, status, "text/plain; charset=utf-8", text,
	    strlen(text));
}

/* A published file (a CRL), with Last-Modified (its time of publication)
 * and an ETag made from its inode, size and modification time (a CRL is
 * replaced by rename, so each publication is a new inode; hashing a full
 * CRL on every request would cost more than sending it): 304 Not Modified
 * when the client's copy is current (RFC 9110 13.1). */
static enum MHD_Result
send_file(struct server *s, struct MHD_Connection *c, struct request *rq,
    const char *path, const char *type)
{
	struct MHD_Response *r;
	struct stat st;
	char etag[80], modified[HTTP_DATE_LEN];
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return send_text(s, c, rq, MHD_HTTP_NOT_FOUND,
		    "not published yet\n");
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return send_text(s, c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "error\n");
	}
	snprintf(etag, sizeof(etag), "\"%llx-%llx-%llx\"",
	    (unsigned long long)st.st_ino, (unsigned long long)st.st_size,
	    (unsigned long long)st.st_mtim.tv_sec * 1000000000ull +
	    (unsigned long long)st.st_mtim.tv_nsec);
	http_date_format((int64_t)st.st_mtim.tv_sec, modified);
	if (http_not_modified(c, etag, (int64_t)st.st_mtim.tv_sec)) {
		close(fd);
		if ((r = MHD_create_response_from_buffer(0, NULL,
		    MHD_RESPMEM_PERSISTENT)) == NULL)
			return MHD_NO;
		/* libmicrohttpd 0.9.75 adds "Content-Length: 0" to a 304
		 * whatever we say (RFC 9110 8.6 wants none, or the 200's):
		 * setting ours gives two (docs/serve.md). */
		MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
		MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED,
		    modified);
		return send_response(s, c, rq, MHD_HTTP_NOT_MODIFIED, r, 0);
	}
	if ((r = MHD_create_response_from_fd((uint64_t)st.st_size, fd)) ==
	    NULL) {
		close(fd);
		return send_text(s, c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "error\n");
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
	MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, modified);
	return send_response(s, c, rq, MHD_HTTP_OK, r, (uint64_t)st.st_size);
}

/* An OCSP response with no answer in it (malformedRequest, internalError). */
static enum MHD_Result
send_ocsp_error(struct server *s, struct MHD_Connection *c,
    struct request *rq, enum pki_ocsp_status status)
{
	struct jbuf out;
	enum MHD_Result ok;

	jbuf_init(&out);
	if (pki_ocsp_error_response(status, &out))
		return MHD_NO;
	rq->ocsp_status = (int)status;
	ok = send_buf(s, c, rq, MHD_HTTP_OK, "application/ocsp-response",
	    out.data, out.len);
	jbuf_free(&out);
	return ok;
}

/* The caching headers of RFC 5019 section 6.2 on a successful answer to a
 * GET: a cache may keep it until nextUpdate (the answer says so itself). */
static void
ocsp_cache_headers(struct MHD_Response *r, const struct ca_ocsp_answer *ans,
    const struct jbuf *out)
{
	char date[HTTP_DATE_LEN], etag[HTTP_ETAG_LEN], cc[96];
	int64_t age = ans->next_update - jpki_now();

	http_date_format(ans->this_update, date);
	MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, date);
	http_date_format(ans->next_update, date);
	MHD_add_response_header(r, MHD_HTTP_HEADER_EXPIRES, date);
	http_etag_of(out->data, out->len, etag);
	MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
	snprintf(cc, sizeof(cc), "max-age=%lld, public, no-transform, "
	    "must-revalidate", (long long)(age > 0 ? age : 0));
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cc);
}

/* A successful answer saying `unknown` of a certificate. */
static int
answered_unknown(const struct ca_ocsp_answer *ans)
{
	if (ans->status != PKI_OCSP_SUCCESSFUL)
		return 0;
	for (size_t i = 0; i < ans->n; i++)
		if (ans->cert[i].status == PKI_OCSP_UNKNOWN)
			return 1;
	return 0;
}

static enum MHD_Result
send_ocsp(struct server *s, struct MHD_Connection *c, struct request *rq,
    const uint8_t *req, size_t len, int get)
{
	struct ca_ocsp_answer ans;
	struct MHD_Response *resp;
	struct worker *w;
	struct jbuf out;
	int r;

	jbuf_init(&out);
	if ((r = worker_get(s, &w)) == JPKI_ERR_IO) {
		/* This thread's store could not be opened (the database
		 * down): as ca_ocsp_answer says it, tryLater. */
		atomic_fetch_add(&s->gate.store_unavailable, 1);
		return send_ocsp_error(s, c, rq, PKI_OCSP_TRY_LATER);
	}
	if (r == JPKI_OK) {
		worker_enter(w);
		r = ca_ocsp_answer_cached(w->ca, s->cache, req, len, &s->gate,
		    &out, &ans);
		/* `unknown` read in a held transaction may be a certificate
		 * issued since it began (at most SERVER_READ_HOLD_MS ago):
		 * asked again in a transaction begun now. */
		if (r == JPKI_OK && w->holding && answered_unknown(&ans)) {
			hold_end(w);
			hold_begin(w, monotonic_ms());
			jbuf_free(&out);
			r = ca_ocsp_answer_cached(w->ca, s->cache, req, len,
			    &s->gate, &out, &ans);
		}
		worker_leave(w, r == JPKI_OK);
	}
	if (r != JPKI_OK) {
		/* No response could be made: say so in OCSP's own terms. */
		jbuf_free(&out);
		return send_ocsp_error(s, c, rq, PKI_OCSP_INTERNAL_ERROR);
	}
	rq->ocsp_status = ans.status;
	/* The answer's buffer is handed to libmicrohttpd, which frees it
	 * (nothing secret in it: no copy, no wipe). */
	if ((resp = MHD_create_response_from_buffer(out.len, out.data,
	    MHD_RESPMEM_MUST_FREE)) == NULL) {
		jbuf_free(&out);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/ocsp-response");
	if (get && ans.status == PKI_OCSP_SUCCESSFUL)
		ocsp_cache_headers(resp, &ans, &out);
	return send_response(s, c, rq, MHD_HTTP_OK, resp, out.len);
}

/* The store answers a trivial read on a connection opened now (the file
 * the config names is still there and readable, not only the one this
 * process opened at start) and on the server's own; the responder keys
 * are still held.  JPKI_OK, or the error with its message. */
static int
server_health(struct server *s)
{
	struct store *fresh = NULL;
	struct worker *w;
	int r, v;

	if ((r = worker_get(s, &w)) != JPKI_OK)
		return r;
	if ((r = store_open_readonly(datadir_root(w->dd),
	    datadir_config(w->dd), &fresh)) == JPKI_OK)
		r = store_schema_version(fresh, &v);
	store_close(&fresh);
	if (r == JPKI_OK) {
		worker_enter(w);
		r = store_schema_version(datadir_store(w->dd), &v);
		worker_leave(w, r == JPKI_OK);
	}
	if (r == JPKI_OK)
		r = ca_responders_ready(w->ca);
	return r;
}

static enum MHD_Result
route_healthz(struct server *s, struct MHD_Connection *c, struct request *rq)
{
	char why[400];
	const char *m;

	if (server_health(s) == JPKI_OK)
		return send_text(s, c, rq, MHD_HTTP_OK, "ok\n");
	/* One line: the error's message, no newline inside. */
	m = jpki_errmsg();
	snprintf(why, sizeof(why), "unhealthy: %s\n", m[0] ? m : "error");
	for (char *p = why; *p != '\0'; p++)
		if ((*p == '\n' || *p == '\r') && p[1] != '\0')
			*p = ' ';
	return send_text(s, c, rq, MHD_HTTP_SERVICE_UNAVAILABLE, why);
}

/* The database connections this server and its CRL publisher lost and
 * made again (store_connection_stats). */
static int
store_metrics(struct server *s, struct jbuf *out)
{
	struct store_connection_stats me, pub;

	store_connection_stats(&me);
	crl_publisher_store_stats(s->crl, &pub);
	return jbuf_printf(out,
	    "# HELP jpki_store_connections_lost_total Database connections "
	    "found lost (the database restarted, the backend terminated, a "
	    "failover), by process: this server, its CRL publisher.\n"
	    "# TYPE jpki_store_connections_lost_total counter\n"
	    "jpki_store_connections_lost_total{process=\"serve\"} %lu\n"
	    "jpki_store_connections_lost_total{process=\"crl_publisher\"} %lu\n"
	    "# HELP jpki_store_reconnects_total Lost database connections "
	    "made again.\n"
	    "# TYPE jpki_store_reconnects_total counter\n"
	    "jpki_store_reconnects_total{process=\"serve\"} %lu\n"
	    "jpki_store_reconnects_total{process=\"crl_publisher\"} %lu\n"
	    "# HELP jpki_store_reconnect_failures_total Attempts to make a "
	    "lost database connection again that failed (one a second at "
	    "most per connection).\n"
	    "# TYPE jpki_store_reconnect_failures_total counter\n"
	    "jpki_store_reconnect_failures_total{process=\"serve\"} %lu\n"
	    "jpki_store_reconnect_failures_total{process=\"crl_publisher\"} "
	    "%lu\n", me.lost, pub.lost, me.reconnected, pub.reconnected,
	    me.failed, pub.failed);
}

/* The answering threads' OCSP response caches (none: nothing). */
static int
cache_metrics(struct server *s, struct jbuf *out)
{
	struct ca_ocsp_cache_stats c;

	if (s->cache == NULL)
		return JPKI_OK;
	ca_ocsp_cache_stats(s->cache, &c);
	return jbuf_printf(out,
	    "# HELP jpki_ocsp_cache_hits_total OCSP answers sent from an "
	    "answering thread's response cache.\n"
	    "# TYPE jpki_ocsp_cache_hits_total counter\n"
	    "jpki_ocsp_cache_hits_total %lu\n"
	    "# HELP jpki_ocsp_cache_fills_total Stored responses read and kept "
	    "in a response cache.\n"
	    "# TYPE jpki_ocsp_cache_fills_total counter\n"
	    "jpki_ocsp_cache_fills_total %lu\n"
	    "# HELP jpki_ocsp_cache_dropped_total Cached responses dropped "
	    "because their certificate changed.\n"
	    "# TYPE jpki_ocsp_cache_dropped_total counter\n"
	    "jpki_ocsp_cache_dropped_total %lu\n"
	    "# HELP jpki_ocsp_cache_flushes_total Times a response cache "
	    "dropped everything (changes it could not follow).\n"
	    "# TYPE jpki_ocsp_cache_flushes_total counter\n"
	    "jpki_ocsp_cache_flushes_total %lu\n"
	    "# HELP jpki_ocsp_cache_entries Responses in the caches.\n"
	    "# TYPE jpki_ocsp_cache_entries gauge\n"
	    "jpki_ocsp_cache_entries %ld\n"
	    "# HELP jpki_ocsp_cache_bytes Memory the cached responses take.\n"
	    "# TYPE jpki_ocsp_cache_bytes gauge\n"
	    "jpki_ocsp_cache_bytes %ld\n"
	    "# HELP jpki_ocsp_cache_feed_seq The store's OCSP change queue, "
	    "followed up to this entry.\n"
	    "# TYPE jpki_ocsp_cache_feed_seq gauge\n"
	    "jpki_ocsp_cache_feed_seq %lld\n"
	    "# HELP jpki_ocsp_cache_feed_silent_seconds Since the change queue "
	    "was last read to its end (the caches are not used beyond %g s).\n"
	    "# TYPE jpki_ocsp_cache_feed_silent_seconds gauge\n"
	    "jpki_ocsp_cache_feed_silent_seconds %.3f\n", c.hits, c.fills,
	    c.dropped, c.flushed, c.entries, c.bytes, (long long)c.followed,
	    CA_OCSP_FEED_STALE_MS / 1000.0, c.silent_ms < 0 ? -1.0 :
	    (double)c.silent_ms / 1000.0);
}

static enum MHD_Result
route_metrics(struct server *s, struct MHD_Connection *c, struct request *rq)
{
	struct worker *w;
	struct store *st;
	struct jbuf out;
	enum MHD_Result ok;
	int bad;

	jbuf_init(&out);
	/* Without this thread's store (the database down), what the
	 * process knows, and none of what the store says. */
	if (worker_get(s, &w) == JPKI_OK) {
		st = datadir_store(w->dd);
		worker_enter(w);
	} else {
		jpki_errclear();
		w = NULL;
		st = NULL;
	}
	bad = server_metrics_render(&s->metrics, &out) != JPKI_OK ||
	    jbuf_printf(&out,
	    "# HELP jpki_serve_connections_cut_total Connections closed "
	    "because their request was not in within %d s.\n"
	    "# TYPE jpki_serve_connections_cut_total counter\n"
	    "jpki_serve_connections_cut_total %lu\n", SERVER_REQUEST_SECONDS,
	    deadlines_reaped(s->deadlines)) != JPKI_OK ||
	    store_metrics(s, &out) != JPKI_OK ||
	    cache_metrics(s, &out) != JPKI_OK ||
	    crl_metrics_render(s->crl, st, &out) != JPKI_OK ||
	    presigner_metrics(s->presigner, st, &s->gate, &out) != JPKI_OK;
	if (w != NULL)
		worker_leave(w, !bad);
	if (bad) {
		jbuf_free(&out);
		return send_text(s, c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "error\n");
	}
	ok = send_buf(s, c, rq, MHD_HTTP_OK,
	    "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
	jbuf_free(&out);
	return ok;
}

/* "sign" or "auth" at p, followed by end: the type, else 0. */
static int
type_at(const char *p, const char **end)
{
	if (strncmp(p, "sign", 4) == 0) {
		*end = p + 4;
		return CERT_SIGN;
	}
	if (strncmp(p, "auth", 4) == 0) {
		*end = p + 4;
		return CERT_AUTH;
	}
	return 0;
}

/* "<type>" is generation 1, "<type>.gen<N>" generation N (2 to
 * CA_GEN_MAX): *gen, *end after it; 0 if p names none. */
static int
type_gen_at(const char *p, int *gen, const char **end)
{
	int t = type_at(p, end), g = 0;
	const char *q;

	*gen = 1;
	if (t == 0 || strncmp(*end, ".gen", 4) != 0)
		return t;
	for (q = *end + 4; *q >= '0' && *q <= '9' && q - *end < 7; q++)
		g = g * 10 + (*q - '0');
	if (q == *end + 4 || g < 2 || g > CA_GEN_MAX || (*end)[4] == '0')
		return 0;
	*gen = g;
	*end = q;
	return t;
}

/* /crl/<type>[.gen<N>]/<n|full>.crl */
static enum MHD_Result
route_crl(struct server *s, struct MHD_Connection *c, struct request *rq,
    const char *rest)
{
	char path[JPKI_PATH_MAX + 32];
	const char *p;
	int gen, t = type_gen_at(rest, &gen, &p);
	size_t digits = 0;

	if (t == 0 || *p != '/')
		return send_text(s, c, rq, MHD_HTTP_NOT_FOUND, "no such CRL\n");
	p++;
	if (strcmp(p, "full.crl") != 0) {
		while (p[digits] >= '0' && p[digits] <= '9')
			digits++;
		if (digits == 0 || digits > 5 || strcmp(p + digits, ".crl") != 0)
			return send_text(s, c, rq, MHD_HTTP_NOT_FOUND,
			    "no such CRL\n");
	}
	/* p is at most "99999.crl", the directory "auth.gen16": they fit
	 * beside a data directory path. */
	if ((size_t)snprintf(path, sizeof(path), "%s/%.*s/%s", s->crl_dir,
	    (int)(p - 1 - rest), rest, p) >= sizeof(path))
		return send_text(s, c, rq, MHD_HTTP_NOT_FOUND, "no such CRL\n");
	return send_file(s, c, rq, path, "application/pkix-crl");
}

/* /ocsp, /ocsp/<type> (POST) and /ocsp/<type>/<base64> (GET) */
static enum MHD_Result
route_ocsp(struct server *s, struct MHD_Connection *c, struct request *rq,
    const char *p, int get, int post)
{
	if (*p == '/') {
		const char *after;

		if (type_at(p + 1, &after) != 0 &&
		    (*after == '\0' || *after == '/'))
			p = after;
	}
	if (post && *p == '\0') {
		if (rq->too_big)
			return send_text(s, c, rq, MHD_HTTP_CONTENT_TOO_LARGE,
			    "OCSP request too large\n");
		return send_ocsp(s, c, rq, rq->body.data, rq->body.len, 0);
	}
	if (get && *p == '/' && p[1] != '\0') {
		uint8_t req[PKI_OCSP_REQUEST_MAX];
		size_t len;

		if (server_ocsp_get_decode(p + 1, req, sizeof(req), &len) !=
		    JPKI_OK)
			return send_ocsp_error(s, c, rq, PKI_OCSP_MALFORMED);
		return send_ocsp(s, c, rq, req, len, 1);
	}
	return send_text(s, c, rq, MHD_HTTP_METHOD_NOT_ALLOWED, "OCSP: POST "
	    "the request, or GET /ocsp/<type>/<base64>\n");
}

/* The request's method and path as the access log records them: bytes
 * outside printable ASCII as %XX, cut at SERVER_LOG_PATH_MAX. */
static void
request_note(struct request *rq, const char *method, const char *url)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	/* Methods are tokens; anything else is logged as '?', so a line is
	 * never lost to bytes JSON cannot hold. */
	for (n = 0; method[n] != '\0' && n + 1 < sizeof(rq->method); n++)
		rq->method[n] = method[n] > 0x20 && method[n] < 0x7f ?
		    method[n] : '?';
	rq->method[n] = '\0';
	n = 0;
	for (const unsigned char *u = (const unsigned char *)url; *u; u++) {
		int plain = *u > 0x20 && *u < 0x7f && *u != '%';

		if (n + (plain ? 1 : 3) > SERVER_LOG_PATH_MAX) {
			rq->path_cut = 1;
			break;
		}
		if (plain) {
			rq->path[n++] = (char)*u;
		} else {
			rq->path[n++] = '%';
			rq->path[n++] = hex[*u >> 4];
			rq->path[n++] = hex[*u & 15];
		}
	}
	rq->path[n] = '\0';
}

/* ---- routes added from above (server_options.handlers) ------------------- */

static const struct server_handler *
added_route(const struct server *s, const char *url)
{
	for (size_t i = 0; i < s->nhandlers; i++)
		if (strncmp(url, s->handlers[i].prefix,
		    strlen(s->handlers[i].prefix)) == 0)
			return &s->handlers[i];
	return NULL;
}

const char *
server_exchange_header(const struct server_exchange *x, const char *name)
{
	return MHD_lookup_connection_value(x->conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result
route_added(struct server *s, struct MHD_Connection *c, struct request *rq,
    const char *method, const char *url)
{
	struct server_exchange x = {.method = method, .path = url,
	    .body = rq->body.data, .body_len = rq->body.len, .conn = c};
	enum MHD_Result ok;

	if (rq->too_big)
		return send_text(s, c, rq, MHD_HTTP_CONTENT_TOO_LARGE,
		    "request body too large\n");
	jbuf_init(&x.answer);
	if (rq->added->handle(rq->added->arg, &x) != JPKI_OK || x.status == 0)
		ok = send_text(s, c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "error\n");
	else
		ok = send_buf(s, c, rq, x.status, x.content_type != NULL ?
		    x.content_type : "application/json", x.answer.data,
		    x.answer.len);
	jbuf_free(&x.answer);
	return ok;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct server *s = cls;
	struct request *rq = *con_cls;
	int post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
	int get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
	    strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	const char *p;
	int t, gen;

	(void)version;
	if (rq == NULL) {
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		jbuf_init(&rq->body);
		rq->start_us = server_monotonic_us();
		rq->ocsp_status = -1;
		request_note(rq, method, url);
		rq->added = added_route(s, url);
		rq->after_drain = atomic_load(&s->draining);
		atomic_fetch_add(&s->metrics.in_flight, 1);
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!rq->too_big && rq->body.len + *upload_size <=
		    (rq->added != NULL ? rq->added->body_max : SERVER_BODY_MAX))
			(void)jbuf_put(&rq->body, upload, *upload_size);
		else
			rq->too_big = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	deadlines_answering(c);
	/* Shutting down: a request whose headers arrived after, on a
	 * kept-alive connection, is not begun (the connection closes after
	 * this answer); one begun before is answered. */
	if (rq->after_drain)
		return send_text(s, c, rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "shutting down\n");
	if (strlen(url) > SERVER_URL_MAX)
		return send_text(s, c, rq, MHD_HTTP_URI_TOO_LONG,
		    "URL too long\n");
	if (rq->added != NULL) {
		rq->route = ROUTE_ADDED;
		return route_added(s, c, rq, method, url);
	}
	if (strncmp(url, "/ocsp", 5) == 0 && (url[5] == '\0' || url[5] == '/')) {
		rq->route = ROUTE_OCSP;
		return route_ocsp(s, c, rq, url + 5, get, post);
	}
	if (!get)
		return send_text(s, c, rq, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "GET only\n");
	if (strcmp(url, "/") == 0) {
		rq->route = ROUTE_INDEX;
		return send_text(s, c, rq, MHD_HTTP_OK,
		    "openjpki\n"
		    "  /ca/sign.der /ca/auth.der          CA certificates\n"
		    "  /ca/<sign|auth>.gen<N>.der         generation N's\n"
		    "  /crl/<sign|auth>/<n>.crl, full.crl CRLs\n"
		    "  /crl/<sign|auth>.gen<N>/...        generation N's\n"
		    "  /ocsp/<sign|auth>                  OCSP (POST, or GET "
		    "/<base64>)\n"
		    "  /healthz /metrics                  operations\n");
	}
	if (strcmp(url, "/healthz") == 0) {
		rq->route = ROUTE_HEALTHZ;
		return route_healthz(s, c, rq);
	}
	if (strcmp(url, "/metrics") == 0) {
		rq->route = ROUTE_METRICS;
		return route_metrics(s, c, rq);
	}
	if (strncmp(url, "/crl/", 5) == 0) {
		rq->route = ROUTE_CRL;
		return route_crl(s, c, rq, url + 5);
	}
	if (strncmp(url, "/ca/", 4) == 0 &&
	    (t = type_gen_at(url + 4, &gen, &p)) != 0 && strcmp(p, ".der") == 0 &&
	    s->ca_der[t][gen] != NULL) {
		rq->route = ROUTE_CA;
		return send_buf(s, c, rq, MHD_HTTP_OK, "application/pkix-cert",
		    s->ca_der[t][gen], s->ca_der_len[t][gen]);
	}
	return send_text(s, c, rq, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* A request is over (answered, or its client gone): count it, log it. */
static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode why)
{
	struct server *s = cls;
	struct request *rq = *con_cls;
	const union MHD_ConnectionInfo *ci;

	if (rq == NULL)
		return;
	if (rq->status != 0) {
		server_metrics_count(&s->metrics, rq->route, rq->status,
		    server_monotonic_us() - rq->start_us);
		ci = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		access_log_write(s->log, rq, ci != NULL ? ci->client_addr :
		    NULL, why == MHD_REQUEST_TERMINATED_COMPLETED_OK);
	}
	deadlines_answered(c);
	atomic_fetch_sub(&s->metrics.in_flight, 1);
	jbuf_free(&rq->body);
	free(rq);
	*con_cls = NULL;
}

/* The CRL publisher, with the delay asked for or the config's. */
static int
server_crl_start(const struct server_options *o, struct server *s)
{
	struct datadir *dd;
	unsigned delay = o->crl_delay;
	int r;

	if (delay == 0) {
		if ((r = datadir_open(o->data_dir, DATADIR_READ_ONLY, &dd)))
			return r;
		delay = (unsigned)datadir_config(dd)->crl_delay;
		datadir_close(&dd);
	}
	return crl_publisher_start(o->data_dir, delay, &s->crl);
}

int
server_start(const struct server_options *o, struct server **out)
{
	struct sockaddr_storage ss;
	struct server *s;
	const union MHD_DaemonInfo *info;
	/* ITC: so that server_drain() can stop accepting (quiesce). */
	unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC;
	unsigned threads = o->threads;
	char presign_why[400] = "";
	int r;

	*out = NULL;
	memset(&ss, 0, sizeof(ss));
	if (o->port > 65535)
		return jpki_fail(JPKI_ERR_INPUT, "port: %u is not a port",
		    o->port);
	if (inet_pton(AF_INET, o->host, &((struct sockaddr_in *)&ss)->sin_addr)
	    == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)o->port);
	} else if (inet_pton(AF_INET6, o->host,
	    &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port =
		    htons((uint16_t)o->port);
		flags |= MHD_USE_IPv6;
	} else {
		return jpki_fail(JPKI_ERR_INPUT, "listen: '%s' is not a "
		    "numeric IPv4 or IPv6 address", o->host);
	}
	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		threads = n > 0 ? (unsigned)n : 1;
	}
	if (threads > SERVER_THREADS_MAX)
		threads = SERVER_THREADS_MAX;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&s->workers_lock, NULL);
	/* Forked first, while this process has no other thread. */
	if (!o->crl_off && (r = server_crl_start(o, s)) != JPKI_OK)
		goto fail;
	s->handlers = o->handlers;
	s->nhandlers = o->nhandlers;
	s->gate.max = o->ocsp_live_max > 0 ? (int)o->ocsp_live_max :
	    (int)SERVER_OCSP_LIVE_DEFAULT(threads);
	if (o->access_log != NULL &&
	    (r = access_log_open(o->access_log, &s->log)) != JPKI_OK)
		goto fail;
	if ((r = deadlines_start(&s->deadlines)) != JPKI_OK ||
	    (r = holds_start(s)) != JPKI_OK)
		goto fail;
	/* The pre-signer's read-write connection first (presigner.c says
	 * why); without one, a stored answer is sent only while the store
	 * agrees with it, others are signed live. */
	if (!o->no_presign &&
	    presigner_start(o->data_dir, &s->gate.stored_current,
	    &s->presigner) != JPKI_OK)
		snprintf(presign_why, sizeof(presign_why), "%s", jpki_errmsg());
	/* The CA keys stay out of the network-facing process: the data
	 * directory read-only, the responder keys only. */
	if ((r = datadir_open(o->data_dir, DATADIR_READ_ONLY, &s->dd)) ||
	    (r = datadir_path(s->dd, DATADIR_CRL_DIR, NULL, s->crl_dir,
	    sizeof(s->crl_dir))) ||
	    (r = ca_open(s->dd, CA_KEYS_OCSP, &s->ca)))
		goto fail;
	for (int t = CERT_SIGN; t <= CERT_AUTH; t++) {
		for (int g = 1; g <= ca_generation_count(s->ca,
		    (enum cert_type)t); g++) {
			int n = i2d_X509(ca_gen_cert(s->ca, (enum cert_type)t, g),
			    &s->ca_der[t][g]);

			if (n <= 0) {
				r = jpki_fail(JPKI_ERR_CRYPTO, "encoding a CA "
				    "certificate");
				goto fail;
			}
			s->ca_der_len[t][g] = (size_t)n;
		}
	}
	/* The response cache and its follower (after the pre-signer's
	 * read-write connection, as the threads' connections are). */
	if (datadir_config(s->dd)->ocsp_cache_mb > 0 &&
	    ((r = ca_ocsp_cache_new((size_t)datadir_config(s->dd)->
	    ocsp_cache_mb * 1024 * 1024, &s->cache)) != JPKI_OK ||
	    (r = ocsp_follower_start(o->data_dir, s->cache, &s->follower)) !=
	    JPKI_OK))
		goto fail;
	s->d = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, handler,
	    s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, s,
	    MHD_OPTION_NOTIFY_CONNECTION, deadlines_notify, s->deadlines,
	    MHD_OPTION_CONNECTION_LIMIT, server_connection_limit(),
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (unsigned int)SERVER_CONNECTIONS_PER_CLIENT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)SERVER_CONNECTION_MEMORY,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)SERVER_IDLE_SECONDS,
	    MHD_OPTION_THREAD_POOL_SIZE, threads,
	    MHD_OPTION_END);
	if (s->d == NULL) {
		r = jpki_fail(JPKI_ERR_IO, "cannot listen on %s port %u (in "
		    "use?)", o->host, o->port);
		goto fail;
	}
	/* Said once the server runs (a missing key fails it, said once). */
	if (presign_why[0] != '\0') {
		fprintf(stderr, "jpki: serve: no OCSP pre-signer: %s; stored "
		    "answers the store agrees with are sent, others are "
		    "signed live\n", presign_why);
		fflush(stderr);
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info != NULL ? info->port : o->port;
	crl_publisher_go(s->crl);
	*out = s;
	return JPKI_OK;
fail:
	server_stop(&s);
	return r;
}

/* Close the listening socket (new connections are refused at once rather
 * than left in its backlog); requests that arrive after on kept-alive
 * connections get 503 and a closed connection.  Once only. */
void
server_stop_accepting(struct server *s)
{
	MHD_socket fd;

	if (atomic_exchange(&s->draining, 1))
		return;
	if ((fd = MHD_quiesce_daemon(s->d)) != MHD_INVALID_SOCKET)
		close(fd);
}

int
server_drain(struct server *s, unsigned timeout_ms)
{
	uint64_t until = server_monotonic_us() + (uint64_t)timeout_ms * 1000u;
	long left;

	server_stop_accepting(s);
	while ((left = atomic_load(&s->metrics.in_flight)) > 0 &&
	    server_monotonic_us() < until) {
		struct timespec ts = {0, 10 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
	return left > 0 ? jpki_fail(JPKI_ERR_IO, "%ld requests were still "
	    "being answered after %u ms", left, timeout_ms) : JPKI_OK;
}

unsigned
server_port(const struct server *s)
{
	return s->port;
}

void
server_stop(struct server **sp)
{
	struct server *s = *sp;

	if (s == NULL)
		return;
	presigner_stop(&s->presigner);
	if (s->d != NULL)
		MHD_stop_daemon(s->d);
	ocsp_follower_stop(&s->follower);
	holds_stop(s);
	/* The daemon's threads are gone: nobody uses a worker any more. */
	while (s->workers != NULL) {
		struct worker *w = s->workers;

		s->workers = w->next;
		hold_end(w);
		pthread_mutex_destroy(&w->mu);
		ca_close(&w->ca);
		datadir_close(&w->dd);
		free(w);
	}
	pthread_mutex_destroy(&s->workers_lock);
	deadlines_stop(&s->deadlines);
	ca_ocsp_cache_free(&s->cache);
	crl_publisher_stop(&s->crl);
	ca_close(&s->ca);
	datadir_close(&s->dd);
	access_log_close(&s->log);
	for (int t = 0; t < 3; t++)
		for (int g = 0; g <= CA_GEN_MAX; g++)
			OPENSSL_free(s->ca_der[t][g]);
	free(s);
	*sp = NULL;
}
