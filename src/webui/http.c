/*
 * http.c: the web UI's listener on libmicrohttpd: the static pages from
 * the web directory, GET /healthz, and the JSON API's routes with their
 * guards.  Every route names the least role it needs (none: sign-in,
 * session, healthz); every POST needs a JSON body (a cross-site form
 * cannot send one without a CORS preflight, which is never granted) and,
 * but for the sign-in, the session's CSRF token in X-CSRF-Token.  One
 * line per request goes to stderr: method, path without its query,
 * status, clerk; never a body, so never a password or a PIN.
 */
#include "webui/webui_int.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef JPKI_WEB_SOURCE_DIR
#define JPKI_WEB_SOURCE_DIR ""
#endif
#ifndef JPKI_WEB_INSTALL_DIR
#define JPKI_WEB_INSTALL_DIR ""
#endif

#define STATIC_NAME_MAX 128
#define STATIC_FILE_MAX (4 * 1024 * 1024)

/* ---- the routes ---- */

enum route_match { EXACT, PREFIX };
struct route {
	const char *method;
	const char *path;
	enum route_match match;
	int role;                   /* least enum clerk_role; 0: no session */
	webui_handler run;
};

static const struct route routes[] = {
    {"POST", "/api/signin", EXACT, 0, api_signin},
    {"POST", "/api/signout", EXACT, CLERK_ROLE_CLERK, api_signout},
    {"GET", "/api/session", EXACT, CLERK_ROLE_CLERK, api_session},
    {"GET", "/api/rules", EXACT, CLERK_ROLE_CLERK, api_rules},
    {"GET", "/api/residents", EXACT, CLERK_ROLE_CLERK, api_search},
    {"GET", "/api/residents/", PREFIX, CLERK_ROLE_CLERK, api_resident},
    {"GET", "/api/cards", EXACT, CLERK_ROLE_CLERK, api_cards},
    {"GET", "/api/check", EXACT, CLERK_ROLE_CLERK, api_check},
    {"GET", "/api/receipts/", PREFIX, CLERK_ROLE_CLERK, api_receipt},
    {"GET", "/api/dashboard", EXACT, CLERK_ROLE_CLERK, api_dashboard},
    {"GET", "/api/audit", EXACT, CLERK_ROLE_CLERK, api_audit},
    {"GET", "/api/documents/", PREFIX, CLERK_ROLE_CLERK, api_document},
    {"POST", "/api/procedures/deliver", EXACT, CLERK_ROLE_CLERK,
	api_proc_deliver},
    {"POST", "/api/procedures/issue", EXACT, CLERK_ROLE_CLERK,
	api_proc_issue},
    {"POST", "/api/procedures/renew", EXACT, CLERK_ROLE_CLERK,
	api_proc_renew},
    {"POST", "/api/procedures/report-lost", EXACT, CLERK_ROLE_CLERK,
	api_proc_report_lost},
    {"POST", "/api/procedures/reissue", EXACT, CLERK_ROLE_CLERK,
	api_proc_reissue},
    {"POST", "/api/procedures/reset-pin", EXACT, CLERK_ROLE_CLERK,
	api_proc_reset_pin},
    {"POST", "/api/procedures/update-card", EXACT, CLERK_ROLE_CLERK,
	api_proc_update_card},
    {"POST", "/api/procedures/proxy-apply", EXACT, CLERK_ROLE_CLERK,
	api_proc_proxy_apply},
    {"POST", "/api/procedures/proxy-complete", EXACT, CLERK_ROLE_CLERK,
	api_proc_proxy_complete},
    {"POST", "/api/procedures/notices", EXACT, CLERK_ROLE_CLERK,
	api_proc_notices},
    {"GET", "/api/approvals", EXACT, CLERK_ROLE_CLERK, api_approvals},
    {"POST", "/api/approvals", EXACT, CLERK_ROLE_CLERK, api_approval_request},
    {"POST", "/api/approvals/approve", EXACT, CLERK_ROLE_SUPERVISOR,
	api_approval_approve},
    {"POST", "/api/approvals/reject", EXACT, CLERK_ROLE_SUPERVISOR,
	api_approval_reject},
    {"GET", "/api/approvals/export/", PREFIX, CLERK_ROLE_CLERK,
	api_approval_export},
    {"GET", "/api/clerks", EXACT, CLERK_ROLE_ADMIN, api_clerks},
    {"POST", "/api/clerks", EXACT, CLERK_ROLE_ADMIN, api_clerk_add},
    {"POST", "/api/clerks/disable", EXACT, CLERK_ROLE_ADMIN,
	api_clerk_disable},
    {"POST", "/api/clerks/password", EXACT, CLERK_ROLE_ADMIN,
	api_clerk_passwd},
};

