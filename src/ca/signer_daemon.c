/*
 * signer_daemon.c: `jpki signer`, the one process that opens the CA keys
 * (ca.h; docs/ca-operations.md, "Signer").
 *
 * It opens the CAs of a data directory with their keys (files of --keys
 * DIR; else where the data directory keeps them: <data>/ca, or the PKCS#11
 * token it records), listens on a unix socket or TCP with mutual TLS,
 * and gives each connection a thread and a session of its own with the
 * key seam, so signing threads of one client never wait on each other.
 * Each request (signer_wire.h) passes, in order: the key seam's policy
 * (signer.c), the profile check (lint.c) for a TBSCertificate or an OCSP
 * ResponseData, and for a certificate the record of serials already
 * signed; anything refused is answered with one line naming why and
 * written to the signer's own audit log, as is everything signed.
 *
 * Its state, apart from the store: <state>/signed-serials (one
 * "<type>:<serial>" a line, appended before the signature is made, so a
 * crash never lets a serial be signed twice), <state>/audit.log (JSON
 * lines), <state>/checkpoints (signed audit checkpoints, checkpoint.c),
 * <state>/tls/ (its PKI for tcp:).
 *
 * Once its keys and files are open it drops what it does not need: the
 * user (--user, when started as root), new privileges (PR_SET_NO_NEW_PRIVS),
 * and, with a seccomp filter, the system calls a signer never makes
 * (exec, fork, ptrace, new sockets, mounts, identity changes, modules).
 */
#include "ca/ca_impl.h"
#include "ca/signer_tls.h"
#include "ca/signer_wire.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Connections served at once; more wait in the listen queue. */
#define SIGNER_CONNECTIONS_MAX 256
#define SIGNED_SERIALS_FILE "signed-serials"
#define SIGNER_AUDIT_FILE "audit.log"

struct session;

struct daemon {
	struct ca *ca;
	struct ca_signer *audit_key;
	struct store *store;
	char state[JPKI_PATH_MAX];
	char checkpoints[JPKI_PATH_MAX];
	SSL_CTX *tls;
	int listen_fd;
	struct signer_addr addr;
	/* The record of signed serials, and the audit log. */
	pthread_mutex_t lock;
	struct ca_strset serials;
	int serials_fd, audit_fd;
	/* Checkpoints: one at a time; the timer thread waits on `tick`. */
	pthread_mutex_t cp_lock;
	pthread_cond_t tick;
	int stopping, checkpoint_every, connections;
	/* The connections being served (under lock), cut off on the way out;
	 * `gone` is signalled as each ends. */
	struct session *sessions;
	pthread_cond_t gone;
};

static volatile sig_atomic_t got_signal;
static int wake_pipe[2] = {-1, -1};

static void
on_signal(int sig)
{
	int saved = errno;

	got_signal = sig;
	if (wake_pipe[1] >= 0)
		(void)!write(wake_pipe[1], "x", 1);
	errno = saved;
}

