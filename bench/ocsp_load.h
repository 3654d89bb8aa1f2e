/*
 * ocsp_load.h: the OCSP load generator of bench_ocsp and bench_ocsp-soak:
 * one thread, non-blocking sockets and epoll, HTTP/1.1 keep-alive, each
 * connection asking again as soon as it is answered (a closed loop: the
 * figure is what the server sustains, not what was offered).  Requests are
 * drawn uniformly from a set of DER OCSP requests (POST, or GET with the
 * request base64 in the URL); a connection the server closes (openssl
 * ocsp answers one request per connection) is opened again and counted.
 * Every answer is checked for HTTP 200; a sample is decoded with OpenSSL
 * and its certificate status compared with the one expected, which the
 * caller may change while the load runs (the soak revokes).  Latencies
 * are kept whole (a microsecond count per answer) for exact percentiles.
 */
#ifndef JPKI_BENCH_OCSP_LOAD_H
#define JPKI_BENCH_OCSP_LOAD_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ocsp.h>

#define LOAD_CONNS_MAX 1024
#define LOAD_CONNS_PER_SOURCE 16
#define LOAD_HEAD_MAX 4096
#define LOAD_BODY_MAX (64 * 1024)
#define LOAD_REQ_MAX 512               /* a DER OCSP request at most */
#define LOAD_URL_MAX 1024

/* One request of the set: its DER, which endpoint takes it (its CA), the
 * serial it asks about and the status expected (V_OCSP_CERTSTATUS_*; the
 * caller may change it while the load runs, from another thread: it is
 * read once per checked answer). */
struct load_req {
	uint8_t der[LOAD_REQ_MAX];
	uint16_t len;
	uint8_t endpoint;
	volatile int expect;
	char get_path[LOAD_URL_MAX];       /* "" until made */
	/* The last answer decoded for it: its bytes' hash and the status
	 * OpenSSL read in them (the same bytes again say the same). */
	uint64_t seen_hash;
	int seen_st;
};

struct load_endpoint {
	uint16_t port;
	char post_path[64];                /* "/ocsp/sign", "/" */
	char get_prefix[64];               /* "/ocsp/sign/", "/" */
};

struct load_opts {
	struct load_endpoint ep[2];
	int nep;
	int conns_per_ep;                  /* connections to each endpoint */
	double seconds;                    /* measured time */
	double warmup;                     /* not counted before it */
	int get_percent;                   /* of requests sent as GET */
	int check_every;                   /* decode one answer in this many */
	/* Optional: called about every 100 ms with the load's state, for the
	 * soak to pace itself and sample; return 1 to stop early. */
	int (*tick)(void *arg, double elapsed, unsigned long answers);
	void *tick_arg;
	/* Offered load cap, requests per second in all (0: none, a closed
	 * loop).  Each connection then waits its turn. */
	double rate;
	/* If set: the requests drawn from are reqs[0 .. *live) (it grows
	 * while the load runs: certificates issued meanwhile; written with
	 * release order after the request itself). */
	size_t *live;
};

/* An expected status that is changing (a revocation committed less than
 * the propagation bound ago): good and revoked are both right. */
#define LOAD_EXPECT_EITHER (-2)

struct load_result {
	unsigned long answers, errors, checked, wrong, reconnects;
	double seconds;
	uint32_t *lat_us;                  /* every measured answer's latency */
	size_t nlat, lat_cap, sorted;
	char first_error[256];
	size_t wrong_ri;                   /* the first wrong answer's request */
	int wrong_st;                      /* and the status it gave */
};

struct load_conn {
	int fd, ep, idx;
	int busy;                          /* a request is out */
	size_t ri;                         /* which request */
	int expect_sent;                   /* its expected status then */
	double sent_at;
	char out[LOAD_HEAD_MAX + LOAD_REQ_MAX + LOAD_URL_MAX];
	size_t out_len, out_off;
	uint8_t in[LOAD_HEAD_MAX + LOAD_BODY_MAX];
	size_t in_len;
	double next_at;                    /* rate-capped: not before */
};

static inline double
load_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Base64 (RFC 4648 with '+' and '/'), percent-encoding those and '=' for a
 * URL path segment, as RFC 6960 A.1 asks. */
