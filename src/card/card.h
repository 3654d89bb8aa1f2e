/*
 * card: the emulated JPKI card, its image file, its transports and the card
 * client.  This header is the module's whole interface.
 *
 * Four layers, lowest first:
 *
 *   applet     card_apdu(): the chip.  A state machine over ISO 7816-4 short
 *              APDUs that answers as a My Number card's JPKI-AP and card-info
 *              AP do (docs/card.md), plus the issuer's proprietary commands
 *              (docs/card.md) that need proof of the issuer key.
 *   image      the chip's non-volatile memory: a versioned file with a
 *              SHA-256 integrity trailer, written atomically (temp, fsync,
 *              rename).  Every state change an APDU makes is durable before
 *              the APDU answers; a PIN's retry counter is decremented and
 *              made durable before the PIN is compared.
 *   transport  struct card_transport: send an APDU, reset (ATR), close.
 *              In-process over an image file, the vpcd reader side (a card
 *              emulator such as `jpki card attach` connects to it), and PC/SC
 *              through libpcsclite (real readers, or pcscd's vpcd reader).
 *   client     card_client_*(): what the CLI and the counter do with a card,
 *              over any transport.  The same calls drive the emulator and a
 *              real card (issuer operations only work on the emulator).
 *
 * What it deliberately does not do: decide who may get which certificate
 * (rules, counter), build certificates (ca), or keep records (store).
 */
#ifndef JPKI_CARD_H
#define JPKI_CARD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "rules/rules.h"

#include <openssl/types.h>

/* ---- limits ------------------------------------------------------------ */

/* ISO 7816-4 short APDUs only: header, Lc, 255 data bytes, Le. */
#define APDU_MAX 261
#define APDU_DATA_MAX 255
/* 256 data bytes (Le = 00) and SW1 SW2. */
#define APDU_RESP_MAX 258
/* Largest elementary file (certificates, card-info); READ BINARY offsets
 * are 15 bits, this is far below. */
#define CARD_EF_MAX 8192
/* Largest card image file: every EF full (the card-face EF up to
 * CARD_FACE_EF_MAX), both keys, headroom. */
#define CARD_IMAGE_MAX 131072
/* Longest PIN of any kind (the signing password: 16). */
#define CARD_PIN_MAX 16
/* RSA-2048 signature and modulus size. */
#define CARD_SIG_LEN 256
/* Issuer master key and per-card issuer key. */
#define CARD_ISSUER_KEY_LEN 32
/* GET CHALLENGE answer length. */
#define CARD_CHALLENGE_LEN 8
/* Card serial number: 8 bytes, shown as 16 upper-case hex digits. */
#define CARD_SERIAL_LEN 8
#define CARD_SERIAL_HEX (2 * CARD_SERIAL_LEN + 1)
/* The individual number (マイナンバー): 12 digits. */
#define CARD_NUMBER_LEN 12
/* Card-info facts, each a UTF-8 string of at most this many bytes. */
#define CARD_FACT_MAX 800

/* ---- the card's names -------------------------------------------------- */

/* ATR of a My Number card (OpenSC's jpki driver matches it). */
extern const uint8_t card_atr[];
extern const size_t card_atr_len;
/* AIDs: JPKI-AP, card-info AP (券面事項入力補助AP). */
extern const uint8_t card_aid_jpki[10];
extern const uint8_t card_aid_cardinfo[10];
/* The card-face AP (券面AP, 券面事項確認AP). */
extern const uint8_t card_aid_cardface[10];

