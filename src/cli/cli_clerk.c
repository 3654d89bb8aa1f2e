/*
 * cli_clerk.c: `jpki clerk`, the accounts of the counter's web UI
 * (`jpki counter serve`, src/webui).
 *
 *   add NAME --role clerk|supervisor|admin
 *   passwd NAME           a new password; clears a lockout
 *   disable NAME          no more sign-ins; history kept
 *   list                  names, roles, state
 *
 * Passwords come from JPKI_CLERK_PASSWORD or a no-echo prompt (asked
 * twice), never from the command line.  The audit entries name the
 * operator (--actor NAME, default "operator") as who made the change.
 */
#include "cli/cli.h"
#include "webui/webui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: jpki clerk add NAME --role clerk|supervisor|admin [--actor NAME]\n"
    "       jpki clerk passwd NAME [--actor NAME]\n"
    "       jpki clerk disable NAME [--actor NAME]\n"
    "       jpki clerk list [--json]\n"
    "password: JPKI_CLERK_PASSWORD or a no-echo prompt\n"
    "common: --data DIR\n";

#define PASSWORD_INPUT_MAX (WEBUI_PASSWORD_MAX + 2)

/* The new password, twice when typed at a prompt. */
static int
read_password(char *buf, size_t n)
{
	char again[PASSWORD_INPUT_MAX];
	int r;

	if ((r = cli_read_secret("JPKI_CLERK_PASSWORD", "New clerk password: ",
	    buf, n)) != JPKI_OK)
		return r;
	if ((r = webui_password_check(buf)) != JPKI_OK ||
	    getenv("JPKI_CLERK_PASSWORD") != NULL)
		return r;
	if ((r = cli_read_secret(NULL, "Again: ", again, sizeof(again))) ==
	    JPKI_OK && strcmp(again, buf) != 0)
		r = jpki_fail(JPKI_ERR_INPUT, "the two passwords differ");
	jpki_wipe(again, sizeof(again));
	return r;
}

static int
list_one(void *arg, const struct clerk *c)
{
	json_t *arr = arg;
	int64_t now = jpki_now();
	const char *state = c->disabled ? "disabled" :
	    c->locked_until > now ? "locked" : "active";
	char last[32] = "-";

	if (c->last_login != 0)
		iso8601_format_jst(c->last_login, last);
	if (arr != NULL)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}",
		    "name", c->name, "role", webui_role_name(c->role),
		    "state", state, "last_signin", last));
	else
		printf("%-20s %-10s %-8s %s\n", c->name,
		    webui_role_name(c->role), state, last);
	return 0;
}

int
cli_clerk(int argc, char **argv)
{
	const char *data = NULL, *role = NULL, *actor = NULL, *name = NULL;
	char password[PASSWORD_INPUT_MAX] = "";
	enum clerk_role rl = CLERK_ROLE_CLERK;
	struct cli_env env;
	int json = 0, r, add, passwd, disable, list;
	const struct cli_opt opts[] = {
	    {"role", CLI_VALUE, .value = &role},
	    {"actor", CLI_VALUE, .value = &actor},
	};
	struct cli_command cmd = {.group = "clerk", .usage = usage_text,
	    .opts = opts, .nopts = JPKI_ARRAY_LEN(opts), .data = &data,
	    .json = &json, .pos = &name, .max_pos = 1};

	add = strcmp(argv[1], "add") == 0;
	passwd = strcmp(argv[1], "passwd") == 0;
	disable = strcmp(argv[1], "disable") == 0;
	list = strcmp(argv[1], "list") == 0;
	if (!add && !passwd && !disable && !list)
		return cli_not_a_subcommand(argv, usage_text);
	if ((r = cli_parse(&cmd, argc - 1, argv + 1)) != CLI_RUN)
		return r;
	if (list && name != NULL)
		return cli_usage("clerk list takes no NAME");
	if (!list && name == NULL)
		return cli_usage("clerk %s needs NAME", argv[1]);
	if (add && role == NULL)
		return cli_usage("clerk add needs --role clerk|supervisor|admin");
	if (!add && role != NULL)
		return cli_usage("clerk %s takes no --role", argv[1]);
	if (role != NULL && (r = webui_role_parse(role, &rl)) != JPKI_OK)
		return cli_report(r);
	if (!list && (r = webui_clerk_name_check(name)) != JPKI_OK)
		return cli_report(r);
	if ((add || passwd) &&
	    (r = read_password(password, sizeof(password))) != JPKI_OK) {
		jpki_wipe(password, sizeof(password));
		return cli_report(r);
	}
	if ((r = cli_open(data, list ? CLI_READ : CLI_WRITE, &env)) != 0) {
		jpki_wipe(password, sizeof(password));
		return r;
	}
	if (add)
		r = webui_clerk_add(env.dd, name, rl, password, actor);
	else if (passwd)
		r = webui_clerk_passwd(env.dd, name, password, actor);
	else if (disable)
		r = webui_clerk_disable(env.dd, name, actor);
	else {
		json_t *arr = json ? json_array() : NULL;

		r = store_clerk_list(datadir_store(env.dd), list_one, arr);
		if (r == JPKI_OK && arr != NULL)
			cli_print_json(arr);
		else
			json_decref(arr);
	}
	jpki_wipe(password, sizeof(password));
	cli_close(&env);
	if (r == JPKI_OK && !list) {
		if (json)
			cli_print_json(json_pack("{s:s, s:s}", "clerk", name,
			    "done", argv[1]));
		else
			printf("clerk %s: %s\n", name, add ? "added" : passwd ?
			    "new password set" : "disabled");
	}
	return cli_report(r);
}
