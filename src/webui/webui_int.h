/*
 * webui_int.h: private to the web UI module: the server, its sessions and
 * approvals, and the shape of an API handler.
 */
#ifndef JPKI_WEBUI_INT_H
#define JPKI_WEBUI_INT_H

#include "webui/webui.h"
#include "ca/ca.h"
#include "counter/counter.h"

#include <jansson.h>
#include <pthread.h>
#include <time.h>

#define WEBUI_CSRF_HEX 64
#define WEBUI_APPROVALS_SHOWN 200
#define WEBUI_COOKIE "jpki_session"

struct session {
	int used;
	char id[WEBUI_SESSION_ID_HEX + 1];
	char csrf[WEBUI_CSRF_HEX + 1];
	char clerk[CLERK_NAME_MAX + 1];
	enum clerk_role role;
	time_t last_seen;           /* CLOCK_MONOTONIC seconds */
};

/* What an API call works with: its own store connection and CAs.  A
 * few of them, so that one clerk's slow procedure (keys generated on a
 * card) does not hold up the others; the store serialises the writes. */
#define WEBUI_WORKERS 4
struct worker {
	struct datadir *dd;
	struct ca *ca;
	int busy;
};

struct webui {
	struct MHD_Daemon *d;
	pthread_mutex_t lock;           /* the workers' busy flags */
	pthread_cond_t worker_free;
	struct worker workers[WEBUI_WORKERS];
	char web_dir[JPKI_PATH_MAX];
	char docs_dir[JPKI_PATH_MAX];   /* <data>/documents: PDFs made here */
	int https;
	unsigned idle_seconds;
	unsigned port;
	char *tls_cert, *tls_key;       /* PEM text, for libmicrohttpd */
	pthread_mutex_t sessions_lock;
	struct session sessions[WEBUI_SESSIONS_MAX];
};

/* What a handler sees of the signed-in clerk. */
struct who {
	char clerk[CLERK_NAME_MAX + 1];
	enum clerk_role role;
	char session[WEBUI_SESSION_ID_HEX + 1];
	char csrf[WEBUI_CSRF_HEX + 1];
};

/* One API call: the handler reads the query or the JSON body, runs under
 * w->lock, and leaves its answer in out (JSON) with an HTTP status. */
struct call {
	struct webui *w;
	struct datadir *dd;         /* the worker's */
	struct ca *ca;
	struct MHD_Connection *conn;
	const char *tail;           /* the path after the route's prefix */
	json_t *body;               /* POST: the JSON object; else NULL */
	struct who who;
	unsigned status;
	json_t *out;
	/* Set by sign-in and sign-out: a Set-Cookie header to send. */
	char set_cookie[256];
	/* A non-JSON answer (a PDF): the handler fills these instead. */
	void *raw;
	size_t raw_len;
	const char *raw_type;
};

/* ---- sessions (session.c) ---- */
int webui_session_new(struct webui *w, const char *clerk, enum clerk_role role,
    struct who *out);
/* 1 and the session's clerk if id names a live session (touching it), 0
 * otherwise (an idle one is ended). */
int webui_session_find(struct webui *w, const char *id, struct who *out);
void webui_session_end(struct webui *w, const char *id);
/* End every session of a clerk (disabled, new password). */
void webui_session_end_clerk(struct webui *w, const char *clerk);
int webui_csrf_ok(const struct who *who, const char *token);
/* n random bytes as 2n hex digits. */
void webui_random_hex(char *out, size_t nbytes);

/* ---- answers (http.c) ---- */
/* Record code's message as the answer: the status from the code. */
unsigned webui_fail(struct call *k, int code);
unsigned webui_ok(struct call *k, json_t *out);
/* Named members of the body; NULL if absent or not a string. */
const char *webui_str(const struct call *k, const char *name);
const char *webui_str_in(json_t *obj, const char *name);
/* A positive integer member (a number, or a string of digits). */
int webui_id(const struct call *k, const char *name, int64_t *out);
/* A query parameter (GET), NULL if absent. */
const char *webui_query(const struct call *k, const char *name);
/* Overwrite the secret strings of the body (PINs, passwords, codes). */
void webui_wipe_body(json_t *body);

/* ---- the handlers (api_*.c) ---- */
typedef unsigned (*webui_handler)(struct call *k);
unsigned api_signin(struct call *k);
unsigned api_signout(struct call *k);
unsigned api_session(struct call *k);
unsigned api_search(struct call *k);
unsigned api_resident(struct call *k);
unsigned api_cards(struct call *k);
unsigned api_check(struct call *k);
unsigned api_receipt(struct call *k);
unsigned api_dashboard(struct call *k);
unsigned api_audit(struct call *k);
unsigned api_document(struct call *k);
unsigned api_rules(struct call *k);
unsigned api_proc_deliver(struct call *k);
unsigned api_proc_issue(struct call *k);
unsigned api_proc_renew(struct call *k);
unsigned api_proc_report_lost(struct call *k);
unsigned api_proc_reissue(struct call *k);
unsigned api_proc_reset_pin(struct call *k);
unsigned api_proc_update_card(struct call *k);
unsigned api_proc_proxy_apply(struct call *k);
unsigned api_proc_proxy_complete(struct call *k);
unsigned api_proc_notices(struct call *k);
unsigned api_clerks(struct call *k);
unsigned api_clerk_add(struct call *k);
unsigned api_clerk_disable(struct call *k);
unsigned api_clerk_passwd(struct call *k);
unsigned api_approvals(struct call *k);
unsigned api_approval_request(struct call *k);
unsigned api_approval_approve(struct call *k);
unsigned api_approval_reject(struct call *k);
unsigned api_approval_export(struct call *k);

/* A card to its image's path: by its serial (hex, as the store keeps it: the image the
 * store recorded), or by an image name in <data>/cards ([A-Za-z0-9._-], no
 * leading '.', ending .img). */
int webui_card_path(struct datadir *dd, const char *name, char *path,
    size_t n);
/* A card in a PC/SC reader on the server host: the reader's name from the
 * body's or the query's "reader" (*reader NULL when neither has one); one
 * line of printable text, at most WEBUI_READER_MAX bytes (api_proc.c). */
#define WEBUI_READER_MAX 200
int webui_reader_of(const struct call *k, const char **reader);

#endif
