/*
 * cli_rp.c: the relying party's commands (src/rp/rp.h):
 *
 *   sign   (--card FILE | --reader NAME) --in DOC --out SIG [--detached]
 *          a CAdES-BES CMS signature made on the card with the signing key
 *          after the signing password (JPKI_SIGN_PASSWORD or a prompt)
 *   verify FILE [--content DOC] [--at TIME] [--anchors PEM] [--offline]
 *          the verdict, with the signer's four facts when valid
 *
 * verify trusts the data directory's CAs (every CA certificate in its ca/
 * folder, so earlier generations too) and the certificates of --anchors,
 * and asks the data directory's store last for the status.  Exit status:
 * 0 valid, 1 invalid, 2 bad input.
 */
#include "cli/cli_rp.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reaching the card ---------------------------------------------------- */

#define PIN_INPUT_MAX (CARD_PIN_MAX + 8)

int
cli_rp_card_open(const char *card, const char *reader,
    struct card_transport **t)
{
	if ((card == NULL) == (reader == NULL))
		return jpki_fail(JPKI_ERR_USAGE,
		    "give exactly one of --card FILE or --reader NAME");
	if (card != NULL)
		return card_transport_image(card, t);
	return card_transport_pcsc(reader, t);
}

int
cli_rp_card_verify(struct card_transport *t, enum pin_kind k)
{
	char pin[PIN_INPUT_MAX];
	int r;

	if ((r = cli_read_secret(k == PIN_SIGN ? "JPKI_SIGN_PASSWORD" :
	    "JPKI_AUTH_PIN", k == PIN_SIGN ?
	    "Signing password (6-16 A-Z 0-9): " :
	    "Authentication PIN (4 digits): ", pin, sizeof(pin))) == JPKI_OK)
		r = card_client_verify(t, k, pin, NULL);
	jpki_wipe(pin, sizeof(pin));
	return r;
}

int
cli_rp_card_cert(struct card_transport *t, enum card_cert which, X509 **out)
{
	struct jbuf der;
	const uint8_t *p;
	int r;

	jbuf_init(&der);
	*out = NULL;
	if ((r = card_client_read_cert(t, which, &der)) == JPKI_OK) {
		p = der.data;
		if ((*out = d2i_X509(NULL, &p, (long)der.len)) == NULL)
			r = jpki_fail(JPKI_ERR_INPUT, "the card's certificate "
			    "is not DER X.509");
	}
	jbuf_free(&der);
	return r;
}

struct card_signer {
	struct card_transport *t;
	enum cert_type key;
};

static int
card_sign_hash(void *arg, const uint8_t hash[32], uint8_t *sig,
    size_t *sig_len)
{
	struct card_signer *cs = arg;
	int r;

	if (*sig_len < CARD_SIG_LEN)
		return jpki_fail(JPKI_ERR_INTERNAL, "signature buffer");
	if ((r = card_client_sign_sha256(cs->t, cs->key, hash, sig)) ==
	    JPKI_OK)
		*sig_len = CARD_SIG_LEN;
	return r;
}

/* ---- sign ------------------------------------------------------------------- */

static const char sign_usage[] =
    "usage: jpki sign (--card FILE | --reader NAME) --in DOC --out SIG "
    "[--detached | --pdf] [--json]\n"
    "       a CMS signature (CAdES-BES, SHA-256) made on the card with the\n"
    "       signing key; the signing password from JPKI_SIGN_PASSWORD or\n"
    "       asked; --detached: the document is not put inside SIG;\n"
    "       --pdf: DOC is a PDF, SIG the PDF signed inside (PAdES)\n";

