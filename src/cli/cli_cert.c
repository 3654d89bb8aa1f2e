/*
 * cli_cert.c: `jpki cert show|list|revoke`.  Serials are hex as
 * `openssl x509 -serial` prints them (colons and 0x tolerated).
 */
#include "cli/cli.h"
#include "ca/ca.h"
#include "pki/pki.h"

#include <errno.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: jpki cert show SERIAL [--pem] [--json]\n"
    "       jpki cert list [--resident ID] [--json]\n"
    "       jpki cert revoke SERIAL --reason REASON [--json]\n"
    "reasons (RFC 5280): keyCompromise, affiliationChanged, superseded,\n"
    "       cessationOfOperation, cACompromise, certificateHold,\n"
    "       privilegeWithdrawn, unspecified\n"
    "common: --data DIR, --actor NAME\n";

struct args {
	const char *data, *resident, *reason, *actor, *serial;
	int json, pem;
};

static json_t *
cert_json(const struct cert_record *c, int64_t now)
{
	char nb[26], na[26], ia[26];
	json_t *o;

	iso8601_format_jst(c->not_before, nb);
	iso8601_format_jst(c->not_after, na);
	iso8601_format_jst(c->issued_at, ia);
	o = json_pack("{s:s, s:s, s:s, s:n, s:I, s:s, s:s, s:s, s:i}",
	    "serial", c->serial, "type", rules_cert_type_name(c->ca),
	    "status", ca_cert_status_name(c, now), "reason",
	    "resident", (json_int_t)c->resident_id, "not_before", nb,
	    "not_after", na, "issued_at", ia, "crl_shard", c->crl_shard);
	if (c->status == CERT_STATUS_REVOKED) {
		char ra[26];

		iso8601_format_jst(c->revoked_at, ra);
		json_object_set_new(o, "reason",
		    json_string(store_revocation_reason_name(c->reason)));
		json_object_set_new(o, "revoked_at", json_string(ra));
	}
	json_object_set_new(o, "replaces", c->replaces[0] ?
	    json_string(c->replaces) : json_null());
	/* The CA generation that issued it (jpki ca rollover). */
	json_object_set_new(o, "generation", json_integer(c->gen));
	if (c->card_id != 0)
		json_object_set_new(o, "card", json_integer(c->card_id));
	return o;
}

static int
cmd_show(struct cli_env *e, struct args *a, int64_t now)
{
	struct cert_record c;
	char serial[SERIAL_HEX_MAX];
	const unsigned char *p;
	X509 *x = NULL;
	json_t *o;
	int r;

	if (a->serial == NULL)
		return jpki_fail(JPKI_ERR_USAGE, "show needs a SERIAL");
	if ((r = ca_serial_normalise(a->serial, serial)) != JPKI_OK ||
	    (r = store_cert_get(datadir_store(e->dd), serial, &c)) != JPKI_OK)
		return r;
	o = cert_json(&c, now);
	p = c.der;
	x = d2i_X509(NULL, &p, (long)c.der_len);
	if (x != NULL && c.ca == CERT_SIGN) {
		struct pki_cert_facts f;

		if (pki_cert_facts_read(x, &f) == JPKI_OK) {
			json_object_set_new(o, "facts", json_pack(
			    "{s:s, s:s, s:i, s:s, s:s, s:s}", "name", f.name,
			    "birth", f.birth, "gender", f.gender, "address",
			    f.address, "name_flags", f.name_flags,
			    "address_flags", f.address_flags));
			pki_cert_facts_free(&f);
		}
	}
	if (a->json) {
		if (a->pem && x != NULL) {
			BIO *b = BIO_new(BIO_s_mem());
			char *pem;
			long n;

			PEM_write_bio_X509(b, x);
			n = BIO_get_mem_data(b, &pem);
			json_object_set_new(o, "pem",
			    json_stringn(pem, (size_t)n));
			BIO_free(b);
		}
		cli_print_json(o);
	} else {
		const char *k;
		json_t *v;

		json_object_foreach(o, k, v) {
			if (json_is_string(v))
				printf("%-11s %s\n", k, json_string_value(v));
			else if (json_is_integer(v))
				printf("%-11s %lld\n", k,
				    (long long)json_integer_value(v));
		}
		if ((v = json_object_get(o, "facts")) != NULL)
			printf("facts       %s / %s / %lld / %s\n",
			    json_string_value(json_object_get(v, "name")),
			    json_string_value(json_object_get(v, "birth")),
			    (long long)json_integer_value(
			    json_object_get(v, "gender")),
			    json_string_value(json_object_get(v, "address")));
		if (a->pem && x != NULL)
			PEM_write_X509(stdout, x);
		json_decref(o);
	}
	X509_free(x);
	store_cert_free(&c);
	return JPKI_OK;
}

