/*
 * ca_impl.h: private to the ca module.
 */
#ifndef JPKI_CA_IMPL_H
#define JPKI_CA_IMPL_H

#include "ca/ca.h"
#include "datadir/datadir.h"
#include "pki/pki.h"

#include <stdio.h>
#include <sys/types.h>

#define CA_SERIAL_LEN 16
#define CA_VALIDITY_MONTHS 120   /* CA certificates: 10 years */
#define OCSP_CERT_VALIDITY_MONTHS 12

/* One generation of one CA. */
struct ca_side {
	enum cert_type type;
	int gen;                     /* 1, 2, ...; 0: no such generation */
	int64_t created_at;
	X509 *cert;
	X509 *ocsp_cert;
	/* Generation >= 2: the link certificates to the one before
	 * (RFC 4210 4.4): the previous key signed by this one, and this key
	 * signed by the previous one. */
	X509 *old_with_new, *new_with_old;
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
	struct datadir *dd;          /* borrowed: the CA was opened from it */
	struct jpki_config config;
	struct store *store;         /* the data directory's */
	/* [enum cert_type (1, 2)][generation 1 .. ngen]; the newest issues. */
	struct ca_side side[3][CA_GEN_MAX + 1];
	int ngen[3];
	unsigned keys;               /* CA_KEYS_* the signer holds */
	struct ca_signer *signer;
	struct ca_signer_session *session;  /* the calling thread's */
	/* The card issuer's key (ca_card_issuer_*), opened on first need. */
	struct ca_signer *card_issuer;
	struct ca_signer_session *card_issuer_session;
	/* Where the key files are: NULL, the data directory's ca/; or the
	 * directory of `jpki signer --keys`.  local: never a remote signer
	 * (the signer itself). */
	const char *key_dir;
	int local;
	struct pki_names names;
	/* The OCSP responders by issuer hashes (ocsp_presign.c), made on
	 * first use. */
	struct ca_ocsp_table *ocsp_table;
	/* The last municipality looked up: the table is fixed after init and
	 * most of a batch comes from one municipality. */
	struct municipality muni_cache;
};

/* The audit checkpoint key (CA_KEY_AUDIT) of dd, in a signer of its own:
 * the files of key_dir (jpki signer --keys), or where dd keeps its keys
 * (its files or its PKCS#11 token); made there on first need. */
int ca_audit_key_open(const struct datadir *dd, const char *key_dir,
    struct ca_signer **out);

/* The generation of t that issues now (the newest). */
struct ca_side *ca_issuing(struct ca *ca, enum cert_type t);
/* Generation gen of t, or NULL. */
struct ca_side *ca_side_of(struct ca *ca, enum cert_type t, int gen);

/* The calling thread's session with the signer (opened on first use). */
int ca_session(struct ca *ca, struct ca_signer_session **out);
/* Sign a built certificate (pki_ca_cert_build, pki_ocsp_cert_build) with
 * the CA key of `type`, generation `gen`, through the key seam: *out is
 * the signed one. */
int ca_sign_x509(struct ca *ca, enum cert_type type, int gen, X509 *x,
    X509 **out);
/* 23:59:59 JST on the day before the same date `months` after `from`. */
int64_t ca_validity_end(int64_t from, int months);
/* A new responder certificate for generation gen of t (CA certificate
 * ca_cert, whose key signs it), for responder_pub, valid from now for
 * OCSP_CERT_VALIDITY_MONTHS, never past the CA certificate. */
int ca_responder_certify(struct ca *ca, enum cert_type t, int gen,
    X509 *ca_cert, EVP_PKEY *responder_pub, int64_t now, X509 **out);

/* JPKI_ERR_REFUSED if the CA key of t was not loaded (ca_open without
 * CA_KEYS_CA). */
