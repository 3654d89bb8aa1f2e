/*
 * cli_counter_forms.c: `jpki counter proxy-apply|proxy-complete|notices|
 * form-show` — the proxy procedures with the inquiry/response form
 * (R12-R14) and expiry notices.  The `jpki counter` dispatcher
 * (cli_counter.c) calls cli_counter_forms() first; -1 means "not one of
 * mine".
 *
 * Secrets never come from the command line: the form's check code from
 * JPKI_FORM_CHECK_CODE or a no-echo prompt, the PINs written on the form
 * from JPKI_SIGN_PASSWORD, JPKI_AUTH_PIN, JPKI_CARDINFO_PIN or prompts.
 */
#include "cli/cli.h"
#include "counter/counter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Under LeakSanitizer (the ASan build): cairo 1.16 with Pango keeps a few
 * hundred bytes per PDF inside libcairo and fontconfig even when every
 * object made is destroyed (a ten-line cairo/pango program shows the same);
 * without this every `notices` and `proxy-apply` of the ASan build would
 * exit non-zero.  Unused in other builds. */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:libcairo.so\nleak:libfontconfig.so\n";
}

/* ...and without a table of the suppressions used on stderr, which would
 * break "one line on stderr" for every command of the ASan build. */
const char *__lsan_default_options(void);
const char *
__lsan_default_options(void)
{
	return "print_suppressions=0";
}

static const char usage_text[] =
    "usage: jpki counter proxy-apply --resident ID --purpose issue|renew|reset-pin\n"
    "           [--type sign|auth|both] [--pin sign|auth|cardinfo]\n"
    "           --proxy-name NAME --proxy-id-type TYPE --proxy-id-number NO\n"
    "           --out FORM.pdf --clerk NAME [--json]\n"
    "       jpki counter proxy-complete --form N (--card CARD | --reader NAME)\n"
    "                                   [--purpose P]\n"
    "           --proxy-name NAME --proxy-id-type TYPE --proxy-id-number NO\n"
    "           --clerk NAME [--json]\n"
    "           (check code: JPKI_FORM_CHECK_CODE or prompt; PINs written on\n"
    "            the form: JPKI_SIGN_PASSWORD, JPKI_AUTH_PIN, JPKI_CARDINFO_PIN\n"
    "            or prompts)\n"
    "       jpki counter notices --within 3m|90d --out DIR --clerk NAME\n"
    "           [--no-progress] [--json]\n"
    "       jpki counter form-show N [--json]\n"
    "common: --data DIR\n";

struct args {
	const char *data, *clerk, *resident, *purpose, *type, *pin, *out;
	const char *form, *card, *reader, *within, *pos;
	struct proxy_person proxy;
	int json, no_progress;
};

static int
parse(int argc, char **argv, struct args *a)
{
	const struct cli_opt opts[] = {
	    {"clerk", CLI_VALUE, .value = &a->clerk},
	    {"resident", CLI_POSITIVE, .value = &a->resident},
	    {"purpose", CLI_VALUE, .value = &a->purpose},
	    {"type", CLI_VALUE, .value = &a->type},
	    {"pin", CLI_VALUE, .value = &a->pin},
	    {"proxy-name", CLI_TEXT, .value = &a->proxy.name},
	    {"proxy-id-type", CLI_TEXT, .value = &a->proxy.doc_type},
	    {"proxy-id-number", CLI_TEXT, .value = &a->proxy.doc_number},
	    {"out", CLI_VALUE, .value = &a->out},
	    {"form", CLI_POSITIVE, .value = &a->form},
	    {"card", CLI_VALUE, .value = &a->card},
	    /* proxy-complete: the holder's card in a PC/SC reader. */
	    {"reader", CLI_VALUE, .value = &a->reader},
	    {"within", CLI_VALUE, .value = &a->within},
	    {"no-progress", CLI_FLAG, .flag = &a->no_progress},
	};
	struct cli_command cmd = {.group = "counter", .usage = usage_text,
	    .opts = opts, .nopts = JPKI_ARRAY_LEN(opts), .data = &a->data,
	    .json = &a->json, .pos = &a->pos, .max_pos = 1};

	memset(a, 0, sizeof(*a));
	return cli_parse(&cmd, argc, argv);
}

static int
parse_positive(const char *opt, const char *s, int64_t *out)
{
	long long v;
	int r;

	if (s == NULL)
		return jpki_fail(JPKI_ERR_USAGE, "%s is needed", opt);
	if ((r = cli_parse_i64(opt, s, &v)) != JPKI_OK)
		return r;
	if (v <= 0)
		return jpki_fail(JPKI_ERR_USAGE, "%s: must be positive", opt);
	*out = v;
	return JPKI_OK;
}

