/*
 * cli_audit.c: `jpki audit verify|list`.  verify walks the hash chain and
 * names the first broken entry (exit 1).
 */
#include "cli/cli.h"
#include "ca/ca.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: jpki audit verify [--checkpoint FILE [--checkpoint-key FILE]]"
    " [--json]\n"
    "       jpki audit list [--after SEQ] [--limit N] [--json]\n"
    "       jpki audit checkpoint [--json]\n"
    "       verify: the chain, against the newest checkpoint (default: the\n"
    "       config's checkpoints file, if there is one), and the store's\n"
    "       certificates and revocations against the log\n"
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
	const char *data = NULL, *cp = NULL, *cp_key = NULL;
	long long after = 0, limit = 0;
	struct cli_env env;
	int json = 0, rc;
	long checked = 0;
	const struct cli_opt opts[] = {
	    {"after", CLI_NUMBER, .number = &after, .min = 0,
		.max = LLONG_MAX},
	    {"limit", CLI_POSITIVE, .number = &limit},
	    {"checkpoint", CLI_VALUE, .value = &cp},
	    {"checkpoint-key", CLI_VALUE, .value = &cp_key},
	};
	struct cli_command cmd = {.group = "audit", .usage = usage_text,
	    .opts = opts, .nopts = JPKI_ARRAY_LEN(opts), .data = &data,
	    .json = &json};

	if (strcmp(argv[1], "verify") != 0 && strcmp(argv[1], "list") != 0 &&
	    strcmp(argv[1], "checkpoint") != 0)
		return cli_not_a_subcommand(argv, usage_text);
	if ((rc = cli_parse(&cmd, argc - 1, argv + 1)) != CLI_RUN)
		return rc;
	if (strcmp(argv[1], "verify") != 0 && (cp != NULL || cp_key != NULL))
		return cli_usage("audit %s takes no --checkpoint", argv[1]);
	if (strcmp(argv[1], "list") != 0 && (after != 0 || limit != 0))
		return cli_usage("audit %s takes no --after or --limit",
		    argv[1]);
	if (cp_key != NULL && cp == NULL)
		return cli_usage("--checkpoint-key goes with --checkpoint");
	if ((rc = cli_open(data, CLI_READ, &env)) != 0)
		return rc;
	if (strcmp(argv[1], "checkpoint") == 0) {
		char line[CA_CHECKPOINT_LINE_MAX];
		int made = 0;

		rc = ca_audit_checkpoint(env.dd, line, sizeof(line), &made);
		if (rc == JPKI_OK && json)
			cli_print_json(json_pack("{s:b, s:s}", "new", made,
			    "checkpoint", line));
		else if (rc == JPKI_OK)
			printf("%s\n", line[0] ? line : "no audit entries yet");
	} else if (strcmp(argv[1], "verify") == 0) {
		struct ca_audit_report rep;
		char path[JPKI_PATH_MAX], at[26] = "";

		/* The config's checkpoints file when it exists. */
		if (cp == NULL && ca_checkpoint_path(env.dd, path,
		    sizeof(path)) == JPKI_OK && access(path, R_OK) == 0)
			cp = path;
		rc = ca_audit_verify(datadir_store(env.dd), cp, cp_key, &rep);
		checked = rep.entries;
		if (rep.checkpoints > 0)
			iso8601_format_jst(rep.checkpoint_time, at);
		if (json)
			cli_print_json(json_pack("{s:b, s:i, s:i, s:I, s:s, s:i, "
			    "s:i, s:s}", "ok", rc == JPKI_OK, "entries",
			    (int)checked, "checkpoints", (int)rep.checkpoints,
			    "checkpoint_seq", (json_int_t)rep.checkpoint_seq,
			    "checkpoint_at", at, "certificates",
			    (int)rep.certs, "revocations",
			    (int)rep.revocations, "error",
			    rc == JPKI_OK ? "" : jpki_errmsg()));
		else if (rc == JPKI_OK && rep.checkpoints > 0)
			printf("audit chain intact: %ld entries; matches %ld "
			    "checkpoints, the newest at entry %lld signed %s; "
			    "%ld certificates and %ld revocations match the "
			    "log\n", checked, rep.checkpoints,
			    (long long)rep.checkpoint_seq, at, rep.certs,
			    rep.revocations);
		else if (rc == JPKI_OK)
			printf("audit chain intact: %ld entries (no checkpoint "
			    "to check against); %ld certificates and %ld "
			    "revocations match the log\n", checked, rep.certs,
			    rep.revocations);
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
