/*
 * applet.c: the chip's operating system.  One APDU in, one response out, as
 * a My Number card's JPKI-AP and card-info AP answer them (docs/card.md and
 * the OpenSC trace in reference/), plus the issuer commands of docs/card.md.
 *
 * Order of checks in every handler: class and instruction, then (for issuer
 * commands) the issuer proof, so that without it nothing else is even
 * looked at; then P1/P2, lengths, the selected file, the security state,
 * and only then the work.  A command that changes the chip's memory saves
 * the image before it answers; if the save fails the answer is 6581.
 */
#include "card/apdu.h"
#include "card/card_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

const uint8_t card_atr[] = {0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45,
    0x14};
const size_t card_atr_len = sizeof(card_atr);
const uint8_t card_aid_jpki[10] = {0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00,
    0x00, 0x00, 0x01};
const uint8_t card_aid_cardinfo[10] = {0xD3, 0x92, 0x10, 0x00, 0x31, 0x00,
    0x01, 0x01, 0x04, 0x08};
const uint8_t card_aid_cardface[10] = {0xD3, 0x92, 0x10, 0x00, 0x31, 0x00,
    0x01, 0x01, 0x04, 0x02};

/* DigestInfo prefix of SHA-256 (RFC 8017 section 9.2, note 1). */
static const uint8_t sha256_digestinfo[19] = {0x30, 0x31, 0x30, 0x0d, 0x06,
    0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
    0x04, 0x20};

#define TOKEN_INFO_LEN 160
#define STATUS_EF_LEN 3
/* PKCS#1 v1.5 type 1 padding takes at least 11 bytes of the modulus. */
#define PKCS1_DATA_MAX (CARD_SIG_LEN - 11)

enum ef_type { EF_STORED, EF_TOKEN_INFO, EF_STATUS, EF_PIN, EF_KEY };

/* The secret slot bit of a PIN kind or a collation number. */
#define SLOT(s) (1u << (s))
#define MATCH_A CARD_SLOT_MATCH(CARD_MATCH_A)
#define MATCH_B CARD_SLOT_MATCH(CARD_MATCH_B)
#define FACE_A CARD_SLOT_MATCH(CARD_FACE_MATCH_A)
#define FACE_B CARD_SLOT_MATCH(CARD_FACE_MATCH_B)

struct ef_def {
	enum card_df df;
	uint16_t fid;
	enum ef_type type;
	int ref;        /* EF_STORED: enum card_stored_ef; EF_PIN: secret
	                 * slot (pin_kind, MATCH_A, MATCH_B); EF_KEY:
	                 * cert_type */
	unsigned opens; /* SLOT()s of which any one verified opens READ
	                 * BINARY (EF_KEY: the signature); 0 if free */
};

