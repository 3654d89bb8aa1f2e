/*
 * server.c: the routes of server.h on libmicrohttpd, one polling thread.
 * Paths are matched exactly against the forms the certificates carry;
 * anything else is 404, a wrong method 405, an oversized body 413.
 */
#include "server/server.h"
#include "ca/ca.h"
#include "pki/pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct server {
	struct MHD_Daemon *d;
	struct datadir *dd;
	struct ca *ca;
	char crl_dir[JPKI_PATH_MAX];
	uint8_t *ca_der[3];
	size_t ca_der_len[3];
	unsigned port;
};

/* A request's body as it arrives. */
struct body {
	struct jbuf b;
	int too_big;
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

/* ---- answering ----------------------------------------------------------- */

static enum MHD_Result
send_buf(struct MHD_Connection *c, unsigned status, const char *type,
    const void *data, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len,
	    (void *)data, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ok;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ok = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result
send_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	return send_buf(c, status, "text/plain; charset=utf-8", text,
	    strlen(text));
}

static enum MHD_Result
send_file(struct MHD_Connection *c, const char *path, const char *type)
{
	struct MHD_Response *r;
	struct stat st;
	enum MHD_Result ok;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return send_text(c, MHD_HTTP_NOT_FOUND, "not published yet\n");
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (r = MHD_create_response_from_fd((uint64_t)st.st_size, fd)) ==
	    NULL) {
		close(fd);
		return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "error\n");
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ok = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result
send_ocsp(struct server *s, struct MHD_Connection *c, const uint8_t *req,
    size_t len)
{
	struct ca_ocsp_answer ans;
	struct jbuf out;
	enum MHD_Result ok;

	jbuf_init(&out);
	if (ca_ocsp_respond(s->ca, req, len, &out, &ans) != JPKI_OK) {
		/* No response could be made: say so in OCSP's own terms. */
		out.len = 0;
		if (pki_ocsp_error_response(PKI_OCSP_INTERNAL_ERROR, &out))
			return MHD_NO;
	}
	ok = send_buf(c, MHD_HTTP_OK, "application/ocsp-response", out.data,
	    out.len);
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

/* /crl/<type>/<n|full>.crl */
static enum MHD_Result
route_crl(struct server *s, struct MHD_Connection *c, const char *rest)
{
	char path[JPKI_PATH_MAX + 32];
	const char *p;
	int t = type_at(rest, &p);
	size_t digits = 0;

	if (t == 0 || *p != '/')
		return send_text(c, MHD_HTTP_NOT_FOUND, "no such CRL\n");
	p++;
	if (strcmp(p, "full.crl") != 0) {
		while (p[digits] >= '0' && p[digits] <= '9')
			digits++;
		if (digits == 0 || digits > 5 || strcmp(p + digits, ".crl") != 0)
			return send_text(c, MHD_HTTP_NOT_FOUND, "no such CRL\n");
	}
	/* p is at most "99999.crl": it fits beside a data directory path. */
	if ((size_t)snprintf(path, sizeof(path), "%s/%s/%s", s->crl_dir,
	    rules_cert_type_name((enum cert_type)t), p) >= sizeof(path))
		return send_text(c, MHD_HTTP_NOT_FOUND, "no such CRL\n");
	return send_file(c, path, "application/pkix-crl");
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct server *s = cls;
	struct body *b = *con_cls;
	int post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
	int get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
	    strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	const char *p;
	int t;

	(void)version;
	if (b == NULL) {
		if ((b = calloc(1, sizeof(*b))) == NULL)
			return MHD_NO;
		jbuf_init(&b->b);
		*con_cls = b;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!b->too_big && b->b.len + *upload_size <= SERVER_BODY_MAX)
			(void)jbuf_put(&b->b, upload, *upload_size);
		else
			b->too_big = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	if (strlen(url) > SERVER_URL_MAX)
		return send_text(c, MHD_HTTP_URI_TOO_LONG, "URL too long\n");
	if (strncmp(url, "/ocsp", 5) == 0 && (url[5] == '\0' || url[5] == '/')) {
		p = url + 5;
		if (*p == '/') {
			const char *after;

			if (type_at(p + 1, &after) != 0 &&
			    (*after == '\0' || *after == '/'))
				p = after;
		}
		if (post && *p == '\0') {
			if (b->too_big)
				return send_text(c, MHD_HTTP_CONTENT_TOO_LARGE,
				    "OCSP request too large\n");
			return send_ocsp(s, c, b->b.data, b->b.len);
		}
		if (get && *p == '/' && p[1] != '\0') {
			uint8_t req[PKI_OCSP_REQUEST_MAX];
			size_t len;

			if (server_ocsp_get_decode(p + 1, req, sizeof(req),
			    &len) != JPKI_OK) {
				struct jbuf out;
				enum MHD_Result ok;

				jbuf_init(&out);
				if (pki_ocsp_error_response(PKI_OCSP_MALFORMED,
				    &out))
					return MHD_NO;
				ok = send_buf(c, MHD_HTTP_OK,
				    "application/ocsp-response", out.data,
				    out.len);
				jbuf_free(&out);
				return ok;
			}
			return send_ocsp(s, c, req, len);
		}
		return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "OCSP: POST "
		    "the request, or GET /ocsp/<type>/<base64>\n");
	}
	if (!get)
		return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n");
	if (strcmp(url, "/") == 0)
		return send_text(c, MHD_HTTP_OK,
		    "openjpki\n"
		    "  /ca/sign.der /ca/auth.der          CA certificates\n"
		    "  /crl/<sign|auth>/<n>.crl, full.crl CRLs\n"
		    "  /ocsp/<sign|auth>                  OCSP (POST, or GET "
		    "/<base64>)\n");
	if (strncmp(url, "/crl/", 5) == 0)
		return route_crl(s, c, url + 5);
	if (strncmp(url, "/ca/", 4) == 0 &&
	    (t = type_at(url + 4, &p)) != 0 && strcmp(p, ".der") == 0)
		return send_buf(c, MHD_HTTP_OK, "application/pkix-cert",
		    s->ca_der[t], s->ca_der_len[t]);
	return send_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode why)
{
	struct body *b = *con_cls;

	(void)cls;
	(void)c;
	(void)why;
	if (b != NULL) {
		jbuf_free(&b->b);
		free(b);
		*con_cls = NULL;
	}
}

int
server_start(const struct server_options *o, struct server **out)
{
	struct sockaddr_storage ss;
	struct server *s;
	const union MHD_DaemonInfo *info;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD;
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
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	/* The CA keys stay out of the network-facing process: the data
	 * directory read-only, the responder keys only. */
	if ((r = datadir_open(o->data_dir, DATADIR_READ_ONLY, &s->dd)) ||
	    (r = datadir_path(s->dd, DATADIR_CRL_DIR, NULL, s->crl_dir,
	    sizeof(s->crl_dir))) ||
	    (r = ca_open(s->dd, CA_KEYS_OCSP, &s->ca)))
		goto fail;
	for (int t = CERT_SIGN; t <= CERT_AUTH; t++) {
		int n = i2d_X509(ca_cert(s->ca, (enum cert_type)t), &s->ca_der[t]);

		if (n <= 0) {
			r = jpki_fail(JPKI_ERR_CRYPTO, "encoding a CA certificate");
			goto fail;
		}
		s->ca_der_len[t] = (size_t)n;
	}
	s->d = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, handler,
	    s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, s,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1000,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
	    MHD_OPTION_END);
	if (s->d == NULL) {
		r = jpki_fail(JPKI_ERR_IO, "cannot listen on %s port %u (in "
		    "use?)", o->host, o->port);
		goto fail;
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info != NULL ? info->port : o->port;
	*out = s;
	return JPKI_OK;
fail:
	server_stop(&s);
	return r;
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
	if (s->d != NULL)
		MHD_stop_daemon(s->d);
	ca_close(&s->ca);
	datadir_close(&s->dd);
	for (int t = 0; t < 3; t++)
		OPENSSL_free(s->ca_der[t]);
	free(s);
	*sp = NULL;
}
