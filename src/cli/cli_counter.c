/*
 * cli_counter.c: `jpki counter`, the municipal counter's procedures.
 *
 *   deliver --resident ID --out CARD [--no-sign] [--no-auth] [--photo F]
 *   issue --card CARD --type sign|auth|both
 *   renew --card CARD --type sign|auth|both
 *   report-lost (--card CARD | --resident ID)
 *   reissue --resident ID --out CARD [--no-sign] [--no-auth]
 *   reset-pin --card CARD --type sign|auth|cardinfo
 *   update-card --card CARD [--photo FILE]
 *   recover --card CARD | --reader NAME
 *
 * A card in a PC/SC reader: --reader NAME instead of --card CARD (and of
 * --out CARD for deliver and reissue, onto a blank card in the reader);
 * docs/counter.md, "A card in a reader".
 *   links --serial SERIAL                   old -> new links of a certificate
 *   receipt --number N --out FILE           a stored receipt as a PDF
 *
 * Every procedure needs --clerk NAME, takes --json, --data DIR and the
 * holder's identity document (--id-doc TYPE [--id-number N]; default: the
 * My Number card itself), and prints a receipt (--receipt-pdf FILE: also
 * as a PDF).  PINs the holder chooses
 * come from JPKI_SIGN_PASSWORD, JPKI_AUTH_PIN, JPKI_CARDINFO_PIN or a
 * no-echo prompt, never from the command line; reset-pin reads the new PIN
 * of the chosen type the same way.  The proxy procedures (proxy-*) and
 * notices live in their own file and call the same library functions.
 */
#include "cli/cli.h"
#include "counter/counter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIN_INPUT_MAX (RULES_PIN_MAX + 8)

static const char usage_text[] =
    "usage: jpki counter deliver --resident ID --out CARD [--no-sign] [--no-auth]\n"
    "                            [--photo FILE]\n"
    "       jpki counter issue --card CARD --type sign|auth|both\n"
    "       jpki counter renew --card CARD --type sign|auth|both\n"
    "       jpki counter report-lost (--card CARD | --resident ID)\n"
    "       jpki counter reissue --resident ID --out CARD [--no-sign] [--no-auth]\n"
    "                            [--photo FILE]\n"
    "       jpki counter reset-pin --card CARD --type sign|auth|cardinfo\n"
    "       jpki counter update-card --card CARD [--photo FILE]\n"
    "       jpki counter recover --card CARD\n"
    "a card in a PC/SC reader: --reader NAME for --card CARD (and for --out\n"
    "       CARD: deliver, reissue onto a blank card); recover --reader NAME\n"
    "       jpki counter links --serial SERIAL [--json]\n"
    "       jpki counter receipt --number N --out FILE [--json]\n"
    "       jpki counter proxy-apply|proxy-complete|notices|form-show (--help)\n"
    "       jpki counter serve [--listen HOST:PORT] [--tls-cert PEM --tls-key PEM]\n"
    "every procedure: --clerk NAME [--id-doc TYPE [--id-number N]] [--json]\n"
    "       [--receipt-pdf FILE] [--data DIR]; PINs from JPKI_SIGN_PASSWORD,\n"
    "       JPKI_AUTH_PIN, JPKI_CARDINFO_PIN or a prompt\n";

struct args {
	const char *data, *resident, *out, *card, *type, *clerk, *id_doc,
	    *id_number, *serial, *photo, *number, *receipt_pdf, *reader;
	int json, no_sign, no_auth;
	long long resident_id, number_id;
};

/* The holder's PINs, read only when the procedure needs them. */
struct pin_input {
	char sign[PIN_INPUT_MAX], auth[PIN_INPUT_MAX], cardinfo[PIN_INPUT_MAX];
	struct counter_pins pins;
};

static void
pins_wipe(struct pin_input *p)
{
	jpki_wipe(p, sizeof(*p));
}

static const char *
pin_env(enum pin_kind k)
{
	return k == PIN_SIGN ? "JPKI_SIGN_PASSWORD" : k == PIN_AUTH ?
	    "JPKI_AUTH_PIN" : "JPKI_CARDINFO_PIN";
}

