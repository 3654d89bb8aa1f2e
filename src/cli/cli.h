/*
 * cli.h: what the `jpki` subcommand files share: option conventions, the
 * data directory, error reporting, PIN input and JSON output.
 *
 * Conventions every command follows:
 *   --data DIR   data directory (else $JPKI_DATA, else ./jpki-data)
 *   --json       machine-readable output on stdout
 *   errors       one line on stderr: "jpki: <code>: <message>"
 *   exit status  0 ok, 1 refused/verify failed, 2 bad usage/input, 3 I/O
 */
#ifndef JPKI_CLI_H
#define JPKI_CLI_H

#include "ca/ca.h"
#include "datadir/datadir.h"

#include <jansson.h>
#include <stddef.h>

/* Subcommand groups: each gets argv starting at the group name. */
int cli_init(int argc, char **argv);
int cli_resident(int argc, char **argv);
int cli_ca(int argc, char **argv);
int cli_cert(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_crl(int argc, char **argv);
int cli_ocsp(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_card(int argc, char **argv);
int cli_counter(int argc, char **argv);
/* The proxy procedures and notices (cli_counter_forms.c): -1 if argv[1]
 * is not one of them, else the exit status. */
int cli_counter_forms(int argc, char **argv);

/* The data directory named by --data (may be NULL), $JPKI_DATA or the
 * default ./jpki-data. */
const char *cli_data_dir(const char *opt);

/* What a command opens: the data directory, read-only unless it writes,
 * and the CAs only with the keys it signs with (CA_KEYS_CA to issue,
 * revoke or publish CRLs; CA_KEYS_OCSP to answer OCSP). */
#define CLI_READ     0x000          /* the data directory, read-only */
#define CLI_WRITE    0x100          /* the data directory, read-write */
#define CLI_CA_CERTS 0x200          /* and the CAs without keys */
#define CLI_CA_SIGN  (CLI_WRITE | CLI_CA_CERTS | CA_KEYS_CA)
#define CLI_OCSP     (CLI_CA_CERTS | CA_KEYS_OCSP)
struct datadir;
struct ca;
struct cli_env {
	struct datadir *dd;
	struct ca *ca;              /* NULL unless CLI_CA_CERTS */
};
/* Open what `what` names for the directory cli_data_dir(data); returns
 * the exit status of a failure (reported), 0 on success. */
int cli_open(const char *data, unsigned what, struct cli_env *env);
void cli_close(struct cli_env *env);

/* Print "jpki: <name>: <message>" for code (using jpki_errmsg()) and return
 * the exit status for it. */
int cli_report(int code);
/* Report a usage error with a message and return 2. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Report an unknown or incomplete option of the getopt_long() run over
 * gargv, in one line; returns 2.  (main() sets opterr = 0.) */
int cli_bad_option(char **gargv);

/* Read a secret: from environment variable env if set, else from the
 * terminal with echo off after printing prompt to stderr.  Fails with
 * JPKI_ERR_USAGE when neither is available.  The caller wipes buf. */
int cli_read_secret(const char *env, const char *prompt, char *buf, size_t n);

/* Print a JSON value (and a newline) to stdout and release it. */
void cli_print_json(json_t *v);

/* Parse a decimal int64 argument; JPKI_ERR_USAGE naming opt on failure. */
int cli_parse_i64(const char *opt, const char *s, long long *out);

#endif
