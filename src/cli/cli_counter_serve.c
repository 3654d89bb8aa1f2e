/*
 * cli_counter_serve.c: `jpki counter serve`, the counter's web UI
 * (src/webui): its own listener, apart from the public `jpki serve`, on
 * loopback unless told otherwise, HTTPS with --tls-cert and --tls-key.
 * Runs until SIGINT or SIGTERM.
 */
#include "cli/cli.h"
#include "webui/webui.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static const char usage_text[] =
    "usage: jpki counter serve [--listen HOST:PORT] [--tls-cert PEM "
    "--tls-key PEM]\n"
    "       [--web DIR] [--idle-timeout SECONDS]\n"
    "       --listen: default 127.0.0.1:8081; port 0: any free port, printed\n"
    "       --web: the pages (default: $JPKI_WEB, else web/ of the source)\n"
    "common: --data DIR\n";

int
cli_counter_serve(int argc, char **argv)
{
	const char *data = NULL, *listen = "127.0.0.1:8081", *cert = NULL,
	    *key = NULL, *web = NULL;
	long long idle = 0;
	struct webui_options o;
	struct webui *w = NULL;
	char host[64];
	sigset_t set;
	int sig, r;
	const struct cli_opt opts[] = {
	    {"listen", CLI_VALUE, .value = &listen},
	    {"tls-cert", CLI_VALUE, .value = &cert},
	    {"tls-key", CLI_VALUE, .value = &key},
	    {"web", CLI_VALUE, .value = &web},
	    {"idle-timeout", CLI_NUMBER, .number = &idle, .min = 1,
		.max = 86400},
	};
	struct cli_command cmd = {.group = "counter", .usage = usage_text,
	    .opts = opts, .nopts = JPKI_ARRAY_LEN(opts), .data = &data};

	if ((r = cli_parse(&cmd, argc - 1, argv + 1)) != CLI_RUN)
		return r;
	if ((cert == NULL) != (key == NULL))
		return cli_usage("counter serve: --tls-cert and --tls-key go "
		    "together");
	memset(&o, 0, sizeof(o));
	if ((r = cli_parse_listen(listen, host, sizeof(host), &o.port)) != 0)
		return r;
	o.host = host;
	o.data_dir = cli_data_dir(data);
	o.tls_cert = cert;
	o.tls_key = key;
	o.web_dir = web;
	o.idle_seconds = (unsigned)idle;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((r = webui_start(&o, &w)) != JPKI_OK)
		return cli_report(r);
	printf("jpki: counter web UI on %s://%s%s%s:%u/ from %s (Ctrl-C "
	    "stops)\n", cert ? "https" : "http", strchr(host, ':') ? "[" : "",
	    host, strchr(host, ':') ? "]" : "", webui_port(w), o.data_dir);
	fflush(stdout);
	sigwait(&set, &sig);
	webui_stop(&w);
	printf("jpki: counter web UI stopped\n");
	return 0;
}
