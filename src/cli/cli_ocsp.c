/*
 * cli_ocsp.c: `jpki ocsp respond`: answer a DER OCSP request (as `openssl
 * ocsp -reqout` writes one) from the store, the way the responders at the
 * certificates' AIA URIs answer: the DER response to --out, and what it
 * says on stdout.  `jpki ocsp presign`: make the pre-signed responses
 * every certificate not expired should have (what `jpki serve` does in the
 * background), for scripted use and a first run on a large store.
 */
#include "cli/cli.h"
#include "ca/ca.h"
#include "pki/pki.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: jpki ocsp respond --in REQUEST.der --out RESPONSE.der [--json]\n"
    "       jpki ocsp presign [--threads N] [--json]\n"
    "common: --data DIR\n";

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
	int json = 0, r;
	const struct cli_opt opts[] = {
	    {"in", CLI_VALUE, .value = &in},
	    {"out", CLI_VALUE, .value = &out},
	};
	struct cli_command cmd = {.group = "ocsp", .usage = usage_text,
	    .opts = opts, .nopts = JPKI_ARRAY_LEN(opts), .data = &data,
	    .json = &json};

	if ((r = cli_parse(&cmd, argc, argv)) != CLI_RUN)
		return r;
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
	if ((r = ca_ocsp_respond(env.ca, req.data, req.len, &resp, &ans)))
		goto done;
	/* The error response is what a server would send, and stdout says
	 * so; but the request was bad input, and a command that fails writes
	 * no --out file. */
	if (ans.status == PKI_OCSP_MALFORMED)
		r = jpki_fail(JPKI_ERR_INPUT, "%s", ans.why);
	else if (ans.status == PKI_OCSP_UNAUTHORIZED)
		r = jpki_fail(JPKI_ERR_REFUSED, "%s", ans.why);
	else if ((r = cli_write_file("--out", out, resp.data, resp.len)))
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
				    json_string(store_revocation_reason_name(
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
			    store_revocation_reason_name(ans.cert[i].reason) :
			    "");
	}
done:
	cli_close(&env);
	jbuf_free(&req);
	jbuf_free(&resp);
	return cli_report(r);
}

static int
presign(int argc, char **argv)
{
	const char *data = NULL;
	long long threads = 0;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	struct ca_presign_pass pass;
	struct ca_presigner *ps = NULL;
	struct cli_env env;
	struct timespec t0, t1;
	double secs;
	int json = 0, r;
	const struct cli_opt opts[] = {
	    {"threads", CLI_NUMBER, .number = &threads, .min = 1,
	    .max = CA_PRESIGN_THREADS_MAX},
	};
	struct cli_command cmd = {.group = "ocsp", .usage = usage_text,
	    .opts = opts, .nopts = JPKI_ARRAY_LEN(opts), .data = &data,
	    .json = &json};

	if ((r = cli_parse(&cmd, argc, argv)) != CLI_RUN)
		return r;
	if (threads == 0)
		threads = cores > 0 ? (cores < CA_PRESIGN_THREADS_MAX ? cores :
		    CA_PRESIGN_THREADS_MAX) : 1;
	/* The responder keys only, and the store read-write for the
	 * responses. */
	if ((r = cli_open(data, CLI_WRITE | CLI_OCSP, &env)) != 0)
		return r;
	memset(&pass, 0, sizeof(pass));
	pass.what = CA_PRESIGN_ALL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* A lost response is made again by the next pass: no fsync a batch. */
	if ((r = store_set_durable(datadir_store(env.dd), 0)) == JPKI_OK &&
	    (r = ca_presigner_new(env.ca, (int)threads, &ps)) == JPKI_OK)
		r = ca_presign_run(ps, &pass);
	ca_presigner_free(&ps);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (r == JPKI_OK && json) {
		cli_print_json(json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:f, "
		    "s:I}", "looked", (json_int_t)pass.looked, "signed_good",
		    (json_int_t)pass.signed_good, "signed_revoked",
		    (json_int_t)pass.signed_revoked, "current",
		    (json_int_t)pass.current, "removed", (json_int_t)pass.removed,
		    "raced", (json_int_t)pass.raced, "seconds", secs, "threads",
		    (json_int_t)threads));
	} else if (r == JPKI_OK) {
		long made = pass.signed_good + pass.signed_revoked;

		printf("presigned %ld (%ld good, %ld revoked) of %ld "
		    "certificates not expired, %ld already current, %ld removed, "
		    "in %.2f s (%.0f/s, %lld threads)\n", made, pass.signed_good,
		    pass.signed_revoked, pass.looked, pass.current, pass.removed,
		    secs, secs > 0 ? (double)made / secs : 0, threads);
		if (pass.raced > 0)
			printf("%ld changed while signed: made again by the next "
			    "pass\n", pass.raced);
	}
	cli_close(&env);
	return cli_report(r);
}

int
cli_ocsp(int argc, char **argv)
{
	if (strcmp(argv[1], "respond") == 0)
		return respond(argc - 1, argv + 1);
	if (strcmp(argv[1], "presign") == 0)
		return presign(argc - 1, argv + 1);
	return cli_not_a_subcommand(argv, usage_text);
}
