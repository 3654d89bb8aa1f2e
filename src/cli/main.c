/*
 * main.c: the `jpki` executable.  Takes the common options that come
 * before the command (jpki --data DIR --json ca show), then dispatches
 * git-style to the subcommand groups; each group parses its own options
 * with cli_parse() (see cli.h for conventions).
 */
#include "cli/cli.h"
#include "base/base.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
	const char *subcommands;        /* NULL: the command stands alone */
} groups[] = {
    {"init", cli_init, "create a data directory: config, store, the two CAs",
	NULL},
    {"resident", cli_resident, "the resident register",
	"add import show list change"},
    {"ca", cli_ca, "the CAs", "show export issue rollover renew-responders"},
    {"cert", cli_cert, "certificates", "show list revoke"},
    {"crl", cli_crl, "CRLs (every shard and the full CRL of each CA)",
	"generate"},
    {"ocsp", cli_ocsp, "OCSP (answer a DER request; pre-sign the answers)",
	"respond presign"},
    {"serve", cli_serve, "HTTP for relying parties: CA certificates, CRLs, "
	"OCSP", NULL},
    {"signer", cli_signer, "the one process that opens the CA keys",
	NULL},
    {"signer-tls", cli_signer_tls, "the signer's TLS PKI (for tcp:)",
	"init issue-client"},
    {"sign", cli_sign, "sign a document on the card (CMS, CAdES-BES)", NULL},
    {"verify", cli_verify, "verify a signature: chain, status, the four "
	"facts", NULL},
    {"login", cli_login, "log in to a relying party with the card", NULL},
    {"kiosk", cli_kiosk, "a residence certificate from the municipality's "
     "kiosk with the card", NULL},
    {"rp", cli_rp, "the relying party's linkage of certificates", "link"},
    {"audit", cli_audit, "the audit log", "verify list checkpoint"},
    {"store", cli_store, "the store's schema and database", "migrate copy"},
#ifndef JPKI_WITHOUT_card
    {"card", cli_card, "the card",
	"new status certs change-pin info face sign attach"},
#endif
#ifndef JPKI_WITHOUT_counter
    {"counter", cli_counter, "the counter",
	"deliver issue renew report-lost reissue reset-pin update-card "
	"recover links receipt proxy-apply proxy-complete notices form-show "
	"serve"},
#endif
#ifndef JPKI_WITHOUT_webui
    {"clerk", cli_clerk, "clerk accounts of the counter's web UI",
	"add passwd disable list"},
#endif
};

/* The subcommands beneath their group, in lines of at most 60 columns. */
static void
usage_wrap(struct jbuf *b, const char *p)
{
	while (*p != '\0') {
		int n = (int)strlen(p);

		if (n > 60) {
			for (n = 60; n > 0 && p[n] != ' '; n--)
				;
			if (n == 0)
				n = (int)strcspn(p, " ");
		}
		jbuf_printf(b, "%15s%.*s\n", "", n, p);
		for (p += n; *p == ' '; p++)
			;
	}
}

static void
usage_build(struct jbuf *b)
{
	jbuf_printf(b, "usage: jpki [--data DIR] [--json] <command> "
	    "[<subcommand>] [options]\n\ncommands:\n");
	for (size_t i = 0; i < JPKI_ARRAY_LEN(groups); i++) {
		jbuf_printf(b, "  %-10s %s\n", groups[i].name,
		    groups[i].summary);
		if (groups[i].subcommands != NULL)
			usage_wrap(b, groups[i].subcommands);
	}
	jbuf_printf(b, "\nEvery command takes --data DIR and --json, before "
	    "or after it;\n`jpki <command> --help` for more, man jpki for "
	    "all of it.\n");
	jbuf_put_u8(b, 0);
}

/* A group named without its subcommand (jpki ca, jpki ca --json): one
 * line naming them. */
static int
missing_subcommand(const char *group, const char *subcommands)
{
	char list[256];

	snprintf(list, sizeof(list), "%s", subcommands);
	for (char *p = list; *p; p++)
		if (*p == ' ')
			*p = '|';
	return cli_usage("jpki %s %s [options] (jpki %s --help)", group, list,
	    group);
}

static int
dispatch(int argc, char **argv, const char *usage)
{
	if (argc == 0)
		return cli_usage("jpki [--data DIR] [--json] <command> ... "
		    "(jpki --help lists the commands)");
	if (strcmp(argv[0], "help") == 0) {     /* jpki help [COMMAND] */
		char *help[] = {argc > 1 ? argv[1] : NULL, "--help", NULL};

		if (argc > 2)
			return cli_usage("jpki help [COMMAND]");
		if (argc == 1) {
			fputs(usage, stdout);
			return 0;
		}
		return dispatch(2, help, usage);
	}
	for (size_t i = 0; i < JPKI_ARRAY_LEN(groups); i++) {
		if (strcmp(argv[0], groups[i].name) != 0)
			continue;
		if (groups[i].subcommands != NULL && (argc < 2 ||
		    (argv[1][0] == '-' && strcmp(argv[1], "--help") != 0)))
			return missing_subcommand(groups[i].name,
			    groups[i].subcommands);
		return groups[i].run(argc, argv);
	}
	return cli_usage("unknown command '%s' (jpki --help lists them)",
	    argv[0]);
}

int
main(int argc, char **argv)
{
	struct jbuf usage;
	int command, r;

	jbuf_init(&usage);
	usage_build(&usage);
	if ((r = cli_global_options(argc, argv, (const char *)usage.data,
	    &command)) == CLI_RUN)
		r = dispatch(argc - command, argv + command,
		    (const char *)usage.data);
	jbuf_free(&usage);
	return r;
}
