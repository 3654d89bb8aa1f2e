/*
 * signer_wire.c: the signer's messages and their stream (signer_wire.h).
 * The decoders read untrusted bytes through the bounded cursor.
 */
#include "ca/signer_wire.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int
frame_begin(struct jbuf *out, size_t *at)
{
	*at = out->len;
	return jbuf_put_u32be(out, 0);
}

static int
frame_end(struct jbuf *out, size_t at)
{
	size_t n = out->len - at - 4;

	if (n == 0 || n > SIGNER_FRAME_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "signer: a message of %zu "
		    "bytes (1 to %d)", n, SIGNER_FRAME_MAX);
	out->data[at] = (uint8_t)(n >> 24);
	out->data[at + 1] = (uint8_t)(n >> 16);
	out->data[at + 2] = (uint8_t)(n >> 8);
	out->data[at + 3] = (uint8_t)n;
	return JPKI_OK;
}

int
signer_request_encode(const struct signer_request *q, struct jbuf *out)
{
	size_t at;
	int r;

	if ((r = frame_begin(out, &at)) || (r = jbuf_put_u8(out,
	    SIGNER_WIRE_VERSION)) || (r = jbuf_put_u8(out, (uint8_t)q->kind)))
		return r;
	switch (q->kind) {
	case SIGNER_PUBKEY:
	case SIGNER_SIGN:
	case SIGNER_CRL_BEGIN:
		if ((r = jbuf_put_u8(out, (uint8_t)q->id.type)) ||
		    (r = jbuf_put_u8(out, (uint8_t)q->id.role)) ||
		    (r = jbuf_put_u32be(out, (uint32_t)q->id.gen)))
			return r;
		if (q->kind == SIGNER_PUBKEY)
			break;
		if (q->kind == SIGNER_CRL_BEGIN) {
			if ((r = jbuf_put_u64be(out, q->total)))
				return r;
			break;
		}
		if (q->len > CA_SIGN_INPUT_MAX)
			return jpki_fail(JPKI_ERR_INPUT, "signer: input of %zu "
			    "bytes (at most %d)", q->len, CA_SIGN_INPUT_MAX);
		if ((r = jbuf_put_u8(out, (uint8_t)q->op)) ||
		    (r = jbuf_put_u32be(out, (uint32_t)q->len)) ||
		    (r = jbuf_put(out, q->in, q->len)))
			return r;
		break;
	case SIGNER_CRL_DATA:
		if (q->len == 0 || q->len > SIGNER_CRL_CHUNK)
			return jpki_fail(JPKI_ERR_INPUT, "signer: a CRL piece of "
			    "%zu bytes", q->len);
		if ((r = jbuf_put_u32be(out, (uint32_t)q->len)) ||
		    (r = jbuf_put(out, q->in, q->len)))
			return r;
		break;
	case SIGNER_CHECKPOINT:
	case SIGNER_CRL_END:
		break;
	default:
		return jpki_fail(JPKI_ERR_INTERNAL, "signer: no request %d",
		    (int)q->kind);
	}
	return frame_end(out, at);
}

int
signer_response_encode(const struct signer_response *a, struct jbuf *out)
{
	size_t at, n;
	int r;

	if ((r = frame_begin(out, &at)) || (r = jbuf_put_u8(out,
	    SIGNER_WIRE_VERSION)) || (r = jbuf_put_u8(out,
	    (uint8_t)a->status)))
		return r;
	if (a->status == JPKI_OK) {
		if (a->len > SIGNER_DATA_MAX)
			return jpki_fail(JPKI_ERR_INTERNAL, "signer: an answer "
			    "of %zu bytes", a->len);
		if ((r = jbuf_put_u32be(out, (uint32_t)a->len)) ||
		    (r = jbuf_put(out, a->data, a->len)))
			return r;
	} else {
		n = strnlen(a->msg, SIGNER_MSG_MAX);
		if ((r = jbuf_put_u16be(out, (uint16_t)n)) ||
		    (r = jbuf_put(out, a->msg, n)))
			return r;
	}
	return frame_end(out, at);
}

static int
bad(const char *what)
{
	return jpki_fail(JPKI_ERR_INPUT, "signer: malformed %s", what);
}

int
signer_request_decode(const uint8_t *body, size_t len,
    struct signer_request *q)
{
	struct cursor c;
	uint8_t v, kind, type, role, op;
	uint32_t n, gen;

