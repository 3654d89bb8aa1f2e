/*
 * ca.c: creating and opening a data directory's two CAs.
 */
#include "ca/ca_impl.h"
#include "card/card.h"

#include <errno.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const enum cert_type both[] = {CERT_SIGN, CERT_AUTH};

/* What `jpki init` creates; any of them present means "initialised". */
static const char *const init_owned[] = {
    "config", "jpki.db", "issuer-master.key", "ca/sign-ca.key",
    "ca/auth-ca.key", "ca/sign-ocsp.key", "ca/auth-ocsp.key",
};

void
ca_names_from_config(const struct jpki_config *c, struct pki_names *n)
{
	memset(n, 0, sizeof(*n));
	n->org = c->org;
	n->ou_sign = c->ou_sign;
	n->ou_auth = c->ou_auth;
	n->ou_agency = c->ou_agency;
	n->service_ja = c->service_ja;
	n->service_ou_sign_ja = c->service_ou_sign_ja[0] ?
	    c->service_ou_sign_ja : NULL;
	n->service_ou_auth_ja = c->service_ou_auth_ja[0] ?
	    c->service_ou_auth_ja : NULL;
	n->agency_ja = c->agency_ja[0] ? c->agency_ja : NULL;
}

int
ca_path(const char *dir, enum cert_type t, const char *what, char *buf,
    size_t n)
{
	if ((size_t)snprintf(buf, n, "%s/ca/%s-%s", dir,
	    rules_cert_type_name(t), what) >= n)
		return jpki_fail(JPKI_ERR_INPUT, "data directory path too long");
	return JPKI_OK;
}

int
ca_make_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) != 0 && errno != EEXIST)
		return jpki_fail(JPKI_ERR_IO, "%s: %s", path, strerror(errno));
	return JPKI_OK;
}

/* 23:59:59 JST on the day before the same date `months` later: the real
 * CA certificates run 2015-10-20 .. 2025-10-19 14:59:59Z. */
static int64_t
validity_end(int64_t now, int months)
{
	struct jdate d = jdate_add_months(jst_date_of(now), months);

	return jst_end_of_day(jdate_add_days(d, -1));
}

static int
create_side(const char *dir, const struct jpki_config *c,
    const struct pki_names *names, enum cert_type t, int64_t now)
{
	uint8_t serial[CA_SERIAL_LEN];
	EVP_PKEY *key = NULL, *okey = NULL;
	X509 *cert = NULL, *ocert = NULL;
	char path[PATH_MAX_JPKI];
	int r;

	if ((r = ca_key_generate(c->key_bits, &key)) != JPKI_OK ||
	    (r = ca_serial_random(serial)) != JPKI_OK ||
	    (r = pki_ca_cert_build(t, names, key, serial, sizeof(serial), now,
	    validity_end(now, CA_VALIDITY_MONTHS), &cert)) != JPKI_OK)
		goto out;
	if ((r = ca_key_generate(2048, &okey)) != JPKI_OK ||
	    (r = ca_serial_random(serial)) != JPKI_OK ||
	    (r = pki_ocsp_cert_build(t, names, cert, key, okey, serial,
	    sizeof(serial), now, validity_end(now, OCSP_CERT_VALIDITY_MONTHS),
	    &ocert)) != JPKI_OK)
		goto out;
	if ((r = ca_path(dir, t, "ca.key", path, sizeof(path))) != JPKI_OK ||
	    (r = ca_key_write(path, key)) != JPKI_OK ||
	    (r = ca_path(dir, t, "ca.pem", path, sizeof(path))) != JPKI_OK ||
	    (r = ca_cert_write(path, cert)) != JPKI_OK ||
	    (r = ca_path(dir, t, "ocsp.key", path, sizeof(path))) != JPKI_OK ||
	    (r = ca_key_write(path, okey)) != JPKI_OK ||
	    (r = ca_path(dir, t, "ocsp.pem", path, sizeof(path))) != JPKI_OK ||
	    (r = ca_cert_write(path, ocert)) != JPKI_OK)
		goto out;
out:
	EVP_PKEY_free(key);
	EVP_PKEY_free(okey);
	X509_free(cert);
	X509_free(ocert);
	return r;
}