static int
need_clerk(const struct args *a)
{
	if (a->clerk == NULL || a->clerk[0] == '\0')
		return jpki_fail(JPKI_ERR_USAGE, "--clerk NAME is needed: every "
		    "counter procedure records the clerk");
	return JPKI_OK;
}

static json_t *
empty_receipt(const char *procedure)
{
	return json_pack("{s:s, s:[], s:i}", "procedure", procedure, "fees",
	    "total_yen", 0);
}

/* ---- proxy-apply (R14, visit 1) ---- */

static int
cmd_apply(struct cli_env *e, struct args *a)
{
	struct proxy_apply_result res;
	enum form_purpose purpose;
	enum pin_kind pin = 0;
	int64_t resident = 0;
	int types = 0, r;
	char exp[11];

	if ((r = parse_positive("--resident", a->resident, &resident)))
		return r;
	if (a->purpose == NULL)
		return jpki_fail(JPKI_ERR_USAGE, "--purpose issue|renew|"
		    "reset-pin is needed");
	if ((r = counter_form_purpose_parse(a->purpose, &purpose)) != JPKI_OK)
		return r;
	if (purpose == FORM_PIN_RESET) {
		if (a->pin == NULL)
			return jpki_fail(JPKI_ERR_USAGE, "reset-pin needs --pin "
			    "sign|auth|cardinfo");
		if (rules_pin_kind_parse(a->pin, &pin) != JPKI_OK)
			return jpki_fail(JPKI_ERR_USAGE, "--pin: '%.20s' is not "
			    "sign, auth or cardinfo", a->pin);
	} else if (counter_types_parse(a->type ? a->type : "both", &types) !=
	    JPKI_OK) {
		return jpki_fail(JPKI_ERR_USAGE, "--type: sign, auth or both "
		    "(got '%.20s')", a->type);
	}
	if ((r = counter_proxy_apply(e->ca, resident, purpose, types, pin,
	    &a->proxy, a->clerk, a->out, &res)) != JPKI_OK)
		return r;
	jdate_format(res.form_expiry, exp);
	if (a->json) {
		cli_print_json(json_pack("{s:I, s:I, s:s, s:s, s:s, s:o}",
		    "application", (json_int_t)res.application_id,
		    "form", (json_int_t)res.form_number,
		    "form_expiry", exp, "pdf", res.pdf_path,
		    "purpose", counter_form_purpose_name(purpose),
		    "receipt", empty_receipt("proxy-apply")));
	} else {
		printf("proxy application %lld recorded (proxy: %s, %s %s)\n"
		    "inquiry/response form %lld, valid until %s, to be mailed "
		    "to the holder: %s\n"
		    "R14: the proxy completes at a later visit with the form "
		    "(`jpki counter proxy-complete --form %lld`)\n"
		    "fees: none\n",
		    (long long)res.application_id, a->proxy.name,
		    a->proxy.doc_type, a->proxy.doc_number,
		    (long long)res.form_number, exp, res.pdf_path,
		    (long long)res.form_number);
	}
	return JPKI_OK;
}

/* ---- proxy-complete (R13, R14 visit 2) ---- */

struct form_secrets {
	char code[FORM_CODE_INPUT_MAX + 2];
	char sign[RULES_PIN_MAX + 2], auth[RULES_PIN_MAX + 2];
	char cardinfo[RULES_PIN_MAX + 2];
};

/* Ask only for what the form carries. */
static int
read_form_secrets(const struct inquiry_form *f, struct form_secrets *s,
    struct counter_pins *pins)
{
	int want_sign, want_auth, want_info, r;

	memset(pins, 0, sizeof(*pins));
	if ((r = cli_read_secret("JPKI_FORM_CHECK_CODE", "check code printed "
	    "on the form: ", s->code, sizeof(s->code))) != JPKI_OK)
		return r;
	want_sign = f->purpose == FORM_PIN_RESET ? f->pin_kind == PIN_SIGN :
	    (f->cert_types & COUNTER_SIGN) != 0;
	want_auth = f->purpose == FORM_PIN_RESET ? f->pin_kind == PIN_AUTH :
	    (f->cert_types & COUNTER_AUTH) != 0;
	want_info = f->purpose == FORM_PIN_RESET && f->pin_kind == PIN_CARDINFO;
	if (want_sign) {
		if ((r = cli_read_secret("JPKI_SIGN_PASSWORD", "signing "
		    "password written on the form: ", s->sign,
		    sizeof(s->sign))) != JPKI_OK)
			return r;
		pins->sign = s->sign;
	}
	if (want_auth) {
		if ((r = cli_read_secret("JPKI_AUTH_PIN", "authentication PIN "
		    "written on the form: ", s->auth, sizeof(s->auth))))
			return r;
		pins->auth = s->auth;
	}
	if (want_info) {
		if ((r = cli_read_secret("JPKI_CARDINFO_PIN", "card-info PIN "
		    "written on the form: ", s->cardinfo, sizeof(s->cardinfo))))
			return r;
		pins->cardinfo = s->cardinfo;
	}
	return JPKI_OK;
}

