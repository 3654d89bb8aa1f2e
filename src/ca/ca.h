/*
 * ca: the two certification authorities of a data directory.
 *
 * A struct ca is opened from a data directory (datadir.h) with the keys a
 * command needs: the CA keys to issue, revoke and publish CRLs, the OCSP
 * responder keys to answer OCSP, or none (CA certificates only).  It
 * issues end-entity certificates for card-held public keys in the JPKI
 * profile (pki) after the rules allow it (rules), and revokes them; each
 * issuance and revocation is recorded with its audit entry in one store
 * transaction, in the data directory's store.
 *
 * Each CA has generations under one name (ca rollover, generations.c):
 * the newest issues; every one answers OCSP and publishes CRLs for the
 * certificates it issued.
 *
 * Keys are reached only through the key seam (signer.h): this module
 * holds signatures, never a private key.  Files of a data directory
 * (generation 1; generation N adds ".gen<N>" before ".pem"/".key"):
 *   ca/{sign,auth}-ca.pem      CA certificates
 *   ca/{sign,auth}-ocsp.pem    delegated OCSP responder certificates
 *   ca/{sign,auth}-link-{old-with-new,new-with-old}.gen<N>.pem
 *                              link certificates to generation N-1
 *   ca/{sign,auth}-{ca,ocsp}.key  file-held keys (signer_file.c)
 *   ca/card-issuer.key         the card issuer's key (card-info facts)
 *   ca/municipality.{key,pem}  the municipality's document-signing key
 *                              and its self-signed certificate (kiosk)
 *   crl/                       published CRLs (crl.c)
 */
#ifndef JPKI_CA_H
#define JPKI_CA_H

#include "base/base.h"
#include "ca/signer.h"
#include "datadir/datadir.h"
#include "rules/rules.h"
#include "store/store.h"

#include <openssl/evp.h>
#include <stdatomic.h>
#include <openssl/x509.h>

struct ca;

/* Create both CAs and their OCSP responders in a data directory being
 * created (datadir_create, before datadir_create_finish): keys, self-signed
 * CA certificates, responder certificates, audit entries. */
int ca_create(struct datadir *dd);

/* Open the CAs of dd with the keys in `keys` (CA_KEYS_CA, CA_KEYS_OCSP, or
 * CA_KEYS_NONE for the certificates only).  dd must outlive the CA.
 * Issuing, revoking and CRLs need CA_KEYS_CA; OCSP answers CA_KEYS_OCSP. */
#define CA_KEYS_NONE 0x0
int ca_open(struct datadir *dd, unsigned keys, struct ca **out);
/* ca_open with the keys here, whatever the config's `signer` says: the
 * key files of key_dir (`jpki signer --keys`, `jpki ca rollover --keys`),
 * or, key_dir NULL, where the data directory keeps them (its ca/ key files or
 * its PKCS#11 token).  For `jpki signer` itself and for the key ceremony
 * of a rollover, on the signer's machine.  key_dir must outlive the CA. */
int ca_open_local(struct datadir *dd, unsigned keys, const char *key_dir,
    struct ca **out);
void ca_close(struct ca **ca);

/* JPKI_OK if the CA was opened with the OCSP responder keys and the
 * signer still holds both, each matching its responder certificate (for
 * a health check: through the key seam, so a token that went away shows). */
int ca_responders_ready(struct ca *ca);

/* The card issuer's key (<data>/ca/card-issuer.key, behind the key seam):
 * it signs the card-info AP's facts (CA_SIGN_CARD_FACTS), the card-face
 * AP's content (CA_SIGN_CARD_FACE) and its own certificate
 * (CA_SIGN_CARD_CERT), nothing else.  Made by `jpki init`; a
 * data directory from before it gets one (RSA-2048) on first need, never
 * over an existing file.  Opened on first use, whatever keys the CA was
 * opened with. */
int ca_card_issuer_sign(struct ca *ca, enum ca_sign_op op, const uint8_t *in,
    size_t len, uint8_t *sig, size_t *sig_len);
