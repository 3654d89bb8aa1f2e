/*
 * service.c: the relying party on `jpki serve` (server.h's route table):
 *
 *   POST /rp/challenge   {"nonce", "expires_at", "origin"}
 *   POST /rp/login       the login token (login.c) -> 200 who logged in,
 *                        400 malformed, 401 refused, each with its error
 *   POST /rp/verify      {"signature": base64 CMS[, "content": base64]
 *                        [, "at": ISO 8601]} -> 200 the verdict (valid or
 *                        not), 400 bad input
 *   GET /rp/link/SERIAL  linkage (link.c), for a registered relying party
 *                        (Authorization: Bearer KEY): 200, 401, 404
 *   POST /kiosk/challenge  as /rp/challenge (jpki serve --kiosk)
 *   POST /kiosk/residence  a login token -> 200 {"document": base64 PDF
 *                        signed by the municipality, "receipt"}, or
 *                        400/401/403/404 refused (kiosk.c)
 *
 * Each server thread answers with its own worker: its own read-write
 * connection to the data directory's store (nonces are written; SQLite
 * connections are not shared between threads) and its own verifier (the
 * data directory's CAs as anchors).  Status comes from the store: the
 * server runs beside the CAs' own records, and asking its own OCSP route
 * over HTTP would only take a second thread for the same answer.  The
 * server's own workers stay read-only with the OCSP keys; the /rp/ routes
 * hold no key at all, the /kiosk/ ones the municipality's document key
 * (opened once, at start, when the kiosk is on).
 */
#include "ca/ca.h"
#include "rp/rp_int.h"
#include "datadir/datadir.h"
#include "server/server.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A /rp/verify body at most: the signature with its document, base64. */
#define RP_VERIFY_BODY_MAX (4u << 20)

struct rp_worker {
	struct rp_service *svc;
	struct datadir *dd;
	struct rp_verifier *v;
	struct rp_worker *next;
};

struct rp_service {
	char data_dir[JPKI_PATH_MAX];
	char origin[RP_ORIGIN_MAX + 1];
	pthread_mutex_t lock;       /* the list of workers */
	struct rp_worker *workers;
	struct server_handler handlers[3];
	size_t nhandlers;
	int rp, kiosk;
	/* The kiosk: the municipality's key (its signer keeps kdd), its
	 * code and the fees, from the config at start. */
	struct datadir *kdd;
	struct ca_municipality *muni;
	char municipality[MUNI_CODE_LEN + 1];
	struct fee_table fees;
};

static _Thread_local struct rp_worker *this_worker;

static void
worker_free(struct rp_worker *w)
{
	rp_verifier_free(&w->v);
	datadir_close(&w->dd);
	free(w);
}