/* ---- parsing ---- */

int
webui_cookie_session(const char *header, char out[WEBUI_SESSION_ID_HEX + 1])
{
	static const char name[] = WEBUI_COOKIE "=";
	const char *p = header;

	out[0] = '\0';
	if (p == NULL || strnlen(p, WEBUI_COOKIE_HEADER_MAX + 1) >
	    WEBUI_COOKIE_HEADER_MAX)
		return 0;
	while (*p != '\0') {
		size_t n;

		while (*p == ' ' || *p == ';')
			p++;
		n = strcspn(p, ";");
		if (n > sizeof(name) - 1 &&
		    strncmp(p, name, sizeof(name) - 1) == 0) {
			const char *v = p + sizeof(name) - 1;
			size_t vn = n - (sizeof(name) - 1);

			if (vn != WEBUI_SESSION_ID_HEX)
				return 0;
			for (size_t i = 0; i < vn; i++)
				if (!((v[i] >= '0' && v[i] <= '9') ||
				    (v[i] >= 'a' && v[i] <= 'f')))
					return 0;
			memcpy(out, v, vn);
			out[vn] = '\0';
			return 1;
		}
		p += n;
	}
	return 0;
}

static const struct {
	const char *ext, *type;
} media_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
};

int
webui_static_name_ok(const char *name, const char **type)
{
	size_t n = strlen(name);
	const char *dot;
	char prev = '/';

	*type = NULL;
	if (n == 0 || n > STATIC_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		int sep = c == '/' || c == '.';

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || sep))
			return 0;
		/* No empty part, no part starting with '.', no "..". */
		if (sep && (prev == '/' || prev == '.'))
			return 0;
		prev = c;
	}
	if (prev == '/' || prev == '.' || (dot = strrchr(name, '.')) == NULL)
		return 0;
	for (size_t i = 0; i < JPKI_ARRAY_LEN(media_types); i++)
		if (strcmp(dot, media_types[i].ext) == 0) {
			*type = media_types[i].type;
			return 1;
		}
	return 0;
}

const char *
webui_default_web_dir(void)
{
	const char *env = getenv("JPKI_WEB");
	struct stat st;

	if (env != NULL && *env != '\0')
		return env;
	if (JPKI_WEB_SOURCE_DIR[0] != '\0' &&
	    stat(JPKI_WEB_SOURCE_DIR "/index.html", &st) == 0)
		return JPKI_WEB_SOURCE_DIR;
	return JPKI_WEB_INSTALL_DIR;
}

/* ---- answers ---- */