/* Files of the JPKI-AP. */
#define CARD_EF_SIGN_CERT 0x0001
#define CARD_EF_SIGN_CA 0x0002
#define CARD_EF_TOKEN_INFO 0x0006
#define CARD_EF_STATUS 0x0008
#define CARD_EF_AUTH_CERT 0x000A
#define CARD_EF_AUTH_CA 0x000B
#define CARD_EF_AUTH_KEY 0x0017
#define CARD_EF_AUTH_PIN 0x0018
#define CARD_EF_SIGN_KEY 0x001A
#define CARD_EF_SIGN_PIN 0x001B
/* Files of the card-info AP. */
#define CARD_EF_INFO_NUMBER 0x0001
#define CARD_EF_INFO_FACTS 0x0002
#define CARD_EF_INFO_SIGNATURE 0x0003
#define CARD_EF_INFO_CERT 0x0004
#define CARD_EF_INFO_APINFO 0x0005
#define CARD_EF_INFO_PIN 0x0011
#define CARD_EF_INFO_MATCH_A 0x0014
#define CARD_EF_INFO_MATCH_B 0x0015
/* Files of the card-face AP. */
#define CARD_EF_FACE_ENTRIES 0x0002
#define CARD_EF_FACE_MATCH_B 0x0012
#define CARD_EF_FACE_MATCH_A 0x0013

/* Status words (ISO 7816-4). */
#define SW_OK 0x9000
#define SW_MORE(n) (0x6100 | ((n) & 0xff))
#define SW_TRIES(n) (0x63C0 | ((n) & 0x0f))
#define SW_AUTH_FAILED 0x6300
#define SW_MEMORY_FAILURE 0x6581
#define SW_WRONG_LENGTH 0x6700
#define SW_INCOMPATIBLE_FILE 0x6981
#define SW_SECURITY 0x6982
#define SW_BLOCKED 0x6984
#define SW_CONDITIONS 0x6985
#define SW_NO_CURRENT_EF 0x6986
#define SW_WRONG_DATA 0x6A80
#define SW_NOT_FOUND 0x6A82
#define SW_FILE_FULL 0x6A84
#define SW_WRONG_P1P2 0x6A86
#define SW_REF_NOT_FOUND 0x6A88
#define SW_WRONG_OFFSET 0x6B00
#define SW_BAD_INS 0x6D00
#define SW_BAD_CLA 0x6E00
#define SW_UNKNOWN 0x6F00

/* PINs are rules' enum pin_kind (PIN_AUTH, PIN_SIGN, PIN_CARDINFO) and keys
 * are named by rules' enum cert_type (CERT_SIGN, CERT_AUTH); their formats
 * and try counts are rules_pin_check() and rules_pin_tries(). */
#define CARD_PIN_COUNT 3

/* The collation numbers (照合番号) A and B: the card-info AP's (EF 0014,
 * EF 0015, beside its PIN) and the card-face AP's (EF 0013, EF 0012; that
 * AP has no PIN of its own).  Not PINs a holder chooses but what the card
 * face shows: A is the individual number; B the birth date YYMMDD, the
 * card's expiry year YYYY and the 4-digit security code.  In the card-info
 * AP A opens EF 0001 to a reader, B EF 0002, as its PIN opens both; in the
 * card-face AP either opens EF 0002.  The counter sets them at delivery
 * and update-card; nobody changes them.  Tries: CARD_MATCH_TRIES
 * (docs/card.md says why). */
enum card_match {
	CARD_MATCH_A = 0,
	CARD_MATCH_B = 1,
	CARD_FACE_MATCH_A = 2,
	CARD_FACE_MATCH_B = 3,
};
#define CARD_MATCH_COUNT 4
/* Whether a collation number is an A (the individual number). */
#define CARD_MATCH_IS_A(m) ((m) == CARD_MATCH_A || (m) == CARD_FACE_MATCH_A)
#define CARD_MATCH_A_LEN 12
#define CARD_MATCH_B_LEN 14
#define CARD_MATCH_TRIES 10
#define CARD_SECURITY_CODE_LEN 4

/* The four certificate EFs of the JPKI-AP.  The holder's two are rules'
 * enum cert_type and take its values.  The card also carries the
 * certificate of each CA, which is not a type of certificate anyone is
 * issued, so rules have no name for it: hence this enum beside cert_type,
 * and card_cert_for() as the one way from a cert_type to an EF.  The values
 * are never written into a card image (the image keeps EFs by file id). */
