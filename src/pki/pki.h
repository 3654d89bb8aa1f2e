/*
 * pki: the certificate profiles of openjpki, as pure functions over
 * OpenSSL 3 (libcrypto).
 *
 * It builds the two CA certificates (signing CA, authentication CA) in the
 * profile of the real J-LIS CA certificates, their delegated OCSP responder
 * certificates, and the end-entity certificates: the signing certificate
 * (署名用電子証明書) with the holder's four facts as subjectAltName
 * otherNames, and the authentication certificate (利用者証明用電子証明書)
 * with none.  docs/profile.md records every field, where it follows the
 * real profile and where it knowingly differs.
 *
 * No I/O.  Inputs are checked before anything is allocated; a refusal
 * names the field and the rule.  What this module does NOT decide: who may
 * get a certificate and for how long (rules), serial uniqueness and key
 * custody (ca).
 */
#ifndef JPKI_PKI_H
#define JPKI_PKI_H

#include "base/base.h"
#include "rules/rules.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

/* ---- limits (named, checked before use) -------------------------------- */

/* R4 (docs/rules.md) and docs/profile.md: the address is at most 200
 * characters. */
#define PKI_ADDRESS_MAX_CHARS RULES_ADDRESS_MAX_CHARS
/* Our limit for the name (J-LIS does not publish one we could find). */
#define PKI_NAME_MAX_CHARS 100
/* Signatures up to RSA-8192; the longest TBSCertificate we sign (the facts
 * at their limits and every URI at PKI_URI_MAX fit many times over; the
 * lengths stay in 3 octets). */
#define PKI_SIG_MAX 1024
#define PKI_TBS_MAX (1 << 20)
/* RFC 5280 Appendix A upper bounds, in characters. */
#define PKI_UB_ORGANIZATION 64
#define PKI_UB_ORG_UNIT 64
#define PKI_UB_LOCALITY 128
#define PKI_UB_COMMON_NAME 64
/* Longest URI we put in a certificate (CPS, CDP, AIA). */
#define PKI_URI_MAX 1024
/* RFC 5280 section 4.1.2.2: at most 20 octets, positive. */
#define PKI_SERIAL_MAX 20

/* ---- object identifiers ------------------------------------------------ */

/* Certificate policies (docs/profile.md; the test auth OID is our
 * choice). */
#define PKI_OID_POLICY_SIGN "1.2.392.200149.8.5.1.1.20"
#define PKI_OID_POLICY_SIGN_TEST "1.2.392.200149.8.5.1.0.20"
#define PKI_OID_POLICY_AUTH "1.2.392.200149.8.5.1.3.30"
#define PKI_OID_POLICY_AUTH_TEST "1.2.392.200149.8.5.1.2.30"
/* The municipality's document-signing certificate (pki_doc.c): ours, under
 * the UUID arc (ITU-T X.667), no registry needed. */
#define PKI_OID_POLICY_MUNICIPALITY_DOC \
	"2.25.83169284236936842553788051268231387265"
/* The holder's facts, subjectAltName otherNames [0] EXPLICIT UTF8String. */
#define PKI_OID_FACT_NAME "1.2.392.200149.8.5.5.1"
#define PKI_OID_FACT_NAME_FLAGS "1.2.392.200149.8.5.5.2"
#define PKI_OID_FACT_GENDER "1.2.392.200149.8.5.5.3"
#define PKI_OID_FACT_BIRTH "1.2.392.200149.8.5.5.4"
#define PKI_OID_FACT_ADDRESS "1.2.392.200149.8.5.5.5"
#define PKI_OID_FACT_ADDRESS_FLAGS "1.2.392.200149.8.5.5.6"

/* ---- names ---------------------------------------------------------------
 *
 * Our deployment's own names, from the config.  The real values are in
 * comments; tests build with them to compare against the real CA
 * certificates byte for byte.
 */
struct pki_names {
	const char *org;        /* O=, e.g. "OpenJPKI" (real: "JPKI") */
	const char *ou_sign;    /* "OpenJPKI for digital signature" */
	const char *ou_auth;    /* "OpenJPKI for user authentication" */
	const char *ou_agency;  /* "OpenJPKI Certification Centre" (real:
	                           "Japan Agency for Local Authority
	                           Information Systems") */
	const char *service_ja; /* SAN/IssuerAltName DirName O=, real
	                           "公的個人認証サービス" */
	/* Optional (NULL: the RDN is left out).  The real service DirName goes
	 * on after O= with two OUs: the service per CA ("公的個人認証サービス
	 * 署名用" / "公的個人認証サービス利用者証明用") and the agency
	 * ("地方公共団体情報システム機構"). */
	const char *service_ou_sign_ja;
	const char *service_ou_auth_ja;
	const char *agency_ja;
};