static const struct ef_def ef_table[] = {
    {DF_JPKI, CARD_EF_SIGN_CERT, EF_STORED, SEF_SIGN_CERT, SLOT(PIN_SIGN)},
    {DF_JPKI, CARD_EF_SIGN_CA, EF_STORED, SEF_SIGN_CA, 0},
    {DF_JPKI, CARD_EF_TOKEN_INFO, EF_TOKEN_INFO, 0, 0},
    {DF_JPKI, CARD_EF_STATUS, EF_STATUS, 0, 0},
    {DF_JPKI, CARD_EF_AUTH_CERT, EF_STORED, SEF_AUTH_CERT, 0},
    {DF_JPKI, CARD_EF_AUTH_CA, EF_STORED, SEF_AUTH_CA, 0},
    {DF_JPKI, CARD_EF_AUTH_KEY, EF_KEY, CERT_AUTH, SLOT(PIN_AUTH)},
    {DF_JPKI, CARD_EF_AUTH_PIN, EF_PIN, PIN_AUTH, 0},
    {DF_JPKI, CARD_EF_SIGN_KEY, EF_KEY, CERT_SIGN, SLOT(PIN_SIGN)},
    {DF_JPKI, CARD_EF_SIGN_PIN, EF_PIN, PIN_SIGN, 0},
    /* The individual number opens with the card-info PIN or collation
     * number A, the four facts with the PIN or B (docs/card.md). */
    {DF_CARDINFO, CARD_EF_INFO_NUMBER, EF_STORED, SEF_INFO_NUMBER,
	SLOT(PIN_CARDINFO) | SLOT(MATCH_A)},
    {DF_CARDINFO, CARD_EF_INFO_FACTS, EF_STORED, SEF_INFO_FACTS,
	SLOT(PIN_CARDINFO) | SLOT(MATCH_B)},
    /* The issuer's signature over both: whoever may read either. */
    {DF_CARDINFO, CARD_EF_INFO_SIGNATURE, EF_STORED, SEF_INFO_SIGNATURE,
	SLOT(PIN_CARDINFO) | SLOT(MATCH_A) | SLOT(MATCH_B)},
    {DF_CARDINFO, CARD_EF_INFO_CERT, EF_STORED, SEF_INFO_CERT, 0},
    {DF_CARDINFO, CARD_EF_INFO_APINFO, EF_STORED, SEF_INFO_APINFO, 0},
    {DF_CARDINFO, CARD_EF_INFO_PIN, EF_PIN, PIN_CARDINFO, 0},
    {DF_CARDINFO, CARD_EF_INFO_MATCH_A, EF_PIN, MATCH_A, 0},
    {DF_CARDINFO, CARD_EF_INFO_MATCH_B, EF_PIN, MATCH_B, 0},
    /* The card-face AP: its images open with either collation number
     * (myna verifies A, the individual number; AokiApp names B). */
    {DF_CARDFACE, CARD_EF_FACE_ENTRIES, EF_STORED, SEF_FACE_ENTRIES,
	SLOT(FACE_A) | SLOT(FACE_B)},
    {DF_CARDFACE, CARD_EF_FACE_MATCH_B, EF_PIN, FACE_B, 0},
    {DF_CARDFACE, CARD_EF_FACE_MATCH_A, EF_PIN, FACE_A, 0},
};

/* Whether the security state opens ef (any one of its slots verified). */
static int
opened(const struct card *c, const struct ef_def *ef)
{
	if (ef->opens == 0)
		return 1;
	for (int s = 1; s < CARD_PIN_SLOTS; s++)
		if ((ef->opens & SLOT(s)) && c->verified[s])
			return 1;
	return 0;
}

static const struct ef_def *
ef_find(enum card_df df, uint16_t fid)
{
	for (size_t i = 0; i < JPKI_ARRAY_LEN(ef_table); i++)
		if (ef_table[i].df == df && ef_table[i].fid == fid)
			return &ef_table[i];
	return NULL;
}

static const struct ef_def *
ef_current(const struct card *c)
{
	return c->ef_selected ? ef_find(c->df, c->ef_id) : NULL;
}

/* Make a change durable; 6581 if it could not be. */
static uint16_t
commit(struct card *c)
{
	return card_image_save(c) == JPKI_OK ? SW_OK : SW_MEMORY_FAILURE;
}

/* Answer data, chaining with 61xx what does not fit in Le. */
static uint16_t
respond(struct card *c, struct apdu_resp *r, const uint8_t *p, size_t n,
    size_t le)
{
	size_t rest;

	if (n <= le) {
		card_apdu_resp_put(r, p, n);
		return SW_OK;
	}
	if (n > CARD_PENDING_MAX)
		return SW_UNKNOWN;
	card_apdu_resp_put(r, p, le);
	rest = n - le;
	memcpy(c->pending, p + le, rest);
	c->pending_len = rest;
	c->pending_off = 0;
	return SW_MORE(rest >= 256 ? 0 : rest);
}

/* ---- SELECT ------------------------------------------------------------ */

static void
enter_df(struct card *c, enum card_df df)
{
	/* Selecting another application ends the PIN security state. */
	if (df != c->df)
		memset(c->verified, 0, sizeof(c->verified));
	c->df = df;
	c->ef_selected = 0;
}

