/*
 * rp_int.h: what the files of the rp module share.  Private to src/rp.
 */
#ifndef JPKI_RP_INT_H
#define JPKI_RP_INT_H

#include "rp/rp.h"

#include <openssl/pem.h>
#include <openssl/cms.h>
#include <pthread.h>

/* A status answer kept for reuse (status.c). */
struct rp_cached_status {
	char key[2 * SERIAL_HEX_MAX + 2];   /* issuer key hash prefix:serial */
	struct rp_status st;
	int64_t until;                      /* reuse until (real clock) */
};

/* Certificates kept decoded (verify.c), by SHA-256 of their DER, with
 * what a chain check found for them (chain_use 0: not checked yet). */
#define RP_CERT_CACHE_MAX 256
struct rp_cached_cert {
	uint8_t hash[32];
	X509 *x;
	enum cert_type chain_use;   /* the use the chain was checked for */
	int64_t chain_from, chain_until; /* every certificate of it valid */
	X509 *issuer;               /* for the status */
};

struct rp_verifier {
	X509_STORE *anchors;
	STACK_OF(X509) *anchor_list;
	STACK_OF(X509) *documents;  /* municipalities' document signers */
	struct store *store;
	unsigned flags;
	pthread_mutex_t lock;               /* the cache and the store */
	struct rp_cached_status *cache;     /* RP_STATUS_CACHE_MAX slots */
	size_t cache_n;
	struct rp_cached_cert certs[RP_CERT_CACHE_MAX];
	size_t certs_n, certs_next;
};

/* A DER SignedData without its certificates (cms_split.c): *split 1 and
 * stripped holds it, certs points into p; *split 0 when the walk does not
 * take it (BER), for OpenSSL to read whole. */
struct rp_cms_certs {
	size_t n;
	const uint8_t *der[RP_CMS_CERTS_MAX];
	size_t len[RP_CMS_CERTS_MAX];
};
int rp_cms_split(const uint8_t *p, size_t n, struct jbuf *stripped,
    struct rp_cms_certs *certs, int *split);
/* A DER tag and definite length (at most four octets) appended to out. */
int rp_der_put_header(struct jbuf *out, uint8_t tag, size_t len);
/* The certificate of der, decoded once (a reference: X509_free it). */
X509 *rp_cert_cached(struct rp_verifier *v, const uint8_t *der, size_t n);

/* The signed attributes' DER as the signature covers them (cms_sign.c). */
int rp_signed_attrs_der(CMS_SignerInfo *si, struct jbuf *out);

/* The status of cert (issued by issuer) from OCSP, a CRL or the store,
 * in that order (status.c).  JPKI_OK with st->source RP_SRC_NONE when none
 * could say (st->tried says why). */
int rp_status_of(struct rp_verifier *v, X509 *cert, X509 *issuer,
    struct rp_status *st);


/* 1 if x is a municipality's self-signed document-signing certificate
 * (its policy PKI_OID_POLICY_MUNICIPALITY_DOC, issuer = subject). */
int rp_is_document_signer(X509 *x);

/* The serial and subject of x into res. */
void rp_describe(X509 *x, struct rp_result *res);

/* One line of the last OpenSSL error (or what). */
const char *rp_ssl_error(const char *what);

#endif
