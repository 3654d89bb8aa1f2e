/*
 * cli_crl.c: `jpki crl generate`: publish the CRLs of the CAs — one per
 * shard, named in the certificates' CRL distribution points, and a full one
 * per CA — under <data>/crl/<sign|auth>/ (or --out DIR), where a web server
 * can serve them at the URIs the certificates carry.  Every generation of
 * a CA still in service (one that issues, or whose certificates have not
 * all expired) publishes its own, under <sign|auth>.gen<N>/ from
 * generation 2 on.
 */
#include "cli/cli.h"
#include "ca/ca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: jpki crl generate [--type sign|auth] [--shard N | --full]\n"
    "                         [--out DIR] [--json]\n"
    "  Without --type: both CAs.  Without --shard or --full: every shard\n"
    "  and the full CRL.  Files: DIR/<sign|auth>/<shard>.crl, full.crl\n"
    "  (DIR defaults to <data>/crl); generation N >= 2 of a CA (after a\n"
    "  rollover): DIR/<sign|auth>.genN/.  Every generation in service.\n"
    "common: --data DIR\n";

static json_t *
result_json(const struct ca_crl_result *r)
{
	char tu[26], nu[26];
	json_t *o;

	iso8601_format_jst(r->this_update, tu);
	iso8601_format_jst(r->next_update, nu);
	o = json_pack("{s:s, s:i, s:I, s:I, s:s, s:s, s:s}", "type",
	    rules_cert_type_name(r->type), "generation", r->gen,
	    "number", (json_int_t)r->number,
	    "entries", (json_int_t)r->entries, "this_update", tu,
	    "next_update", nu, "path", r->path);
	json_object_set_new(o, "shard", r->shard == CA_CRL_FULL ?
	    json_string("full") : json_integer(r->shard));
	return o;
}

static int
generate(int argc, char **argv)
{
	const char *data = NULL, *type = NULL, *out = NULL;
	long long shard = -2;
	int json = 0, full = 0, r = JPKI_OK;
	enum cert_type types[2];
	size_t ntypes = 0;
	struct cli_env env;
	json_t *arr = NULL;
	const struct cli_opt opts[] = {
	    {"type", CLI_VALUE, .value = &type},
	    {"shard", CLI_NUMBER, .number = &shard, .min = 0, .max = 65535},
	    {"full", CLI_FLAG, .flag = &full},
	    {"out", CLI_VALUE, .value = &out},
	};
	struct cli_command cmd = {.group = "crl", .usage = usage_text,
	    .opts = opts, .nopts = JPKI_ARRAY_LEN(opts), .data = &data,
	    .json = &json};

	if ((r = cli_parse(&cmd, argc, argv)) != CLI_RUN)
		return r;
	r = JPKI_OK;
	if (full && shard != -2)
		return cli_usage("--shard and --full: one or the other");
	if (type == NULL) {
		types[ntypes++] = CERT_SIGN;
		types[ntypes++] = CERT_AUTH;
	} else if (strcmp(type, "sign") == 0) {
		types[ntypes++] = CERT_SIGN;
	} else if (strcmp(type, "auth") == 0) {
		types[ntypes++] = CERT_AUTH;
	} else {
		return cli_usage("--type: '%s' is not sign or auth", type);
	}
	if ((r = cli_open(data, CLI_CA_SIGN, &env)) != 0)
		return r;
	arr = json_array();
	for (size_t t = 0; t < ntypes && r == JPKI_OK; t++) {
		int first = full ? CA_CRL_FULL : shard >= 0 ? (int)shard :
		    CA_CRL_FULL;
		int last = full || shard >= 0 ? first :
		    datadir_config(env.dd)->crl_shards - 1;

		for (int g = 1; g <= ca_generation_count(env.ca, types[t]) &&
		    r == JPKI_OK; g++) {
			struct ca_generation_status st;
			char gen[24] = "";
			int64_t now;

			if ((r = jpki_now_checked(&now)) != JPKI_OK ||
			    (r = ca_generation_status(env.ca, types[t], g, now,
			    &st)) != JPKI_OK)
				break;
			if (!st.in_service)
				continue;   /* nothing of it left to revoke */
			if (g > 1)
				snprintf(gen, sizeof(gen), " generation %d", g);
			for (int s = first; s <= last && r == JPKI_OK; s++) {
				struct ca_crl_result res;

				if ((r = ca_crl_generate_gen(env.ca, types[t], g,
				    s, out, &res)))
					break;
				if (json)
					json_array_append_new(arr,
					    result_json(&res));
				else if (s == CA_CRL_FULL)
					printf("%s%s full CRL #%lld: %ld "
					    "entries: %s\n",
					    rules_cert_type_name(res.type), gen,
					    (long long)res.number, res.entries,
					    res.path);
				else
					printf("%s%s shard %d CRL #%lld: %ld "
					    "entries: %s\n",
					    rules_cert_type_name(res.type), gen,
					    s, (long long)res.number,
					    res.entries, res.path);
			}
		}
	}
	cli_close(&env);
	if (r == JPKI_OK && json) {
		cli_print_json(arr);
		arr = NULL;
	}
	json_decref(arr);
	return cli_report(r);
}

int
cli_crl(int argc, char **argv)
{
	if (strcmp(argv[1], "generate") == 0)
		return generate(argc - 1, argv + 1);
	return cli_not_a_subcommand(argv, usage_text);
}
