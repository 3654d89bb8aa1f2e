/*
 * rp: the relying party.  What a tax office, a bank or a portal does with
 * a My Number card's two certificates (seed R4, R5):
 *
 *   sign      a CMS SignedData in the CAdES-BES profile (RFC 5652, ETSI EN
 *             319 122-1: content type, signing time, signing-certificate-v2),
 *             SHA-256, its signature made by whoever holds the key (the card,
 *             through a callback: this module holds no key)
 *   verify    a CMS signature: the signature, the chain to the trust
 *             anchors at a time, the key usage and policy of a JPKI
 *             signing certificate, and its status (OCSP at the AIA, else the
 *             CRL at the CDP, else the local store, saying which); the
 *             signer's four facts decoded (name, address, birth date with
 *             its era, gender) with the substitution flags
 *   login     challenge-response with the authentication certificate in the
 *             manner of Web eID: a single-use nonce (the store keeps it, so
 *             every server thread and a restarted server agree), the client
 *             signs SHA-256(origin) || SHA-256(nonce); the answer names the
 *             certificate (subject, serial), never personal facts (R5)
 *   kiosk     a residence certificate (住民票の写し) for the holder of a
 *             fresh login proof, found through the register's link to the
 *             authentication certificate, signed by the municipality
 *             (kiosk.c: PAdES over the counter's PDF), with its receipt
 *             and audit entry
 *   routes    POST /rp/challenge, /rp/login, /rp/verify, registered into
 *             `jpki serve` (server.h's route table): the server module knows
 *             nothing of the relying party, this module sits above it
 *
 * Every byte string from outside (a CMS, a JSON body, an OCSP or CRL answer)
 * has a named limit checked before it is parsed.  What it does not do: issue
 * or revoke (ca), or decide R-rules (rules).
 */
#ifndef JPKI_RP_H
#define JPKI_RP_H

#include "base/base.h"
#include "pki/pki.h"
#include "rules/rules.h"
#include "store/store.h"

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

/* ---- limits ------------------------------------------------------------- */

/* A CMS signature file or body at most (an attached document inside). */
#define RP_CMS_MAX (16u << 20)
/* A detached document at most. */
#define RP_CONTENT_MAX (256u << 20)
/* Certificates carried in one CMS at most, and chain depth. */
#define RP_CMS_CERTS_MAX 16
#define RP_CHAIN_DEPTH_MAX 5
/* An OCSP answer and a CRL fetched at most; seconds to wait for either. */
#define RP_OCSP_RESPONSE_MAX (64u << 10)
#define RP_CRL_MAX (64u << 20)
#define RP_HTTP_TIMEOUT_SECONDS 5
/* How long a fetched status answer is reused at most (and never past the
 * answer's nextUpdate). */
#define RP_STATUS_CACHE_SECONDS 300
#define RP_STATUS_CACHE_MAX 4096
/* A status answer's clock may be this far off ours. */
#define RP_STATUS_SKEW_SECONDS 300

/* ---- the verdict -------------------------------------------------------- */

enum rp_reason {
	RP_VALID = 0,
	RP_BAD_SIGNATURE,       /* signature or content digest wrong */
	RP_UNTRUSTED,           /* no chain to a trust anchor */
	RP_WRONG_CERTIFICATE,   /* key usage or policy not of that use */
	RP_NOT_YET_VALID,       /* before notBefore at the time checked */
	RP_EXPIRED,             /* after notAfter at the time checked */
	RP_REVOKED,             /* revoked at or before the time checked */
	RP_REVOKED_BEFORE_SIGNING, /* and signed (signing time) after that */
	RP_STATUS_UNKNOWN,      /* no OCSP, CRL or store could say */
	RP_REASON_N
};
/* "valid", "bad-signature", "untrusted", ... (stable: JSON and docs). */
const char *rp_reason_name(enum rp_reason r);

/* RP_SRC_ANCHOR: the signer's certificate is itself a trust anchor (the
 * municipality's document-signing certificate): no status is asked. */
enum rp_status_source { RP_SRC_NONE, RP_SRC_OCSP, RP_SRC_CRL, RP_SRC_STORE,
	RP_SRC_ANCHOR };
const char *rp_status_source_name(enum rp_status_source s);

struct rp_status {
	enum rp_status_source source;
	char url[PKI_URI_MAX + 1];  /* OCSP or CRL: where it was asked */
	int cached;                 /* reused from an earlier answer */
	int revoked;
	int64_t revoked_at;
	int reason;                 /* CRLReason, -1 none */
	char tried[512];            /* what failed before the source used */
};

/* The holder's facts as a person reads them (R4): the certificate's
 * otherNames, the birth date given in its era too. */