static int
cmd_complete(struct cli_env *e, struct args *a)
{
	struct form_secrets sec;
	struct counter_pins pins;
	struct counter_receipt rcpt;
	struct inquiry_form f;
	enum form_purpose purpose = 0;
	int64_t number = 0;
	int r;

	memset(&sec, 0, sizeof(sec));
	memset(&rcpt, 0, sizeof(rcpt));
	if (a->form == NULL)    /* R14: refused, with the way forward */
		return counter_proxy_complete(e->ca, 0, 0, a->card, a->reader,
		    NULL, NULL, &a->proxy, a->clerk, &rcpt);
	if ((r = parse_positive("--form", a->form, &number)) != JPKI_OK)
		return r;
	if (a->purpose != NULL &&
	    (r = counter_form_purpose_parse(a->purpose, &purpose)) != JPKI_OK)
		return r;
	if ((a->card == NULL) == (a->reader == NULL))
		return jpki_fail(JPKI_ERR_USAGE, "--card CARD is needed (R13: "
		    "the holder's card; or --reader NAME, one of the two)");
	if ((r = store_form_get(datadir_store(e->dd), number, &f)) != JPKI_OK)
		return r;
	if ((r = read_form_secrets(&f, &sec, &pins)) != JPKI_OK)
		goto out;
	if ((r = counter_proxy_complete(e->ca, number, purpose, a->card,
	    a->reader, sec.code, &pins, &a->proxy, a->clerk, &rcpt)) != JPKI_OK)
		goto out;
	if (a->json) {
		cli_print_json(json_pack("{s:I, s:s, s:{s:s, s:s, s:s}, s:o}",
		    "form", (json_int_t)number,
		    "purpose", counter_form_purpose_name(f.purpose),
		    "proxy", "name", a->proxy.name,
		    "document_type", a->proxy.doc_type,
		    "document_number", a->proxy.doc_number,
		    "receipt", counter_receipt_json(&rcpt)));
	} else {
		printf("inquiry/response form %lld used; proxy %s (%s %s); "
		    "the card goes back to the proxy\n", (long long)number,
		    a->proxy.name, a->proxy.doc_type, a->proxy.doc_number);
		counter_receipt_print(stdout, &rcpt);
	}
out:
	jpki_wipe(&sec, sizeof(sec));
	return r;
}

/* ---- notices (R12) ---- */

static void
progress_bar(void *arg, size_t done, size_t total)
{
	int *last = arg;
	int width = 40, filled, pct;

	if (total == 0)
		return;
	pct = (int)(done * 100 / total);
	if (pct == *last && done != total)
		return;
	*last = pct;
	filled = (int)(done * (size_t)width / total);
	fprintf(stderr, "\rnotices [%.*s%*s] %3d%% %zu/%zu", filled,
	    "########################################", width - filled, "",
	    pct, done, total);
	if (done == total)
		fputc('\n', stderr);
	fflush(stderr);
}

/* "3m" (months) or "90d" (days). */
static int
parse_window(const char *s, int *months, int *days)
{
	char *end;
	long v;

	*months = *days = 0;
	if (s == NULL)
		return jpki_fail(JPKI_ERR_USAGE, "--within 3m|90d is needed");
	v = strtol(s, &end, 10);
	if (end == s || v <= 0 || v > 10000 || end[0] == '\0' ||
	    end[1] != '\0' || (end[0] != 'm' && end[0] != 'd'))
		return jpki_fail(JPKI_ERR_USAGE, "--within: '%.20s' is not a "
		    "window such as 3m (months) or 90d (days)", s);
	if (end[0] == 'm')
		*months = (int)v;
	else
		*days = (int)v;
	return JPKI_OK;
}

