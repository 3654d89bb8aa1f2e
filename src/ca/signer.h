/*
 * signer.h: the key seam.  The only way any code reaches the private key of
 * a CA or of its delegated OCSP responder.
 *
 * A signer is a set of keys, each named by a struct ca_key_id, answering a
 * narrow table of requests (struct ca_signer_impl), in the manner of
 * OpenSSH's monitor: "the public key of this key", "sign this
 * TBSCertificate", "sign this digest of a TBSCertList", "sign this OCSP
 * ResponseData", "sign these digests of a card's facts".  Which key may
 * sign what is decided here, once, for every implementation: certificates
 * and CRLs only with a CA key, OCSP responses only with a responder key,
 * a card-info AP's facts and its certificate and a card face only with
 * the card issuer's key, which signs nothing else.  Callers hold no EVP_PKEY of a CA; they get
 * signatures (sha256WithRSAEncryption) and wrap them themselves (pki).
 *
 * Implementations: files in the data directory's ca/ (signer_file.c, the
 * embedded default), or keys inside a PKCS#11 token (signer_pkcs11.c) when
 * the data directory records one (<data>/ca/pkcs11).  A separate `jpki
 * signer` process is one more implementation of the same table.
 *
 * Threads: a signer is opened once; each thread that signs opens its own
 * session (ca_signer_session_open) and uses it alone.
 */
#ifndef JPKI_CA_SIGNER_H
#define JPKI_CA_SIGNER_H

#include "base/base.h"
#include "rules/rules.h"

#include <openssl/evp.h>

struct datadir;

enum ca_key_role {
	CA_KEY_CA = 1,     /* the CA's own key: certificates, CRLs */
	CA_KEY_OCSP = 2,   /* its delegated OCSP responder's key */
	CA_KEY_CARD_ISSUER = 3, /* the card issuer's: the card-info AP's
	                           signed facts (EF 0003, 0004) and the
	                           card-face AP's signature */
	CA_KEY_MUNICIPALITY = 4, /* the municipality's document-signing key:
	                            the kiosk's residence certificates
	                            (docs/relying-party.md, "Kiosk") and
	                            its own certificate */
	CA_KEY_AUDIT = 5,  /* the signer's own: audit checkpoints only */
};
struct ca_key_id {
	enum cert_type type;        /* CERT_SIGN or CERT_AUTH; 0 for the
	                               card issuer's key (one for both) */
	enum ca_key_role role;
	int gen;                    /* the CA generation, 1 to CA_GEN_MAX,
	                               for CA and responder keys (each
	                               generation has its own pair); 0 for
	                               the card issuer's and the audit
	                               key */
};
#define CA_KEY_ID_CARD_ISSUER \
	((struct ca_key_id){(enum cert_type)0, CA_KEY_CARD_ISSUER, 0})
#define CA_KEY_ID_MUNICIPALITY \
	((struct ca_key_id){(enum cert_type)0, CA_KEY_MUNICIPALITY, 0})
/* The audit checkpoint key has no generations either (gen 0): it signs
 * checkpoints of the one audit chain, not certificates, so a CA rollover
 * leaves it alone; checkpoints name no CA. */
#define CA_KEY_ID_AUDIT \
	((struct ca_key_id){(enum cert_type)0, CA_KEY_AUDIT, 0})
/* Generations of one CA a data directory may hold (ca rollover). */
#define CA_GEN_MAX 16

/* Which keys a signer loads (bit mask). */
#define CA_KEYS_CA   0x1        /* both CA keys: issue, revoke, CRLs */
#define CA_KEYS_OCSP 0x2        /* both responder keys: answer OCSP */
#define CA_KEYS_CARD_ISSUER 0x4 /* the card issuer's key */
#define CA_KEYS_MUNICIPALITY 0x8 /* the municipality's document key */
#define CA_KEYS_AUDIT 0x10      /* the audit checkpoint key */