int
cli_sign(int argc, char **argv)
{
	const char *card = NULL, *reader = NULL, *in = NULL, *out = NULL;
	int detached = 0, pdf = 0, json = 0, r;
	const struct cli_opt opts[] = {
	    {"card", CLI_VALUE, .value = &card},
	    {"reader", CLI_TEXT, .value = &reader},
	    {"in", CLI_VALUE, .value = &in},
	    {"out", CLI_VALUE, .value = &out},
	    {"detached", CLI_FLAG, .flag = &detached},
	    {"pdf", CLI_FLAG, .flag = &pdf},
	};
	struct cli_command cmd = {.usage = sign_usage, .opts = opts,
	    .nopts = JPKI_ARRAY_LEN(opts), .json = &json};
	struct card_transport *t = NULL;
	struct card_signer cs = {.key = CERT_SIGN};
	struct rp_sign_params p = {0};
	struct jbuf doc, sig;
	X509 *cert = NULL, *ca = NULL;

	if ((r = cli_parse(&cmd, argc, argv)) != CLI_RUN)
		return r;
	if (in == NULL || out == NULL)
		return cli_usage("sign needs --in DOC and --out SIG "
		    "(jpki sign --help)");
	if (pdf && detached)
		return cli_usage("sign: --pdf signs inside the PDF; --detached "
		    "is for a CMS beside the document");
	jbuf_init(&doc);
	jbuf_init(&sig);
	if ((r = file_read_all(in, pdf ? RP_PDF_MAX : RP_CONTENT_MAX,
	    &doc)) != JPKI_OK ||
	    (pdf && (doc.len < 5 || memcmp(doc.data, "%PDF-", 5) != 0) &&
	    (r = jpki_fail(JPKI_ERR_INPUT, "%s: not a PDF", in)) != JPKI_OK) ||
	    (r = cli_rp_card_open(card, reader, &t)) != JPKI_OK ||
	    (r = cli_rp_card_verify(t, PIN_SIGN)) != JPKI_OK ||
	    (r = cli_rp_card_cert(t, CARD_CERT_SIGN, &cert)) != JPKI_OK)
		goto done;
	/* The CA certificate helps a verifier that has only the anchor's
	 * key; a card without it still signs. */
	if (cli_rp_card_cert(t, CARD_CERT_SIGN_CA, &ca) != JPKI_OK)
		jpki_errclear();
	cs.t = t;
	p.cert = cert;
	p.ca = ca;
	p.content = doc.data;
	p.content_len = doc.len;
	p.detached = detached;
	p.signing_time = jpki_now();
	p.sign = card_sign_hash;
	p.arg = &cs;
	if ((r = pdf ? rp_pades_sign(doc.data, doc.len, &p, NULL, &sig) :
	    rp_cms_sign(&p, &sig)) != JPKI_OK ||
	    (r = cli_write_file("--out", out, sig.data, sig.len)) != JPKI_OK)
		goto done;
	if (json) {
		char when[26];

		iso8601_format_jst(p.signing_time, when);
		cli_print_json(json_pack("{s:s, s:s, s:s, s:b, s:s, s:I}",
		    "format", pdf ? "PAdES (ETSI.CAdES.detached)" :
		    "CMS CAdES-BES", "digest", "SHA-256", "signature",
		    out, "detached", detached, "signing_time", when, "bytes",
		    (json_int_t)sig.len));
	} else {
		printf("signed %s on the card: %s (%s, SHA-256%s, %zu bytes)\n",
		    in, out, pdf ? "PAdES" : "CMS CAdES-BES", detached ?
		    ", detached" : "", sig.len);
	}
done:
	X509_free(cert);
	X509_free(ca);
	card_transport_free(&t);
	jbuf_free(&doc);
	jbuf_free(&sig);
	return cli_report(r);
}

/* ---- verify ------------------------------------------------------------------ */

