/*
 * store: everything openjpki keeps, behind one interface.
 *
 * Callers see records (residents, cards, certificates, revocations, CRL
 * numbers, audit entries) and never SQL.  SQLite (WAL, versioned
 * migrations) sits behind the interface now; the dispatch through
 * struct store_ops (store_impl.h, one line per query in store_ops.def),
 * chosen at open time by the database URL's scheme, is where a PostgreSQL
 * implementation plugs in without callers changing.
 *
 * Transactions: every multi-row change runs between store_begin() and
 * store_commit(); on any failure the caller calls store_rollback() and
 * nothing is changed.  Audit entries are appended inside the caller's
 * transaction, so a change and its audit entry land together or not at all.
 * One writer at a time: store_begin() takes the write lock at once, and
 * while another connection (another clerk's process) holds it, waits up to
 * the busy timeout (STORE_BUSY_TIMEOUT_MS, or the config's
 * database_busy_timeout_ms) before failing with JPKI_ERR_IO.
 *
 * Also here: the data directory's config file (config.c) and the
 * municipality table shipped with the binary (municipality.c).
 */
#ifndef JPKI_STORE_H
#define JPKI_STORE_H

#include "base/base.h"
#include "rules/rules.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct store;

/* ---- opening ------------------------------------------------------------ */
struct jpki_config;

/* How long a connection waits for another writer by default (ms). */
#define STORE_BUSY_TIMEOUT_MS 30000

/* url: "sqlite:PATH", a plain path (SQLite), or "postgresql://..." /
 * "postgres://..." (a libpq connection URI).  Creates (SQLite) and
 * migrates; waits STORE_BUSY_TIMEOUT_MS for other writers. */
int store_open(const char *url, struct store **out);
/* The same, reporting the schema version the database had before this
 * open migrated it (0: a new database) in *before. */
int store_open_migrating(const char *url, int *before, struct store **out);
/* The store named by a data directory's config (its database URL, a
 * relative SQLite path taken from dir, and its busy timeout): read-write,
 * creating and migrating like store_open(). */
int store_open_datadir(const char *dir, const struct jpki_config *c,
    struct store **out);
/* The same store read-only, for responders and readers: no migrations (a
 * schema other than this program's is refused), nothing created, and a
 * write, store_audit_append() included, fails with JPKI_ERR_REFUSED
 * ("store: opened read-only: ...") and changes nothing.  It works while
 * other processes write, and each read outside a transaction sees what
 * they have committed; store_begin() ... store_commit() reads one
 * snapshot (it takes no write lock). */
int store_open_readonly(const char *dir, const struct jpki_config *c,
    struct store **out);
/* store_open_datadir(), reporting the schema version the database had
 * before this open migrated it in *before (`jpki store migrate`). */
int store_open_datadir_migrating(const char *dir, const struct jpki_config *c,
    int *before, struct store **out);
void store_close(struct store **s);
/* Durability: 1 = fsync on every commit (default), 0 = the OS decides. */
int store_set_durable(struct store *s, int durable);
int store_schema_version(struct store *s, int *out);
/* The name of the database a store is on: "SQLite" or "PostgreSQL". */
const char *store_database_name(const struct store *s);

/* A lost connection (PostgreSQL restarted, its backend terminated, a
 * failover; docs/store.md, "Losing the connection"): the call that finds
 * it gone fails, and says so once on stderr; the next operation outside
 * a transaction connects again (at most once a second, failing at once
 * in between), and says so; a read that failed before delivering
 * anything, outside a transaction, runs once more on the new connection.
 * Nothing in a transaction is run again; a COMMIT whose answer was lost
 * fails saying its outcome is not known.  The counts, for every store of
 * this process: */
struct store_connection_stats {
	unsigned long lost;         /* connections found lost */
	unsigned long reconnected;  /* made again */
	unsigned long failed;       /* attempts to make one again that failed */
};
void store_connection_stats(struct store_connection_stats *out);

