/*
 * api_auth.c: sign-in and sign-out, the session, clerk administration
 * and the approvals a second person gives (manual revocation, audit
 * export).
 */
#include "webui/webui_int.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

/* A session cookie (no Max-Age: the browser keeps it until it closes;
 * the server ends the session when it is idle), or its removal. */
static void
set_cookie(struct call *k, const char *value, int remove)
{
	snprintf(k->set_cookie, sizeof(k->set_cookie), "%s=%s; Path=/; "
	    "HttpOnly; SameSite=Strict%s%s", WEBUI_COOKIE, value,
	    remove ? "; Max-Age=0" : "", k->w->https ? "; Secure" : "");
}

static json_t *
session_json(const struct who *who, unsigned idle)
{
	return json_pack("{s:s, s:s, s:s, s:i}", "clerk", who->clerk, "role",
	    webui_role_name(who->role), "csrf", who->csrf, "idle_seconds",
	    (int)idle);
}

unsigned
api_signin(struct call *k)
{
	const char *name = webui_str(k, "username"),
	    *password = webui_str(k, "password");
	struct clerk c;
	struct who who;
	int r;

	if (name == NULL || password == NULL) {
		jpki_fail(JPKI_ERR_INPUT, "sign-in: username and password are "
		    "needed");
		return webui_fail(k, JPKI_ERR_INPUT);
	}
	if ((r = webui_clerk_authenticate(k->dd, name, password, &c)) !=
	    JPKI_OK) {
		webui_fail(k, r);
		return k->status = r == JPKI_ERR_LOCKED ? MHD_HTTP_LOCKED :
		    r == JPKI_ERR_VERIFY ? MHD_HTTP_UNAUTHORIZED : k->status;
	}
	/* A new id at every sign-in (no fixation); an old cookie's session
	 * ends. */
	if (k->who.session[0] != '\0')
		webui_session_end(k->w, k->who.session);
	webui_session_new(k->w, c.name, c.role, &who);
	set_cookie(k, who.session, 0);
	memcpy(k->who.clerk, who.clerk, sizeof(who.clerk));
	return webui_ok(k, session_json(&who, k->w->idle_seconds));
}

unsigned
api_signout(struct call *k)
{
	webui_session_end(k->w, k->who.session);
	set_cookie(k, "", 1);
	return webui_ok(k, json_pack("{s:b}", "signed_out", 1));
}

unsigned
api_session(struct call *k)
{
	return webui_ok(k, session_json(&k->who, k->w->idle_seconds));
}

/* ---- clerk administration (admin) ---- */

static int
clerk_one(void *arg, const struct clerk *c)
{
	int64_t now = jpki_now();
	char last[32] = "";

	if (c->last_login != 0)
		iso8601_format_jst(c->last_login, last);
	json_array_append_new(arg, json_pack("{s:s, s:s, s:s, s:s, s:i}",
	    "name", c->name, "role", webui_role_name(c->role), "state",
	    c->disabled ? "disabled" : c->locked_until > now ? "locked" :
	    "active", "last_signin", last, "failures", c->failures));
	return 0;
}

unsigned
api_clerks(struct call *k)
{
	json_t *arr = json_array();
	int r;

	if ((r = store_clerk_list(datadir_store(k->dd), clerk_one, arr))) {
		json_decref(arr);
		return webui_fail(k, r);
	}
	return webui_ok(k, json_pack("{s:o}", "clerks", arr));
}

unsigned
api_clerk_add(struct call *k)
{
	enum clerk_role role;
	int r;

	if ((r = webui_role_parse(webui_str(k, "role"), &role)) != JPKI_OK ||
	    (r = webui_clerk_add(k->dd, webui_str(k, "name"), role,
	    webui_str(k, "password"), k->who.clerk)) != JPKI_OK)
		return webui_fail(k, r);
	return webui_ok(k, json_pack("{s:s, s:s}", "clerk", webui_str(k,
	    "name"), "role", webui_role_name(role)));
}

unsigned
api_clerk_disable(struct call *k)
{
	const char *name = webui_str(k, "name");
	int r;

	if (name != NULL && strcmp(name, k->who.clerk) == 0) {
		jpki_fail(JPKI_ERR_REFUSED, "an administrator cannot disable "
		    "their own account");
		return webui_fail(k, JPKI_ERR_REFUSED);
	}
	if ((r = webui_clerk_disable(k->dd, name ? name : "",
	    k->who.clerk)) != JPKI_OK)
		return webui_fail(k, r);
	webui_session_end_clerk(k->w, name);
	return webui_ok(k, json_pack("{s:s, s:s}", "clerk", name, "state",
	    "disabled"));
}

unsigned
api_clerk_passwd(struct call *k)
{
	const char *name = webui_str(k, "name");
	int r;

	if ((r = webui_clerk_passwd(k->dd, name ? name : "",
	    webui_str(k, "password"), k->who.clerk)) != JPKI_OK)
		return webui_fail(k, r);
	webui_session_end_clerk(k->w, name);
	return webui_ok(k, json_pack("{s:s, s:b}", "clerk", name,
	    "password_set", 1));
}