static const char verify_usage[] =
    "usage: jpki verify FILE [--content DOC] [--at TIME] [--anchors PEM] "
    "[--offline] [--json]\n"
    "       FILE: a CMS signature (DER or PEM), or a PDF with signatures\n"
    "       (PAdES); --content: the document of a detached CMS signature;\n"
    "       --at: the time to verify at (ISO 8601; default now);\n"
    "       --anchors: trust anchors besides the data directory's CAs;\n"
    "       --offline: no OCSP or CRL over the network, the store only\n"
    "       exit status 0 valid, 1 invalid, 2 bad input\n"
    "common: --data DIR\n";

static void
result_print(const struct rp_result *res)
{
	char t[26];

	if (res->reason != RP_VALID) {
		printf("invalid: %s: %s\n", rp_reason_name(res->reason),
		    res->why);
		if (res->signer != NULL)
			printf("signer       %s (serial %s)\n", res->subject,
			    res->serial);
		return;
	}
	printf("valid: signed by %s (serial %s)\n", res->subject, res->serial);
	if (res->signing_time != 0) {
		iso8601_format_jst(res->signing_time, t);
		printf("signing time %s\n", t);
	}
	iso8601_format_jst(res->at, t);
	printf("verified at  %s\n", t);
	if (res->document_signer) {
		/* A municipality's document (the kiosk's residence
		 * certificate): its certificate is a trust anchor itself. */
		printf("signer       the municipality's document-signing "
		    "certificate (a trust anchor)\n");
		return;
	}
	printf("status       good at that time, by %s%s%s%s\n",
	    rp_status_source_name(res->status.source),
	    res->status.url[0] ? " " : "", res->status.url,
	    res->status.cached ? " (cached)" : "");
	if (res->status.tried[0] != '\0')
		printf("             (before it: %s)\n", res->status.tried);
	if (res->status.revoked) {
		iso8601_format_jst(res->status.revoked_at, t);
		printf("             (revoked later, at %s)\n", t);
	}
	if (res->has_facts) {
		const struct rp_facts *f = &res->facts;

		printf("name         %s (substitution flags %s)\n", f->raw.name,
		    f->raw.name_flags);
		printf("address      %s (substitution flags %s)\n",
		    f->raw.address, f->raw.address_flags);
		printf("birth        %s (%s, era %s)\n", f->birth_era[0] ?
		    f->birth_era : "unknown", f->birth_iso[0] ? f->birth_iso :
		    f->raw.birth, f->era_name);
		printf("gender       %s\n", f->gender_name);
	}
}

/* Every signature of a PDF: valid only if each is and the last covers
 * the whole file. */
static int
verify_pdf(struct rp_verifier *v, const struct jbuf *pdf, int64_t at,
    int json)
{
	struct rp_pdf_result pr;
	json_t *list = NULL;
	size_t bad = 0;
	int r;

	if ((r = rp_pades_verify(v, pdf->data, pdf->len, at, &pr)) != JPKI_OK)
		return r;
	if (json)
		list = json_array();
	for (size_t i = 0; i < pr.n; i++) {
		struct rp_pdf_signature *s = &pr.sig[i];
		int last = i + 1 == pr.n;

		if (s->res.reason != RP_VALID || (last && !s->covers_whole))
			bad++;
		if (json) {
			json_t *j = rp_result_json(&s->res);

			json_object_set_new(j, "field", json_string(s->field));
			json_object_set_new(j, "subfilter",
			    json_string(s->subfilter + 1));
			json_object_set_new(j, "covers_whole_file",
			    json_boolean(s->covers_whole));
			json_array_append_new(list, j);
			continue;
		}
		printf("signature %zu of %zu: field %s, %s, %s\n", i + 1, pr.n,
		    s->field, s->subfilter + 1, s->covers_whole ?
		    "covers the whole file" : "the file was changed after it "
		    "(incremental update)");
		result_print(&s->res);
	}
	if (json)
		cli_print_json(json_pack("{s:s, s:o}", "verdict", bad == 0 ?
		    "valid" : "invalid", "signatures", list));
	if (bad > 0) {
		const struct rp_pdf_signature *s = &pr.sig[pr.n - 1];

		for (size_t i = 0; i < pr.n; i++)
			if (pr.sig[i].res.reason != RP_VALID) {
				s = &pr.sig[i];
				break;
			}
		r = s->res.reason != RP_VALID ? jpki_fail(JPKI_ERR_VERIFY,
		    "PDF signature %s: %s: %s", s->field,
		    rp_reason_name(s->res.reason), s->res.why) :
		    jpki_fail(JPKI_ERR_VERIFY, "PDF signature %s: the file was "
		    "changed after the last signature", s->field);
	}
	rp_pdf_result_free(&pr);
	return r;
}

