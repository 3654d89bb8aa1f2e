/*
 * fuzz_cardface.c: libFuzzer target for the host's parser of the
 * card-face AP's EF 0002 (cardface.c) and the relying party's check of its
 * card issuer signature.  Properties: a refused EF leaves the face empty;
 * an accepted one encodes and parses back to the same fields; nothing the
 * fuzzer makes verifies under a trusted key it does not hold.
 */
#include "card/card_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

static int
same(const struct jbuf *a, const struct jbuf *b)
{
	return a->len == b->len && (a->len == 0 ||
	    memcmp(a->data, b->data, a->len) == 0);
}

static void
roundtrip(const struct card_face *f)
{
	struct card_face back;
	struct jbuf ef;

	card_face_init(&back);
	jbuf_init(&ef);
	if (f->signature.len == 0) {
		/* parsed but unsigned: not written */
		if (card_face_encode(f, &ef) == JPKI_OK)
			abort();
	} else if (card_face_encode(f, &ef) != JPKI_OK ||
	    card_face_parse(ef.data, ef.len, &back) != JPKI_OK ||
	    strcmp(f->birth, back.birth) != 0 ||
	    strcmp(f->sex, back.sex) != 0 ||
	    strcmp(f->expiry, back.expiry) != 0 ||
	    !same(&f->public_key, &back.public_key) ||
	    !same(&f->name, &back.name) || !same(&f->address, &back.address) ||
	    !same(&f->photo, &back.photo) || !same(&f->code, &back.code) ||
	    !same(&f->signature, &back.signature)) {
		abort();
	}
	card_face_free(&back);
	jbuf_free(&ef);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static EVP_PKEY *trusted;
	struct card_face f;

	if (trusted == NULL && (trusted = EVP_RSA_gen(2048)) == NULL)
		abort();
	card_face_init(&f);
	if (card_face_parse(data, size, &f) != JPKI_OK) {
		if (f.birth[0] != '\0' || f.photo.len != 0 || f.name.len != 0 ||
		    f.signature.len != 0 || f.header.len != 0)
			abort();
	} else {
		roundtrip(&f);
		/* with its own key it may verify only if the fuzzer signed
		 * it; with a key it does not hold, never */
		(void)card_face_verify(&f, NULL, NULL);
		if (card_face_verify(&f, trusted, NULL) == JPKI_OK)
			abort();
	}
	card_face_free(&f);
	jpki_errclear();
	return 0;
}
