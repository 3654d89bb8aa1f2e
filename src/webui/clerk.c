/*
 * clerk.c: clerk accounts of the counter's web UI: add, new password,
 * disable, sign-in with lockout.  The password goes into libsodium's
 * argon2id (crypto_pwhash_str_alg) and nowhere else: the store keeps the
 * hash text, the audit log the fact, never the password.
 */
#include "webui/webui.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* argon2id at libsodium's "interactive" cost (64 MiB, 2 passes): a
 * sign-in takes a fraction of a second, an offline guess as long. */
#define PWHASH_OPS crypto_pwhash_OPSLIMIT_INTERACTIVE
#define PWHASH_MEM crypto_pwhash_MEMLIMIT_INTERACTIVE

static const char *const role_names[] = {
    [CLERK_ROLE_CLERK] = "clerk",
    [CLERK_ROLE_SUPERVISOR] = "supervisor",
    [CLERK_ROLE_ADMIN] = "admin",
};

const char *
webui_role_name(enum clerk_role r)
{
	if (r < CLERK_ROLE_CLERK || r > CLERK_ROLE_ADMIN)
		return NULL;
	return role_names[r];
}

int
webui_role_parse(const char *s, enum clerk_role *out)
{
	for (int r = CLERK_ROLE_CLERK; r <= CLERK_ROLE_ADMIN; r++)
		if (s != NULL && strcmp(s, role_names[r]) == 0) {
			*out = (enum clerk_role)r;
			return JPKI_OK;
		}
	return jpki_fail(JPKI_ERR_USAGE, "role: clerk, supervisor or admin "
	    "(got '%.20s')", s ? s : "");
}

int
webui_clerk_name_check(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > CLERK_NAME_MAX || name[0] < 'a' || name[0] > 'z')
		return jpki_fail(JPKI_ERR_INPUT, "clerk name: 1 to %d of a-z, "
		    "0-9, '.', '_', '-', starting with a letter",
		    CLERK_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return jpki_fail(JPKI_ERR_INPUT, "clerk name: 1 to %d of "
			    "a-z, 0-9, '.', '_', '-', starting with a letter",
			    CLERK_NAME_MAX);
	}
	return JPKI_OK;
}

int
webui_password_check(const char *password)
{
	size_t n = password ? strlen(password) : 0;

	if (n < WEBUI_PASSWORD_MIN || n > WEBUI_PASSWORD_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "password: %d to %d characters",
		    WEBUI_PASSWORD_MIN, WEBUI_PASSWORD_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)password[i] < 0x20 || password[i] == 0x7f)
			return jpki_fail(JPKI_ERR_INPUT, "password: no control "
			    "characters");
	return JPKI_OK;
}

static int
sodium_ready(void)
{
	if (sodium_init() < 0)
		return jpki_fail(JPKI_ERR_CRYPTO, "libsodium: initialisation "
		    "failed");
	return JPKI_OK;
}

