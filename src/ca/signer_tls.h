/*
 * signer_tls.h: private to the ca module.  Mutual TLS between counters on
 * other machines and `jpki signer` (tcp:HOST:PORT), and the small PKI of
 * its own that authenticates both sides (docs/ca-operations.md, "Signer"):
 * a signer CA, the signer's server certificate, one certificate per
 * client.  TLS 1.3 only; each side must present a certificate of the
 * signer CA; the client checks the server's name against HOST.
 */
#ifndef JPKI_CA_SIGNER_TLS_H
#define JPKI_CA_SIGNER_TLS_H

#include "ca/signer_wire.h"

#include <openssl/ssl.h>

/* Certificates of the signer PKI: this long. */
#define SIGNER_TLS_CA_DAYS 3650
#define SIGNER_TLS_CERT_DAYS 825

int signer_tls_client_ctx(const char *cert, const char *key, const char *ca,
    SSL_CTX **out);
int signer_tls_server_ctx(const char *cert, const char *key, const char *ca,
    SSL_CTX **out);
/* Handshake on c->fd; c->ssl is set on success. */
int signer_tls_connect(SSL_CTX *ctx, struct signer_conn *c, const char *host,
    const char *where);
/* peer gets the client certificate's CN. */
int signer_tls_accept(SSL_CTX *ctx, struct signer_conn *c, char *peer,
    size_t n);

#endif
