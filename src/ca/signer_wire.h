/*
 * signer_wire.h: private to the ca module.  The messages between a signer
 * client (signer_remote.c) and `jpki signer` (signer_daemon.c), and the
 * stream they travel on (a unix socket, or TLS over TCP).
 *
 * Every message is a frame: a 4-byte big-endian length, then that many
 * bytes (1 to SIGNER_FRAME_MAX).  A request:
 *
 *   u8 version (SIGNER_WIRE_VERSION)  u8 kind
 *   PUBKEY:      u8 type  u8 role  u32 generation
 *   SIGN:        u8 type  u8 role  u32 generation  u8 op  u32 len  len bytes
 *   CHECKPOINT:  (nothing): sign a checkpoint of the audit chain now
 *   CRL_BEGIN:   u8 type  u8 role  u32 generation  u64 total: a TBSCertList
 *                of total bytes follows, in CRL_DATA requests
 *   CRL_DATA:    u32 len  len bytes (1 to SIGNER_CRL_CHUNK)
 *   CRL_END:     (nothing): its signature
 *
 * A response:
 *
 *   u8 version  u8 status (JPKI_OK or a JPKI_ERR_* code)
 *   status OK:     u32 len  len bytes (a signature, a DER
 *                  SubjectPublicKeyInfo, or a checkpoint line)
 *   otherwise:     u16 len  len bytes of message (UTF-8, no NUL)
 *
 * Nothing may follow; the parsers refuse trailing bytes, unknown kinds
 * and lengths past the named limits below.
 */
#ifndef JPKI_CA_SIGNER_WIRE_H
#define JPKI_CA_SIGNER_WIRE_H

#include "ca/signer.h"

#include <openssl/ssl.h>

/* 2: the generation names a CA generation (1 to CA_GEN_MAX); version 1
 * had only 0, "the current one". */
#define SIGNER_WIRE_VERSION 2
/* The longest frame: a SIGN request of CA_SIGN_INPUT_MAX bytes and its
 * 13-byte header. */
#define SIGNER_FRAME_MAX (CA_SIGN_INPUT_MAX + 64)
/* The longest answer of an OK response: a public key (RSA-8192 is about
 * 1.1 kB), a signature (PKI_SIG_MAX) or a checkpoint line. */
#define SIGNER_DATA_MAX 4096
/* The longest error message carried. */
#define SIGNER_MSG_MAX 512
/* The longest piece of a streamed TBSCertList; the longest TBSCertList. */
#define SIGNER_CRL_CHUNK (256 * 1024)
#define SIGNER_CRL_MAX ((uint64_t)1 << 40)

enum signer_kind {
	SIGNER_PUBKEY = 1,
	SIGNER_SIGN = 2,
	SIGNER_CHECKPOINT = 3,
	SIGNER_CRL_BEGIN = 4,
	SIGNER_CRL_DATA = 5,
	SIGNER_CRL_END = 6,
};

struct signer_request {
	enum signer_kind kind;
	struct ca_key_id id;    /* its gen travels as the u32 generation:
	                           1 to CA_GEN_MAX for CA and responder
	                           keys, 0 for the card issuer's */
	enum ca_sign_op op;
	const uint8_t *in;      /* SIGN, CRL_DATA: borrowed from the frame */
	size_t len;
	uint64_t total;         /* CRL_BEGIN */
};

struct signer_response {
	int status;
	const uint8_t *data;    /* OK: borrowed from the frame */
	size_t len;
	char msg[SIGNER_MSG_MAX + 1];   /* otherwise */
};

/* Encode a frame (length prefix included) at the end of out. */
int signer_request_encode(const struct signer_request *q, struct jbuf *out);
int signer_response_encode(const struct signer_response *a,
    struct jbuf *out);
/* Decode a frame's body (without its length prefix). */
int signer_request_decode(const uint8_t *body, size_t len,
    struct signer_request *q);
int signer_response_decode(const uint8_t *body, size_t len,
    struct signer_response *a);

/* ---- the stream --------------------------------------------------------- */
/* Reads are buffered: a frame's header and body, and the frames a peer
 * sent back to back, come in one system call where they can. */
#define SIGNER_READ_BUF 8192
struct signer_conn {
	int fd;
	SSL *ssl;               /* NULL: plain (unix socket) */
	size_t rpos, rlen;      /* rbuf[rpos, rlen): read, not yet taken */
	uint8_t rbuf[SIGNER_READ_BUF];
};
int signer_conn_write(struct signer_conn *c, const void *p, size_t n);
/* One frame's body into body (replacing what it held), at most max bytes.
 * The peer closing before the first byte: JPKI_ERR_NOTFOUND (no message). */
int signer_frame_read(struct signer_conn *c, size_t max, struct jbuf *body);
/* Bytes read from the peer and not yet taken (0: the next read waits). */
size_t signer_conn_buffered(const struct signer_conn *c);
void signer_conn_close(struct signer_conn *c);

/* An address: "unix:PATH", or "tcp:HOST:PORT" / "tls://HOST:PORT" (both
 * TLS).  host and path are written into the buffers given. */
struct signer_addr {
	int tls;
	char path[108];         /* sun_path */
	char host[256];
	char port[8];
};
int signer_addr_parse(const char *s, struct signer_addr *a);

#endif
