/*
 * cli_ca_gen.c: the CA generations at the command line: `jpki ca show`
 * (every generation of both CAs, with the roll-over warning), `jpki ca
 * export` (every generation's CA and responder certificates and every
 * link certificate), `jpki ca rollover` and `jpki ca renew-responders`.
 * The table of subcommands is cli_ca.c's.
 */
#include "cli/cli_ca.h"

#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const enum cert_type both[] = {CERT_SIGN, CERT_AUTH};

/* "2031-11-28" (JST) */
static void
jst_day(int64_t t, char out[11])
{
	jdate_format(jst_date_of(t), out);
}

static json_t *
generation_json(const struct ca_generation_status *st)
{
	char nb[26], na[26], rna[26], last[26], by[11];

	iso8601_format_jst(st->not_before, nb);
	iso8601_format_jst(st->not_after, na);
	iso8601_format_jst(st->responder_not_after, rna);
	jst_day(st->roll_over_by, by);
	if (st->last_not_after > 0)
		iso8601_format_jst(st->last_not_after, last);
	return json_pack("{s:i, s:b, s:s, s:s, s:s, s:s, s:I, s:o, s:b, s:s}",
	    "generation", st->gen, "issuing", st->issuing, "key_id",
	    st->key_id, "not_before", nb, "not_after", na,
	    "responder_not_after", rna, "live", (json_int_t)st->live,
	    "last_not_after", st->last_not_after > 0 ? json_string(last) :
	    json_null(), "in_service", st->in_service, "roll_over_by", by);
}

/* The warning of the issuing generation, or "" if none is due. */
static void
rollover_warning(const struct ca_generation_status *st, int64_t now,
    char *buf, size_t n)
{
	char by[11], end[11];

	buf[0] = '\0';
	if (!st->rollover_due)
		return;
	jst_day(st->roll_over_by, by);
	jst_day(st->not_after, end);
	if (st->cut_short)
		snprintf(buf, n, "%s CA generation %d: a certificate issued "
		    "today would be cut short by the CA's expiry on %s; it was "
		    "to be rolled over by %s (jpki ca rollover --type %s)",
		    rules_cert_type_name(st->type), st->gen, end, by,
		    rules_cert_type_name(st->type));
	else
		snprintf(buf, n, "%s CA generation %d: roll over by %s (in %lld "
		    "days): after that day, certificates issued are cut short "
		    "by the CA's expiry on %s (jpki ca rollover --type %s)",
		    rules_cert_type_name(st->type), st->gen, by,
		    (long long)((st->roll_over_by - now) / 86400 + 1), end,
		    rules_cert_type_name(st->type));
}

/* Adds "generations" to each CA's object in o and the warnings to
 * `warnings`. */
int
cli_ca_generations_show(struct cli_env *e, json_t *o, json_t *warnings)
{
	struct ca_generation_status st;
	char warning[400];
	int64_t now;
	int r;

	if ((r = jpki_now_checked(&now)) != JPKI_OK)
		return r;
	for (size_t i = 0; i < JPKI_ARRAY_LEN(both); i++) {
		json_t *side = json_object_get(o, rules_cert_type_name(both[i]));
		json_t *gens = json_array();

		for (int g = 1; g <= ca_generation_count(e->ca, both[i]); g++) {
			json_t *gj;

			if ((r = ca_generation_status(e->ca, both[i], g, now,
			    &st)) != JPKI_OK) {
				json_decref(gens);
				return r;
			}
			gj = generation_json(&st);
			rollover_warning(&st, now, warning, sizeof(warning));
			if (warning[0] != '\0') {
				json_object_set_new(gj, "warning",
				    json_string(warning));
				json_array_append_new(warnings,
				    json_string(warning));
			}
			json_array_append_new(gens, gj);
		}
		json_object_set_new(side, "generations", gens);
	}
	return JPKI_OK;
}

