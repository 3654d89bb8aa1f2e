/*
 * cli_audit.c: `jpki audit verify|list`.  verify walks the hash chain and
 * names the first broken entry (exit 1).
 */
#include "cli/cli.h"
#include "ca/ca.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static const char usage_text[] =
    "usage: jpki audit verify [--json]\n"
    "       jpki audit list [--after SEQ] [--limit N] [--json]\n"
    "common: --data DIR\n";

static void
hex32(const uint8_t h[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static int
list_one(void *arg, const struct audit_entry *e)
{
	json_t *arr = arg;
	char at[26], hash[65];
	json_t *detail;

	iso8601_format_jst(e->at, at);
	hex32(e->hash, hash);
	if (arr == NULL) {
		printf("%6lld %s %-12s %-16s %-36s %s\n", (long long)e->seq, at,
		    e->actor, e->action, e->subject, e->detail);
		return 0;
	}
	detail = json_loads(e->detail, 0, NULL);
	json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s, s:s, s:o,"
	    " s:s}", "seq", (json_int_t)e->seq, "at", at, "actor", e->actor,
	    "action", e->action, "subject", e->subject, "detail",
	    detail ? detail : json_string(e->detail), "hash", hash));
	return 0;
}

int
cli_audit(int argc, char **argv)
{
	const char *data = NULL;
	long long after = 0, limit = 0;
	struct cli_env env;
	int json = 0, rc;
	long checked = 0;
	const struct cli_opt opts[] = {
	    {"after", CLI_NUMBER, .number = &after, .min = 0,
		.max = LLONG_MAX},
	    {"limit", CLI_POSITIVE, .number = &limit},
	};
	struct cli_command cmd = {.group = "audit", .usage = usage_text,
	    .opts = opts, .nopts = JPKI_ARRAY_LEN(opts), .data = &data,
	    .json = &json};

	if (strcmp(argv[1], "verify") != 0 && strcmp(argv[1], "list") != 0)
		return cli_not_a_subcommand(argv, usage_text);
	if ((rc = cli_parse(&cmd, argc - 1, argv + 1)) != CLI_RUN)
		return rc;
	if ((rc = cli_open(data, CLI_READ, &env)) != 0)
		return rc;
	if (strcmp(argv[1], "verify") == 0) {
		rc = store_audit_verify(datadir_store(env.dd), &checked);
		if (json)
			cli_print_json(json_pack("{s:b, s:i, s:s}", "ok",
			    rc == JPKI_OK, "entries", (int)checked, "error",
			    rc == JPKI_OK ? "" : jpki_errmsg()));
		else if (rc == JPKI_OK)
			printf("audit chain intact: %ld entries\n", checked);
	} else {
		json_t *arr = json ? json_array() : NULL;

		rc = store_audit_list(datadir_store(env.dd), after, (long)limit,
		    list_one, arr);
		if (arr != NULL && rc == JPKI_OK)
			cli_print_json(arr);
		else
			json_decref(arr);
	}
	cli_close(&env);
	return cli_report(rc);
}
