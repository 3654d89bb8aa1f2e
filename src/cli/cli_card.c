/*
 * cli_card.c: `jpki card`, the card holder's and the tester's commands.
 *
 *   new --out FILE [--kind mynumber|juki]   a blank card image (for the counter)
 *   status                                  PIN tries, certificates present
 *   certs --out DIR [--sign]                certificates as DER files
 *   change-pin --type sign|auth|cardinfo    VERIFY old, set new
 *   info                                    the card-info AP (after its PIN)
 *   face --out DIR                          the card face's images as PNG
 *   sign --type sign|auth --in F --out SIG  SHA-256 + PKCS#1 v1.5 on the card
 *   attach --card FILE [--vpcd HOST:PORT]   the image in pcscd's vpcd reader
 *
 * Every command but new and attach reaches the card with --card FILE (the
 * emulator in-process) or --reader NAME (PC/SC).  PINs come from
 * JPKI_AUTH_PIN, JPKI_SIGN_PASSWORD, JPKI_CARDINFO_PIN (new ones from
 * JPKI_NEW_PIN) or a no-echo prompt, never from the command line.
 */
#include "cli/cli.h"
#include "base/base.h"
#include "card/card.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* Room for any PIN plus a newline and a byte to notice overlong input. */
#define PIN_INPUT_MAX (CARD_PIN_MAX + 8)
#define SIGN_READ_CHUNK 65536

struct card_opts {
	const char *card, *reader, *data, *out, *in, *type, *vpcd, *kind;
	int json, sign;
};

static const char usage_text[] =
    "usage: jpki card new --out FILE [--kind mynumber|juki] [--json]\n"
    "       jpki card status|info (--card FILE | --reader NAME) [--json]\n"
    "       jpki card face --out DIR (--card FILE | --reader NAME) [--json]\n"
    "       jpki card certs --out DIR [--sign] (--card FILE | --reader NAME)\n"
    "       jpki card change-pin --type sign|auth|cardinfo (--card F | --reader N)\n"
    "       jpki card sign --type sign|auth --in FILE --out SIG (--card F | --reader N)\n"
    "       jpki card attach --card FILE [--vpcd HOST:PORT]\n"
    "common: --data DIR (new: the issuer key; info, face: the card issuer\n"
    "        key to trust), --json\n";

static int
parse_opts(int argc, char **argv, struct card_opts *o)
{
	const struct cli_opt opts[] = {
	    {"card", CLI_VALUE, .value = &o->card},
	    {"reader", CLI_VALUE, .value = &o->reader},
	    {"out", CLI_VALUE, .value = &o->out},
	    {"in", CLI_VALUE, .value = &o->in},
	    {"type", CLI_VALUE, .value = &o->type},
	    {"vpcd", CLI_VALUE, .value = &o->vpcd},
	    {"kind", CLI_VALUE, .value = &o->kind},
	    {"sign", CLI_FLAG, .flag = &o->sign},
	};
	struct cli_command cmd = {.group = "card", .usage = usage_text,
	    .opts = opts, .nopts = JPKI_ARRAY_LEN(opts), .data = &o->data,
	    .json = &o->json};

	memset(o, 0, sizeof(*o));
	return cli_parse(&cmd, argc - 1, argv + 1);
}

static int
open_transport(const struct card_opts *o, struct card_transport **t)
{
	if ((o->card == NULL) == (o->reader == NULL)) {
		jpki_fail(JPKI_ERR_USAGE,
		    "give exactly one of --card FILE or --reader NAME");
		return JPKI_ERR_USAGE;
	}
	if (o->card != NULL)
		return card_transport_image(o->card, t);
	return card_transport_pcsc(o->reader, t);
}

static const char *
pin_env(enum pin_kind k)
{
	switch (k) {
	case PIN_AUTH:
		return "JPKI_AUTH_PIN";
	case PIN_SIGN:
		return "JPKI_SIGN_PASSWORD";
	default:
		return "JPKI_CARDINFO_PIN";
	}
}

static const char *
pin_prompt(enum pin_kind k)
{
	switch (k) {
	case PIN_AUTH:
		return "Authentication PIN (4 digits): ";
	case PIN_SIGN:
		return "Signing password (6-16 A-Z 0-9): ";
	default:
		return "Card-info PIN (4 digits): ";
	}
}

