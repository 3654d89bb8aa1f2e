/*
 * cli_signer.c: `jpki signer`: the one process that opens the CA keys
 * (ca.h, ca_signer_serve; docs/ca-operations.md, "Signer"), and `jpki
 * signer-tls init|issue-client`: its small TLS PKI for counters on other
 * machines.
 */
#include "cli/cli.h"
#include "ca/ca.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char usage_text[] =
    "usage: jpki signer --listen unix:PATH|tcp:HOST:PORT [--keys DIR]\n"
    "                   [--state DIR] [--user NAME] [--checkpoint-every S]\n"
    "                   [--no-sandbox]\n"
    "       --keys: the key files (default <data>/ca)\n"
    "       --state: the signer's own files (default <data>/signer)\n"
    "       tcp: needs the signer's TLS PKI (jpki signer-tls init)\n"
    "common: --data DIR\n";

static const char tls_usage_text[] =
    "usage: jpki signer-tls init --names HOST[,IP...] [--state DIR]\n"
    "       jpki signer-tls issue-client --name NAME --out DIR [--state DIR]\n"
    "       the signer's TLS PKI in <state>/tls (default <data>/signer/tls)\n"
    "common: --data DIR\n";

static void
ready(void *arg, const char *where)
{
	printf("jpki: signer listening on %s\n", where);
	fflush(stdout);
}

/* <state>/tls: the state directory given, or <data>/signer. */
static int
tls_dir(const char *data, const char *state, char *buf, size_t n)
{
	if (state != NULL)
		return jpki_path(buf, n, "%s/tls", state);
	return jpki_path(buf, n, "%s/signer/tls", cli_data_dir(data));
}

int
cli_signer_tls(int argc, char **argv)
{
	const char *data = NULL, *state = NULL, *names = NULL, *name = NULL,
	    *out = NULL;
	int init, r;
	char dir[JPKI_PATH_MAX], sdir[JPKI_PATH_MAX];
	const struct cli_opt init_opts[] = {
	    {"names", CLI_VALUE, .value = &names},
	    {"state", CLI_VALUE, .value = &state},
	};
	const struct cli_opt client_opts[] = {
	    {"name", CLI_VALUE, .value = &name},
	    {"out", CLI_VALUE, .value = &out},
	    {"state", CLI_VALUE, .value = &state},
	};
	struct cli_command cmd = {.group = "signer-tls",
	    .usage = tls_usage_text, .data = &data};

	if (strcmp(argv[1], "init") != 0 &&
	    strcmp(argv[1], "issue-client") != 0)
		return cli_not_a_subcommand(argv, tls_usage_text);
	init = strcmp(argv[1], "init") == 0;
	cmd.opts = init ? init_opts : client_opts;
	cmd.nopts = init ? JPKI_ARRAY_LEN(init_opts) :
	    JPKI_ARRAY_LEN(client_opts);
	if ((r = cli_parse(&cmd, argc - 1, argv + 1)) != CLI_RUN)
		return r;
	if (init && names == NULL)
		return cli_usage("jpki signer-tls init --names HOST[,IP...] "
		    "[--state DIR]");
	if (!init && (name == NULL || out == NULL))
		return cli_usage("jpki signer-tls issue-client --name NAME "
		    "--out DIR [--state DIR]");
	if ((r = tls_dir(data, state, dir, sizeof(dir))) != JPKI_OK)
		return cli_report(r);
	if (init) {
		/* The state directory itself first (0700). */
		snprintf(sdir, sizeof(sdir), "%s", dir);
		*strrchr(sdir, '/') = '\0';
		if (mkdir(sdir, 0700) != 0 && errno != EEXIST)
			return cli_report(jpki_fail(JPKI_ERR_IO, "%s: %s", sdir,
			    strerror(errno)));
		if ((r = ca_signer_tls_init(dir, names)) != JPKI_OK)
			return cli_report(r);
		printf("signer TLS: CA and server certificate in %s (ca.pem, "
		    "server.pem, server.key)\n", dir);
		return 0;
	}
	if ((r = ca_signer_tls_issue_client(dir, name, out)) != JPKI_OK)
		return cli_report(r);
	printf("signer TLS: client certificate for %s in %s (client.pem, "
	    "client.key, ca.pem)\n", name, out);
	return 0;
}

int
cli_signer(int argc, char **argv)
{
	const char *data = NULL, *listen = NULL, *keys = NULL, *state = NULL,
	    *user = NULL;
	long long every = 0;
	int no_sandbox = 0, r;
	struct cli_env env;
	struct ca_signer_daemon_options o;
	const struct cli_opt opts[] = {
	    {"listen", CLI_VALUE, .value = &listen},
	    {"keys", CLI_VALUE, .value = &keys},
	    {"state", CLI_VALUE, .value = &state},
	    {"user", CLI_VALUE, .value = &user},
	    {"checkpoint-every", CLI_NUMBER, .number = &every, .min = 1,
		.max = 86400},
	    {"no-sandbox", CLI_FLAG, .flag = &no_sandbox},
	};
	struct cli_command cmd = {.usage = usage_text, .opts = opts,
	    .nopts = JPKI_ARRAY_LEN(opts), .data = &data};

	if ((r = cli_parse(&cmd, argc, argv)) != CLI_RUN)
		return r;
	if (listen == NULL)
		return cli_usage("jpki signer: --listen unix:PATH or "
		    "tcp:HOST:PORT is needed");
	if ((r = cli_open(data, CLI_READ, &env)) != 0)
		return r;
	memset(&o, 0, sizeof(o));
	o.listen = listen;
	o.key_dir = keys;
	o.state_dir = state;
	o.user = user;
	o.checkpoint_every = (int)every;
	o.no_sandbox = no_sandbox;
	o.ready = ready;
	r = ca_signer_serve(env.dd, &o);
	if (r == JPKI_OK)
		printf("jpki: signer stopped\n");
	cli_close(&env);
	return cli_report(r);
}
