/*
 * vpcd.c: the vsmartcard vpcd protocol, both ends.
 *
 * pcscd's vpcd driver listens on TCP (35963 for slot 0) and a card
 * emulator connects to it.  Each message either way is a 2-byte big-endian
 * length and a payload.  From the reader: a 1-byte control (00 power off,
 * 01 power on, 02 reset: no reply; 04 get ATR: reply the ATR) or a command
 * APDU (reply the response APDU).  Closing the socket removes the card.
 *
 * card_vpcd_attach() is the card end (`jpki card attach`); the listen
 * transport is the reader end, so the card client can drive an attached
 * card over a real socket without pcscd.
 */
#include "card/card_int.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#define VPCD_POWER_OFF 0x00
#define VPCD_POWER_ON 0x01
#define VPCD_RESET 0x02
#define VPCD_GET_ATR 0x04
/* The largest message either end accepts (an extended APDU would fit). */
#define VPCD_MSG_MAX 65535
/* How often a waiting end looks at its stop flag. */
#define VPCD_TICK_MS 200
/* How long the reader end waits for an answer. */
#define VPCD_ANSWER_TIMEOUT_MS 60000

int
card_parse_hostport(const char *s, char host[256], uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long p;

	if (colon == NULL || colon == s || (size_t)(colon - s) >= 256)
		return jpki_fail(JPKI_ERR_USAGE,
		    "expected HOST:PORT, got '%s'", s);
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || end == colon + 1 || p < 1 || p > 65535)
		return jpki_fail(JPKI_ERR_USAGE, "bad port in '%s'", s);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	*port = (uint16_t)p;
	return JPKI_OK;
}

static void
quick_ack(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

static void
no_delay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Wait until fd is readable: 0 ready, 1 stopped or timed out, -1 error. */
static int
wait_readable(int fd, volatile sig_atomic_t *stop, int timeout_ms)
{
	int waited = 0;

	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		int n;

		if (stop != NULL && *stop)
			return 1;
		if (timeout_ms >= 0 && waited >= timeout_ms)
			return 1;
		n = poll(&pfd, 1, VPCD_TICK_MS);
		if (n < 0 && errno != EINTR)
			return -1;
		if (n > 0)
			return 0;
		waited += VPCD_TICK_MS;
	}
}