static uint16_t
do_select(struct card *c, const struct apdu *a)
{
	const struct ef_def *ef;
	uint16_t fid;

	switch (a->p1) {
	case 0x04: /* by DF name (AID) */
		if (a->p2 != 0x00 && a->p2 != 0x0C)
			return SW_WRONG_P1P2;
		if (a->lc == 0)
			return SW_WRONG_LENGTH;
		/* Only our own AIDs; every other answers 6A82, or OpenSC's
		 * other drivers would claim the card. */
		if (a->lc == sizeof(card_aid_jpki) &&
		    memcmp(a->data, card_aid_jpki, a->lc) == 0)
			enter_df(c, DF_JPKI);
		else if (a->lc == sizeof(card_aid_cardinfo) &&
		    memcmp(a->data, card_aid_cardinfo, a->lc) == 0)
			enter_df(c, DF_CARDINFO);
		else if (a->lc == sizeof(card_aid_cardface) &&
		    memcmp(a->data, card_aid_cardface, a->lc) == 0)
			enter_df(c, DF_CARDFACE);
		else
			return SW_NOT_FOUND;
		return SW_OK;
	case 0x00: /* MF by its id */
	case 0x02: /* EF under the current DF */
		if (a->p2 != 0x00 && a->p2 != 0x0C)
			return SW_WRONG_P1P2;
		if (a->lc != 2)
			return SW_WRONG_LENGTH;
		fid = (uint16_t)(a->data[0] << 8 | a->data[1]);
		if (a->p1 == 0x00) {
			if (fid != 0x3F00)
				return SW_NOT_FOUND;
			enter_df(c, DF_MF);
			return SW_OK;
		}
		if ((ef = ef_find(c->df, fid)) == NULL)
			return SW_NOT_FOUND;
		c->ef_selected = 1;
		c->ef_id = fid;
		return SW_OK;
	default:
		return SW_WRONG_P1P2;
	}
}

/* ---- READ BINARY ------------------------------------------------------- */

static void
token_info(const struct card *c, uint8_t out[TOKEN_INFO_LEN])
{
	/* The start of a PKCS#11 CK_TOKEN_INFO: label, manufacturer, model,
	 * serial number, blank-padded; the numeric fields are left zero. */
	static const char *fields[] = {"JPKIAPICCTOKEN2", "openjpki",
	    "JPKI-AP", NULL};
	static const size_t widths[] = {32, 32, 16, 16};
	size_t off = 0;

	memset(out, 0, TOKEN_INFO_LEN);
	for (size_t i = 0; i < JPKI_ARRAY_LEN(widths); i++) {
		const char *s = fields[i] ? fields[i] : c->serial_hex;
		size_t n = strlen(s);

		memset(out + off, ' ', widths[i]);
		memcpy(out + off, s, n < widths[i] ? n : widths[i]);
		off += widths[i];
	}
}

static uint16_t
do_read_binary(struct card *c, const struct apdu *a, struct apdu_resp *r)
{
	const struct ef_def *ef;
	uint8_t computed[TOKEN_INFO_LEN];
	const uint8_t *content;
	size_t len, off, n;

	if (a->p1 & 0x80)
		return SW_WRONG_P1P2; /* short EF identifiers: not supported */
	if (!a->has_le || a->lc != 0)
		return SW_WRONG_LENGTH;
	if ((ef = ef_current(c)) == NULL)
		return SW_NO_CURRENT_EF;
	if (ef->type == EF_PIN || ef->type == EF_KEY)
		return SW_INCOMPATIBLE_FILE;
	if (!opened(c, ef))
		return SW_SECURITY;
	switch (ef->type) {
	case EF_TOKEN_INFO:
		token_info(c, computed);
		content = computed;
		len = TOKEN_INFO_LEN;
		break;
	case EF_STATUS:
		computed[0] = c->ef[SEF_SIGN_CERT].len > 0 ? 0x8F : 0x00;
		computed[1] = c->ef[SEF_AUTH_CERT].len > 0 ? 0x8F : 0x00;
		computed[2] = 0x00;
		content = computed;
		len = STATUS_EF_LEN;
		break;
	default:
		content = c->ef[ef->ref].data;
		len = c->ef[ef->ref].len;
		break;
	}
	off = (size_t)a->p1 << 8 | a->p2;
	if (off >= len)
		return SW_WRONG_OFFSET;
	n = len - off < a->le ? len - off : a->le;
	card_apdu_resp_put(r, content + off, n);
	return SW_OK;
}

