/*
 * pki_int.h: helpers shared by the pki module's files, not part of its
 * interface.
 */
#ifndef JPKI_PKI_INT_H
#define JPKI_PKI_INT_H

#include "pki.h"

#include <openssl/x509v3.h>

/* Record OpenSSL's reason for a failure while doing `what`; clears the
 * OpenSSL error queue.  Returns JPKI_ERR_CRYPTO. */
int pki_crypto_fail(const char *what);

/* Check that s is a non-empty single line of UTF-8 of at most max_chars
 * characters; JPKI_ERR_INPUT naming `field` otherwise. */
int pki_text_check(const char *s, size_t max_chars, const char *field);
/* Check an URI for an IA5String: printable ASCII, no space, at most
 * PKI_URI_MAX bytes, starting with "http://" (or also "https://" when
 * https_ok). */
int pki_uri_check(const char *uri, int https_ok, const char *field);
/* Check the names from the config. */
int pki_names_check(const struct pki_names *n);

/* Append one RDN: type V_ASN1_PRINTABLESTRING or V_ASN1_UTF8STRING, value
 * already checked. */
int pki_name_add(X509_NAME *name, int nid, int type, const char *value);
/* The service DirName (CA subjectAltName, EE issuerAltName). */
int pki_service_names(enum cert_type ca, const struct pki_names *n,
    GENERAL_NAMES **out);

/* A serial is positive and at most PKI_SERIAL_MAX octets in DER (RFC 5280
 * 4.1.2.2); on success *skip is the number of leading zero octets. */
int pki_serial_check(const uint8_t *serial, size_t len, size_t *skip);
/* Check a serial and validity; *skip = the serial's leading zero octets. */
int pki_cert_basics_check(const uint8_t *serial, size_t serial_len,
    int64_t not_before, int64_t not_after, size_t *skip);
/* Version 3, serial, validity, on a fresh certificate. */
int pki_cert_basics(X509 *x, const uint8_t *serial, size_t serial_len,
    int64_t not_before, int64_t not_after);
/* Set the subject public key (fast for RSA, see pki_key.c). */
int pki_set_subject_key(X509 *x, EVP_PKEY *pub);
/* Append an extension (encoded from its OpenSSL structure). */
int pki_ext_add(X509 *x, int nid, void *value, int critical,
    const char *what);
/* Append KeyUsage (critical) with the given bits (0 = digitalSignature). */
int pki_ext_key_usage(X509 *x, const int *bits, size_t nbits);
/* Append a CRL distribution point list: an URI point (if uri) and a
 * DirName point (if dirname), in that order. */
int pki_ext_cdp(X509 *x, const char *uri, const X509_NAME *dirname);
/* Append SKI: SHA-1 of the subjectPublicKey (RFC 5280 4.2.1.2 method 1). */
int pki_ext_ski(X509 *x);
/* Append AKI: keyIdentifier = the issuer's SKI. */
int pki_ext_aki(X509 *x, X509 *issuer);

/* Append the signing certificate's SAN: the six otherNames of the facts
 * (already checked). */
int pki_ext_holder_facts(X509 *x, const struct pki_holder_facts *f);

/* The six facts as otherNames, in the order real certificates carry them:
 * the last arc of 1.2.392.200149.8.5.5.N and the UTF-8 value (gender is
 * written into gender[]). */
#define PKI_FACTS 6
struct pki_fact_item {
	int arc;
	const char *oid;
	const char *value;
};
void pki_facts_in_order(const struct pki_holder_facts *f, char gender[2],
    struct pki_fact_item out[PKI_FACTS]);

/* The per-certificate fields of an end-entity certificate (key, subject,
 * facts, CRL URI); the builder checks the per-CA ones too. */
int pki_ee_subject_check(const struct pki_ee_params *p);

/* A DER writer over a jbuf.  pki_der_open() writes the tag and one length
 * octet; pki_der_close() fixes the length, moving the contents right when
 * it needs more octets.  A failure is remembered in err (JPKI_ERR_NOMEM, or
 * JPKI_ERR_INTERNAL for bad nesting) and the rest of the calls do nothing. */
#define PKI_DER_DEPTH_MAX 12
/* AlgorithmIdentifier { sha256WithRSAEncryption, NULL } (RFC 4055). */
#define PKI_ALGID_SHA256_RSA_LEN 15
extern const uint8_t pki_algid_sha256_rsa[PKI_ALGID_SHA256_RSA_LEN];
struct pki_der {
	struct jbuf *b;
	size_t open[PKI_DER_DEPTH_MAX];
	int depth;
	int err;
};
void pki_der_put(struct pki_der *w, const void *p, size_t n);
void pki_der_open(struct pki_der *w, uint8_t tag);
void pki_der_close(struct pki_der *w);
/* A primitive element: tag, length, contents. */
void pki_der_prim(struct pki_der *w, uint8_t tag, const void *p, size_t n);
/* INTEGER of an unsigned big-endian magnitude. */
void pki_der_uint(struct pki_der *w, const uint8_t *mag, size_t n);
/* UTCTime for 1950-2049, else GeneralizedTime (RFC 5280 4.1.2.5), as
 * ASN1_TIME_set() chooses. */
void pki_der_time(struct pki_der *w, int64_t t);
/* The DER length pki_der_time() writes for t. */
size_t pki_der_time_len(int64_t t);
/* GeneralizedTime (1) or UTCTime (0) whatever the year (OCSP: always
 * GeneralizedTime, RFC 6960 4.2.2.1). */
void pki_der_time_as(struct pki_der *w, int64_t t, int generalized);
/* One RDN of one attribute: SET { SEQUENCE { OID, string } }. */
void pki_der_rdn(struct pki_der *w, const uint8_t *oid, size_t oid_len,
    uint8_t str_tag, const char *value);
/* Tag and definite length octets for contents of len bytes (< 2^32);
 * returns how many were written. */
#define PKI_DER_HEADER_MAX 6
size_t pki_der_header(uint8_t out[PKI_DER_HEADER_MAX], uint8_t tag,
    size_t len);
/* JPKI_OK, or the writer's error recorded with jpki_fail naming `what`. */
int pki_der_result(struct pki_der *w, const char *what);

int pki_type_check(enum cert_type t, const char *field);

#endif