int ca_signing_key_check(const struct ca *ca, enum cert_type t);
/* mkdir that accepts an existing directory. */
int ca_make_dir(const char *path, mode_t mode);
/* The URI of a CRL shard of a generation, as certificates carry it in
 * their CRL distribution point and the shard's CRL in its
 * IssuingDistributionPoint: <base_url>/crl/<sign|auth>/<shard>.crl for
 * generation 1, <base_url>/crl/<sign|auth>.gen<N>/<shard>.crl after. */
int ca_crl_uri(const struct ca *ca, enum cert_type t, int gen, int shard,
    char *buf, size_t n);
/* "sign", "sign.gen2": a generation's name in URLs and directories. */
void ca_gen_name(enum cert_type t, int gen, char *buf, size_t n);
/* A CRL is valid this long: J-LIS publishes them daily. */
#define CA_CRL_VALIDITY_SECONDS (24 * 3600)
/* nextUpdate of an OCSP answer: as long as a CRL. */
#define CA_OCSP_VALIDITY_SECONDS (24 * 3600)
void ca_ocsp_table_free(struct ca_ocsp_table **t);

/* ---- the answering threads' response cache (ocsp_cache.c) ---- */
/* 0 if the cache may not be used now (its follower silent). */
int ocsp_cache_usable(struct ca_ocsp_cache *c);
/* What a cached response says (its bytes appended to the caller's out). */
struct ocsp_cache_hit {
	int tail;                   /* 1: the responder's certificate follows */
	enum cert_status status;
	int64_t this_update, next_update;
};
/* The response of (responder, serial) appended to out: 1, or 0 if none is
 * cached and fresh at now; -1 if out could not grow. */
int ocsp_cache_get(struct ca_ocsp_cache *c, int responder, const char *serial,
    int64_t now, struct jbuf *out, struct ocsp_cache_hit *hit);
/* Keep st's first `keep` bytes (tail: the rest is the responder's
 * certificate) until fresh_until, if read_seq (the change queue's last seq
 * in the read that found st) is not older than what the follower
 * applied. */
void ocsp_cache_put(struct ca_ocsp_cache *c, int64_t read_seq, int responder,
    const struct ocsp_stored *st, size_t keep, int tail, int64_t fresh_until);
/* 1 if keep more bytes would go over the budget. */
int ocsp_cache_full(struct ca_ocsp_cache *c, size_t keep);
/* Write a PEM file of mode `mode` durably, never over an existing one. */
int ca_pem_write(const char *path, mode_t mode,
    int (*writer)(FILE *, void *), void *obj);
int ca_cert_write(const char *path, X509 *x);
int ca_cert_read(const char *path, X509 **out);
int ca_serial_random(uint8_t serial[CA_SERIAL_LEN]);
void ca_names_from_config(const struct jpki_config *c, struct pki_names *n);
/* "<data>/ca/<sign|auth>-<what>" into buf. */
int ca_path(const struct datadir *dd, enum cert_type t, const char *what,
    char *buf, size_t n);
/* A generation's certificate file: "<data>/ca/<sign|auth>-<what>.pem" for
 * generation 1 (the names from before generations), and
 * "<data>/ca/<sign|auth>-<what>.gen<N>.pem" for generation N. */
int ca_gen_path(const struct datadir *dd, enum cert_type t, int gen,
    const char *what, char *buf, size_t n);
/* Replace a certificate file (a renewed responder certificate) durably. */
int ca_cert_replace(const char *path, X509 *x);

/* A set of short strings ("sign:0A1B..."), each with a value and a mark
 * (strset.c).  ca_strset_add: JPKI_ERR_CONFLICT (no message) when the
 * key is there already, *out pointing at it. */
struct ca_strset_item {
	char key[48];
	int64_t value;
	int mark;
};
struct ca_strset {
	struct ca_strset_item *items;
	size_t n, cap;
};
struct ca_strset_item *ca_strset_find(struct ca_strset *set, const char *key);
int ca_strset_add(struct ca_strset *set, const char *key, int64_t value,
    struct ca_strset_item **out);
void ca_strset_free(struct ca_strset *set);

#endif