/* ---- PINs -------------------------------------------------------------- */

/* The PIN a VERIFY / CHANGE / RESET RETRY COUNTER names: P2 80 is the
 * selected PIN EF, 80|SFI names a PIN EF of the current DF directly. */
static uint16_t
pin_of(const struct card *c, uint8_t p2, int *kind)
{
	const struct ef_def *ef;

	if (p2 == 0x80) {
		if ((ef = ef_current(c)) == NULL || ef->type != EF_PIN)
			return SW_NO_CURRENT_EF;
	} else if (p2 > 0x80 && p2 < 0xA0) {
		if ((ef = ef_find(c->df, p2 & 0x1F)) == NULL ||
		    ef->type != EF_PIN)
			return SW_REF_NOT_FOUND;
	} else {
		return SW_WRONG_P1P2;
	}
	*kind = ef->ref;
	return SW_OK;
}

/* Test builds only (JPKI_TEST_HOOKS): die like a card pulled from the
 * reader, after the decrement is durable and before the compare.  Other
 * builds have no hook and no trace of its name. */
#ifdef JPKI_TEST_HOOKS
static void
crash_hook(void)
{
	const char *v = getenv("JPKI_CARD_CRASH_AFTER_DECREMENT");

	if (v != NULL && strcmp(v, "1") == 0)
		_exit(70);
}
#else
static void
crash_hook(void)
{
}
#endif

static uint16_t
do_verify(struct card *c, const struct apdu *a)
{
	struct card_pin_slot *slot;
	int kind;
	uint8_t hash[32];
	uint16_t sw;
	int match;

	if (a->p1 != 0x00)
		return SW_WRONG_P1P2;
	if ((sw = pin_of(c, a->p2, &kind)) != SW_OK)
		return sw;
	if (a->has_le || a->lc > CARD_PIN_MAX)
		return SW_WRONG_LENGTH;
	slot = &c->pin[kind];
	if (a->lc == 0) {
		/* Empty VERIFY: the tries left, even when blocked (63C0), and
		 * no try used.  OpenSC reads tries this way and fails its bind
		 * on anything but 63Cx. */
		if (!slot->set)
			return SW_BLOCKED;
		return SW_TRIES(slot->tries);
	}
	if (!slot->set || slot->tries == 0)
		return SW_BLOCKED;
	c->verified[kind] = 0;
	/* A real card decrements before it compares, so a power cut in
	 * between never gives a free try. */
	slot->tries--;
	if (commit(c) != SW_OK)
		return SW_MEMORY_FAILURE;
	crash_hook();
	if (card_pin_hash(c, kind, a->data, a->lc, hash) != JPKI_OK)
		return SW_UNKNOWN;
	match = jpki_ct_equal(hash, slot->hash, sizeof(hash));
	jpki_wipe(hash, sizeof(hash));
	if (!match)
		return SW_TRIES(slot->tries);
	slot->tries = (uint8_t)card_slot_tries(kind);
	if (commit(c) != SW_OK)
		return SW_MEMORY_FAILURE;
	c->verified[kind] = 1;
	return SW_OK;
}

/* Store a new PIN value after checking its format. */
static uint16_t
set_pin(struct card *c, int kind, const struct apdu *a)
{
	char value[CARD_PIN_MAX + 1];
	int ok;

	if (a->lc == 0 || a->lc > CARD_PIN_MAX || a->has_le)
		return SW_WRONG_LENGTH;
	memcpy(value, a->data, a->lc);
	value[a->lc] = '\0';
	ok = strlen(value) == a->lc && card_slot_format_ok(kind, value);
	if (ok)
		ok = card_pin_hash(c, kind, a->data, a->lc,
		    c->pin[kind].hash) == JPKI_OK;
	jpki_wipe(value, sizeof(value));
	if (!ok)
		return SW_WRONG_DATA;
	c->pin[kind].set = 1;
	c->pin[kind].tries = (uint8_t)card_slot_tries(kind);
	return commit(c);
}

