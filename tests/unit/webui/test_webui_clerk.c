/*
 * test_webui_clerk.c: the web UI's clerk accounts (argon2id, lockout,
 * disable, audit) on a real data directory, and the request parsing a
 * session starts from (the Cookie header, static page names), by tables.
 */
#include "webui/webui.h"
#include "support/open_ca.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
test_names_and_passwords(void)
{
	static const struct {
		const char *name;
		int ok;
	} names[] = {
	    {"suzuki", 1}, {"a", 1}, {"clerk-01.tanaka_b", 1},
	    {"", 0}, {"1abc", 0}, {"Suzuki", 0}, {"suzu ki", 0},
	    {"鈴木", 0}, {"a/b", 0}, {"-x", 0},
	    {"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc", 1},
	    {"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd", 0},
	};
	static const struct {
		const char *pw;
		int ok;
	} pws[] = {
	    {"0123456789", 1}, {"correct horse battery", 1}, {"パスワード十文字以上", 1},
	    {"123456789", 0}, {"", 0}, {"tab\there-long", 0},
	};
	enum clerk_role r;

	for (size_t i = 0; i < JPKI_ARRAY_LEN(names); i++)
		CHECK_INT(webui_clerk_name_check(names[i].name) == JPKI_OK,
		    names[i].ok);
	for (size_t i = 0; i < JPKI_ARRAY_LEN(pws); i++)
		CHECK_INT(webui_password_check(pws[i].pw) == JPKI_OK, pws[i].ok);
	CHECK_INT(webui_role_parse("supervisor", &r), JPKI_OK);
	CHECK_INT(r, CLERK_ROLE_SUPERVISOR);
	CHECK(webui_role_parse("root", &r) != JPKI_OK);
	CHECK_STR(webui_role_name(CLERK_ROLE_ADMIN), "admin");
	CHECK(webui_role_name((enum clerk_role)9) == NULL);
	jpki_errclear();
}

static void
test_cookie_and_static(void)
{
	char id[WEBUI_SESSION_ID_HEX + 1], hex[65], header[200];
	const char *type;
	static const struct {
		const char *name;
		int ok;
	} pages[] = {
	    {"index.html", 1}, {"app.js", 1}, {"img/logo.png", 1},
	    {"style.css", 1}, {"../config", 0}, {"a/../b.js", 0},
	    {".hidden.js", 0}, {"/etc/passwd", 0}, {"a//b.js", 0},
	    {"x.pdf", 0}, {"x.db", 0}, {"x", 0}, {"a/.b.js", 0},
	    {"dir/", 0}, {"a%2e%2e.js", 0},
	};

	memset(hex, 'a', 64);
	hex[64] = '\0';
	hex[10] = '7';
	snprintf(header, sizeof(header), "lang=ja; jpki_session=%s; x=y", hex);
	CHECK_INT(webui_cookie_session(header, id), 1);
	CHECK_STR(id, hex);
	snprintf(header, sizeof(header), "jpki_session=%s", hex);
	CHECK_INT(webui_cookie_session(header, id), 1);
	/* Not 64 lowercase hex digits: no session. */
	snprintf(header, sizeof(header), "jpki_session=%.63s", hex);
	CHECK_INT(webui_cookie_session(header, id), 0);
	snprintf(header, sizeof(header), "jpki_session=%sA", hex);
	CHECK_INT(webui_cookie_session(header, id), 0);
	hex[0] = 'A';
	snprintf(header, sizeof(header), "jpki_session=%s", hex);
	CHECK_INT(webui_cookie_session(header, id), 0);
	CHECK_INT(webui_cookie_session("xjpki_session=1", id), 0);
	CHECK_INT(webui_cookie_session(NULL, id), 0);
	CHECK_INT(webui_cookie_session("", id), 0);
	for (size_t i = 0; i < JPKI_ARRAY_LEN(pages); i++)
		CHECK_INT(webui_static_name_ok(pages[i].name, &type),
		    pages[i].ok);
	CHECK(webui_static_name_ok("app.js", &type) &&
	    strncmp(type, "text/javascript", 15) == 0);
}

struct audit_find {
	const char *action, *actor;
	int n;
};

static int
audit_one(void *arg, const struct audit_entry *e)
{
	struct audit_find *f = arg;

	if (strcmp(e->action, f->action) == 0 &&
	    (f->actor == NULL || strcmp(e->actor, f->actor) == 0))
		f->n++;
	return 0;
}

static int
audited(struct datadir *dd, const char *action, const char *actor)
{
	struct audit_find f = {action, actor, 0};

	store_audit_list(datadir_store(dd), 0, 0, audit_one, &f);
	return f.n;
}