static const char *
pin_prompt(enum pin_kind k)
{
	return k == PIN_SIGN ? "New signing password (6-16 A-Z 0-9): " :
	    k == PIN_AUTH ? "New authentication PIN (4 digits): " :
	    "New card-info PIN (4 digits): ";
}

static int
read_pin(struct pin_input *p, enum pin_kind k)
{
	char *buf = k == PIN_SIGN ? p->sign : k == PIN_AUTH ? p->auth :
	    p->cardinfo;
	int r;

	if ((r = cli_read_secret(pin_env(k), pin_prompt(k), buf,
	    PIN_INPUT_MAX)) != JPKI_OK)
		return r;
	if (k == PIN_SIGN)
		p->pins.sign = buf;
	else if (k == PIN_AUTH)
		p->pins.auth = buf;
	else
		p->pins.cardinfo = buf;
	return JPKI_OK;
}

/* The PINs of the certificates in mask (and the card-info PIN for a new
 * card). */
static int
read_pins(struct pin_input *p, int mask, int cardinfo)
{
	int r;

	if ((mask & COUNTER_SIGN) && (r = read_pin(p, PIN_SIGN)) != JPKI_OK)
		return r;
	if ((mask & COUNTER_AUTH) && (r = read_pin(p, PIN_AUTH)) != JPKI_OK)
		return r;
	if (cardinfo && (r = read_pin(p, PIN_CARDINFO)) != JPKI_OK)
		return r;
	return JPKI_OK;
}

static void
visit_from(const struct args *a, struct counter_visit *v)
{
	memset(v, 0, sizeof(*v));
	v->clerk = a->clerk;
	v->holder_id.doc_type = a->id_doc;
	v->holder_id.doc_number = a->id_number;
	v->photo = a->photo;
	v->reader = a->reader;
}

/* The card brought: its image or the reader it is in, one of the two. */
static int
need_card(const struct args *a)
{
	if ((a->card == NULL) == (a->reader == NULL))
		return jpki_fail(JPKI_ERR_USAGE, "--card CARD is needed (or "
		    "--reader NAME, one of the two)");
	return JPKI_OK;
}

static int
need(const char *v, const char *what)
{
	if (v == NULL)
		return jpki_fail(JPKI_ERR_USAGE, "%s is needed", what);
	return JPKI_OK;
}

static int
new_card_cmd(struct cli_env *e, const struct args *a, struct counter_receipt *rc,
    int reissue)
{
	struct counter_visit v;
	struct pin_input p;
	char no_sign_pin[256] = "";
	int mask = (a->no_sign ? 0 : COUNTER_SIGN) |
	    (a->no_auth ? 0 : COUNTER_AUTH), r;

	memset(&p, 0, sizeof(p));
	if ((r = need(a->resident, "--resident ID")) ||
	    (r = (a->out == NULL) == (a->reader == NULL) ?
	    jpki_fail(JPKI_ERR_USAGE, "--out CARD is needed (or --reader "
	    "NAME, one of the two)") : JPKI_OK))
		return r;
	visit_from(a, &v);
	/* Under 15 no signing password is needed (R8e): without one in the
	 * environment or a terminal, the procedure decides. */
	if ((mask & COUNTER_SIGN) &&
	    (r = read_pin(&p, PIN_SIGN)) == JPKI_ERR_USAGE) {
		snprintf(no_sign_pin, sizeof(no_sign_pin), "%s", jpki_errmsg());
		jpki_errclear();
	}
	if ((r = read_pins(&p, mask & ~COUNTER_SIGN, 1)) == JPKI_OK)
		r = reissue ? counter_reissue(e->ca, a->resident_id, a->out, mask,
		    &p.pins, &v, rc) : counter_deliver(e->ca, a->resident_id,
		    a->out, mask, &p.pins, &v, rc);
	if (r == JPKI_ERR_USAGE && no_sign_pin[0] != '\0') {
		char msg[256];

		/* The procedure asked for the signing password: say where the
		 * CLI looked for it. */
		snprintf(msg, sizeof(msg), "%s", jpki_errmsg());
		r = jpki_fail(r, "%s; %s", msg, no_sign_pin);
	}
	pins_wipe(&p);
	return r;
}