static uint16_t
do_change_reference(struct card *c, const struct apdu *a)
{
	int kind;
	uint16_t sw;

	if (a->p1 != 0x01)
		return SW_WRONG_P1P2;
	if ((sw = pin_of(c, a->p2, &kind)) != SW_OK)
		return sw;
	/* The collation numbers are what the card face shows: only the
	 * issuer sets them. */
	if (kind > CARD_PIN_COUNT)
		return SW_CONDITIONS;
	if (!c->pin[kind].set || c->pin[kind].tries == 0)
		return SW_BLOCKED;
	if (!c->verified[kind])
		return SW_SECURITY;
	return set_pin(c, kind, a);
}

static uint16_t
do_reset_retry_counter(struct card *c, const struct apdu *a)
{
	int kind;
	uint16_t sw;

	if (a->p1 != 0x02)
		return SW_WRONG_P1P2;
	if ((sw = pin_of(c, a->p2, &kind)) != SW_OK)
		return sw;
	c->verified[kind] = 0;
	return set_pin(c, kind, a);
}

/* ---- signatures -------------------------------------------------------- */

static int
rsa_sign(EVP_PKEY *key, int pss, const uint8_t *in, size_t n, uint8_t *sig,
    size_t *siglen)
{
	EVP_PKEY_CTX *ctx;
	int ok;

	if ((ctx = EVP_PKEY_CTX_new(key, NULL)) == NULL)
		return 0;
	ok = EVP_PKEY_sign_init(ctx) > 0;
	if (ok && pss)
		ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) >
		    0 && EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0 &&
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx,
		    RSA_PSS_SALTLEN_DIGEST) > 0;
	else if (ok)
		ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0;
	*siglen = CARD_SIG_LEN;
	ok = ok && EVP_PKEY_sign(ctx, sig, siglen, in, n) > 0;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static uint16_t
do_sign(struct card *c, const struct apdu *a, struct apdu_resp *r)
{
	const struct ef_def *ef;
	uint8_t tbs[sizeof(sha256_digestinfo) + 32], hash[32];
	uint8_t sig[CARD_SIG_LEN];
	const uint8_t *in = a->data;
	size_t n = a->lc, siglen;
	uint16_t sw;

	if (a->p2 != 0x80 || a->p1 > 0x05)
		return SW_WRONG_P1P2;
	if ((ef = ef_current(c)) == NULL)
		return SW_NO_CURRENT_EF;
	if (ef->type != EF_KEY)
		return SW_INCOMPATIBLE_FILE;
	if (c->key[ef->ref] == NULL)
		return SW_REF_NOT_FOUND;
	if (!opened(c, ef))
		return SW_SECURITY;
	if (a->lc == 0)
		return SW_WRONG_LENGTH;
	/* P1: 00 DigestInfo given; 01 message, bare SHA-256 hash padded;
	 * 02 hash given, card adds DigestInfo; 03 message, card hashes and
	 * adds DigestInfo; 04 hash given, PSS; 05 message, PSS. */
	if (a->p1 == 0x01 || a->p1 == 0x03 || a->p1 == 0x05) {
		SHA256(a->data, a->lc, hash);
		in = hash;
		n = sizeof(hash);
	} else if ((a->p1 == 0x02 || a->p1 == 0x04) && a->lc != 32) {
		return SW_WRONG_LENGTH;
	} else if (a->p1 == 0x00 && a->lc > PKCS1_DATA_MAX) {
		return SW_WRONG_LENGTH;
	}
	if (a->p1 == 0x02 || a->p1 == 0x03) {
		memcpy(tbs, sha256_digestinfo, sizeof(sha256_digestinfo));
		memcpy(tbs + sizeof(sha256_digestinfo), in, 32);
		in = tbs;
		n = sizeof(tbs);
	}
	if (!rsa_sign(c->key[ef->ref], a->p1 >= 0x04, in, n, sig, &siglen) ||
	    siglen != CARD_SIG_LEN)
		return SW_UNKNOWN;
	sw = respond(c, r, sig, siglen, a->has_le ? a->le : 256);
	jpki_wipe(sig, sizeof(sig));
	return sw;
}

/* ---- issuer commands --------------------------------------------------- */