static void
test_accounts(const char *dir)
{
	struct datadir *dd = NULL;
	struct clerk c;
	long checked;

	setenv("JPKI_NOW", "2026-04-01T10:00:00+09:00", 1);
	CHECK_INT(datadir_open(dir, DATADIR_READ_WRITE, &dd), JPKI_OK);
	CHECK_INT(webui_clerk_add(dd, "suzuki", CLERK_ROLE_CLERK,
	    "correct-horse-9", "boss"), JPKI_OK);
	CHECK_INT(webui_clerk_add(dd, "suzuki", CLERK_ROLE_CLERK,
	    "correct-horse-9", NULL), JPKI_ERR_CONFLICT);
	CHECK_INT(webui_clerk_add(dd, "yamada", CLERK_ROLE_CLERK, "short",
	    NULL), JPKI_ERR_INPUT);
	CHECK_INT(audited(dd, "clerk.add", "boss"), 1);

	/* Only the argon2id hash is stored. */
	CHECK_INT(store_clerk_get(datadir_store(dd), "suzuki", &c), JPKI_OK);
	CHECK(strncmp(c.pw_hash, "$argon2id$", 10) == 0);
	CHECK(strstr(c.pw_hash, "correct-horse") == NULL);

	CHECK_INT(webui_clerk_authenticate(dd, "suzuki", "correct-horse-9", &c),
	    JPKI_OK);
	CHECK_STR(c.name, "suzuki");
	CHECK_INT(c.role, CLERK_ROLE_CLERK);
	CHECK_INT(c.pw_hash[0], 0);
	CHECK_INT(audited(dd, "clerk.signin", "suzuki"), 1);

	/* Unknown names and wrong passwords answer alike. */
	CHECK_INT(webui_clerk_authenticate(dd, "nobody", "correct-horse-9", &c),
	    JPKI_ERR_VERIFY);
	CHECK_STR(jpki_errmsg(), "sign-in: wrong name or password");
	CHECK_INT(webui_clerk_authenticate(dd, "suzuki", "wrong-horse-9", &c),
	    JPKI_ERR_VERIFY);
	CHECK_STR(jpki_errmsg(), "sign-in: wrong name or password");

	/* Five failures in a row lock; the right password then too. */
	for (int i = 1; i < WEBUI_LOCKOUT_FAILURES; i++)
		CHECK_INT(webui_clerk_authenticate(dd, "suzuki", "wrong-horse-9",
		    &c), JPKI_ERR_VERIFY);
	CHECK_INT(audited(dd, "clerk.locked", "suzuki"), 1);
	CHECK_INT(webui_clerk_authenticate(dd, "suzuki", "correct-horse-9", &c),
	    JPKI_ERR_LOCKED);
	/* Until the lock runs out. */
	setenv("JPKI_NOW", "2026-04-01T10:14:59+09:00", 1);
	CHECK_INT(webui_clerk_authenticate(dd, "suzuki", "correct-horse-9", &c),
	    JPKI_ERR_LOCKED);
	setenv("JPKI_NOW", "2026-04-01T10:15:01+09:00", 1);
	CHECK_INT(webui_clerk_authenticate(dd, "suzuki", "correct-horse-9", &c),
	    JPKI_OK);

	/* A new password lifts a lock and replaces the old one. */
	for (int i = 0; i < WEBUI_LOCKOUT_FAILURES; i++)
		webui_clerk_authenticate(dd, "suzuki", "wrong-horse-9", &c);
	CHECK_INT(webui_clerk_passwd(dd, "suzuki", "new-password-1", "boss"),
	    JPKI_OK);
	CHECK_INT(webui_clerk_authenticate(dd, "suzuki", "correct-horse-9", &c),
	    JPKI_ERR_VERIFY);
	CHECK_INT(webui_clerk_authenticate(dd, "suzuki", "new-password-1", &c),
	    JPKI_OK);

	/* Disabled: refused, with the same words. */
	CHECK_INT(webui_clerk_disable(dd, "suzuki", "boss"), JPKI_OK);
	CHECK_INT(webui_clerk_disable(dd, "suzuki", "boss"), JPKI_ERR_CONFLICT);
	CHECK_INT(webui_clerk_authenticate(dd, "suzuki", "new-password-1", &c),
	    JPKI_ERR_VERIFY);
	CHECK_STR(jpki_errmsg(), "sign-in: wrong name or password");
	CHECK_INT(webui_clerk_disable(dd, "nobody", "boss"), JPKI_ERR_NOTFOUND);

	CHECK_INT(store_audit_verify(datadir_store(dd), &checked), JPKI_OK);
	datadir_close(&dd);
	jpki_errclear();
}

int
main(void)
{
	char dir[] = "/tmp/jpki-test-webui.XXXXXX";
	char cmd[64];

	test_names_and_passwords();
	test_cookie_and_static();
	if (mkdtemp(dir) == NULL)
		return 1;
	setenv("JPKI_NOW", "2026-04-01T10:00:00+09:00", 1);
	CHECK_INT(support_datadir_init(dir, &(struct datadir_init_options){
	    .municipality = "132217", .key_bits = 2048}), JPKI_OK);
	test_accounts(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return test_summary();
}