int ca_card_issuer_public_key(struct ca *ca, EVP_PKEY **pub);

/* The municipality's document-signing key and certificate (municipality.c),
 * for the kiosk's residence certificates: both made on first need (the
 * key RSA-2048 behind the key seam, the certificate self-signed, naming
 * the config's municipality from the table).  The signer keeps dd's
 * pointer: dd must outlive it.  Threads may sign with one at once. */
struct ca_municipality;
int ca_municipality_open(struct datadir *dd, struct ca_municipality **out);
X509 *ca_municipality_cert(struct ca_municipality *m);
/* A signature (sha256WithRSAEncryption) over the 32-byte SHA-256 of a
 * document's CMS signed attributes. */
int ca_municipality_sign_digest(struct ca_municipality *m,
    const uint8_t hash[32], uint8_t *sig, size_t *sig_len);
void ca_municipality_close(struct ca_municipality **m);

/* Where a key is kept ("file PATH", or "pkcs11 module M token T id HEX")
 * and the SHA-256 of its SubjectPublicKeyInfo: a CA's or a responder's
 * from its certificate, the card issuer's from its key store (no PIN is
 * asked).  No fingerprint (have_sha256 0, why says so) if the card
 * issuer's key cannot be read.  Opens no CA key (ca_keys.c). */
struct ca_key_info {
	char name[48];          /* "sign-ca", "sign-ca.gen2" */
	char label[40];         /* "sign CA generation 1" */
	char where[JPKI_PATH_MAX + 160];
	int have_sha256;
	uint8_t sha256[32];
	char why[256];
};
int ca_key_info(struct ca *ca, struct ca_key_id id, struct ca_key_info *out);

/* The data directory the CA was opened from. */
struct datadir *ca_datadir(struct ca *ca);
/* The certificates of the generation that issues now. */
X509 *ca_cert(struct ca *ca, enum cert_type type);
X509 *ca_ocsp_cert(struct ca *ca, enum cert_type type);

/* ---- generations (generations.c) --------------------------------------- */
/* How many generations the CA of `type` has; the newest issues. */
int ca_generation_count(struct ca *ca, enum cert_type type);
/* A generation's certificates (NULL if there is no such generation):
 * its CA certificate, its responder's, and from generation 2 on the link
 * certificates of RFC 4210 4.4 to the generation before: OldWithNew (the
 * previous key signed by this one) and NewWithOld (this key signed by
 * the previous one). */
X509 *ca_gen_cert(struct ca *ca, enum cert_type type, int gen);
X509 *ca_gen_ocsp_cert(struct ca *ca, enum cert_type type, int gen);
X509 *ca_gen_old_with_new(struct ca *ca, enum cert_type type, int gen);
X509 *ca_gen_new_with_old(struct ca *ca, enum cert_type type, int gen);

/* The longest an end-entity certificate lives: until the 5th birthday
 * after issuance (R6), so at most 5 years. */
#define CA_CERT_LIFETIME_MONTHS (RULES_CERT_BIRTHDAYS * 12)
/* `ca show` warns this long before the roll-over-by date. */
#define CA_ROLLOVER_NOTICE_DAYS 90

struct ca_generation_status {
	enum cert_type type;
	int gen;
	int issuing;                /* the newest: it issues */
	char key_id[41];            /* SubjectKeyIdentifier, hex */
	int64_t not_before, not_after;       /* the CA certificate's */
	int64_t responder_not_after;
	long live;                  /* certificates valid (not revoked, not
	                               expired) now */
	int64_t last_not_after;     /* of any certificate it issued; 0: none */
	int in_service;             /* answers OCSP, publishes CRLs: it
	                               issues, or a certificate of it has not
	                               expired */
	/* The last day a certificate of the longest lifetime issued by it
	 * still ends before the CA certificate does: CA expiry minus
	 * CA_CERT_LIFETIME_MONTHS (23:59:59 JST of that day). */
	int64_t roll_over_by;
	int cut_short;              /* issuing, and past roll_over_by: a
	                               certificate issued now is cut short */
	int rollover_due;           /* issuing, within
	                               CA_ROLLOVER_NOTICE_DAYS of roll_over_by
	                               or past it */
};
int ca_generation_status(struct ca *ca, enum cert_type type, int gen,
    int64_t now, struct ca_generation_status *out);