/* Ask for a PIN and VERIFY it. */
static int
verify_pin(struct card_transport *t, enum pin_kind k)
{
	char pin[PIN_INPUT_MAX];
	int r;

	if ((r = cli_read_secret(pin_env(k), pin_prompt(k), pin,
	    sizeof(pin))) == JPKI_OK)
		r = card_client_verify(t, k, pin, NULL);
	jpki_wipe(pin, sizeof(pin));
	return r;
}

/* ---- new --------------------------------------------------------------- */

static int
card_new(const struct card_opts *o)
{
	char keypath[JPKI_PATH_MAX], serial[CARD_SERIAL_HEX];
	uint8_t master[CARD_ISSUER_KEY_LEN];
	enum card_kind kind = CARD_MYNUMBER;
	int r;

	if (o->out == NULL)
		return cli_usage("card new needs --out FILE");
	if (o->kind != NULL && rules_card_kind_parse(o->kind, &kind) != JPKI_OK)
		return cli_usage("--kind is mynumber or juki");
	/* The card issuer master key of `jpki init`, read without opening the
	 * rest of the data directory (a card can be made beside a bare key). */
	if ((r = jpki_path(keypath, sizeof(keypath), "%s/issuer-master.key",
	    cli_data_dir(o->data))) != JPKI_OK)
		return cli_report(r);
	if ((r = card_issuer_master_load(keypath, master)) != JPKI_OK)
		return cli_report(r);
	r = card_image_create(o->out, kind, master, serial);
	jpki_wipe(master, sizeof(master));
	if (r != JPKI_OK)
		return cli_report(r);
	if (o->json)
		cli_print_json(json_pack("{s:s, s:s, s:s}", "serial", serial,
		    "kind", rules_card_kind_name(kind), "path", o->out));
	else
		printf("card %s (%s) written to %s: blank, no PINs, keys or "
		    "certificates yet\n", serial, rules_card_kind_name(kind),
		    o->out);
	return 0;
}

/* ---- status ------------------------------------------------------------ */

static json_t *
pin_json(const struct card_pin_status *p)
{
	return json_pack("{s:i, s:b}", "tries_left", p->tries_left, "locked",
	    p->locked);
}

static void
print_pin_line(const char *label, const struct card_pin_status *p)
{
	if (!p->initialised)
		printf("%-19s not set\n", label);
	else if (p->locked)
		printf("%-19s LOCKED (reset at the counter, R2)\n", label);
	else
		printf("%-19s %d %s left\n", label, p->tries_left,
		    p->tries_left == 1 ? "try" : "tries");
}

static void
print_status(const struct card_status *st, const char *transport)
{
	static const char *labels[] = {NULL, "authentication PIN",
	    "signing password", "card-info PIN"};

	printf("card serial         %s (%s)\n", st->serial, transport);
	for (int k = PIN_AUTH; k <= PIN_CARDINFO; k++)
		print_pin_line(labels[k], &st->pin[k]);
	print_pin_line("collation number A", &st->match[CARD_MATCH_A]);
	print_pin_line("collation number B", &st->match[CARD_MATCH_B]);
	print_pin_line("card-face number A", &st->match[CARD_FACE_MATCH_A]);
	print_pin_line("card-face number B", &st->match[CARD_FACE_MATCH_B]);
	printf("signing cert        %s\n", st->sign_cert ? "present" : "none");
	printf("authentication cert %s\n", st->auth_cert ? "present" : "none");
	printf("CA certs            signing %s, authentication %s\n",
	    st->sign_ca ? "present" : "none", st->auth_ca ? "present" : "none");
}