/* The CA's distinguished name, C=JP (PrintableString), O, OU (sign or auth),
 * OU agency (UTF8String): subject and issuer of the CA certificate, issuer
 * of everything it signs.  Caller frees with X509_NAME_free. */
int pki_ca_name(enum cert_type ca, const struct pki_names *n, X509_NAME **out);

/* The directory name of a CRL shard, put in the CRL distribution point of
 * the certificates in that shard (and by the CRL writer in the shard's
 * Issuing Distribution Point): C=JP, O, OU (sign or auth),
 * OU="CRL Distribution Points", CN=<shard>, after the real JPKI's
 * "... OU=CRL Distribution Points, OU=<prefecture>, CN=<city> CRLDP". */
int pki_crl_dirname(enum cert_type ca, const struct pki_names *n,
    const char *shard, X509_NAME **out);

/* ---- CA and OCSP responder certificates ---------------------------------- */

/* Self-signed CA certificate in the real CA profile: subject = issuer =
 * pki_ca_name(); KeyUsage critical keyCertSign+cRLSign; SAN DirName
 * C=JP,O=service_ja[,OU=service_ou_x_ja][,OU=agency_ja]; BasicConstraints
 * critical CA:TRUE; CDP DirName = own DN; SKI (SHA-1 of the key); in that
 * order; sha256WithRSAEncryption.  serial: big-endian magnitude, not zero.
 * Times are seconds since the epoch (UTCTime before 2050).  key: the CA's
 * public key.  The result is unsigned: the CA's key signs it (pki_cert_tbs
 * and pki_cert_assemble through the key seam, or pki_cert_sign). */
int pki_ca_cert_build(enum cert_type ca, const struct pki_names *n,
    EVP_PKEY *key, const uint8_t *serial, size_t serial_len,
    int64_t not_before, int64_t not_after, X509 **out);

/* The municipality's self-signed document-signing certificate (the
 * kiosk's residence certificates; pki_doc.c has the profile): subject and
 * issuer C=JP, O=org, CN=cn; unsigned, the municipality's key signs it
 * (pki_cert_tbs, the key seam, pki_cert_assemble). */
int pki_municipality_cert_build(const char *org, const char *cn,
    EVP_PKEY *key, const uint8_t *serial, size_t serial_len,
    int64_t not_before, int64_t not_after, X509 **out);

/* A link certificate between two generations of one CA (RFC 4210 4.4:
 * OldWithNew, NewWithOld): the CA certificate of `subject_key`, as
 * pki_ca_cert_build() makes it (same DN as subject and issuer, SKI of
 * subject_key), with an AuthorityKeyIdentifier naming the key of
 * `issuer_cert`, the other generation's CA certificate, which signs it.
 * The AKI is what lets a path builder tell it from the self-signed
 * certificate of the same name. */
int pki_ca_link_cert_build(enum cert_type ca, const struct pki_names *n,
    EVP_PKEY *subject_key, X509 *issuer_cert, const uint8_t *serial,
    size_t serial_len, int64_t not_before, int64_t not_after, X509 **out);

/* Seconds since the epoch of a certificate time (notBefore, notAfter). */
int pki_asn1_time_get(const ASN1_TIME *t, int64_t *out);

/* Delegated OCSP responder certificate for a CA (RFC 6960 section 4.2.2.2):
 * subject C=JP, O=org, OU=ou_x, CN=OCSP Responder; KeyUsage critical
 * digitalSignature; EKU id-kp-OCSPSigning; id-pkix-ocsp-nocheck; AKI; SKI.
 * Unsigned, like pki_ca_cert_build(): ca_cert's key signs it. */
int pki_ocsp_cert_build(enum cert_type ca, const struct pki_names *n,
    X509 *ca_cert, EVP_PKEY *responder_pub,
    const uint8_t *serial, size_t serial_len, int64_t not_before,
    int64_t not_after, X509 **out);

/* ---- end-entity certificates ------------------------------------------- */

