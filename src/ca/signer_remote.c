/*
 * signer_remote.c: the key seam's request table answered by a separate
 * `jpki signer` process (signer.h, signer_wire.h).  This process holds no
 * private key: each request goes over a unix socket or mutual TLS, and
 * the answer is a signature, a public key, or a refusal with its reason.
 *
 * Each session is a connection of its own (the signer gives each its own
 * thread), so signing threads never wait on each other here; public keys
 * are asked on a connection of the signer's state, under a lock.
 */
#include "ca/ca_impl.h"
#include "ca/signer_wire.h"
#include "ca/signer_tls.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct remote_state {
	char where[JPKI_PATH_MAX];  /* the address, for messages */
	struct signer_addr addr;
	SSL_CTX *tls;
	unsigned keys;
	pthread_mutex_t lock;
	struct signer_conn conn;    /* public keys */
	struct jbuf buf;
};

struct remote_session {
	struct remote_state *st;
	struct signer_conn conn;
	struct jbuf buf;
	struct jbuf crl;            /* a CRL piece being gathered */
};

static int
tcp_connect(const struct signer_addr *a, const char *where, int *fd)
{
	struct addrinfo hints = {0}, *res = NULL, *ai;
	int e, s = -1, saved = 0;

	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(a->host, a->port, &hints, &res)) != 0)
		return jpki_fail(JPKI_ERR_IO, "signer %s: %s", where,
		    gai_strerror(e));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol)) < 0)
			continue;
		if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno;
		close(s);
		s = -1;
	}
	freeaddrinfo(res);
	if (s < 0)
		return jpki_fail(JPKI_ERR_IO, "signer %s: connect: %s", where,
		    strerror(saved ? saved : ECONNREFUSED));
	*fd = s;
	return JPKI_OK;
}

static int
remote_connect(struct remote_state *st, struct signer_conn *c)
{
	int r;

	c->fd = -1;
	c->ssl = NULL;
	c->rpos = c->rlen = 0;
	if (!st->addr.tls) {
		struct sockaddr_un sa = {0};

		sa.sun_family = AF_UNIX;
		memcpy(sa.sun_path, st->addr.path, strlen(st->addr.path));
		if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) <
		    0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) !=
		    0) {
			r = jpki_fail(JPKI_ERR_IO, "signer %s: connect: %s",
			    st->where, strerror(errno));
			signer_conn_close(c);
			return r;
		}
		return JPKI_OK;
	}
	if ((r = tcp_connect(&st->addr, st->where, &c->fd)) != JPKI_OK)
		return r;
	if ((r = signer_tls_connect(st->tls, c, st->addr.host, st->where)) !=
	    JPKI_OK)
		signer_conn_close(c);
	return r;
}

/* A request or answer on c failed with r: the stream is in an unknown
 * state, so the connection is closed and never reused, and the error
 * names the signer once. */
static int
connection_lost(const struct remote_state *st, struct signer_conn *c, int r)
{
	char msg[512];

	if (r == JPKI_ERR_NOTFOUND)
		r = jpki_fail(JPKI_ERR_IO, "the signer went away (connection "
		    "closed on read)");
	snprintf(msg, sizeof(msg), "%s", jpki_errmsg());
	signer_conn_close(c);
	if (strncmp(msg, "signer ", 7) == 0 && strstr(msg, st->where))
		return jpki_fail(r, "%s", msg);
	return jpki_fail(r, "signer %s: %s", st->where, msg);
}

/* One request and its answer on c (connected first if need be). */
static int
exchange(struct remote_state *st, struct signer_conn *c, struct jbuf *buf,
    const struct signer_request *q, struct signer_response *a)
{
	int r;

	if (c->fd < 0 && (r = remote_connect(st, c)) != JPKI_OK)
		return r;
	buf->len = 0;
	if ((r = signer_request_encode(q, buf)) != JPKI_OK ||
	    (r = signer_conn_write(c, buf->data, buf->len)) != JPKI_OK ||
	    (r = signer_frame_read(c, SIGNER_DATA_MAX + SIGNER_MSG_MAX + 16,
	    buf)) != JPKI_OK ||
	    (r = signer_response_decode(buf->data, buf->len, a)) != JPKI_OK)
		return connection_lost(st, c, r);
	if (a->status != JPKI_OK)
		return jpki_fail(a->status, "%s", a->msg);
	return JPKI_OK;
}