enum ca_sign_op {
	CA_SIGN_CERT = 1,        /* in: a DER TBSCertificate (CA key) */
	CA_SIGN_CRL_DIGEST = 2,  /* in: the SHA-256 of a TBSCertList, which
	                            is written as a stream (CA key) */
	CA_SIGN_OCSP = 3,        /* in: a DER ResponseData (responder key) */
	CA_SIGN_CARD_FACTS = 4,  /* in: SHA-256 of card-info EF 0001 then of
	                            EF 0002, 64 bytes (card issuer key) */
	CA_SIGN_CARD_CERT = 5,   /* in: the body of card-info EF 0004, at most
	                            CA_SIGN_CARD_CERT_MAX (card issuer key) */
	CA_SIGN_CARD_FACE = 6,   /* in: the signed content of the card-face
	                            AP's EF 0002, its elements from DF 21 on,
	                            more than CA_SIGN_CARD_FACTS_LEN and at
	                            most CA_SIGN_CARD_FACE_MAX bytes (card
	                            issuer key) */
	CA_SIGN_MUNICIPALITY_CERT = 7, /* in: the DER TBSCertificate of the
	                            municipality's own (self-signed)
	                            certificate, carrying its own public
	                            key (municipality key) */
	CA_SIGN_DOCUMENT_DIGEST = 8, /* in: the SHA-256 of a document's CMS
	                            signed attributes, 32 bytes
	                            (municipality key) */
	CA_SIGN_CHECKPOINT = 9,  /* in: an audit checkpoint body,
	                            CA_CHECKPOINT_BODY_LEN bytes starting
	                            CA_CHECKPOINT_MAGIC (audit key) */
};
/* A checkpoint body: the magic with its NUL, then the sequence number (8
 * bytes BE), the chain hash (32), the time (8 bytes BE). */
#define CA_CHECKPOINT_MAGIC "openjpki-checkpoint-v1"
#define CA_CHECKPOINT_BODY_LEN (sizeof(CA_CHECKPOINT_MAGIC) + 8 + 32 + 8)
#define CA_SIGN_CARD_FACTS_LEN 64
#define CA_SIGN_CARD_CERT_MAX 1024
#define CA_SIGN_CARD_FACE_MAX 32767
/* Longest input of CA_SIGN_CERT and CA_SIGN_OCSP. */
#define CA_SIGN_INPUT_MAX (1 << 20)

/* The request table an implementation answers.  `state` is what it was
 * made with, `sess` what its session_open made.  sign() gets requests
 * already checked against the op/key policy above. */
/* One of several signatures asked at once (ca_signer_sign_many). */
struct ca_sign_item {
	struct ca_key_id id;
	enum ca_sign_op op;
	const uint8_t *in;
	size_t len;
	uint8_t *sig;           /* room for sig_len bytes */
	size_t sig_len;         /* room in, the signature's length out */
	int r;                  /* the item's outcome: JPKI_OK or a code */
	char why[320];          /* and its message when r is not JPKI_OK */
};

struct ca_signer_impl {
	const char *name;
	int (*public_key)(void *state, struct ca_key_id id, EVP_PKEY **pub);
	int (*session_open)(void *state, void **sess);
	int (*sign)(void *sess, struct ca_key_id id, enum ca_sign_op op,
	    const uint8_t *in, size_t len, uint8_t *sig, size_t *sig_len);
	void (*session_close)(void *sess);
	void (*close)(void *state);
	/* Make a new key of `bits` for id where this implementation keeps
	 * keys (never over an existing one) and hold it from then on: *pub
	 * gets its public key.  (jpki init, a CA rollover.)  NULL: keys are
	 * not made through this one (a remote signer: JPKI_ERR_REFUSED). */
	int (*create_key)(void *state, struct ca_key_id id, int bits,
	    EVP_PKEY **pub);
	/* Where key id is kept, for people: "file PATH", "pkcs11 module M
	 * token T id HEX", or "signer ADDRESS".  Opens nothing. */
	int (*locate)(void *state, struct ca_key_id id, char *buf, size_t n);
	/* Optional: a TBSCertList streamed to the implementation, which
	 * hashes it itself (a separate signer, which must see what it signs).
	 * NULL: the seam hashes and asks sign() for CA_SIGN_CRL_DIGEST. */
	int (*crl_begin)(void *sess, struct ca_key_id id, uint64_t total);
	int (*crl_update)(void *sess, const uint8_t *p, size_t n);
	int (*crl_finish)(void *sess, uint8_t *sig, size_t *sig_len);
	/* Remove key id (a later generation's, never recorded in the store:
	 * what a rollover interrupted before it was recorded left behind)
	 * from where this implementation keeps it and from the signer.  A
	 * missing key is fine. */
	int (*discard_key)(void *state, struct ca_key_id id);
	/* Optional: several requests at once, each checked by the seam
	 * already (struct ca_sign_item; items whose r is not JPKI_OK are
	 * skipped).  An error return: the items still at JPKI_OK are failed
	 * with it by the seam.  A separate signer sends them together and reads the
	 * answers in order: one round trip for the lot.  NULL: sign() for
	 * each. */
	int (*sign_many)(void *sess, struct ca_sign_item *items, size_t n);
};