/* Roll the CA of `type` over (needs the CA keys): a new key and responder
 * key, a new self-signed CA certificate with the same subject, the two
 * link certificates with the previous generation, a responder
 * certificate; recorded with its audit entry.  From then on the new
 * generation issues. */
struct ca_rollover_result {
	enum cert_type type;
	int old_gen, new_gen;
	char ca_path[JPKI_PATH_MAX], ocsp_path[JPKI_PATH_MAX];
	char old_with_new_path[JPKI_PATH_MAX], new_with_old_path[JPKI_PATH_MAX];
};
int ca_rollover(struct ca *ca, enum cert_type type, const char *actor,
    struct ca_rollover_result *res);

/* Renew the responder certificate of generation gen of `type` (same key)
 * if it ends within `within` seconds of now and the generation is still
 * in service; *renewed says whether it did.  Needs the CA keys. */
#define CA_RESPONDER_RENEW_DAYS 30
int ca_responder_renew(struct ca *ca, enum cert_type type, int gen,
    int64_t within, const char *actor, int *renewed);

/* An issuance request for a card-held public key. */
struct ca_issue_request {
	int64_t resident_id;
	enum cert_type type;
	EVP_PKEY *pub;              /* RSA-2048 public key from the card */
	struct jdate card_expiry;   /* {0}: as a card issued today would */
	int64_t card_id;            /* 0: operator interface, no card record */
	const char *replaces;       /* serial this certificate renews, or NULL */
	const char *actor;          /* who: clerk or operator name */
};

struct ca_issued {
	char serial[SERIAL_HEX_MAX];
	int64_t not_before, not_after;
	int crl_shard;
	uint8_t *der;               /* malloc'd; ca_issued_free() */
	size_t der_len;
};
void ca_issued_free(struct ca_issued *i);

/* Check the rules (R8e age, card validity, deceased holder) and issue one
 * certificate in its own transaction. */
int ca_issue(struct ca *ca, const struct ca_issue_request *req,
    struct ca_issued *out);
/* The same inside the caller's open transaction (counter procedures). */
int ca_issue_in_tx(struct ca *ca, const struct ca_issue_request *req,
    struct ca_issued *out);
/* Issue n certificates with `threads` signing threads (the calling thread
 * prepares, records, and signs whatever no signing thread has taken) and
 * record them all in one transaction: all of them or none. */
int ca_issue_batch(struct ca *ca, const struct ca_issue_request *reqs,
    size_t n, struct ca_issued *out, int threads);

/* Bulk issuance: n requests, committed `group` at a time (each group one
 * transaction: all of its certificates or none), signing on `threads`
 * threads plus the caller, without pausing for commits.  On a refusal or
 * failure it stops: the groups before the one holding the failing request
 * stay committed, *committed says how many certificates that is (out[0..
 * committed) are filled, the rest freed), and the error names the request.
 * Requests prepared before another writer's commit are prepared again. */
#define CA_STREAM_WINDOW 1024
struct ca_stream_options {
	int threads;            /* signing threads besides the caller (>= 1) */
	size_t group;           /* certificates per transaction; 0: all n */
	size_t window;          /* requests prepared ahead of recording at
	                           most (memory); 0: CA_STREAM_WINDOW */
	/* Called after each commit with the number committed so far. */
	void (*on_commit)(void *arg, size_t committed);
	void *arg;
};
int ca_issue_stream(struct ca *ca, const struct ca_issue_request *reqs,
    size_t n, struct ca_issued *out, const struct ca_stream_options *opt,
    size_t *committed);