static unsigned
status_of(int code)
{
	switch (code) {
	case JPKI_ERR_USAGE:
	case JPKI_ERR_INPUT:
		return MHD_HTTP_BAD_REQUEST;
	case JPKI_ERR_REFUSED:
	case JPKI_ERR_PIN:
		return MHD_HTTP_UNPROCESSABLE_CONTENT;
	case JPKI_ERR_VERIFY:
		return MHD_HTTP_UNPROCESSABLE_CONTENT;
	case JPKI_ERR_NOTFOUND:
		return MHD_HTTP_NOT_FOUND;
	case JPKI_ERR_CONFLICT:
		return MHD_HTTP_CONFLICT;
	case JPKI_ERR_LOCKED:
		return MHD_HTTP_LOCKED;
	default:
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

/* The rule a message names first ("R9: ..."), or NULL. */
static json_t *
rule_of(const char *msg)
{
	for (const char *p = msg; (p = strchr(p, 'R')) != NULL; p++) {
		size_t n = 1;

		while (p[n] >= '0' && p[n] <= '9')
			n++;
		if (n > 1 && n <= 3 && (p == msg || p[-1] == ' ' ||
		    p[-1] == '(')) {
			char rule[8];

			/* R8 with its letter when the message gives one. */
			if (p[n] >= 'a' && p[n] <= 'e')
				n++;
			snprintf(rule, sizeof(rule), "%.*s", (int)n, p);
			return json_string(rule);
		}
	}
	return json_null();
}

unsigned
webui_fail(struct call *k, int code)
{
	const char *msg = jpki_errmsg();

	json_decref(k->out);
	k->out = json_pack("{s:s, s:s, s:o}", "error", jpki_strerr(code),
	    "message", *msg ? msg : "failed", "rule", rule_of(msg));
	jpki_errclear();
	return k->status = status_of(code);
}

unsigned
webui_ok(struct call *k, json_t *out)
{
	json_decref(k->out);
	k->out = out != NULL ? out : json_pack("{s:s}", "error",
	    "out of memory");
	return k->status = out != NULL ? MHD_HTTP_OK :
	    MHD_HTTP_INTERNAL_SERVER_ERROR;
}

const char *
webui_str_in(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *
webui_str(const struct call *k, const char *name)
{
	return webui_str_in(k->body, name);
}

int
webui_id(const struct call *k, const char *name, int64_t *out)
{
	json_t *v = k->body ? json_object_get(k->body, name) : NULL;
	const char *s = NULL;
	char *end;
	long long n;

	if (json_is_integer(v)) {
		n = json_integer_value(v);
	} else {
		s = v != NULL ? (json_is_string(v) ? json_string_value(v) :
		    NULL) : webui_query(k, name);
		if (s == NULL || *s < '0' || *s > '9')
			return jpki_fail(JPKI_ERR_INPUT, "%s: a number is "
			    "needed", name);
		n = strtoll(s, &end, 10);
		if (*end != '\0')
			return jpki_fail(JPKI_ERR_INPUT, "%s: not a number",
			    name);
	}
	if (n <= 0)
		return jpki_fail(JPKI_ERR_INPUT, "%s: must be positive", name);
	*out = n;
	return JPKI_OK;
}

const char *
webui_query(const struct call *k, const char *name)
{
	return MHD_lookup_connection_value(k->conn, MHD_GET_ARGUMENT_KIND,
	    name);
}

static void
wipe_string(json_t *v)
{
	if (json_is_string(v)) {
		char *p = (char *)json_string_value(v);

		jpki_wipe(p, json_string_length(v));
	}
}

/* Every member that carries a secret, at any depth. */
void
webui_wipe_body(json_t *body)
{
	static const char *const secret[] = {"password", "new_pin", "pin",
	    "sign", "auth", "cardinfo", "check_code", "new_password"};
	const char *key;
	json_t *v;

	json_object_foreach(body, key, v) {
		if (json_is_object(v)) {
			webui_wipe_body(v);
			continue;
		}
		for (size_t i = 0; i < JPKI_ARRAY_LEN(secret); i++)
			if (strcmp(key, secret[i]) == 0)
				wipe_string(v);
	}
}

/* A card's serial (hex): the image the store recorded for it. */
static int
card_by_serial(struct datadir *dd, const char *serial, char *path, size_t n)
{
	char up[33];
	struct card_record c;
	size_t i;
	int r;

	for (i = 0; serial[i] != '\0' && i < sizeof(up) - 1; i++)
		up[i] = (char)(serial[i] >= 'a' && serial[i] <= 'f' ?
		    serial[i] - 'a' + 'A' : serial[i]);
	up[i] = '\0';
	if ((r = store_card_by_serial(datadir_store(dd), up, &c)) != JPKI_OK)
		return r;
	if (c.image_path[0] == '\0')
		return jpki_fail(JPKI_ERR_NOTFOUND, "card %s: no image recorded",
		    up);
	return jpki_path(path, n, "%s", c.image_path);
}

int
webui_card_path(struct datadir *dd, const char *name, char *path, size_t n)
{
	size_t len = name ? strlen(name) : 0;
	size_t hex = 0;

	while (hex < len && hex_digit_value(name[hex]) >= 0)
		hex++;
	if (len > 0 && len < 33 && hex == len)
		return card_by_serial(dd, name, path, n);

	if (len < 5 || len > 64 || name[0] == '.' ||
	    strcmp(name + len - 4, ".img") != 0)
		return jpki_fail(JPKI_ERR_INPUT, "card: a card serial or an image "
		    "name such as r1-1.img (got '%.64s')", name ? name : "");
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return jpki_fail(JPKI_ERR_INPUT, "card: '%.64s' is not a "
			    "card image name", name);
	}
	return datadir_path(dd, DATADIR_CARDS_DIR, name, path, n);
}

/* ---- one request ---- */

struct request {
	struct jbuf body;
	int too_big;
};

static void
security_headers(struct MHD_Response *r, const char *type, int https)
{
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Content-Security-Policy",
	    "default-src 'self'; img-src 'self' data:; object-src 'self'; "
	    "frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
	    "form-action 'self'");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (https)
		MHD_add_response_header(r, "Strict-Transport-Security",
		    "max-age=31536000");
}

static enum MHD_Result
send_bytes(struct webui *w, struct MHD_Connection *c, unsigned status,
    const char *type, const void *p, size_t n, const char *cookie)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(n, (void *)p,
	    MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ok;

	if (r == NULL)
		return MHD_NO;
	security_headers(r, type, w->https);
	if (cookie != NULL && cookie[0] != '\0')
		MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
	ok = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result
send_json(struct webui *w, struct MHD_Connection *c, unsigned status,
    json_t *v, const char *cookie)
{
	char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
	enum MHD_Result ok;

	if (text == NULL)
		return send_bytes(w, c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "application/json", "{\"error\":\"internal\"}", 20, NULL);
	ok = send_bytes(w, c, status, "application/json; charset=utf-8",
	    text, strlen(text), cookie);
	free(text);
	return ok;
}

static enum MHD_Result
send_error(struct webui *w, struct MHD_Connection *c, unsigned status,
    const char *error, const char *message)
{
	json_t *v = json_pack("{s:s, s:s, s:n}", "error", error, "message",
	    message, "rule");
	enum MHD_Result ok = send_json(w, c, status, v, NULL);

	json_decref(v);
	return ok;
}

static enum MHD_Result
send_static(struct webui *w, struct MHD_Connection *c, const char *url)
{
	const char *name = strcmp(url, "/") == 0 ? "index.html" : url + 1;
	char path[JPKI_PATH_MAX];
	const char *type;
	struct jbuf data;
	enum MHD_Result ok;

	jbuf_init(&data);
	if (!webui_static_name_ok(name, &type) ||
	    jpki_path(path, sizeof(path), "%s/%s", w->web_dir, name) !=
	    JPKI_OK || file_read_all(path, STATIC_FILE_MAX, &data) !=
	    JPKI_OK) {
		jpki_errclear();
		jbuf_free(&data);
		return send_error(w, c, MHD_HTTP_NOT_FOUND, "notfound",
		    "no such page");
	}
	ok = send_bytes(w, c, MHD_HTTP_OK, type, data.data, data.len, NULL);
	jbuf_free(&data);
	return ok;
}

static void
log_line(const char *method, const char *url, unsigned status,
    const char *clerk)
{
	/* The path only: a query may carry an individual number. */
	fprintf(stderr, "jpki-counter: %s %.*s %u %s\n", method,
	    (int)strcspn(url, "?"), url, status, clerk[0] ? clerk : "-");
}

static const struct route *
route_find(const char *method, const char *url, int *method_ok)
{
	*method_ok = 0;
	for (size_t i = 0; i < JPKI_ARRAY_LEN(routes); i++) {
		const struct route *rt = &routes[i];
		size_t n = strlen(rt->path);

		if (rt->match == EXACT ? strcmp(url, rt->path) != 0 :
		    strncmp(url, rt->path, n) != 0 || url[n] == '\0')
			continue;
		if (strcmp(method, rt->method) == 0) {
			*method_ok = 1;
			return rt;
		}
	}
	for (size_t i = 0; i < JPKI_ARRAY_LEN(routes); i++)
		if (routes[i].match == EXACT ? strcmp(url, routes[i].path) == 0 :
		    strncmp(url, routes[i].path, strlen(routes[i].path)) == 0)
			return &routes[i];
	return NULL;
}

static struct worker *
worker_take(struct webui *w)
{
	struct worker *free_one = NULL;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		for (int i = 0; i < WEBUI_WORKERS && free_one == NULL; i++)
			if (!w->workers[i].busy)
				free_one = &w->workers[i];
		if (free_one != NULL)
			break;
		pthread_cond_wait(&w->worker_free, &w->lock);
	}
	free_one->busy = 1;
	pthread_mutex_unlock(&w->lock);
	return free_one;
}

static void
worker_give(struct webui *w, struct worker *wk)
{
	pthread_mutex_lock(&w->lock);
	wk->busy = 0;
	pthread_cond_signal(&w->worker_free);
	pthread_mutex_unlock(&w->lock);
}

static int
is_json(struct MHD_Connection *c)
{
	const char *t = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);

	return t != NULL && strncmp(t, "application/json", 16) == 0 &&
	    (t[16] == '\0' || t[16] == ';');
}

