/*
 * cli_init.c: `jpki init` creates a data directory: the config (with this
 * deployment's municipality), the store with the municipality table, the
 * signing and authentication CAs and their OCSP responders.  With
 * --pkcs11 MODULE --token LABEL their keys are made inside that token and
 * the data directory records only where they are (ca/pkcs11).
 */
#include "cli/cli.h"
#include "ca/ca.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: jpki init [--data DIR] [--municipality CODE] [--key-bits N]\n"
    "                 [--production-policy] [--base-url URL] [--json]\n"
    "                 [--database URL]\n"
    "                 [--pkcs11 MODULE.so --token LABEL [--pin-file FILE]]\n"
    "the token's user PIN: --pin-file, else JPKI_HSM_PIN, else a prompt\n";

int
cli_init(int argc, char **argv)
{
	struct datadir_init_options o;
	const char *data = NULL, *module = NULL, *token = NULL;
	const char *pin_file = NULL;
	struct datadir *dd = NULL;
	const struct jpki_config *cfg;
	long long bits = 0;
	int json = 0, r;
	const struct cli_opt opts[] = {
	    {"municipality", CLI_VALUE, .value = &o.municipality},
	    {"key-bits", CLI_POSITIVE, .number = &bits},
	    {"production-policy", CLI_FLAG, .flag = &o.production_policy},
	    {"base-url", CLI_VALUE, .value = &o.base_url},
	    {"pkcs11", CLI_VALUE, .value = &module},
	    {"token", CLI_VALUE, .value = &token},
	    {"pin-file", CLI_VALUE, .value = &pin_file},
	    {"database", CLI_VALUE, .value = &o.database},
	};
	struct cli_command cmd = {.usage = usage_text, .opts = opts,
	    .nopts = JPKI_ARRAY_LEN(opts), .data = &data, .json = &json};

	memset(&o, 0, sizeof(o));
	if ((r = cli_parse(&cmd, argc, argv)) != CLI_RUN)
		return r;
	if ((module == NULL) != (token == NULL) ||
	    (pin_file != NULL && module == NULL))
		return cli_usage("init: --pkcs11 MODULE.so and --token LABEL "
		    "go together (and --pin-file with them)");
	/* The database: --database, else JPKI_DATABASE, else SQLite in the
	 * directory.  Recorded in the config; later commands read it there. */
	if (o.database == NULL)
		o.database = getenv("JPKI_DATABASE");
	/* datadir_create() holds the rule (2048 to 4096 bits). */
	o.key_bits = bits > INT_MAX ? INT_MAX : (int)bits;
	data = cli_data_dir(data);
	/* A token that is not there or refuses the PIN stops init before
	 * anything is made. */
	if (module != NULL) {
		cli_hsm_pin_source(pin_file);
		if ((r = ca_signer_pkcs11_check(module, token)) != JPKI_OK)
			return cli_report(r);
	}
	if ((r = datadir_create(data, &o, &dd)) != JPKI_OK)
		return cli_report(r);
	if (module != NULL)
		r = ca_signer_pkcs11_setup(dd, module, token);
	if (r != JPKI_OK || (r = ca_create(dd)) != JPKI_OK ||
	    (r = datadir_create_finish(dd)) != JPKI_OK) {
		datadir_close(&dd);
		return cli_report(r);
	}
	cfg = datadir_config(dd);
	if (json) {
		cli_print_json(json_pack("{s:s, s:s, s:s, s:s}", "data", data,
		    "municipality", cfg->municipality, "policy",
		    cfg->test_policy ? "test" : "production", "keys",
		    module ? "pkcs11" : "file"));
	} else {
		printf("initialised %s (municipality %s, %s policy, keys %s)\n",
		    data, cfg->municipality, cfg->test_policy ? "test" :
		    "production", module ? "in PKCS#11 token" : "in files");
	}
	datadir_close(&dd);
	return 0;
}