void
cli_ca_generations_print(json_t *side)
{
	json_t *gens = json_object_get(side, "generations"), *v;
	size_t k;

	json_array_foreach(gens, k, v) {
		int issuing = json_is_true(json_object_get(v, "issuing"));

		printf("  generation %lld%s\n    key id:     %s\n"
		    "    valid:      %s .. %s\n    responder:  until %s\n"
		    "    live:       %lld certificates\n",
		    (long long)json_integer_value(json_object_get(v,
		    "generation")), issuing ? " (issues)" :
		    json_is_true(json_object_get(v, "in_service")) ?
		    " (answers for its certificates)" :
		    " (retired: all its certificates have expired)",
		    json_string_value(json_object_get(v, "key_id")),
		    json_string_value(json_object_get(v, "not_before")),
		    json_string_value(json_object_get(v, "not_after")),
		    json_string_value(json_object_get(v, "responder_not_after")),
		    (long long)json_integer_value(json_object_get(v, "live")));
		if (issuing)
			printf("    roll over by %s\n", json_string_value(
			    json_object_get(v, "roll_over_by")));
	}
}

/* ---- export ------------------------------------------------------------- */

struct export_file {
	char path[JPKI_PATH_MAX];
	X509 *cert;            /* borrowed from the CA */
	enum cert_type type;
	int gen;
	const char *kind;      /* "ca", "ocsp", "link-old-with-new", ... */
	struct cli_out out;
};

#define EXPORT_FILES_MAX (2 * CA_GEN_MAX * 4)

