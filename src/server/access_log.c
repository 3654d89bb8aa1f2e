/*
 * access_log.c: `jpki serve --access-log FILE`, one JSON line per request:
 *
 *   {"time":"2026-11-29T15:04:05Z","client":"127.0.0.1","method":"GET",
 *    "path":"/crl/sign/1.crl","route":"crl","status":200,"bytes":1234,
 *    "duration_us":310,"complete":true}
 *
 * with "ocsp":"successful" (the OCSP response status) on OCSP routes and
 * "path_cut":true when the path was longer than SERVER_LOG_PATH_MAX.  A
 * path is logged as received, bytes outside printable ASCII as %XX, so a
 * line is always one line of valid JSON.  Each line is one write(2) on an
 * O_APPEND descriptor: several threads never interleave.  A failed write
 * is dropped, never fatal: the log serves the answers, not the reverse.
 */
#include "server/server_impl.h"
#include "pki/pki.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct access_log {
	int fd;
};

int
access_log_open(const char *path, struct access_log **out)
{
	struct access_log *l;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (l->fd < 0) {
		free(l);
		return jpki_fail(JPKI_ERR_IO, "access log %s: cannot open "
		    "for appending", path);
	}
	*out = l;
	return JPKI_OK;
}

static void
client_text(const struct sockaddr *sa, char *buf, size_t n)
{
	snprintf(buf, n, "-");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    buf, (socklen_t)n);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
		    (socklen_t)n);
}

static const char *
ocsp_status_name(int s)
{
	switch (s) {
	case PKI_OCSP_SUCCESSFUL: return "successful";
	case PKI_OCSP_MALFORMED: return "malformedRequest";
	case PKI_OCSP_INTERNAL_ERROR: return "internalError";
	case PKI_OCSP_TRY_LATER: return "tryLater";
	case PKI_OCSP_SIG_REQUIRED: return "sigRequired";
	case PKI_OCSP_UNAUTHORIZED: return "unauthorized";
	default: return "unknown";
	}
}

void
access_log_write(struct access_log *l, const struct request *rq,
    const struct sockaddr *client, int complete)
{
	char when[21], addr[INET6_ADDRSTRLEN];
	json_t *o;
	char *line;

	if (l == NULL)
		return;
	iso8601_format_utc(jpki_now(), when);
	client_text(client, addr, sizeof(addr));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:b}",
	    "time", when, "client", addr, "method", rq->method,
	    "path", rq->path, "route", server_route_name(rq->route),
	    "status", (int)rq->status, "bytes", (json_int_t)rq->bytes,
	    "duration_us", (json_int_t)(server_monotonic_us() - rq->start_us),
	    "complete", complete);
	if (o == NULL)
		return;
	if (rq->path_cut)
		json_object_set_new(o, "path_cut", json_true());
	if (rq->ocsp_status >= 0)
		json_object_set_new(o, "ocsp",
		    json_string(ocsp_status_name(rq->ocsp_status)));
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (line == NULL)
		return;
	{
		size_t n = strlen(line);

		line[n] = '\n';     /* over the NUL: one write, one line */
		if (write(l->fd, line, n + 1) < 0)
			(void)0;    /* dropped: see the top of the file */
	}
	free(line);
}

void
access_log_close(struct access_log **lp)
{
	struct access_log *l = *lp;

	if (l == NULL)
		return;
	close(l->fd);
	free(l);
	*lp = NULL;
}
