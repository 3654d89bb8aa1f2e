/*
 * fuzz_pkcs11_record.c: libFuzzer target for the record of the PKCS#11
 * token holding a data directory's keys (<data>/ca/pkcs11,
 * src/ca/pkcs11_record.c).  Whatever it accepts must hold only what it
 * allows (a module path, a valid token label, valid key names, ids of 1 to
 * P11_KEY_ID_MAX bytes, no name twice) and must read back the same after
 * being written out again; nothing may read past the input.
 */
#include "ca/pkcs11_record.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct p11_record rec, again;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jbuf b;

	if (p11_record_parse(data, size, &rec) != JPKI_OK)
		return 0;
	if (rec.module[0] == '\0' || !p11_token_label_valid(rec.token) ||
	    rec.nkeys > P11_RECORD_KEYS_MAX)
		__builtin_trap();
	for (size_t i = 0; i < rec.nkeys; i++) {
		if (!p11_key_name_valid(rec.key[i].name) ||
		    rec.key[i].id_len == 0 ||
		    rec.key[i].id_len > P11_KEY_ID_MAX ||
		    p11_record_find(&rec, rec.key[i].name) != &rec.key[i])
			__builtin_trap();
	}
	jbuf_init(&b);
	if (p11_record_format(&rec, &b) != JPKI_OK ||
	    p11_record_parse(b.data, b.len, &again) != JPKI_OK ||
	    memcmp(&rec, &again, sizeof(rec)) != 0)
		__builtin_trap();
	jbuf_free(&b);
	return 0;
}