/* The verifier of a command: the data directory's CAs (if there is one)
 * and store, and --anchors. */
int
cli_rp_verifier(const char *data, const char *anchors, unsigned flags,
    struct cli_env *env, struct rp_verifier **v)
{
	int r, have_dir;

	memset(env, 0, sizeof(*env));
	have_dir = datadir_open(cli_data_dir(data), DATADIR_READ_ONLY,
	    &env->dd) == JPKI_OK;
	if (!have_dir && anchors == NULL)
		return jpki_fail(JPKI_ERR_USAGE, "no data directory at %s and "
		    "no --anchors: nothing to trust", cli_data_dir(data));
	jpki_errclear();
	if ((r = rp_verifier_new(have_dir ? datadir_store(env->dd) : NULL,
	    flags, v)) != JPKI_OK ||
	    (have_dir && (r = rp_verifier_add_datadir_anchors(*v, env->dd)) != JPKI_OK) ||
	    (anchors != NULL &&
	    (r = rp_verifier_add_anchors_pem(*v, anchors)) != JPKI_OK)) {
		rp_verifier_free(v);
		cli_close(env);
		return r;
	}
	return JPKI_OK;
}

int
cli_verify(int argc, char **argv)
{
	const char *data = NULL, *content = NULL, *at_s = NULL,
	    *anchors = NULL, *file[1];
	int json = 0, offline = 0, r;
	const struct cli_opt opts[] = {
	    {"content", CLI_VALUE, .value = &content},
	    {"at", CLI_VALUE, .value = &at_s},
	    {"anchors", CLI_VALUE, .value = &anchors},
	    {"offline", CLI_FLAG, .flag = &offline},
	};
	struct cli_command cmd = {.usage = verify_usage, .opts = opts,
	    .nopts = JPKI_ARRAY_LEN(opts), .data = &data, .json = &json,
	    .pos = file, .max_pos = 1};
	struct rp_verifier *v = NULL;
	struct rp_result res;
	struct cli_env env;
	struct jbuf sig, doc;
	int64_t at;

	if ((r = cli_parse(&cmd, argc, argv)) != CLI_RUN)
		return r;
	if (cmd.npos != 1)
		return cli_usage("verify needs FILE (jpki verify --help)");
	if (at_s != NULL && iso8601_parse(at_s, &at) != JPKI_OK)
		return cli_usage("--at: not an ISO 8601 time: %s", at_s);
	if (at_s == NULL)
		at = jpki_now();
	memset(&res, 0, sizeof(res));
	jbuf_init(&sig);
	jbuf_init(&doc);
	if ((r = file_read_all(file[0], RP_PDF_MAX, &sig)) != JPKI_OK ||
	    (content != NULL &&
	    (r = file_read_all(content, RP_CONTENT_MAX, &doc)) != JPKI_OK))
		goto done;
	if (sig.len >= 5 && memcmp(sig.data, "%PDF-", 5) == 0) {
		if (content != NULL) {
			r = cli_usage("--content: a PDF carries what it signs");
			goto done;
		}
		if ((r = cli_rp_verifier(data, anchors, offline ? RP_OFFLINE :
		    0, &env, &v)) != JPKI_OK)
			goto done;
		r = verify_pdf(v, &sig, at, json);
		rp_verifier_free(&v);
		cli_close(&env);
		goto done;
	}
	if (sig.len > RP_CMS_MAX) {
		r = jpki_fail(JPKI_ERR_INPUT, "%s: more than %u bytes", file[0],
		    RP_CMS_MAX);
		goto done;
	}
	if ((r = cli_rp_verifier(data, anchors, offline ? RP_OFFLINE : 0,
	    &env, &v)) != JPKI_OK)
		goto done;
	r = rp_cms_verify(v, sig.data, sig.len, content != NULL ?
	    (doc.data != NULL ? doc.data : (const uint8_t *)"") : NULL,
	    doc.len, at, &res);
	if (r == JPKI_OK) {
		if (json)
			cli_print_json(rp_result_json(&res));
		else
			result_print(&res);
		if (res.reason != RP_VALID)
			r = jpki_fail(JPKI_ERR_VERIFY, "%s: %s",
			    rp_reason_name(res.reason), res.why);
	}
	rp_result_free(&res);
	rp_verifier_free(&v);
	cli_close(&env);
done:
	jbuf_free(&sig);
	jbuf_free(&doc);
	return cli_report(r);
}

