/*
 * common.c: the helpers every subcommand shares (see cli.h).
 */
#include "cli/cli.h"
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

/* The common options given before the command (cli_global_options). */
static struct {
	const char *data;
	int json;
} global;

/* More than any command has, with --data and --json. */
#define CLI_OPTS_MAX 32

/* A command's options with the common ones, as cli_parse() reads them. */
struct opt_table {
	struct cli_opt opt[CLI_OPTS_MAX];
	size_t n;
};

/* Where an option writes: --clerk and --actor, writing to one place, are
 * one option given under two names. */
static const void *
opt_dest(const struct cli_opt *o)
{
	if (o->kind == CLI_FLAG)
		return o->flag;
	if (o->value != NULL)
		return o->value;
	return o->number;
}

static size_t
opt_slot(const struct opt_table *t, size_t i)
{
	size_t j = 0;

	while (opt_dest(&t->opt[j]) != opt_dest(&t->opt[i]))
		j++;
	return j;
}

static int
opt_find(const struct opt_table *t, const char *name, size_t len, size_t *i)
{
	for (*i = 0; *i < t->n; (*i)++)
		if (strlen(t->opt[*i].name) == len &&
		    strncmp(t->opt[*i].name, name, len) == 0)
			return 1;
	return 0;
}

static int
opt_table(const struct cli_command *c, const char *name,
    struct opt_table *t)
{
	if (c->nopts + 2 > CLI_OPTS_MAX)
		return cli_report(jpki_fail(JPKI_ERR_INTERNAL,
		    "%s: %zu options", name, c->nopts));
	if (c->nopts > 0)
		memcpy(t->opt, c->opts, c->nopts * sizeof(*c->opts));
	t->n = c->nopts;
	if (c->data != NULL)
		t->opt[t->n++] = (struct cli_opt){"data", CLI_VALUE,
		    .value = c->data};
	if (c->json != NULL)
		t->opt[t->n++] = (struct cli_opt){"json", CLI_FLAG,
		    .flag = c->json};
	return CLI_RUN;
}

static int
opt_number(const struct cli_opt *o, const char *s)
{
	long long v, min = o->kind == CLI_POSITIVE ? 1 : o->min,
	    max = o->kind == CLI_POSITIVE ? LLONG_MAX : o->max;
	char opt[64];
	int r;

	snprintf(opt, sizeof(opt), "--%s", o->name);
	if ((r = cli_parse_i64(opt, s, &v)) != JPKI_OK)
		return cli_report(r);
	if (v < min || v > max) {
		if (max == LLONG_MAX)
			return cli_usage("%s: must be %lld or more, not %s",
			    opt, min, s);
		return cli_usage("%s: must be %lld to %lld, not %s", opt, min,
		    max, s);
	}
	if (o->number != NULL)
		*o->number = v;
	return CLI_RUN;
}

/* The common options given before the command go where the command takes
 * them; one it does not take is refused. */
static int
seed_globals(const struct cli_command *c, const char *name,
    const struct opt_table *t, const char **seen)
{
	size_t i;

	if (global.data != NULL) {
		if (c->data == NULL)
			return cli_usage("%s takes no --data", name);
		*c->data = global.data;
		opt_find(t, "data", 4, &i);
		seen[opt_slot(t, i)] = "data before the command";
	}
	if (global.json) {
		if (c->json == NULL)
			return cli_usage("%s takes no --json", name);
		*c->json = 1;
	}
	return CLI_RUN;
}

/* cli_parse(); with command != NULL, stop at the first positional
 * argument and set *command to its index (argc if there is none). */