/* Copy every record of one store into another, empty one (both opened
 * read-write, so both at this program's schema), in one transaction of
 * the destination: the same rows, ids and audit chain, between any two
 * databases (SQLite to PostgreSQL and back).  Then verified: the same
 * number of rows in every table, the destination's audit chain intact
 * and ending in the source's last hash.  A destination that holds
 * anything is refused (JPKI_ERR_CONFLICT) and left as it was. */
struct store_copy_table {
	const char *name;
	long rows;
};
#define STORE_COPY_TABLES_MAX 48
struct store_copy_report {
	struct store_copy_table table[STORE_COPY_TABLES_MAX];
	size_t ntables;
	long rows;             /* all tables */
	long audit_entries;    /* verified on the destination */
};
int store_copy(struct store *from, struct store *to,
    struct store_copy_report *report);

int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);
/* A number that changes whenever another connection (another process, or
 * another store_open) commits; this store's own commits leave it alone.
 * Equal values read at the start of two of this store's transactions mean
 * nobody else wrote in between, so what the first read still holds in the
 * second (ca_issue_stream relies on it). */
int store_data_version(struct store *s, uint64_t *out);

/* A watch on other processes' commits (sql_watch.c), for a loop that
 * reads store_data_version() when woken.  On PostgreSQL it is a
 * connection of its own that LISTENs: every write transaction's commit
 * sends a notice (NOTIFY), so the wait returns at once.  Where there is
 * nothing to listen to (SQLite; a PostgreSQL hot standby, since NOTIFY is
 * not replicated; a connection lost and not yet made again) the wait only
 * waits, and the caller polls: store_watch_live() says which, so that the
 * caller can poll often when it is 0.  A lost connection is made again by
 * a later wait (at most every STORE_WATCH_RETRY_MS; on a standby, which
 * may be promoted, every STORE_WATCH_STANDBY_RETRY_MS). */
#define STORE_WATCH_RETRY_MS 1000L
#define STORE_WATCH_STANDBY_RETRY_MS 60000L
struct store_watch;
int store_watch_open(struct store *s, struct store_watch **out);
/* Up to timeout_ms: 1 when a notice came or the connection was made
 * again (a commit may have been missed meanwhile), 0 otherwise.  Never
 * fails: a lost connection is polling until it is back. */
int store_watch_wait(struct store_watch *w, long timeout_ms);
/* Ends a wait now, and every later one (from another thread: a thread
 * that waits is to stop). */
void store_watch_interrupt(struct store_watch *w);
/* 1 while it listens. */
int store_watch_live(const struct store_watch *w);
void store_watch_close(struct store_watch **w);

/* ---- municipalities ---------------------------------------------------- */
#define MUNI_CODE_LEN 6
struct municipality {
	char code[MUNI_CODE_LEN + 1];
	char name_ja[64], name_kana[96], name_romaji[64];
	char pref_ja[32], pref_romaji[32];
};
/* The table shipped in the binary (JSON); n entries into *out (malloc'd). */
int store_municipality_table_load(struct municipality **out, size_t *n);
int store_municipality_put(struct store *s, const struct municipality *m);
int store_municipality_get(struct store *s, const char *code,
    struct municipality *out);
int store_municipality_count(struct store *s, long *out);

/* ---- residents ---------------------------------------------------------- */
#define RESIDENT_NUMBER_LEN 12
#define RESIDENT_NAME_MAX 128     /* bytes of UTF-8, each part */
#define RESIDENT_ADDRESS_MAX 800  /* bytes; the rule is 200 characters */

/* Moved away (転出): the resident left for another municipality; the entry
 * is closed here (除票) as for a death, and this municipality issues no
 * residence certificate for it. */
enum resident_status { RESIDENT_ACTIVE = 1, RESIDENT_DECEASED = 2,
	RESIDENT_MOVED_AWAY = 3 };