enum card_cert {
	CARD_CERT_SIGN = CERT_SIGN,
	CARD_CERT_AUTH = CERT_AUTH,
	CARD_CERT_SIGN_CA = 3,
	CARD_CERT_AUTH_CA = 4,
};
#define CARD_CERT_OWN 0     /* the certificate of the card's key */
#define CARD_CERT_CA 1      /* the certificate of the CA that issued it */
/* The EF holding type's certificate (CARD_CERT_OWN) or its CA's
 * (CARD_CERT_CA); 0 for a value outside enum cert_type. */
enum card_cert card_cert_for(enum cert_type type, int whose);

/* The card kind is rules' enum card_kind (CARD_MYNUMBER, CARD_JUKI).  R1:
 * only My Number cards get certificates; a Juki card image exists so the
 * counter can refuse it. */

/* ---- issuer master key ------------------------------------------------- */

/* Create the issuer master key file: 32 CSPRNG bytes, mode 0600.  Refuses
 * (JPKI_ERR_CONFLICT) to overwrite an existing file. */
int card_issuer_master_create(const char *path);
/* Load it; refuses a file of the wrong size or readable by others. */
int card_issuer_master_load(const char *path,
    uint8_t master[CARD_ISSUER_KEY_LEN]);
/* The per-card issuer key: HMAC-SHA256(master, "JPKI card issuer key" ||
 * serial). */
int card_issuer_key_derive(const uint8_t master[CARD_ISSUER_KEY_LEN],
    const uint8_t serial[CARD_SERIAL_LEN], uint8_t key[CARD_ISSUER_KEY_LEN]);
/* EXTERNAL AUTHENTICATE's data: HMAC-SHA256(card key, "JPKI EXTERNAL
 * AUTHENTICATE" || serial || challenge). */
int card_issuer_response(const uint8_t key[CARD_ISSUER_KEY_LEN],
    const uint8_t serial[CARD_SERIAL_LEN],
    const uint8_t challenge[CARD_CHALLENGE_LEN], uint8_t mac[32]);

/* ---- the chip and its image -------------------------------------------- */

struct card;

/* A blank chip in memory only (nothing is ever saved): a fresh random
 * serial, the kind, the issuer key derived from master, no keys, no
 * certificates, no PINs set. */
int card_blank(enum card_kind kind, const uint8_t master[CARD_ISSUER_KEY_LEN],
    struct card **out);
/* Create a blank card image at path (card_blank, written to a temporary
 * file and put in place by card_image_install_new).  Refuses
 * (JPKI_ERR_CONFLICT) if path exists.  serial_hex (may be NULL) receives
 * the serial. */
int card_image_create(const char *path, enum card_kind kind,
    const uint8_t master[CARD_ISSUER_KEY_LEN],
    char serial_hex[CARD_SERIAL_HEX]);
/* Load an image and take its lock (<path>.lock) so no second process drives
 * the same chip.  A truncated, corrupted, foreign or newer file is refused
 * with one line (JPKI_ERR_INPUT) and left untouched. */
int card_image_load(const char *path, struct card **out);
/* The two halves of card_image_load, for a caller that must hold the lock
 * before the image exists or while it is replaced (the counter):
 * card_image_lock takes <path>.lock (JPKI_ERR_CONFLICT if another process
 * has it; close *lock_fd to release it); card_image_read reads and checks
 * the image as card_image_load does into a memory-only chip. */
int card_image_lock(const char *path, int *lock_fd);
int card_image_read(const char *path, struct card **out);
/* Put a written, fsync'd image file `staged` in place at path, where no
 * file may be (JPKI_ERR_CONFLICT if one is): one rename that never
 * overwrites (renameat2 RENAME_NOREPLACE), then the directory is synced.
 * On a file system without it: link, then unlink of staged, so a crash in
 * between leaves two names for one file, which the counter's recovery
 * recognises.  On failure staged is left as it is. */
int card_image_install_new(const char *staged, const char *path);
/* Decode an image held in memory (no file, nothing is ever saved): for
 * fuzzing and tests. */
int card_image_decode(const uint8_t *buf, size_t n, struct card **out);
/* Encode the chip's memory as an image (for tests and the fuzzer's seeds). */
int card_image_encode(const struct card *c, struct jbuf *out);
/* Write the image back (temp file, fsync, rename, fsync directory).  Done by
 * card_apdu() itself after every change; a memory-only card does nothing. */