static inline void
load_get_path(const struct load_endpoint *ep, struct load_req *q)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = q->get_path;
	size_t n = (size_t)snprintf(o, LOAD_URL_MAX, "%s", ep->get_prefix);

	for (size_t i = 0; i < q->len; i += 3) {
		uint32_t v = (uint32_t)q->der[i] << 16;
		int k = (int)(q->len - i > 3 ? 3 : q->len - i);
		char c[4];

		if (k > 1)
			v |= (uint32_t)q->der[i + 1] << 8;
		if (k > 2)
			v |= q->der[i + 2];
		c[0] = b64[v >> 18 & 63];
		c[1] = b64[v >> 12 & 63];
		c[2] = k > 1 ? b64[v >> 6 & 63] : '=';
		c[3] = k > 2 ? b64[v & 63] : '=';
		for (int j = 0; j < 4 && n + 4 < LOAD_URL_MAX; j++) {
			if (c[j] == '+')
				n += (size_t)sprintf(o + n, "%%2B");
			else if (c[j] == '/')
				n += (size_t)sprintf(o + n, "%%2F");
			else if (c[j] == '=')
				n += (size_t)sprintf(o + n, "%%3D");
			else
				o[n++] = c[j];
		}
	}
	o[n] = '\0';
}

static inline void
load_error(struct load_result *r, const char *what)
{
	r->errors++;
	if (r->first_error[0] == '\0')
		snprintf(r->first_error, sizeof(r->first_error), "%s", what);
}

static inline int
load_connect(struct load_conn *c, const struct load_opts *o, int epfd)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	    .sin_port = htons(o->ep[c->ep].port)};
	/* EPOLLOUT only while a request is being sent (load_run). */
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	int one = 1;

	struct sockaddr_in src = {.sin_family = AF_INET};

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* LOAD_CONNS_PER_SOURCE connections from each loopback address
	 * (127.1.0.1, .2, ...), as from so many clients: a server may cap
	 * one client's connections (jpki serve: 32). */
	src.sin_addr.s_addr = htonl(0x7f010001u +
	    (uint32_t)(c->idx / LOAD_CONNS_PER_SOURCE));
	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
	    errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->busy = 0;
	c->in_len = 0;
	c->out_len = c->out_off = 0;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
}

static inline void
load_compose(struct load_conn *c, const struct load_opts *o,
    struct load_req *reqs, size_t nreqs, unsigned *seed)
{
	const struct load_endpoint *ep = &o->ep[c->ep];
	struct load_req *q;
	size_t ri;

	if (o->live != NULL)
		nreqs = __atomic_load_n(o->live, __ATOMIC_ACQUIRE);
	/* Uniform over the requests this endpoint takes. */
	do {
		ri = (size_t)(((uint64_t)rand_r(seed) << 31 ^
		    (uint64_t)rand_r(seed)) % nreqs);
	} while (o->nep > 1 && reqs[ri].endpoint != c->ep);
	q = &reqs[ri];
	c->ri = ri;
	c->expect_sent = q->expect;
	if (o->get_percent > 0 && rand_r(seed) % 100 < o->get_percent) {
		if (q->get_path[0] == '\0')
			load_get_path(ep, q);
		c->out_len = (size_t)snprintf(c->out, sizeof(c->out),
		    "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", q->get_path);
	} else {
		c->out_len = (size_t)snprintf(c->out, sizeof(c->out),
		    "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		    "Content-Type: application/ocsp-request\r\n"
		    "Content-Length: %u\r\n\r\n", ep->post_path, q->len);
		memcpy(c->out + c->out_len, q->der, q->len);
		c->out_len += q->len;
	}
	c->out_off = 0;
	c->busy = 1;
	c->sent_at = load_now();
}

/* The certificate status in an OCSP answer (V_OCSP_CERTSTATUS_*), or -1. */
/* One DER TLV at *p (n bytes left) with OpenSSL's header reader: its
 * contents, and *p after it; NULL if it is not of (tag, class). */
static inline const unsigned char *
load_tlv(const unsigned char **p, long *n, int tag, int xclass, long *len)
{
	const unsigned char *q = *p;
	int t, c;

	if (*n <= 0 || (ASN1_get_object(&q, len, &t, &c, *n) & 0x80) ||
	    t != tag || c != xclass || q - *p + *len > *n)
		return NULL;
	*n -= q - *p + *len;
	*p = q + *len;
	return q;
}

/* The certificate status in an OCSP answer (V_OCSP_CERTSTATUS_*), or -1:
 * OpenSSL decodes the BasicOCSPResponse without its certificates (a
 * responder certificate takes far longer to decode than the rest, and
 * this runs beside the server on the same cores). */