static int
cmd_deliver(struct cli_env *e, const struct args *a, struct counter_receipt *rc)
{
	return new_card_cmd(e, a, rc, 0);
}

static int
cmd_reissue(struct cli_env *e, const struct args *a, struct counter_receipt *rc)
{
	return new_card_cmd(e, a, rc, 1);
}

static int
certs_cmd(struct cli_env *e, const struct args *a, struct counter_receipt *rc,
    int renew)
{
	struct counter_visit v;
	struct pin_input p;
	int mask, r;

	memset(&p, 0, sizeof(p));
	if ((r = need_card(a)) ||
	    (r = need(a->type, "--type sign|auth|both")))
		return r;
	if (counter_types_parse(a->type, &mask) != JPKI_OK)
		return jpki_fail(JPKI_ERR_USAGE, "--type: sign, auth or both "
		    "(got '%.20s')", a->type);
	visit_from(a, &v);
	if ((r = read_pins(&p, mask, 0)) == JPKI_OK)
		r = renew ? counter_renew(e->ca, a->card, mask, &p.pins, &v, rc) :
		    counter_issue(e->ca, a->card, mask, &p.pins, &v, rc);
	pins_wipe(&p);
	return r;
}

static int
cmd_issue(struct cli_env *e, const struct args *a, struct counter_receipt *rc)
{
	return certs_cmd(e, a, rc, 0);
}

static int
cmd_renew(struct cli_env *e, const struct args *a, struct counter_receipt *rc)
{
	return certs_cmd(e, a, rc, 1);
}

static int
cmd_report_lost(struct cli_env *e, const struct args *a,
    struct counter_receipt *rc)
{
	struct counter_visit v;

	if ((a->card == NULL && a->reader == NULL) == (a->resident == NULL) ||
	    (a->card != NULL && a->reader != NULL))
		return jpki_fail(JPKI_ERR_USAGE, "report-lost needs --card CARD, "
		    "--reader NAME or --resident ID");
	visit_from(a, &v);
	return counter_report_lost(e->ca, a->card, a->resident_id, &v, rc);
}

static int
cmd_reset_pin(struct cli_env *e, const struct args *a,
    struct counter_receipt *rc)
{
	struct counter_visit v;
	struct pin_input p;
	enum pin_kind k;
	int r;

	memset(&p, 0, sizeof(p));
	if ((r = need_card(a)) ||
	    (r = need(a->type, "--type sign|auth|cardinfo")))
		return r;
	if (rules_pin_kind_parse(a->type, &k) != JPKI_OK)
		return jpki_fail(JPKI_ERR_USAGE, "--type: sign, auth or "
		    "cardinfo");
	visit_from(a, &v);
	if ((r = read_pin(&p, k)) == JPKI_OK)
		r = counter_reset_pin(e->ca, a->card, k, k == PIN_SIGN ?
		    p.pins.sign : k == PIN_AUTH ? p.pins.auth :
		    p.pins.cardinfo, &v, rc);
	pins_wipe(&p);
	return r;
}

static int
cmd_update_card(struct cli_env *e, const struct args *a,
    struct counter_receipt *rc)
{
	struct counter_visit v;
	int r;

	if ((r = need_card(a)) != JPKI_OK)
		return r;
	visit_from(a, &v);
	return counter_update_card(e->ca, a->card, &v, rc);
}