int card_image_save(struct card *c);
void card_free(struct card **c);

/* Power-on or reset: forget the session (selection, verified PINs,
 * challenge, issuer proof). */
void card_reset(struct card *c);
/* The serial as 16 hex digits, and the kind. */
const char *card_serial_hex(const struct card *c);
enum card_kind card_kind_of(const struct card *c);

/* Process one command APDU.  resp must hold APDU_RESP_MAX bytes; *resp_len
 * receives the response length (data then SW1 SW2, at least 2).  Returns
 * JPKI_OK whenever a response was produced, whatever its status word; an
 * error only if the chip could not answer at all (then resp holds 6F00 or
 * 6581).
 *
 * Test-only hook, compiled only with -DJPKI_TEST_HOOKS=ON: with
 * JPKI_CARD_CRASH_AFTER_DECREMENT=1 in the environment, VERIFY _exit()s
 * right after the decremented retry counter is durable and before the PIN
 * is compared (tests/unit/card/test_crash.c). */
int card_apdu(struct card *c, const uint8_t *cmd, size_t n, uint8_t *resp,
    size_t *resp_len);

/* ---- transports -------------------------------------------------------- */

/*
 * A way to reach a card.  transmit sends one command APDU and returns its
 * response (data + SW, at most APDU_RESP_MAX bytes); reset powers the card
 * again and returns its ATR (atr holds at least 33 bytes); close releases
 * everything and frees the transport.  Tests may build their own.
 */
#define CARD_ATR_MAX 33
struct card_transport {
	const char *name;
	int (*transmit)(struct card_transport *t, const uint8_t *cmd,
	    size_t n, uint8_t *resp, size_t *resp_len);
	int (*reset)(struct card_transport *t, uint8_t *atr, size_t *atr_len);
	void (*close)(struct card_transport *t);
	void *ctx;
	/* The client's note of the application it selected (0 none), so it
	 * does not select again between VERIFY and its use: a real card may
	 * drop the PIN state on a SELECT of the DF.  Transports start at 0. */
	int client_app;
};

/* In-process: the applet over an image file (loaded and locked). */
int card_transport_image(const char *path, struct card_transport **out);
/* In-process over a card the caller owns (not freed on close). */
int card_transport_card(struct card *c, struct card_transport **out);
/* The vpcd reader side: listen on host:port and wait up to timeout_ms for
 * a card emulator (`jpki card attach`, vsmartcard's vicc) to connect. */
int card_transport_vpcd_listen(const char *host, uint16_t port,
    int timeout_ms, struct card_transport **out);
/* PC/SC: the first reader whose name starts with reader (any reader with a
 * card if reader is NULL or ""). */
int card_transport_pcsc(const char *reader, struct card_transport **out);
/* The same with flags: CARD_PCSC_EXCLUSIVE, no other program reaches the
 * card from the open to the close (a counter procedure's whole APDU
 * sequence).  Where another program's hold keeps the card (an exclusive
 * session; for an exclusive open, any other connection) the open waits
 * up to 3 s, or not at all with CARD_PCSC_NOWAIT (a card list), then fails
 * JPKI_ERR_CONFLICT ("in use by another program").  card_transport_pcsc
 * is flags 0. */
#define CARD_PCSC_EXCLUSIVE 1u
#define CARD_PCSC_NOWAIT 2u
int card_transport_pcsc_open(const char *reader, unsigned flags,
    struct card_transport **out);
/* Close and free; *t becomes NULL. */
void card_transport_free(struct card_transport **t);

/* The card side of the vpcd protocol: connect to pcscd's vpcd driver at
 * host:port and serve the card until *stop becomes non-zero (checked at
 * least every 200 ms).  If vpcd closes the connection or is not there yet,
 * it tries again every second.  progress (may be NULL) is told about
 * connections on stderr-style one-liners. */
int card_vpcd_attach(struct card *c, const char *host, uint16_t port,
    volatile sig_atomic_t *stop, void (*progress)(const char *line));