static inline int
load_answer_status(const uint8_t *p, size_t n)
{
	const unsigned char *q = p, *body, *e, *rb, *basic, *tbs_at;
	long left = (long)n, len, blen, l2, l3;
	unsigned char buf[LOAD_BODY_MAX + 8];
	OCSP_BASICRESP *b = NULL;
	OCSP_SINGLERESP *s;
	int st = -1, reason;
	size_t inner, h;

	/* OCSPResponse { status 0, [0] { SEQUENCE { OID, OCTET STRING } } } */
	if ((body = load_tlv(&q, &left, V_ASN1_SEQUENCE, 0, &len)) == NULL)
		return -1;
	q = body;
	left = len;
	if ((e = load_tlv(&q, &left, V_ASN1_ENUMERATED, 0, &l2)) == NULL ||
	    l2 != 1 || e[0] != 0 ||
	    (rb = load_tlv(&q, &left, 0, V_ASN1_CONTEXT_SPECIFIC, &l2)) ==
	    NULL)
		return -1;
	q = rb;
	left = l2;
	if ((rb = load_tlv(&q, &left, V_ASN1_SEQUENCE, 0, &l2)) == NULL)
		return -1;
	q = rb;
	left = l2;
	if (load_tlv(&q, &left, V_ASN1_OBJECT, 0, &l3) == NULL ||
	    (basic = load_tlv(&q, &left, V_ASN1_OCTET_STRING, 0, &blen)) ==
	    NULL)
		return -1;
	/* BasicOCSPResponse { tbsResponseData, signatureAlgorithm,
	 * signature, [0] certs }: the first three, in a SEQUENCE again. */
	q = basic;
	left = blen;
	if ((body = load_tlv(&q, &left, V_ASN1_SEQUENCE, 0, &len)) == NULL)
		return -1;
	q = tbs_at = body;
	left = len;
	if (load_tlv(&q, &left, V_ASN1_SEQUENCE, 0, &l3) == NULL ||
	    load_tlv(&q, &left, V_ASN1_SEQUENCE, 0, &l3) == NULL ||
	    load_tlv(&q, &left, V_ASN1_BIT_STRING, 0, &l3) == NULL)
		return -1;
	inner = (size_t)(q - tbs_at);
	buf[0] = 0x30;
	if (inner < 0x80) {
		buf[1] = (unsigned char)inner;
		h = 2;
	} else if (inner < 0x100) {
		buf[1] = 0x81;
		buf[2] = (unsigned char)inner;
		h = 3;
	} else {
		buf[1] = 0x82;
		buf[2] = (unsigned char)(inner >> 8);
		buf[3] = (unsigned char)inner;
		h = 4;
	}
	if (inner > sizeof(buf) - h)
		return -1;
	memcpy(buf + h, tbs_at, inner);
	q = buf;
	if ((b = d2i_OCSP_BASICRESP(NULL, &q, (long)(h + inner))) != NULL &&
	    OCSP_resp_count(b) == 1 && (s = OCSP_resp_get0(b, 0)) != NULL)
		st = OCSP_single_get0_status(s, &reason, NULL, NULL, NULL);
	OCSP_BASICRESP_free(b);
	return st;
}

/* The status st is right for what was expected: the answer was made
 * from the state at some moment between its request's sending and its
 * receipt, so the caller accepts what either moment expected. */
static inline int
load_status_ok(int st, int expect)
{
	if (expect == LOAD_EXPECT_EITHER)
		return st == V_OCSP_CERTSTATUS_GOOD ||
		    st == V_OCSP_CERTSTATUS_REVOKED;
	return st == expect;
}

/* The status st a request's answer body says, decoded by OpenSSL unless
 * these very bytes were decoded last time for the same request. */
static inline int
load_answer_status_of(struct load_req *q, const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	if (h != q->seen_hash || h == 0) {
		q->seen_st = load_answer_status(p, n);
		q->seen_hash = h;
	}
	return q->seen_st;
}

/* An answer is in whole: 1 (and *used set), 0 not yet, -1 malformed.
 * The head is read in place, a line at a time. */