/* Revoke by serial (hex, as `openssl x509 -serial` prints it), with an
 * RFC 5280 reason, in its own transaction / in the caller's. */
int ca_revoke(struct ca *ca, const char *serial, int reason,
    const char *actor);
int ca_revoke_in_tx(struct ca *ca, const char *serial, int reason,
    const char *actor);

/* ---- CRLs (crl.c) ------------------------------------------------------ */
#define CA_CRL_FULL (-1)   /* the full CRL of a CA, not one shard */
struct ca_crl_result {
	enum cert_type type;
	int gen;                /* the CA generation that signed it */
	int shard;              /* or CA_CRL_FULL */
	int64_t number;         /* CRLNumber */
	long entries;
	int64_t this_update, next_update;
	char path[JPKI_PATH_MAX];
};
/* Publish the CRL of one shard of a CA (or its full CRL): take the next
 * CRL number, write every revocation of the shard, and rename the signed
 * file into out_dir/<sign|auth>/<shard>.crl (full.crl); out_dir NULL is
 * <data>/crl.  Memory does not grow with the number of entries. */
int ca_crl_generate(struct ca *ca, enum cert_type type, int shard,
    const char *out_dir, struct ca_crl_result *res);
/* The same for generation gen (ca rollover: each generation publishes the
 * CRLs of the certificates it issued, under out_dir/<sign|auth>.gen<N>/
 * from generation 2 on, the paths its certificates' CDPs name). */
int ca_crl_generate_gen(struct ca *ca, enum cert_type type, int gen,
    int shard, const char *out_dir, struct ca_crl_result *res);

/* ---- OCSP (ocsp.c) ------------------------------------------------------ */
struct ca_ocsp_cert {
	char serial[SERIAL_HEX_MAX];
	int status;                 /* enum pki_ocsp_cert_status */
	int reason;
	int64_t revoked_at;
};
struct ca_ocsp_answer {
	int status;                 /* enum pki_ocsp_status of the response */
	char why[320];              /* for an error status: the reason */
	enum cert_type type;        /* the CA that answered */
	int64_t this_update;        /* successful: the answers' thisUpdate */
	int64_t next_update;        /* and nextUpdate (HTTP caching, RFC 5019) */
	size_t n;
	struct ca_ocsp_cert cert[8];
	int presigned;              /* ca_ocsp_answer: the stored response */
};
/* Answer a DER OCSPRequest: the DER OCSPResponse is appended to out and
 * described in *ans.  A malformed request or one for another issuer still
 * gets its (error) response and JPKI_OK; a failure means none could be
 * made. */
int ca_ocsp_respond(struct ca *ca, const uint8_t *der, size_t len,
    struct jbuf *out, struct ca_ocsp_answer *ans);

/* ---- the profile check (lint.c) ---------------------------------------- *
 * What `jpki signer` checks before a CA key signs (Boulder's lint before
 * issuance); usable in-process too.  A refusal is JPKI_ERR_REFUSED with one
 * line naming the first thing that breaks the profile. */

/* A DER TBSCertificate for generation gen of the CA of t (its CA
 * certificate is the one checked against): an end-entity certificate, of
 * the generation that issues (the newest) only, in the JPKI profile of that
 * CA (extension set and criticality, KeyUsage,
 * policy, AKI, CDP, an RSA key of >= 2048 bits, notBefore within a day of
 * now, validity inside the CA's and no longer than a card issued that day
 * allows, the holder's facts on signing certificates only), or a
 * certificate of one of that generation's own keys.  *serial gets its serial
 * (hex, as stored) once it could be read. */
int ca_lint_tbs_cert(struct ca *ca, enum cert_type t, int gen,
    const uint8_t *tbs, size_t len, int64_t now, char serial[SERIAL_HEX_MAX]);
/* A DER OCSP ResponseData of the responder of generation gen of t: named
 * by that responder,
 * produced now, 1 to 8 answers, each for a certificate of this CA, valid
 * for at most a day, or the config's ocsp_validity_seconds if longer
 * (pre-signed answers). */