/* Parse "HOST:PORT" (port 1-65535); JPKI_ERR_USAGE otherwise.  host must
 * hold 256 bytes. */
int card_parse_hostport(const char *s, char host[256], uint16_t *port);
#define CARD_VPCD_DEFAULT "127.0.0.1:35963"

/* ---- the card client --------------------------------------------------- */

struct card_pin_status {
	int initialised; /* 0 on a blank card before the counter sets it */
	int tries_left;
	int locked;
};

struct card_status {
	char serial[CARD_SERIAL_HEX]; /* from EF 0006 token info */
	struct card_pin_status pin[CARD_PIN_COUNT + 1]; /* by enum pin_kind */
	struct card_pin_status match[CARD_MATCH_COUNT]; /* by card_match */
	int sign_cert; /* EF 0008 */
	int auth_cert;
	int sign_ca;   /* CA EFs not empty */
	int auth_ca;
};

struct card_info {
	char number[CARD_NUMBER_LEN + 1];
	char name[CARD_FACT_MAX + 1];
	char address[CARD_FACT_MAX + 1];
	char birth[9]; /* YYYYMMDD (Gregorian) */
	char sex[2];   /* ISO 5218: "1" male, "2" female, "9" not applicable,
	                * "0" not known (never written by us) */
};

/* The card-info AP's files (cardinfo.c; docs/card.md has the layout).
 * EF 0001 is CARD_INFO_NUMBER_EF_LEN bytes, as many as real clients read;
 * EF 0002's header element is at most CARD_INFO_HEADER_MAX bytes. */
#define CARD_INFO_NUMBER_EF_LEN 17
#define CARD_INFO_HEADER_MAX 64
/* The register's gender as the ISO 5218 digit the card holds. */
char card_info_sex_of(enum gender g);
/* Encode EF 0001 / EF 0002 (appended to out); the facts are checked
 * first (12 digits, one-line UTF-8, YYYYMMDD, an ISO 5218 digit). */
int card_info_encode_number(const struct card_info *info, struct jbuf *out);
int card_info_encode_facts(const struct card_info *info, struct jbuf *out);
/* Parse EF 0001 into info->number / EF 0002 into the four facts, through
 * the bounded cursor; JPKI_ERR_INPUT with one line if the bytes are not
 * that layout (the fields are then left empty). */
int card_info_parse_number(const uint8_t *p, size_t n,
    struct card_info *info);
int card_info_parse_facts(const uint8_t *p, size_t n,
    struct card_info *info);

/* Exchange one APDU, following 61xx with GET RESPONSE; data goes to out
 * (may be NULL), *sw receives the final status word.  JPKI_OK whenever the
 * card answered. */
int card_client_exchange(struct card_transport *t, const uint8_t *cmd,
    size_t n, struct jbuf *out, uint16_t *sw);
int card_client_select_jpki(struct card_transport *t);
int card_client_select_cardinfo(struct card_transport *t);
/* Tries left, certificates present, serial.  Spends no try. */
int card_client_status(struct card_transport *t, struct card_status *st);
/* VERIFY.  Wrong: JPKI_ERR_PIN "... N tries left"; blocked:
 * JPKI_ERR_LOCKED.  *tries_left (may be NULL) receives what the card said
 * (the maximum after success).  The signing password is upper-cased first.
 * The matching AP is selected first. */
int card_client_verify(struct card_transport *t, enum pin_kind pin,
    const char *value, int *tries_left);
/* VERIFY old, then CHANGE REFERENCE DATA to new (format checked first). */
int card_client_change_pin(struct card_transport *t, enum pin_kind pin,
    const char *old_value, const char *new_value, int *tries_left);
/* Read a certificate EF (DER) into out; JPKI_ERR_NOTFOUND if empty.  The
 * signing certificate needs the signing password verified first. */
int card_client_read_cert(struct card_transport *t, enum card_cert which,
    struct jbuf *out);
/* Sign a SHA-256 hash with PKCS#1 v1.5 (the card gets the DigestInfo,
 * COMPUTE DIGITAL SIGNATURE P1 00).  The key's PIN must be verified. */