struct rp_facts {
	struct pki_cert_facts raw;
	char birth_iso[11];         /* YYYY-MM-DD, "" for era 0 (unknown) */
	char birth_era[64];         /* "昭和55年5月15日", "" unknown */
	const char *era_name;       /* "Showa", ... "unknown" */
	const char *gender_name;    /* "male", "female", "unknown" */
};

struct rp_result {
	enum rp_reason reason;
	char why[512];              /* one line for a reason other than valid */
	X509 *signer;               /* the signer's certificate (owned) */
	enum cert_type type;        /* what its policy says it is */
	char serial[SERIAL_HEX_MAX];
	char subject[512];          /* RFC 2253 */
	int64_t signing_time;       /* CAdES signing time; 0: none */
	int64_t at;                 /* the time checked */
	struct rp_status status;
	int has_facts;
	struct rp_facts facts;
	int document_signer;        /* signed by a municipality's document-
	                               signing certificate (a kiosk's
	                               residence certificate), not a person */
};
void rp_result_free(struct rp_result *r);

/* ---- the verifier ------------------------------------------------------- */

/*
 * A verifier holds the trust anchors, the store to ask last (may be NULL)
 * and a cache of status answers.  Thread-safe once made: any number of
 * threads may verify with one.
 */
struct rp_verifier;
#define RP_OFFLINE 0x1          /* ask neither OCSP nor a CRL by network */
int rp_verifier_new(struct store *store, unsigned flags,
    struct rp_verifier **out);
void rp_verifier_free(struct rp_verifier **v);
/* Trust x as an anchor (a reference is taken): a CA certificate, or a
 * municipality's self-signed document-signing certificate (policy
 * PKI_OID_POLICY_MUNICIPALITY_DOC), which then verifies the documents it
 * signs itself. */
int rp_verifier_add_anchor(struct rp_verifier *v, X509 *x);
/* Every CA certificate (self-signed) of the data directory's ca/ folder:
 * both CAs and their earlier generations. */
struct datadir;
int rp_verifier_add_datadir_anchors(struct rp_verifier *v,
    struct datadir *dd);
/* Every certificate of a PEM file as an anchor. */
int rp_verifier_add_anchors_pem(struct rp_verifier *v, const char *path);
/* Check a certificate for a use (CERT_SIGN: signing documents, CERT_AUTH:
 * logging in) at time `at`: chain (with `extra` untrusted intermediates,
 * may be NULL), validity, key usage and policy, and status; the verdict in
 * *res (res->signer is a reference to cert). */
int rp_verify_cert(struct rp_verifier *v, X509 *cert, STACK_OF(X509) *extra,
    enum cert_type use, int64_t at, struct rp_result *res);

/* Verify a CMS SignedData (DER, or PEM "-----BEGIN CMS" / PKCS7) whose
 * content is inside it (content NULL) or detached (content, n).  JPKI_OK
 * whenever a verdict was reached, valid or not (res->reason);
 * JPKI_ERR_INPUT for what is not one CMS SignedData with one signer. */
int rp_cms_verify(struct rp_verifier *v, const uint8_t *cms, size_t cms_len,
    const uint8_t *content, size_t content_len, int64_t at,
    struct rp_result *res);

/* The verdict as JSON: verdict, reason (why), at, subject, serial,
 * signing_time, status {status, source, url, cached, revoked_at, reason,
 * tried}, facts {...}. */
#include <jansson.h>
json_t *rp_result_json(const struct rp_result *res);

/* ---- PDF (PAdES), read with qpdf (pades.c) ------------------------------- */

#define RP_PDF_MAX (64u << 20)          /* a PDF at most */
#define RP_PDF_SIGNATURES_MAX 8         /* signatures read in one PDF */
#define RP_PDF_FIELDS_MAX 4096          /* form fields visited at most */
#define RP_PDF_FIELD_DEPTH_MAX 16       /* /Kids nesting at most */

struct rp_pdf_signature {
	char field[128];            /* the field's /T */
	char subfilter[64];         /* "/adbe.pkcs7.detached", ... */
	size_t range[4];            /* /ByteRange */
	int covers_whole;           /* its ranges reach the end of the file */
	uint8_t *cms;               /* /Contents without its padding */
	size_t cms_len;
	struct rp_result res;
};
struct rp_pdf_result {
	size_t n;
	struct rp_pdf_signature sig[RP_PDF_SIGNATURES_MAX];
};
/* The signatures of a PDF, their verdicts not yet made (JPKI_ERR_INPUT:
 * not a PDF qpdf reads, or no signature, or ranges that do not fit). */