/* "active", "deceased", "moved-away" */
const char *store_resident_status_name(enum resident_status s);

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
const char *store_revocation_reason_name(int reason); /* RFC 5280 ASN.1 names */
int store_revocation_reason_parse(const char *s, int *out);

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
	int gen;                  /* the CA generation that issued it (>= 1) */
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
/* The resident's newest certificate of `type` that is valid (not revoked,
 * not expired) at `now`: JPKI_OK with its serial and notAfter, or
 * JPKI_ERR_NOTFOUND (no message recorded). */
int store_cert_valid_of(struct store *s, int64_t resident_id,
    enum cert_type type, int64_t now, char serial[SERIAL_HEX_MAX],
    int64_t *not_after);
/* Revoked entries of one CA generation (0: every generation) and shard
 * (-1: all), in (shard, serial) order, the primary key's, so that no sort
 * is needed: for streaming CRLs.  One statement: one consistent snapshot. */
int store_revocation_list(struct store *s, enum cert_type ca, int gen,
    int shard, int (*fn)(void *arg, const char *serial, int64_t at,
    int reason), void *arg);
/* Next CRL number for (ca, shard), incremented durably.  One sequence
 * for every generation of the CA, so the number a relying party sees
 * under the CA's name only goes up. */
int store_crl_number_next(struct store *s, enum cert_type ca, int shard,
    int64_t *out);
/* A CRL as published (`crl_published`): its number, dates, and how many
 * revocations it lists (the count of its shard's, or its CA's, in the
 * snapshot it was written from: revocations are only ever added, so a
 * count that grew since means it is out of date).  One per CA
 * generation and shard; shard -1: the full CRL.  Put keeps the highest
 * number: a record of an older run never replaces a newer one. */
struct crl_published {
	enum cert_type ca;
	int gen;
	int shard;
	int64_t number, this_update, next_update;
	long entries;
};
int store_crl_published_put(struct store *s, const struct crl_published *c);
/* Every record, in (ca, gen, shard) order. */
int store_crl_published_list(struct store *s,
    int (*fn)(void *arg, const struct crl_published *c), void *arg);
/* The number of revocations of each (ca, generation, shard) that has any,
 * in that order; one statement, one snapshot. */
int store_revocation_counts(struct store *s,
    int (*fn)(void *arg, enum cert_type ca, int gen, int shard, long count),
    void *arg);

/* ---- CA generations (ca rollover) ---------------------------------------- *
 * Each CA has generations 1, 2, ... under the same name, each with its own
 * key; the newest issues.  Generation 1 is there from the start (and in a
 * store made before generations, from its upgrade). */
int store_ca_generation_add(struct store *s, enum cert_type ca, int gen,
    int64_t at);
/* Every generation of both CAs, in (ca, gen) order. */
int store_ca_generation_list(struct store *s,
    int (*fn)(void *arg, enum cert_type ca, int gen, int64_t at), void *arg);
/* Of one generation's certificates: how many are valid (not revoked, not
 * expired) at `now`, and the latest notAfter of any (0 if none). */
int store_ca_generation_stats(struct store *s, enum cert_type ca, int gen,
    int64_t now, long *live, int64_t *last_not_after);

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
/* The one way details are written: a JSON object (jansson), taken over
 * (freed here; NULL, as json_pack gives when out of memory, fails).
 * actor NULL is "operator". */
int store_audit_json(struct store *s, const char *actor, const char *action,
    const char *subject, json_t *detail);
int store_audit_list(struct store *s, int64_t after_seq, long limit,
    int (*fn)(void *arg, const struct audit_entry *e), void *arg);
int store_audit_count(struct store *s, long *out);
/* Walks the chain: JPKI_OK, or JPKI_ERR_VERIFY naming the first broken
 * entry; *checked gets the number of entries checked. */
int store_audit_verify(struct store *s, long *checked);
/* The entry hash function, exposed for tests. */
void store_audit_entry_hash(const struct audit_entry *e, uint8_t out[32]);

