/*
 * main.c: the `jpki` executable.  Dispatches git-style to the subcommand
 * groups; each group parses its own options (see cli.h for conventions).
 */
#include "cli/cli.h"
#include "base/base.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} groups[] = {
    {"init", cli_init, "create a data directory: config, store, the two CAs"},
    {"resident", cli_resident, "the resident register: add, import, show, list, change"},
    {"ca", cli_ca, "the CAs: show, export, issue"},
    {"cert", cli_cert, "certificates: show, list, revoke"},
    {"crl", cli_crl, "CRLs: generate (every shard and the full CRL of each CA)"},
    {"ocsp", cli_ocsp, "OCSP: respond (answer a DER request from the store)"},
    {"serve", cli_serve, "HTTP for relying parties: CA certificates, CRLs, OCSP"},
    {"audit", cli_audit, "the audit log: verify, list"},
#ifndef JPKI_WITHOUT_card
    {"card", cli_card, "the card: new, status, certs, change-pin, info, sign, attach"},
#endif
#ifndef JPKI_WITHOUT_counter
    {"counter", cli_counter, "the counter: deliver, issue, renew, report-lost, reissue, reset-pin, update-card"},
#endif
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: jpki <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < JPKI_ARRAY_LEN(groups); i++)
		fprintf(f, "  %-10s %s\n", groups[i].name, groups[i].summary);
	fprintf(f, "\nEvery command takes --data DIR and --json; "
	    "`jpki <command> --help` for more.\n");
}

int
main(int argc, char **argv)
{
	opterr = 0; /* commands report bad options in one line */
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < JPKI_ARRAY_LEN(groups); i++)
		if (strcmp(argv[1], groups[i].name) == 0)
			return groups[i].run(argc - 1, argv + 1);
	fprintf(stderr, "jpki: usage: unknown command '%s'\n", argv[1]);
	return 2;
}
