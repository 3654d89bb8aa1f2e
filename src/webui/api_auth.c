/*
 * api_auth.c: sign-in and sign-out, the session, clerk administration
 * and the approvals a second person gives (manual revocation, audit
 * export).
 */
#include "webui/webui_int.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

static void
set_cookie(struct call *k, const char *value, int max_age)
{
	snprintf(k->set_cookie, sizeof(k->set_cookie), "%s=%s; Path=/; "
	    "HttpOnly; SameSite=Strict; Max-Age=%d%s", WEBUI_COOKIE, value,
	    max_age, k->w->https ? "; Secure" : "");
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
	if ((r = webui_clerk_authenticate(k->w->dd, name, password, &c)) !=
	    JPKI_OK) {
		webui_fail(k, r);
		return k->status = r == JPKI_ERR_LOCKED ? MHD_HTTP_LOCKED :
		    r == JPKI_ERR_VERIFY ? MHD_HTTP_UNAUTHORIZED : k->status;
	}
	/* A new id at every sign-in (no fixation); an old cookie's session
	 * ends. */
	webui_session_new(k->w, c.name, c.role, &who);
	set_cookie(k, who.session, (int)k->w->idle_seconds);
	memcpy(k->who.clerk, who.clerk, sizeof(who.clerk));
	return webui_ok(k, session_json(&who, k->w->idle_seconds));
}

