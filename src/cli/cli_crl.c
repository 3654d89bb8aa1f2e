/*
 * cli_crl.c: `jpki crl generate`: publish the CRLs of the CAs — one per
 * shard, named in the certificates' CRL distribution points, and a full one
 * per CA — under <data>/crl/<sign|auth>/ (or --out DIR), where a web server
 * can serve them at the URIs the certificates carry.
 */
#include "cli/cli.h"
#include "ca/ca.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: jpki crl generate [--type sign|auth] [--shard N | --full]\n"
    "                         [--out DIR] [--json]\n"
    "  Without --type: both CAs.  Without --shard or --full: every shard\n"
    "  and the full CRL.  Files: DIR/<sign|auth>/<shard>.crl, full.crl\n"
    "  (DIR defaults to <data>/crl).\n"
    "common: --data DIR\n";

enum { O_DATA = 1, O_JSON, O_TYPE, O_SHARD, O_FULL, O_OUT, O_HELP };

static const struct option opts[] = {
    {"data", required_argument, NULL, O_DATA},
    {"json", no_argument, NULL, O_JSON},
    {"type", required_argument, NULL, O_TYPE},
    {"shard", required_argument, NULL, O_SHARD},
    {"full", no_argument, NULL, O_FULL},
    {"out", required_argument, NULL, O_OUT},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

static json_t *
result_json(const struct ca_crl_result *r)
{
	char tu[26], nu[26];
	json_t *o;

	iso8601_format_jst(r->this_update, tu);
	iso8601_format_jst(r->next_update, nu);
	o = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s}", "type",
	    rules_cert_type_name(r->type), "number", (json_int_t)r->number,
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
	int json = 0, full = 0, c, r = JPKI_OK;
	enum cert_type types[2];
	size_t ntypes = 0;
	struct cli_env env;
	json_t *arr = NULL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_DATA: data = optarg; break;
		case O_JSON: json = 1; break;
		case O_TYPE: type = optarg; break;
		case O_SHARD:
			if ((r = cli_parse_i64("--shard", optarg, &shard)))
				return cli_report(r);
			if (shard < 0 || shard > 65535)
				return cli_usage("--shard: %lld is not a shard "
				    "number", shard);
			break;
		case O_FULL: full = 1; break;
		case O_OUT: out = optarg; break;
		case O_HELP: fputs(usage_text, stdout); return 0;
		default: return cli_bad_option(argv);
		}
	}
	if (optind != argc)
		return cli_usage("unexpected argument '%s'", argv[optind]);
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

		for (int s = first; s <= last && r == JPKI_OK; s++) {
			struct ca_crl_result res;

			if ((r = ca_crl_generate(env.ca, types[t], s, out, &res)))
				break;
			if (json)
				json_array_append_new(arr, result_json(&res));
			else if (s == CA_CRL_FULL)
				printf("%s full CRL #%lld: %ld entries: %s\n",
				    rules_cert_type_name(res.type),
				    (long long)res.number, res.entries,
				    res.path);
			else
				printf("%s shard %d CRL #%lld: %ld entries: %s\n",
				    rules_cert_type_name(res.type), s,
				    (long long)res.number, res.entries,
				    res.path);
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
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "generate") == 0)
		return generate(argc - 1, argv + 1);
	return cli_usage("jpki crl: unknown subcommand '%s'", argv[1]);
}