/* The four facts of seed R4, signing certificates only. */
struct pki_holder_facts {
	const char *name;          /* UTF-8, surname U+3000 given (caller joins) */
	const char *name_flags;    /* "0"/"1" per character of name */
	int gender;                /* 1 male, 2 female, 3 unknown */
	const char *birth;         /* "E"+"YYYYMMDD", E the era digit 0-5 */
	const char *address;       /* <= PKI_ADDRESS_MAX_CHARS characters */
	const char *address_flags; /* "0"/"1" per character of address */
};

struct pki_ee_params {
	enum cert_type type;
	const uint8_t *serial;       /* 16 random bytes, top bit clear */
	size_t serial_len;
	int64_t not_before, not_after;
	EVP_PKEY *subject_pub;       /* the card's public key (RSA >= 2048) */
	X509 *ca_cert;               /* issuer name + AKI from its SKI; must be
	                                the CA of this type (name checked) */
	const struct pki_names *names;
	const char *pref_romaji;     /* signing subject: C=JP, L=pref, */
	const char *city_romaji;     /* L=city, CN=cn (ignored for auth) */
	const char *cn;              /* signing: issue id; auth: opaque id */
	const struct pki_holder_facts *facts; /* required for CERT_SIGN, must
	                                         be NULL for CERT_AUTH */
	int test_policy;             /* 1: test policy OID, 0: production */
	const char *cps_uri;         /* CPS qualifier of the policy (required) */
	const char *crl_uri;         /* http:// URI of the CRL shard (required) */
	const char *crl_dirname_shard; /* optional: also a DirName CDP like real
	                                  JPKI, CN of pki_crl_dirname() */
	const char *ocsp_uri;        /* AIA, optional (http://) */
	const char *ca_issuers_uri;  /* AIA, optional (http://) */
};

/* Build the unsigned end-entity certificate (everything but the signature).
 * Extensions, in order: KeyUsage (critical), [SAN otherNames 1,4,3,5,2,6 —
 * signing only], certificatePolicies (critical), IssuerAltName, CDP, AKI,
 * SKI, [AIA].  Bad input: JPKI_ERR_INPUT naming the field. */
int pki_ee_cert_build(const struct pki_ee_params *p, X509 **out);

/* Sign a built certificate with sha256WithRSAEncryption.  Thread-safe for
 * concurrent use with distinct X509s and a shared EVP_PKEY. */
int pki_cert_sign(X509 *x, EVP_PKEY *ca_key);

/* The issuance fast path: a signer bound to a CA key, used by one thread
 * at a time.  pki_signer_sign_der() signs a built certificate with
 * sha256WithRSAEncryption and returns its DER (OPENSSL_free()); the X509
 * itself is left unsigned.  Same bytes as pki_cert_sign + pki_cert_der. */
struct pki_signer;
int pki_signer_new(EVP_PKEY *ca_key, struct pki_signer **out);
void pki_signer_free(struct pki_signer **s);
int pki_signer_sign_der(struct pki_signer *s, X509 *x, uint8_t **der,
    size_t *len);

/* The issuance fast path, part one: the TBSCertificate written from a
 * template.  Every certificate of one CA shares its issuer and its
 * KeyUsage, certificatePolicies, IssuerAltName, AKI and AIA extensions; a
 * template keeps their DER, taken from a certificate pki_ee_cert_build()
 * makes of p (which checks everything p holds).  pki_ee_tbs_encode() then
 * appends to out the DER TBSCertificate for p, whose per-CA fields (type,
 * ca_cert, names, test_policy, cps_uri, ocsp_uri, ca_issuers_uri) must be
 * the template's: the bytes pki_ee_cert_build() + signing would give,
 * about ten times faster.  A template is read-only once made: any number of
 * threads may encode with it. */
struct pki_ee_template;
int pki_ee_template_new(const struct pki_ee_params *p,
    struct pki_ee_template **out);
void pki_ee_template_free(struct pki_ee_template **t);
int pki_ee_tbs_encode(const struct pki_ee_template *t,
    const struct pki_ee_params *p, struct jbuf *out);
/* Part two: sign a DER TBSCertificate (which must name
 * sha256WithRSAEncryption, as pki_ee_tbs_encode writes) and return the
 * Certificate's DER (OPENSSL_free()). */
int pki_signer_sign_tbs(struct pki_signer *s, const uint8_t *tbs,
    size_t tbs_len, uint8_t **der, size_t *len);
/* The bare sha256WithRSAEncryption signature of data into sig (*sig_len:
 * its size in, the signature's length out); of a SHA-256 digest already
 * made; and the same as a pki_sign_fn over a struct pki_signer *. */