static int
parse(struct cli_command *c, int argc, char **argv, int *command)
{
	const char *seen[CLI_OPTS_MAX] = {NULL};
	struct opt_table t;
	char name[64];
	int help = 0, options = 1, r;

	/* main()'s argv[0] is a path: it is "jpki" to the user. */
	snprintf(name, sizeof(name), "%s%s%s", c->group ? c->group : "",
	    c->group ? " " : "", command != NULL ? "jpki" : argv[0]);
	c->npos = 0;
	if ((r = opt_table(c, name, &t)) != CLI_RUN)
		return r;
	if (command == NULL && (r = seed_globals(c, name, &t, seen)) !=
	    CLI_RUN)
		return r;
	for (int k = 1; k < argc; k++) {
		const char *arg = argv[k], *word = arg + 2, *eq, *v, *prev;
		const struct cli_opt *o;
		size_t i, len;

		if (options && strcmp(arg, "--") == 0) {
			options = 0;
			continue;
		}
		if (!options || arg[0] != '-' || arg[1] == '\0') {
			if (command != NULL) {
				*command = k;
				break;
			}
			if (c->npos >= c->max_pos)
				return cli_usage("%s: unexpected argument '%s'",
				    name, arg);
			c->pos[c->npos++] = arg;
			continue;
		}
		eq = strchr(word, '=');
		len = eq != NULL ? (size_t)(eq - word) : strlen(word);
		if (arg[1] == '-' && eq == NULL && strcmp(word, "help") == 0) {
			help = 1;
			continue;
		}
		if (arg[1] != '-' || !opt_find(&t, word, len, &i))
			return cli_usage("%s: unknown option '%.*s' (%s%s "
			    "--help)", name, (int)(word - arg + len), arg,
			    command != NULL ? "" : "jpki ", name);
		o = &t.opt[i];
		if (o->kind == CLI_FLAG) {
			if (eq != NULL)
				return cli_usage("--%s takes no value",
				    o->name);
			*o->flag = 1;
			continue;
		}
		if (eq != NULL)
			v = eq + 1;
		else if (k + 1 < argc)
			v = argv[++k];
		else
			return cli_usage("--%s needs a value", o->name);
		if ((prev = seen[opt_slot(&t, i)]) != NULL)
			return strcmp(prev, o->name) == 0 ?
			    cli_usage("--%s: given twice", o->name) :
			    cli_usage("--%s: given twice (also as --%s)",
			    o->name, prev);
		seen[opt_slot(&t, i)] = o->name;
		if (o->kind != CLI_TEXT && *v == '\0')
			return cli_usage("--%s: empty; give a value", o->name);
		if ((o->kind == CLI_NUMBER || o->kind == CLI_POSITIVE) &&
		    (r = opt_number(o, v)) != CLI_RUN)
			return r;
		if (o->value != NULL)
			*o->value = v;
	}
	if (help) {
		fputs(c->usage, stdout);
		return 0;
	}
	return CLI_RUN;
}

int
cli_parse(struct cli_command *c, int argc, char **argv)
{
	return parse(c, argc, argv, NULL);
}

int
cli_global_options(int argc, char **argv, const char *usage, int *command)
{
	struct cli_command c = {.usage = usage,
	    .data = &global.data, .json = &global.json};

	*command = argc;
	return parse(&c, argc, argv, command);
}

