/*
 * cli_ca.c: `jpki ca show|export|issue|rollover|renew-responders` — the
 * CA's low-level operator interface.  Counter procedures build on the same
 * library calls.  The generations' part is cli_ca_gen.c.
 */
#include "cli/cli_ca.h"

#include <errno.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

static const char usage_text[] =
    "usage: jpki ca show [--json]\n"
    "       jpki ca export --out DIR [--json]\n"
    "       jpki ca rollover --type sign|auth [--keys DIR | --local] [--json]\n"
    "       jpki ca renew-responders [--type sign|auth] [--days N] [--json]\n"
    "       jpki ca issue --resident ID --type sign|auth --pubkey FILE.pem\n"
    "                     [--card-expiry YYYY-MM-DD] --out FILE [--json]\n"
    "common: --data DIR, --actor NAME\n";

struct args {
	const char *data, *out, *resident, *type, *pubkey, *expiry, *actor;
	const char *keys;
	long long days;
	int json, local;
};

static json_t *
cert_summary(X509 *x)
{
	char *subject = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	uint8_t md[32];
	unsigned int mdlen = sizeof(md);
	char fp[65], nb[32], na[32];
	struct tm t;
	json_t *o;

	X509_digest(x, EVP_sha256(), md, &mdlen);
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(fp + 2 * i, 3, "%02X", md[i]);
	ASN1_TIME_to_tm(X509_get0_notBefore(x), &t);
	strftime(nb, sizeof(nb), "%Y-%m-%dT%H:%M:%SZ", &t);
	ASN1_TIME_to_tm(X509_get0_notAfter(x), &t);
	strftime(na, sizeof(na), "%Y-%m-%dT%H:%M:%SZ", &t);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "subject",
	    subject ? subject : "", "serial", hex ? hex : "", "not_before", nb,
	    "not_after", na, "sha256", fp);
	OPENSSL_free(subject);
	OPENSSL_free(hex);
	BN_free(bn);
	return o;
}

/* One key's entry under "keys". */
static int
show_key(struct cli_env *e, json_t *keys, struct ca_key_id id)
{
	struct ca_key_info ki;
	char fp[65];
	json_t *k;
	int r;

	if ((r = ca_key_info(e->ca, id, &ki)) != JPKI_OK)
		return r;
	for (size_t j = 0; j < 32; j++)
		snprintf(fp + 2 * j, 3, "%02X", ki.sha256[j]);
	k = json_pack("{s:s, s:s, s:s}", "key", ki.name, "label",
	    ki.label, "location", ki.where);
	if (id.role != CA_KEY_CARD_ISSUER)
		json_object_set_new(k, "generation", json_integer(id.gen));
	json_object_set_new(k, "spki_sha256", ki.have_sha256 ?
	    json_string(fp) : json_null());
	if (!ki.have_sha256)
		json_object_set_new(k, "why", json_string(ki.why));
	json_array_append_new(keys, k);
	return JPKI_OK;
}

/* Key ceremony basics: where each key is and its fingerprint (the
 * SHA-256 of its SubjectPublicKeyInfo), an array under "keys": every
 * generation's CA and responder keys of both CAs, then the card
 * issuer's. */
static int
show_keys(struct cli_env *e, json_t *o)
{
	static const enum cert_type types[] = {CERT_SIGN, CERT_AUTH};
	json_t *keys = json_array();
	int r;

	json_object_set_new(o, "keys", keys);
	for (size_t i = 0; i < JPKI_ARRAY_LEN(types); i++)
		for (int g = 1; g <= ca_generation_count(e->ca, types[i]); g++)
			if ((r = show_key(e, keys, (struct ca_key_id){types[i],
			    CA_KEY_CA, g})) != JPKI_OK ||
			    (r = show_key(e, keys, (struct ca_key_id){types[i],
			    CA_KEY_OCSP, g})) != JPKI_OK)
				return r;
	return show_key(e, keys, CA_KEY_ID_CARD_ISSUER);
}

static void
print_keys(json_t *o)
{
	json_t *k;
	size_t i;

	printf("keys\n");
	json_array_foreach(json_object_get(o, "keys"), i, k) {
		json_t *fp = json_object_get(k, "spki_sha256");

		printf("  %-33s %s\n  %-33s SPKI SHA-256 %s\n",
		    json_string_value(json_object_get(k, "label")),
		    json_string_value(json_object_get(k, "location")), "",
		    json_is_string(fp) ? json_string_value(fp) :
		    json_string_value(json_object_get(k, "why")));
	}
}