/* Read exactly n bytes: 0 done, 1 stopped/timed out, -1 error or EOF. */
static int
read_full(int fd, uint8_t *p, size_t n, volatile sig_atomic_t *stop,
    int timeout_ms)
{
	while (n > 0) {
		int w = wait_readable(fd, stop, timeout_ms);
		ssize_t got;

		if (w != 0)
			return w;
		got = recv(fd, p, n, 0);
		/* vpcd writes a length and then its payload: acknowledge at
		 * once, or Nagle on its side waits out our delayed ACK on every
		 * APDU. */
		quick_ack(fd);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

static int
send_msg(int fd, const uint8_t *p, size_t n)
{
	uint8_t hdr[2] = {(uint8_t)(n >> 8), (uint8_t)n};
	struct iovec iov[2] = {{hdr, 2}, {(void *)p, n}};
	struct msghdr mh = {0};
	size_t total = n + 2, sent = 0;

	if (n > VPCD_MSG_MAX)
		return -1;
	/* Small messages: one sendmsg normally suffices; loop for the rest. */
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	while (sent < total) {
		ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		sent += (size_t)w;
		while (w > 0 && mh.msg_iovlen > 0) {
			if ((size_t)w >= mh.msg_iov[0].iov_len) {
				w -= (ssize_t)mh.msg_iov[0].iov_len;
				mh.msg_iov++;
				mh.msg_iovlen--;
			} else {
				mh.msg_iov[0].iov_base =
				    (uint8_t *)mh.msg_iov[0].iov_base + w;
				mh.msg_iov[0].iov_len -= (size_t)w;
				w = 0;
			}
		}
	}
	return 0;
}

/* Receive one message into buf (VPCD_MSG_MAX bytes). */
static int
recv_msg(int fd, uint8_t *buf, size_t *n, volatile sig_atomic_t *stop,
    int timeout_ms)
{
	uint8_t hdr[2];
	int r;

	if ((r = read_full(fd, hdr, 2, stop, timeout_ms)) != 0)
		return r;
	*n = (size_t)hdr[0] << 8 | hdr[1];
	return read_full(fd, buf, *n, stop, timeout_ms);
}

static int
tcp_connect(const char *host, uint16_t port)
{
	struct addrinfo hints = {0}, *res = NULL, *ai;
	char portstr[8];
	int fd = -1;

	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%u", port);
	if (getaddrinfo(host, portstr, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			no_delay(fd);
			break;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* Serve one vpcd connection until it closes or *stop. */
static int
serve(struct card *c, int fd, volatile sig_atomic_t *stop)
{
	uint8_t *msg = malloc(VPCD_MSG_MAX), resp[APDU_RESP_MAX];
	size_t n, rlen;
	int r = 0;

	if (msg == NULL)
		return -1;
	while ((r = recv_msg(fd, msg, &n, stop, -1)) == 0) {
		if (n == 1) {
			switch (msg[0]) {
			case VPCD_POWER_OFF:
			case VPCD_POWER_ON:
			case VPCD_RESET:
				card_reset(c);
				continue;
			case VPCD_GET_ATR:
				if (send_msg(fd, card_atr, card_atr_len) != 0)
					r = -1;
				break;
			default:
				/* A one-byte APDU: too short. */
				resp[0] = SW_WRONG_LENGTH >> 8;
				resp[1] = SW_WRONG_LENGTH & 0xff;
				if (send_msg(fd, resp, 2) != 0)
					r = -1;
				break;
			}
		} else {
			card_apdu(c, msg, n, resp, &rlen);
			if (send_msg(fd, resp, rlen) != 0)
				r = -1;
		}
		if (r != 0)
			break;
	}
	free(msg);
	return r;
}

int
card_vpcd_attach(struct card *c, const char *host, uint16_t port,
    volatile sig_atomic_t *stop, void (*progress)(const char *line))
{
	char line[320];
	int waiting_said = 0;

	while (!*stop) {
		int fd = tcp_connect(host, port);

		if (fd < 0) {
			if (!waiting_said && progress != NULL) {
				snprintf(line, sizeof(line),
				    "waiting for vpcd at %s:%u", host, port);
				progress(line);
			}
			waiting_said = 1;
			for (int i = 0; i < 1000 / VPCD_TICK_MS && !*stop; i++)
				poll(NULL, 0, VPCD_TICK_MS);
			continue;
		}
		waiting_said = 0;
		if (progress != NULL) {
			snprintf(line, sizeof(line),
			    "card %s inserted in the vpcd reader at %s:%u",
			    c->serial_hex, host, port);
			progress(line);
		}
		card_reset(c);
		serve(c, fd, stop);
		close(fd);
		card_reset(c);
		if (progress != NULL && !*stop)
			progress("vpcd closed the connection; reconnecting");
	}
	return JPKI_OK;
}

/* ---- the reader end ---------------------------------------------------- */

struct vpcd_reader {
	int fd;
	uint8_t *msg;
};

static int
reader_transmit(struct card_transport *t, const uint8_t *cmd, size_t n,
    uint8_t *resp, size_t *resp_len)
{
	struct vpcd_reader *v = t->ctx;
	size_t got;

	if (n < 2 || send_msg(v->fd, cmd, n) != 0 ||
	    recv_msg(v->fd, v->msg, &got, NULL, VPCD_ANSWER_TIMEOUT_MS) != 0)
		return jpki_fail(JPKI_ERR_IO, "vpcd: the card did not answer");
	if (got < 2 || got > APDU_RESP_MAX)
		return jpki_fail(JPKI_ERR_IO,
		    "vpcd: response of %zu bytes is not a short APDU response",
		    got);
	memcpy(resp, v->msg, got);
	*resp_len = got;
	return JPKI_OK;
}

static int
reader_reset(struct card_transport *t, uint8_t *atr, size_t *atr_len)
{
	struct vpcd_reader *v = t->ctx;
	uint8_t ctl;
	size_t got;

	t->client_app = 0;
	ctl = VPCD_RESET;
	if (send_msg(v->fd, &ctl, 1) != 0)
		goto fail;
	ctl = VPCD_GET_ATR;
	if (send_msg(v->fd, &ctl, 1) != 0 ||
	    recv_msg(v->fd, v->msg, &got, NULL, VPCD_ANSWER_TIMEOUT_MS) != 0)
		goto fail;
	if (got == 0 || got > CARD_ATR_MAX)
		return jpki_fail(JPKI_ERR_IO, "vpcd: bad ATR length %zu", got);
	memcpy(atr, v->msg, got);
	*atr_len = got;
	return JPKI_OK;
fail:
	return jpki_fail(JPKI_ERR_IO, "vpcd: the card went away");
}

static void
reader_close(struct card_transport *t)
{
	struct vpcd_reader *v = t->ctx;
	uint8_t ctl = VPCD_POWER_OFF;

	send_msg(v->fd, &ctl, 1);
	close(v->fd);
	free(v->msg);
	free(v);
	free(t);
}

int
card_transport_vpcd_listen(const char *host, uint16_t port, int timeout_ms,
    struct card_transport **out)
{
	struct addrinfo hints = {0}, *res = NULL;
	struct card_transport *t = NULL;
	struct vpcd_reader *v = NULL;
	char portstr[8];
	int lfd = -1, fd = -1, one = 1, r;
	uint8_t atr[CARD_ATR_MAX];
	size_t atr_len;

	*out = NULL;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(portstr, sizeof(portstr), "%u", port);
	if (getaddrinfo(host, portstr, &hints, &res) != 0 || res == NULL)
		return jpki_fail(JPKI_ERR_USAGE, "vpcd: cannot resolve %s",
		    host);
	lfd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC,
	    res->ai_protocol);
	if (lfd < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, res->ai_addr, res->ai_addrlen) != 0 ||
	    listen(lfd, 1) != 0) {
		r = jpki_fail(JPKI_ERR_IO, "vpcd: cannot listen on %s:%u: %s",
		    host, port, strerror(errno));
		goto fail;
	}
	if (wait_readable(lfd, NULL, timeout_ms) != 0 ||
	    (fd = accept(lfd, NULL, NULL)) < 0) {
		r = jpki_fail(JPKI_ERR_NOTFOUND,
		    "vpcd: no card connected to %s:%u", host, port);
		goto fail;
	}
	t = calloc(1, sizeof(*t));
	v = calloc(1, sizeof(*v));
	if (t == NULL || v == NULL || (v->msg = malloc(VPCD_MSG_MAX)) == NULL) {
		r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		goto fail;
	}
	no_delay(fd);
	v->fd = fd;
	fd = -1;
	t->name = "vpcd";
	t->transmit = reader_transmit;
	t->reset = reader_reset;
	t->close = reader_close;
	t->ctx = v;
	v = NULL;
	if ((r = reader_reset(t, atr, &atr_len)) != JPKI_OK) {
		reader_close(t);
		t = NULL;
		goto fail;
	}
	*out = t;
	t = NULL;
	r = JPKI_OK;
fail:
	if (v != NULL)
		free(v->msg);
	free(v);
	free(t);
	if (fd >= 0)
		close(fd);
	if (lfd >= 0)
		close(lfd);
	freeaddrinfo(res);
	return r;
}