	memset(q, 0, sizeof(*q));
	if (len > SIGNER_FRAME_MAX)
		return bad("request (too long)");
	cursor_init(&c, body, len);
	if (cursor_get_u8(&c, &v) || cursor_get_u8(&c, &kind))
		return bad("request (header)");
	if (v != SIGNER_WIRE_VERSION)
		return jpki_fail(JPKI_ERR_INPUT, "signer: protocol version %u "
		    "(this signer speaks %d)", v, SIGNER_WIRE_VERSION);
	q->kind = (enum signer_kind)kind;
	switch (kind) {
	case SIGNER_PUBKEY:
	case SIGNER_SIGN:
	case SIGNER_CRL_BEGIN:
		if (cursor_get_u8(&c, &type) || cursor_get_u8(&c, &role) ||
		    cursor_get_u32be(&c, &gen) || gen > CA_GEN_MAX)
			return bad("request (key)");
		q->id.type = (enum cert_type)type;
		q->id.role = (enum ca_key_role)role;
		q->id.gen = (int)gen;
		if (kind == SIGNER_PUBKEY)
			break;
		if (kind == SIGNER_CRL_BEGIN) {
			if (cursor_get_u64be(&c, &q->total) || q->total == 0 ||
			    q->total > SIGNER_CRL_MAX)
				return bad("request (CRL length)");
			break;
		}
		if (cursor_get_u8(&c, &op) || cursor_get_u32be(&c, &n))
			return bad("request (operation)");
		if (n == 0 || n > CA_SIGN_INPUT_MAX || n != cursor_left(&c))
			return bad("request (input length)");
		q->op = (enum ca_sign_op)op;
		q->len = n;
		if (cursor_take(&c, &q->in, n))
			return bad("request (input)");
		break;
	case SIGNER_CRL_DATA:
		if (cursor_get_u32be(&c, &n) || n == 0 ||
		    n > SIGNER_CRL_CHUNK || n != cursor_left(&c) ||
		    cursor_take(&c, &q->in, n))
			return bad("request (CRL piece)");
		q->len = n;
		break;
	case SIGNER_CHECKPOINT:
	case SIGNER_CRL_END:
		break;
	default:
		return jpki_fail(JPKI_ERR_INPUT, "signer: no request kind %u",
		    kind);
	}
	if (cursor_left(&c) != 0)
		return bad("request (trailing bytes)");
	return JPKI_OK;
}

int
signer_response_decode(const uint8_t *body, size_t len,
    struct signer_response *a)
{
	struct cursor c;
	const uint8_t *p;
	uint8_t v, status;
	uint32_t n;
	uint16_t m;

	memset(a, 0, sizeof(*a));
	cursor_init(&c, body, len);
	if (cursor_get_u8(&c, &v) || cursor_get_u8(&c, &status))
		return bad("response (header)");
	if (v != SIGNER_WIRE_VERSION)
		return jpki_fail(JPKI_ERR_INPUT, "signer: protocol version %u "
		    "(this client speaks %d)", v, SIGNER_WIRE_VERSION);
	if (status >= JPKI_ERR__COUNT)
		return bad("response (status)");
	a->status = status;
	if (status == JPKI_OK) {
		if (cursor_get_u32be(&c, &n) || n > SIGNER_DATA_MAX ||
		    cursor_take(&c, &a->data, n))
			return bad("response (answer)");
		a->len = n;
	} else {
		if (cursor_get_u16be(&c, &m) || m > SIGNER_MSG_MAX ||
		    cursor_take(&c, &p, m))
			return bad("response (message)");
		memcpy(a->msg, p, m);
		a->msg[m] = '\0';
		/* One line: a message is shown to the user as it is. */
		for (size_t i = 0; i < m; i++)
			if (a->msg[i] == '\n' || a->msg[i] == '\r' ||
			    a->msg[i] == '\0')
				a->msg[i] = ' ';
	}
	if (cursor_left(&c) != 0)
		return bad("response (trailing bytes)");
	return JPKI_OK;
}

/* ---- the stream ---------------------------------------------------------- */

static int
conn_fail(struct signer_conn *c, const char *what)
{
	if (c->ssl != NULL) {
		unsigned long e = ERR_get_error();
		char buf[256];

		ERR_error_string_n(e, buf, sizeof(buf));
		ERR_clear_error();
		if (e == 0)
			return jpki_fail(JPKI_ERR_IO, "the signer closed the TLS "
			    "connection on %s (it did not accept this client's "
			    "certificate, or it stopped)", what);
		return jpki_fail(JPKI_ERR_IO, "signer connection: %s: %s", what,
		    buf);
	}
	if (errno == 0 || errno == ECONNRESET || errno == EPIPE)
		return jpki_fail(JPKI_ERR_IO, "the signer went away (connection "
		    "%s on %s)", errno ? "reset" : "closed", what);
	return jpki_fail(JPKI_ERR_IO, "signer connection: %s: %s", what,
	    strerror(errno));
}

int
signer_conn_write(struct signer_conn *c, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t k;

		errno = 0;
		if (c->ssl != NULL) {
			int w = SSL_write(c->ssl, b, n > INT32_MAX ? INT32_MAX :
			    (int)n);

			k = w > 0 ? w : -1;
		} else {
			k = send(c->fd, b, n, MSG_NOSIGNAL);
			if (k < 0 && errno == EINTR)
				continue;
		}
		if (k <= 0)
			return conn_fail(c, "write");
		b += k;
		n -= (size_t)k;
	}
	return JPKI_OK;
}