static int
cmd_show(struct cli_env *e, struct args *a)
{
	json_t *o = json_object(), *warnings = json_array();
	const enum cert_type types[] = {CERT_SIGN, CERT_AUTH};
	int r;

	/* The top level of each CA: its issuing generation, as before
	 * generations; every generation under "generations". */
	for (size_t i = 0; i < 2; i++) {
		json_t *side = cert_summary(ca_cert(e->ca, types[i]));

		json_object_set_new(side, "ocsp_responder",
		    cert_summary(ca_ocsp_cert(e->ca, types[i])));
		json_object_set_new(o, rules_cert_type_name(types[i]), side);
	}
	json_object_set_new(o, "municipality",
	    json_string(datadir_config(e->dd)->municipality));
	json_object_set_new(o, "policy", json_string(
	    datadir_config(e->dd)->test_policy ? "test" : "production"));
	if ((r = cli_ca_generations_show(e, o, warnings)) != JPKI_OK ||
	    (r = show_keys(e, o)) != JPKI_OK) {
		json_decref(o);
		json_decref(warnings);
		return r;
	}
	json_object_set_new(o, "warnings", warnings);
	if (a->json) {
		cli_print_json(o);
		return JPKI_OK;
	}
	for (size_t i = 0; i < 2; i++) {
		json_t *s = json_object_get(o, rules_cert_type_name(types[i]));

		printf("%s CA\n  subject:    %s\n  serial:     %s\n"
		    "  valid:      %s .. %s\n  sha256:     %s\n",
		    rules_cert_type_name(types[i]),
		    json_string_value(json_object_get(s, "subject")),
		    json_string_value(json_object_get(s, "serial")),
		    json_string_value(json_object_get(s, "not_before")),
		    json_string_value(json_object_get(s, "not_after")),
		    json_string_value(json_object_get(s, "sha256")));
		cli_ca_generations_print(s);
	}
	print_keys(o);
	for (size_t i = 0; i < json_array_size(warnings); i++)
		printf("warning: %s\n",
		    json_string_value(json_array_get(warnings, i)));
	json_decref(o);
	return JPKI_OK;
}

static int
cmd_export(struct cli_env *e, struct args *a)
{
	return cli_ca_export(e, a->out, a->json);
}

static int
cmd_rollover(struct cli_env *e, struct args *a)
{
	return cli_ca_rollover(e, a->type, a->actor ? a->actor : "operator",
	    a->json);
}

static int
cmd_renew_responders(struct cli_env *e, struct args *a)
{
	return cli_ca_renew_responders(e, a->type, a->days > 0 ? a->days :
	    CA_RESPONDER_RENEW_DAYS, a->actor ? a->actor : "operator",
	    a->json);
}

static int
read_pubkey(const char *path, EVP_PKEY **out)
{
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "--pubkey: %s: %s", path,
		    strerror(errno));
	*out = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (*out == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "--pubkey: %s is not a PEM "
		    "public key (SubjectPublicKeyInfo)", path);
	return JPKI_OK;
}