/* ---- rp link ---------------------------------------------------------------- */

static const char rp_usage[] =
    "usage: jpki rp link SERIAL [--json]\n"
    "       the certificate's successors after renewals and changes, and the\n"
    "       holder's other certificate valid now (linkage, as relying\n"
    "       parties get it from GET /rp/link/SERIAL); audited\n"
    "common: --data DIR, --actor NAME\n";

int
cli_rp(int argc, char **argv)
{
	const char *data = NULL, *actor = NULL, *serial[1];
	int json = 0, r;
	const struct cli_opt opts[] = {
	    {"actor", CLI_VALUE, .value = &actor},
	};
	struct cli_command cmd = {.group = "rp", .usage = rp_usage,
	    .opts = opts, .nopts = JPKI_ARRAY_LEN(opts), .data = &data,
	    .json = &json, .pos = serial, .max_pos = 1};
	char norm[SERIAL_HEX_MAX];
	struct cli_env env;
	json_t *j = NULL, *x;
	size_t i;

	if (strcmp(argv[1], "link") != 0)
		return cli_not_a_subcommand(argv, rp_usage);
	if ((r = cli_parse(&cmd, argc - 1, argv + 1)) != CLI_RUN)
		return r;
	if (cmd.npos != 1)
		return cli_usage("rp link needs SERIAL (jpki rp --help)");
	if ((r = ca_serial_normalise(serial[0], norm)) != JPKI_OK)
		return cli_report(r);
	if ((r = cli_open(data, CLI_WRITE, &env)) != 0)
		return r;
	r = rp_link_lookup(datadir_store(env.dd), norm, actor, jpki_now(), &j);
	cli_close(&env);
	if (r != JPKI_OK)
		return cli_report(r);
	if (json) {
		cli_print_json(j);
		return 0;
	}
	x = json_object_get(j, "certificate");
	printf("certificate  %s (%s, %s)\n", json_string_value(json_object_get(
	    x, "serial")), json_string_value(json_object_get(x, "type")),
	    json_string_value(json_object_get(x, "status")));
	json_array_foreach(json_object_get(j, "successors"), i, x) {
		json_t *c = json_object_get(x, "certificate");

		printf("  -> %-8s %s (%s)\n", json_string_value(json_object_get(
		    x, "kind")), json_string_value(json_object_get(c,
		    "serial")), json_string_value(json_object_get(c,
		    "status")));
	}
	x = json_object_get(j, "other");
	if (json_is_object(x))
		printf("other        %s (%s, %s)\n", json_string_value(
		    json_object_get(x, "serial")), json_string_value(
		    json_object_get(x, "type")), json_string_value(
		    json_object_get(x, "status")));
	else
		printf("other        none valid\n");
	json_decref(j);
	return 0;
}
