/*
 * webui: the counter's web UI, `jpki counter serve`.
 *
 * Clerks work in a browser; the pages (web/ in the source tree, plain
 * HTML, CSS and JavaScript) call a JSON API (docs/counter-api.yaml) that
 * runs the same counter library operations as `jpki counter`, so every rule
 * holds exactly as on the command line, and every refusal is the library's
 * own message naming its rule.
 *
 * A listener of its own, never the public `jpki serve` (src/server): the
 * responder relying parties reach holds no CA key and answers nothing that
 * changes state; this one issues and revokes, so it listens on loopback by
 * default and everything but GET /healthz, the sign-in and the static
 * pages needs a signed-in clerk.
 *
 * Clerk accounts (clerk.c): a name, a role (clerk < supervisor < admin),
 * an argon2id hash of the password (libsodium crypto_pwhash_str); after
 * WEBUI_LOCKOUT_FAILURES failed sign-ins in a row the account is locked
 * for WEBUI_LOCKOUT_SECONDS.  Every change and every sign-in is an audit
 * entry whose actor is the clerk (or the administrator who made it).
 *
 * Sessions (session.c): 256-bit random ids in a cookie that is HttpOnly,
 * SameSite=Strict, Path=/ and Secure under HTTPS; a per-session CSRF token
 * that every state-changing request carries in X-CSRF-Token; an idle
 * timeout.  Sessions live in the server's memory: a restart signs every
 * clerk out.
 *
 * Layer: above counter and ca (it drives procedures), beside server, below
 * cli.  It knows nothing of the terminal.
 */
#ifndef JPKI_WEBUI_H
#define JPKI_WEBUI_H

#include "datadir/datadir.h"
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

/* ---- clerk accounts (clerk.c) ---------------------------------------------- */

#define WEBUI_PASSWORD_MIN 10       /* characters (bytes of UTF-8) */
#define WEBUI_PASSWORD_MAX 128
#define WEBUI_LOCKOUT_FAILURES 5    /* failed sign-ins in a row */
#define WEBUI_LOCKOUT_SECONDS 900   /* then no sign-in for this long */

/* "clerk" | "supervisor" | "admin". */
const char *webui_role_name(enum clerk_role r);
int webui_role_parse(const char *s, enum clerk_role *out);

/* A clerk name: 1-63 bytes of [a-z0-9._-], starting with a letter. */
int webui_clerk_name_check(const char *name);
/* Length and form of a new password (never echoed in the message). */
int webui_password_check(const char *password);

/* Add a clerk (JPKI_ERR_CONFLICT if the name is taken); `actor` (the
 * administrator, or NULL for "operator") is the audit entry's actor. */
int webui_clerk_add(struct datadir *dd, const char *name, enum clerk_role role,
    const char *password, const char *actor);
/* New password; clears failures and any lockout. */
int webui_clerk_passwd(struct datadir *dd, const char *name,
    const char *password, const char *actor);
/* No sign-in any more; the account and its audit history stay. */
int webui_clerk_disable(struct datadir *dd, const char *name,
    const char *actor);

/* Sign-in: JPKI_OK with the clerk in *out; JPKI_ERR_VERIFY for an unknown
 * name, a wrong password or a disabled account (one message for all, so a
 * name cannot be probed); JPKI_ERR_LOCKED while locked.  A failure counts
 * towards the lockout and is audited ("clerk.signin-failed", and
 * "clerk.locked" when it locks); a success resets the count.  Takes about
 * as long for an unknown name as for a known one. */
int webui_clerk_authenticate(struct datadir *dd, const char *name,
    const char *password, struct clerk *out);

/* ---- the server (http.c) ------------------------------------------------------ */

#define WEBUI_IDLE_SECONDS 900      /* a session unused this long ends */
#define WEBUI_SESSIONS_MAX 256      /* signed-in sessions at once */
#define WEBUI_BODY_MAX 16384        /* a JSON request body at most */
#define WEBUI_URL_MAX 2048

struct webui_options {
	const char *data_dir;
	const char *host;          /* numeric IPv4 or IPv6 address */
	unsigned port;             /* 0: any free port (webui_port) */
	const char *tls_cert;      /* PEM files: HTTPS when both are set */
	const char *tls_key;
	const char *web_dir;       /* the pages; NULL: webui_default_web_dir() */
	unsigned idle_seconds;     /* 0: WEBUI_IDLE_SECONDS */
};

struct webui;
/* Open the data directory read-write with the CA keys (the procedures
 * issue and revoke), check the page directory, listen. */
int webui_start(const struct webui_options *o, struct webui **out);
unsigned webui_port(const struct webui *w);
void webui_stop(struct webui **w);
/* The pages' directory when none is given: $JPKI_WEB, else the source
 * tree's web/ this binary was built from, else the installed copy. */
const char *webui_default_web_dir(void);

/* ---- parsing (exposed for the fuzz target) ------------------------------------ */

#define WEBUI_SESSION_ID_HEX 64     /* 32 random bytes */
#define WEBUI_COOKIE_HEADER_MAX 4096 /* a longer Cookie header is ignored */
/* The session id from a Cookie header ("a=b; jpki_session=<hex>"): 1 and
 * the id in out if a well-formed one is there, else 0. */
int webui_cookie_session(const char *header,
    char out[WEBUI_SESSION_ID_HEX + 1]);
/* A static page's name is safe to open: [A-Za-z0-9_-] parts separated by
 * single '/' or '.', no leading '.', at most 128 bytes, with a known
 * extension; its media type in *type. */
int webui_static_name_ok(const char *name, const char **type);

#endif
