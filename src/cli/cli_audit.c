/*
 * cli_audit.c: `jpki audit verify|list`.  verify walks the hash chain and
 * names the first broken entry (exit 1).
 */
#include "cli/cli.h"
#include "ca/ca.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage_text[] =
    "usage: jpki audit verify [--json]\n"
    "       jpki audit list [--after SEQ] [--limit N] [--json]\n"
    "common: --data DIR\n";

enum { O_DATA = 1, O_JSON, O_AFTER, O_LIMIT, O_HELP };

static const struct option opts[] = {
    {"data", required_argument, NULL, O_DATA},
    {"json", no_argument, NULL, O_JSON},
    {"after", required_argument, NULL, O_AFTER},
    {"limit", required_argument, NULL, O_LIMIT},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

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
	int json = 0, c, rc;
	long checked = 0;

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "verify") != 0 && strcmp(argv[1], "list") != 0)
		return cli_usage("jpki audit: unknown subcommand '%s'", argv[1]);
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		switch (c) {
		case O_DATA: data = optarg; break;
		case O_JSON: json = 1; break;
		case O_AFTER:
			if ((rc = cli_parse_i64("--after", optarg, &after)))
				return cli_report(rc);
			break;
		case O_LIMIT:
			if ((rc = cli_parse_i64("--limit", optarg, &limit)))
				return cli_report(rc);
			break;
		case O_HELP: fputs(usage_text, stdout); return 0;
		default: return cli_bad_option(argv + 1);
		}
	}
	if (optind != argc - 1)
		return cli_usage("unexpected argument '%s'", argv[optind + 1]);
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