/* ---- proxy forms ---- *
 * Inquiry/response forms (照会書兼回答書, R12-R14) and proxy applications.
 * A form's check code is never stored: only a salted SHA-256 of it. */
enum form_purpose { FORM_ISSUE = 1, FORM_RENEW = 2, FORM_PIN_RESET = 3 };
/* Where the form came from: mailed after a proxy application (R14), or
 * printed on the back of an expiry notice (R12). */
enum form_origin { FORM_FROM_APPLICATION = 1, FORM_FROM_NOTICE = 2 };
enum form_status { FORM_UNUSED = 1, FORM_USED = 2 };

#define FORM_SALT_LEN 16
#define FORM_HASH_LEN 32
#define FORM_CERTS_MAX 2          /* serials a notice form covers */

struct inquiry_form {
	int64_t number;
	int64_t resident_id;
	enum form_purpose purpose;
	int cert_types;           /* mask: 1 signing, 2 authentication */
	int pin_kind;             /* FORM_PIN_RESET: enum pin_kind; else 0 */
	enum form_origin origin;
	int64_t application_id;   /* FORM_FROM_APPLICATION: the application */
	struct jdate issued_on, expiry; /* usable through expiry (JST) */
	uint8_t check_salt[FORM_SALT_LEN];
	uint8_t check_hash[FORM_HASH_LEN];
	enum form_status status;
	int64_t used_at;
	int64_t created_at;
};

/* A proxy's visit 1 (R14), or the record of a same-day completion (R13). */
enum proxy_app_status { PROXY_APP_PENDING = 1, PROXY_APP_COMPLETED = 2 };
#define PROXY_NAME_MAX 256
#define PROXY_DOC_TYPE_MAX 32
#define PROXY_DOC_NUMBER_MAX 64

struct proxy_application {
	int64_t id;
	int64_t resident_id;
	enum form_purpose purpose;
	int cert_types;
	int pin_kind;
	char proxy_name[PROXY_NAME_MAX + 1];
	char proxy_doc_type[PROXY_DOC_TYPE_MAX + 1];
	char proxy_doc_number[PROXY_DOC_NUMBER_MAX + 1];
	char clerk[64];
	int64_t applied_at;
	int64_t form_number;      /* the form mailed for it; 0 until made */
	enum proxy_app_status status;
	int64_t completed_at;
};

/* Form numbers are reserved first (in or out of a transaction; a number
 * is never handed out twice, and one reserved but never used is a gap), so
 * a form can be printed before the transaction that records it.
 * store_form_insert() needs f->number set to a reserved number. */
int store_form_number_reserve(struct store *s, int64_t at, int64_t *number);
int store_form_insert(struct store *s, struct inquiry_form *f);
int store_form_get(struct store *s, int64_t number, struct inquiry_form *out);
/* Unused -> used at `at`; JPKI_ERR_CONFLICT if the form is not unused. */
int store_form_mark_used(struct store *s, int64_t number, int64_t at);
/* Remember that the expiry notice for certificate `serial` carries form
 * `number` (JPKI_ERR_CONFLICT if that certificate already has one), and
 * look it up (*number = 0 when none). */
int store_form_notice_link(struct store *s, const char *serial,
    int64_t number);
int store_form_notice_find(struct store *s, const char *serial,
    int64_t *number);
int store_proxy_app_insert(struct store *s, struct proxy_application *a);
int store_proxy_app_update(struct store *s, const struct proxy_application *a);
int store_proxy_app_get(struct store *s, int64_t id,
    struct proxy_application *out);
/* Valid certificates whose notAfter lies in [from, to], by notAfter:
 * what expiry notices are made for.  der is not loaded. */
int store_cert_expiring(struct store *s, int64_t from, int64_t to,
    int (*fn)(void *arg, const struct cert_record *c), void *arg);