/* One JSON line of the signer's audit log. */
static void
audit(struct daemon *d, const char *peer, const char *what,
    const char *key, const char *subject, int code, const char *why)
{
	char at[26];
	json_t *o;
	char *s, *line;
	size_t n;

	iso8601_format_jst(jpki_now(), at);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "at", at, "peer",
	    peer, "request", what, "key", key ? key : "", "subject",
	    subject ? subject : "", "result", code == JPKI_OK ? "signed" :
	    jpki_strerr(code));
	if (o != NULL && code != JPKI_OK)
		json_object_set_new(o, "reason", json_string(why ? why : ""));
	if (o == NULL || (s = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return;
	}
	json_decref(o);
	/* The line whole in one write: O_APPEND puts it after the others. */
	n = strlen(s);
	if ((line = realloc(s, n + 2)) == NULL) {
		free(s);
		return;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	pthread_mutex_lock(&d->lock);
	(void)!write(d->audit_fd, line, n + 1);
	pthread_mutex_unlock(&d->lock);
	free(line);
}

static int
serials_load(struct daemon *d)
{
	char path[JPKI_PATH_MAX], line[64];
	FILE *f;
	int r;

	if ((r = jpki_path(path, sizeof(path), "%s/%s", d->state,
	    SIGNED_SERIALS_FILE)) != JPKI_OK)
		return r;
	if ((d->serials_fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) < 0)
		return jpki_fail(JPKI_ERR_IO, "%s: %s", path, strerror(errno));
	if ((f = fopen(path, "r")) == NULL)
		return jpki_fail(JPKI_ERR_IO, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		/* A line cut short by a crash is not a serial; what is
		 * appended next starts on a line of its own. */
		if (strchr(line, '\n') == NULL) {
			if (feof(f) && write(d->serials_fd, "\n", 1) != 1) {
				fclose(f);
				return jpki_fail(JPKI_ERR_IO, "%s: %s", path,
				    strerror(errno));
			}
			continue;
		}
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0' || strchr(line, ':') == NULL)
			continue;
		if ((r = ca_strset_add(&d->serials, line, 0, NULL)) != JPKI_OK &&
		    r != JPKI_ERR_CONFLICT) {
			fclose(f);
			return r;
		}
	}
	fclose(f);
	return JPKI_OK;
}

/* Record "<type>:<serial>" before signing it; JPKI_ERR_REFUSED if it was
 * signed before. */
static int
serial_claim(struct daemon *d, enum cert_type t, const char *serial)
{
	char key[64];
	int r;

	snprintf(key, sizeof(key), "%s:%s", rules_cert_type_name(t), serial);
	pthread_mutex_lock(&d->lock);
	r = ca_strset_add(&d->serials, key, 0, NULL);
	if (r == JPKI_OK) {
		char line[70];
		int n = snprintf(line, sizeof(line), "%s\n", key);

		if (write(d->serials_fd, line, (size_t)n) != n)
			r = jpki_fail(JPKI_ERR_IO, "signed serials: %s",
			    strerror(errno));
	}
	pthread_mutex_unlock(&d->lock);
	if (r == JPKI_ERR_CONFLICT)
		return jpki_fail(JPKI_ERR_REFUSED, "signer: serial %s of the %s "
		    "CA was signed before", serial, rules_cert_type_name(t));
	return r;
}

/* The key's name as its file's (ca_key_name: "sign-ca" for generation 1,
 * "sign-ca.gen2" after), whatever a client sent. */
static void
key_name(struct ca_key_id id, char *buf, size_t n)
{
	if (id.role == CA_KEY_CARD_ISSUER)
		snprintf(buf, n, "card-issuer");
	else if (id.role == CA_KEY_AUDIT)
		snprintf(buf, n, "audit");
	else if (id.role == CA_KEY_MUNICIPALITY)
		snprintf(buf, n, "municipality");
	else if (id.gen <= 1)
		snprintf(buf, n, "%s-%s", (id.type == CERT_SIGN ||
		    id.type == CERT_AUTH) ? rules_cert_type_name(id.type) : "?",
		    id.role == CA_KEY_CA ? "ca" : id.role == CA_KEY_OCSP ?
		    "ocsp" : "?");
	else
		snprintf(buf, n, "%s-%s.gen%d", (id.type == CERT_SIGN ||
		    id.type == CERT_AUTH) ? rules_cert_type_name(id.type) : "?",
		    id.role == CA_KEY_CA ? "ca" : id.role == CA_KEY_OCSP ?
		    "ocsp" : "?", id.gen);
}

/* A key a client may name: a CA or responder key of a generation this
 * signer holds (1 to the newest it found when it started), or the card
 * issuer's (generation 0). */
static int
key_known(const struct daemon *d, struct ca_key_id id, const char *key)
{
	int ngen;

	/* The kiosk's document key stays with `jpki serve --kiosk` (it
	 * opens its file or token itself): not one of the signer's. */
	if (id.role == CA_KEY_MUNICIPALITY)
		return jpki_fail(JPKI_ERR_REFUSED, "signer: the municipality "
		    "key is not held by the signer");
	if (id.role == CA_KEY_CARD_ISSUER || id.role == CA_KEY_AUDIT) {
		if (id.type != 0 || id.gen != 0)
			return jpki_fail(JPKI_ERR_INPUT, "signer: the %s key "
			    "has no type or generation", key);
		return JPKI_OK;
	}
	if ((id.type != CERT_SIGN && id.type != CERT_AUTH) ||
	    (id.role != CA_KEY_CA && id.role != CA_KEY_OCSP))
		return jpki_fail(JPKI_ERR_INPUT, "signer: no key %s", key);
	ngen = ca_generation_count(d->ca, id.type);
	if (id.gen < 1 || id.gen > ngen)
		return jpki_fail(JPKI_ERR_NOTFOUND, "signer: no generation %d "
		    "of the %s CA here (it has %d; restart the signer after a "
		    "rollover)", id.gen, rules_cert_type_name(id.type), ngen);
	return JPKI_OK;
}

static const char *
op_name(enum ca_sign_op op)
{
	switch (op) {
	case CA_SIGN_CERT: return "certificate";
	case CA_SIGN_CRL_DIGEST: return "crl";
	case CA_SIGN_OCSP: return "ocsp";
	case CA_SIGN_CARD_FACTS: return "card-facts";
	case CA_SIGN_CARD_CERT: return "card-issuer-cert";
	case CA_SIGN_CARD_FACE: return "card-face";
	case CA_SIGN_CHECKPOINT: return "checkpoint";
	case CA_SIGN_MUNICIPALITY_CERT: return "municipality-cert";
	case CA_SIGN_DOCUMENT_DIGEST: return "document";
	}
	return "unknown";
}

static int
checkpoint_now(struct daemon *d, char *line, size_t n)
{
	int made, r;

	pthread_mutex_lock(&d->cp_lock);
	r = ca_checkpoint_make(d->audit_key, d->store, d->checkpoints, line, n,
	    &made);
	pthread_mutex_unlock(&d->cp_lock);
	return r;
}

struct session {
	struct daemon *d;
	struct session *next;
	struct signer_conn conn;
	char peer[160];
	struct ca_signer_session *ca, *card;
	/* A TBSCertList being streamed: its key, length, and first bytes. */
	int crl_active;
	struct ca_key_id crl_id;
	uint64_t crl_total;
	uint8_t crl_head[CA_LINT_CRL_HEAD];
	size_t crl_head_len;
};

/* CRL_BEGIN, CRL_DATA, CRL_END: the CRL is hashed here, as it comes, and
 * its beginning checked before the CA key signs it. */
static int
handle_crl(struct session *s, const struct signer_request *q, uint8_t *buf,
    size_t cap, struct signer_response *a)
{
	struct daemon *d = s->d;
	char key[32];
	size_t len = cap, k;
	int r;

	if (q->kind == SIGNER_CRL_BEGIN) {
		s->crl_active = 0;
		key_name(q->id, key, sizeof(key));
		if ((r = key_known(d, q->id, key)) != JPKI_OK)
			;
		else if (q->id.role != CA_KEY_CA)
			r = jpki_fail(JPKI_ERR_REFUSED, "signer: CRLs are signed "
			    "by a CA key, not the %s key", key);
		else if ((r = s->ca != NULL ? JPKI_OK : ca_signer_session_open(
		    d->ca->signer, &s->ca)) == JPKI_OK)
			r = ca_signer_crl_begin(s->ca, q->id, q->total);
		if (r != JPKI_OK) {
			audit(d, s->peer, "crl", key, NULL, r, jpki_errmsg());
			return r;
		}
		s->crl_active = 1;
		s->crl_id = q->id;
		s->crl_total = q->total;
		s->crl_head_len = 0;
		return JPKI_OK;
	}
	if (!s->crl_active)
		return jpki_fail(JPKI_ERR_INPUT, "signer: no CRL begun");
	if (q->kind == SIGNER_CRL_DATA) {
		k = sizeof(s->crl_head) - s->crl_head_len;
		if (k > q->len)
			k = q->len;
		memcpy(s->crl_head + s->crl_head_len, q->in, k);
		s->crl_head_len += k;
		if ((r = ca_signer_crl_update(s->ca, q->in, q->len)) != JPKI_OK)
			s->crl_active = 0;
		return r;
	}
	s->crl_active = 0;
	key_name(s->crl_id, key, sizeof(key));
	if ((r = ca_lint_crl_head(d->ca, s->crl_id.type, s->crl_id.gen,
	    s->crl_head, s->crl_head_len, s->crl_total, jpki_now())) ==
	    JPKI_OK)
		r = ca_signer_crl_finish(s->ca, buf, &len);
	audit(d, s->peer, "crl", key, NULL, r, r == JPKI_OK ? NULL :
	    jpki_errmsg());
	if (r == JPKI_OK) {
		a->data = buf;
		a->len = len;
	}
	return r;
}

/* Answer one request into a (a->data into buf). */
static int
handle(struct session *s, const struct signer_request *q, uint8_t *buf,
    size_t cap, struct signer_response *a)
{
	struct daemon *d = s->d;
	struct ca_signer *signer;
	struct ca_signer_session **ss;
	char key[32], serial[SERIAL_HEX_MAX] = "";
	EVP_PKEY *pub = NULL;
	uint8_t *der = NULL;
	size_t len = cap;
	int r, n;

	if (q->kind == SIGNER_CRL_BEGIN || q->kind == SIGNER_CRL_DATA ||
	    q->kind == SIGNER_CRL_END)
		return handle_crl(s, q, buf, cap, a);
	if (q->kind == SIGNER_CHECKPOINT) {
		r = checkpoint_now(d, (char *)buf, cap);
		if (r == JPKI_OK) {
			a->data = buf;
			a->len = strlen((char *)buf);
		}
		return r;
	}
	key_name(q->id, key, sizeof(key));
	if ((r = key_known(d, q->id, key)) != JPKI_OK) {
		audit(d, s->peer, op_name(q->op), key, NULL, r, jpki_errmsg());
		return r;
	}
	/* The audit key is the signer's own: checkpoints are made here, of
	 * the store, never of a head a client names. */
	if (q->id.role == CA_KEY_AUDIT || q->op == CA_SIGN_CHECKPOINT) {
		r = jpki_fail(JPKI_ERR_REFUSED, "signer: audit checkpoints are "
		    "made by the signer from the store, not signed on request");
		audit(d, s->peer, op_name(q->op), key, NULL, r, jpki_errmsg());
		return r;
	}
	/* A digest says nothing of what it is the digest of: a CRL comes as
	 * its bytes (CRL_BEGIN ...), hashed here. */
	if (q->kind == SIGNER_SIGN && q->op == CA_SIGN_CRL_DIGEST) {
		r = jpki_fail(JPKI_ERR_REFUSED, "signer: a CRL is signed from "
		    "its TBSCertList, streamed to the signer, never from a "
		    "digest");
		audit(d, s->peer, op_name(q->op), key, NULL, r, jpki_errmsg());
		return r;
	}
	if (q->id.role == CA_KEY_CARD_ISSUER) {
		signer = d->ca->card_issuer;
		ss = &s->card;
	} else {
		signer = d->ca->signer;
		ss = &s->ca;
	}
	if (q->kind == SIGNER_PUBKEY) {
		if ((r = ca_signer_public_key(signer, q->id, &pub)) != JPKI_OK)
			return r;
		n = i2d_PUBKEY(pub, &der);
		EVP_PKEY_free(pub);
		if (n <= 0 || (size_t)n > cap) {
			OPENSSL_free(der);
			return jpki_fail(JPKI_ERR_CRYPTO, "signer: public key");
		}
		memcpy(buf, der, (size_t)n);
		OPENSSL_free(der);
		a->data = buf;
		a->len = (size_t)n;
		return JPKI_OK;
	}
	if (*ss == NULL && (r = ca_signer_session_open(signer, ss)) != JPKI_OK)
		return r;
	/* The shape of the request first (the key seam's policy), then what
	 * it says. */
	if (q->op == CA_SIGN_CERT && q->id.role == CA_KEY_CA) {
		r = ca_lint_tbs_cert(d->ca, q->id.type, q->id.gen, q->in,
		    q->len, jpki_now(), serial);
		if (r == JPKI_OK)
			r = serial_claim(d, q->id.type, serial);
	} else if (q->op == CA_SIGN_OCSP && q->id.role == CA_KEY_OCSP) {
		r = ca_lint_ocsp_data(d->ca, q->id.type, q->id.gen, q->in,
		    q->len, jpki_now());
	} else {
		r = JPKI_OK;
	}
	if (r == JPKI_OK)
		r = ca_signer_sign(*ss, q->id, q->op, q->in, q->len, buf, &len);
	/* Every certificate, CRL, card signature and refusal is logged; OCSP
	 * answers, many and short-lived, only when refused. */
	if (r != JPKI_OK || q->op != CA_SIGN_OCSP)
		audit(d, s->peer, op_name(q->op), key, serial, r, r == JPKI_OK ?
		    NULL : jpki_errmsg());
	if (r == JPKI_OK) {
		a->data = buf;
		a->len = len;
	}
	return r;
}

static void *
serve_one(void *arg)
{
	struct session *s = arg;
	struct daemon *d = s->d;
	struct jbuf in, out;
	uint8_t answer[SIGNER_DATA_MAX];
	int r;

	jbuf_init(&in);
	jbuf_init(&out);
	if (s->conn.ssl == NULL && d->tls != NULL &&
	    signer_tls_accept(d->tls, &s->conn, s->peer, sizeof(s->peer)) !=
	    JPKI_OK) {
		audit(d, "tls:?", "connect", NULL, NULL, JPKI_ERR_VERIFY,
		    jpki_errmsg());
		goto out;
	}
	for (;;) {
		struct signer_request q;
		struct signer_response a;

		jpki_errclear();
		if ((r = signer_frame_read(&s->conn, SIGNER_FRAME_MAX, &in)) !=
		    JPKI_OK) {
			if (r != JPKI_ERR_NOTFOUND)
				audit(d, s->peer, "read", NULL, NULL, r,
				    jpki_errmsg());
			break;
		}
		memset(&a, 0, sizeof(a));
		if ((r = signer_request_decode(in.data, in.len, &q)) != JPKI_OK)
			audit(d, s->peer, "request", NULL, NULL, r,
			    jpki_errmsg());
		else
			r = handle(s, &q, answer, sizeof(answer), &a);
		a.status = r;
		if (r != JPKI_OK)
			snprintf(a.msg, sizeof(a.msg), "%s", jpki_errmsg());
		/* Answers wait while more requests are already read (a client
		 * sent several at once, signer_remote.c): they go together. */
		if (signer_response_encode(&a, &out) != JPKI_OK)
			break;
		if (signer_conn_buffered(&s->conn) == 0 || out.len >=
		    SIGNER_READ_BUF) {
			if (signer_conn_write(&s->conn, out.data, out.len) !=
			    JPKI_OK)
				break;
			out.len = 0;
		}
		/* A malformed frame leaves the stream unknown: close it. */
		if (r == JPKI_ERR_INPUT && q.kind == 0)
			break;
	}
	/* Answers held back for requests that were to follow. */
	if (out.len > 0)
		(void)signer_conn_write(&s->conn, out.data, out.len);
out:
	ca_signer_session_close(&s->ca);
	ca_signer_session_close(&s->card);
	signer_conn_close(&s->conn);
	jbuf_free(&in);
	jbuf_free(&out);
	pthread_mutex_lock(&d->lock);
	for (struct session **pp = &d->sessions; *pp != NULL;
	    pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	d->connections--;
	pthread_cond_broadcast(&d->gone);
	pthread_mutex_unlock(&d->lock);
	free(s);
	return NULL;
}

static void *
checkpoint_timer(void *arg)
{
	struct daemon *d = arg;

	pthread_mutex_lock(&d->lock);
	while (!d->stopping) {
		struct timespec ts;
		int r;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += d->checkpoint_every;
		pthread_cond_timedwait(&d->tick, &d->lock, &ts);
		if (d->stopping)
			break;
		pthread_mutex_unlock(&d->lock);
		if ((r = checkpoint_now(d, NULL, 0)) != JPKI_OK) {
			audit(d, "signer", "checkpoint", "audit", NULL, r,
			    jpki_errmsg());
			fprintf(stderr, "jpki signer: %s: %s\n", jpki_strerr(r),
			    jpki_errmsg());
		}
		pthread_mutex_lock(&d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

static int
listen_unix(struct daemon *d)
{
	struct sockaddr_un sa = {0};
	int fd;

	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, d->addr.path, strlen(d->addr.path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return jpki_fail(JPKI_ERR_IO, "socket: %s", strerror(errno));
	/* A socket file left by a signer that died: nobody answers on it. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		return jpki_fail(JPKI_ERR_CONFLICT, "%s: a signer is already "
		    "listening there", d->addr.path);
	}
	if (errno == ECONNREFUSED)
		unlink(d->addr.path);
	close(fd);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(d->addr.path, 0660) != 0 ||
	    listen(fd, SIGNER_CONNECTIONS_MAX) != 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return jpki_fail(JPKI_ERR_IO, "%s: %s", d->addr.path,
		    strerror(e));
	}
	d->listen_fd = fd;
	return JPKI_OK;
}

static int
listen_tcp(struct daemon *d)
{
	struct addrinfo hints = {0}, *res = NULL;
	char cert[JPKI_PATH_MAX], key[JPKI_PATH_MAX], ca[JPKI_PATH_MAX];
	int e, fd = -1, one = 1, r;

	if ((r = jpki_path(cert, sizeof(cert), "%s/tls/server.pem",
	    d->state)) || (r = jpki_path(key, sizeof(key),
	    "%s/tls/server.key", d->state)) || (r = jpki_path(ca, sizeof(ca),
	    "%s/tls/ca.pem", d->state)) ||
	    (r = signer_tls_server_ctx(cert, key, ca, &d->tls)))
		return r;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((e = getaddrinfo(d->addr.host, d->addr.port, &hints, &res)) != 0)
		return jpki_fail(JPKI_ERR_IO, "%s:%s: %s", d->addr.host,
		    d->addr.port, gai_strerror(e));
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
	    listen(fd, SIGNER_CONNECTIONS_MAX) != 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return jpki_fail(JPKI_ERR_IO, "%s:%s: %s", d->addr.host,
		    d->addr.port, strerror(e));
	}
	freeaddrinfo(res);
	d->listen_fd = fd;
	return JPKI_OK;
}

static int
chown_state(struct daemon *d, uid_t uid, gid_t gid)
{
	static const char *const names[] = {"", "/" SIGNED_SERIALS_FILE,
	    "/" SIGNER_AUDIT_FILE, "/checkpoints", "/checkpoint-key.pem"};
	char path[JPKI_PATH_MAX];

	for (size_t i = 0; i < JPKI_ARRAY_LEN(names); i++) {
		if (jpki_path(path, sizeof(path), "%s%s", d->state, names[i]) !=
		    JPKI_OK)
			return JPKI_ERR_INPUT;
		if (chown(path, uid, gid) != 0 && errno != ENOENT)
			return jpki_fail(JPKI_ERR_IO, "%s: %s", path,
			    strerror(errno));
	}
	return JPKI_OK;
}

int
ca_user_check(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	if ((pw = getpwnam(user)) == NULL)
		return jpki_fail(JPKI_ERR_NOTFOUND, "no user %s", user);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (geteuid() != 0 && geteuid() != pw->pw_uid)
		return jpki_fail(JPKI_ERR_REFUSED, "running as uid %u: only "
		    "root can become %s", (unsigned)geteuid(), user);
	return JPKI_OK;
}

int
ca_drop_user(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;
	int r;

	if ((r = ca_user_check(user, uid, gid)) != JPKI_OK)
		return r;
	if (geteuid() != 0)
		return JPKI_OK;         /* already that user */
	if ((pw = getpwnam(user)) == NULL)
		return jpki_fail(JPKI_ERR_NOTFOUND, "no user %s", user);
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0)
		return jpki_fail(JPKI_ERR_IO, "becoming %s: %s", user,
		    strerror(errno));
	/* No way back. */
	if (setuid(0) == 0)
		return jpki_fail(JPKI_ERR_INTERNAL, "becoming %s: root could "
		    "be regained", user);
	return JPKI_OK;
}

/* A sanitizer build's leak checker stops the world at exit with a
 * cloned tracer that ptraces the threads: there (tests only) those stay
 * allowed. */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_LEAK_CHECKER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_LEAK_CHECKER 1
#endif
#endif

/* The system calls a signer never makes once it listens: denied with
 * EPERM (clone3 with ENOSYS, so threads fall back to clone, whose flags
 * can be checked: threads only, no new processes). */
static int
sandbox(void)
{
	static const int deny[] = {
	    SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(fork),
	    SCMP_SYS(vfork),
#ifndef SANDBOX_LEAK_CHECKER
	    SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv),
#endif
	    SCMP_SYS(process_vm_writev), SCMP_SYS(socket), SCMP_SYS(connect),
	    SCMP_SYS(bind), SCMP_SYS(listen), SCMP_SYS(mount),
	    SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(chroot),
	    SCMP_SYS(setuid), SCMP_SYS(setgid), SCMP_SYS(setreuid),
	    SCMP_SYS(setregid), SCMP_SYS(setresuid), SCMP_SYS(setresgid),
	    SCMP_SYS(setgroups), SCMP_SYS(unshare), SCMP_SYS(setns),
	    SCMP_SYS(kexec_load), SCMP_SYS(init_module),
	    SCMP_SYS(finit_module), SCMP_SYS(delete_module), SCMP_SYS(bpf),
	    SCMP_SYS(perf_event_open), SCMP_SYS(keyctl), SCMP_SYS(add_key),
	    SCMP_SYS(request_key), SCMP_SYS(personality),
	    SCMP_SYS(userfaultfd), SCMP_SYS(open_by_handle_at),
	    SCMP_SYS(name_to_handle_at), SCMP_SYS(chmod), SCMP_SYS(fchmod),
	    SCMP_SYS(fchmodat), SCMP_SYS(chown), SCMP_SYS(fchown),
	    SCMP_SYS(fchownat), SCMP_SYS(lchown),
	};
	scmp_filter_ctx f;
	int rc = 0;

	if ((f = seccomp_init(SCMP_ACT_ALLOW)) == NULL)
		return jpki_fail(JPKI_ERR_INTERNAL, "seccomp: init");
	for (size_t i = 0; i < JPKI_ARRAY_LEN(deny) && rc == 0; i++)
		rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), deny[i], 0);
#ifndef SANDBOX_LEAK_CHECKER
	if (rc == 0)
		rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS),
		    SCMP_SYS(clone3), 0);
	if (rc == 0)
		rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM),
		    SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ,
		    CLONE_THREAD, 0));
