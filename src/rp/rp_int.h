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

struct rp_verifier {
	X509_STORE *anchors;
	STACK_OF(X509) *anchor_list;
	struct store *store;
	unsigned flags;
	pthread_mutex_t lock;               /* the cache and the store */
	struct rp_cached_status *cache;     /* RP_STATUS_CACHE_MAX slots */
	size_t cache_n;
};

/* The signed attributes' DER as the signature covers them (cms_sign.c). */
int rp_signed_attrs_der(CMS_SignerInfo *si, struct jbuf *out);

/* The status of cert (issued by issuer) from OCSP, a CRL or the store,
 * in that order (status.c).  JPKI_OK with st->source RP_SRC_NONE when none
 * could say (st->tried says why). */
int rp_status_of(struct rp_verifier *v, X509 *cert, X509 *issuer,
    struct rp_status *st);

/* Base64 (RFC 4648, padded) of n bytes into out (4 * ceil(n / 3) + 1
 * bytes); decode strict base64 into out (cap bytes), *len its length. */
void rp_b64_encode(const uint8_t *p, size_t n, char *out);
int rp_b64_decode(const char *s, size_t slen, uint8_t *out, size_t cap,
    size_t *len);

/* The serial and subject of x into res. */
void rp_describe(X509 *x, struct rp_result *res);

/* One line of the last OpenSSL error (or what). */
const char *rp_ssl_error(const char *what);

#endif