int card_client_sign_sha256(struct card_transport *t, enum cert_type key,
    const uint8_t hash[32], uint8_t sig[CARD_SIG_LEN]);
/* Sign a DigestInfo (any hash; at most 245 bytes) with PKCS#1 v1.5. */
int card_client_sign_digestinfo(struct card_transport *t, enum cert_type key,
    const uint8_t *digest_info, size_t n, uint8_t sig[CARD_SIG_LEN]);
/* VERIFY a collation number of the card-info AP (format checked first:
 * 12 or 14 digits).  Results as card_client_verify. */
int card_client_verify_match(struct card_transport *t, enum card_match m,
    const char *value, int *tries_left);
/* Read the card-info AP (after card_client_verify(PIN_CARDINFO)). */
int card_client_read_info(struct card_transport *t, struct card_info *info);

/* Issuer operations (the counter's).  Prove the issuer key first, in the
 * same session: GET CHALLENGE + EXTERNAL AUTHENTICATE. */
int card_client_issuer_auth(struct card_transport *t,
    const uint8_t master[CARD_ISSUER_KEY_LEN]);
/* Generate a key pair inside the card; spki receives the public key as DER
 * SubjectPublicKeyInfo.  Empties the key's certificate EF. */
int card_client_generate_key(struct card_transport *t, enum cert_type key,
    struct jbuf *spki);
/* Erase the key pair (and the certificate EF that names it), issuer:
 * ERASE BINARY on the key EF. */
int card_client_erase_key(struct card_transport *t, enum cert_type key);
/* Write (der != NULL) or empty (der == NULL) a certificate EF. */
int card_client_write_cert(struct card_transport *t, enum card_cert which,
    const uint8_t *der, size_t n);
/* Set a PIN (initial, or after a lock: resets the tries). */
int card_client_set_pin(struct card_transport *t, enum pin_kind pin,
    const char *value);
/* Set a collation number (issuer; restores its tries). */
int card_client_set_match(struct card_transport *t, enum card_match m,
    const char *value);
/* The card's 4-digit security code (セキュリティコード, printed on a real
 * card's face): HMAC-SHA256(card key, "JPKI card security code") reduced
 * to 4 digits, so the counter can tell it again from the master key and
 * the serial without storing it. */
int card_security_code(const uint8_t master[CARD_ISSUER_KEY_LEN],
    const char *serial_hex, char code[CARD_SECURITY_CODE_LEN + 1]);
/* Collation number B: birth (YYYYMMDD) as YYMMDD, the expiry year, the
 * security code. */
int card_match_b(const char *birth, int expiry_year, const char *code,
    char out[CARD_MATCH_B_LEN + 1]);
/* ---- the card issuer's signature over the facts (cardinfo_sig.c) ------
 *
 *   EF 0003  FF 30 { DF 31 SHA-256 of EF 0001, DF 32 SHA-256 of EF 0002,
 *                    DF 33 the issuer's signature }          (336 bytes)
 *   EF 0004  7F 21 { 5F 4E { issuer id 16, subject id 16, 82 e, 81 n },
 *                    5F 37 signature over the 5F 4E element } (568 bytes)
 *   EF 0005  FF 40 { DF 41 AP info 4, DF 42 key id 16 }, FF to 256 bytes
 *
 * The signature of EF 0003 is sha256WithRSAEncryption (PKCS#1 v1.5) over
 * the 64 bytes of the two digests; EF 0004 is signed by its own key (the
 * card issuer's; a relying party pins that key); each digest is of the
 * EF's data object (its TLV, without padding after it).  The key id is the first 16 bytes of the SHA-256 of
 * the issuer's DER SubjectPublicKeyInfo. */
#define CARD_INFO_DIGEST_LEN 32
#define CARD_INFO_KEY_ID_LEN 16
#define CARD_INFO_AP_INFO_LEN 4
#define CARD_INFO_APINFO_EF_LEN 256
/* Largest EF 0003 / EF 0004 the host accepts (RSA up to 4096 bits). */
#define CARD_INFO_SIGNATURE_EF_MAX 1024
#define CARD_INFO_CERT_EF_MAX 2048
#define CARD_INFO_SIG_MAX 512