struct ca_signer;
struct ca_signer_session;

/* A signer over an implementation; it takes `state` (closed with it). */
int ca_signer_new(const struct ca_signer_impl *impl, void *state,
    struct ca_signer **out);
void ca_signer_close(struct ca_signer **s);
/* The public key of id (a new reference): JPKI_ERR_NOTFOUND if this signer
 * holds no such key. */
int ca_signer_public_key(struct ca_signer *s, struct ca_key_id id,
    EVP_PKEY **pub);

int ca_signer_session_open(struct ca_signer *s,
    struct ca_signer_session **out);
void ca_signer_session_close(struct ca_signer_session **ss);
/* A sha256WithRSAEncryption signature by key id over `in` (see enum
 * ca_sign_op) into sig (*sig_len: room in, length out).  A request the
 * policy refuses: JPKI_ERR_REFUSED. */
int ca_signer_sign(struct ca_signer_session *ss, struct ca_key_id id,
    enum ca_sign_op op, const uint8_t *in, size_t len, uint8_t *sig,
    size_t *sig_len);

/* Each item signed as ca_signer_sign would sign it, with an outcome of
 * its own (r, and why when it is not JPKI_OK): one refused is not the
 * others refused.  Items must come with r = JPKI_OK; one that comes with
 * another r (its caller failed it already) is left as it is.  A separate
 * signer (signer_remote.c) gets them in one write and answers them in
 * order, so a batch costs one round trip.  Returns JPKI_OK, or the error
 * that stopped the lot (a lost connection), which every item it stopped
 * then has as its r. */
int ca_signer_sign_many(struct ca_signer_session *ss,
    struct ca_sign_item *items, size_t n);

/* Make a new key for id through the signer's implementation (struct
 * ca_signer_impl's create_key): JPKI_ERR_CONFLICT if it already has one.
 * The signer holds it from then on. */
int ca_signer_create_key(struct ca_signer *s, struct ca_key_id id, int bits,
    EVP_PKEY **pub);
/* Remove the key of a generation (>= 2) that never took effect (see
 * discard_key above); JPKI_ERR_INTERNAL for any other key. */
int ca_signer_discard_key(struct ca_signer *s, struct ca_key_id id);
/* Where key id is kept (see locate above), into buf. */
int ca_signer_locate(struct ca_signer *s, struct ca_key_id id, char *buf,
    size_t n);
/* The key's name in a data directory: "sign-ca", "auth-ocsp",
 * "card-issuer" (generation 1 and the card issuer's), "sign-ca.gen2"
 * (a later generation): file names, token records and labels are made of
 * it. */
int ca_key_name(struct ca_key_id id, char *buf, size_t n);
/* "sign CA generation 1", "auth OCSP responder generation 2", "card
 * issuer" */
void ca_key_label(struct ca_key_id id, char *buf, size_t n);

/* The signer of a data directory with the keys in `keys` (CA_KEYS_*; 0:
 * none yet, for ca_signer_create_key): a PKCS#11 token's if the data
 * directory records one, else its files'. */
int ca_signer_open(const struct datadir *dd, unsigned keys,
    struct ca_signer **out);

/* A CRL's TBSCertList of `total` bytes, given in pieces as it is written:
 * the sha256WithRSAEncryption signature by CA key id over all of it, as
 * CA_SIGN_CRL_DIGEST over its SHA-256.  One at a time per session; a
 * session whose stream failed is closed. */
int ca_signer_crl_begin(struct ca_signer_session *ss, struct ca_key_id id,
    uint64_t total);
int ca_signer_crl_update(struct ca_signer_session *ss, const uint8_t *p,
    size_t n);
