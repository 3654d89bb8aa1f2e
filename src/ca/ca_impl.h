/*
 * ca_impl.h: private to the ca module.
 */
#ifndef JPKI_CA_IMPL_H
#define JPKI_CA_IMPL_H

#include "ca/ca.h"
#include "pki/pki.h"

#define PATH_MAX_JPKI 1024
#define CA_SERIAL_LEN 16
#define CA_VALIDITY_MONTHS 120   /* CA certificates: 10 years */
#define OCSP_CERT_VALIDITY_MONTHS 12

struct ca_side {
	EVP_PKEY *key;
	X509 *cert;
	EVP_PKEY *ocsp_key;
	X509 *ocsp_cert;
	/* The constant parts of this CA's end-entity certificates, made from
	 * the first issuance (pki_ee_template_new) and read-only after. */
	struct pki_ee_template *ee_template;
	/* OCSP: the issuer hashes CertIDs name this CA by (SHA-1, SHA-256),
	 * and the delegated responder, both made on first use. */
	int ocsp_hashed[2];
	uint8_t ocsp_name_hash[2][32], ocsp_key_hash[2][32];
	int ocsp_ready;
	struct pki_ocsp_responder ocsp;
};

struct ca {
	char dir[PATH_MAX_JPKI];
	struct jpki_config config;
	struct store *store;
	struct ca_side side[3];      /* indexed by enum cert_type (1, 2) */
	int responder;               /* opened without the CA keys */
	struct pki_names names;
	/* The last municipality looked up: the table is fixed after init and
	 * most of a batch comes from one municipality. */
	struct municipality muni_cache;
};

/* JPKI_ERR_REFUSED if the CA key of t was not loaded (ca_open_responder). */
int ca_signing_key_check(const struct ca *ca, enum cert_type t);
/* mkdir that accepts an existing directory. */
int ca_make_dir(const char *path, mode_t mode);
/* The URI of a CRL shard, as certificates carry it in their CRL
 * distribution point and the shard's CRL in its IssuingDistributionPoint:
 * <base_url>/crl/<sign|auth>/<shard>.crl. */
int ca_crl_uri(const struct ca *ca, enum cert_type t, int shard, char *buf,
    size_t n);
/* A CRL is valid this long: J-LIS publishes them daily. */
#define CA_CRL_VALIDITY_SECONDS (24 * 3600)
/* nextUpdate of an OCSP answer: as long as a CRL. */
#define CA_OCSP_VALIDITY_SECONDS (24 * 3600)
int ca_key_generate(int bits, EVP_PKEY **out);
int ca_key_write(const char *path, EVP_PKEY *key);
int ca_cert_write(const char *path, X509 *x);
int ca_key_read(const char *path, EVP_PKEY **out);
int ca_cert_read(const char *path, X509 **out);
int ca_serial_random(uint8_t serial[CA_SERIAL_LEN]);
void ca_names_from_config(const struct jpki_config *c, struct pki_names *n);
/* "<dir>/ca/<sign|auth>-<what>" into buf. */
int ca_path(const char *dir, enum cert_type t, const char *what, char *buf,
    size_t n);

#endif