int
cli_not_a_subcommand(char **argv, const char *usage)
{
	if (strcmp(argv[1], "--help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	return cli_usage("%s: unknown subcommand '%s' (jpki %s --help)",
	    argv[0], argv[1], argv[0]);
}

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
	cli_hsm_pin_source(NULL);
	env->what = what;
	if ((r = datadir_open(cli_data_dir(data), (what & CLI_WRITE) ?
	    DATADIR_READ_WRITE : DATADIR_READ_ONLY, &env->dd)) != JPKI_OK) {
		char msg[512];

		/* No config: the library says so; the command that makes one
		 * is the CLI's to name. */
		snprintf(msg, sizeof(msg), "%s", jpki_errmsg());
		if (r == JPKI_ERR_NOTFOUND)
			r = jpki_fail(r, "%s; `jpki init` makes one", msg);
		return cli_report(r);
	}
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
	/* After a procedure, a checkpoint of the audit chain by the signer.
	 * Quietly: the command has said what it has to say, and if the
	 * signer cannot be reached its own timer makes one within a minute
	 * of its return (docs/audit.md). */
	if ((env->what & CLI_WRITE) && env->dd != NULL &&
	    datadir_config(env->dd)->signer[0] != '\0') {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", jpki_errmsg());
		(void)ca_signer_remote_checkpoint(datadir_config(env->dd),
		    datadir_root(env->dd), NULL, 0);
		/* The command's own message, if any, is reported after
		 * this (only the message is kept; codes are returned). */
		jpki_errclear();
		if (msg[0] != '\0')
			jpki_fail(JPKI_ERR_INTERNAL, "%s", msg);
	}
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

	va_start(ap, fmt);
	jpki_vfail(JPKI_ERR_USAGE, fmt, ap);
	va_end(ap);
	return cli_report(JPKI_ERR_USAGE);
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

/* ---- output files ------------------------------------------------------- */

int
cli_out_open(struct cli_out *o, const char *opt, const char *path)
{
	struct stat st;
	mode_t mask;
	size_t n = strlen(path) + sizeof(".XXXXXX");
	int fd;

	memset(o, 0, sizeof(*o));
	o->path = path;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode))
			return jpki_fail(JPKI_ERR_INPUT, "%s: %s: is a "
			    "directory", opt, path);
		if ((o->f = fopen(path, "wb")) == NULL)
			return jpki_fail(JPKI_ERR_INPUT, "%s: %s: %s", opt,
			    path, strerror(errno));
		return JPKI_OK;
	}
	if ((o->tmp = malloc(n)) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	snprintf(o->tmp, n, "%s.XXXXXX", path);
	if ((fd = mkstemp(o->tmp)) < 0) {
		/* Report the path the user named, not the temporary. */
		int r = jpki_fail(JPKI_ERR_INPUT, "%s: %s: %s", opt, path,
		    strerror(errno));

		free(o->tmp);
		o->tmp = NULL;
		return r;
	}
	/* The mode a plain fopen() would have given. */
	mask = umask(0);
	umask(mask);
	(void)fchmod(fd, 0666 & ~mask);
	if ((o->f = fdopen(fd, "wb")) == NULL) {
		close(fd);
		cli_out_discard(o);
		return jpki_fail(JPKI_ERR_IO, "%s: %s", path, strerror(errno));
	}
	return JPKI_OK;
}

int
cli_out_commit(struct cli_out *o)
{
	int ok = o->f != NULL && fflush(o->f) == 0 &&
	    (o->tmp == NULL || fsync(fileno(o->f)) == 0);
	int saved = errno;

	if (o->f != NULL && fclose(o->f) != 0 && ok) {
		ok = 0;
		saved = errno;
	}
	o->f = NULL;
	if (ok && o->tmp != NULL && rename(o->tmp, o->path) != 0) {
		ok = 0;
		saved = errno;
	}
	if (!ok) {
		cli_out_discard(o);
		return jpki_fail(JPKI_ERR_IO, "%s: %s", o->path,
		    strerror(saved ? saved : EIO));
	}
	free(o->tmp);
	o->tmp = NULL;
	return JPKI_OK;
}

void
cli_out_discard(struct cli_out *o)
{
	if (o->f != NULL)
		fclose(o->f);
	o->f = NULL;
	if (o->tmp != NULL)
		unlink(o->tmp);
	free(o->tmp);
	o->tmp = NULL;
}

int
cli_write_file(const char *opt, const char *path, const void *p, size_t n)
{
	struct cli_out o;
	int r;

	if ((r = cli_out_open(&o, opt, path)) != JPKI_OK)
		return r;
	if (fwrite(p, 1, n, o.f) != n) {
		cli_out_discard(&o);
		return jpki_fail(JPKI_ERR_IO, "%s: write failed", path);
	}
	return cli_out_commit(&o);
}

int
cli_out_dir(const char *dir, int *made)
{
	struct stat st;

	*made = 0;
	if (mkdir(dir, 0755) == 0) {
		*made = 1;
		return JPKI_OK;
	}
	if (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return JPKI_OK;
	return jpki_fail(errno == EEXIST || errno == ENOENT ||
	    errno == ENOTDIR || errno == EACCES ? JPKI_ERR_INPUT : JPKI_ERR_IO,
	    "--out: %s: %s", dir, errno == EEXIST ? "not a directory" :
	    strerror(errno));
}

void
cli_out_dir_discard(const char *dir, int made)
{
	if (made)
		(void)rmdir(dir);
}
