/*
 * http_client.c: the relying party client's one HTTP exchange (jpki login
 * and jpki kiosk talking to a relying party): POST a body, read the whole
 * answer (Connection: close), and parse it through the bounded cursor.
 * OpenSSL's OSSL_HTTP client answers only a 200 with a body, and a refused
 * login is a 401 whose body says why; libcurl is not a dependency.
 *
 * The answer: a status line "HTTP/1.x NNN ..." (100 to 599), header lines (at most
 * RP_HTTP_HEADER_MAX bytes in all), an empty line, the body (at most the
 * caller's max; Content-Length, when given, must match; a chunked answer
 * is refused).  http:// only.
 */
#include "rp/rp_int.h"

#include <openssl/bio.h>
#include <openssl/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

static int
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* One header line (without CRLF) of n bytes: Content-Length into *clen,
 * Content-Type into out->content_type; Transfer-Encoding refused. */
static int
header_line(const uint8_t *p, size_t n, long long *clen,
    struct rp_http_answer *out)
{
	static const char cl[] = "content-length:", ct[] = "content-type:",
	    te[] = "transfer-encoding:";
	size_t i;

	if (n >= sizeof(te) - 1 && strncasecmp((const char *)p, te,
	    sizeof(te) - 1) == 0)
		return jpki_fail(JPKI_ERR_INPUT, "HTTP: a Transfer-Encoding "
		    "answer is not read here");
	if (n >= sizeof(cl) - 1 && strncasecmp((const char *)p, cl,
	    sizeof(cl) - 1) == 0) {
		i = sizeof(cl) - 1;
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (i == n)
			return jpki_fail(JPKI_ERR_INPUT, "HTTP: empty "
			    "Content-Length");
		*clen = 0;
		for (; i < n && is_digit(p[i]); i++) {
			if (*clen > (long long)RP_CMS_MAX * 64)
				return jpki_fail(JPKI_ERR_INPUT, "HTTP: "
				    "Content-Length too large");
			*clen = *clen * 10 + (p[i] - '0');
		}
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (i != n)
			return jpki_fail(JPKI_ERR_INPUT, "HTTP: bad "
			    "Content-Length");
		return JPKI_OK;
	}
	if (n >= sizeof(ct) - 1 && strncasecmp((const char *)p, ct,
	    sizeof(ct) - 1) == 0) {
		i = sizeof(ct) - 1;
		while (i < n && p[i] == ' ')
			i++;
		snprintf(out->content_type, sizeof(out->content_type), "%.*s",
		    (int)(n - i), (const char *)p + i);
	}
	return JPKI_OK;
}

int
rp_http_answer_parse(const uint8_t *p, size_t n, size_t max,
    struct rp_http_answer *out)
{
	struct cursor c;
	const uint8_t *line;
	long long clen = -1;
	size_t head = 0, len;
	uint8_t b;
	int r;

	out->status = 0;
	out->content_type[0] = '\0';
	out->body.len = 0;
	cursor_init(&c, p, n);
	/* Each line up to its CRLF, within RP_HTTP_HEADER_MAX in all. */
	for (int first = 1;; first = 0) {
		const uint8_t *start = c.p;

		len = 0;
		for (;;) {
			if (head >= RP_HTTP_HEADER_MAX)
				return jpki_fail(JPKI_ERR_INPUT, "HTTP: headers "
				    "longer than %d bytes", RP_HTTP_HEADER_MAX);
			if (cursor_get_u8(&c, &b) != JPKI_OK)
				return jpki_fail(JPKI_ERR_INPUT, "HTTP: the "
				    "answer ends in its headers");
			head++;
			if (b == '\n')
				break;
			len++;
		}
		line = start;
		if (len == 0 || line[len - 1] != '\r')
			return jpki_fail(JPKI_ERR_INPUT, "HTTP: a line not "
			    "ended by CRLF");
		len--;
		if (first) {
			if (len < 12 || memcmp(line, "HTTP/1.", 7) != 0 ||
			    !is_digit(line[7]) || line[8] != ' ' ||
			    line[9] < '1' || line[9] > '5' ||
			    !is_digit(line[10]) ||
			    !is_digit(line[11]) || (len > 12 && line[12] != ' '))
				return jpki_fail(JPKI_ERR_INPUT, "HTTP: not a "
				    "status line");
			out->status = (unsigned)((line[9] - '0') * 100 +
			    (line[10] - '0') * 10 + (line[11] - '0'));
			continue;
		}
		if (len == 0)
			break;
		if ((r = header_line(line, len, &clen, out)) != JPKI_OK)
			return r;
	}
	len = c.len;
	if (len > max)
		return jpki_fail(JPKI_ERR_INPUT, "HTTP: an answer of more than "
		    "%zu bytes", max);
	if (clen >= 0 && (size_t)clen != len)
		return jpki_fail(JPKI_ERR_INPUT, "HTTP: Content-Length %lld "
		    "but %zu bytes", clen, len);
	if ((r = cursor_take(&c, &line, len)) != JPKI_OK ||
	    (r = jbuf_put(&out->body, line, len)) != JPKI_OK)
		return r;
	return JPKI_OK;
}