int ca_lint_ocsp_data(struct ca *ca, enum cert_type t, int gen,
    const uint8_t *rd, size_t len, int64_t now);
/* The first len bytes of a TBSCertList of `total` bytes for generation
 * gen of the CA of t
 * (CA_LINT_CRL_HEAD of them suffice): a DER SEQUENCE of exactly total
 * bytes, version 2, sha256WithRSAEncryption, issuer this CA, thisUpdate
 * now, nextUpdate within a CRL's validity.  So what the CA key signs as
 * a CRL is one, and no other structure. */
#define CA_LINT_CRL_HEAD 4096
int ca_lint_crl_head(struct ca *ca, enum cert_type t, int gen,
    const uint8_t *head, size_t len, uint64_t total, int64_t now);

/* ---- audit checkpoints (checkpoint.c; docs/audit.md) -------------------- */
#define CA_CHECKPOINT_LINE_MAX 1024
/* The checkpoints file of dd: the config's `checkpoints`, or
 * <data>/signer/checkpoints. */
int ca_checkpoint_path(const struct datadir *dd, char *buf, size_t n);
/* Sign a checkpoint of st's audit chain head with the audit key of s and
 * append it to path (checkpoint-key.pem beside it), if the chain extends
 * the last checkpoint there (JPKI_ERR_VERIFY naming the entry if not).
 * Nothing new since the last: *made = 0 and line gets the last one. */
int ca_checkpoint_make(struct ca_signer *s, struct store *st, const char *path,
    char *line, size_t n, int *made);
/* A checkpoint now: through the config's signer if there is one, else
 * in-process with <data>/ca/audit.key (made on first need). */
int ca_audit_checkpoint(struct datadir *dd, char *line, size_t n, int *made);
/* JPKI_OK if line is one well-formed checkpoint line (no signature check;
 * for the fuzzer). */
int ca_checkpoint_line_check(const char *line);

struct ca_audit_report {
	long entries, checkpoints, certs, revocations;
	int64_t checkpoint_seq, checkpoint_time;  /* the newest */
};
/* The audit chain (store_audit_verify), then against every checkpoint of
 * cp_path (NULL: none; its key key_path, NULL: checkpoint-key.pem beside
 * it), then the certificates and revocations of the store against the
 * log's cert.issue and cert.revoke entries.  JPKI_ERR_VERIFY naming the
 * first mismatch. */
int ca_audit_verify(struct store *st, const char *cp_path,
    const char *key_path, struct ca_audit_report *rep);

/* ---- `jpki signer` (signer_daemon.c, signer_tls.c) ----------------------- *
 * The one process that opens the CA keys: it answers the key seam's
 * request table for clients configured with `signer = unix:PATH` or
 * `tls://HOST:PORT`, checks each TBSCertificate and OCSP ResponseData
 * against the profile first (ca_lint_*), keeps a record of the serials it
 * signed and an audit log of its own, signs audit checkpoints, and drops
 * what it does not need once its keys are open. */
#define CA_CHECKPOINT_EVERY 60      /* seconds between checkpoints, at most */
struct ca_signer_daemon_options {
	const char *listen;       /* unix:PATH or tcp:HOST:PORT */
	const char *key_dir;      /* the key files; NULL: <data>/ca */
	const char *state_dir;    /* NULL: <data>/signer (made 0700) */
	const char *user;         /* when root: run as this user */
	int checkpoint_every;     /* seconds; 0: CA_CHECKPOINT_EVERY */
	int no_sandbox;           /* 1: no seccomp filter */
	/* Called once listening, keys open and privileges dropped. */
	void (*ready)(void *arg, const char *where);
	void *arg;
};
/* Serve until SIGTERM or SIGINT. */
int ca_signer_serve(struct datadir *dd, const struct ca_signer_daemon_options *o);
/* When root: become `user` for good (no groups, its uid and gid), as
 * `jpki signer --user` and `jpki serve --user` do once they listen; not
 * root: JPKI_OK if already that user, JPKI_ERR_REFUSED otherwise. */