static int
cmd_issue(struct cli_env *e, struct args *a)
{
	struct ca_issue_request req;
	struct ca_issued out;
	struct cli_out f;
	const unsigned char *p;
	X509 *x = NULL;
	long long id;
	char nb[26], na[26];
	int r;

	memset(&req, 0, sizeof(req));
	memset(&out, 0, sizeof(out));
	memset(&f, 0, sizeof(f));
	if (a->resident == NULL || a->type == NULL || a->pubkey == NULL ||
	    a->out == NULL)
		return jpki_fail(JPKI_ERR_USAGE, "issue needs --resident, --type,"
		    " --pubkey and --out");
	if ((r = cli_parse_i64("--resident", a->resident, &id)) != JPKI_OK)
		return r;
	req.resident_id = id;
	if (rules_cert_type_parse(a->type, &req.type) != JPKI_OK)
		return jpki_fail(JPKI_ERR_USAGE, "--type: sign or auth");
	if (a->expiry != NULL && jdate_parse(a->expiry, &req.card_expiry))
		return jpki_fail(JPKI_ERR_INPUT, "--card-expiry: '%s' is not a "
		    "date (YYYY-MM-DD)", a->expiry);
	req.actor = a->actor ? a->actor : "operator";
	if ((r = read_pubkey(a->pubkey, &req.pub)) != JPKI_OK)
		return r;
	/* The output is opened before issuing: a certificate is never
	 * issued and then lost for want of a writable --out. */
	if ((r = cli_out_open(&f, "--out", a->out)) != JPKI_OK)
		goto out;
	if ((r = ca_issue(e->ca, &req, &out)) != JPKI_OK)
		goto out;
	p = out.der;
	if ((x = d2i_X509(NULL, &p, (long)out.der_len)) == NULL) {
		r = jpki_fail(JPKI_ERR_INTERNAL, "issued certificate %s "
		    "unreadable", out.serial);
		goto out;
	}
	if (!PEM_write_X509(f.f, x) || cli_out_commit(&f) != JPKI_OK) {
		r = jpki_fail(JPKI_ERR_IO, "--out: %s: certificate %s was "
		    "issued but not written (`jpki cert show %s --pem`)",
		    a->out, out.serial, out.serial);
		goto out;
	}
	iso8601_format_jst(out.not_before, nb);
	iso8601_format_jst(out.not_after, na);
	if (a->json)
		cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}",
		    "serial", out.serial, "type", rules_cert_type_name(req.type),
		    "not_before", nb, "not_after", na, "crl_shard",
		    out.crl_shard, "out", a->out));
	else
		printf("issued %s certificate %s, valid until %s -> %s\n",
		    rules_cert_type_name(req.type), out.serial, na, a->out);
out:
	/* A refused issuance leaves no file behind. */
	cli_out_discard(&f);
	X509_free(x);
	EVP_PKEY_free(req.pub);
	ca_issued_free(&out);
	return r;
}

int
cli_ca(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(struct cli_env *, struct args *);
		unsigned open;
	} cmds[] = {
	    {"show", cmd_show, CLI_CA_CERTS},
	    {"export", cmd_export, CLI_CA_CERTS},
	    {"issue", cmd_issue, CLI_CA_SIGN},
	    {"rollover", cmd_rollover, CLI_CA_SIGN},
	    {"renew-responders", cmd_renew_responders, CLI_CA_SIGN},
	};
	struct args a;
	struct cli_env env;
	int rc;
	const struct cli_opt opts[] = {
	    {"out", CLI_VALUE, .value = &a.out},
	    {"resident", CLI_POSITIVE, .value = &a.resident},
	    {"type", CLI_VALUE, .value = &a.type},
	    {"pubkey", CLI_VALUE, .value = &a.pubkey},
	    {"card-expiry", CLI_VALUE, .value = &a.expiry},
	    {"actor", CLI_VALUE, .value = &a.actor},
	    {"clerk", CLI_VALUE, .value = &a.actor},
	    {"days", CLI_NUMBER, .number = &a.days, .min = 1, .max = 366},
	    {"keys", CLI_VALUE, .value = &a.keys},
	    {"local", CLI_FLAG, .flag = &a.local},
	};
	struct cli_command cmd = {.group = "ca", .usage = usage_text,
	    .opts = opts, .nopts = JPKI_ARRAY_LEN(opts), .data = &a.data,
	    .json = &a.json};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(cmds); i++) {
		if (strcmp(argv[1], cmds[i].name) != 0)
			continue;
		memset(&a, 0, sizeof(a));
		if ((rc = cli_parse(&cmd, argc - 1, argv + 1)) != CLI_RUN)
			return rc;
		if ((a.keys != NULL || a.local) &&
		    strcmp(cmds[i].name, "rollover") != 0)
			return cli_usage("--keys, --local: only with rollover");
		if (a.keys != NULL && a.local)
			return cli_usage("--keys and --local: one or the other");
		if (a.keys != NULL || a.local) {
			/* The key ceremony on the signer's machine: the new
			 * keys are made where the signer keeps its keys, not
			 * through it (its request table makes none). */
			if ((rc = cli_open(a.data, CLI_WRITE, &env)) != 0)
				return rc;
			if ((rc = ca_open_local(env.dd, cmds[i].open &
			    (CA_KEYS_CA | CA_KEYS_OCSP), a.keys, &env.ca)) !=
			    JPKI_OK) {
				cli_close(&env);
				return cli_report(rc);
			}
		} else if ((rc = cli_open(a.data, cmds[i].open, &env)) != 0)
			return rc;
		rc = cmds[i].run(&env, &a);
		cli_close(&env);
		return cli_report(rc);
	}
	return cli_not_a_subcommand(argv, usage_text);
}