int ca_signer_crl_finish(struct ca_signer_session *ss, uint8_t *sig,
    size_t *sig_len);

/* ---- file-held keys (signer_file.c) ------------------------------------ *
 * <data>/ca/<name>.key (ca_key_name): <sign|auth>-<ca|ocsp>.key
 * (generation 1), <sign|auth>-<ca|ocsp>.gen<N>.key (generation N >= 2),
 * card-issuer.key and audit.key, PEM, mode 0600; or the same names in
 * jpki signer's --keys directory. */

/* Open the keys in `keys` (CA_KEYS_*) of a data directory: for CA and
 * responder keys, generation 1 and every later one that follows it
 * without a gap. */
int ca_signer_open_files(const struct datadir *dd, unsigned keys,
    struct ca_signer **out);
/* The same from another directory holding the key files (`jpki signer
 * --keys DIR`); its create_key makes new keys there. */
int ca_signer_open_key_dir(const char *dir, unsigned keys,
    struct ca_signer **out);
/* Make a new key of `bits` for id and write it (never over an existing
 * one); *pub gets its public key. */
int ca_signer_create_file_key(const struct datadir *dd, struct ca_key_id id,
    int bits, EVP_PKEY **pub);
/* Remove the key file of a generation (>= 2) that never took effect: what
 * a rollover interrupted before it was recorded left behind.  A missing
 * file is fine. */
int ca_signer_discard_file_key(const struct datadir *dd, struct ca_key_id id);

/* ---- keys in a PKCS#11 token (signer_pkcs11.c) ------------------------- *
 * <data>/ca/pkcs11 records the module, the token's label and each key's
 * CKA_ID; the keys themselves are made inside the token (RSA, CKA_TOKEN,
 * CKA_SENSITIVE, not CKA_EXTRACTABLE) and never leave it.  A signer logs
 * in once with the user PIN (from the PIN source below) and keeps one
 * session open for that; each ca_signer_session is a token session. */

/* 1 if the data directory keeps its keys in a token. */
int ca_signer_pkcs11_used(const struct datadir *dd);
/* Record that dd keeps its keys in token `token` (its label) of PKCS#11
 * module `module` (a shared object's path): the token must be there and
 * take the user PIN.  Before any key is made (jpki init). */
int ca_signer_pkcs11_setup(const struct datadir *dd, const char *module,
    const char *token);
/* Only the check: the token is there and takes the user PIN (before a data
 * directory is made for it). */
int ca_signer_pkcs11_check(const char *module, const char *token);
int ca_signer_open_pkcs11(const struct datadir *dd, unsigned keys,
    struct ca_signer **out);
/* The public key of id from the token's public object, without logging in
 * (no PIN): for showing fingerprints. */
int ca_signer_pkcs11_public(const struct datadir *dd, struct ca_key_id id,
    EVP_PKEY **pub);

/* Where a token's user PIN comes from when a signer logs in: fn writes
 * it, NUL-terminated, into pin[n] (the caller wipes it).  The default
 * (fn NULL) reads the environment variable JPKI_HSM_PIN.  A token another
 * signer of the process is logged in to is not asked again. */
typedef int (*ca_token_pin_fn)(void *arg, const char *token, char *pin,
    size_t n);
void ca_signer_set_pin_source(ca_token_pin_fn fn, void *arg);
#define CA_TOKEN_PIN_MAX 256

/* ---- a separate signer process (signer_remote.c) ----------------------- *
 * The config's `signer` (unix:PATH or tls://HOST:PORT, with signer_cert,
 * signer_key, signer_ca for TLS; paths relative to dir): every request goes
 * to `jpki signer`, which holds the keys; this process holds none.  Each
 * session is a connection of its own.  `keys` (CA_KEYS_*) limits the keys
 * this process may ask for, as with files. */
struct jpki_config;
int ca_signer_open_remote(const struct jpki_config *c, const char *dir,
    unsigned keys, struct ca_signer **out);
/* Ask the signer of config c to sign a checkpoint of the audit chain now;
 * line (may be NULL) gets the checkpoint it wrote. */
int ca_signer_remote_checkpoint(const struct jpki_config *c, const char *dir,
    char *line, size_t n);

#endif
