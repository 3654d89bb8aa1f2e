/*
 * cli_ca.c: `jpki ca show|export|issue` — the CA's low-level operator
 * interface.  Counter procedures build on the same library calls.
 */
#include "cli/cli.h"
#include "ca/ca.h"
#include "pki/pki.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: jpki ca show [--json]\n"
    "       jpki ca export --out DIR [--json]\n"
    "       jpki ca issue --resident ID --type sign|auth --pubkey FILE.pem\n"
    "                     [--card-expiry YYYY-MM-DD] --out FILE [--json]\n"
    "common: --data DIR, --actor NAME\n";

enum { O_DATA = 1, O_JSON, O_OUT, O_RESIDENT, O_TYPE, O_PUBKEY, O_EXPIRY,
	O_ACTOR, O_HELP };

static const struct option opts[] = {
    {"data", required_argument, NULL, O_DATA},
    {"json", no_argument, NULL, O_JSON},
    {"out", required_argument, NULL, O_OUT},
    {"resident", required_argument, NULL, O_RESIDENT},
    {"type", required_argument, NULL, O_TYPE},
    {"pubkey", required_argument, NULL, O_PUBKEY},
    {"card-expiry", required_argument, NULL, O_EXPIRY},
    {"actor", required_argument, NULL, O_ACTOR},
    {"clerk", required_argument, NULL, O_ACTOR},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

struct args {
	const char *data, *out, *resident, *type, *pubkey, *expiry, *actor;
	int json;
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

static int
cmd_show(struct cli_env *e, struct args *a)
{
	json_t *o = json_object();
	const enum cert_type types[] = {CERT_SIGN, CERT_AUTH};

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
	}
	json_decref(o);
	return JPKI_OK;
}

static int
write_cert_pem(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (f == NULL)
		return jpki_fail(JPKI_ERR_IO, "%s: %s", path, strerror(errno));
	ok = PEM_write_X509(f, x);
	if (fclose(f) != 0 || !ok)
		return jpki_fail(JPKI_ERR_IO, "%s: write failed", path);
	return JPKI_OK;
}

static int
cmd_export(struct cli_env *e, struct args *a)
{
	static const char *files[] = {"sign-ca.pem", "auth-ca.pem",
	    "sign-ocsp.pem", "auth-ocsp.pem"};
	X509 *certs[4];
	char path[1024];
	json_t *arr;
	int r;

	if (a->out == NULL)
		return jpki_fail(JPKI_ERR_USAGE, "export needs --out DIR");
	if (mkdir(a->out, 0755) != 0 && errno != EEXIST)
		return jpki_fail(JPKI_ERR_IO, "%s: %s", a->out, strerror(errno));
	certs[0] = ca_cert(e->ca, CERT_SIGN);
	certs[1] = ca_cert(e->ca, CERT_AUTH);
	certs[2] = ca_ocsp_cert(e->ca, CERT_SIGN);
	certs[3] = ca_ocsp_cert(e->ca, CERT_AUTH);
	arr = json_array();
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", a->out, files[i]);
		if ((r = write_cert_pem(path, certs[i])) != JPKI_OK) {
			json_decref(arr);
			return r;
		}
		json_array_append_new(arr, json_string(path));
	}
	if (a->json)
		cli_print_json(json_pack("{s:o}", "files", arr));
	else {
		for (size_t i = 0; i < 4; i++)
			printf("%s\n", json_string_value(json_array_get(arr, i)));
		json_decref(arr);
	}
	return JPKI_OK;
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

/* Open the output before issuing: a certificate is never issued and then
 * lost for want of a writable --out.  Nothing is truncated yet. */
static int
out_open(const char *path, FILE **f, int *created)
{
	int fd;

	*created = access(path, F_OK) != 0;
	if ((fd = open(path, O_WRONLY | O_CREAT, 0644)) < 0)
		return jpki_fail(JPKI_ERR_INPUT, "--out: %s: %s", path,
		    strerror(errno));
	if ((*f = fdopen(fd, "w")) == NULL) {
		close(fd);
		return jpki_fail(JPKI_ERR_IO, "--out: %s: %s", path,
		    strerror(errno));
	}
	return JPKI_OK;
}

/* Empty a regular file before writing (devices and pipes have nothing
 * to truncate). */
static int
truncate_regular(FILE *f)
{
	struct stat st;

	if (fstat(fileno(f), &st) != 0)
		return 0;
	return !S_ISREG(st.st_mode) || ftruncate(fileno(f), 0) == 0;
}

static int
cmd_issue(struct cli_env *e, struct args *a)
{
	struct ca_issue_request req;
	struct ca_issued out;
	const unsigned char *p;
	X509 *x = NULL;
	FILE *f = NULL;
	long long id;
	char nb[26], na[26];
	int r, created = 0;

	memset(&req, 0, sizeof(req));
	memset(&out, 0, sizeof(out));
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
	if ((r = out_open(a->out, &f, &created)) != JPKI_OK)
		goto out;
	if ((r = ca_issue(e->ca, &req, &out)) != JPKI_OK)
		goto out;
	p = out.der;
	if ((x = d2i_X509(NULL, &p, (long)out.der_len)) == NULL) {
		r = jpki_fail(JPKI_ERR_INTERNAL, "issued certificate %s "
		    "unreadable", out.serial);
		goto out;
	}
	if (!truncate_regular(f) || !PEM_write_X509(f, x) || fflush(f) != 0) {
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
	if (f != NULL && fclose(f) != 0 && r == JPKI_OK)
		r = jpki_fail(JPKI_ERR_IO, "--out: %s: %s", a->out,
		    strerror(errno));
	/* A refused issuance leaves no empty file behind. */
	if (r != JPKI_OK && created && out.der == NULL)
		unlink(a->out);
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
	};
	struct args a;
	struct cli_env env;
	int c, rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < JPKI_ARRAY_LEN(cmds); i++) {
		if (strcmp(argv[1], cmds[i].name) != 0)
			continue;
		memset(&a, 0, sizeof(a));
		optind = 1;
		while ((c = getopt_long(argc - 1, argv + 1, "", opts, NULL)) !=
		    -1) {
			switch (c) {
			case O_DATA: a.data = optarg; break;
			case O_JSON: a.json = 1; break;
			case O_OUT: a.out = optarg; break;
			case O_RESIDENT: a.resident = optarg; break;
			case O_TYPE: a.type = optarg; break;
			case O_PUBKEY: a.pubkey = optarg; break;
			case O_EXPIRY: a.expiry = optarg; break;
			case O_ACTOR: a.actor = optarg; break;
			case O_HELP: fputs(usage_text, stdout); return 0;
			default: return cli_bad_option(argv + 1);
			}
		}
		if (optind != argc - 1)
			return cli_usage("unexpected argument '%s'",
			    argv[optind + 1]);
		if ((rc = cli_open(a.data, cmds[i].open, &env)) != 0)
			return rc;
		rc = cmds[i].run(&env, &a);
		cli_close(&env);
		return cli_report(rc);
	}
	return cli_usage("jpki ca: unknown subcommand '%s'", argv[1]);
}
