/*
 * config.c: the data directory's config file.
 *
 *   # comment
 *   municipality = 132217
 *   [fees]
 *   card_reissue = 800
 *
 * Every key is known; an unknown key or a bad value is refused with the
 * file, line and key, so a typo never silently falls back to a default.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONFIG_LINE_MAX 1024

void
store_config_defaults(struct jpki_config *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->municipality, "131016"); /* Chiyoda, Tokyo */
	strcpy(c->database, "sqlite:jpki.db");
	strcpy(c->base_url, "http://127.0.0.1:8080");
	c->test_policy = 1;
	c->key_bits = 2048;
	c->crl_shards = 64;
	c->crl_delay = 60;
	c->busy_timeout_ms = STORE_BUSY_TIMEOUT_MS;
	strcpy(c->org, "OpenJPKI");
	strcpy(c->ou_sign, "OpenJPKI for digital signature");
	strcpy(c->ou_auth, "OpenJPKI for user authentication");
	strcpy(c->ou_agency, "OpenJPKI Certification Centre");
	strcpy(c->service_ja, "公的個人認証サービス（openjpki）");
	strcpy(c->service_ou_sign_ja, "公的個人認証サービス署名用");
	strcpy(c->service_ou_auth_ja, "公的個人認証サービス利用者証明用");
	strcpy(c->agency_ja, "openjpki 認証局");
	strcpy(c->cps_uri, "http://127.0.0.1:8080/cps");
	c->document_mode = 0600;
	c->ocsp_refresh_seconds = 24 * 3600;
	c->ocsp_validity_seconds = 2 * 24 * 3600;
	c->ocsp_cache_mb = 128;
	rules_fee_defaults(&c->fees);
}

struct string_key {
	const char *key;
	size_t off, cap;
	int optional;           /* written only when set */
};

#define SKEY(k, f) {k, offsetof(struct jpki_config, f), \
	sizeof(((struct jpki_config *)0)->f), 0}
#define SKEY_OPT(k, f) {k, offsetof(struct jpki_config, f), \
	sizeof(((struct jpki_config *)0)->f), 1}

static const struct string_key string_keys[] = {
    SKEY("municipality", municipality),
    SKEY("database", database),
    SKEY("base_url", base_url),
    SKEY("org", org),
    SKEY("ou_sign", ou_sign),
    SKEY("ou_auth", ou_auth),
    SKEY("ou_agency", ou_agency),
    SKEY("service_ja", service_ja),
    SKEY("service_ou_sign_ja", service_ou_sign_ja),
    SKEY("service_ou_auth_ja", service_ou_auth_ja),
    SKEY("agency_ja", agency_ja),
    SKEY("cps_uri", cps_uri),
    SKEY_OPT("signer", signer),
    SKEY_OPT("signer_cert", signer_cert),
    SKEY_OPT("signer_key", signer_key),
    SKEY_OPT("signer_ca", signer_ca),
    SKEY_OPT("checkpoints", checkpoints),
    SKEY("rp_api_keys", rp_api_keys),
};

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
	    e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int
parse_int(const char *v, long lo, long hi, long *out)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || x < lo || x > hi)
		return JPKI_ERR_INPUT;
	*out = x;
	return JPKI_OK;
}