int
cli_ca_export(struct cli_env *e, const char *dir, int json)
{
	static const char *const kinds[] = {"ca", "ocsp", "link-old-with-new",
	    "link-new-with-old"};
	struct export_file *f;
	size_t n = 0;
	json_t *arr = NULL;
	int r = JPKI_OK, made = 0;

	if (dir == NULL)
		return jpki_fail(JPKI_ERR_USAGE, "export needs --out DIR");
	if ((f = calloc(EXPORT_FILES_MAX, sizeof(*f))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	if ((r = cli_out_dir(dir, &made)) != JPKI_OK) {
		free(f);
		return r;
	}
	for (size_t i = 0; i < JPKI_ARRAY_LEN(both); i++) {
		for (int g = 1; g <= ca_generation_count(e->ca, both[i]); g++) {
			X509 *certs[] = {ca_gen_cert(e->ca, both[i], g),
			    ca_gen_ocsp_cert(e->ca, both[i], g),
			    ca_gen_old_with_new(e->ca, both[i], g),
			    ca_gen_new_with_old(e->ca, both[i], g)};
			char gen[16] = "";

			if (g > 1)
				snprintf(gen, sizeof(gen), ".gen%d", g);
			for (size_t k = 0; k < JPKI_ARRAY_LEN(kinds); k++) {
				if (certs[k] == NULL)   /* no links for gen 1 */
					continue;
				f[n].cert = certs[k];
				f[n].type = both[i];
				f[n].gen = g;
				f[n].kind = kinds[k];
				if ((r = jpki_path(f[n].path, sizeof(f[n].path),
				    "%s/%s-%s%s.pem", dir,
				    rules_cert_type_name(both[i]), kinds[k],
				    gen)) != JPKI_OK)
					goto out;
				n++;
			}
		}
	}
	/* Every file written before any is renamed into place. */
	for (size_t i = 0; i < n; i++) {
		if ((r = cli_out_open(&f[i].out, "--out", f[i].path)) != JPKI_OK)
			goto out;
		if (!PEM_write_X509(f[i].out.f, f[i].cert)) {
			r = jpki_fail(JPKI_ERR_IO, "%s: write failed", f[i].path);
			goto out;
		}
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		if ((r = cli_out_commit(&f[i].out)) != JPKI_OK)
			goto out;
		json_array_append_new(arr, json_string(f[i].path));
	}
	if (json) {
		json_t *detail = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(detail, json_pack("{s:s, s:s, "
			    "s:i, s:s}", "path", f[i].path, "type",
			    rules_cert_type_name(f[i].type), "generation",
			    f[i].gen, "kind", f[i].kind));
		cli_print_json(json_pack("{s:o, s:o}", "files", arr,
		    "certificates", detail));
		arr = NULL;
	} else {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", f[i].path);
	}
out:
	for (size_t i = 0; i < n; i++)
		cli_out_discard(&f[i].out);
	if (r != JPKI_OK)
		cli_out_dir_discard(dir, made);
	json_decref(arr);
	free(f);
	return r;
}

/* ---- rollover ----------------------------------------------------------- */

int
cli_ca_rollover(struct cli_env *e, const char *type, const char *actor,
    int json)
{
	struct ca_rollover_result res;
	struct ca_generation_status st;
	enum cert_type t;
	int64_t now;
	char nb[26], na[26];
	int r;

	if (type == NULL)
		return jpki_fail(JPKI_ERR_USAGE, "rollover needs --type sign|auth");
	if (rules_cert_type_parse(type, &t) != JPKI_OK)
		return jpki_fail(JPKI_ERR_USAGE, "--type: sign or auth");
	if ((r = ca_rollover(e->ca, t, actor, &res)) != JPKI_OK ||
	    (r = jpki_now_checked(&now)) != JPKI_OK ||
	    (r = ca_generation_status(e->ca, t, res.new_gen, now, &st)))
		return r;
	iso8601_format_jst(st.not_before, nb);
	iso8601_format_jst(st.not_after, na);
	if (json) {
		cli_print_json(json_pack("{s:s, s:i, s:i, s:s, s:s, s:s, "
		    "s:{s:s, s:s, s:s, s:s}}", "type", rules_cert_type_name(t),
		    "generation", res.new_gen, "previous", res.old_gen,
		    "key_id", st.key_id, "not_before", nb, "not_after", na,
		    "files", "ca", res.ca_path, "ocsp", res.ocsp_path,
		    "old_with_new", res.old_with_new_path, "new_with_old",
		    res.new_with_old_path));
		return JPKI_OK;
	}
	printf("%s CA generation %d issues from now on (generation %d answers "
	    "for its own certificates until they expire)\n"
	    "  key id:        %s\n  valid:         %s .. %s\n"
	    "  certificate:   %s\n  OldWithNew:    %s\n  NewWithOld:    %s\n"
	    "  responder:     %s\n"
	    "publish them (jpki ca export) and restart jpki serve\n",
	    rules_cert_type_name(t), res.new_gen, res.old_gen, st.key_id, nb,
	    na, res.ca_path, res.old_with_new_path, res.new_with_old_path,
	    res.ocsp_path);
	return JPKI_OK;
}

int
cli_ca_renew_responders(struct cli_env *e, const char *type, long long days,
    const char *actor, int json)
{
	json_t *arr = json_array();
	enum cert_type only = 0;
	int r = JPKI_OK, n = 0;

	if (type != NULL && rules_cert_type_parse(type, &only) != JPKI_OK) {
		json_decref(arr);
		return jpki_fail(JPKI_ERR_USAGE, "--type: sign or auth");
	}
	for (size_t i = 0; i < JPKI_ARRAY_LEN(both) && r == JPKI_OK; i++) {
		if (only != 0 && both[i] != only)
			continue;
		for (int g = 1; g <= ca_generation_count(e->ca, both[i]) &&
		    r == JPKI_OK; g++) {
			int renewed = 0;
			int64_t na;
			char nas[26];

			if ((r = ca_responder_renew(e->ca, both[i], g,
			    days * 86400, actor, &renewed)) != JPKI_OK ||
			    !renewed)
				continue;
			if ((r = pki_asn1_time_get(X509_get0_notAfter(
			    ca_gen_ocsp_cert(e->ca, both[i], g)), &na)))
				break;
			iso8601_format_jst(na, nas);
			n++;
			json_array_append_new(arr, json_pack("{s:s, s:i, s:s}",
			    "type", rules_cert_type_name(both[i]),
			    "generation", g, "not_after", nas));
			if (!json)
				printf("%s CA generation %d: new responder "
				    "certificate, valid until %s\n",
				    rules_cert_type_name(both[i]), g, nas);
		}
	}
	if (r == JPKI_OK && json)
		cli_print_json(json_pack("{s:o}", "renewed", arr));
	else
		json_decref(arr);
	if (r == JPKI_OK && !json && n == 0)
		printf("no responder certificate ends within %lld days\n", days);
	else if (r == JPKI_OK && !json)
		printf("restart jpki serve to answer with them\n");
	return r;
}