static int
hash_password(const char *password, char out[CLERK_HASH_MAX + 1])
{
	char h[crypto_pwhash_STRBYTES];
	int r;

	if ((r = sodium_ready()) != JPKI_OK)
		return r;
	if (crypto_pwhash_str_alg(h, password, strlen(password), PWHASH_OPS,
	    PWHASH_MEM, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return jpki_fail(JPKI_ERR_NOMEM, "argon2id: out of memory");
	if (strlen(h) > CLERK_HASH_MAX)
		return jpki_fail(JPKI_ERR_INTERNAL, "argon2id: hash text too "
		    "long");
	snprintf(out, CLERK_HASH_MAX + 1, "%s", h);
	sodium_memzero(h, sizeof(h));
	return JPKI_OK;
}

/* Run change(c) on clerk `name` and record the audit entry, in one
 * transaction. */
static int
clerk_change(struct datadir *dd, const char *name, const char *actor,
    const char *action, int (*change)(struct clerk *, const void *),
    const void *arg)
{
	struct store *s = datadir_store(dd);
	struct clerk c;
	int r;

	if ((r = store_begin(s)) != JPKI_OK)
		return r;
	if ((r = store_clerk_get(s, name, &c)) != JPKI_OK ||
	    (r = change(&c, arg)) != JPKI_OK)
		goto fail;
	c.updated_at = jpki_now();
	if ((r = store_clerk_update(s, &c)) != JPKI_OK ||
	    (r = store_audit_json(s, actor, action, c.name,
	    json_pack("{s:s}", "role", webui_role_name(c.role)))) != JPKI_OK ||
	    (r = store_commit(s)) != JPKI_OK)
		goto fail;
	sodium_memzero(&c, sizeof(c));
	return JPKI_OK;
fail:
	store_rollback(s);
	sodium_memzero(&c, sizeof(c));
	return r;
}

int
webui_clerk_add(struct datadir *dd, const char *name, enum clerk_role role,
    const char *password, const char *actor)
{
	struct store *s = datadir_store(dd);
	struct clerk c;
	int r;

	if ((r = webui_clerk_name_check(name)) != JPKI_OK ||
	    webui_role_name(role) == NULL ||
	    (r = webui_password_check(password)) != JPKI_OK)
		return r ? r : jpki_fail(JPKI_ERR_INPUT, "clerk role: unknown");
	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "%s", name);
	c.role = role;
	c.created_at = c.updated_at = jpki_now();
	/* The slow hash before the transaction: no store lock held. */
	if ((r = hash_password(password, c.pw_hash)) != JPKI_OK)
		return r;
	if ((r = store_begin(s)) != JPKI_OK)
		goto out;
	if ((r = store_clerk_insert(s, &c)) != JPKI_OK ||
	    (r = store_audit_json(s, actor, "clerk.add", c.name,
	    json_pack("{s:s}", "role", webui_role_name(role)))) != JPKI_OK ||
	    (r = store_commit(s)) != JPKI_OK)
		store_rollback(s);
out:
	sodium_memzero(&c, sizeof(c));
	return r;
}

static int
set_hash(struct clerk *c, const void *arg)
{
	snprintf(c->pw_hash, sizeof(c->pw_hash), "%s", (const char *)arg);
	c->failures = 0;
	c->locked_until = 0;
	return JPKI_OK;
}

int
webui_clerk_passwd(struct datadir *dd, const char *name, const char *password,
    const char *actor)
{
	char h[CLERK_HASH_MAX + 1];
	int r;

	if ((r = webui_password_check(password)) != JPKI_OK ||
	    (r = hash_password(password, h)) != JPKI_OK)
		return r;
	r = clerk_change(dd, name, actor, "clerk.passwd", set_hash, h);
	sodium_memzero(h, sizeof(h));
	return r;
}

static int
set_disabled(struct clerk *c, const void *arg)
{
	(void)arg;
	if (c->disabled)
		return jpki_fail(JPKI_ERR_CONFLICT, "clerk %s is disabled "
		    "already", c->name);
	c->disabled = 1;
	return JPKI_OK;
}

int
webui_clerk_disable(struct datadir *dd, const char *name, const char *actor)
{
	return clerk_change(dd, name, actor, "clerk.disable", set_disabled, NULL);
}

/* A hash to verify against when the name is unknown, so that the answer
 * takes as long as for a known name; made once, by the first sign-in. */
static char decoy[CLERK_HASH_MAX + 1];
static int decoy_made;

static void
decoy_make(void)
{
	decoy_made = hash_password("decoy password, never valid", decoy) ==
	    JPKI_OK;
}

static int
decoy_hash(char out[CLERK_HASH_MAX + 1])
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, decoy_make);
	if (!decoy_made)
		return jpki_fail(JPKI_ERR_NOMEM, "argon2id: out of memory");
	memcpy(out, decoy, sizeof(decoy));
	return JPKI_OK;
}

/* Record a failure (and a lockout) in its own transaction, counted on
 * the row as it is inside it: two failures at once are two. */
