/*
 * cli_serve.c: `jpki serve`: the CA certificates, CRLs and OCSP over HTTP at
 * the URIs the certificates carry (src/server/server.h), until SIGINT or
 * SIGTERM, on which it stops accepting and lets the requests begun finish
 * (server_drain) before it exits.  It listens on loopback unless told
 * otherwise.
 */
#include "cli/cli.h"
#include "server/server.h"
#include "rp/rp.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

static const char usage_text[] =
    "usage: jpki serve [--listen HOST:PORT] [--access-log FILE]\n"
    "                  [--crl-delay SECONDS | --no-crl] [--no-presign]\n"
    "                  [--rp] [--kiosk] [--origin URL] [--user NAME]\n"
    "       --listen: default 127.0.0.1:8080; [::1]:8080 for IPv6;\n"
    "                 port 0: any free port, printed\n"
    "       --access-log: append one JSON line per request to FILE\n"
    "       --crl-delay: a revocation is on the CRLs this many seconds\n"
    "                 after at most (default: the config's crl_delay, 60)\n"
    "       --no-crl: make no CRL (serve those `jpki crl generate` made)\n"
    "       --rp: also the relying party's /rp/challenge, /rp/login,\n"
    "                 /rp/verify, /rp/link (the store opened read-write)\n"
    "       --kiosk: also the municipality's kiosk, /kiosk/challenge and\n"
    "                 /kiosk/residence (residence certificates signed with\n"
    "                 the municipality's key, made on first need)\n"
    "       --origin: the relying party's login origin (default: the\n"
    "                 config's base_url)\n"
    "       --no-presign: no OCSP pre-signer in this server (another\n"
    "                 server or `jpki ocsp presign` makes the responses)\n"
    "       --user: when started as root, run as NAME once listening\n"
    "common: --data DIR\n";

/* "127.0.0.1:8080" or "[::1]:8080" into host and port (cli.h). */
int
cli_parse_listen(const char *s, char *host, size_t n, unsigned *port)
{
	const char *colon;
	long long p;
	size_t hl;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (end == NULL || end[1] != ':')
			return cli_usage("--listen: '%s' is not [ADDRESS]:PORT", s);
		hl = (size_t)(end - s - 1);
		s++;
		colon = end + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return cli_usage("--listen: '%s' is not HOST:PORT", s);
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= n)
		return cli_usage("--listen: no address in '%s'", s);
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (cli_parse_i64("--listen port", colon + 1, &p) != JPKI_OK ||
	    p < 0 || p > 65535)
		return cli_usage("--listen: '%s' is not a port", colon + 1);
	*port = (unsigned)p;
	return 0;
}

int
cli_serve(int argc, char **argv)
{
	const char *data = NULL, *listen = "127.0.0.1:8080", *log = NULL,
	    *origin = NULL, *user = NULL;
	struct rp_service_options ro = {0};
	struct rp_service *rp = NULL;
	struct server_options o;
	struct server *s = NULL;
	char host[64];
	sigset_t set;
	long long crl_delay = 0;
	int sig, r, no_crl = 0, rp_on = 0, kiosk_on = 0, no_presign = 0;
	const struct cli_opt opts[] = {
	    {"listen", CLI_VALUE, .value = &listen},
	    {"access-log", CLI_VALUE, .value = &log},
	    {"crl-delay", CLI_NUMBER, .number = &crl_delay, .min = 1,
	     .max = SERVER_CRL_DELAY_MAX},
	    {"no-crl", CLI_FLAG, .flag = &no_crl},
	    {"rp", CLI_FLAG, .flag = &rp_on},
	    {"kiosk", CLI_FLAG, .flag = &kiosk_on},
	    {"origin", CLI_VALUE, .value = &origin},
	    {"no-presign", CLI_FLAG, .flag = &no_presign},
	    {"user", CLI_VALUE, .value = &user},
	};
	struct cli_command cmd = {.usage = usage_text, .opts = opts,
	    .nopts = JPKI_ARRAY_LEN(opts), .data = &data};

	if ((r = cli_parse(&cmd, argc, argv)) != CLI_RUN)
		return r;
	memset(&o, 0, sizeof(o));
	if ((r = cli_parse_listen(listen, host, sizeof(host), &o.port)) != 0)
		return r;
	o.host = host;
	o.access_log = log;
	if (no_crl && crl_delay != 0)
		return cli_usage("--crl-delay and --no-crl: one or the other");
	o.crl_delay = (unsigned)crl_delay;
	o.crl_off = no_crl;
	o.no_presign = no_presign;
	o.data_dir = cli_data_dir(data);
	/* A --user this process cannot become is refused before anything
	 * starts (the CRL publisher among it). */
	if (user != NULL) {
		uid_t uid;
		gid_t gid;

		if ((r = ca_user_check(user, &uid, &gid)) != JPKI_OK)
			return cli_report(r);
	}
	/* Blocked before the server's thread starts, so it inherits the mask
	 * and the signals come to sigwait below. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* The relying party's routes, from the module above the server, when
	 * asked for: they keep login nonces, so they need the store
	 * read-write (the primary), where the responder alone reads (a
	 * replica will do). */
	if (origin != NULL && !rp_on && !kiosk_on)
		return cli_usage("--origin: only with --rp or --kiosk");
	if (rp_on || kiosk_on) {
		ro.data_dir = o.data_dir;
		ro.origin = origin;
		ro.rp = rp_on;
		ro.kiosk = kiosk_on;
		if ((r = rp_service_new(&ro, &rp)) != JPKI_OK)
			return cli_report(r);
		o.handlers = rp_service_handlers(rp, &o.nhandlers);
	}
	if ((r = server_start(&o, &s)) != JPKI_OK) {
		rp_service_free(&rp);
		return cli_report(r);
	}
	if (rp != NULL && (r = rp_service_start(rp)) != JPKI_OK) {
		server_stop(&s);
		rp_service_free(&rp);
		return cli_report(r);
	}
	/* Bound, store and responder keys open, access log open, the relying
	 * party's routes started: nothing more needs root
	 * (docs/ca-operations.md, "Who can reach what"). */
	if (user != NULL) {
		uid_t uid;
		gid_t gid;

		if ((r = ca_drop_user(user, &uid, &gid)) != JPKI_OK ||
		    (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 &&
		    (r = jpki_fail(JPKI_ERR_IO, "no_new_privs: %s",
		    strerror(errno))) != JPKI_OK)) {
			server_stop(&s);
			rp_service_free(&rp);
			return cli_report(r);
		}
	}
	printf("jpki: serving http://%s%s%s:%u/ from %s (Ctrl-C stops)\n",
	    strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
	    server_port(s), o.data_dir);
	fflush(stdout);
	sigwait(&set, &sig);
	server_stop_accepting(s);
	printf("jpki: stopping: accepting nothing new, finishing the "
	    "requests begun\n");
	fflush(stdout);
	r = server_drain(s, SERVER_DRAIN_MS);
	server_stop(&s);
	rp_service_free(&rp);
	if (r != JPKI_OK)
		return cli_report(r);
	printf("jpki: stopped\n");
	return 0;
}