static int
set_key(struct jpki_config *c, const char *section, const char *key,
    const char *val)
{
	long x;

	if (strcmp(section, "fees") == 0) {
		if (parse_int(val, 0, 1000000, &x) != JPKI_OK)
			return jpki_fail(JPKI_ERR_INPUT, "not a fee in yen");
		return rules_fee_set(&c->fees, key, x);
	}
	if (section[0] != '\0')
		return jpki_fail(JPKI_ERR_INPUT, "unknown section [%s]",
		    section);
	for (size_t i = 0; i < JPKI_ARRAY_LEN(string_keys); i++) {
		if (strcmp(key, string_keys[i].key) != 0)
			continue;
		if (strlen(val) >= string_keys[i].cap)
			return jpki_fail(JPKI_ERR_INPUT, "value too long");
		memcpy((char *)c + string_keys[i].off, val, strlen(val) + 1);
		return JPKI_OK;
	}
	if (strcmp(key, "policy") == 0) {
		if (strcmp(val, "test") == 0)
			c->test_policy = 1;
		else if (strcmp(val, "production") == 0)
			c->test_policy = 0;
		else
			return jpki_fail(JPKI_ERR_INPUT,
			    "policy is 'test' or 'production'");
		return JPKI_OK;
	}
	if (strcmp(key, "key_bits") == 0) {
		if (parse_int(val, 2048, 4096, &x) != JPKI_OK)
			return jpki_fail(JPKI_ERR_INPUT, "key_bits is 2048-4096");
		c->key_bits = (int)x;
		return JPKI_OK;
	}
	if (strcmp(key, "document_mode") == 0) {
		char *end;

		/* Octal, read and write for the owner, at most that for the
		 * group, nothing for others: these papers carry check codes
		 * and personal data. */
		errno = 0;
		x = strtol(val, &end, 8);
		if (errno != 0 || end == val || *end != '\0' ||
		    (x & ~0660L) != 0 || (x & 0600) != 0600)
			return jpki_fail(JPKI_ERR_INPUT, "0600, 0640 or 0660 "
			    "(octal; nothing for others)");
		c->document_mode = (mode_t)x;
		return JPKI_OK;
	}
	if (strcmp(key, "crl_shards") == 0) {
		if (parse_int(val, 1, 65536, &x) != JPKI_OK)
			return jpki_fail(JPKI_ERR_INPUT, "crl_shards is 1-65536");
		c->crl_shards = (int)x;
		return JPKI_OK;
	}
	if (strcmp(key, "crl_delay") == 0) {
		if (parse_int(val, 1, 86400, &x) != JPKI_OK)
			return jpki_fail(JPKI_ERR_INPUT, "crl_delay is 1-86400 "
			    "(seconds)");
		c->crl_delay = (int)x;
		return JPKI_OK;
	}
	if (strcmp(key, "database_busy_timeout_ms") == 0) {
		if (parse_int(val, 1, 3600000, &x) != JPKI_OK)
			return jpki_fail(JPKI_ERR_INPUT, "database_busy_timeout_ms "
			    "is 1-3600000");
		c->busy_timeout_ms = (int)x;
		return JPKI_OK;
	}
	if (strcmp(key, "ocsp_refresh_seconds") == 0) {
		if (parse_int(val, 60, 30L * 24 * 3600, &x) != JPKI_OK)
			return jpki_fail(JPKI_ERR_INPUT, "ocsp_refresh_seconds "
			    "is 60-2592000");
		c->ocsp_refresh_seconds = x;
		return JPKI_OK;
	}
	if (strcmp(key, "ocsp_cache_mb") == 0) {
		if (parse_int(val, 0, 65536, &x) != JPKI_OK)
			return jpki_fail(JPKI_ERR_INPUT, "ocsp_cache_mb is 0-65536");
		c->ocsp_cache_mb = (int)x;
		return JPKI_OK;
	}
	if (strcmp(key, "ocsp_validity_seconds") == 0) {
		if (parse_int(val, 120, 60L * 24 * 3600, &x) != JPKI_OK)
			return jpki_fail(JPKI_ERR_INPUT, "ocsp_validity_seconds "
			    "is 120-5184000");
		c->ocsp_validity_seconds = x;
		return JPKI_OK;
	}
	return jpki_fail(JPKI_ERR_INPUT, "unknown key");
}

