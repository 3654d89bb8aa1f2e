/*
 * cli_init.c: `jpki init` creates a data directory: the config (with this
 * deployment's municipality), the store with the municipality table, the
 * signing and authentication CAs and their OCSP responders.
 */
#include "cli/cli.h"
#include "ca/ca.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: jpki init [--data DIR] [--municipality CODE] [--key-bits N]\n"
    "                 [--production-policy] [--base-url URL] [--json]\n";

int
cli_init(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"data", required_argument, NULL, 'd'},
	    {"municipality", required_argument, NULL, 'm'},
	    {"key-bits", required_argument, NULL, 'k'},
	    {"production-policy", no_argument, NULL, 'p'},
	    {"base-url", required_argument, NULL, 'u'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct datadir_init_options o;
	const char *data = NULL;
	struct datadir *dd = NULL;
	const struct jpki_config *cfg;
	long long bits;
	int json = 0, c, r;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': data = optarg; break;
		case 'm': o.municipality = optarg; break;
		case 'k':
			if ((r = cli_parse_i64("--key-bits", optarg, &bits)))
				return cli_report(r);
			o.key_bits = (int)bits;
			break;
		case 'p': o.production_policy = 1; break;
		case 'u': o.base_url = optarg; break;
		case 'j': json = 1; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return cli_bad_option(argv);
		}
	}
	if (optind != argc)
		return cli_usage("jpki init: unexpected argument '%s'",
		    argv[optind]);
	data = cli_data_dir(data);
	if ((r = datadir_create(data, &o, &dd)) != JPKI_OK)
		return cli_report(r);
	if ((r = ca_create(dd)) != JPKI_OK ||
	    (r = datadir_create_finish(dd)) != JPKI_OK) {
		datadir_close(&dd);
		return cli_report(r);
	}
	cfg = datadir_config(dd);
	if (json) {
		cli_print_json(json_pack("{s:s, s:s, s:s}", "data", data,
		    "municipality", cfg->municipality, "policy",
		    cfg->test_policy ? "test" : "production"));
	} else {
		printf("initialised %s (municipality %s, %s policy)\n", data,
		    cfg->municipality, cfg->test_policy ? "test" : "production");
	}
	datadir_close(&dd);
	return 0;
}