/* ---- approvals: a second person for manual revocation and export ----
 *
 * Kept in the store (table approvals): a request survives a restart, and
 * each decision lands in one transaction with what it does (the
 * revocation) and its audit entry. */

static const char *
kind_name(enum approval_kind k)
{
	return k == APPROVAL_REVOKE ? "revoke" : "audit-export";
}

static const char *
state_name(enum approval_state s)
{
	return s == APPROVAL_PENDING ? "pending" : s == APPROVAL_APPROVED ?
	    "approved" : "rejected";
}

static json_t *
approval_json(const struct approval *a)
{
	char at[32], decided[32] = "";

	iso8601_format_jst(a->at, at);
	if (a->decided_at != 0)
		iso8601_format_jst(a->decided_at, decided);
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
	    "s:s, s:b}", "id", (json_int_t)a->id, "kind", kind_name(a->kind),
	    "state", state_name(a->state), "requester", a->requester,
	    "approver", a->approver, "serial", a->serial,
	    "reason", a->kind == APPROVAL_REVOKE ?
	    store_revocation_reason_name(a->reason) : "",
	    "note", a->note, "at", at, "decided_at", decided,
	    "exported", a->exported);
}

static int
approval_one(void *arg, const struct approval *a)
{
	json_array_append_new(arg, approval_json(a));
	return 0;
}

unsigned
api_approvals(struct call *k)
{
	json_t *arr = json_array();
	int r;

	if ((r = store_approval_list(datadir_store(k->dd),
	    WEBUI_APPROVALS_SHOWN, approval_one, arr)) != JPKI_OK) {
		json_decref(arr);
		return webui_fail(k, r);
	}
	return webui_ok(k, json_pack("{s:o}", "approvals", arr));
}

unsigned
api_approval_request(struct call *k)
{
	struct store *s = datadir_store(k->dd);
	const char *kind = webui_str(k, "kind"), *note = webui_str(k, "note");
	struct approval a;
	struct cert_record c;
	int r;

	memset(&a, 0, sizeof(a));
	if (kind != NULL && strcmp(kind, "revoke") == 0) {
		const char *reason = webui_str(k, "reason");

		a.kind = APPROVAL_REVOKE;
		if ((r = ca_serial_normalise(webui_str(k, "serial") ?
		    webui_str(k, "serial") : "", a.serial)) != JPKI_OK ||
		    (r = store_revocation_reason_parse(reason ? reason :
		    "unspecified", &a.reason)) != JPKI_OK ||
		    (r = store_cert_get(s, a.serial, &c)) != JPKI_OK)
			return webui_fail(k, r);
		r = c.status == CERT_STATUS_REVOKED;
		store_cert_free(&c);
		if (r) {
			jpki_fail(JPKI_ERR_CONFLICT, "certificate %s is revoked "
			    "already", a.serial);
			return webui_fail(k, JPKI_ERR_CONFLICT);
		}
	} else if (kind != NULL && strcmp(kind, "audit-export") == 0) {
		a.kind = APPROVAL_AUDIT_EXPORT;
	} else {
		jpki_fail(JPKI_ERR_INPUT, "kind: revoke or audit-export");
		return webui_fail(k, JPKI_ERR_INPUT);
	}
	if (note != NULL && (strlen(note) > APPROVAL_NOTE_MAX ||
	    !utf8_valid_line(note, strlen(note)))) {
		jpki_fail(JPKI_ERR_INPUT, "note: one line of at most %d bytes",
		    APPROVAL_NOTE_MAX);
		return webui_fail(k, JPKI_ERR_INPUT);
	}
	a.state = APPROVAL_PENDING;
	a.at = jpki_now();
	snprintf(a.requester, sizeof(a.requester), "%s", k->who.clerk);
	snprintf(a.note, sizeof(a.note), "%s", note ? note : "");
	if ((r = store_begin(s)) != JPKI_OK)
		return webui_fail(k, r);
	if ((r = store_approval_insert(s, &a)) != JPKI_OK ||
	    (r = store_audit_json(s, k->who.clerk, "approval.request",
	    kind_name(a.kind), json_pack("{s:I, s:s}", "approval",
	    (json_int_t)a.id, "serial", a.serial))) != JPKI_OK ||
	    (r = store_commit(s)) != JPKI_OK) {
		store_rollback(s);
		return webui_fail(k, r);
	}
	return webui_ok(k, approval_json(&a));
}

/* Inside the caller's transaction: the pending approval named in the
 * body, to be decided by someone else. */