int
store_config_load(const char *path, struct jpki_config *c)
{
	char line[CONFIG_LINE_MAX], section[32] = "";
	FILE *f;
	int lineno = 0, r = JPKI_OK;

	store_config_defaults(c);
	if ((f = fopen(path, "r")) == NULL)
		return jpki_fail(errno == ENOENT ? JPKI_ERR_NOTFOUND :
		    JPKI_ERR_IO, "%s: %s (the data directory is not "
		    "initialised)", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		char *s, *eq, *key, *val;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			r = jpki_fail(JPKI_ERR_INPUT, "%s:%d: line too long",
			    path, lineno);
			break;
		}
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');

			if (end == NULL || end[1] != '\0' ||
			    (size_t)(end - s - 1) >= sizeof(section)) {
				r = jpki_fail(JPKI_ERR_INPUT,
				    "%s:%d: bad section header", path, lineno);
				break;
			}
			memcpy(section, s + 1, (size_t)(end - s - 1));
			section[end - s - 1] = '\0';
			continue;
		}
		if ((eq = strchr(s, '=')) == NULL) {
			r = jpki_fail(JPKI_ERR_INPUT, "%s:%d: expected key = value",
			    path, lineno);
			break;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		if ((r = set_key(c, section, key, val)) != JPKI_OK) {
			char why[256];

			snprintf(why, sizeof(why), "%s", jpki_errmsg());
			r = jpki_fail(r, "%s:%d: %s%s%s: %s", path, lineno,
			    section[0] ? section : "", section[0] ? "." : "",
			    key, why);
			break;
		}
	}
	fclose(f);
	/* A response is made again before half its validity has passed. */
	if (r == JPKI_OK &&
	    c->ocsp_validity_seconds < 2 * c->ocsp_refresh_seconds)
		r = jpki_fail(JPKI_ERR_INPUT, "%s: ocsp_validity_seconds (%lld) "
		    "must be at least twice ocsp_refresh_seconds (%lld)", path,
		    (long long)c->ocsp_validity_seconds,
		    (long long)c->ocsp_refresh_seconds);
	return r;
}

int
store_config_write(const char *path, const struct jpki_config *c)
{
	struct jbuf b;
	char tmp[JPKI_PATH_MAX];
	int r = JPKI_OK;

	if ((r = jpki_path(tmp, sizeof(tmp), "%s.tmp", path)) != JPKI_OK)
		return r;
	jbuf_init(&b);
	r = jbuf_printf(&b, "# openjpki configuration (written by `jpki "
	    "init`).\n# Unknown keys are refused.  Fees are in yen (R7).\n\n");
	for (size_t i = 0; i < JPKI_ARRAY_LEN(string_keys) && r == JPKI_OK; i++)
		if (!string_keys[i].optional ||
		    *((const char *)c + string_keys[i].off) != '\0')
			r = jbuf_printf(&b, "%s = %s\n", string_keys[i].key,
			    (const char *)c + string_keys[i].off);
	if (r == JPKI_OK)
		r = jbuf_printf(&b, "policy = %s\nkey_bits = %d\ncrl_shards = "
		    "%d\ndatabase_busy_timeout_ms = %d\ndocument_mode = 0%o\n",
		    c->test_policy ? "test" : "production",
		    c->key_bits, c->crl_shards, c->busy_timeout_ms,
		    (unsigned)c->document_mode);
	if (r == JPKI_OK)
		r = jbuf_printf(&b, "# Pre-signed OCSP responses: made again "
		    "after, valid for (seconds)\nocsp_refresh_seconds = %lld\n"
		    "ocsp_validity_seconds = %lld\n# Pre-signed OCSP responses "
		    "kept in jpki serve's memory (MB, 0: none)\nocsp_cache_mb = "
		    "%d\n\n[fees]\n", (long long)c->ocsp_refresh_seconds,
		    (long long)c->ocsp_validity_seconds, c->ocsp_cache_mb);
	for (int i = 0; i < FEE__COUNT && r == JPKI_OK; i++)
		r = jbuf_printf(&b, "%s = %d\n",
		    rules_fee_item_name((enum fee_item)i), c->fees.yen[i]);
	if (r == JPKI_OK)
		r = durable_write(tmp, b.data, b.len, 0644);
	jbuf_free(&b);
	if (r != JPKI_OK)
		return r;
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		return jpki_fail(JPKI_ERR_IO, "%s: %s", path, strerror(errno));
	}
	return durable_sync_dir_of(path);
}
