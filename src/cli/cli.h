/*
 * cli.h: what the `jpki` subcommand files share: option parsing, the data
 * directory, error reporting, output files, PIN input and JSON output.
 *
 * Conventions every command follows:
 *   --data DIR   data directory (else $JPKI_DATA, else ./jpki-data)
 *   --json       machine-readable output on stdout
 *                (both also before the command: jpki --data DIR ca show)
 *   options      each valued option at most once; --opt VALUE or --opt=VALUE
 *   errors       one line on stderr: "jpki: <code>: <message>"
 *   exit status  0 ok, 1 refused/verify failed, 2 bad usage/input, 3 I/O
 *   output files written whole on success, or not at all
 */
#ifndef JPKI_CLI_H
#define JPKI_CLI_H

#include "ca/ca.h"
#include "datadir/datadir.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* Subcommand groups: each gets argv starting at the group name. */
int cli_init(int argc, char **argv);
int cli_resident(int argc, char **argv);
int cli_ca(int argc, char **argv);
int cli_cert(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_store(int argc, char **argv);
int cli_crl(int argc, char **argv);
int cli_ocsp(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_signer(int argc, char **argv);
int cli_signer_tls(int argc, char **argv);
int cli_card(int argc, char **argv);
/* jpki card face and the trusted card issuer key (cli_card_face.c). */
struct card_transport;
int cli_card_trusted_issuer(const char *data, EVP_PKEY **out);
int cli_card_face_write(struct card_transport *t, const char *number,
    const char *out_dir, const char *data, int json);
int cli_counter(int argc, char **argv);
/* The web UI's clerk accounts (cli_clerk.c) and `jpki counter serve`
 * (cli_counter_serve.c, which cli_counter() hands "serve" to). */
int cli_clerk(int argc, char **argv);
int cli_counter_serve(int argc, char **argv);
/* The proxy procedures and notices (cli_counter_forms.c): -1 if argv[1]
 * is not one of them, else the exit status. */
int cli_counter_forms(int argc, char **argv);
/* The relying party (cli_rp.c, cli_login.c). */
int cli_sign(int argc, char **argv);
int cli_verify(int argc, char **argv);
int cli_login(int argc, char **argv);
int cli_kiosk(int argc, char **argv);
int cli_rp(int argc, char **argv);

/* ---- options ------------------------------------------------------------
 *
 * Every command declares its options in a table and hands argv to
 * cli_parse(), which holds the rules for all of them: long options only
 * (--out FILE or --out=FILE, no abbreviations), a valued option at most
 * once, no empty value where one is needed, numbers in range, --help
 * anywhere, positional arguments in between, "--" ends the options.  The
 * common options --data and --json, given before the command (jpki --data
 * DIR --json ca show) or after it, arrive in *data and *json. */
enum cli_opt_kind {
	CLI_FLAG,       /* no value: sets *flag */
	CLI_TEXT,       /* a value the command checks (may be empty) */
	CLI_VALUE,      /* a value that must not be empty: a path, a name */
	CLI_NUMBER,     /* a decimal integer in [min, max] */
	CLI_POSITIVE,   /* a decimal integer, 1 or more: an ID, a count */
};

struct cli_opt {
	const char *name;               /* "out" for --out */
	enum cli_opt_kind kind;
	const char **value;             /* all but FLAG: the argument */
	int *flag;                      /* FLAG */
	long long *number;              /* NUMBER, POSITIVE: the value */
	long long min, max;             /* NUMBER */
};

struct cli_command {
	const char *group;              /* "ca" of jpki ca issue; NULL: none */
	const char *usage;              /* what --help prints */
	const struct cli_opt *opts;     /* the command's own options */
	size_t nopts;
	const char **data;              /* --data DIR; NULL: not taken */
	int *json;                      /* --json; NULL: not taken */
	const char **pos;               /* room for max_pos positional args */
	int max_pos;
	int npos;                       /* out: how many were given */
};

/* What cli_parse() and cli_global_options() return when the command is to
 * run; anything else is the exit status (0 after --help, 2 after a usage
 * error, reported). */
#define CLI_RUN (-1)

/* Parse argv[1..argc-1] against c; argv[0] is the command's own word
 * ("issue"), which errors name with the group ("ca issue"). */
int cli_parse(struct cli_command *c, int argc, char **argv);

/* A group's dispatcher when argv[1] names none of group argv[0]'s
 * subcommands: --help prints usage (exit status 0), anything else is a
 * usage error (2). */
int cli_not_a_subcommand(char **argv, const char *usage);

/* main(): take the common options that precede the command (--data DIR,
 * --data=DIR, --json, --help printing usage) and set *command to the
 * index of the command word in argv. */
int cli_global_options(int argc, char **argv, const char *usage,
    int *command);

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
	unsigned what;              /* as opened */
};
/* Open what `what` names for the directory cli_data_dir(data); returns
 * the exit status of a failure (reported), 0 on success. */
int cli_open(const char *data, unsigned what, struct cli_env *env);
/* Close; a command that wrote, with a signer configured, first asks it for
 * an audit checkpoint (docs/audit.md: after every procedure). */
void cli_close(struct cli_env *env);

/* Print "jpki: <name>: <message>" for code (using jpki_errmsg()) and return
 * the exit status for it. */
int cli_report(int code);
/* Report a usage error with a message (one line) and return 2. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- output files ---------------------------------------------------------
 *
 * A command's --out file is written whole or not at all: the bytes go to a
 * temporary file beside it, renamed into place by cli_out_commit() once
 * the command has succeeded; cli_out_discard() leaves no trace (and a file
 * that was already there untouched).  A path that exists and is not a
 * regular file (/dev/stdout, a pipe) is written in place. */
struct cli_out {
	const char *path;
	char *tmp;                      /* NULL: writing path in place */
	FILE *f;
};

/* Create the file's temporary beside path; a path that cannot be created
 * is bad input (JPKI_ERR_INPUT) naming opt ("--out"). */
int cli_out_open(struct cli_out *o, const char *opt, const char *path);
/* Flush, sync and rename into place; on failure the temporary is gone. */
int cli_out_commit(struct cli_out *o);
/* Drop what was written.  Safe on a zeroed or already finished cli_out. */
void cli_out_discard(struct cli_out *o);
/* All three for bytes in memory. */
int cli_write_file(const char *opt, const char *path, const void *p,
    size_t n);

/* An output directory (--out DIR): created if missing (its parent must
 * exist); *made says so, for cli_out_dir_discard() to remove it again
 * (only if still empty) when the command fails. */
int cli_out_dir(const char *dir, int *made);
void cli_out_dir_discard(const char *dir, int made);

/* Read a secret: from environment variable env if set, else from the
 * terminal with echo off after printing prompt to stderr.  Fails with
 * JPKI_ERR_USAGE when neither is available.  The caller wipes buf. */
int cli_read_secret(const char *env, const char *prompt, char *buf, size_t n);

/* Where the PKCS#11 token's user PIN comes from (cli_hsm.c): `file`
 * (--pin-file, may be NULL), $JPKI_HSM_PIN, $JPKI_HSM_PIN_FILE, a prompt. */
void cli_hsm_pin_source(const char *file);

/* Print a JSON value (and a newline) to stdout and release it. */
void cli_print_json(json_t *v);

/* --listen HOST:PORT or [ADDRESS]:PORT into host (n bytes) and port;
 * the exit status of a usage error (reported), 0 on success. */
int cli_parse_listen(const char *s, char *host, size_t n, unsigned *port);

/* Parse a decimal int64 argument; JPKI_ERR_USAGE naming opt on failure. */
int cli_parse_i64(const char *opt, const char *s, long long *out);

#endif
