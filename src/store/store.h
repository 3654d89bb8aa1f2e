/*
 * store: everything openjpki keeps, behind one interface.
 *
 * Callers see records (residents, cards, certificates, revocations, CRL
 * numbers, audit entries) and never SQL.  SQLite (WAL, versioned
 * migrations) sits behind the interface now; the dispatch through
 * struct store_ops (store_impl.h) is where a PostgreSQL implementation
 * plugs in without callers changing.
 *
 * Transactions: every multi-row change runs between store_begin() and
 * store_commit(); on any failure the caller calls store_rollback() and
 * nothing is changed.  Audit entries are appended inside the caller's
 * transaction, so a change and its audit entry land together or not at all.
 *
 * Also here: the data directory's config file (config.c) and the
 * municipality table shipped with the binary (municipality.c).
 */
#ifndef JPKI_STORE_H
#define JPKI_STORE_H

#include "base/base.h"
#include "rules/rules.h"

#include <stddef.h>
#include <stdint.h>

struct store;

/* ---- opening ------------------------------------------------------------ */
/* url: "sqlite:PATH", a plain path (SQLite), or "postgresql://..." (not in
 * this build: refused with a clear message). Creates and migrates. */
int store_open(const char *url, struct store **out);
void store_close(struct store **s);
/* Durability: 1 = fsync on every commit (default), 0 = the OS decides. */
int store_set_durable(struct store *s, int durable);
int store_schema_version(struct store *s, int *out);

int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);

/* ---- municipalities ---------------------------------------------------- */
#define MUNI_CODE_LEN 6
struct municipality {
	char code[MUNI_CODE_LEN + 1];
	char name_ja[64], name_kana[96], name_romaji[64];
	char pref_ja[32], pref_romaji[32];
};
/* The table shipped in the binary (JSON); n entries into *out (malloc'd). */
int municipality_table_load(struct municipality **out, size_t *n);
int store_municipality_put(struct store *s, const struct municipality *m);
int store_municipality_get(struct store *s, const char *code,
    struct municipality *out);
int store_municipality_count(struct store *s, long *out);

/* ---- residents ---------------------------------------------------------- */
#define RESIDENT_NUMBER_LEN 12
#define RESIDENT_NAME_MAX 128     /* bytes of UTF-8, each part */
#define RESIDENT_ADDRESS_MAX 800  /* bytes; the rule is 200 characters */

enum resident_status { RESIDENT_ACTIVE = 1, RESIDENT_DECEASED = 2 };

struct resident {
	int64_t id;
	char number[RESIDENT_NUMBER_LEN + 1];
	char surname[RESIDENT_NAME_MAX + 1];
	char given[RESIDENT_NAME_MAX + 1];
	char name_kana[2 * RESIDENT_NAME_MAX + 2];
	char name_flags[2 * RESIDENT_NAME_MAX + 2];    /* "0"/"1" per character */
	char address[RESIDENT_ADDRESS_MAX + 1];
	char address_flags[RESIDENT_ADDRESS_MAX + 1];
	struct jdate birth;
	enum gender gender;
	char municipality[MUNI_CODE_LEN + 1];
	enum resident_status status;
	int64_t facts_version; /* bumped by every change of the four facts */
	int64_t created_at, updated_at;
};

int store_resident_insert(struct store *s, struct resident *r); /* sets id */
int store_resident_update(struct store *s, const struct resident *r);
int store_resident_get(struct store *s, int64_t id, struct resident *out);
int store_resident_by_number(struct store *s, const char *number,
    struct resident *out);
/* Calls fn for each resident by id from after_id, at most limit (0 = all). */
int store_resident_list(struct store *s, int64_t after_id, long limit,
    int (*fn)(void *arg, const struct resident *r), void *arg);
int store_resident_count(struct store *s, long *out);

/* ---- cards -------------------------------------------------------------- */
enum card_record_status { CARD_ACTIVE = 1, CARD_LOST = 2, CARD_RETURNED = 3 };

struct card_record {
	int64_t id;
	char serial[33];          /* hex */
	int64_t resident_id;
	enum card_kind kind;
	enum card_record_status status;
	struct jdate issued_on, expiry;
	int64_t facts_version;    /* the register version the card reflects */
	char image_path[512];
};
int store_card_insert(struct store *s, struct card_record *c);
int store_card_update(struct store *s, const struct card_record *c);
int store_card_get(struct store *s, int64_t id, struct card_record *out);
int store_card_by_serial(struct store *s, const char *serial,
    struct card_record *out);
/* The resident's newest active card, JPKI_ERR_NOTFOUND if none. */
int store_card_current(struct store *s, int64_t resident_id,
    struct card_record *out);