int ca_drop_user(const char *user, uid_t *uid, gid_t *gid);
/* Only the check, changing nothing: user exists and this process could
 * become it (root, or that user already); before anything is started. */
int ca_user_check(const char *user, uid_t *uid, gid_t *gid);
/* The signer's own PKI for tcp: (in dir, e.g. <data>/signer/tls): a CA and
 * the server's certificate for names ("host,10.0.0.2": DNS or IP names;
 * the first is its CN). */
int ca_signer_tls_init(const char *dir, const char *names);
/* A client certificate named `name` from the PKI in dir, written with its
 * key and the PKI's CA certificate into out_dir (client.pem, client.key,
 * ca.pem). */
int ca_signer_tls_issue_client(const char *dir, const char *name,
    const char *out_dir);

/* ---- pre-signed OCSP (ocsp_presign.c) ------------------------------------
 * Every certificate not expired has a response signed before anyone asks
 * (RFC 5019 profile, SHA-1 CertID, no nonce), stored by (issuer name
 * hash, issuer key hash, serial) (store_ocsp_*): made after issuance,
 * again after a revocation (the store's change queue), and again before
 * half its validity has passed (the config's ocsp_refresh_seconds,
 * ocsp_validity_seconds).  Responders are found in a table by (name
 * hash, key hash), one row per CA key, so another CA generation is one
 * more row. */

/* Live signing, bounded: at most `max` answers signed at once (a nonce, a
 * SHA-256 or several-certificate CertID list, a certificate with no
 * pre-signed answer); beyond it a nonce request gets the pre-signed
 * answer without its nonce (RFC 8954 allows it), and one with none gets
 * tryLater.  Counters for /metrics.  Shared by the answering threads:
 * atomics only. */
struct ca_ocsp_gate {
	int max;
	atomic_int busy;            /* live signatures being made now */
	atomic_ulong presigned;     /* answers sent as stored */
	atomic_ulong live;          /* answers signed live */
	atomic_ulong nonce_dropped; /* nonce asked, live full: stored sent */
	atomic_ulong try_later;     /* live full and nothing stored */
	atomic_ulong store_unavailable; /* tryLater: the store (or the
	                               signer) could not be reached */
	/* 1 while a pre-signer keeps the stored answers current (the
	 * server's own, past its first pass): a stored answer is sent as
	 * found.  0 (and with no gate): only while the certificate still has
	 * the status it says (store_ocsp_get_current), as on a replica. */
	atomic_int stored_current;
};
/* Answer a DER OCSPRequest like ca_ocsp_respond, from the pre-signed
 * responses when one answers it (ans->presigned = 1: out holds the stored
 * DER byte for byte), else signed live through the gate.  With a gate, a
 * store or signer that cannot be reached (JPKI_ERR_IO) is answered
 * tryLater (counted in store_unavailable). */
int ca_ocsp_answer(struct ca *ca, const uint8_t *der, size_t len,
    struct ca_ocsp_gate *gate, struct jbuf *out, struct ca_ocsp_answer *ans);

/* Pre-signed responses kept in memory (ocsp_cache.c): one cache for all
 * the answering threads, kept true by one thread that follows the store's
 * change queue (the follower) and drops what changed.  It is used only
 * while the follower was caught up within CA_OCSP_FEED_STALE_MS. */
#define CA_OCSP_FEED_STALE_MS 500
struct ca_ocsp_cache;
/* A cache of at most budget bytes. */
int ca_ocsp_cache_new(size_t budget, struct ca_ocsp_cache **out);
void ca_ocsp_cache_free(struct ca_ocsp_cache **c);
/* The follower, for each batch of the change queue read: first the last
 * seq of the batch, then each serial in it; alive once caught up.
 * drop_all: changes were lost (the queue was pruned past the follower),
 * it goes on from seq. */