static int
card_status_cmd(const struct card_opts *o)
{
	struct card_transport *t = NULL;
	struct card_status st;
	int r;

	if ((r = open_transport(o, &t)) != JPKI_OK)
		return cli_report(r);
	if ((r = card_client_status(t, &st)) != JPKI_OK)
		goto fail;
	if (o->json)
		cli_print_json(json_pack(
		    "{s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o}, s:{s:b, s:b, s:b, "
		    "s:b}, s:s, s:s, s:{s:b, s:b, s:b, s:b, s:b, s:b, s:b}}",
		    "pins", "auth", pin_json(&st.pin[PIN_AUTH]), "sign",
		    pin_json(&st.pin[PIN_SIGN]), "cardinfo",
		    pin_json(&st.pin[PIN_CARDINFO]), "cardinfo_a",
		    pin_json(&st.match[CARD_MATCH_A]), "cardinfo_b",
		    pin_json(&st.match[CARD_MATCH_B]), "cardface_a",
		    pin_json(&st.match[CARD_FACE_MATCH_A]), "cardface_b",
		    pin_json(&st.match[CARD_FACE_MATCH_B]),
		    "certificates", "sign", st.sign_cert, "auth", st.auth_cert,
		    "sign_ca", st.sign_ca, "auth_ca", st.auth_ca,
		    "serial", st.serial, "transport", t->name,
		    "pins_initialised", "auth", st.pin[PIN_AUTH].initialised,
		    "sign", st.pin[PIN_SIGN].initialised, "cardinfo",
		    st.pin[PIN_CARDINFO].initialised, "cardinfo_a",
		    st.match[CARD_MATCH_A].initialised, "cardinfo_b",
		    st.match[CARD_MATCH_B].initialised, "cardface_a",
		    st.match[CARD_FACE_MATCH_A].initialised, "cardface_b",
		    st.match[CARD_FACE_MATCH_B].initialised));
	else
		print_status(&st, t->name);
fail:
	card_transport_free(&t);
	return cli_report(r);
}

/* ---- certs ------------------------------------------------------------- */

static int
card_certs(const struct card_opts *o)
{
	static const struct {
		enum card_cert which;
		const char *file;
	} certs[] = {
	    {CARD_CERT_AUTH, "auth.der"},
	    {CARD_CERT_AUTH_CA, "auth-ca.der"},
	    {CARD_CERT_SIGN_CA, "sign-ca.der"},
	    {CARD_CERT_SIGN, "sign.der"},
	};
	struct card_transport *t = NULL;
	struct jbuf der[JPKI_ARRAY_LEN(certs)];
	struct cli_out out[JPKI_ARRAY_LEN(certs)];
	char path[JPKI_ARRAY_LEN(certs)][JPKI_PATH_MAX];
	json_t *files = NULL;
	int r = JPKI_OK, made = 0;

	memset(der, 0, sizeof(der));
	memset(out, 0, sizeof(out));
	if (o->out == NULL)
		return cli_usage("card certs needs --out DIR");
	if ((r = open_transport(o, &t)) != JPKI_OK)
		goto fail;
	/* Everything read from the card first: a wrong signing password
	 * leaves no directory or file behind. */
	for (size_t i = 0; i < JPKI_ARRAY_LEN(certs); i++) {
		if (certs[i].which == CARD_CERT_SIGN) {
			if (!o->sign)
				continue;
			if ((r = verify_pin(t, PIN_SIGN)) != JPKI_OK)
				goto fail;
		}
		r = card_client_read_cert(t, certs[i].which, &der[i]);
		if (r == JPKI_ERR_NOTFOUND) {
			jpki_errclear();
			r = JPKI_OK;
		} else if (r != JPKI_OK) {
			goto fail;
		}
	}
	if ((r = cli_out_dir(o->out, &made)) != JPKI_OK)
		goto fail;
	for (size_t i = 0; i < JPKI_ARRAY_LEN(certs); i++) {
		if (der[i].data == NULL)
			continue;
		if ((r = jpki_path(path[i], sizeof(path[i]), "%s/%s", o->out,
		    certs[i].file)) != JPKI_OK)
			goto fail;
		if ((r = cli_out_open(&out[i], "--out", path[i])) != JPKI_OK)
			goto fail;
		if (fwrite(der[i].data, 1, der[i].len, out[i].f) != der[i].len) {
			r = jpki_fail(JPKI_ERR_IO, "%s: write failed", path[i]);
			goto fail;
		}
	}
	files = json_object();
	for (size_t i = 0; i < JPKI_ARRAY_LEN(certs); i++) {
		int on_card = der[i].data != NULL;

		if (certs[i].which == CARD_CERT_SIGN && !o->sign)
			continue;
		if (on_card && (r = cli_out_commit(&out[i])) != JPKI_OK)
			goto fail;
		if (!o->json)
			printf("%-12s %s\n", certs[i].file, on_card ? path[i] :
			    "(none on the card)");
		json_object_set_new(files, certs[i].file, on_card ?
		    json_string(path[i]) : json_null());
	}
	if (o->json) {
		cli_print_json(files);
		files = NULL;
	}
fail:
	for (size_t i = 0; i < JPKI_ARRAY_LEN(certs); i++) {
		cli_out_discard(&out[i]);
		jbuf_free(&der[i]);
	}
	if (r != JPKI_OK)
		cli_out_dir_discard(o->out, made);
	json_decref(files);
	card_transport_free(&t);
	return cli_report(r);
}