/* ---- counter ------------------------------------------------------------ *
 * What the counter procedures keep beside certificates: receipts with their
 * fee lines and identity checks, links from old to new certificates (新旧紐付け),
 * PIN resets, and the hash of each card's image as last written at the
 * counter (to finish or undo an interrupted card write). */
#define RECEIPT_TEXT_MAX 128

struct receipt_record {
	int64_t id;
	int64_t at;
	char clerk[64];
	char procedure[32];           /* rules_procedure_name() */
	int64_t resident_id;
	int64_t card_id;              /* 0: none */
	long total_yen;
	char holder_doc_type[RECEIPT_TEXT_MAX], holder_doc_number[RECEIPT_TEXT_MAX];
	char proxy_name[RECEIPT_TEXT_MAX];   /* "" when the holder came */
	char proxy_doc_type[RECEIPT_TEXT_MAX], proxy_doc_number[RECEIPT_TEXT_MAX];
	char form[64];                /* inquiry/response form number, or "" */
};
int store_receipt_insert(struct store *s, struct receipt_record *r); /* sets id */
int store_receipt_get(struct store *s, int64_t id, struct receipt_record *out);
/* Fee lines by item name (rules_fee_item_name()), numbered from 1. */
int store_receipt_line_add(struct store *s, int64_t receipt_id, int line,
    const char *item, long yen);
int store_receipt_lines(struct store *s, int64_t receipt_id,
    int (*fn)(void *arg, int line, const char *item, long yen), void *arg);

/* kind: "renewal" (superseded), "change" (after a register change),
 * "reissue" (after loss). */
int store_cert_link_add(struct store *s, const char *old_serial,
    const char *new_serial, const char *kind, int64_t at, int64_t receipt_id);
/* Links in which serial is the old or the new certificate, oldest first. */
int store_cert_links(struct store *s, const char *serial,
    int (*fn)(void *arg, const char *old_serial, const char *new_serial,
    const char *kind, int64_t at), void *arg);

int store_pin_reset_add(struct store *s, int64_t receipt_id, int64_t card_id,
    int pin_kind, int was_locked);
int store_pin_reset_count(struct store *s, int64_t card_id, long *out);

/* Every card of a resident, oldest first (lost and returned ones too). */
int store_cards_of(struct store *s, int64_t resident_id,
    int (*fn)(void *arg, const struct card_record *c), void *arg);

/* The SHA-256 of a card's image as the counter last wrote it. */
int store_card_image_set(struct store *s, int64_t card_id,
    const uint8_t sha256[32], int64_t receipt_id, int64_t at);
/* JPKI_ERR_NOTFOUND if the counter never wrote this card. */
int store_card_image_get(struct store *s, int64_t card_id, uint8_t sha256[32]);

/* A card in a reader (docs/counter.md, "A card in a reader"): the writes a
 * procedure makes to the card, recorded in its transaction (writes: a JSON
 * array, in order; never a PIN) and applied over APDUs after the commit. */
int store_card_writes_add(struct store *s, const char *card_serial,
    int64_t receipt_id, const char *writes, int64_t at, int64_t *id);
/* The rows of card_serial not yet applied, oldest first: fn(arg, id,
 * receipt_id, writes); a non-zero return stops. */
int store_card_writes_pending(struct store *s, const char *card_serial,
    int (*fn)(void *arg, int64_t id, int64_t receipt_id, const char *writes),
    void *arg);
/* Mark a row applied at `at`; JPKI_ERR_NOTFOUND if it is not pending. */
int store_card_writes_applied(struct store *s, int64_t id, int64_t at);

/* ---- clerks and the counter's web UI ------------------------------------ *
 * Clerk accounts of `jpki counter serve` (src/webui): a name, a role, an
 * argon2id hash of the password (libsodium's crypto_pwhash_str text, never
 * the password), the failed sign-ins counted towards a lockout.  And the
 * reads the web UI's search and dashboard need. */