int pki_signer_sign_raw(struct pki_signer *s, const uint8_t *data,
    size_t len, uint8_t *sig, size_t *sig_len);
int pki_signer_sign_digest(struct pki_signer *s, const uint8_t hash[32],
    uint8_t *sig, size_t *sig_len);
int pki_signer_sign_fn(void *signer, const uint8_t *data, size_t len,
    uint8_t *sig, size_t *sig_len);
/* Bytes of its signatures (the RSA modulus size). */
size_t pki_signer_sig_len(const struct pki_signer *s);

/* Signing without holding the key: whoever holds it (the CA's signer seam,
 * or a struct pki_signer) makes a sha256WithRSAEncryption signature over
 * data into sig (*sig_len: room in, length out). */
typedef int pki_sign_fn(void *arg, const uint8_t *data, size_t len,
    uint8_t *sig, size_t *sig_len);
struct pki_sign_with {
	pki_sign_fn *fn;
	void *arg;
};

/* The DER TBSCertificate of a built certificate, its signature algorithm
 * set to sha256WithRSAEncryption (OPENSSL_free()). */
int pki_cert_tbs(X509 *x, uint8_t **tbs, size_t *len);
/* Certificate ::= SEQUENCE { tbs, sha256WithRSAEncryption, signature }
 * (OPENSSL_free()). */
int pki_cert_assemble(const uint8_t *tbs, size_t tbs_len, const uint8_t *sig,
    size_t sig_len, uint8_t **der, size_t *len);

/* ---- CRLs, written as a stream (pki_crl.c) --------------------------------
 *
 * The caller encodes each revokedCertificates entry with pki_crl_entry()
 * (appended to out) and writes them out as it goes, keeping their total
 * length; pki_crl_frame() gives the DER before the entries (head) and after
 * them (tail).  The CRL is head + entries + tail + pki_crl_signature(sig),
 * where sig signs head[tbs_offset..] + entries + tail with
 * sha256WithRSAEncryption. */
struct pki_crl_params {
	X509 *ca_cert;          /* issuer; AKI = its SKI */
	int64_t this_update, next_update;
	int64_t number;         /* CRLNumber, > 0 */
	const char *idp_uri;    /* a shard's CRL: critical IssuingDistribution-
	                           Point with this URI (the shard's CDP) and
	                           onlyContainsUserCerts; NULL: the full CRL */
	size_t sig_len;         /* signature bytes (RSA: the modulus size) */
};
struct pki_crl_frame {
	struct jbuf head;
	size_t tbs_offset;
	struct jbuf tail;
};
/* One entry: serial as whole octets of hex (as stored), revocation time,
 * RFC 5280 reason (0: no reasonCode). */
int pki_crl_entry(const char *serial_hex, int64_t revoked_at, int reason,
    struct jbuf *out);
int pki_crl_frame(const struct pki_crl_params *p, size_t entries_len,
    struct pki_crl_frame *out);
void pki_crl_frame_free(struct pki_crl_frame *f);
/* signatureAlgorithm and the signature BIT STRING, appended to out. */
int pki_crl_signature(const uint8_t *sig, size_t sig_len, struct jbuf *out);

/* ---- OCSP (pki_ocsp.c, RFC 6960) ------------------------------------------ */

#define PKI_OCSP_REQUEST_MAX 8192  /* bytes of an OCSPRequest we read */
#define PKI_OCSP_CERTS_MAX 8       /* CertIDs in one request (RFC 5019: 1) */
#define PKI_OCSP_NONCE_MAX 34      /* nonce extnValue: OCTET STRING of <= 32
                                      octets (RFC 8954) */
#define PKI_OCSP_CERTID_MAX 192    /* DER of one CertID (SHA-256, 20-octet
                                      serial: 131) */

enum pki_ocsp_hash { PKI_OCSP_SHA1 = 1, PKI_OCSP_SHA256 = 2 };

struct pki_ocsp_certid {
	enum pki_ocsp_hash hash;
	uint8_t name_hash[32], key_hash[32];   /* 20 or 32 octets used */
	uint8_t serial[PKI_SERIAL_MAX];        /* magnitude, big-endian */
	size_t serial_len;
	uint8_t der[PKI_OCSP_CERTID_MAX];      /* as received: echoed */
	size_t der_len;
};