static inline int
load_parse(struct load_conn *c, size_t *used, int *status, size_t *body_at,
    size_t *body_len, int *closes)
{
	const char *in = (const char *)c->in, *end, *line, *eol;
	size_t head, clen = (size_t)-1;

	if ((end = memmem(in, c->in_len, "\r\n\r\n", 4)) == NULL)
		return c->in_len >= LOAD_HEAD_MAX ? -1 : 0;
	head = (size_t)(end - in) + 4;
	/* "HTTP/1.x NNN" */
	if (head < 16 || strncmp(in, "HTTP/1.", 7) != 0 || in[8] != ' ' ||
	    in[9] < '0' || in[9] > '9' || in[10] < '0' || in[10] > '9' ||
	    in[11] < '0' || in[11] > '9')
		return -1;
	*closes = in[7] == '0';
	*status = (in[9] - '0') * 100 + (in[10] - '0') * 10 + (in[11] - '0');
	for (line = (const char *)memchr(in, '\n', head) + 1; line < end + 2;
	    line = eol + 1) {
		if ((eol = memchr(line, '\n', (size_t)(end + 4 - line))) == NULL)
			break;
		if (eol - line > 15 &&
		    strncasecmp(line, "Content-Length:", 15) == 0) {
			clen = 0;
			for (const char *d = line + 15; d < eol; d++)
				if (*d >= '0' && *d <= '9')
					clen = clen * 10 + (size_t)(*d - '0');
				else if (*d != ' ' && *d != '\r')
					return -1;
		} else if (eol - line > 11 &&
		    strncasecmp(line, "Connection:", 11) == 0) {
			const char *v = line + 11;

			while (*v == ' ')
				v++;
			if (strncasecmp(v, "close", 5) == 0)
				*closes = 1;
			else if (strncasecmp(v, "keep-alive", 10) == 0)
				*closes = 0;
		}
	}
	if (clen == (size_t)-1 || clen > LOAD_BODY_MAX)
		return -1;
	if (c->in_len < head + clen)
		return 0;
	*body_at = head;
	*body_len = clen;
	*used = head + clen;
	return 1;
}

static inline void
load_lat(struct load_result *r, double us)
{
	if (r->nlat == r->lat_cap) {
		size_t cap = r->lat_cap ? r->lat_cap * 2 : 1 << 16;
		uint32_t *p = realloc(r->lat_us, cap * sizeof(*p));

		if (p == NULL)
			return;
		r->lat_us = p;
		r->lat_cap = cap;
	}
	r->lat_us[r->nlat++] = us > 4e9 ? 4000000000u : (uint32_t)us;
}

static int
load_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The p-th percentile of the latencies, ms (sorts them). */
static inline double
load_percentile_ms(struct load_result *r, double p)
{
	if (r->nlat == 0)
		return 0;
	if (r->sorted != r->nlat) {
		qsort(r->lat_us, r->nlat, sizeof(uint32_t), load_cmp_u32);
		r->sorted = r->nlat;
	}
	return r->lat_us[(size_t)(p / 100.0 * (double)(r->nlat - 1))] / 1000.0;
}

static inline void
load_result_free(struct load_result *r)
{
	free(r->lat_us);
	memset(r, 0, sizeof(*r));
}

/* One answer in whole: counted, its latency kept, checked (a sample) if
 * its request was sent in the measured time. */
static inline void
load_answered(struct load_result *r, const struct load_opts *o,
    struct load_req *reqs, const struct load_conn *c, int status,
    const uint8_t *body, size_t blen, double measure_from)
{
	char s[32];
	int st;

	if (c->sent_at < measure_from)
		return;
	r->answers++;
	load_lat(r, (load_now() - c->sent_at) * 1e6);
	if (status != 200) {
		snprintf(s, sizeof(s), "HTTP %d", status);
		load_error(r, s);
		return;
	}
	if (o->check_every <= 0 ||
	    r->answers % (unsigned long)o->check_every != 0)
		return;
	st = load_answer_status_of(&reqs[c->ri], body, blen);
	r->checked++;
	if (!load_status_ok(st, c->expect_sent) &&
	    !load_status_ok(st, reqs[c->ri].expect) && r->wrong++ == 0) {
		r->wrong_ri = c->ri;
		r->wrong_st = st;
	}
}

/* Compose c's next request and send it. */
static inline void
load_ask(struct load_conn *c, const struct load_opts *o,
    struct load_req *reqs, size_t nreqs, unsigned *seed, int epfd)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
	ssize_t w;

	load_compose(c, o, reqs, nreqs, seed);
	/* Sent at once as a rule (a request is a few hundred bytes): epoll
	 * is asked to say when the socket takes more only when it did not
	 * take it all (or is still connecting), which saves two epoll_ctl
	 * calls an answer. */
	w = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
	if (w > 0)
		c->out_off = (size_t)w;
	if (c->out_off < c->out_len)
		epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Run the load; 0, or -1 if it could not start (r->first_error says). */
static inline int
load_run(const struct load_opts *o, struct load_req *reqs, size_t nreqs,
    struct load_result *r)
{
	int n = o->conns_per_ep * o->nep, epfd;
	struct load_conn *conns;
	struct epoll_event evs[256];
	unsigned seed = 12345;
	double start, measure_from, end, last_tick, gap;
	unsigned long answers_all = 0;