static int
cmd_recover(struct cli_env *e, const struct args *a)
{
	int r, repaired;

	if ((r = need_card(a)) != JPKI_OK)
		return r;
	if (a->reader != NULL) {
		if ((r = counter_card_recover_reader(e->ca, a->reader,
		    a->clerk ? a->clerk : "recover", &repaired)) != JPKI_OK)
			return r;
		if (a->json)
			cli_print_json(json_pack("{s:s, s:i}", "reader",
			    a->reader, "rolled_forward", repaired));
		else
			printf("%s: %s\n", a->reader, repaired ? "the card writes "
			    "committed and not yet applied were applied" :
			    "nothing to apply");
		return JPKI_OK;
	}
	if ((r = counter_card_recover(e->dd, a->card, &repaired)) != JPKI_OK)
		return r;
	if (a->json)
		cli_print_json(json_pack("{s:s, s:b}", "card", a->card,
		    "repaired", repaired));
	else
		printf("%s: %s\n", a->card, repaired ? "an interrupted card "
		    "write was finished or undone" : "nothing to repair");
	return JPKI_OK;
}

struct links_out {
	json_t *arr;
};

static int
print_link(void *arg, const char *old_serial, const char *new_serial,
    const char *kind, int64_t at)
{
	struct links_out *l = arg;
	char when[26];

	iso8601_format_jst(at, when);
	if (l->arr != NULL)
		json_array_append_new(l->arr, json_pack("{s:s, s:s, s:s, s:s}",
		    "old", old_serial, "new", new_serial, "kind", kind,
		    "at", when));
	else
		printf("%s -> %s  %-8s %s\n", old_serial, new_serial, kind,
		    when);
	return 0;
}

/* A stored receipt, by its number, as paper. */
static int
cmd_receipt(struct cli_env *e, const struct args *a)
{
	int r;

	if ((r = need(a->number, "--number N")) != JPKI_OK ||
	    (r = need(a->out, "--out FILE")) != JPKI_OK ||
	    (r = counter_receipt_pdf_write(e->dd, a->number_id, a->out)))
		return r;
	if (a->json)
		cli_print_json(json_pack("{s:I, s:s}", "receipt",
		    (json_int_t)a->number_id, "pdf", a->out));
	else
		printf("receipt %lld: %s\n", a->number_id, a->out);
	return JPKI_OK;
}

/* 新旧紐付け: which certificate followed which, for relying parties. */
static int
cmd_links(struct cli_env *e, const struct args *a)
{
	struct links_out l = {a->json ? json_array() : NULL};
	char serial[SERIAL_HEX_MAX];
	struct cert_record c;
	int r;

	if ((r = need(a->serial, "--serial SERIAL")) != JPKI_OK ||
	    (r = ca_serial_normalise(a->serial, serial)) != JPKI_OK ||
	    (r = store_cert_get(datadir_store(e->dd), serial, &c)) != JPKI_OK)
		goto out;
	store_cert_free(&c);
	if ((r = store_cert_links(datadir_store(e->dd), serial, print_link, &l)))
		goto out;
	if (l.arr != NULL) {
		cli_print_json(l.arr);
		l.arr = NULL;
	}
out:
	json_decref(l.arr);
	return r;
}

