/*
 * ca.c: creating and opening a data directory's two CAs.
 */
#include "ca/ca_impl.h"

#include <errno.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const enum cert_type both[] = {CERT_SIGN, CERT_AUTH};

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
ca_path(const struct datadir *dd, enum cert_type t, const char *what,
    char *buf, size_t n)
{
	char name[96];

	snprintf(name, sizeof(name), "%s-%s", rules_cert_type_name(t), what);
	return datadir_path(dd, DATADIR_CA_DIR, name, buf, n);
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
int64_t
ca_validity_end(int64_t now, int months)
{
	struct jdate d = jdate_add_months(jst_date_of(now), months);

	return jst_end_of_day(jdate_add_days(d, -1));
}

int
ca_gen_path(const struct datadir *dd, enum cert_type t, int gen,
    const char *what, char *buf, size_t n)
{
	char name[64];

	if (gen > 1)
		snprintf(name, sizeof(name), "%s.gen%d.pem", what, gen);
	else
		snprintf(name, sizeof(name), "%s.pem", what);
	return ca_path(dd, t, name, buf, n);
}

struct ca_side *
ca_issuing(struct ca *ca, enum cert_type t)
{
	return &ca->side[t][ca->ngen[t]];
}

struct ca_side *
ca_side_of(struct ca *ca, enum cert_type t, int gen)
{
	if ((t != CERT_SIGN && t != CERT_AUTH) || gen < 1 || gen > ca->ngen[t])
		return NULL;
	return &ca->side[t][gen];
}

int
ca_session(struct ca *ca, struct ca_signer_session **out)
{
	int r;

	if (ca->session == NULL &&
	    (r = ca_signer_session_open(ca->signer, &ca->session)) != JPKI_OK)
		return r;
	*out = ca->session;
	return JPKI_OK;
}

int
ca_sign_x509(struct ca *ca, enum cert_type type, int gen, X509 *x, X509 **out)
{
	struct ca_key_id id = {type, CA_KEY_CA, gen};
	struct ca_signer_session *ss;
	uint8_t *tbs = NULL, *der = NULL, sig[PKI_SIG_MAX];
	const uint8_t *p;
	size_t tbs_len, der_len, sig_len = sizeof(sig);
	int r;

	*out = NULL;
	if ((r = ca_session(ca, &ss)) != JPKI_OK ||
	    (r = pki_cert_tbs(x, &tbs, &tbs_len)) != JPKI_OK)
		return r;
	if ((r = ca_signer_sign(ss, id, CA_SIGN_CERT, tbs, tbs_len, sig,
	    &sig_len)) == JPKI_OK &&
	    (r = pki_cert_assemble(tbs, tbs_len, sig, sig_len, &der,
	    &der_len)) == JPKI_OK) {
		p = der;
		if ((*out = d2i_X509(NULL, &p, (long)der_len)) == NULL)
			r = jpki_fail(JPKI_ERR_CRYPTO, "reading back a signed "
			    "certificate");
	}
	OPENSSL_free(tbs);
	OPENSSL_free(der);
	return r;
}

int
ca_responder_certify(struct ca *ca, enum cert_type t, int gen, X509 *ca_cert,
    EVP_PKEY *responder_pub, int64_t now, X509 **out)
{
	uint8_t serial[CA_SERIAL_LEN];
	X509 *x = NULL;
	int64_t end = ca_validity_end(now, OCSP_CERT_VALIDITY_MONTHS), ca_end;
	int r;

	*out = NULL;
	/* A responder speaks for its CA no longer than the CA lives. */
	if ((r = pki_asn1_time_get(X509_get0_notAfter(ca_cert), &ca_end)) !=
	    JPKI_OK)
		return r;
	if (end > ca_end)
		end = ca_end;
	if ((r = ca_serial_random(serial)) == JPKI_OK &&
	    (r = pki_ocsp_cert_build(t, &ca->names, ca_cert, responder_pub,
	    serial, sizeof(serial), now, end, &x)) == JPKI_OK)
		r = ca_sign_x509(ca, t, gen, x, out);
	X509_free(x);
	return r;
}

/* The self-signed CA certificate and the responder certificate of
 * generation 1 of t, from keys the signer of ca holds. */
static int
certify_side(struct ca *ca, enum cert_type t, int64_t now)
{
	struct ca_side *sd = &ca->side[t][1];
	uint8_t serial[CA_SERIAL_LEN];
	EVP_PKEY *pub = NULL, *opub = NULL;
	X509 *x = NULL;
	char path[JPKI_PATH_MAX];
	int r;

	if ((r = ca_signer_public_key(ca->signer, (struct ca_key_id){t,
	    CA_KEY_CA, 1}, &pub)) ||
	    (r = ca_signer_public_key(ca->signer, (struct ca_key_id){t,
	    CA_KEY_OCSP, 1}, &opub)))
		goto out;
	if ((r = ca_serial_random(serial)) ||
	    (r = pki_ca_cert_build(t, &ca->names, pub, serial, sizeof(serial),
	    now, ca_validity_end(now, CA_VALIDITY_MONTHS), &x)) ||
	    (r = ca_sign_x509(ca, t, 1, x, &sd->cert)) ||
	    (r = ca_responder_certify(ca, t, 1, sd->cert, opub, now,
	    &sd->ocsp_cert)))
		goto out;
	if ((r = ca_gen_path(ca->dd, t, 1, "ca", path, sizeof(path))) ||
	    (r = ca_cert_write(path, sd->cert)) ||
	    (r = ca_gen_path(ca->dd, t, 1, "ocsp", path, sizeof(path))) ||
	    (r = ca_cert_write(path, sd->ocsp_cert)))
		goto out;
out:
	EVP_PKEY_free(pub);
	EVP_PKEY_free(opub);
	X509_free(x);
	return r;
}

static int
ca_new(struct datadir *dd, struct ca **out)
{
	struct ca *ca;

	*out = NULL;
	if ((ca = calloc(1, sizeof(*ca))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	ca->dd = dd;
	ca->store = datadir_store(dd);
	ca->config = *datadir_config(dd);
	ca_names_from_config(&ca->config, &ca->names);
	*out = ca;
	return JPKI_OK;
}

int
ca_create(struct datadir *dd)
{
	struct ca *ca = NULL;
	EVP_PKEY *pub = NULL;
	int64_t now;
	int r;

	if ((r = jpki_now_checked(&now)) != JPKI_OK ||
	    (r = ca_new(dd, &ca)) != JPKI_OK)
		return r;
	/* The keys are made where the data directory keeps them (files, or
	 * a token set up before: ca_signer_pkcs11_setup), by the signer
	 * that then signs the certificates with them. */
	if ((r = ca_signer_open(dd, 0, &ca->signer)) != JPKI_OK)
		goto out;
	for (size_t i = 0; i < JPKI_ARRAY_LEN(both); i++) {
		if ((r = ca_signer_create_key(ca->signer, (struct ca_key_id){
		    both[i], CA_KEY_CA, 1}, ca->config.key_bits, &pub)))
			goto out;
		EVP_PKEY_free(pub);
		if ((r = ca_signer_create_key(ca->signer, (struct ca_key_id){
		    both[i], CA_KEY_OCSP, 1}, 2048, &pub)))
			goto out;
		EVP_PKEY_free(pub);
		pub = NULL;
	}
	if ((r = ca_signer_create_key(ca->signer, CA_KEY_ID_CARD_ISSUER, 2048,
	    &pub)))
		goto out;
	EVP_PKEY_free(pub);
	pub = NULL;
	/* Generation 1 of each CA: the store has it from its creation. */
	for (size_t i = 0; i < JPKI_ARRAY_LEN(both); i++) {
		ca->ngen[both[i]] = 1;
		ca->side[both[i]][1].type = both[i];
		ca->side[both[i]][1].gen = 1;
		ca->side[both[i]][1].created_at = now;
		if ((r = certify_side(ca, both[i], now)) != JPKI_OK)
			goto out;
	}
	if ((r = store_begin(ca->store)) != JPKI_OK)
		goto out;
	for (size_t i = 0; i < JPKI_ARRAY_LEN(both) && r == JPKI_OK; i++)
		r = store_audit_json(ca->store, "jpki-init", "ca.create",
		    rules_cert_type_name(both[i]), json_pack("{s:i}",
		    "generation", 1));
	if (r == JPKI_OK)
		r = store_commit(ca->store);
	else
		store_rollback(ca->store);
out:
	ca_close(&ca);
	return r;
}

/* The signer's key of id must be the one the certificate certifies. */
static int
key_matches(struct ca *ca, struct ca_key_id id, X509 *cert)
{
	EVP_PKEY *pub = NULL;
	int r = JPKI_OK;

	if ((r = ca_signer_public_key(ca->signer, id, &pub)) != JPKI_OK)
		return r;
	if (EVP_PKEY_eq(pub, X509_get0_pubkey(cert)) != 1)
		r = jpki_fail(JPKI_ERR_CRYPTO, "%s %s generation %d: key does "
		    "not match certificate", rules_cert_type_name(id.type),
		    id.role == CA_KEY_CA ? "CA" : "OCSP responder", id.gen);
	EVP_PKEY_free(pub);
	return r;
}

/* 1 if ca's keys are `jpki signer`'s, not this process's. */
static int
remote_signer(const struct ca *ca)
{
	return !ca->local && ca->config.signer[0] != '\0';
}

/* The signer of ca for `keys`: `jpki signer`; or the key files of
 * `jpki signer --keys DIR`; or where the data directory keeps its keys
 * (a PKCS#11 token or its files: ca_signer_open). */
static int
signer_open(struct ca *ca, unsigned keys, struct ca_signer **out)
{
	if (remote_signer(ca))
		return ca_signer_open_remote(&ca->config, datadir_root(ca->dd),
		    keys, out);
	if (ca->key_dir != NULL)
		return ca_signer_open_key_dir(ca->key_dir, keys, out);
	return ca_signer_open(ca->dd, keys, out);
}

/* One row of the store's generation list into the CA; they come in
 * (type, generation) order, each type from 1 without a gap. */
struct gen_load {
	struct ca *ca;
	int r;
};

static int
gen_row(void *arg, enum cert_type t, int gen, int64_t at)
{
	struct gen_load *gl = arg;
	struct ca *ca = gl->ca;

	if ((t != CERT_SIGN && t != CERT_AUTH) || gen != ca->ngen[t] + 1 ||
	    gen > CA_GEN_MAX) {
		gl->r = jpki_fail(JPKI_ERR_IO, "store: CA generation %d of "
		    "type %d out of order", gen, (int)t);
		return 1;
	}
	ca->ngen[t] = gen;
	ca->side[t][gen].type = t;
	ca->side[t][gen].gen = gen;
	ca->side[t][gen].created_at = at;
	return 0;
}

/* The certificate files of one generation. */
static int
side_read(struct ca *ca, enum cert_type t, struct ca_side *sd)
{
	char path[JPKI_PATH_MAX];
	int r;

	if ((r = ca_gen_path(ca->dd, t, sd->gen, "ca", path, sizeof(path))) ||
	    (r = ca_cert_read(path, &sd->cert)) ||
	    (r = ca_gen_path(ca->dd, t, sd->gen, "ocsp", path, sizeof(path))) ||
	    (r = ca_cert_read(path, &sd->ocsp_cert)))
		return r;
	if (sd->gen < 2)
		return JPKI_OK;
	if ((r = ca_gen_path(ca->dd, t, sd->gen, "link-old-with-new", path,
	    sizeof(path))) ||
	    (r = ca_cert_read(path, &sd->old_with_new)) ||
	    (r = ca_gen_path(ca->dd, t, sd->gen, "link-new-with-old", path,
	    sizeof(path))) ||
	    (r = ca_cert_read(path, &sd->new_with_old)))
		return r;
	return JPKI_OK;
}

/* Every generation's keys the signer holds must be the ones their
 * certificates certify. */
static int
keys_match(struct ca *ca)
{
	int r;

	for (size_t i = 0; i < JPKI_ARRAY_LEN(both); i++) {
		for (int g = 1; g <= ca->ngen[both[i]]; g++) {
			struct ca_side *sd = &ca->side[both[i]][g];

			if ((ca->keys & CA_KEYS_CA) && (r = key_matches(ca,
			    (struct ca_key_id){both[i], CA_KEY_CA, g},
			    sd->cert)))
				return r;
			if ((ca->keys & CA_KEYS_OCSP) && (r = key_matches(ca,
			    (struct ca_key_id){both[i], CA_KEY_OCSP, g},
			    sd->ocsp_cert)))
				return r;
		}
	}
	return JPKI_OK;
}

static int
open_with(struct datadir *dd, unsigned keys, const char *key_dir, int local,
    struct ca **out)
{
	struct ca *ca = NULL;
	struct gen_load gl;
	int r;

	*out = NULL;
	if ((r = ca_new(dd, &ca)) != JPKI_OK)
		return r;
	ca->key_dir = key_dir;
	ca->local = local;
	ca->keys = keys & (CA_KEYS_CA | CA_KEYS_OCSP);
	gl.ca = ca;
	gl.r = JPKI_OK;
	if ((r = store_ca_generation_list(ca->store, gen_row, &gl)) ||
	    (r = gl.r))
		goto fail;
	for (size_t i = 0; i < JPKI_ARRAY_LEN(both); i++) {
		if (ca->ngen[both[i]] < 1) {
			r = jpki_fail(JPKI_ERR_IO, "store: the %s CA has no "
			    "generation", rules_cert_type_name(both[i]));
			goto fail;
		}
		for (int g = 1; g <= ca->ngen[both[i]]; g++)
			if ((r = side_read(ca, both[i], &ca->side[both[i]][g])))
				goto fail;
	}
	if ((r = signer_open(ca, ca->keys, &ca->signer)) != JPKI_OK ||
	    (r = keys_match(ca)) != JPKI_OK)
		goto fail;
	*out = ca;
	return JPKI_OK;
fail:
	ca_close(&ca);
	return r;
}

int
ca_open(struct datadir *dd, unsigned keys, struct ca **out)
{
	return open_with(dd, keys, NULL, 0, out);
}

int
ca_open_local(struct datadir *dd, unsigned keys, const char *key_dir,
    struct ca **out)
{
	return open_with(dd, keys, key_dir, 1, out);
}

int
ca_responders_ready(struct ca *ca)
{
	int r;

	if (!(ca->keys & CA_KEYS_OCSP))
		return jpki_fail(JPKI_ERR_REFUSED, "opened without the OCSP "
		    "responder keys");
	for (size_t i = 0; i < JPKI_ARRAY_LEN(both); i++)
		for (int g = 1; g <= ca->ngen[both[i]]; g++)
			if ((r = key_matches(ca, (struct ca_key_id){both[i],
			    CA_KEY_OCSP, g}, ca->side[both[i]][g].ocsp_cert)))
				return r;
	return JPKI_OK;
}

int
ca_signing_key_check(const struct ca *ca, enum cert_type t)
{
	if (!(ca->keys & CA_KEYS_CA))
		return jpki_fail(JPKI_ERR_REFUSED, "%s CA: opened without its "
		    "key (a responder or reader), so it does not issue, "
		    "revoke or sign CRLs", rules_cert_type_name(t));
	return JPKI_OK;
}

void
ca_close(struct ca **cap)
{
	struct ca *ca = *cap;

	if (ca == NULL)
		return;
	for (size_t i = 0; i < JPKI_ARRAY_LEN(ca->side); i++) {
		for (size_t g = 0; g < JPKI_ARRAY_LEN(ca->side[i]); g++) {
			struct ca_side *sd = &ca->side[i][g];

			X509_free(sd->cert);
			X509_free(sd->ocsp_cert);
			X509_free(sd->old_with_new);
			X509_free(sd->new_with_old);
			pki_ee_template_free(&sd->ee_template);
			if (sd->ocsp_ready)
				pki_ocsp_responder_free(&sd->ocsp);
		}
	}
	ca_ocsp_table_free(&ca->ocsp_table);
	ca_signer_session_close(&ca->session);
	ca_signer_close(&ca->signer);
	ca_signer_session_close(&ca->card_issuer_session);
	ca_signer_close(&ca->card_issuer);
	free(ca);
	*cap = NULL;
}

struct datadir *
ca_datadir(struct ca *ca)
{
	return ca->dd;
}

X509 *
ca_cert(struct ca *ca, enum cert_type t)
{
	return t == CERT_SIGN || t == CERT_AUTH ? ca_issuing(ca, t)->cert : NULL;
}

X509 *
ca_ocsp_cert(struct ca *ca, enum cert_type t)
{
	return t == CERT_SIGN || t == CERT_AUTH ? ca_issuing(ca, t)->ocsp_cert :
	    NULL;
}

/* Open the card issuer's key, making it first in a data directory from
 * before it (another process making it at the same time is fine: the
 * file is never overwritten, and whichever was made is opened). */
static int
card_issuer_open(struct ca *ca)
{
	EVP_PKEY *pub = NULL;
	int r;

	if (ca->card_issuer != NULL)
		return JPKI_OK;
	r = signer_open(ca, CA_KEYS_CARD_ISSUER, &ca->card_issuer);
	/* A remote signer makes its keys itself. */
	if (r == JPKI_OK || remote_signer(ca))
		return r;
	jpki_errclear();
	if ((r = signer_open(ca, 0, &ca->card_issuer)) != JPKI_OK)
		return r;
	r = ca_signer_create_key(ca->card_issuer, CA_KEY_ID_CARD_ISSUER, 2048,
	    &pub);
	EVP_PKEY_free(pub);
	if (r == JPKI_OK)
		return JPKI_OK;
	ca_signer_close(&ca->card_issuer);
	if (r != JPKI_ERR_CONFLICT)
		return r;
	jpki_errclear();
	return signer_open(ca, CA_KEYS_CARD_ISSUER, &ca->card_issuer);
}

int
ca_card_issuer_sign(struct ca *ca, enum ca_sign_op op, const uint8_t *in,
    size_t len, uint8_t *sig, size_t *sig_len)
{
	int r;

	if ((r = card_issuer_open(ca)) != JPKI_OK)
		return r;
	if (ca->card_issuer_session == NULL &&
	    (r = ca_signer_session_open(ca->card_issuer,
	    &ca->card_issuer_session)) != JPKI_OK)
		return r;
	return ca_signer_sign(ca->card_issuer_session, CA_KEY_ID_CARD_ISSUER,
	    op, in, len, sig, sig_len);
}

int
ca_card_issuer_public_key(struct ca *ca, EVP_PKEY **pub)
{
	int r;

	*pub = NULL;
	if ((r = card_issuer_open(ca)) != JPKI_OK)
		return r;
	return ca_signer_public_key(ca->card_issuer, CA_KEY_ID_CARD_ISSUER,
	    pub);
}