/* ---- certificates and revocations --------------------------------------- */
#define SERIAL_HEX_MAX 41

enum cert_status { CERT_STATUS_VALID = 1, CERT_STATUS_REVOKED = 2 };

/* RFC 5280 CRLReason values (those J-LIS uses, and the rest for parsing). */
enum revocation_reason {
	REASON_UNSPECIFIED = 0,
	REASON_KEY_COMPROMISE = 1,
	REASON_CA_COMPROMISE = 2,
	REASON_AFFILIATION_CHANGED = 3,
	REASON_SUPERSEDED = 4,
	REASON_CESSATION_OF_OPERATION = 5,
	REASON_CERTIFICATE_HOLD = 6,
	REASON_REMOVE_FROM_CRL = 8,
	REASON_PRIVILEGE_WITHDRAWN = 9,
	REASON_AA_COMPROMISE = 10,
};
const char *revocation_reason_name(int reason); /* RFC 5280 ASN.1 names */
int revocation_reason_parse(const char *s, int *out);

struct cert_record {
	enum cert_type ca;        /* which CA issued it = the certificate type */
	char serial[SERIAL_HEX_MAX];
	int64_t resident_id;
	int64_t card_id;          /* 0 when issued by the operator interface */
	enum cert_status status;
	int reason;               /* when revoked */
	int64_t not_before, not_after, issued_at, revoked_at;
	int crl_shard;
	char replaces[SERIAL_HEX_MAX]; /* old serial this one renews, or "" */
	uint8_t *der;             /* owned; store_cert_free() releases */
	size_t der_len;
};
void store_cert_free(struct cert_record *c);
int store_cert_insert(struct store *s, const struct cert_record *c);
int store_cert_get(struct store *s, const char *serial,
    struct cert_record *out);
/* Mark revoked and record the revocation; JPKI_ERR_CONFLICT if already. */
int store_cert_revoke(struct store *s, const char *serial, int reason,
    int64_t at);
/* Certificates in issue order; resident_id 0 = all.  der is not loaded. */
int store_cert_list(struct store *s, int64_t resident_id,
    int (*fn)(void *arg, const struct cert_record *c), void *arg);
int store_cert_count(struct store *s, long *out);
/* Revoked entries of one CA (and shard, or -1 for all), in serial order:
 * for streaming CRLs. */
int store_revocation_list(struct store *s, enum cert_type ca, int shard,
    int (*fn)(void *arg, const char *serial, int64_t at, int reason),
    void *arg);
/* Next CRL number for (ca, shard), incremented durably. */
int store_crl_number_next(struct store *s, enum cert_type ca, int shard,
    int64_t *out);

/* ---- audit -------------------------------------------------------------- *
 * Append-only and hash-chained: hash = SHA-256 over the previous hash and
 * the entry's fields (docs/audit.md gives the exact encoding). */
struct audit_entry {
	int64_t seq;
	int64_t at;
	char actor[64];
	char action[64];
	char subject[128];
	char *detail;             /* JSON text, owned */
	uint8_t prev_hash[32], hash[32];
};
int store_audit_append(struct store *s, const char *actor, const char *action,
    const char *subject, const char *detail_json);
int store_audit_list(struct store *s, int64_t after_seq, long limit,
    int (*fn)(void *arg, const struct audit_entry *e), void *arg);
int store_audit_count(struct store *s, long *out);
/* Walks the chain: JPKI_OK, or JPKI_ERR_VERIFY naming the first broken
 * entry; *checked gets the number of entries checked. */
int store_audit_verify(struct store *s, long *checked);
/* The entry hash function, exposed for tests. */
void audit_entry_hash(const struct audit_entry *e, uint8_t out[32]);

/* ---- config ------------------------------------------------------------- *
 * The data directory's `config` file: "key = value" lines, "# comments",
 * and "[fees]" for the fee table.  Unknown keys are refused. */
struct jpki_config {
	char municipality[MUNI_CODE_LEN + 1]; /* this deployment's own */
	char database[512];       /* "sqlite:jpki.db" (relative to the dir) */
	char base_url[256];       /* for CDP/AIA URIs, e.g. http://127.0.0.1:8080 */
	int test_policy;          /* 1: test policy OIDs */
	int key_bits;             /* CA key size */
	int crl_shards;           /* number of CRL shards per CA */
	char org[64], ou_sign[96], ou_auth[96], ou_agency[128], service_ja[128];
	char cps_uri[256];
	struct fee_table fees;
};
void config_defaults(struct jpki_config *c);
int config_load(const char *path, struct jpki_config *c);
int config_write(const char *path, const struct jpki_config *c);

/* Open the store named by a data directory's config. */
int store_open_datadir(const char *dir, const struct jpki_config *c,
    struct store **out);

#endif