int
cli_counter(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(struct cli_env *, const struct args *,
		    struct counter_receipt *);
		unsigned open;
	} cmds[] = {
	    /* Issuing or revoking: the CA keys.  Card and store only: the
	     * data directory (and the CA certificates a procedure writes
	     * onto the card). */
	    {"deliver", cmd_deliver, CLI_CA_SIGN},
	    {"issue", cmd_issue, CLI_CA_SIGN},
	    {"renew", cmd_renew, CLI_CA_SIGN},
	    {"report-lost", cmd_report_lost, CLI_CA_SIGN},
	    {"reissue", cmd_reissue, CLI_CA_SIGN},
	    {"reset-pin", cmd_reset_pin, CLI_WRITE | CLI_CA_CERTS},
	    {"update-card", cmd_update_card, CLI_WRITE | CLI_CA_CERTS},
	    {"recover", NULL, CLI_WRITE},
	    {"links", NULL, CLI_READ},
	    {"receipt", NULL, CLI_READ},
	};
	struct counter_receipt rc;
	struct args a;
	struct cli_env env;
	size_t i;
	int r, open_flags;
	const struct cli_opt opts[] = {
	    {"resident", CLI_POSITIVE, .value = &a.resident,
		.number = &a.resident_id},
	    {"out", CLI_VALUE, .value = &a.out},
	    {"card", CLI_VALUE, .value = &a.card},
	    /* A card in a PC/SC reader instead of an image. */
	    {"reader", CLI_VALUE, .value = &a.reader},
	    {"type", CLI_VALUE, .value = &a.type},
	    {"clerk", CLI_VALUE, .value = &a.clerk},
	    {"no-sign", CLI_FLAG, .flag = &a.no_sign},
	    {"no-auth", CLI_FLAG, .flag = &a.no_auth},
	    /* The procedure checks the identity document (R11). */
	    {"id-doc", CLI_TEXT, .value = &a.id_doc},
	    {"id-number", CLI_TEXT, .value = &a.id_number},
	    {"serial", CLI_VALUE, .value = &a.serial},
	    /* The holder's photo for the card face (PNG or JPEG 2000). */
	    {"photo", CLI_VALUE, .value = &a.photo},
	    /* receipt: which one (its PDF goes to --out). */
	    {"number", CLI_POSITIVE, .value = &a.number,
		.number = &a.number_id},
	    /* A procedure's receipt as a PDF too. */
	    {"receipt-pdf", CLI_VALUE, .value = &a.receipt_pdf},
	};
	struct cli_command cmd = {.group = "counter", .usage = usage_text,
	    .opts = opts, .nopts = JPKI_ARRAY_LEN(opts), .data = &a.data,
	    .json = &a.json};

	if (strcmp(argv[1], "--help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	/* The web UI's own listener (cli_counter_serve.c). */
	if (strcmp(argv[1], "serve") == 0)
		return cli_counter_serve(argc, argv);
	/* proxy-apply, proxy-complete, notices, form-show. */
	if ((r = cli_counter_forms(argc, argv)) >= 0)
		return r;
	for (i = 0; i < JPKI_ARRAY_LEN(cmds); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			break;
	if (i == JPKI_ARRAY_LEN(cmds))
		return cli_usage("counter: unknown procedure '%s' (jpki counter "
		    "--help lists them)", argv[1]);
	memset(&a, 0, sizeof(a));
	if ((r = cli_parse(&cmd, argc - 1, argv + 1)) != CLI_RUN)
		return r;
	if (a.photo != NULL && strcmp(argv[1], "deliver") != 0 &&
	    strcmp(argv[1], "reissue") != 0 &&
	    strcmp(argv[1], "update-card") != 0)
		return cli_usage("counter %s: --photo is for deliver, reissue "
		    "and update-card (the card face)", argv[1]);
	if (a.receipt_pdf != NULL && cmds[i].run == NULL)
		return cli_usage("counter %s: --receipt-pdf is for the "
		    "procedures (counter receipt --out for a stored one)",
		    argv[1]);
	if (cmds[i].run != NULL && a.clerk == NULL)
		return cli_usage("counter %s needs --clerk NAME (who ran the "
		    "procedure)", argv[1]);
	open_flags = cmds[i].open;
	/* Rolling a reader card forward proves the issuer key to it. */
	if (cmds[i].run == NULL && strcmp(cmds[i].name, "recover") == 0 &&
	    a.reader != NULL)
		open_flags |= CLI_CA_CERTS;
	if ((r = cli_open(a.data, open_flags, &env)) != 0)
		return r;
	if (cmds[i].run == NULL)
		r = strcmp(cmds[i].name, "links") == 0 ? cmd_links(&env, &a) :
		    strcmp(cmds[i].name, "receipt") == 0 ?
		    cmd_receipt(&env, &a) : cmd_recover(&env, &a);
	else if ((r = cmds[i].run(&env, &a, &rc)) == JPKI_OK) {
		if (a.json)
			cli_print_json(json_pack("{s:o}", "receipt",
			    counter_receipt_json(&rc)));
		else
			counter_receipt_print(stdout, &rc);
		/* The procedure is done and committed: a PDF that cannot be
		 * written is reported, and `counter receipt` writes it
		 * again. */
		if (a.receipt_pdf != NULL)
			r = counter_receipt_pdf_write(env.dd, rc.number,
			    a.receipt_pdf);
	}
	cli_close(&env);
	return cli_report(r);
}