/* ---- change-pin -------------------------------------------------------- */

static int
read_new_pin(enum pin_kind k, char *buf, size_t n)
{
	char again[PIN_INPUT_MAX];
	int r;

	/* From JPKI_NEW_PIN, else asked twice on the terminal. */
	if ((r = cli_read_secret("JPKI_NEW_PIN", "New PIN: ", buf, n)) !=
	    JPKI_OK || getenv("JPKI_NEW_PIN") != NULL)
		return r;
	if ((r = cli_read_secret(NULL, "New PIN again: ", again,
	    sizeof(again))) != JPKI_OK)
		goto fail;
	rules_pin_normalise(k, buf);
	rules_pin_normalise(k, again);
	if (strcmp(buf, again) != 0)
		r = jpki_fail(JPKI_ERR_INPUT, "the two new PINs differ; "
		    "nothing changed");
fail:
	jpki_wipe(again, sizeof(again));
	return r;
}

static int
card_change_pin(const struct card_opts *o)
{
	struct card_transport *t = NULL;
	char old_pin[PIN_INPUT_MAX], new_pin[PIN_INPUT_MAX];
	enum pin_kind k;
	int r;

	if (o->type == NULL || rules_pin_kind_parse(o->type, &k) != JPKI_OK)
		return cli_usage("card change-pin needs --type "
		    "sign|auth|cardinfo");
	memset(old_pin, 0, sizeof(old_pin));
	memset(new_pin, 0, sizeof(new_pin));
	if ((r = open_transport(o, &t)) != JPKI_OK ||
	    (r = cli_read_secret(pin_env(k), pin_prompt(k), old_pin,
	    sizeof(old_pin))) != JPKI_OK ||
	    (r = read_new_pin(k, new_pin, sizeof(new_pin))) != JPKI_OK)
		goto fail;
	if ((r = card_client_change_pin(t, k, old_pin, new_pin, NULL)) !=
	    JPKI_OK)
		goto fail;
	if (o->json)
		cli_print_json(json_pack("{s:s, s:b}", "pin",
		    rules_pin_kind_name(k), "changed", 1));
	else
		printf("%s PIN changed\n", rules_pin_kind_name(k));
fail:
	jpki_wipe(old_pin, sizeof(old_pin));
	jpki_wipe(new_pin, sizeof(new_pin));
	card_transport_free(&t);
	return cli_report(r);
}

/* ---- info -------------------------------------------------------------- */

/* The card issuer's signature over the facts as read: "verified" (by the
 * trusted key, the data directory's, when there is one; else by the key
 * the card carries in EF 0004, whose id a relying party still compares
 * with the issuer's it trusts), "absent" (a card written before EF 0003),
 * or "invalid" with why in *why. */
static const char *
issuer_signature(const struct card_info_files *f, EVP_PKEY *trusted,
    char key_id[33], char *why, size_t why_len)
{
	uint8_t id[CARD_INFO_KEY_ID_LEN];
	EVP_PKEY *issuer = NULL;
	const char *verdict = "invalid";

	key_id[0] = why[0] = '\0';
	if (f->signature.len == 0 && f->cert.len == 0)
		verdict = "absent";
	else if (card_info_verify(f, trusted, &issuer) == JPKI_OK &&
	    card_info_key_id(issuer, id) == JPKI_OK) {
		verdict = "verified";
		for (size_t i = 0; i < sizeof(id); i++)
			snprintf(key_id + 2 * i, 3, "%02X", id[i]);
	} else {
		snprintf(why, why_len, "%s", jpki_errmsg());
	}
	jpki_errclear();
	EVP_PKEY_free(issuer);
	return verdict;
}