static int
worker_get(struct rp_service *svc, struct rp_worker **out)
{
	struct rp_worker *w = this_worker;
	int r;

	if (w != NULL && w->svc == svc) {
		*out = w;
		return JPKI_OK;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	w->svc = svc;
	if ((r = datadir_open(svc->data_dir, DATADIR_READ_WRITE, &w->dd)) ||
	    (r = rp_verifier_new(datadir_store(w->dd), RP_OFFLINE, &w->v)) ||
	    (r = rp_verifier_add_datadir_anchors(w->v, w->dd))) {
		worker_free(w);
		return r;
	}
	pthread_mutex_lock(&svc->lock);
	w->next = svc->workers;
	svc->workers = w;
	pthread_mutex_unlock(&svc->lock);
	this_worker = w;
	*out = w;
	return JPKI_OK;
}

/* ---- answers ------------------------------------------------------------- */

static int
answer_json(struct server_exchange *x, unsigned status, json_t *j)
{
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER)
	    : NULL;
	int r;

	json_decref(j);
	if (s == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	x->status = status;
	x->content_type = "application/json";
	r = jbuf_put(&x->answer, s, strlen(s));
	if (r == JPKI_OK)
		r = jbuf_put_u8(&x->answer, '\n');
	free(s);
	return r;
}

static int
answer_error(struct server_exchange *x, unsigned status, const char *error,
    const char *why)
{
	return answer_json(x, status, json_pack("{s:s, s:s, s:s}", "result",
	    "refused", "error", error, "why", why));
}

static int
route_challenge(struct rp_service *svc, struct rp_worker *w,
    struct server_exchange *x)
{
	char nonce[RP_NONCE_B64_LEN + 1], until[26];
	int64_t now = jpki_now();
	int r;

	if ((r = rp_challenge_new(datadir_store(w->dd), now, nonce)) !=
	    JPKI_OK)
		return r;
	iso8601_format_jst(now + RP_NONCE_SECONDS, until);
	return answer_json(x, 200, json_pack("{s:s, s:s, s:s}", "nonce",
	    nonce, "expires_at", until, "origin", svc->origin));
}

static int
route_login(struct rp_service *svc, struct rp_worker *w,
    struct server_exchange *x)
{
	struct rp_login l;
	json_t *j;
	int r;

	if ((r = rp_login_check(w->v, datadir_store(w->dd), svc->origin,
	    x->body, x->body_len, jpki_now(), &l)) != JPKI_OK)
		return r;
	if (l.error == RP_LOGIN_OK) {
		/* R5: who, by the certificate; nothing of the person. */
		j = json_pack("{s:s, s:s, s:s, s:s}", "result", "ok", "subject",
		    l.cert.subject, "serial", l.cert.serial, "status_source",
		    rp_status_source_name(l.cert.status.source));
		r = answer_json(x, 200, j);
	} else {
		j = json_pack("{s:s, s:s, s:s}", "result", "refused", "error",
		    rp_login_error_name(l.error), "why", l.why);
		if (l.error == RP_LOGIN_CERTIFICATE)
			json_object_set_new(j, "reason", json_string(
			    rp_reason_name(l.cert.reason)));
		if (l.cert.serial[0] != '\0')
			json_object_set_new(j, "serial",
			    json_string(l.cert.serial));
		r = answer_json(x, l.error == RP_LOGIN_MALFORMED ? 400 : 401, j);
	}
	rp_login_free(&l);
	return r;
}

/* A base64 member of a JSON body into buf. */
static int
b64_member(json_t *j, const char *key, struct jbuf *buf, size_t max)
{
	json_t *m = json_object_get(j, key);
	size_t len = 0;
	int r;

	if (!json_is_string(m))
		return jpki_fail(JPKI_ERR_INPUT, "%s: a base64 string is "
		    "needed", key);
	if ((r = jbuf_reserve(buf, json_string_length(m) / 4 * 3 + 3)) !=
	    JPKI_OK)
		return r;
	if ((r = rp_b64_decode(json_string_value(m), json_string_length(m),
	    buf->data, json_string_length(m) / 4 * 3 + 3, &len)) != JPKI_OK)
		return r;
	if (len > max)
		return jpki_fail(JPKI_ERR_INPUT, "%s: more than %zu bytes", key,
		    max);
	buf->len = len;
	return JPKI_OK;
}

static int
route_verify(struct rp_worker *w, struct server_exchange *x)
{
	struct jbuf sig, doc;
	struct rp_result res;
	json_error_t jerr;
	json_t *j, *at_j;
	int64_t at = jpki_now();
	int r;

	jbuf_init(&sig);
	jbuf_init(&doc);
	memset(&res, 0, sizeof(res));
	if ((j = json_loadb((const char *)x->body, x->body_len,
	    JSON_REJECT_DUPLICATES, &jerr)) == NULL || !json_is_object(j)) {
		json_decref(j);
		return answer_error(x, 400, "malformed", "not a JSON object");
	}
	at_j = json_object_get(j, "at");
	if ((r = b64_member(j, "signature", &sig, RP_CMS_MAX)) != JPKI_OK ||
	    (json_object_get(j, "content") != NULL &&
	    (r = b64_member(j, "content", &doc, RP_CONTENT_MAX)) != JPKI_OK) ||
	    (at_j != NULL && (!json_is_string(at_j) ||
	    (r = iso8601_parse(json_string_value(at_j), &at)) != JPKI_OK))) {
		r = answer_error(x, 400, "malformed", at_j != NULL &&
		    !json_is_string(at_j) ? "at: an ISO 8601 string" :
		    jpki_errmsg());
		goto done;
	}
	r = rp_cms_verify(w->v, sig.data, sig.len,
	    json_object_get(j, "content") != NULL ?
	    (doc.data != NULL ? doc.data : (const uint8_t *)"") : NULL,
	    doc.len, at, &res);
	if (r == JPKI_ERR_INPUT)
		r = answer_error(x, 400, "malformed", jpki_errmsg());
	else if (r == JPKI_OK)
		r = answer_json(x, 200, rp_result_json(&res));
done:
	rp_result_free(&res);
	json_decref(j);
	jbuf_free(&sig);
	jbuf_free(&doc);
	return r;
}

static int
route(void *arg, struct server_exchange *x);

/* A failure (not a refusal, which is an answer) is the server's 500; the
 * operator reads why on stderr. */
static int
handle(void *arg, struct server_exchange *x)
{
	int r = route(arg, x);

	if (r != JPKI_OK)
		fprintf(stderr, "jpki: serve: %s %s: %s: %s\n", x->method,
		    x->path, jpki_strerr(r), jpki_errmsg());
	return r;
}

/* GET /rp/link/{serial}: a registered relying party's key in
 * "Authorization: Bearer KEY" (or X-API-Key). */
static int
route_link(struct rp_worker *w, struct server_exchange *x, const char *serial)
{
	const char *auth = server_exchange_header(x, "Authorization"),
	    *key = server_exchange_header(x, "X-API-Key");
	char name[64], norm[SERIAL_HEX_MAX], who[80];
	json_t *j;
	int r;

	if (auth != NULL && strncmp(auth, "Bearer ", 7) == 0)
		key = auth + 7;
	if (rp_api_key_check(datadir_config(w->dd)->rp_api_keys, key, name,
	    sizeof(name)) != JPKI_OK)
		return answer_error(x, 401, "unauthorized", "linkage is for "
		    "registered relying parties: Authorization: Bearer KEY");
	if (strlen(serial) >= sizeof(norm) || strspn(serial,
	    "0123456789ABCDEFabcdef") != strlen(serial) || serial[0] == '\0')
		return answer_error(x, 400, "malformed", "the serial is hex");
	for (size_t i = 0; serial[i] != '\0'; i++)
		norm[i] = (char)toupper((unsigned char)serial[i]);
	norm[strlen(serial)] = '\0';
	snprintf(who, sizeof(who), "rp:%s", name);
	if ((r = rp_link_lookup(datadir_store(w->dd), norm, who, jpki_now(),
	    &j)) == JPKI_ERR_NOTFOUND)
		return answer_error(x, 404, "not-found", jpki_errmsg());
	if (r != JPKI_OK)
		return r;
	return answer_json(x, 200, j);
}

/* The municipality's key and certificate (made on first need), opened
 * once: by rp_service_start after the server forked its CRL publisher (so
 * that process never holds it), or by the first kiosk request. */
static int
muni_get(struct rp_service *svc)
{
	int r = JPKI_OK;

	pthread_mutex_lock(&svc->lock);
	if (svc->muni == NULL) {
		/* Its signer keeps the data directory: one of its own. */
		if ((r = datadir_open(svc->data_dir, DATADIR_READ_WRITE,
		    &svc->kdd)) == JPKI_OK &&
		    (r = ca_municipality_open(svc->kdd, &svc->muni)) !=
		    JPKI_OK)
			datadir_close(&svc->kdd);
	}
	pthread_mutex_unlock(&svc->lock);
	return r;
}

int
rp_service_start(struct rp_service *svc)
{
	return svc->kiosk ? muni_get(svc) : JPKI_OK;
}

static int
route_residence(struct rp_service *svc, struct rp_worker *w,
    struct server_exchange *x)
{
	struct rp_kiosk_request k = {.verifier = w->v,
	    .store = datadir_store(w->dd), .origin = svc->origin,
	    .municipality = svc->municipality, .fees = &svc->fees,
	    .municipality_key = svc->muni, .actor = "kiosk"};
	struct rp_kiosk_result res;
	char *b64 = NULL, issued[26], hash[65];
	unsigned status;
	json_t *j;
	int r;

	if ((r = muni_get(svc)) != JPKI_OK)
		return r;
	k.municipality_key = svc->muni;
	if ((r = rp_kiosk_residence(&k, x->body, x->body_len, jpki_now(),
	    &res)) != JPKI_OK)
		return r;
	if (res.error != RP_KIOSK_OK) {
		const struct rp_login *l = &res.login;

		status = res.error == RP_KIOSK_LOGIN ? (l->error ==
		    RP_LOGIN_MALFORMED ? 400 : 401) : res.error ==
		    RP_KIOSK_NOT_REGISTERED ? 404 : 403;
		j = json_pack("{s:s, s:s, s:s}", "result", "refused", "error",
		    res.error == RP_KIOSK_LOGIN ? rp_login_error_name(l->error)
		    : rp_kiosk_error_name(res.error), "why", res.why);
		if (l->error == RP_LOGIN_CERTIFICATE)
			json_object_set_new(j, "reason", json_string(
			    rp_reason_name(l->cert.reason)));
		if (l->cert.serial[0] != '\0')
			json_object_set_new(j, "serial",
			    json_string(l->cert.serial));
		r = answer_json(x, status, j);
		rp_kiosk_result_free(&res);
		return r;
	}
	if ((b64 = malloc(res.document.len / 3 * 4 + 8)) == NULL) {
		rp_kiosk_result_free(&res);
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	}
	rp_b64_encode(res.document.data, res.document.len, b64);
	for (size_t i = 0; i < 32; i++)
		snprintf(hash + 2 * i, 3, "%02x", res.document_sha256[i]);
	iso8601_format_jst(res.issued_at, issued);
	j = json_pack("{s:s, s:s, s:s, s:{s:I, s:s, s:s, s:s, s:s, s:[{s:s, "
	    "s:s, s:I}], s:I, s:s}}", "result", "ok", "document", b64,
	    "content_type", "application/pdf", "receipt", "number",
	    (json_int_t)res.receipt, "document", "residence",
	    "document_number", res.number, "issued_at", issued,
	    "municipality", res.municipality, "fees", "item",
	    rules_fee_item_name(FEE_KIOSK_RESIDENCE), "label",
	    rules_fee_item_label_ja(FEE_KIOSK_RESIDENCE), "yen",
	    (json_int_t)res.fee_yen, "total_yen", (json_int_t)res.fee_yen,
	    "document_sha256", hash);
	free(b64);
	rp_kiosk_result_free(&res);
	return answer_json(x, 200, j);
}

static int
route_kiosk(struct rp_service *svc, struct server_exchange *x)
{
	const char *route = x->path + strlen("/kiosk/");
	struct rp_worker *w = NULL;
	int r;

	if (strcmp(route, "challenge") != 0 && strcmp(route, "residence") != 0)
		return answer_error(x, 404, "not-found", "the kiosk answers "
		    "/kiosk/challenge and /kiosk/residence");
	if (strcmp(x->method, "POST") != 0)
		return answer_error(x, 405, "method", "POST only");
	if ((r = worker_get(svc, &w)) != JPKI_OK)
		return r;
	if (strcmp(route, "challenge") == 0)
		return route_challenge(svc, w, x);
	return route_residence(svc, w, x);
}

static int
route(void *arg, struct server_exchange *x)
{
	struct rp_service *svc = arg;
	struct rp_worker *w = NULL;
	const char *route = x->path + strlen("/rp/");
	int r;

	if (strncmp(x->path, "/kiosk/", 7) == 0)
		return route_kiosk(svc, x);

	if (strncmp(route, "link/", 5) == 0) {
		if (strcmp(x->method, "GET") != 0)
			return answer_error(x, 405, "method", "GET only");
		if ((r = worker_get(svc, &w)) != JPKI_OK)
			return r;
		return route_link(w, x, route + 5);
	}
	if (strcmp(route, "challenge") != 0 && strcmp(route, "login") != 0 &&
	    strcmp(route, "verify") != 0)
		return answer_error(x, 404, "not-found", "the relying party "
		    "answers /rp/challenge, /rp/login, /rp/verify and "
		    "/rp/link/{serial}");
	if (strcmp(x->method, "POST") != 0)
		return answer_error(x, 405, "method", "POST only");
	if ((r = worker_get(svc, &w)) != JPKI_OK)
		return r;
	if (strcmp(route, "challenge") == 0)
		return route_challenge(svc, w, x);
	if (strcmp(route, "login") == 0)
		return route_login(svc, w, x);
	return route_verify(w, x);
}

int
rp_service_new(const struct rp_service_options *o, struct rp_service **out)
{
	struct rp_service *svc;
	struct datadir *dd = NULL;
	int r;

	*out = NULL;
	if ((svc = calloc(1, sizeof(*svc))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&svc->lock, NULL);
	if ((r = jpki_path(svc->data_dir, sizeof(svc->data_dir), "%s",
	    o->data_dir)) != JPKI_OK)
		goto fail;
	/* Opened once now, read-write, so that the nonce table is there (the
	 * migration) before a thread answers, and a bad directory fails at
	 * start. */
	if ((r = datadir_open(o->data_dir, DATADIR_READ_WRITE, &dd)) !=
	    JPKI_OK)
		goto fail;
	r = rp_origin_of(o->origin != NULL ? o->origin :
	    datadir_config(dd)->base_url, svc->origin);
	if (o->kiosk) {
		snprintf(svc->municipality, sizeof(svc->municipality), "%s",
		    datadir_config(dd)->municipality);
		svc->fees = datadir_config(dd)->fees;
	}
	datadir_close(&dd);
	if (r != JPKI_OK)
		goto fail;
	svc->rp = o->rp;
	svc->kiosk = o->kiosk;
	/* The first that matches takes the request: a document to verify
	 * may be large, the rest never is. */
	if (o->rp) {
		svc->handlers[svc->nhandlers++] = (struct server_handler){
		    .prefix = "/rp/verify", .body_max = RP_VERIFY_BODY_MAX,
		    .handle = handle, .arg = svc};
		svc->handlers[svc->nhandlers++] = (struct server_handler){
		    .prefix = "/rp/", .body_max = RP_LOGIN_BODY_MAX,
		    .handle = handle, .arg = svc};
	}
	if (o->kiosk)
		svc->handlers[svc->nhandlers++] = (struct server_handler){
		    .prefix = "/kiosk/", .body_max = RP_LOGIN_BODY_MAX,
		    .handle = handle, .arg = svc};
	*out = svc;
	return JPKI_OK;
fail:
	rp_service_free(&svc);
	return r;
}

const struct server_handler *
rp_service_handlers(struct rp_service *svc, size_t *n)
{
	*n = svc->nhandlers;
	return svc->handlers;
}

void
rp_service_free(struct rp_service **sp)
{
	struct rp_service *svc = *sp;

	if (svc == NULL)
		return;
	while (svc->workers != NULL) {
		struct rp_worker *w = svc->workers;

		svc->workers = w->next;
		worker_free(w);
	}
	ca_municipality_close(&svc->muni);
	datadir_close(&svc->kdd);
	pthread_mutex_destroy(&svc->lock);
	free(svc);
	*sp = NULL;
}