static enum MHD_Result
api(struct webui *w, struct MHD_Connection *c, const char *method,
    const char *url, struct request *rq)
{
	char sid[WEBUI_SESSION_ID_HEX + 1];
	const struct route *rt;
	struct worker *worker;
	struct call k;
	enum MHD_Result ok;
	json_error_t jerr;
	int method_ok, has_session;

	rt = route_find(method, url, &method_ok);
	if (rt == NULL)
		return send_error(w, c, MHD_HTTP_NOT_FOUND, "notfound",
		    "no such API");
	if (!method_ok)
		return send_error(w, c, MHD_HTTP_METHOD_NOT_ALLOWED, "usage",
		    "method not allowed here");
	memset(&k, 0, sizeof(k));
	k.w = w;
	k.conn = c;
	k.tail = url + strlen(rt->path);
	has_session = webui_cookie_session(MHD_lookup_connection_value(c,
	    MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE), sid) &&
	    webui_session_find(w, sid, &k.who);
	if (rt->role != 0 && !has_session) {
		log_line(method, url, MHD_HTTP_UNAUTHORIZED, "");
		return send_error(w, c, MHD_HTTP_UNAUTHORIZED, "session",
		    "sign in first (no session, or it ended)");
	}
	if ((int)k.who.role < rt->role) {
		log_line(method, url, MHD_HTTP_FORBIDDEN, k.who.clerk);
		return send_error(w, c, MHD_HTTP_FORBIDDEN, "role",
		    rt->role == CLERK_ROLE_ADMIN ? "an administrator's task" :
		    "a supervisor's task");
	}
	if (strcmp(method, "POST") == 0) {
		if (rq->too_big)
			return send_error(w, c, MHD_HTTP_CONTENT_TOO_LARGE,
			    "input", "request body too large");
		if (!is_json(c))
			return send_error(w, c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
			    "input", "the body must be application/json");
		if (rt->role != 0 && !webui_csrf_ok(&k.who,
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    "X-CSRF-Token"))) {
			log_line(method, url, MHD_HTTP_FORBIDDEN, k.who.clerk);
			return send_error(w, c, MHD_HTTP_FORBIDDEN, "csrf",
			    "missing or wrong CSRF token (reload the page)");
		}
		k.body = json_loadb((const char *)rq->body.data, rq->body.len,
		    JSON_REJECT_DUPLICATES, &jerr);
		jpki_wipe(rq->body.data, rq->body.len);
		if (!json_is_object(k.body)) {
			json_decref(k.body);
			return send_error(w, c, MHD_HTTP_BAD_REQUEST, "input",
			    "the body is not a JSON object");
		}
	}
	worker = worker_take(w);
	k.dd = worker->dd;
	k.ca = worker->ca;
	rt->run(&k);
	worker_give(w, worker);
	if (k.body != NULL) {
		webui_wipe_body(k.body);
		json_decref(k.body);
	}
	log_line(method, url, k.status, k.who.clerk);
	if (k.raw != NULL) {
		ok = send_bytes(w, c, k.status, k.raw_type, k.raw, k.raw_len,
		    NULL);
		free(k.raw);
	} else {
		ok = send_json(w, c, k.status, k.out, k.set_cookie);
	}
	json_decref(k.out);
	return ok;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_size, void **con_cls)
{
	struct webui *w = cls;
	struct request *rq = *con_cls;

	(void)version;
	if (rq == NULL) {
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		jbuf_init(&rq->body);
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (rq->body.len + *upload_size > WEBUI_BODY_MAX)
			rq->too_big = 1;
		else if (jbuf_put(&rq->body, upload_data, *upload_size) !=
		    JPKI_OK)
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	if (strlen(url) > WEBUI_URL_MAX)
		return send_error(w, c, MHD_HTTP_URI_TOO_LONG, "input",
		    "URL too long");
	if (strcmp(url, "/healthz") == 0) {
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			return send_error(w, c, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "usage", "GET /healthz");
		return send_bytes(w, c, MHD_HTTP_OK, "text/plain; charset=utf-8",
		    "ok\n", 3, NULL);
	}
	if (strncmp(url, "/api/", 5) == 0)
		return api(w, c, method, url, rq);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return send_error(w, c, MHD_HTTP_METHOD_NOT_ALLOWED, "usage",
		    "the pages are GET only");
	return send_static(w, c, url);
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (rq == NULL)
		return;
	if (rq->body.data != NULL)
		jpki_wipe(rq->body.data, rq->body.len);
	jbuf_free(&rq->body);
	free(rq);
	*con_cls = NULL;
}

/* ---- starting and stopping ---- */

static int
read_pem(const char *path, char **out)
{
	struct jbuf data;
	int r;

	jbuf_init(&data);
	if ((r = file_read_all(path, 1024 * 1024, &data)) != JPKI_OK ||
	    (r = jbuf_put_u8(&data, 0)) != JPKI_OK) {
		jbuf_free(&data);
		return r;
	}
	*out = (char *)data.data;   /* handed over */
	return JPKI_OK;
}

int
webui_start(const struct webui_options *o, struct webui **out)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION;
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	const char *web = o->web_dir ? o->web_dir : webui_default_web_dir();
	char index[JPKI_PATH_MAX];
	struct webui *w;
	struct stat st;
	int r;

	*out = NULL;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, o->host,
	    &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
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
	if ((o->tls_cert == NULL) != (o->tls_key == NULL))
		return jpki_fail(JPKI_ERR_USAGE, "HTTPS needs both a "
		    "certificate and its key");
	if (web == NULL || web[0] == '\0' ||
	    jpki_path(index, sizeof(index), "%s/index.html", web) != JPKI_OK ||
	    stat(index, &st) != 0)
		return jpki_fail(JPKI_ERR_NOTFOUND, "web UI pages: no "
		    "index.html in '%s' (set JPKI_WEB to the web/ directory)",
		    web ? web : "");
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->worker_free, NULL);
	pthread_mutex_init(&w->sessions_lock, NULL);
	snprintf(w->web_dir, sizeof(w->web_dir), "%s", web);
	w->idle_seconds = o->idle_seconds ? o->idle_seconds :
	    WEBUI_IDLE_SECONDS;
	/* Each worker's CA is opened once, for the server's life: it issues
	 * from the generation that was newest then.  After a `jpki ca
	 * rollover` the server must be restarted (docs/ca-operations.md);
	 * until it is, it keeps issuing from the previous generation. */
	for (int i = 0; i < WEBUI_WORKERS; i++)
		if ((r = datadir_open(o->data_dir, DATADIR_READ_WRITE,
		    &w->workers[i].dd)) ||
		    (r = ca_open(w->workers[i].dd, CA_KEYS_CA,
		    &w->workers[i].ca)))
			goto fail;
	if ((r = jpki_path(w->docs_dir, sizeof(w->docs_dir), "%s/documents",
	    datadir_root(w->workers[0].dd))))
		goto fail;
	if (mkdir(w->docs_dir, 0700) != 0 && stat(w->docs_dir, &st) != 0) {
		r = jpki_fail(JPKI_ERR_IO, "%s: cannot create", w->docs_dir);
		goto fail;
	}
	if (o->tls_cert != NULL) {
		if ((r = read_pem(o->tls_cert, &w->tls_cert)) ||
		    (r = read_pem(o->tls_key, &w->tls_key)))
			goto fail;
		w->https = 1;
		flags |= MHD_USE_TLS;
	}
	w->d = w->https ?
	    MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, handler, w,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, w,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64,
	    MHD_OPTION_HTTPS_MEM_CERT, w->tls_cert,
	    MHD_OPTION_HTTPS_MEM_KEY, w->tls_key, MHD_OPTION_END) :
	    MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, handler, w,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, w,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64, MHD_OPTION_END);
	if (w->d == NULL) {
		r = jpki_fail(JPKI_ERR_IO, "cannot listen on %s port %u (in use, "
		    "or a bad TLS certificate or key?)", o->host, o->port);
		goto fail;
	}
	info = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_BIND_PORT);
	w->port = info != NULL ? info->port : o->port;
	*out = w;
	return JPKI_OK;
fail:
	webui_stop(&w);
	return r;
}

unsigned
webui_port(const struct webui *w)
{
	return w->port;
}

void
webui_stop(struct webui **wp)
{
	struct webui *w = *wp;

	if (w == NULL)
		return;
	if (w->d != NULL)
		MHD_stop_daemon(w->d);
	for (int i = 0; i < WEBUI_WORKERS; i++) {
		ca_close(&w->workers[i].ca);
		datadir_close(&w->workers[i].dd);
	}
	if (w->tls_key != NULL) {
		jpki_wipe(w->tls_key, strlen(w->tls_key));
		free(w->tls_key);
	}
	free(w->tls_cert);
	jpki_wipe(w->sessions, sizeof(w->sessions));
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->worker_free);
	pthread_mutex_destroy(&w->sessions_lock);
	free(w);
	*wp = NULL;
}