#endif
	if (rc == 0)
		rc = seccomp_load(f);
	seccomp_release(f);
	if (rc != 0)
		return jpki_fail(JPKI_ERR_INTERNAL, "seccomp: %s",
		    strerror(-rc));
	return JPKI_OK;
}

static int
state_open(struct daemon *d, struct datadir *dd,
    const struct ca_signer_daemon_options *o)
{
	char path[JPKI_PATH_MAX];
	EVP_PKEY *pub = NULL;
	const char *kd = o->key_dir;
	int r;

	/* Before anything is made: --keys names key files, and a token's
	 * keys are in the token. */
	if (kd != NULL && ca_signer_pkcs11_used(dd))
		return jpki_fail(JPKI_ERR_INPUT, "--keys %s: this data "
		    "directory keeps its keys in a PKCS#11 token (%s/ca/pkcs11):"
		    " the signer opens them there, without --keys", kd,
		    datadir_root(dd));
	if ((r = o->state_dir ? jpki_path(d->state, sizeof(d->state), "%s",
	    o->state_dir) : jpki_path(d->state, sizeof(d->state),
	    "%s/signer", datadir_root(dd))) ||
	    (r = ca_make_dir(d->state, 0700)) ||
	    (r = jpki_path(d->checkpoints, sizeof(d->checkpoints),
	    "%s/checkpoints", d->state)) ||
	    (r = serials_load(d)) ||
	    (r = jpki_path(path, sizeof(path), "%s/%s", d->state,
	    SIGNER_AUDIT_FILE)))
		return r;
	if ((d->audit_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) < 0)
		return jpki_fail(JPKI_ERR_IO, "%s: %s", path, strerror(errno));
	/* The keys: the CAs' and responders' (all four), the card issuer's
	 * and the audit key (made on first need); from --keys DIR, or where
	 * the data directory keeps them (its files, or its token). */
	if ((r = ca_open_local(dd, CA_KEYS_CA | CA_KEYS_OCSP, kd, &d->ca)) ||
	    (r = ca_card_issuer_public_key(d->ca, &pub)))
		return r;
	EVP_PKEY_free(pub);
	pub = NULL;
	if ((r = ca_audit_key_open(dd, kd, &d->audit_key)) != JPKI_OK)
		return r;
	d->store = datadir_store(dd);
	return JPKI_OK;
}