/* The 64 bytes the issuer signs for info: SHA-256 of EF 0001's then of
 * EF 0002's data object, as card_info_encode_number/_facts write them. */
int card_info_digests(const struct card_info *info,
    uint8_t out[2 * CARD_INFO_DIGEST_LEN]);
int card_info_encode_signature(const uint8_t digests[2 * CARD_INFO_DIGEST_LEN],
    const uint8_t *sig, size_t sig_len, struct jbuf *out);
/* EF 0004's signed part (the 5F 4E element) for the issuer's public key,
 * then the whole EF once the issuer signed that part. */
int card_info_encode_cert_body(EVP_PKEY *issuer, struct jbuf *out);
int card_info_encode_cert(const struct jbuf *body, const uint8_t *sig,
    size_t sig_len, struct jbuf *out);
int card_info_encode_apinfo(EVP_PKEY *issuer, struct jbuf *out);

/* The card issuer key id of EF 0004/0005: the first 16 bytes of SHA-256
 * of the key's DER SubjectPublicKeyInfo. */
int card_info_key_id(EVP_PKEY *key, uint8_t id[CARD_INFO_KEY_ID_LEN]);

/* What a relying party reads of the card-info AP, as read (the EFs). */
struct card_info_files {
	struct jbuf number, facts, signature, cert, apinfo;
};
void card_info_files_init(struct card_info_files *f);
void card_info_files_free(struct card_info_files *f);
/* Check the facts against the issuer's signature: EF 0003's digests are
 * those of EF 0001 and EF 0002 as read, its signature verifies with the
 * key of EF 0004, EF 0004 verifies with its own key, and (trusted not
 * NULL) that key is trusted.  JPKI_OK, or JPKI_ERR_VERIFY with one line
 * saying what does not hold (JPKI_ERR_INPUT: not that layout).  *issuer
 * (may be NULL) receives EF 0004's key. */
int card_info_verify(const struct card_info_files *f, EVP_PKEY *trusted,
    EVP_PKEY **issuer);

/* Whether an emulated chip's card-info AP predates the layout of
 * cardinfo.c or lacks its collation numbers (an image written before
 * them): the counter's update-card rewrites such a card even when the
 * register's facts did not change. */
int card_info_outdated(const struct card *c);
/* Read the card-info AP's five EFs as they are (the PIN, or A or B for
 * what each opens, verified first; what is closed stays empty). */
int card_client_read_info_files(struct card_transport *t,
    struct card_info_files *f);
/* Write EF 0003, 0004 and 0005 (issuer). */
int card_client_write_info_signature(struct card_transport *t,
    const struct jbuf *signature, const struct jbuf *cert,
    const struct jbuf *apinfo);
/* Write the card-info AP: the individual number and the four facts. */
int card_client_write_info(struct card_transport *t,
    const struct card_info *info);

/* ---- the card-face AP (cardface.c, jp2.c) ------------------------------
 *
 *   EF 0002  FF 20 L { DF 21 header: 2-byte offsets of the nine elements,
 *                      DF 22 birth YYYYMMDD, DF 23 sex (ISO 5218 digit),
 *                      DF 24 the card issuer's public key { 82 e, 81 n },
 *                      DF 25 name image, DF 26 address image (PNG),
 *                      DF 27 face photo (JPEG 2000, JP2 file format),
 *                      DF 28 the card issuer's signature,
 *                      DF 29 expiry YYYYMMDD, DF 2A security code image
 *                      (PNG) }
 *
 * The tags are those jpki/myna declares (VisualInfo, private 32-42) and
 * AokiApp's mynacard schema names (namePng, addressPng, faceJp2,
 * securityCodePng).  The signature is sha256WithRSAEncryption (PKCS#1
 * v1.5) by the card issuer's key over card_face_signed_content(): the
 * header and the elements DF 22 to DF 27, DF 29 and DF 2A as encoded, in
 * EF order (every element but the signature's; the header's offsets
 * count the signature's length, known from the key).  Either collation
 * number of the AP opens the EF.  docs/card.md says what is our
 * choice. */