struct pki_ocsp_request {
	size_t n;
	struct pki_ocsp_certid id[PKI_OCSP_CERTS_MAX];
	int has_nonce;
	uint8_t nonce[PKI_OCSP_NONCE_MAX];     /* the extension's extnValue */
	size_t nonce_len;
};

/* Read an OCSPRequest (strict DER, within the limits above).  Malformed:
 * JPKI_ERR_INPUT; a CertID hash other than SHA-1/SHA-256 or an unknown
 * critical extension: JPKI_ERR_REFUSED.  On failure *req is all zero. */
int pki_ocsp_request_parse(const uint8_t *der, size_t len,
    struct pki_ocsp_request *req);

/* The issuerNameHash and issuerKeyHash a CertID names ca by. */
int pki_ocsp_issuer_hashes(X509 *ca, enum pki_ocsp_hash h, uint8_t name[32],
    uint8_t key[32]);

/* The CertID a client following RFC 5019 sends for a certificate: SHA-1
 * (AlgorithmIdentifier with NULL parameters), the issuer's name and key
 * hashes (20 octets each), the serial's magnitude (1-PKI_SERIAL_MAX
 * octets, leading zeros dropped), in DER.  Pre-signed responses carry it,
 * and a request's CertID is answered by one only if it is this exactly. */
int pki_ocsp_certid_sha1(const uint8_t name_hash[20], const uint8_t key_hash[20],
    const uint8_t *serial, size_t serial_len, struct pki_ocsp_certid *out);

/* OCSPResponseStatus (RFC 6960 4.2.1). */
enum pki_ocsp_status {
	PKI_OCSP_SUCCESSFUL = 0, PKI_OCSP_MALFORMED = 1,
	PKI_OCSP_INTERNAL_ERROR = 2, PKI_OCSP_TRY_LATER = 3,
	PKI_OCSP_SIG_REQUIRED = 5, PKI_OCSP_UNAUTHORIZED = 6,
};
/* A response with only an error status. */
int pki_ocsp_error_response(enum pki_ocsp_status status, struct jbuf *out);

/* A delegated responder: its certificate (included in responses), the
 * SHA-1 of its key (ResponderID byKey) and a signer for its key.  One
 * thread at a time. */
struct pki_ocsp_responder {
	uint8_t *cert_der;
	size_t cert_der_len;
	uint8_t key_hash[20];
};
int pki_ocsp_responder_init(struct pki_ocsp_responder *rs, X509 *cert);
void pki_ocsp_responder_free(struct pki_ocsp_responder *rs);

enum pki_ocsp_cert_status { PKI_OCSP_GOOD, PKI_OCSP_REVOKED,
	PKI_OCSP_UNKNOWN };
struct pki_ocsp_single {
	const struct pki_ocsp_certid *id;
	enum pki_ocsp_cert_status status;
	int64_t revoked_at;
	int reason;                 /* CRLReason; 0: left out */
	int64_t this_update, next_update;
};
/* A successful response answering s[0..n), echoing req's nonce (req may
 * be NULL), its ResponseData signed by `sign` with the responder's key,
 * appended to out. */
int pki_ocsp_response(const struct pki_ocsp_responder *rs,
    const struct pki_ocsp_single *s, size_t n,
    const struct pki_ocsp_request *req, int64_t produced_at,
    const struct pki_sign_with *sign, struct jbuf *out);

/* ---- DER helpers --------------------------------------------------------- */

/* DER of x; the caller OPENSSL_free()s *der. */
int pki_cert_der(X509 *x, uint8_t **der, size_t *len);
/* The serial as `openssl x509 -serial` prints it: uppercase hex of the
 * magnitude without leading zero octets ("00" for zero), no separators. */
int pki_serial_hex(const uint8_t *serial, size_t len, char *out,
    size_t outlen);

/* ---- reading back -------------------------------------------------------- */

/* The six otherNames of a signing certificate (for `jpki cert show`), or
 * JPKI_ERR_NOTFOUND when there are none (an authentication certificate).
 * Strings are malloc'd into the struct; free with pki_cert_facts_free. */
struct pki_cert_facts {
	char *name, *name_flags, *birth, *address, *address_flags;
	int gender;
};
int pki_cert_facts_read(X509 *x, struct pki_cert_facts *out);
void pki_cert_facts_free(struct pki_cert_facts *f);

/* Check facts against R4's formats without building anything (the counter
 * may refuse early).  JPKI_ERR_INPUT naming the field on failure. */
int pki_holder_facts_check(const struct pki_holder_facts *f);

#endif