int
ca_signer_serve(struct datadir *dd, const struct ca_signer_daemon_options *o)
{
	struct daemon d;
	struct sigaction sa = {0};
	pthread_t timer;
	pthread_attr_t attr;
	int r, timer_started = 0, still_open;
	uid_t uid;
	gid_t gid;

	memset(&d, 0, sizeof(d));
	d.listen_fd = d.serials_fd = d.audit_fd = -1;
	pthread_mutex_init(&d.lock, NULL);
	pthread_mutex_init(&d.cp_lock, NULL);
	pthread_cond_init(&d.tick, NULL);
	pthread_cond_init(&d.gone, NULL);
	d.checkpoint_every = o->checkpoint_every > 0 ? o->checkpoint_every :
	    CA_CHECKPOINT_EVERY;
	if ((r = signer_addr_parse(o->listen, &d.addr)) ||
	    (r = state_open(&d, dd, o)) ||
	    (r = d.addr.tls ? listen_tcp(&d) : listen_unix(&d)))
		goto out;
	if (pipe2(wake_pipe, O_CLOEXEC) != 0) {
		r = jpki_fail(JPKI_ERR_IO, "pipe: %s", strerror(errno));
		goto out;
	}
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Keys and files open: drop what is not needed. */
	if (o->user != NULL && ((r = getuid() == 0 ? chown_state(&d,
	    getpwnam(o->user) ? getpwnam(o->user)->pw_uid : 0,
	    getpwnam(o->user) ? getpwnam(o->user)->pw_gid : 0) : JPKI_OK) ||
	    (r = ca_drop_user(o->user, &uid, &gid))))
		goto out;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		r = jpki_fail(JPKI_ERR_IO, "no_new_privs: %s", strerror(errno));
		goto out;
	}
	/* A first checkpoint of the store as the signer finds it. */
	if ((r = checkpoint_now(&d, NULL, 0)) != JPKI_OK) {
		audit(&d, "signer", "checkpoint", "audit", NULL, r,
		    jpki_errmsg());
		fprintf(stderr, "jpki signer: %s: %s\n", jpki_strerr(r),
		    jpki_errmsg());
	}
	if (!o->no_sandbox && (r = sandbox()) != JPKI_OK)
		goto out;
	if (pthread_create(&timer, NULL, checkpoint_timer, &d) != 0) {
		r = jpki_fail(JPKI_ERR_INTERNAL, "checkpoint thread");
		goto out;
	}
	timer_started = 1;
	if (o->ready != NULL)
		o->ready(o->arg, o->listen);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	while (!got_signal) {
		struct pollfd p[2] = {{d.listen_fd, POLLIN, 0},
		    {wake_pipe[0], POLLIN, 0}};
		struct session *s;
		struct ucred cred;
		socklen_t cl = sizeof(cred);
		pthread_t tid;
		int fd;

		if (poll(p, 2, -1) < 0 || !(p[0].revents & POLLIN))
			continue;
		if ((fd = accept4(d.listen_fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		pthread_mutex_lock(&d.lock);
		if (d.connections >= SIGNER_CONNECTIONS_MAX ||
		    (s = calloc(1, sizeof(*s))) == NULL) {
			pthread_mutex_unlock(&d.lock);
			close(fd);
			continue;
		}
		d.connections++;
		s->d = &d;
		s->conn.fd = fd;
		s->next = d.sessions;
		d.sessions = s;
		pthread_mutex_unlock(&d.lock);
		if (!d.addr.tls && getsockopt(fd, SOL_SOCKET, SO_PEERCRED,
		    &cred, &cl) == 0)
			snprintf(s->peer, sizeof(s->peer), "unix:uid=%u,pid=%d",
			    (unsigned)cred.uid, (int)cred.pid);
		else
			snprintf(s->peer, sizeof(s->peer), "tls:?");
		if (pthread_create(&tid, &attr, serve_one, s) != 0) {
			pthread_mutex_lock(&d.lock);
			d.sessions = s->next;   /* still first: under d.lock */
			d.connections--;
			pthread_mutex_unlock(&d.lock);
			close(fd);
			free(s);
		}
	}
	pthread_attr_destroy(&attr);
	r = JPKI_OK;
out:
	if (timer_started) {
		pthread_mutex_lock(&d.lock);
		d.stopping = 1;
		pthread_cond_signal(&d.tick);
		pthread_mutex_unlock(&d.lock);
		pthread_join(timer, NULL);
	}
	if (d.listen_fd >= 0) {
		close(d.listen_fd);
		if (!d.addr.tls && r != JPKI_ERR_CONFLICT)
			unlink(d.addr.path);
	}
	/* Cut off the connections still open (a request being signed is
	 * answered first: its thread sees the end on its next read) and wait
	 * for their threads, a few seconds at most. */
	pthread_mutex_lock(&d.lock);
	for (struct session *s = d.sessions; s != NULL; s = s->next)
		shutdown(s->conn.fd, SHUT_RD);
	for (int i = 0; i < 50 && d.connections > 0; i++) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&d.gone, &d.lock, &ts);
	}
	still_open = d.connections;
	pthread_mutex_unlock(&d.lock);
	if (still_open == 0) {
		ca_signer_close(&d.audit_key);
		ca_close(&d.ca);
		ca_strset_free(&d.serials);
		SSL_CTX_free(d.tls);
		if (d.serials_fd >= 0)
			close(d.serials_fd);
		if (d.audit_fd >= 0)
			close(d.audit_fd);
	}
	return r;
}
