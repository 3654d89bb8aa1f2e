/*
 * anchors.c: what a relying party beside a data directory trusts, and the
 * verdict as JSON (the CLI's --json and the HTTP routes answer alike).
 */
#include "rp/rp_int.h"
#include "datadir/datadir.h"

#include <dirent.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

/* Every CA certificate in the data directory's ca/ folder. */
int
rp_verifier_add_datadir_anchors(struct rp_verifier *v, struct datadir *dd)
{
	char dir[JPKI_PATH_MAX], path[JPKI_PATH_MAX];
	struct dirent *e;
	DIR *d;
	int r = JPKI_OK, n = 0;

	if ((r = datadir_path(dd, DATADIR_CA_DIR, NULL, dir, sizeof(dir))) !=
	    JPKI_OK)
		return r;
	if ((d = opendir(dir)) == NULL)
		return jpki_fail(JPKI_ERR_IO, "%s: cannot read", dir);
	while (r == JPKI_OK && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		FILE *f;
		X509 *x;

		if (len < 5 || strcmp(e->d_name + len - 4, ".pem") != 0 ||
		    jpki_path(path, sizeof(path), "%s/%s", dir, e->d_name) !=
		    JPKI_OK || (f = fopen(path, "r")) == NULL)
			continue;
		while (r == JPKI_OK &&
		    (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
			if ((X509_check_ca(x) != 0 &&
			    X509_check_issued(x, x) == X509_V_OK) ||
			    rp_is_document_signer(x)) {
				r = rp_verifier_add_anchor(v, x);
				n++;
			}
			X509_free(x);
		}
		fclose(f);
	}
	closedir(d);
	if (r == JPKI_OK && n == 0)
		r = jpki_fail(JPKI_ERR_NOTFOUND, "%s: no CA certificate", dir);
	return r;
}


json_t *
rp_result_json(const struct rp_result *res)
{
	char at[26], when[26], rev[26];
	json_t *j = json_object(), *st;

	iso8601_format_jst(res->at, at);
	json_object_set_new(j, "verdict", json_string(res->reason == RP_VALID ?
	    "valid" : "invalid"));
	json_object_set_new(j, "reason", json_string(rp_reason_name(
	    res->reason)));
	if (res->reason != RP_VALID)
		json_object_set_new(j, "why", json_string(res->why));
	json_object_set_new(j, "at", json_string(at));
	if (res->signer != NULL) {
		json_object_set_new(j, "subject", json_string(res->subject));
		json_object_set_new(j, "serial", json_string(res->serial));
	}
	if (res->document_signer)
		json_object_set_new(j, "signer_kind",
		    json_string("municipality"));
	if (res->signing_time != 0) {
		iso8601_format_jst(res->signing_time, when);
		json_object_set_new(j, "signing_time", json_string(when));
	}
	if (res->status.source != RP_SRC_NONE) {
		st = json_pack("{s:s, s:s, s:b}", "status",
		    res->status.revoked ? "revoked" : "good", "source",
		    rp_status_source_name(res->status.source), "cached",
		    res->status.cached);
		if (res->status.url[0] != '\0')
			json_object_set_new(st, "url",
			    json_string(res->status.url));
		if (res->status.revoked) {
			iso8601_format_jst(res->status.revoked_at, rev);
			json_object_set_new(st, "revoked_at", json_string(rev));
			json_object_set_new(st, "reason",
			    json_integer(res->status.reason));
		}
		if (res->status.tried[0] != '\0')
			json_object_set_new(st, "tried",
			    json_string(res->status.tried));
		json_object_set_new(j, "status", st);
	}
	if (res->has_facts) {
		const struct rp_facts *f = &res->facts;

		json_object_set_new(j, "facts", json_pack("{s:s, s:s, s:s, "
		    "s:s, s:s, s:s, s:s, s:i, s:s, s:s}",
		    "name", f->raw.name, "name_flags", f->raw.name_flags,
		    "address", f->raw.address, "address_flags",
		    f->raw.address_flags, "birth", f->birth_iso,
		    "birth_era", f->birth_era, "era", f->era_name,
		    "gender", f->raw.gender, "gender_name", f->gender_name,
		    "birth_raw", f->raw.birth));
	}
	return j;
}