static int
cmd_notices(struct cli_env *e, struct args *a)
{
	struct notice_run run;
	int last = -1, r;

	memset(&run, 0, sizeof(run));
	if ((r = parse_window(a->within, &run.within_months,
	    &run.within_days)) != JPKI_OK)
		return r;
	if (a->out == NULL)
		return jpki_fail(JPKI_ERR_USAGE, "--out DIR is needed");
	run.out_dir = a->out;
	run.clerk = a->clerk;
	if (!a->no_progress && isatty(STDERR_FILENO)) {
		run.progress = progress_bar;
		run.progress_arg = &last;
	}
	if ((r = counter_notices(e->dd, &run)) != JPKI_OK)
		return r;
	if (a->json)
		cli_print_json(json_pack("{s:I, s:I, s:I, s:s, s:s, s:o}",
		    "certificates", (json_int_t)run.certificates,
		    "notices", (json_int_t)run.notices_made,
		    "already", (json_int_t)run.already,
		    "csv", run.csv_path, "out", run.out_dir,
		    "receipt", empty_receipt("notices")));
	else
		printf("%ld certificate(s) expiring within %s: %ld new "
		    "notice(s), %ld already noticed\nsummary: %s\n",
		    run.certificates, a->within, run.notices_made, run.already,
		    run.csv_path);
	return JPKI_OK;
}

/* ---- form-show ---- */

static json_t *
types_json(const struct inquiry_form *f)
{
	json_t *t = json_array();

	if (f->cert_types & COUNTER_SIGN)
		json_array_append_new(t, json_string("sign"));
	if (f->cert_types & COUNTER_AUTH)
		json_array_append_new(t, json_string("auth"));
	return t;
}

static int
cmd_show(struct cli_env *e, struct args *a)
{
	struct inquiry_form f;
	char issued[11], expiry[11], used[26] = "";
	int64_t number = 0;
	int r;

	if ((r = parse_positive("form number", a->pos ? a->pos : a->form,
	    &number)) != JPKI_OK)
		return r;
	if ((r = store_form_get(datadir_store(e->dd), number, &f)) != JPKI_OK)
		return r;
	jdate_format(f.issued_on, issued);
	jdate_format(f.expiry, expiry);
	if (f.status == FORM_USED)
		iso8601_format_jst(f.used_at, used);
	/* The check code is not stored and so never shown. */
	if (a->json) {
		cli_print_json(json_pack("{s:I, s:I, s:s, s:o, s:s*, s:s, s:I,"
		    " s:s, s:s, s:s, s:s*}",
		    "number", (json_int_t)f.number,
		    "resident", (json_int_t)f.resident_id,
		    "purpose", counter_form_purpose_name(f.purpose),
		    "types", types_json(&f),
		    "pin", f.purpose == FORM_PIN_RESET ?
		    rules_pin_kind_name((enum pin_kind)f.pin_kind) : NULL,
		    "origin", f.origin == FORM_FROM_NOTICE ? "notice" :
		    "application",
		    "application", (json_int_t)f.application_id,
		    "issued_on", issued, "expiry", expiry,
		    "status", f.status == FORM_USED ? "used" : "unused",
		    "used_at", f.status == FORM_USED ? used : NULL));
	} else {
		printf("form:       %lld\nresident:   %lld\npurpose:    %s\n"
		    "types:      %s%s%s\norigin:     %s\nissued on:  %s\n"
		    "expiry:     %s\nstatus:     %s%s%s\n", (long long)f.number,
		    (long long)f.resident_id,
		    counter_form_purpose_name(f.purpose),
		    f.cert_types & COUNTER_SIGN ? "sign " : "",
		    f.cert_types & COUNTER_AUTH ? "auth " : "",
		    f.purpose == FORM_PIN_RESET ?
		    rules_pin_kind_name((enum pin_kind)f.pin_kind) : "",
		    f.origin == FORM_FROM_NOTICE ? "expiry notice" :
		    "mailed after a proxy application", issued, expiry,
		    f.status == FORM_USED ? "used " : "unused", used, "");
	}
	return JPKI_OK;
}

int
cli_counter_forms(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(struct cli_env *, struct args *);
		int procedure;          /* records a clerk */
		unsigned open;
	} cmds[] = {
	    {"proxy-apply", cmd_apply, 1, CLI_WRITE | CLI_CA_CERTS},
	    {"proxy-complete", cmd_complete, 1, CLI_CA_SIGN},
	    {"notices", cmd_notices, 1, CLI_WRITE},
	    {"form-show", cmd_show, 0, CLI_READ},
	};
	struct args a;
	struct cli_env env;
	int rc;

	if (argc < 2)
		return -1;
	for (size_t i = 0; i < JPKI_ARRAY_LEN(cmds); i++) {
		if (strcmp(argv[1], cmds[i].name) != 0)
			continue;
		if ((rc = parse(argc - 1, argv + 1, &a)) != CLI_RUN)
			return rc;
		/* Bad usage is reported before the data directory is opened. */
		if (cmds[i].procedure && (rc = need_clerk(&a)) != JPKI_OK)
			return cli_report(rc);
		if ((rc = cli_open(a.data, cmds[i].open, &env)) != 0)
			return rc;
		rc = cmds[i].run(&env, &a);
		cli_close(&env);
		return cli_report(rc);
	}
	return -1;
}