	memset(r, 0, sizeof(*r));
	if (n < 1 || n > LOAD_CONNS_MAX || nreqs == 0)
		return -1;
	if ((conns = calloc((size_t)n, sizeof(*conns))) == NULL ||
	    (epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		free(conns);
		snprintf(r->first_error, sizeof(r->first_error), "epoll: %s",
		    strerror(errno));
		return -1;
	}
	/* Rate cap: each connection asks at most every gap seconds. */
	gap = o->rate > 0 ? (double)n / o->rate : 0;
	start = load_now();
	for (int i = 0; i < n; i++) {
		conns[i].ep = i % o->nep;
		conns[i].idx = i;
		conns[i].next_at = start + gap * i / n;
		if (load_connect(&conns[i], o, epfd) != 0) {
			snprintf(r->first_error, sizeof(r->first_error),
			    "connect to port %u: %s", o->ep[conns[i].ep].port,
			    strerror(errno));
			for (int k = 0; k < i; k++)
				close(conns[k].fd);
			close(epfd);
			free(conns);
			return -1;
		}
	}
	measure_from = start + o->warmup;
	end = measure_from + o->seconds;
	last_tick = start;
	for (;;) {
		double now = load_now();
		/* Waited for at most: 10 ms, or until the next idle
		 * connection's turn (rate-capped). */
		double wait = 0.010;
		struct timespec ts;
		int k;

		if (now >= end)
			break;
		if (o->tick != NULL && now - last_tick >= 0.1) {
			last_tick = now;
			if (o->tick(o->tick_arg, now - start, answers_all))
				break;
		}
		/* Idle connections whose turn has come ask. */
		for (int i = 0; i < n; i++) {
			struct load_conn *c = &conns[i];

			if (c->fd >= 0 && !c->busy && now >= c->next_at)
				load_ask(c, o, reqs, nreqs, &seed, epfd);
			else if (c->fd >= 0 && !c->busy &&
			    c->next_at - now < wait)
				wait = c->next_at - now;
		}
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(wait * 1e9);
		k = epoll_pwait2(epfd, evs, 256, &ts, NULL);
		for (int e = 0; e < k; e++) {
			struct load_conn *c = evs[e].data.ptr;
			int reopen = 0;

			if ((evs[e].events & EPOLLOUT) && c->busy &&
			    c->out_off < c->out_len) {
				ssize_t w = send(c->fd, c->out + c->out_off,
				    c->out_len - c->out_off, MSG_NOSIGNAL);

				if (w > 0) {
					c->out_off += (size_t)w;
				} else if (w < 0 && errno != EAGAIN) {
					reopen = 1;
				}
				if (c->out_off == c->out_len) {
					struct epoll_event ev = {.events =
					    EPOLLIN, .data.ptr = c};

					epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd,
					    &ev);
				}
			}
			if (!reopen && (evs[e].events & (EPOLLIN | EPOLLHUP |
			    EPOLLERR))) {
				ssize_t got = recv(c->fd, c->in + c->in_len,
				    sizeof(c->in) - c->in_len, 0);

				if (got == 0 || (got < 0 && errno != EAGAIN)) {
					reopen = 1;
				} else if (got > 0) {
					size_t used, at, blen;
					int status, closes, p;

					c->in_len += (size_t)got;
					p = load_parse(c, &used, &status, &at,
					    &blen, &closes);
					if (p < 0 || (p == 0 &&
					    c->in_len == sizeof(c->in))) {
						load_error(r, "a malformed HTTP "
						    "answer");
						reopen = 1;
					} else if (p == 1 && c->busy) {
						answers_all++;
						load_answered(r, o, reqs, c, status,
						    c->in + at, blen, measure_from);
						c->busy = 0;
						memmove(c->in, c->in + used,
						    c->in_len - used);
						c->in_len -= used;
						c->next_at = gap > 0 ?
						    c->sent_at + gap : 0;
						if (closes)
							reopen = 1;
						/* A closed loop: the next request
						 * at once. */
						else if (gap == 0)
							load_ask(c, o, reqs,
							    nreqs, &seed, epfd);
					}
				}
			}
			if (reopen) {
				int was_busy = c->busy;

				epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				c->fd = -1;
				if (was_busy && load_now() >= measure_from)
					load_error(r, "a connection closed "
					    "before its answer");
				if (load_connect(c, o, epfd) != 0) {
					load_error(r, "reconnect failed");
					c->fd = -1;
				} else {
					r->reconnects++;
				}
			}
		}
	}
	r->seconds = load_now() - measure_from;
	if (r->seconds > o->seconds)
		r->seconds = o->seconds;
	for (int i = 0; i < n; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	close(epfd);
	free(conns);
	return 0;
}

#endif
