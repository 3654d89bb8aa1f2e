/*
 * pkcs11_record.h: private to the ca module.  The record a data directory
 * keeps of the PKCS#11 token holding its keys (<data>/ca/pkcs11): the
 * module, the token's label and each key's CKA_ID, never key material.
 *
 *   # comment
 *   module = /usr/lib/softhsm/libsofthsm2.so
 *   token = jpki-ca
 *   key sign-ca = 5f0c3a9e71d24b8c90aa13e4b7d6c2f1
 *
 * The text is read through a bounded cursor: every line, value and the
 * number of keys has a named limit, and anything else is refused with its
 * line number (fuzz/fuzz_pkcs11_record.c).
 */
#ifndef JPKI_CA_PKCS11_RECORD_H
#define JPKI_CA_PKCS11_RECORD_H

#include "base/base.h"

#define P11_RECORD_MAX 16384        /* bytes of the whole file */
#define P11_RECORD_LINE_MAX 1200
#define P11_RECORD_KEYS_MAX 72      /* keys, every generation of them:
                                       the card issuer's and 4 for each
                                       of CA_GEN_MAX (16) generations */
#define P11_KEY_NAME_MAX 48         /* "sign-ca", "sign-ca.gen2",
                                       [a-z0-9.-] */
#define P11_KEY_ID_MAX 32           /* CKA_ID bytes */
#define P11_TOKEN_LABEL_MAX 32      /* CK_TOKEN_INFO.label */

struct p11_record_key {
	char name[P11_KEY_NAME_MAX + 1];
	uint8_t id[P11_KEY_ID_MAX];
	size_t id_len;
};

struct p11_record {
	char module[JPKI_PATH_MAX];
	char token[P11_TOKEN_LABEL_MAX + 1];
	size_t nkeys;
	struct p11_record_key key[P11_RECORD_KEYS_MAX];
};

/* Parse a record (rec is zeroed first); JPKI_ERR_INPUT naming the line. */
int p11_record_parse(const uint8_t *text, size_t len, struct p11_record *rec);
/* The text of rec, appended to out. */
int p11_record_format(const struct p11_record *rec, struct jbuf *out);
/* The key called name, or NULL. */
const struct p11_record_key *p11_record_find(const struct p11_record *rec,
    const char *name);
/* 1 if s is a token label a record can hold (1 to 32 printable bytes). */
int p11_token_label_valid(const char *s);
/* 1 if s is a key name a record can hold. */
int p11_key_name_valid(const char *s);

#endif