void
rp_http_answer_free(struct rp_http_answer *a)
{
	jbuf_free(&a->body);
}

int
rp_http_post(const char *url, const char *content_type, const void *body,
    size_t n, size_t max, struct rp_http_answer *out)
{
	char *host = NULL, *port = NULL, *path = NULL, buf[4096];
	struct jbuf req, raw;
	struct timeval tv = {RP_HTTP_TIMEOUT_SECONDS, 0};
	BIO *b = NULL;
	int ssl = 0, fd, got, r = JPKI_OK;
	size_t off;

	jbuf_init(&req);
	jbuf_init(&raw);
	jbuf_init(&out->body);
	if (OSSL_HTTP_parse_url(url, &ssl, NULL, &host, &port, NULL, &path,
	    NULL, NULL) != 1 || ssl) {
		r = jpki_fail(JPKI_ERR_INPUT, "%s: not an http:// URL%s", url,
		    ssl ? " (https is not spoken here)" : "");
		goto done;
	}
	if ((r = jbuf_printf(&req, "POST %s HTTP/1.1\r\nHost: %s:%s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\nAccept: "
	    "application/json\r\nConnection: close\r\n\r\n", path, host, port,
	    content_type, n)) != JPKI_OK ||
	    (n > 0 && (r = jbuf_put(&req, body, n)) != JPKI_OK))
		goto done;
	if ((b = BIO_new_connect(host)) == NULL ||
	    BIO_set_conn_port(b, port) != 1 || BIO_do_connect(b) != 1) {
		r = jpki_fail(JPKI_ERR_IO, "%s: cannot connect", url);
		goto done;
	}
	if ((fd = (int)BIO_get_fd(b, NULL)) >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	for (off = 0; off < req.len; off += (size_t)got)
		if ((got = BIO_write(b, req.data + off, (int)(req.len - off))) <=
		    0) {
			r = jpki_fail(JPKI_ERR_IO, "%s: the request was not "
			    "sent", url);
			goto done;
		}
	while ((got = BIO_read(b, buf, sizeof(buf))) > 0) {
		if (raw.len + (size_t)got > max + RP_HTTP_HEADER_MAX) {
			r = jpki_fail(JPKI_ERR_INPUT, "%s: an answer of more "
			    "than %zu bytes", url, max);
			goto done;
		}
		if ((r = jbuf_put(&raw, buf, (size_t)got)) != JPKI_OK)
			goto done;
	}
	if (raw.len == 0) {
		r = jpki_fail(JPKI_ERR_IO, "%s: no answer", url);
		goto done;
	}
	if ((r = rp_http_answer_parse(raw.data, raw.len, max, out)) != JPKI_OK) {
		char msg[300];

		snprintf(msg, sizeof(msg), "%s", jpki_errmsg());
		r = jpki_fail(r, "%s: %s", url, msg);
	}
done:
	if (r != JPKI_OK)
		jbuf_free(&out->body);
	BIO_free_all(b);
	jbuf_free(&req);
	jbuf_free(&raw);
	OPENSSL_free(host);
	OPENSSL_free(port);
	OPENSSL_free(path);
	return r;
}