static int
key_allowed(const struct remote_state *st, struct ca_key_id id)
{
	unsigned need = id.role == CA_KEY_CA ? CA_KEYS_CA : id.role ==
	    CA_KEY_OCSP ? CA_KEYS_OCSP : id.role == CA_KEY_CARD_ISSUER ?
	    CA_KEYS_CARD_ISSUER : CA_KEYS_AUDIT;

	return (st->keys & need) != 0;
}

static int
remote_public_key(void *state, struct ca_key_id id, EVP_PKEY **pub)
{
	struct remote_state *st = state;
	struct signer_request q = {.kind = SIGNER_PUBKEY, .id = id};
	struct signer_response a;
	const uint8_t *p;
	int r;

	if (!key_allowed(st, id))
		return jpki_fail(JPKI_ERR_NOTFOUND, "signer: the key %d/%d is "
		    "not open in this process", (int)id.type, (int)id.role);
	pthread_mutex_lock(&st->lock);
	if ((r = exchange(st, &st->conn, &st->buf, &q, &a)) == JPKI_OK) {
		p = a.data;
		if ((*pub = d2i_PUBKEY(NULL, &p, (long)a.len)) == NULL ||
		    p != a.data + a.len) {
			EVP_PKEY_free(*pub);
			*pub = NULL;
			r = jpki_fail(JPKI_ERR_CRYPTO, "signer %s: not a public "
			    "key", st->where);
		}
	}
	pthread_mutex_unlock(&st->lock);
	return r;
}

