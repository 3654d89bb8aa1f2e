/*
 * cli_init.c: `jpki init` creates a data directory: the config (with this
 * deployment's municipality), the store with the municipality table, the
 * signing and authentication CAs and their OCSP responders.
 */
#include "cli/cli.h"
#include "ca/ca.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: jpki init [--data DIR] [--municipality CODE] [--key-bits N]\n"
    "                 [--production-policy] [--base-url URL]\n"
    "                 [--database URL] [--json]\n";

int
cli_init(int argc, char **argv)
{
	struct datadir_init_options o;
	const char *data = NULL;
	struct datadir *dd = NULL;
	const struct jpki_config *cfg;
	long long bits = 0;
	int json = 0, r;
	const struct cli_opt opts[] = {
	    {"municipality", CLI_VALUE, .value = &o.municipality},
	    {"key-bits", CLI_POSITIVE, .number = &bits},
	    {"production-policy", CLI_FLAG, .flag = &o.production_policy},
	    {"base-url", CLI_VALUE, .value = &o.base_url},
	    {"database", CLI_VALUE, .value = &o.database},
	};
	struct cli_command cmd = {.usage = usage_text, .opts = opts,
	    .nopts = JPKI_ARRAY_LEN(opts), .data = &data, .json = &json};

	memset(&o, 0, sizeof(o));
	if ((r = cli_parse(&cmd, argc, argv)) != CLI_RUN)
		return r;
	/* The database: --database, else JPKI_DATABASE, else SQLite in the
	 * directory.  Recorded in the config; later commands read it there. */
	if (o.database == NULL)
		o.database = getenv("JPKI_DATABASE");
	/* datadir_create() holds the rule (2048 to 4096 bits). */
	o.key_bits = bits > INT_MAX ? INT_MAX : (int)bits;
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