void ca_ocsp_cache_followed(struct ca_ocsp_cache *c, int64_t seq);
void ca_ocsp_cache_drop(struct ca_ocsp_cache *c, const char *serial);
void ca_ocsp_cache_drop_all(struct ca_ocsp_cache *c, int64_t seq);
void ca_ocsp_cache_alive(struct ca_ocsp_cache *c);
/* The follower cannot read the store: the cache is not used until it is
 * alive again. */
void ca_ocsp_cache_down(struct ca_ocsp_cache *c);
struct ca_ocsp_cache_stats {
	unsigned long hits, fills, dropped, flushed;
	long entries, bytes;
	int64_t followed;           /* the change queue's seq, followed */
	int64_t silent_ms;          /* since it was last caught up; -1 never */
};
void ca_ocsp_cache_stats(struct ca_ocsp_cache *c,
    struct ca_ocsp_cache_stats *out);
/* Loading the stored responses into a cache before anyone asks: one
 * batch of at most `limit` a call, from where pos says (zeroed: the
 * start); pos->done once all are in or the cache is full. */
struct ca_ocsp_preload {
	char serial[SERIAL_HEX_MAX];
	uint8_t issuer[STORE_OCSP_ISSUER_LEN];
	int done;
	long kept;
};
int ca_ocsp_cache_preload(struct ca *ca, struct ca_ocsp_cache *c,
    struct ca_ocsp_preload *pos, long limit);
/* ca_ocsp_answer, looking in the cache c first and keeping there the
 * stored responses it reads (c NULL: none). */
int ca_ocsp_answer_cached(struct ca *ca, struct ca_ocsp_cache *c,
    const uint8_t *der, size_t len, struct ca_ocsp_gate *gate,
    struct jbuf *out, struct ca_ocsp_answer *ans);

enum ca_presign_what {
	CA_PRESIGN_ALL,             /* every certificate not expired: a
	                               response made where one is missing,
	                               says another status, or is due */
	CA_PRESIGN_CHANGES,         /* the store's change queue after
	                               from_seq: issued and revoked since */
	CA_PRESIGN_DUE,             /* responses due for refresh (and those
	                               of expired certificates removed) */
};
/* One pass, made by steps of at most `batch` certificates (each step one
 * store transaction), so a long pass can let a revocation's pass in
 * between.  Zero it, set what (and from_seq), then step until done. */
struct ca_presign_pass {
	enum ca_presign_what what;
	int64_t from_seq;           /* CHANGES: the queue after this seq */
	size_t batch;               /* 0: CA_PRESIGN_BATCH */
	/* out */
	int done;
	int64_t changes_seen;       /* ALL, CHANGES: the queue is followed up
	                               to this seq (the next CHANGES pass's
	                               from_seq) */
	long looked, signed_good, signed_revoked, current, removed, raced;
	double scan_s, sign_s, write_s;     /* wall time in each part */
	/* private: where the pass is */
	int started;
	int64_t bound;
	struct ocsp_candidate after;
	int has_after;
};
#define CA_PRESIGN_BATCH 512
#define CA_PRESIGN_THREADS_MAX 64
struct ca_presigner;
/* A pre-signer signing on `threads` threads (the caller's among them),
 * into the CA's store, which must be open read-write. */
int ca_presigner_new(struct ca *ca, int threads, struct ca_presigner **out);
void ca_presigner_free(struct ca_presigner **ps);
int ca_presign_step(struct ca_presigner *ps, struct ca_presign_pass *p);
/* Step until done. */
int ca_presign_run(struct ca_presigner *ps, struct ca_presign_pass *p);

/* "valid", "revoked" or "expired" for a stored certificate at `now`. */
const char *ca_cert_status_name(const struct cert_record *c, int64_t now);

/* Normalise a serial given by a user ("0a:1b", "0x0A1B", "A1B") to the
 * stored form; JPKI_ERR_INPUT if it is not hex. */
int ca_serial_normalise(const char *in, char out[SERIAL_HEX_MAX]);

#endif