static int
remote_session_open(void *state, void **sess)
{
	struct remote_session *rs;

	if ((rs = calloc(1, sizeof(*rs))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	rs->st = state;
	rs->conn.fd = -1;
	jbuf_init(&rs->buf);
	jbuf_init(&rs->crl);
	*sess = rs;
	return JPKI_OK;
}

static int
remote_sign(void *sess, struct ca_key_id id, enum ca_sign_op op,
    const uint8_t *in, size_t len, uint8_t *sig, size_t *sig_len)
{
	struct remote_session *rs = sess;
	struct signer_request q = {.kind = SIGNER_SIGN, .id = id, .op = op,
	    .in = in, .len = len};
	struct signer_response a;
	int r;

	if (!key_allowed(rs->st, id))
		return jpki_fail(JPKI_ERR_REFUSED, "signer: this process was "
		    "opened without the key %d/%d", (int)id.type, (int)id.role);
	if ((r = exchange(rs->st, &rs->conn, &rs->buf, &q, &a)) != JPKI_OK)
		return r;
	if (a.len == 0 || a.len > *sig_len)
		return jpki_fail(JPKI_ERR_CRYPTO, "signer %s: a signature of "
		    "%zu bytes", rs->st->where, a.len);
	memcpy(sig, a.data, a.len);
	*sig_len = a.len;
	return JPKI_OK;
}

/* The items in one write, their answers read in order: the signer reads
 * them from its buffer and answers them together, one round trip. */
static int
remote_sign_many(void *sess, struct ca_sign_item *items, size_t n)
{
	struct remote_session *rs = sess;
	struct signer_conn *c = &rs->conn;
	struct signer_response a;
	size_t i;
	int r = JPKI_OK;

	for (i = 0; i < n; i++)
		if (items[i].r == JPKI_OK && !key_allowed(rs->st, items[i].id)) {
			items[i].r = jpki_fail(JPKI_ERR_REFUSED, "signer: this "
			    "process was opened without the key %d/%d",
			    (int)items[i].id.type, (int)items[i].id.role);
			snprintf(items[i].why, sizeof(items[i].why), "%s",
			    jpki_errmsg());
		}
	if (c->fd < 0 && (r = remote_connect(rs->st, c)) != JPKI_OK)
		return r;
	rs->buf.len = 0;
	for (i = 0; i < n && r == JPKI_OK; i++) {
		struct signer_request q = {.kind = SIGNER_SIGN,
		    .id = items[i].id, .op = items[i].op, .in = items[i].in,
		    .len = items[i].len};

		if (items[i].r == JPKI_OK)
			r = signer_request_encode(&q, &rs->buf);
	}
	if (r == JPKI_OK)
		r = signer_conn_write(c, rs->buf.data, rs->buf.len);
	for (i = 0; i < n && r == JPKI_OK; i++) {
		if (items[i].r != JPKI_OK)
			continue;
		if ((r = signer_frame_read(c, SIGNER_DATA_MAX +
		    SIGNER_MSG_MAX + 16, &rs->buf)) != JPKI_OK ||
		    (r = signer_response_decode(rs->buf.data, rs->buf.len,
		    &a)) != JPKI_OK)
			break;
		if (a.status != JPKI_OK) {
			items[i].r = a.status;
			/* Cut to fit, as any message of ours may be. */
			snprintf(items[i].why, sizeof(items[i].why), "%.*s",
			    (int)sizeof(items[i].why) - 1, a.msg);
		} else if (a.len == 0 || a.len > items[i].sig_len) {
			items[i].r = jpki_fail(JPKI_ERR_CRYPTO, "signer %s: a "
			    "signature of %zu bytes", rs->st->where, a.len);
			snprintf(items[i].why, sizeof(items[i].why), "%s",
			    jpki_errmsg());
		} else {
			memcpy(items[i].sig, a.data, a.len);
			items[i].sig_len = a.len;
		}
	}
	/* What was not answered is not signed as far as this process
	 * knows. */
	return r == JPKI_OK ? JPKI_OK : connection_lost(rs->st, c, r);
}

/* A CRL is streamed to the signer, which hashes it and checks how it
 * begins: it never signs a digest a client names. */
static int
remote_crl_begin(void *sess, struct ca_key_id id, uint64_t total)
{
	struct remote_session *rs = sess;
	struct signer_request q = {.kind = SIGNER_CRL_BEGIN, .id = id,
	    .total = total};
	struct signer_response a;

	if (!key_allowed(rs->st, id))
		return jpki_fail(JPKI_ERR_REFUSED, "signer: this process was "
		    "opened without the key %d/%d", (int)id.type, (int)id.role);
	rs->crl.len = 0;
	return exchange(rs->st, &rs->conn, &rs->buf, &q, &a);
}

static int
crl_flush(struct remote_session *rs)
{
	struct signer_request q = {.kind = SIGNER_CRL_DATA, .in = rs->crl.data,
	    .len = rs->crl.len};
	struct signer_response a;
	int r;

	if (rs->crl.len == 0)
		return JPKI_OK;
	r = exchange(rs->st, &rs->conn, &rs->buf, &q, &a);
	rs->crl.len = 0;
	return r;
}

static int
remote_crl_update(void *sess, const uint8_t *p, size_t n)
{
	struct remote_session *rs = sess;
	int r;

	while (n > 0) {
		size_t k = SIGNER_CRL_CHUNK - rs->crl.len;

		if (k > n)
			k = n;
		if ((r = jbuf_put(&rs->crl, p, k)) != JPKI_OK)
			return r;
		p += k;
		n -= k;
		if (rs->crl.len == SIGNER_CRL_CHUNK &&
		    (r = crl_flush(rs)) != JPKI_OK)
			return r;
	}
	return JPKI_OK;
}

static int
remote_crl_finish(void *sess, uint8_t *sig, size_t *sig_len)
{
	struct remote_session *rs = sess;
	struct signer_request q = {.kind = SIGNER_CRL_END};
	struct signer_response a;
	int r;

	if ((r = crl_flush(rs)) != JPKI_OK ||
	    (r = exchange(rs->st, &rs->conn, &rs->buf, &q, &a)) != JPKI_OK)
		return r;
	if (a.len == 0 || a.len > *sig_len)
		return jpki_fail(JPKI_ERR_CRYPTO, "signer %s: a signature of "
		    "%zu bytes", rs->st->where, a.len);
	memcpy(sig, a.data, a.len);
	*sig_len = a.len;
	return JPKI_OK;
}

static void
remote_session_close(void *sess)
{
	struct remote_session *rs = sess;

	signer_conn_close(&rs->conn);
	jbuf_free(&rs->buf);
	jbuf_free(&rs->crl);
	free(rs);
}

static void
remote_close(void *state)
{
	struct remote_state *st = state;

	signer_conn_close(&st->conn);
	jbuf_free(&st->buf);
	SSL_CTX_free(st->tls);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* The keys are jpki signer's, wherever it keeps them: it makes its own
 * audit key, and a data directory's keys are made by `jpki init`. */
static int
remote_locate(void *state, struct ca_key_id id, char *buf, size_t n)
{
	struct remote_state *st = state;

	(void)id;
	return jpki_path(buf, n, "signer %s", st->where);
}

static const struct ca_signer_impl remote_impl = {
	.name = "remote",
	.public_key = remote_public_key,
	.session_open = remote_session_open,
	.sign = remote_sign,
	.session_close = remote_session_close,
	.close = remote_close,
	.locate = remote_locate,
	.crl_begin = remote_crl_begin,
	.crl_update = remote_crl_update,
	.crl_finish = remote_crl_finish,
	.sign_many = remote_sign_many,
};

/* A path of the config, relative to the data directory. */
static int
config_path(const char *dir, const char *v, const char *key, char *buf,
    size_t n)
{
	if (*v == '\0')
		return jpki_fail(JPKI_ERR_INPUT, "config: a tls:// signer needs "
		    "%s", key);
	if (v[0] == '/')
		return jpki_path(buf, n, "%s", v);
	return jpki_path(buf, n, "%s/%s", dir, v);
}

static int
state_new(const struct jpki_config *c, const char *dir, unsigned keys,
    struct remote_state **out)
{
	struct remote_state *st;
	char cert[JPKI_PATH_MAX], key[JPKI_PATH_MAX], ca[JPKI_PATH_MAX];
	int r;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	snprintf(st->where, sizeof(st->where), "%s", c->signer);
	st->keys = keys;
	st->conn.fd = -1;
	jbuf_init(&st->buf);
	pthread_mutex_init(&st->lock, NULL);
	if ((r = signer_addr_parse(c->signer, &st->addr)) != JPKI_OK)
		goto fail;
	if (st->addr.tls && ((r = config_path(dir, c->signer_cert,
	    "signer_cert", cert, sizeof(cert))) ||
	    (r = config_path(dir, c->signer_key, "signer_key", key,
	    sizeof(key))) ||
	    (r = config_path(dir, c->signer_ca, "signer_ca", ca,
	    sizeof(ca))) ||
	    (r = signer_tls_client_ctx(cert, key, ca, &st->tls))))
		goto fail;
	*out = st;
	return JPKI_OK;
fail:
	remote_close(st);
	return r;
}

int
ca_signer_open_remote(const struct jpki_config *c, const char *dir,
    unsigned keys, struct ca_signer **out)
{
	struct remote_state *st;
	int r;

	*out = NULL;
	if ((r = state_new(c, dir, keys, &st)) != JPKI_OK)
		return r;
	return ca_signer_new(&remote_impl, st, out);
}

int
ca_signer_remote_checkpoint(const struct jpki_config *c, const char *dir,
    char *line, size_t n)
{
	struct signer_request q = {.kind = SIGNER_CHECKPOINT};
	struct signer_response a;
	struct remote_state *st;
	int r;

	if ((r = state_new(c, dir, 0, &st)) != JPKI_OK)
		return r;
	if ((r = exchange(st, &st->conn, &st->buf, &q, &a)) == JPKI_OK &&
	    line != NULL)
		snprintf(line, n, "%.*s", (int)a.len, (const char *)a.data);
	remote_close(st);
	return r;
}
