/*
 * fuzz_card_image.c: libFuzzer target for the card image loader.  Each
 * input is decoded as a whole file (where the checksum stops almost
 * everything) and as the body of a version 1 and of a version 2 file
 * given a correct header and checksum, so the record parser and the key
 * decoding are reached too.
 * Whatever decodes must encode and decode again to the same bytes.
 */
#include "card/card.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

static void
roundtrip(struct card *c)
{
	struct jbuf a, b;
	struct card *d = NULL;

	if (card_image_encode(c, &a) != JPKI_OK)
		abort();
	if (card_image_decode(a.data, a.len, &d) != JPKI_OK ||
	    card_image_encode(d, &b) != JPKI_OK || a.len != b.len ||
	    memcmp(a.data, b.data, a.len) != 0)
		abort();
	jbuf_free(&a);
	jbuf_free(&b);
	card_free(&d);
}

/* The input as the body of an image of the given format version. */
static void
as_body(const uint8_t *data, size_t size, uint16_t version)
{
	struct card *c = NULL;
	struct jbuf file;
	uint8_t digest[32];

	jbuf_init(&file);
	jbuf_put(&file, "JPKICARD", 8);
	jbuf_put_u16be(&file, version);
	jbuf_put_u32be(&file, (uint32_t)size);
	jbuf_put(&file, data, size);
	SHA256(file.data, file.len, digest);
	jbuf_put(&file, digest, sizeof(digest));
	if (card_image_decode(file.data, file.len, &c) == JPKI_OK) {
		roundtrip(c);
		card_free(&c);
	}
	jbuf_free(&file);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct card *c = NULL;

	if (card_image_decode(data, size, &c) == JPKI_OK) {
		roundtrip(c);
		card_free(&c);
	}
	if (size > CARD_IMAGE_MAX)
		return 0;
	/* version 1 (no collation numbers) and version 2 */
	as_body(data, size, 1);
	as_body(data, size, 2);
	return 0;
}