static uint16_t
do_get_challenge(struct card *c, const struct apdu *a, struct apdu_resp *r)
{
	if (a->p1 != 0 || a->p2 != 0)
		return SW_WRONG_P1P2;
	if (!a->has_le || a->lc != 0 || a->le != CARD_CHALLENGE_LEN)
		return SW_WRONG_LENGTH;
	if (RAND_bytes(c->challenge, CARD_CHALLENGE_LEN) != 1)
		return SW_UNKNOWN;
	c->challenge_valid = 1;
	card_apdu_resp_put(r, c->challenge, CARD_CHALLENGE_LEN);
	return SW_OK;
}

static uint16_t
do_external_authenticate(struct card *c, const struct apdu *a)
{
	uint8_t want[32];
	int ok;

	if (a->p1 != 0 || a->p2 != 0)
		return SW_WRONG_P1P2;
	if (a->lc != sizeof(want) || a->has_le)
		return SW_WRONG_LENGTH;
	if (!c->challenge_valid)
		return SW_CONDITIONS;
	/* One answer per challenge, right or wrong. */
	c->challenge_valid = 0;
	if (card_issuer_response(c->issuer_key, c->serial, c->challenge,
	    want) != JPKI_OK)
		return SW_UNKNOWN;
	jpki_wipe(c->challenge, sizeof(c->challenge));
	ok = jpki_ct_equal(want, a->data, sizeof(want));
	jpki_wipe(want, sizeof(want));
	c->issuer_ok = ok;
	return ok ? SW_OK : SW_AUTH_FAILED;
}

static uint16_t
do_generate_key(struct card *c, const struct apdu *a, struct apdu_resp *r)
{
	const struct ef_def *ef;
	EVP_PKEY *key;
	unsigned char *spki = NULL;
	int n, k;
	uint16_t sw;

	if (a->p1 != 0 || a->p2 != 0)
		return SW_WRONG_P1P2;
	if (a->lc != 2 || !a->has_le)
		return SW_WRONG_LENGTH;
	ef = ef_find(c->df, (uint16_t)(a->data[0] << 8 | a->data[1]));
	if (ef == NULL || ef->type != EF_KEY)
		return SW_NOT_FOUND;
	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)) ==
	    NULL)
		return SW_UNKNOWN;
	k = ef->ref;
	EVP_PKEY_free(c->key[k]);
	c->key[k] = key;
	/* The old certificate names the old key: it goes. */
	jbuf_free(&c->ef[k == CERT_SIGN ? SEF_SIGN_CERT : SEF_AUTH_CERT]);
	if ((sw = commit(c)) != SW_OK)
		return sw;
	if ((n = i2d_PUBKEY(key, &spki)) <= 0)
		return SW_UNKNOWN;
	sw = respond(c, r, spki, (size_t)n, a->le);
	OPENSSL_free(spki);
	return sw;
}

static struct jbuf *
stored_ef(struct card *c, uint16_t *sw)
{
	const struct ef_def *ef;

	if ((ef = ef_current(c)) == NULL) {
		*sw = SW_NO_CURRENT_EF;
		return NULL;
	}
	if (ef->type != EF_STORED) {
		*sw = SW_INCOMPATIBLE_FILE;
		return NULL;
	}
	return &c->ef[ef->ref];
}

static uint16_t
do_update_binary(struct card *c, const struct apdu *a)
{
	struct jbuf *b;
	size_t off, max;
	uint16_t sw;

	if (a->p1 & 0x80)
		return SW_WRONG_P1P2;
	if (a->lc == 0 || a->has_le)
		return SW_WRONG_LENGTH;
	if ((b = stored_ef(c, &sw)) == NULL)
		return sw;
	max = card_stored_ef_max((enum card_stored_ef)ef_current(c)->ref);
	off = (size_t)a->p1 << 8 | a->p2;
	/* Written front to back: no holes. */
	if (off > b->len)
		return SW_WRONG_OFFSET;
	if (off > max || a->lc > max - off)
		return SW_FILE_FULL;
	if (off + a->lc > b->len) {
		if (jbuf_reserve(b, off + a->lc - b->len) != JPKI_OK)
			return SW_MEMORY_FAILURE;
		b->len = off + a->lc;
	}
	memcpy(b->data + off, a->data, a->lc);
	return commit(c);
}