#define CLERK_NAME_MAX 63
#define CLERK_HASH_MAX 127
enum clerk_role { CLERK_ROLE_CLERK = 1, CLERK_ROLE_SUPERVISOR = 2,
	CLERK_ROLE_ADMIN = 3 };

struct clerk {
	int64_t id;
	char name[CLERK_NAME_MAX + 1];
	enum clerk_role role;
	char pw_hash[CLERK_HASH_MAX + 1];
	int disabled;
	int failures;             /* failed sign-ins since the last success */
	int64_t locked_until;     /* no sign-in before this instant */
	int64_t last_login;
	int64_t created_at, updated_at;
};
/* Sets c->id; JPKI_ERR_CONFLICT if the name is taken. */
int store_clerk_insert(struct store *s, struct clerk *c);
int store_clerk_update(struct store *s, const struct clerk *c);
/* JPKI_ERR_NOTFOUND (with a message) if there is no such clerk. */
int store_clerk_get(struct store *s, const char *name, struct clerk *out);
int store_clerk_list(struct store *s,
    int (*fn)(void *arg, const struct clerk *c), void *arg);

/* A request that waits for a second person (manual revocation, audit
 * export): approved or rejected by a supervisor who did not make it. */
enum approval_kind { APPROVAL_REVOKE = 1, APPROVAL_AUDIT_EXPORT = 2 };
enum approval_state { APPROVAL_PENDING = 1, APPROVAL_APPROVED = 2,
	APPROVAL_REJECTED = 3 };
#define APPROVAL_NOTE_MAX 255
struct approval {
	int64_t id;
	enum approval_kind kind;
	enum approval_state state;
	char requester[CLERK_NAME_MAX + 1];
	char approver[CLERK_NAME_MAX + 1];
	char serial[SERIAL_HEX_MAX];   /* APPROVAL_REVOKE */
	int reason;                    /* APPROVAL_REVOKE: RFC 5280 */
	char note[APPROVAL_NOTE_MAX + 1];
	int64_t at, decided_at;
	int exported;                  /* APPROVAL_AUDIT_EXPORT: handed out */
};
int store_approval_insert(struct store *s, struct approval *a); /* sets id */
int store_approval_update(struct store *s, const struct approval *a);
int store_approval_get(struct store *s, int64_t id, struct approval *out);
/* Newest first, at most limit. */
int store_approval_list(struct store *s, long limit,
    int (*fn)(void *arg, const struct approval *a), void *arg);

/* Residents whose individual number is `text`, whose card has serial
 * `text` (hex, any case), or whose name (surname, given name, or both with
 * a space) or kana contains it; at most limit, by id. */
int store_resident_search(struct store *s, const char *text, long limit,
    int (*fn)(void *arg, const struct resident *r), void *arg);
/* Receipts, newest first: of one resident (resident_id != 0), or of all
 * made in [from, to); at most limit (0: all). */
int store_receipt_list(struct store *s, int64_t resident_id, int64_t from,
    int64_t to, long limit,
    int (*fn)(void *arg, const struct receipt_record *r), void *arg);
/* Certificates revoked at or after `since`, newest first, at most limit. */
int store_revocation_recent(struct store *s, int64_t since, long limit,
    int (*fn)(void *arg, const struct cert_record *c), void *arg);
/* ---- relying party: login nonces ------------------------------------------ */
/* Keep a new nonce (base64 text) until expires_at; nonces expired a day
 * ago and more are dropped on the way. */
int store_rp_nonce_add(struct store *s, const char *nonce, int64_t created_at,
    int64_t expires_at);
/* Use a nonce up at `at`, once: *state says how it was.  Only one caller
 * of all connections gets STORE_NONCE_FRESH for a nonce. */