static int
card_info_cmd(const struct card_opts *o)
{
	struct card_transport *t = NULL;
	struct card_info *info = calloc(1, sizeof(*info));
	struct card_info_files files;
	char key_id[33], why[256];
	const char *verdict;
	EVP_PKEY *trusted = NULL;
	json_t *j;
	int r;

	if (info == NULL)
		return cli_report(jpki_fail(JPKI_ERR_NOMEM, "out of memory"));
	/* The files are read once: the facts shown are the bytes the
	 * signature is checked over (a card cannot answer one way for the
	 * display and another for the check). */
	card_info_files_init(&files);
	if ((o->data != NULL && (r = cli_card_trusted_issuer(o->data,
	    &trusted)) != JPKI_OK) ||
	    (r = open_transport(o, &t)) != JPKI_OK ||
	    (r = verify_pin(t, PIN_CARDINFO)) != JPKI_OK ||
	    (r = card_client_read_info_files(t, &files)) != JPKI_OK ||
	    (r = card_info_parse_number(files.number.data, files.number.len,
	    info)) != JPKI_OK ||
	    (r = card_info_parse_facts(files.facts.data, files.facts.len,
	    info)) != JPKI_OK)
		goto fail;
	verdict = issuer_signature(&files, trusted, key_id, why, sizeof(why));
	if (o->json) {
		j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b}",
		    "individual_number", info->number, "name", info->name,
		    "address", info->address, "birth", info->birth, "sex",
		    info->sex, "issuer_signature", verdict,
		    "issuer_key_trusted", trusted != NULL && key_id[0] != '\0');
		if (key_id[0])
			json_object_set_new(j, "card_issuer_key_id",
			    json_string(key_id));
		if (why[0])
			json_object_set_new(j, "issuer_signature_error",
			    json_string(why));
		cli_print_json(j);
	} else {
		printf("individual number  %s\nname               %s\n"
		    "address            %s\nbirth              %s\n"
		    "sex (ISO 5218)     %s\nissuer signature   %s%s%s%s%s\n",
		    info->number, info->name, info->address, info->birth,
		    info->sex, verdict, key_id[0] ? " (card issuer key " : "",
		    key_id, key_id[0] ? ")" : "", trusted != NULL &&
		    key_id[0] ? ", the data directory's: trusted" : "");
		if (why[0])
			printf("                   %s\n", why);
	}
fail:
	EVP_PKEY_free(trusted);
	jpki_wipe(info, sizeof(*info));
	free(info);
	card_info_files_free(&files);
	card_transport_free(&t);
	return cli_report(r);
}

/* ---- face -------------------------------------------------------------- */

static int
card_face_cmd(const struct card_opts *o)
{
	struct card_transport *t = NULL;
	struct card_info *info = calloc(1, sizeof(*info));
	int r;

	if (info == NULL)
		return cli_report(jpki_fail(JPKI_ERR_NOMEM, "out of memory"));
	if (o->out == NULL) {
		free(info);
		return cli_usage("card face needs --out DIR");
	}
	/* Collation number A is the individual number: read with the
	 * card-info PIN, as myna does. */
	if ((r = open_transport(o, &t)) == JPKI_OK &&
	    (r = verify_pin(t, PIN_CARDINFO)) == JPKI_OK &&
	    (r = card_client_read_info(t, info)) == JPKI_OK)
		r = cli_card_face_write(t, info->number, o->out, o->data,
		    o->json);
	jpki_wipe(info, sizeof(*info));
	free(info);
	card_transport_free(&t);
	return cli_report(r);
}

/* ---- sign -------------------------------------------------------------- */