/* Largest card-face EF: READ BINARY offsets are 15 bits. */
#define CARD_FACE_EF_MAX 32767
/* Largest image in it, each. */
#define CARD_FACE_IMAGE_MAX 16384
/* Largest DF 21 header element accepted (ours 18). */
#define CARD_FACE_HEADER_MAX 64
/* Largest DF 24 public key element accepted (RSA up to 4096 bits). */
#define CARD_FACE_KEY_MAX 640

struct card_face {
	char birth[9];  /* YYYYMMDD */
	char sex[2];    /* ISO 5218 digit */
	char expiry[9]; /* YYYYMMDD */
	struct jbuf public_key; /* DF 24's value: 82 e, 81 n */
	struct jbuf name;       /* PNG */
	struct jbuf address;    /* PNG */
	struct jbuf photo;      /* JPEG 2000 (JP2) */
	struct jbuf signature;
	struct jbuf code;       /* security code image, PNG */
	struct jbuf header;     /* DF 21 as read (card_face_parse); empty
	                         * when made: computed then */
};
void card_face_init(struct card_face *f);
void card_face_free(struct card_face *f);
/* DF 24's value for the card issuer's key. */
int card_face_encode_public_key(EVP_PKEY *issuer, struct jbuf *out);
/* What the card issuer signs for a signature of sig_len bytes (the key's
 * size), appended to out; the fields are checked first (dates, sex,
 * sizes, PNG and JP2 signatures). */
int card_face_signed_content(const struct card_face *f, size_t sig_len,
    struct jbuf *out);
/* The whole EF 0002 (appended to out). */
int card_face_encode(const struct card_face *f, struct jbuf *out);
/* Parse EF 0002 through the bounded cursor into f (initialised by the
 * caller, emptied first); JPKI_ERR_INPUT with one line if it is not that
 * layout (f is then left empty). */
int card_face_parse(const uint8_t *p, size_t n, struct card_face *f);
/* Check the card issuer's signature: DF 24's key, which must be trusted
 * when trusted is not NULL, verifies DF 28 over the signed content.
 * JPKI_OK or JPKI_ERR_VERIFY with one line (JPKI_ERR_INPUT: no key).
 * *issuer (may be NULL) receives DF 24's key. */
int card_face_verify(const struct card_face *f, EVP_PKEY *trusted,
    EVP_PKEY **issuer);
/* Whether an emulated chip's card-face AP is missing, does not parse or
 * lacks its collation numbers: update-card writes it then. */
int card_face_outdated(const struct card *c);
/* The photo of an emulated chip's card-face EF (copied into out), if it
 * has one: JPKI_ERR_NOTFOUND otherwise.  update-card keeps it. */
int card_face_photo_of(const struct card *c, struct jbuf *out);

/* Read the card-face EF 0002 as real clients do (7 bytes, then the TLV),
 * after collation number A or B of the AP was verified
 * (card_client_verify_match). */
int card_client_read_face(struct card_transport *t, struct jbuf *ef);
/* Write it (issuer). */
int card_client_write_face(struct card_transport *t, const struct jbuf *ef);

/* JPEG 2000 through OpenJPEG (jp2.c): 8-bit RGB pixels, row-major.  The
 * decoder takes untrusted bytes: at most CARD_FACE_IMAGE_MAX of them, an
 * image of at most CARD_JP2_SIDE_MAX pixels a side and CARD_JP2_PIXELS_MAX
 * in all, 1 to 4 components of 1 to 16 bits, checked from the header
 * before anything is decoded. */
#define CARD_JP2_SIDE_MAX 1024
#define CARD_JP2_PIXELS_MAX (512 * 512)
struct card_pixels {
	int width, height;
	uint8_t *rgb; /* width * height * 3 */
};
void card_pixels_free(struct card_pixels *px);
int card_jp2_decode(const uint8_t *p, size_t n, struct card_pixels *out);
/* Encode as a JP2 file, lossy at `ratio` (e.g. 20 for 1:20), appended to
 * out. */
int card_jp2_encode(const struct card_pixels *px, int ratio,
    struct jbuf *out);

#endif
