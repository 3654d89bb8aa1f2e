/*
 * common.c: the helpers every subcommand shares (see cli.h).
 */
#include "cli/cli.h"
#include "base/base.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

const char *
cli_data_dir(const char *opt)
{
	const char *env;

	if (opt != NULL && *opt != '\0')
		return opt;
	if ((env = getenv("JPKI_DATA")) != NULL && *env != '\0')
		return env;
	return "./jpki-data";
}

int
cli_open(const char *data, unsigned what, struct cli_env *env)
{
	int r;

	memset(env, 0, sizeof(*env));
	if ((r = datadir_open(cli_data_dir(data), (what & CLI_WRITE) ?
	    DATADIR_READ_WRITE : DATADIR_READ_ONLY, &env->dd)) != JPKI_OK)
		return cli_report(r);
	if ((what & CLI_CA_CERTS) && (r = ca_open(env->dd, what &
	    (CA_KEYS_CA | CA_KEYS_OCSP), &env->ca)) != JPKI_OK) {
		cli_close(env);
		return cli_report(r);
	}
	return 0;
}

void
cli_close(struct cli_env *env)
{
	ca_close(&env->ca);
	datadir_close(&env->dd);
}

int
cli_report(int code)
{
	const char *msg = jpki_errmsg();

	if (code == JPKI_OK)
		return 0;
	fprintf(stderr, "jpki: %s: %s\n", jpki_strerr(code),
	    *msg ? msg : "failed");
	return jpki_exit_status(code);
}

int
cli_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "jpki: usage: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

int
cli_bad_option(char **gargv)
{
	const char *opt = optind > 0 ? gargv[optind - 1] : "?";

	fprintf(stderr, "jpki: usage: %s option '%s' (see --help)\n",
	    optopt != 0 && strchr(opt, '=') == NULL && opt[0] == '-' &&
	    opt[1] == '-' ? "incomplete" : "unknown or incomplete", opt);
	return 2;
}

int
cli_read_secret(const char *env, const char *prompt, char *buf, size_t n)
{
	struct termios old, quiet;
	const char *v = env ? getenv(env) : NULL;
	FILE *tty;
	size_t len;
	int restore = 0;

	if (v != NULL) {
		if (strlen(v) >= n)
			return jpki_fail(JPKI_ERR_INPUT, "%s: too long", env);
		memcpy(buf, v, strlen(v) + 1);
		return JPKI_OK;
	}
	if ((tty = fopen("/dev/tty", "r+")) == NULL)
		return jpki_fail(JPKI_ERR_USAGE,
		    "%s is not set and there is no terminal to ask on", env);
	fprintf(tty, "%s", prompt);
	fflush(tty);
	if (tcgetattr(fileno(tty), &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(fileno(tty), TCSAFLUSH, &quiet) == 0;
	}
	if (fgets(buf, (int)n, tty) == NULL)
		buf[0] = '\0';
	if (restore)
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fprintf(tty, "\n");
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n') {
		buf[--len] = '\0';
	} else if (len + 1 >= n) {
		int ch;

		/* Longer than any PIN: refuse rather than cut it silently. */
		while ((ch = fgetc(tty)) != EOF && ch != '\n')
			;
		fclose(tty);
		jpki_wipe(buf, n);
		return jpki_fail(JPKI_ERR_INPUT, "%s: input too long", prompt);
	}
	fclose(tty);
	return JPKI_OK;
}

void
cli_print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	    JSON_ENSURE_ASCII * 0);

	if (s != NULL) {
		printf("%s\n", s);
		free(s);
	}
	json_decref(v);
}

int
cli_parse_i64(const char *opt, const char *s, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return jpki_fail(JPKI_ERR_USAGE, "%s: not a number: %s", opt, s);
	return JPKI_OK;
}
