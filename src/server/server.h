/*
 * server: `jpki serve`, the HTTP face of the CAs for relying parties, at the
 * URIs the certificates carry (libmicrohttpd):
 *
 *   GET  /                          what is served here (text)
 *   GET  /ca/sign.der, /ca/auth.der the CA certificates (AIA caIssuers)
 *   GET  /crl/<sign|auth>/<n>.crl   a CRL shard (CDP); full.crl: the full CRL
 *   POST /ocsp/<sign|auth>, /ocsp   an OCSP request (AIA OCSP, RFC 6960)
 *   GET  /ocsp/<sign|auth>/<b64>    the same, base64 in the URL (RFC 6960
 *                                   appendix A.1, RFC 5019)
 *   GET  /healthz                   200 "ok", or 503 and one line saying why
 *   GET  /metrics                   Prometheus text format (metrics.c)
 *
 * OCSP answers are the pre-signed responses in the store (a thread of the
 * server makes them, presigner.c), sent as they are; a nonce request and
 * anything not pre-signed is signed from the store when it arrives, a
 * bounded number at once (ca_ocsp_answer).  CRLs are the files published
 * under the data directory, made again by a publisher process of the
 * server's own within a delay after a revocation and before their
 * nextUpdate (crl_publisher.c), or by `jpki crl generate`.  Requests are
 * answered by a pool of threads, one per core, each with its own store
 * connection and signer session; bodies and URLs are bounded (SERVER_BODY_MAX, SERVER_URL_MAX)
 * before anything reads them.  GET answers carry HTTP caching headers
 * (RFC 5019 6.2 for OCSP; ETag and Last-Modified with 304 for CRLs).
 */
#ifndef JPKI_SERVER_H
#define JPKI_SERVER_H

#include "base/base.h"

#include <stddef.h>
#include <stdint.h>

/* An OCSP request body at most (pki: PKI_OCSP_REQUEST_MAX). */
#define SERVER_BODY_MAX 8192
/* A URL at most: room for the GET form (base64, percent-encoded: up to
 * three bytes a character) of a request of about 1,000 bytes, many
 * CertIDs with a nonce.  RFC 5019 section 5 has clients use GET only below
 * 255 bytes, and POST (SERVER_BODY_MAX) above; a larger GET is 414. */
#define SERVER_URL_MAX 4096

/* Hostile clients (slowloris, idle connections held open): connections at
 * most, and from one client address at most, so that one client cannot
 * take the server's connections; the memory of one connection (its
 * request line and headers must fit: a longest URL and 8 KiB of
 * headers), so that 4,096 connections take at most 48 MiB (and
 * libmicrohttpd clears the half of it it reads into after every request
 * of a keep-alive connection: a smaller pool is less to clear); the seconds a
 * connection may stay silent; and the seconds a whole request (headers and
 * body) may take to arrive, however it trickles (deadline.c). */
#define SERVER_CONNECTIONS_MAX 4096
#define SERVER_CONNECTIONS_PER_CLIENT 32
#define SERVER_CONNECTION_MEMORY (SERVER_URL_MAX + 8192)
#define SERVER_IDLE_SECONDS 10
#define SERVER_REQUEST_SECONDS 10
/* A thread's store read transaction (SQLite) is kept across its requests
 * for at most this long (server.c, "read transactions held across
 * requests"): what an answer reads is at most this much older than the
 * store. */
#define SERVER_READ_HOLD_MS 20

/*
 * Routes a module above the server adds (the relying party's /rp/ and
 * /kiosk/, src/rp): the server knows nothing of them but their prefix.  A
 * request whose path starts with `prefix` is read whole (at most body_max
 * bytes, else 413) and handed to handle() on the answering thread, which
 * fills status, content_type and answer; a failure (not a refusal, which
 * is an answer) is a 500.  handle() is called from any of the server's
 * threads at once.
 */
struct server_exchange {
	const char *method;
	const char *path;
	const uint8_t *body;
	size_t body_len;
	void *conn;                /* for server_exchange_header */
	unsigned status;           /* out: HTTP status */
	const char *content_type;  /* out: a static string */
	struct jbuf answer;        /* out: the body (freed by the server) */
};
/* A request header's value, or NULL. */
const char *server_exchange_header(const struct server_exchange *x,
    const char *name);
struct server_handler {
	const char *prefix;        /* "/rp/" */
	size_t body_max;
	int (*handle)(void *arg, struct server_exchange *x);
	void *arg;
};

struct server_options {
	const char *data_dir;
	const char *host;          /* numeric IPv4 or IPv6 address */
	unsigned port;             /* 0: any free port (see server_port) */
	const char *access_log;    /* a file to append a JSON line per
	                              request to, or NULL */
	unsigned threads;          /* answering threads; 0: one per core */
	/* CRLs without cron (crl_publisher.c): crl_delay seconds at most
	 * after a revocation, a shard's CRL and its CA's full CRL are made
	 * again (0: the config's crl_delay); crl_off: not at all. */
	unsigned crl_delay;
	int crl_off;
	const struct server_handler *handlers; /* routes added from above */
	size_t nhandlers;
	int no_presign;            /* 1: no OCSP pre-signer thread */
	unsigned ocsp_live_max;    /* answers signed live at once; 0:
	                              SERVER_OCSP_LIVE_DEFAULT */
};
/* Live OCSP signing (nonces, answers not pre-signed) at once by default:
 * half the answering threads, at least one, so that the others go on
 * sending pre-signed answers. */
#define SERVER_OCSP_LIVE_DEFAULT(threads) ((threads) / 2 > 0 ? (threads) / 2 : 1)
#define SERVER_CRL_DELAY_MAX 86400
#define SERVER_THREADS_MAX 256

struct server;
int server_start(const struct server_options *o, struct server **out);
unsigned server_port(const struct server *s);
/* Graceful shutdown, before server_stop: server_stop_accepting closes the
 * listening socket and refuses requests that arrive on open connections
 * (503); server_drain does that too, then waits at most timeout_ms for
 * the requests begun to be answered (JPKI_ERR_IO if some were not;
 * server_stop then cuts them off). */
#define SERVER_DRAIN_MS 10000
void server_stop_accepting(struct server *s);
int server_drain(struct server *s, unsigned timeout_ms);
void server_stop(struct server **s);

/* The DER request in the tail of an OCSP GET URL: percent-decoded, then
 * base64 (RFC 4648, padding optional).  At most cap bytes; JPKI_ERR_INPUT
 * for anything else.  (Exposed for its fuzz target.) */
int server_ocsp_get_decode(const char *tail, uint8_t *out, size_t cap,
    size_t *len);

#endif