unsigned
api_signout(struct call *k)
{
	webui_session_end(k->w, k->who.session);
	set_cookie(k, "", 0);
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

	if ((r = store_clerk_list(datadir_store(k->w->dd), clerk_one, arr))) {
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
	    (r = webui_clerk_add(k->w->dd, webui_str(k, "name"), role,
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
	if ((r = webui_clerk_disable(k->w->dd, name ? name : "",
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

	if ((r = webui_clerk_passwd(k->w->dd, name ? name : "",
	    webui_str(k, "password"), k->who.clerk)) != JPKI_OK)
		return webui_fail(k, r);
	webui_session_end_clerk(k->w, name);
	return webui_ok(k, json_pack("{s:s, s:b}", "clerk", name,
	    "password_set", 1));
}

/* ---- approvals: a second person for manual revocation and export ---- */

static const char *
kind_name(enum approval_kind k)
{
	return k == APPROVAL_REVOKE ? "revoke" : "audit-export";
}

static const char *
state_name(enum approval_state s)
{
	return s == APPROVAL_PENDING ? "pending" : s == APPROVAL_DONE ?
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
	    "s:s, s:s}", "id", (json_int_t)a->id, "kind", kind_name(a->kind),
	    "state", state_name(a->state), "requester", a->requester,
	    "approver", a->approver, "serial", a->serial,
	    "reason", a->kind == APPROVAL_REVOKE ?
	    store_revocation_reason_name(a->reason) : "",
	    "note", a->note, "at", at, "decided_at", decided,
	    "result", a->result);
}

unsigned
api_approvals(struct call *k)
{
	json_t *arr = json_array();

	for (int i = k->w->napprovals - 1; i >= 0; i--)
		json_array_append_new(arr, approval_json(&k->w->approvals[i]));
	return webui_ok(k, json_pack("{s:o}", "approvals", arr));
}

unsigned
api_approval_request(struct call *k)
{
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
		    (r = store_cert_get(datadir_store(k->w->dd), a.serial,
		    &c)) != JPKI_OK)
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
	if (k->w->napprovals == WEBUI_APPROVALS_MAX) {
		/* The oldest decided one makes room. */
		int i;

		for (i = 0; i < k->w->napprovals; i++)
			if (k->w->approvals[i].state != APPROVAL_PENDING)
				break;
		if (i == k->w->napprovals) {
			jpki_fail(JPKI_ERR_CONFLICT, "%d approvals are waiting; "
			    "a supervisor decides some first",
			    WEBUI_APPROVALS_MAX);
			return webui_fail(k, JPKI_ERR_CONFLICT);
		}
		memmove(&k->w->approvals[i], &k->w->approvals[i + 1],
		    (size_t)(k->w->napprovals - i - 1) * sizeof(a));
		k->w->napprovals--;
	}
	a.id = k->w->next_approval++;
	a.state = APPROVAL_PENDING;
	a.at = jpki_now();
	snprintf(a.requester, sizeof(a.requester), "%s", k->who.clerk);
	snprintf(a.note, sizeof(a.note), "%s", note ? note : "");
	if ((r = store_audit_json(datadir_store(k->w->dd), k->who.clerk,
	    "approval.request", kind_name(a.kind), json_pack("{s:I, s:s}",
	    "approval", (json_int_t)a.id, "serial", a.serial))) != JPKI_OK)
		return webui_fail(k, r);
	k->w->approvals[k->w->napprovals++] = a;
	return webui_ok(k, approval_json(&a));
}

static struct approval *
approval_find(struct call *k, int64_t id)
{
	for (int i = 0; i < k->w->napprovals; i++)
		if (k->w->approvals[i].id == id)
			return &k->w->approvals[i];
	jpki_fail(JPKI_ERR_NOTFOUND, "no approval %lld", (long long)id);
	return NULL;
}

/* The pending approval named in the body, decided by someone else. */
static int
decidable(struct call *k, struct approval **out)
{
	int64_t id;
	int r;

	if ((r = webui_id(k, "id", &id)) != JPKI_OK)
		return r;
	if ((*out = approval_find(k, id)) == NULL)
		return JPKI_ERR_NOTFOUND;
	if ((*out)->state != APPROVAL_PENDING)
		return jpki_fail(JPKI_ERR_CONFLICT, "approval %lld is %s "
		    "already", (long long)id, state_name((*out)->state));
	/* Four eyes: the requester never approves their own request. */
	if (strcmp((*out)->requester, k->who.clerk) == 0)
		return jpki_fail(JPKI_ERR_REFUSED, "approval %lld: a second "
		    "person approves, not %s who asked", (long long)id,
		    k->who.clerk);
	return JPKI_OK;
}

unsigned
api_approval_approve(struct call *k)
{
	struct approval *a;
	int r;

	if ((r = decidable(k, &a)) != JPKI_OK)
		return webui_fail(k, r);
	if (a->kind == APPROVAL_REVOKE) {
		char actor[2 * CLERK_NAME_MAX + 2];

		/* The revocation names both: who asked, who approved. */
		snprintf(actor, sizeof(actor), "%s+%s", a->requester,
		    k->who.clerk);
		if ((r = ca_revoke(k->w->ca, a->serial, a->reason, actor)))
			return webui_fail(k, r);
		snprintf(a->result, sizeof(a->result), "certificate %s revoked "
		    "(%s)", a->serial, store_revocation_reason_name(a->reason));
	} else {
		snprintf(a->result, sizeof(a->result), "the audit log may be "
		    "exported once by %s", a->requester);
	}
	if ((r = store_audit_json(datadir_store(k->w->dd), k->who.clerk,
	    "approval.approve", kind_name(a->kind), json_pack("{s:I, s:s, s:s}",
	    "approval", (json_int_t)a->id, "requester", a->requester,
	    "serial", a->serial))) != JPKI_OK)
		return webui_fail(k, r);
	a->state = APPROVAL_DONE;
	a->decided_at = jpki_now();
	snprintf(a->approver, sizeof(a->approver), "%s", k->who.clerk);
	return webui_ok(k, approval_json(a));
}

unsigned
api_approval_reject(struct call *k)
{
	struct approval *a;
	int r;

	if ((r = decidable(k, &a)) != JPKI_OK)
		return webui_fail(k, r);
	if ((r = store_audit_json(datadir_store(k->w->dd), k->who.clerk,
	    "approval.reject", kind_name(a->kind), json_pack("{s:I, s:s}",
	    "approval", (json_int_t)a->id, "requester", a->requester))))
		return webui_fail(k, r);
	a->state = APPROVAL_REJECTED;
	a->decided_at = jpki_now();
	snprintf(a->approver, sizeof(a->approver), "%s", k->who.clerk);
	return webui_ok(k, approval_json(a));
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
 * who asked, after a supervisor approved. */
unsigned
api_approval_export(struct call *k)
{
	struct approval *a;
	json_t *arr;
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
	if ((a = approval_find(k, id)) == NULL)
		return webui_fail(k, JPKI_ERR_NOTFOUND);
	if (a->kind != APPROVAL_AUDIT_EXPORT || a->state != APPROVAL_DONE ||
	    strcmp(a->requester, k->who.clerk) != 0 || a->result[0] == '\0') {
		jpki_fail(JPKI_ERR_REFUSED, "approval %lld: no approved audit "
		    "export of %s waiting", (long long)id, k->who.clerk);
		return webui_fail(k, JPKI_ERR_REFUSED);
	}
	verdict = store_audit_verify(datadir_store(k->w->dd), &checked);
	jpki_errclear();
	arr = json_array();
	if ((r = store_audit_list(datadir_store(k->w->dd), 0, 0, export_one,
	    arr)) != JPKI_OK || (r = store_audit_json(datadir_store(k->w->dd),
	    k->who.clerk, "audit.export", "audit log", json_pack("{s:I, s:s}",
	    "approval", (json_int_t)a->id, "approver", a->approver)))) {
		json_decref(arr);
		return webui_fail(k, r);
	}
	snprintf(a->result, sizeof(a->result), "%s", "");  /* used once */
	return webui_ok(k, json_pack("{s:s, s:I, s:o}", "verdict",
	    verdict == JPKI_OK ? "ok" : "broken", "checked",
	    (json_int_t)checked, "entries", arr));
}
