/*
 * card_int.h: the chip's memory and session, shared by the files of the
 * card module (image.c, applet.c, issuer.c).  Not part of the interface.
 */
#ifndef JPKI_CARD_INT_H
#define JPKI_CARD_INT_H

#include <openssl/evp.h>

#include "card/card.h"

/* EFs whose content lives in the image (the others are computed). */
enum card_stored_ef {
	SEF_SIGN_CERT,
	SEF_SIGN_CA,
	SEF_AUTH_CERT,
	SEF_AUTH_CA,
	SEF_INFO_NUMBER,
	SEF_INFO_FACTS,
	SEF_INFO_SIGNATURE, /* image version 2 on */
	SEF_INFO_CERT,
	SEF_INFO_APINFO,
	SEF_FACE_ENTRIES,   /* image version 3 on */
	SEF__COUNT
};

/* Which application is selected. */
enum card_df { DF_MF, DF_JPKI, DF_CARDINFO, DF_CARDFACE };

/* The chip's secret slots: rules' pin_kind (1..3), then the collation
 * numbers by enum card_match (the card-info AP's A and B, the card-face
 * AP's A and B).  Slot 0 is unused. */
#define CARD_SLOT_MATCH(m) (CARD_PIN_COUNT + 1 + (m))
#define CARD_PIN_SLOTS (CARD_PIN_COUNT + 1 + CARD_MATCH_COUNT)

struct card_pin_slot {
	uint8_t set;            /* 0 on a blank card */
	uint8_t tries;          /* tries left */
	uint8_t hash[32];       /* HMAC-SHA256(issuer key, kind || PIN) */
};

/* Longest answer the card chains with 61xx (a DER SubjectPublicKeyInfo of
 * an RSA-2048 key is 294 bytes). */
#define CARD_PENDING_MAX 1024

struct card {
	/* non-volatile memory: what the image holds */
	uint8_t serial[CARD_SERIAL_LEN];
	char serial_hex[CARD_SERIAL_HEX];
	enum card_kind kind;
	uint8_t issuer_key[CARD_ISSUER_KEY_LEN];
	struct card_pin_slot pin[CARD_PIN_SLOTS]; /* by slot */
	EVP_PKEY *key[3];                             /* by enum cert_type */
	struct jbuf ef[SEF__COUNT];

	/* where it is kept: NULL for a memory-only card */
	char *path;
	int lock_fd;

	/* session: lost on reset */
	enum card_df df;
	int ef_selected;
	uint16_t ef_id;
	int verified[CARD_PIN_SLOTS];
	uint8_t challenge[CARD_CHALLENGE_LEN];
	int challenge_valid;
	int issuer_ok;
	uint8_t pending[CARD_PENDING_MAX];
	size_t pending_len, pending_off;
};

/* HMAC-SHA256 of a PIN under the card's issuer key (issuer.c); slot as
 * above (for PINs, the pin_kind). */
int card_pin_hash(const struct card *c, int slot, const uint8_t *pin,
    size_t n, uint8_t out[32]);
/* A slot's full tries, and whether value has its format (image.c). */
int card_slot_tries(int slot);
int card_slot_format_ok(int slot, const char *value);
/* The largest content a stored EF may hold (CARD_EF_MAX, the card-face
 * EF CARD_FACE_EF_MAX). */
size_t card_stored_ef_max(enum card_stored_ef e);
/* BER-TLV through the bounded cursor (cardinfo.c): one- or two-byte tags
 * (the second byte below 80), lengths short, 81 xx or 82 xx xx.
 * card_tlv_header_len: the whole TLV's length from its first bytes. */
int card_tlv_next(struct cursor *c, unsigned *tag, struct cursor *value);

/* An RSA public key from its modulus and exponent (unsigned big-endian
 * octets, as the card-info certificate and the card face carry them), of
 * at most these sizes; else JPKI_ERR_INPUT with the message `what`
 * (cardinfo_sig.c). */
#define CARD_RSA_MODULUS_MAX 513
#define CARD_RSA_EXPONENT_MAX 8
int card_rsa_from(const struct cursor *n, const struct cursor *e,
    const char *what, EVP_PKEY **out);
int card_tlv_header_len(const uint8_t *p, size_t n, size_t *total);
int card_tlv_put(struct jbuf *b, unsigned tag, const void *p, size_t n);
/* Allocate an empty chip (memory only). */
int card_new_blank(struct card **out);

#endif