static int
load_municipalities(struct store *s, const char *own)
{
	struct municipality *t = NULL;
	size_t n = 0;
	int r, found = 0;

	if ((r = municipality_table_load(&t, &n)) != JPKI_OK)
		return r;
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].code, own) == 0)
			found = 1;
	if (!found) {
		free(t);
		return jpki_fail(JPKI_ERR_INPUT, "municipality: no municipality "
		    "with code %s in the shipped table", own);
	}
	if ((r = store_begin(s)) != JPKI_OK)
		goto out;
	for (size_t i = 0; i < n && r == JPKI_OK; i++)
		r = store_municipality_put(s, &t[i]);
	if (r == JPKI_OK)
		r = store_audit_append(s, "jpki-init", "datadir.init", own,
		    "{\"municipalities\": \"loaded\"}");
	if (r == JPKI_OK)
		r = store_commit(s);
	else
		store_rollback(s);
out:
	free(t);
	return r;
}

int
ca_datadir_init(const char *dir, const struct ca_init_options *o)
{
	struct jpki_config c;
	struct pki_names names;
	struct store *s = NULL;
	char path[PATH_MAX_JPKI];
	int64_t now;
	int r;

	if ((r = jpki_now_checked(&now)) != JPKI_OK)
		return r;
	config_defaults(&c);
	if (o->municipality != NULL) {
		if (!rules_municipality_code_valid(o->municipality))
			return jpki_fail(JPKI_ERR_INPUT, "municipality: '%s' is "
			    "not a 6-digit local government code with a valid "
			    "check digit", o->municipality);
		snprintf(c.municipality, sizeof(c.municipality), "%s",
		    o->municipality);
	}
	if (o->key_bits != 0) {
		if (o->key_bits < 2048 || o->key_bits > 4096)
			return jpki_fail(JPKI_ERR_INPUT,
			    "key bits: 2048 to 4096");
		c.key_bits = o->key_bits;
	}
	if (o->production_policy)
		c.test_policy = 0;
	if (o->base_url != NULL) {
		if (strncmp(o->base_url, "http://", 7) != 0 ||
		    strlen(o->base_url) >= sizeof(c.base_url) - 64)
			return jpki_fail(JPKI_ERR_INPUT,
			    "base URL: an http:// URL is needed (CDP/AIA)");
		snprintf(c.base_url, sizeof(c.base_url), "%s", o->base_url);
		snprintf(c.cps_uri, sizeof(c.cps_uri), "%s/cps", o->base_url);
	}
	/* Never over a previous deployment's keys or store, even one whose
	 * config was lost: that would orphan every certificate it issued. */
	for (size_t i = 0; i < JPKI_ARRAY_LEN(init_owned); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, init_owned[i]);
		if (access(path, F_OK) == 0)
			return jpki_fail(JPKI_ERR_CONFLICT, "%s already exists: "
			    "refusing to initialise over an existing data "
			    "directory", path);
	}
	if ((r = ca_make_dir(dir, 0700)) != JPKI_OK)
		return r;
	snprintf(path, sizeof(path), "%s/ca", dir);
	if ((r = ca_make_dir(path, 0700)) != JPKI_OK)
		return r;
	snprintf(path, sizeof(path), "%s/cards", dir);
	if ((r = ca_make_dir(path, 0700)) != JPKI_OK)
		return r;
	if ((r = store_open_datadir(dir, &c, &s)) != JPKI_OK)
		return r;
	if ((r = load_municipalities(s, c.municipality)) != JPKI_OK)
		goto out;
	ca_names_from_config(&c, &names);
	for (size_t i = 0; i < JPKI_ARRAY_LEN(both); i++)
		if ((r = create_side(dir, &c, &names, both[i], now)) != JPKI_OK)
			goto out;
	if ((r = store_begin(s)) != JPKI_OK)
		goto out;
	for (size_t i = 0; i < JPKI_ARRAY_LEN(both) && r == JPKI_OK; i++)
		r = store_audit_append(s, "jpki-init", "ca.create",
		    rules_cert_type_name(both[i]), "{}");
	if (r == JPKI_OK)
		r = store_commit(s);
	else
		store_rollback(s);
	if (r != JPKI_OK)
		goto out;
	/* The card issuer master key: counter operations on cards prove it
	 * (GET CHALLENGE + EXTERNAL AUTHENTICATE with a per-card key). */
	snprintf(path, sizeof(path), "%s/issuer-master.key", dir);
	if ((r = card_issuer_master_create(path)) != JPKI_OK)
		goto out;
	/* The config is written last: its presence means "initialised". */
	snprintf(path, sizeof(path), "%s/config", dir);
	r = config_write(path, &c);