int rp_pdf_signatures(const uint8_t *pdf, size_t n, struct rp_pdf_result *out);
/* Each signature verified over its byte ranges at `at`. */
int rp_pades_verify(struct rp_verifier *v, const uint8_t *pdf, size_t n,
    int64_t at, struct rp_pdf_result *out);
void rp_pdf_result_free(struct rp_pdf_result *p);

/* ---- signing ------------------------------------------------------------ */

/* Whoever holds the key signs the SHA-256 hash with PKCS#1 v1.5 (RSA). */
typedef int rp_sign_hash_fn(void *arg, const uint8_t hash[32], uint8_t *sig,
    size_t *sig_len);
struct rp_sign_params {
	X509 *cert;                 /* the signer's */
	X509 *ca;                   /* its CA, included too (may be NULL) */
	const uint8_t *content;
	size_t content_len;
	int detached;
	int64_t signing_time;
	rp_sign_hash_fn *sign;
	void *arg;
};
/* The DER CMS SignedData (CAdES-BES) appended to out. */
int rp_cms_sign(const struct rp_sign_params *p, struct jbuf *out);

/* A PDF signed inside (PAdES, SubFilter ETSI.CAdES.detached): a new
 * invisible signature field on the first page whose CMS (CAdES-BES, by
 * p->sign, p->content ignored) covers the whole file but its /Contents;
 * the PDF written by qpdf appended to out.  reason may be NULL. */
int rp_pades_sign(const uint8_t *pdf, size_t n, const struct rp_sign_params *p,
    const char *reason, struct jbuf *out);

/* ---- facts -------------------------------------------------------------- */

/* Decode the signing certificate's facts; JPKI_ERR_NOTFOUND if it has
 * none (an authentication certificate). */
int rp_facts_read(X509 *x, struct rp_facts *out);
void rp_facts_free(struct rp_facts *f);

/* ---- login (Web eID style) ---------------------------------------------- */

#define RP_NONCE_BYTES 32       /* 256 bits */
#define RP_NONCE_B64_LEN 44     /* base64 of 32 bytes, padded */
#define RP_NONCE_SECONDS 300    /* 5 minutes */
#define RP_ORIGIN_MAX 255
#define RP_LOGIN_BODY_MAX 16384 /* a JSON body of /rp/login at most */
#define RP_LOGIN_FORMAT "web-eid:1.0"
#define RP_LOGIN_ALGORITHM "RS256"

/* The 32 bytes the card signs (with card_client_sign_sha256):
 * SHA-256(SHA-256(origin) || SHA-256(nonce)), the nonce as its base64
 * text. */
int rp_login_digest(const char *origin, const char *nonce, uint8_t out[32]);
/* The origin of a URL: scheme://host[:port] lower-cased, no path. */
int rp_origin_of(const char *url, char out[RP_ORIGIN_MAX + 1]);

/* A new nonce, stored with its expiry; b64 receives it. */
int rp_challenge_new(struct store *s, int64_t now,
    char b64[RP_NONCE_B64_LEN + 1]);

/* Why a login was refused, each its own (stable names). */
enum rp_login_error {
	RP_LOGIN_OK = 0,
	RP_LOGIN_MALFORMED,         /* not the JSON asked for */
	RP_LOGIN_NONCE_UNKNOWN,
	RP_LOGIN_NONCE_USED,        /* a replay */
	RP_LOGIN_NONCE_EXPIRED,
	RP_LOGIN_ORIGIN_MISMATCH,   /* signed for another site */
	RP_LOGIN_BAD_SIGNATURE,
	RP_LOGIN_CERTIFICATE,       /* the certificate's verdict (see result) */
	RP_LOGIN_ERROR_N
};
const char *rp_login_error_name(enum rp_login_error e);

struct rp_login {
	enum rp_login_error error;
	char why[512];
	struct rp_result cert;      /* the authentication certificate's */
};
/* Check a /rp/login body (JSON) against the expected origin at `now`: the
 * nonce is used up (once) whatever follows.  JPKI_OK with a verdict in
 * *out (error RP_LOGIN_OK: logged in); an error only when no verdict
 * could be reached (the store failed). */
int rp_login_check(struct rp_verifier *v, struct store *s,
    const char *origin, const uint8_t *body, size_t n, int64_t now,
    struct rp_login *out);
void rp_login_free(struct rp_login *l);

/* ---- the kiosk (kiosk.c) -------------------------------------------------- */

/* A kiosk answer at most (the signed PDF, base64, in JSON). */
#define RP_KIOSK_ANSWER_MAX (8u << 20)