struct list_ctx {
	json_t *arr;
	int64_t now;
};

static int
list_one(void *arg, const struct cert_record *c)
{
	struct list_ctx *l = arg;
	char na[26];

	if (l->arr != NULL) {
		json_array_append_new(l->arr, cert_json(c, l->now));
	} else {
		iso8601_format_jst(c->not_after, na);
		printf("%-34s %-4s %-8s %-20s %s\n", c->serial,
		    rules_cert_type_name(c->ca), ca_cert_status_name(c, l->now),
		    c->status == CERT_STATUS_REVOKED ?
		    store_revocation_reason_name(c->reason) : "-", na);
	}
	return 0;
}

static int
cmd_list(struct cli_env *e, struct args *a, int64_t now)
{
	struct list_ctx l = {a->json ? json_array() : NULL, now};
	long long id = 0;
	int r;

	if (a->resident != NULL &&
	    (r = cli_parse_i64("--resident", a->resident, &id)) != JPKI_OK)
		goto out;
	if (a->resident != NULL) {
		struct resident res;

		if ((r = store_resident_get(datadir_store(e->dd), id, &res)))
			goto out;
	}
	r = store_cert_list(datadir_store(e->dd), id, list_one, &l);
	if (r == JPKI_OK && l.arr != NULL) {
		cli_print_json(l.arr);
		l.arr = NULL;
	}
out:
	json_decref(l.arr);
	return r;
}

static int
cmd_revoke(struct cli_env *e, struct args *a, int64_t now)
{
	char serial[SERIAL_HEX_MAX];
	int reason, r;

	(void)now;
	if (a->serial == NULL || a->reason == NULL)
		return jpki_fail(JPKI_ERR_USAGE, "revoke needs SERIAL and "
		    "--reason");
	if ((r = ca_serial_normalise(a->serial, serial)) != JPKI_OK ||
	    (r = store_revocation_reason_parse(a->reason, &reason)) ||
	    (r = ca_revoke(e->ca, serial, reason, a->actor ? a->actor :
	    "operator")) != JPKI_OK)
		return r;
	if (a->json)
		cli_print_json(json_pack("{s:s, s:s, s:s}", "serial", serial,
		    "status", "revoked", "reason",
		    store_revocation_reason_name(reason)));
	else
		printf("revoked %s (%s)\n", serial,
		    store_revocation_reason_name(reason));
	return JPKI_OK;
}

int
cli_cert(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(struct cli_env *, struct args *, int64_t);
		int takes_serial;
		unsigned open;
	} cmds[] = {
	    {"show", cmd_show, 1, CLI_READ}, {"list", cmd_list, 0, CLI_READ},
	    {"revoke", cmd_revoke, 1, CLI_CA_SIGN},
	};
	struct args a;
	struct cli_env env;
	int64_t now;
	int rc;
	const struct cli_opt opts[] = {
	    {"resident", CLI_POSITIVE, .value = &a.resident},
	    {"reason", CLI_VALUE, .value = &a.reason},
	    {"actor", CLI_VALUE, .value = &a.actor},
	    {"clerk", CLI_VALUE, .value = &a.actor},
	    {"pem", CLI_FLAG, .flag = &a.pem},
	};
	struct cli_command cmd = {.group = "cert", .usage = usage_text,
	    .opts = opts, .nopts = JPKI_ARRAY_LEN(opts), .data = &a.data,
	    .json = &a.json, .pos = &a.serial};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(cmds); i++) {
		if (strcmp(argv[1], cmds[i].name) != 0)
			continue;
		memset(&a, 0, sizeof(a));
		cmd.max_pos = cmds[i].takes_serial;
		if ((rc = cli_parse(&cmd, argc - 1, argv + 1)) != CLI_RUN)
			return rc;
		if ((rc = jpki_now_checked(&now)) != JPKI_OK)
			return cli_report(rc);
		if ((rc = cli_open(a.data, cmds[i].open, &env)) != 0)
			return rc;
		rc = cmds[i].run(&env, &a, now);
		cli_close(&env);
		return cli_report(rc);
	}
	return cli_not_a_subcommand(argv, usage_text);
}