static int
decidable(struct call *k, struct approval *a)
{
	int64_t id;
	int r;

	if ((r = webui_id(k, "id", &id)) != JPKI_OK ||
	    (r = store_approval_get(datadir_store(k->dd), id, a)))
		return r;
	if (a->state != APPROVAL_PENDING)
		return jpki_fail(JPKI_ERR_CONFLICT, "approval %lld is %s "
		    "already", (long long)id, state_name(a->state));
	/* Four eyes: the requester never decides their own request. */
	if (strcmp(a->requester, k->who.clerk) == 0)
		return jpki_fail(JPKI_ERR_REFUSED, "approval %lld: a second "
		    "person decides, not %s who asked", (long long)id,
		    k->who.clerk);
	return JPKI_OK;
}

static unsigned
decide(struct call *k, int approve)
{
	struct store *s = datadir_store(k->dd);
	struct approval a;
	char actor[2 * CLERK_NAME_MAX + 2];
	int r;

	if ((r = store_begin(s)) != JPKI_OK)
		return webui_fail(k, r);
	if ((r = decidable(k, &a)) != JPKI_OK)
		goto fail;
	/* The revocation names both: who asked, who approved. */
	snprintf(actor, sizeof(actor), "%s+%s", a.requester, k->who.clerk);
	if (approve && a.kind == APPROVAL_REVOKE &&
	    (r = ca_revoke_in_tx(k->ca, a.serial, a.reason, actor)))
		goto fail;
	a.state = approve ? APPROVAL_APPROVED : APPROVAL_REJECTED;
	a.decided_at = jpki_now();
	snprintf(a.approver, sizeof(a.approver), "%s", k->who.clerk);
	if ((r = store_approval_update(s, &a)) != JPKI_OK ||
	    (r = store_audit_json(s, k->who.clerk, approve ?
	    "approval.approve" : "approval.reject", kind_name(a.kind),
	    json_pack("{s:I, s:s, s:s}", "approval", (json_int_t)a.id,
	    "requester", a.requester, "serial", a.serial))) != JPKI_OK ||
	    (r = store_commit(s)) != JPKI_OK)
		goto fail;
	return webui_ok(k, approval_json(&a));
fail:
	store_rollback(s);
	return webui_fail(k, r);
}

unsigned
api_approval_approve(struct call *k)
{
	return decide(k, 1);
}

unsigned
api_approval_reject(struct call *k)
{
	return decide(k, 0);
}

static int
export_one(void *arg, const struct audit_entry *e)
{
	char at[32], hash[65];
	json_t *detail = json_loads(e->detail, 0, NULL);

	iso8601_format_jst(e->at, at);
	for (int i = 0; i < 32; i++)
		snprintf(hash + 2 * i, 3, "%02x", e->hash[i]);
	json_array_append_new(arg, json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, "
	    "s:s}", "seq", (json_int_t)e->seq, "at", at, "actor", e->actor,
	    "action", e->action, "subject", e->subject, "detail",
	    detail ? detail : json_string(e->detail), "hash", hash));
	return 0;
}

/* GET /api/approvals/export/<id>: the whole audit log, once, to the clerk
 * who asked, after a second person approved. */
unsigned
api_approval_export(struct call *k)
{
	struct store *s = datadir_store(k->dd);
	struct approval a;
	json_t *arr = NULL;
	long checked = 0;
	int64_t id = 0;
	int r, verdict;

	for (const char *p = k->tail; *p; p++) {
		if (*p < '0' || *p > '9' || id > INT64_MAX / 10 - 10) {
			jpki_fail(JPKI_ERR_INPUT, "approval: not a number");
			return webui_fail(k, JPKI_ERR_INPUT);
		}
		id = id * 10 + (*p - '0');
	}
	if ((r = store_begin(s)) != JPKI_OK)
		return webui_fail(k, r);
	if ((r = store_approval_get(s, id, &a)) != JPKI_OK)
		goto fail;
	if (a.kind != APPROVAL_AUDIT_EXPORT || a.state != APPROVAL_APPROVED ||
	    strcmp(a.requester, k->who.clerk) != 0 || a.exported) {
		r = jpki_fail(JPKI_ERR_REFUSED, "approval %lld: no approved "
		    "audit export of %s waiting", (long long)id, k->who.clerk);
		goto fail;
	}
	verdict = store_audit_verify(s, &checked);
	jpki_errclear();
	arr = json_array();
	a.exported = 1;
	if ((r = store_audit_list(s, 0, 0, export_one, arr)) != JPKI_OK ||
	    (r = store_approval_update(s, &a)) != JPKI_OK ||
	    (r = store_audit_json(s, k->who.clerk, "audit.export", "audit log",
	    json_pack("{s:I, s:s, s:I}", "approval", (json_int_t)a.id,
	    "approver", a.approver, "entries", (json_int_t)checked))) ||
	    (r = store_commit(s)) != JPKI_OK)
		goto fail;
	return webui_ok(k, json_pack("{s:s, s:I, s:o}", "verdict",
	    verdict == JPKI_OK ? "ok" : "broken", "checked",
	    (json_int_t)checked, "entries", arr));
fail:
	store_rollback(s);
	json_decref(arr);
	return webui_fail(k, r);
}