out:
	store_close(&s);
	return r;
}

static int
open_datadir(const char *dir, int with_ca_keys, struct ca **out)
{
	struct ca *ca;
	char path[PATH_MAX_JPKI];
	int r;

	*out = NULL;
	if ((ca = calloc(1, sizeof(*ca))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	if (strlen(dir) >= sizeof(ca->dir) - 64) {
		free(ca);
		return jpki_fail(JPKI_ERR_INPUT, "data directory path too long");
	}
	snprintf(ca->dir, sizeof(ca->dir), "%s", dir);
	ca->responder = !with_ca_keys;
	snprintf(path, sizeof(path), "%s/config", dir);
	if ((r = config_load(path, &ca->config)) != JPKI_OK)
		goto fail;
	ca_names_from_config(&ca->config, &ca->names);
	for (size_t i = 0; i < JPKI_ARRAY_LEN(both); i++) {
		struct ca_side *sd = &ca->side[both[i]];

		if (with_ca_keys &&
		    ((r = ca_path(dir, both[i], "ca.key", path, sizeof(path))) ||
		    (r = ca_key_read(path, &sd->key))))
			goto fail;
		if ((r = ca_path(dir, both[i], "ca.pem", path, sizeof(path))) ||
		    (r = ca_cert_read(path, &sd->cert)) ||
		    (r = ca_path(dir, both[i], "ocsp.key", path, sizeof(path))) ||
		    (r = ca_key_read(path, &sd->ocsp_key)) ||
		    (r = ca_path(dir, both[i], "ocsp.pem", path, sizeof(path))) ||
		    (r = ca_cert_read(path, &sd->ocsp_cert)))
			goto fail;
		if (with_ca_keys &&
		    X509_check_private_key(sd->cert, sd->key) != 1) {
			r = jpki_fail(JPKI_ERR_CRYPTO, "%s CA: key does not "
			    "match certificate", rules_cert_type_name(both[i]));
			goto fail;
		}
	}
	if ((r = store_open_datadir(dir, &ca->config, &ca->store)) != JPKI_OK)
		goto fail;
	*out = ca;
	return JPKI_OK;
fail:
	ca_close(&ca);
	return r;
}

int
ca_open(const char *dir, struct ca **out)
{
	return open_datadir(dir, 1, out);
}

int
ca_open_responder(const char *dir, struct ca **out)
{
	return open_datadir(dir, 0, out);
}

int
ca_signing_key_check(const struct ca *ca, enum cert_type t)
{
	if (ca->responder || ca->side[t].key == NULL)
		return jpki_fail(JPKI_ERR_REFUSED, "%s CA: this process was "
		    "opened as a responder and holds no CA key",
		    rules_cert_type_name(t));
	return JPKI_OK;
}

void
ca_close(struct ca **cap)
{
	struct ca *ca = *cap;

	if (ca == NULL)
		return;
	for (size_t i = 0; i < JPKI_ARRAY_LEN(ca->side); i++) {
		EVP_PKEY_free(ca->side[i].key);
		X509_free(ca->side[i].cert);
		EVP_PKEY_free(ca->side[i].ocsp_key);
		X509_free(ca->side[i].ocsp_cert);
		pki_ee_template_free(&ca->side[i].ee_template);
		if (ca->side[i].ocsp_ready)
			pki_ocsp_responder_free(&ca->side[i].ocsp);
	}
	store_close(&ca->store);
	free(ca);
	*cap = NULL;
}

struct store *
ca_store(struct ca *ca)
{
	return ca->store;
}

const struct jpki_config *
ca_config(struct ca *ca)
{
	return &ca->config;
}

const char *
ca_dir(struct ca *ca)
{
	return ca->dir;
}

X509 *
ca_cert(struct ca *ca, enum cert_type t)
{
	return t == CERT_SIGN || t == CERT_AUTH ? ca->side[t].cert : NULL;
}

X509 *
ca_ocsp_cert(struct ca *ca, enum cert_type t)
{
	return t == CERT_SIGN || t == CERT_AUTH ? ca->side[t].ocsp_cert : NULL;
}

EVP_PKEY *
ca_ocsp_key(struct ca *ca, enum cert_type t)
{
	return t == CERT_SIGN || t == CERT_AUTH ? ca->side[t].ocsp_key : NULL;
}