enum rp_kiosk_error {
	RP_KIOSK_OK = 0,
	RP_KIOSK_LOGIN,             /* the login proof was refused (login) */
	RP_KIOSK_NOT_REGISTERED,    /* no resident here holds the certificate */
	RP_KIOSK_DECEASED,
	RP_KIOSK_MOVED_AWAY,        /* 転出 */
	RP_KIOSK_OTHER_MUNICIPALITY,
	RP_KIOSK_ERROR_N
};
const char *rp_kiosk_error_name(enum rp_kiosk_error e);

struct ca_municipality;
struct rp_kiosk_request {
	struct rp_verifier *verifier;
	struct store *store;        /* read-write: nonce, receipt, audit */
	const char *origin;         /* the login origin expected */
	const char *municipality;   /* this municipality's code */
	const struct fee_table *fees;
	struct ca_municipality *municipality_key;
	const char *actor;          /* the audit's, e.g. "kiosk" */
};
struct rp_kiosk_result {
	enum rp_kiosk_error error;
	char why[640];
	struct rp_login login;      /* the login's verdict */
	struct jbuf document;       /* the signed PDF (error RP_KIOSK_OK) */
	uint8_t document_sha256[32];
	char number[40];            /* 交付番号 */
	char municipality[96];      /* "東京都千代田区" */
	int64_t issued_at;
	long fee_yen;
	int64_t receipt;            /* its number in the store */
};
/* A residence certificate for the holder of the login proof in body (the
 * /rp/login token): JPKI_OK with out->error RP_KIOSK_OK and the signed PDF,
 * its receipt and audit entry committed; or a refusal in out->error; an
 * error only when none could be reached (store, signer, PDF). */
int rp_kiosk_residence(const struct rp_kiosk_request *k, const uint8_t *body,
    size_t n, int64_t now, struct rp_kiosk_result *out);
void rp_kiosk_result_free(struct rp_kiosk_result *k);

/* Base64 (RFC 4648, padded) of n bytes into out (4 * ceil(n / 3) + 1
 * bytes); decode strict base64 into out (cap bytes), *len its length
 * (verify.c). */
void rp_b64_encode(const uint8_t *p, size_t n, char *out);
int rp_b64_decode(const char *s, size_t slen, uint8_t *out, size_t cap,
    size_t *len);

/* ---- linkage (link.c) ---------------------------------------------------- */

/* The name of the relying party whose key `key` is, from the config's
 * rp_api_keys ("name:key,..."); JPKI_ERR_REFUSED if none. */
int rp_api_key_check(const char *keys, const char *key, char *name,
    size_t n);
/* Linkage of a certificate (JSON: certificate, successors old to new,
 * newest, other), audited as looked up by `who`. */
int rp_link_lookup(struct store *s, const char *serial, const char *who,
    int64_t now, json_t **out);

/* ---- the client's HTTP (http_client.c) ----------------------------------- */

#define RP_HTTP_HEADER_MAX 16384    /* an answer's status line and headers */
#define RP_HTTP_JSON_MAX (1u << 20) /* a JSON answer at most */
struct rp_http_answer {
	unsigned status;
	char content_type[128];
	struct jbuf body;
};
/* POST body to an http:// URL and read the whole answer (at most max
 * bytes of body), whatever its status.  JPKI_ERR_IO if it could not be
 * reached, JPKI_ERR_INPUT if the answer is not HTTP within the bounds. */
int rp_http_post(const char *url, const char *content_type, const void *body,
    size_t n, size_t max, struct rp_http_answer *out);
/* The parser of the answer, for its fuzz target.  out->body is appended
 * to (jbuf_init it first). */
int rp_http_answer_parse(const uint8_t *p, size_t n, size_t max,
    struct rp_http_answer *out);
void rp_http_answer_free(struct rp_http_answer *a);

/* ---- HTTP routes for jpki serve ------------------------------------------ */

struct rp_service_options {
	const char *data_dir;
	const char *origin;         /* expected login origin; NULL: the
	                               config's base URL */
	int rp;                     /* the /rp/ routes */
	int kiosk;                  /* the /kiosk/ routes, with the
	                               municipality's document key */
};
/* The relying party's routes, for server_options.handlers. */
struct rp_service;
int rp_service_new(const struct rp_service_options *o,
    struct rp_service **out);
void rp_service_free(struct rp_service **s);
/* After server_start (which forks the CRL publisher): open what the
 * routes sign with (the kiosk's municipality key), so that a missing key
 * shows at start and the publisher never holds it. */
int rp_service_start(struct rp_service *s);
/* The route table (stable while the service lives). */
struct server_handler;
const struct server_handler *rp_service_handlers(struct rp_service *s,
    size_t *n);

#endif