/* Up to n bytes into b from one read of the connection (at least one
 * byte, 0 when the peer closed), or -1. */
static ssize_t
conn_recv(struct signer_conn *c, uint8_t *b, size_t n)
{
	for (;;) {
		errno = 0;
		if (c->ssl != NULL) {
			int w = SSL_read(c->ssl, b, n > INT32_MAX ? INT32_MAX :
			    (int)n);

			return w > 0 ? w : SSL_get_error(c->ssl, w) ==
			    SSL_ERROR_ZERO_RETURN ? 0 : -1;
		}
		ssize_t k = recv(c->fd, b, n, 0);

		if (k < 0 && errno == EINTR)
			continue;
		return k;
	}
}

/* n bytes; *got says how many came before the peer closed.  What is
 * buffered goes first; a short need refills the buffer (one read may
 * bring the rest of this frame and the next ones), a long one reads
 * straight into b. */
static int
conn_read(struct signer_conn *c, uint8_t *b, size_t n, size_t *got)
{
	*got = 0;
	while (*got < n) {
		size_t have = c->rlen - c->rpos, want = n - *got;
		ssize_t k;

		if (have > 0) {
			size_t take = have < want ? have : want;

			memcpy(b + *got, c->rbuf + c->rpos, take);
			c->rpos += take;
			*got += take;
			continue;
		}
		c->rpos = c->rlen = 0;
		if (want >= sizeof(c->rbuf))
			k = conn_recv(c, b + *got, want);
		else if ((k = conn_recv(c, c->rbuf, sizeof(c->rbuf))) > 0)
			c->rlen = (size_t)k;
		if (k == 0)
			return JPKI_ERR_NOTFOUND;
		if (k < 0)
			return conn_fail(c, "read");
		if (want >= sizeof(c->rbuf))
			*got += (size_t)k;
	}
	return JPKI_OK;
}

int
signer_frame_read(struct signer_conn *c, size_t max, struct jbuf *body)
{
	uint8_t h[4];
	size_t n, got;
	int r;

	body->len = 0;
	if ((r = conn_read(c, h, 4, &got)) != JPKI_OK) {
		if (r == JPKI_ERR_NOTFOUND && got == 0)
			return r;
		return r == JPKI_ERR_NOTFOUND ? conn_fail(c, "read") : r;
	}
	n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
	if (n == 0 || n > max)
		return jpki_fail(JPKI_ERR_INPUT, "signer: a message of %zu "
		    "bytes (1 to %zu)", n, max);
	if ((r = jbuf_reserve(body, n)) != JPKI_OK)
		return r;
	if ((r = conn_read(c, body->data, n, &got)) != JPKI_OK)
		return r == JPKI_ERR_NOTFOUND ? conn_fail(c, "read") : r;
	body->len = n;
	return JPKI_OK;
}

size_t
signer_conn_buffered(const struct signer_conn *c)
{
	return c->rlen - c->rpos;
}

void
signer_conn_close(struct signer_conn *c)
{
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->rpos = c->rlen = 0;
}

int
signer_addr_parse(const char *s, struct signer_addr *a)
{
	const char *hp, *colon;

	memset(a, 0, sizeof(*a));
	if (strncmp(s, "unix:", 5) == 0) {
		if (s[5] == '\0' || strlen(s + 5) >= sizeof(a->path))
			return jpki_fail(JPKI_ERR_INPUT, "signer address %s: a "
			    "socket path of 1 to %zu bytes", s,
			    sizeof(a->path) - 1);
		snprintf(a->path, sizeof(a->path), "%s", s + 5);
		return JPKI_OK;
	}
	if (strncmp(s, "tcp:", 4) == 0)
		hp = s + 4;
	else if (strncmp(s, "tls://", 6) == 0)
		hp = s + 6;
	else
		return jpki_fail(JPKI_ERR_INPUT, "signer address %s: not "
		    "unix:PATH, tcp:HOST:PORT or tls://HOST:PORT", s);
	a->tls = 1;
	if ((colon = strrchr(hp, ':')) == NULL || colon == hp ||
	    (size_t)(colon - hp) >= sizeof(a->host) || colon[1] == '\0' ||
	    strlen(colon + 1) >= sizeof(a->port) ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return jpki_fail(JPKI_ERR_INPUT, "signer address %s: HOST:PORT "
		    "expected", s);
	memcpy(a->host, hp, (size_t)(colon - hp));
	/* [::1]:PORT */
	if (a->host[0] == '[' && a->host[strlen(a->host) - 1] == ']') {
		memmove(a->host, a->host + 1, strlen(a->host));
		a->host[strlen(a->host) - 1] = '\0';
	}
	snprintf(a->port, sizeof(a->port), "%s", colon + 1);
	return JPKI_OK;
}
