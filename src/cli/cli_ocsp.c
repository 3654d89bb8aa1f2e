/*
 * cli_ocsp.c: `jpki ocsp respond`: answer a DER OCSP request (as `openssl
 * ocsp -reqout` writes one) from the store, the way the responders at the
 * certificates' AIA URIs answer: the DER response to --out, and what it
 * says on stdout.
 */
#include "cli/cli.h"
#include "ca/ca.h"
#include "pki/pki.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage_text[] =
    "usage: jpki ocsp respond --in REQUEST.der --out RESPONSE.der [--json]\n"
    "common: --data DIR\n";

enum { O_DATA = 1, O_JSON, O_IN, O_OUT, O_HELP };

static const struct option opts[] = {
    {"data", required_argument, NULL, O_DATA},
    {"json", no_argument, NULL, O_JSON},
    {"in", required_argument, NULL, O_IN},
    {"out", required_argument, NULL, O_OUT},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

static const char *
cert_status_name(int s)
{
	return s == PKI_OCSP_GOOD ? "good" : s == PKI_OCSP_REVOKED ? "revoked" :
	    "unknown";
}

static const char *
response_status_name(int s)
{
	switch (s) {
	case PKI_OCSP_SUCCESSFUL: return "successful";
	case PKI_OCSP_MALFORMED: return "malformedRequest";
	case PKI_OCSP_UNAUTHORIZED: return "unauthorized";
	default: return "internalError";
	}
}

static int
respond(int argc, char **argv)
{
	const char *data = NULL, *in = NULL, *out = NULL;
	struct ca_ocsp_answer ans;
	struct jbuf req, resp;
	struct cli_env env;
	int json = 0, c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_DATA: data = optarg; break;
		case O_JSON: json = 1; break;
		case O_IN: in = optarg; break;
		case O_OUT: out = optarg; break;
		case O_HELP: fputs(usage_text, stdout); return 0;
		default: return cli_bad_option(argv);
		}
	}
	if (optind != argc)
		return cli_usage("unexpected argument '%s'", argv[optind]);
	if (in == NULL || out == NULL)
		return cli_usage("respond needs --in REQUEST.der and --out "
		    "RESPONSE.der");
	/* Like `jpki serve`: the data directory read-only, the responder
	 * keys and no CA key. */
	if ((r = cli_open(data, CLI_OCSP, &env)) != 0)
		return r;
	jbuf_init(&req);
	jbuf_init(&resp);
	/* One byte over the limit, so that an oversized request is refused
	 * by the parser with its message, not cut short here. */
	if ((r = file_read_all(in, PKI_OCSP_REQUEST_MAX + 1, &req)) != JPKI_OK)
		goto done;
	if ((r = ca_ocsp_respond(env.ca, req.data, req.len, &resp, &ans)) ||
	    (r = durable_write(out, resp.data, resp.len, 0644)) != JPKI_OK)
		goto done;
	if (json) {
		json_t *o = json_pack("{s:s}", "status",
		    response_status_name(ans.status)), *arr = json_array();

		for (size_t i = 0; i < ans.n; i++) {
			json_t *e = json_pack("{s:s, s:s, s:s}", "serial",
			    ans.cert[i].serial, "type",
			    rules_cert_type_name(ans.type), "status",
			    cert_status_name(ans.cert[i].status));

			if (ans.cert[i].status == PKI_OCSP_REVOKED) {
				char at[26];

				iso8601_format_jst(ans.cert[i].revoked_at, at);
				json_object_set_new(e, "revoked_at",
				    json_string(at));
				json_object_set_new(e, "reason",
				    json_string(revocation_reason_name(
				    ans.cert[i].reason)));
			}
			json_array_append_new(arr, e);
		}
		json_object_set_new(o, "responses", arr);
		if (ans.status != PKI_OCSP_SUCCESSFUL)
			json_object_set_new(o, "why", json_string(ans.why));
		cli_print_json(o);
	} else {
		printf("%s\n", response_status_name(ans.status));
		for (size_t i = 0; i < ans.n; i++)
			printf("%s %s: %s%s%s\n", rules_cert_type_name(ans.type),
			    ans.cert[i].serial,
			    cert_status_name(ans.cert[i].status),
			    ans.cert[i].status == PKI_OCSP_REVOKED ? " " : "",
			    ans.cert[i].status == PKI_OCSP_REVOKED ?
			    revocation_reason_name(ans.cert[i].reason) : "");
	}
	/* The error response is written (a server would send it), and the
	 * request was still bad input. */
	if (ans.status == PKI_OCSP_MALFORMED)
		r = jpki_fail(JPKI_ERR_INPUT, "%s", ans.why);
	else if (ans.status == PKI_OCSP_UNAUTHORIZED)
		r = jpki_fail(JPKI_ERR_REFUSED, "%s", ans.why);
done:
	cli_close(&env);
	jbuf_free(&req);
	jbuf_free(&resp);
	return cli_report(r);
}

int
cli_ocsp(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "respond") == 0)
		return respond(argc - 1, argv + 1);
	return cli_usage("jpki ocsp: unknown subcommand '%s'", argv[1]);
}