static int
sha256_file(const char *path, uint8_t hash[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t *buf = malloc(SIGN_READ_CHUNK);
	FILE *f = fopen(path, "rb");
	size_t n;
	int r = JPKI_OK;

	if (f == NULL)
		r = jpki_fail(JPKI_ERR_INPUT, "%s: %s", path, strerror(errno));
	else if (md == NULL || buf == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		r = jpki_fail(JPKI_ERR_CRYPTO, "SHA-256 unavailable");
	while (r == JPKI_OK && (n = fread(buf, 1, SIGN_READ_CHUNK, f)) > 0)
		if (EVP_DigestUpdate(md, buf, n) != 1)
			r = jpki_fail(JPKI_ERR_CRYPTO, "SHA-256 failed");
	if (r == JPKI_OK && ferror(f))
		r = jpki_fail(JPKI_ERR_IO, "%s: read error", path);
	if (r == JPKI_OK && EVP_DigestFinal_ex(md, hash, NULL) != 1)
		r = jpki_fail(JPKI_ERR_CRYPTO, "SHA-256 failed");
	if (f != NULL)
		fclose(f);
	free(buf);
	EVP_MD_CTX_free(md);
	return r;
}

static int
card_sign_cmd(const struct card_opts *o)
{
	struct card_transport *t = NULL;
	uint8_t hash[32], sig[CARD_SIG_LEN];
	enum cert_type type;
	int r;

	if (o->type == NULL || rules_cert_type_parse(o->type, &type) !=
	    JPKI_OK || o->in == NULL || o->out == NULL)
		return cli_usage("card sign needs --type sign|auth --in FILE "
		    "--out SIG");
	if ((r = sha256_file(o->in, hash)) != JPKI_OK ||
	    (r = open_transport(o, &t)) != JPKI_OK ||
	    (r = verify_pin(t, type == CERT_SIGN ? PIN_SIGN : PIN_AUTH)) !=
	    JPKI_OK ||
	    (r = card_client_sign_sha256(t, type, hash, sig)) != JPKI_OK ||
	    (r = cli_write_file("--out", o->out, sig, sizeof(sig))) !=
	    JPKI_OK)
		goto fail;
	if (o->json)
		cli_print_json(json_pack("{s:s, s:s, s:s, s:i}", "key",
		    rules_cert_type_name(type), "algorithm",
		    "sha256WithRSAEncryption", "signature", o->out, "bytes",
		    CARD_SIG_LEN));
	else
		printf("signed %s with the %s key: %s (%d bytes, "
		    "sha256WithRSAEncryption)\n", o->in,
		    rules_cert_type_name(type), o->out, CARD_SIG_LEN);
fail:
	card_transport_free(&t);
	return cli_report(r);
}

/* ---- attach ------------------------------------------------------------ */

static volatile sig_atomic_t attach_stop;

static void
on_signal(int sig)
{
	(void)sig;
	attach_stop = 1;
}

static void
attach_progress(const char *line)
{
	fprintf(stderr, "jpki: %s\n", line);
}

static int
card_attach(const struct card_opts *o)
{
	struct sigaction sa;
	struct card *c = NULL;
	char host[256];
	uint16_t port;
	int r;

	if (o->card == NULL)
		return cli_usage("card attach needs --card FILE");
	if ((r = card_parse_hostport(o->vpcd ? o->vpcd : CARD_VPCD_DEFAULT,
	    host, &port)) != JPKI_OK)
		return cli_report(r);
	if ((r = card_image_load(o->card, &c)) != JPKI_OK)
		return cli_report(r);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	r = card_vpcd_attach(c, host, port, &attach_stop, attach_progress);
	card_free(&c);
	if (r == JPKI_OK)
		fprintf(stderr, "jpki: card removed from the vpcd reader\n");
	return cli_report(r);
}

int
cli_card(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(const struct card_opts *o);
	} subs[] = {
	    {"new", card_new},
	    {"status", card_status_cmd},
	    {"certs", card_certs},
	    {"change-pin", card_change_pin},
	    {"info", card_info_cmd},
	    {"face", card_face_cmd},
	    {"sign", card_sign_cmd},
	    {"attach", card_attach},
	};
	struct card_opts o;
	int r;

	for (size_t i = 0; i < JPKI_ARRAY_LEN(subs); i++) {
		if (strcmp(argv[1], subs[i].name) != 0)
			continue;
		if ((r = parse_opts(argc, argv, &o)) != CLI_RUN)
			return r;
		return subs[i].run(&o);
	}
	return cli_not_a_subcommand(argv, usage_text);
}