static uint16_t
do_erase_binary(struct card *c, const struct apdu *a)
{
	const struct ef_def *ef;
	struct jbuf *b;
	uint16_t sw;

	if (a->p1 != 0 || a->p2 != 0)
		return SW_WRONG_P1P2;
	if (a->lc != 0 || a->has_le)
		return SW_WRONG_LENGTH;
	/* A key EF: the key goes, and the certificate that named it. */
	if ((ef = ef_current(c)) != NULL && ef->type == EF_KEY) {
		EVP_PKEY_free(c->key[ef->ref]);
		c->key[ef->ref] = NULL;
		jbuf_free(&c->ef[ef->ref == CERT_SIGN ? SEF_SIGN_CERT :
		    SEF_AUTH_CERT]);
		return commit(c);
	}
	if ((b = stored_ef(c, &sw)) == NULL)
		return sw;
	jbuf_free(b);
	return commit(c);
}

static uint16_t
do_get_response(struct card *c, const struct apdu *a, struct apdu_resp *r)
{
	size_t left, n;

	if (a->p1 != 0 || a->p2 != 0)
		return SW_WRONG_P1P2;
	if (!a->has_le || a->lc != 0)
		return SW_WRONG_LENGTH;
	if (c->pending_len == 0)
		return SW_CONDITIONS;
	left = c->pending_len - c->pending_off;
	n = left < a->le ? left : a->le;
	card_apdu_resp_put(r, c->pending + c->pending_off, n);
	c->pending_off += n;
	left -= n;
	if (left > 0)
		return SW_MORE(left >= 256 ? 0 : left);
	c->pending_len = c->pending_off = 0;
	return SW_OK;
}

/* ---- dispatch ---------------------------------------------------------- */

static int
is_issuer_ins(uint8_t ins)
{
	return ins == 0x2C || ins == 0x47 || ins == 0xD6 || ins == 0x0E;
}

static uint16_t
dispatch(struct card *c, const struct apdu *a, struct apdu_resp *r)
{
	if (a->cla == 0x80)
		return a->ins == 0x2A ? do_sign(c, a, r) : SW_BAD_INS;
	if (a->cla != 0x00)
		return SW_BAD_CLA;
	switch (a->ins) {
	case 0xA4:
		return do_select(c, a);
	case 0xB0:
		return do_read_binary(c, a, r);
	case 0x20:
		return do_verify(c, a);
	case 0x24:
		return do_change_reference(c, a);
	case 0x2C:
		return do_reset_retry_counter(c, a);
	case 0x88:
		/* JPKI keys refuse INTERNAL AUTHENTICATE. */
		return SW_SECURITY;
	case 0x84:
		return do_get_challenge(c, a, r);
	case 0x82:
		return do_external_authenticate(c, a);
	case 0x47:
		return do_generate_key(c, a, r);
	case 0xD6:
		return do_update_binary(c, a);
	case 0x0E:
		return do_erase_binary(c, a);
	case 0xC0:
		return do_get_response(c, a, r);
	default:
		return SW_BAD_INS;
	}
}

int
card_apdu(struct card *c, const uint8_t *cmd, size_t n, uint8_t *resp,
    size_t *resp_len)
{
	struct apdu a;
	struct apdu_resp r = {resp, 0, SW_OK};
	uint16_t sw;

	/* Issuer commands without the issuer proof: 6982, whatever else the
	 * APDU holds (class, parameters, lengths). */
	if (n >= 2 && is_issuer_ins(cmd[1]) && !c->issuer_ok) {
		c->pending_len = c->pending_off = 0;
		sw = SW_SECURITY;
	} else if ((sw = card_apdu_parse(cmd, n, &a)) == SW_OK) {
		/* Anything but GET RESPONSE drops a pending answer. */
		if (!(a.cla == 0x00 && a.ins == 0xC0))
			c->pending_len = c->pending_off = 0;
		sw = dispatch(c, &a, &r);
	}
	if (sw != SW_OK && (sw & 0xFF00) != 0x6100)
		r.len = 0; /* an error carries no data */
	card_apdu_resp_sw(&r, sw);
	card_apdu_resp_finish(&r);
	*resp_len = r.len;
	return JPKI_OK;
}