static int
signin_failed(struct store *s, const char *name, int64_t now)
{
	struct clerk c;
	int r;

	if ((r = store_begin(s)) != JPKI_OK)
		return r;
	if ((r = store_clerk_get(s, name, &c)) != JPKI_OK)
		goto fail;
	if (c.locked_until != 0 && c.locked_until <= now) {
		c.locked_until = 0;         /* the lockout ran out */
		c.failures = 0;
	}
	c.failures++;
	if (c.failures >= WEBUI_LOCKOUT_FAILURES && c.locked_until <= now)
		c.locked_until = now + WEBUI_LOCKOUT_SECONDS;
	c.updated_at = now;
	if ((r = store_clerk_update(s, &c)) != JPKI_OK ||
	    (r = store_audit_json(s, c.name, "clerk.signin-failed", c.name,
	    json_pack("{s:i}", "failures", c.failures))) != JPKI_OK ||
	    (c.failures == WEBUI_LOCKOUT_FAILURES &&
	    (r = store_audit_json(s, c.name, "clerk.locked", c.name,
	    json_pack("{s:I}", "seconds", (json_int_t)WEBUI_LOCKOUT_SECONDS))) !=
	    JPKI_OK) || (r = store_commit(s)) != JPKI_OK)
		goto fail;
	sodium_memzero(&c, sizeof(c));
	return JPKI_OK;
fail:
	store_rollback(s);
	sodium_memzero(&c, sizeof(c));
	return r;
}

static int
bad_signin(void)
{
	return jpki_fail(JPKI_ERR_VERIFY, "sign-in: wrong name or password");
}

int
webui_clerk_authenticate(struct datadir *dd, const char *name,
    const char *password, struct clerk *out)
{
	struct store *s = datadir_store(dd);
	int64_t now = jpki_now();
	char h[CLERK_HASH_MAX + 1];
	struct clerk c;
	int r, known, ok;

	memset(out, 0, sizeof(*out));
	if ((r = sodium_ready()) != JPKI_OK)
		return r;
	if (password == NULL || strlen(password) > WEBUI_PASSWORD_MAX)
		return bad_signin();
	known = webui_clerk_name_check(name) == JPKI_OK &&
	    store_clerk_get(s, name, &c) == JPKI_OK;
	jpki_errclear();
	if (!known) {
		/* Unknown names are audited without the name: a password typed
		 * into the name field must not land in the log. */
		if ((r = decoy_hash(h)) != JPKI_OK)
			return r;
		if (crypto_pwhash_str_verify(h, password, strlen(password)) ==
		    0)
			return jpki_fail(JPKI_ERR_INTERNAL, "sign-in: decoy");
		if ((r = store_audit_json(s, NULL, "clerk.signin-failed",
		    "unknown clerk", json_object())) != JPKI_OK)
			return r;
		return bad_signin();
	}
	if (c.locked_until > now) {
		char until[32];

		iso8601_format_jst(c.locked_until, until);
		sodium_memzero(&c, sizeof(c));
		return jpki_fail(JPKI_ERR_LOCKED, "sign-in: locked after %d "
		    "failed attempts until %s; an administrator can set a new "
		    "password", WEBUI_LOCKOUT_FAILURES, until);
	}
	ok = crypto_pwhash_str_verify(c.pw_hash, password,
	    strlen(password)) == 0;
	if (!ok || c.disabled) {
		r = signin_failed(s, c.name, now);
		sodium_memzero(&c, sizeof(c));
		return r != JPKI_OK ? r : bad_signin();
	}
	/* Right password: read the row again in the transaction (a lockout
	 * another attempt set meanwhile still holds). */
	if ((r = store_begin(s)) != JPKI_OK)
		goto out;
	if ((r = store_clerk_get(s, name, &c)) != JPKI_OK) {
		store_rollback(s);
		goto out;
	}
	if (c.locked_until > now || c.disabled) {
		store_rollback(s);
		r = c.disabled ? bad_signin() : jpki_fail(JPKI_ERR_LOCKED,
		    "sign-in: locked after %d failed attempts",
		    WEBUI_LOCKOUT_FAILURES);
		goto out;
	}
	c.failures = 0;
	c.locked_until = 0;
	c.last_login = c.updated_at = now;
	if ((r = store_clerk_update(s, &c)) != JPKI_OK ||
	    (r = store_audit_json(s, c.name, "clerk.signin", c.name,
	    json_pack("{s:s}", "role", webui_role_name(c.role)))) != JPKI_OK ||
	    (r = store_commit(s)) != JPKI_OK) {
		store_rollback(s);
		goto out;
	}
	*out = c;
	memset(out->pw_hash, 0, sizeof(out->pw_hash));
out:
	sodium_memzero(&c, sizeof(c));
	return r;
}