enum store_nonce_state {
	STORE_NONCE_FRESH = 0,      /* it was unused and unexpired: now used */
	STORE_NONCE_UNKNOWN,        /* never given out (or long dropped) */
	STORE_NONCE_USED,           /* used before: a replay */
	STORE_NONCE_EXPIRED,
};
int store_rp_nonce_use(struct store *s, const char *nonce, int64_t at,
    int *state);
/* ---- pre-signed OCSP responses ----------------------------------------- *
 * One DER OCSPResponse per certificate and issuer, signed before anyone
 * asks (ca: ca_ocsp_presign), and the queue of certificates whose status
 * changed (every issuance and revocation, by any process, adds a row in
 * its own transaction), which the pre-signer follows. */
#define STORE_OCSP_ISSUER_LEN 40    /* SHA-1 issuer name hash || key hash */
#define STORE_OCSP_DER_MAX 8192     /* a stored response at most */
struct ocsp_stored {
	uint8_t issuer[STORE_OCSP_ISSUER_LEN];
	char serial[SERIAL_HEX_MAX];
	enum cert_status status;        /* what it says: valid = good */
	int64_t this_update, next_update;
	const uint8_t *der;             /* ocsp_put: the response */
	size_t der_len;
};
/* Store (or replace) a response, in the caller's transaction, only if the
 * certificate's status in the store is still r->status: JPKI_ERR_CONFLICT
 * (no message) if it changed since, so a response signed from an older
 * read never replaces a newer one. */
int store_ocsp_put(struct store *s, const struct ocsp_stored *r);
int store_ocsp_delete(struct store *s, const char *serial);
/* The response for (issuer, serial): its fields into *out and its DER
 * into der (cap bytes; out->der points there); JPKI_ERR_NOTFOUND (no
 * message) if none.  The responders' hot path: no allocation. */
int store_ocsp_get(struct store *s, const uint8_t issuer[STORE_OCSP_ISSUER_LEN],
    const char *serial, struct ocsp_stored *out, uint8_t *der, size_t cap);
/* The same, and JPKI_ERR_NOTFOUND as well if the one stored says another
 * status than the certificate has in the same read (a revocation nobody
 * has re-signed yet: on a replica, where no pre-signer runs, or before a
 * pre-signer's first pass): one more index lookup. */
int store_ocsp_get_current(struct store *s,
    const uint8_t issuer[STORE_OCSP_ISSUER_LEN], const char *serial,
    struct ocsp_stored *out, uint8_t *der, size_t cap);
/* A certificate the pre-signer looks at, with its stored response. */
enum store_ocsp_scan {
	STORE_OCSP_SCAN_ALL,        /* certificates not expired at `bound`,
	                               by rowid after after->key */
	STORE_OCSP_SCAN_CHANGES,    /* the change queue, by seq after
	                               after->key, up to seq `bound` */
	STORE_OCSP_SCAN_DUE,        /* responses with thisUpdate before
	                               `bound`, by (thisUpdate, serial) after
	                               (after->this_update, after->serial) */
};
struct ocsp_candidate {
	int64_t key;                /* rowid (ALL) or seq (CHANGES) */
	enum cert_type ca;          /* 0: the queue names a serial the store
	                               does not hold */
	int gen;                    /* the CA generation that issued it */
	char serial[SERIAL_HEX_MAX];
	enum cert_status status;
	int reason;
	int64_t revoked_at, not_after;
	int has_response;           /* the fields below are its response's */
	uint8_t issuer[STORE_OCSP_ISSUER_LEN];
	enum cert_status response_status;
	int64_t this_update, next_update;
};
/* At most limit candidates (after NULL: from the start), in order. */
int store_ocsp_scan(struct store *s, enum store_ocsp_scan what,
    const struct ocsp_candidate *after, int64_t bound, long limit,
    int (*fn)(void *arg, const struct ocsp_candidate *c), void *arg);
/* The stored responses that say their certificate's status, by (serial,
 * issuer) after (after_serial, after_issuer) ("" and anything: from the
 * start), at most limit: fn(arg, r) for each, r->der valid during the call
 * only (non-zero stops). */
int store_ocsp_list_current(struct store *s, const char *after_serial,
    const uint8_t after_issuer[STORE_OCSP_ISSUER_LEN], long limit,
    int (*fn)(void *arg, const struct ocsp_stored *r), void *arg);
/* How many responses are stored, and the oldest thisUpdate (0 if none). */
int store_ocsp_stats(struct store *s, long *count, int64_t *oldest);
/* The last seq of the change queue (0 if it is empty); drop the entries
 * up to seq upto (followed), but never the newest STORE_OCSP_CHANGES_KEEP:
 * the queue is also followed by every server's response cache (server:
 * ocsp_feed), which tells from the oldest entry left whether entries it
 * had not read were dropped. */
#define STORE_OCSP_CHANGES_KEEP 65536
int store_ocsp_changes_last(struct store *s, int64_t *seq);
/* The queue's entries after seq `after`, in order, at most limit: fn(arg,
 * seq, serial) for each (non-zero stops); then *first is the oldest seq
 * the queue still holds (0 if it is empty), read after them, so an entry
 * after `after` dropped before the read shows as first > after + 1. */
int store_ocsp_changes_read(struct store *s, int64_t after, long limit,
    int (*fn)(void *arg, int64_t seq, const char *serial), void *arg,
    int64_t *first);
int store_ocsp_changes_prune(struct store *s, int64_t upto);

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
	int crl_delay;            /* `jpki serve` makes a shard's CRL again at
	                             most this many seconds after a revocation */
	char org[64], ou_sign[96], ou_auth[96], ou_agency[128], service_ja[128];
	/* The rest of the service DirName (SAN, IssuerAltName), as the real
	 * J-LIS certificates carry it: C=JP, O=service, OU=service per CA,
	 * OU=agency. */
	char service_ou_sign_ja[128], service_ou_auth_ja[128], agency_ja[128];
	char cps_uri[256];
	/* The relying parties registered for linkage (GET /rp/link):
	 * "name:key" pairs separated by commas; "" none. */
	char rp_api_keys[1024];
	/* How long the store waits for another writer before failing, ms
	 * (database_busy_timeout_ms; 0 here: STORE_BUSY_TIMEOUT_MS). */
	int busy_timeout_ms;
	/* Mode of the papers and exports that carry personal data and check
	 * codes (notice and form PDFs, notices.csv): 0600 unless the config
	 * grants the group read or write (document_mode = 0640). */
	mode_t document_mode;
	/* The signer (docs/ca-operations.md, "Signer"): "" signs in-process
	 * with the key files; "unix:PATH" or "tls://HOST:PORT" sends every
	 * signature to `jpki signer`.  For tls://, this client's certificate,
	 * key and the signer PKI's CA certificate (PEM paths, relative to the
	 * data directory).  `checkpoints`: the signed audit checkpoints file
	 * ("" = <data>/signer/checkpoints). */
	char signer[JPKI_PATH_MAX];
	char signer_cert[JPKI_PATH_MAX], signer_key[JPKI_PATH_MAX];
	char signer_ca[JPKI_PATH_MAX];
	char checkpoints[JPKI_PATH_MAX];
	/* Pre-signed OCSP responses: made again after ocsp_refresh_seconds,
	 * valid (nextUpdate - thisUpdate) ocsp_validity_seconds, at least
	 * twice the refresh (default 1 day / 2 days). */
	int64_t ocsp_refresh_seconds, ocsp_validity_seconds;
	/* `jpki serve` keeps pre-signed responses in memory, this many MB in
	 * all its answering threads (0: none; ca: ocsp_cache.c). */
	int ocsp_cache_mb;
	struct fee_table fees;
};
void store_config_defaults(struct jpki_config *c);
int store_config_load(const char *path, struct jpki_config *c);
int store_config_write(const char *path, const struct jpki_config *c);

#endif
