/*
 * fuzz_apdu.c: libFuzzer target for the applet, card_apdu().  The input is
 * a session: a sequence of command APDUs, each a length byte and that many
 * bytes, sent to a personalised card (PINs of card_fixture.h) decoded fresh
 * from an image in memory for every input, so nothing persists between
 * runs.  Every answer must be a well-formed response of 2..APDU_RESP_MAX
 * bytes; sanitizers catch the rest.
 */
#include "../tests/unit/card/card_fixture.h"

#include <stdint.h>
#include <stdlib.h>

/* Commands per input: enough for select, verify, select, sign, chains. */
#define FUZZ_APDUS_MAX 64

static struct jbuf image;

static int
load_image_once(void)
{
	uint8_t master[CARD_ISSUER_KEY_LEN];
	char path[512], *dir;
	struct card *c = NULL;
	int ok;

	if (image.len > 0)
		return 1;
	if ((dir = fixture_dir()) == NULL || fixture_master(dir, master) != 0 ||
	    fixture_card_image(dir, master, path) != 0 ||
	    card_image_load(path, &c) != JPKI_OK)
		abort();
	ok = card_image_encode(c, &image) == JPKI_OK;
	card_free(&c);
	fixture_rmdir(dir);
	if (!ok)
		abort();
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor in;
	struct card *c = NULL;
	uint8_t resp[APDU_RESP_MAX];
	int count = 0;

	load_image_once();
	if (card_image_decode(image.data, image.len, &c) != JPKI_OK)
		abort();
	cursor_init(&in, data, size);
	while (cursor_left(&in) > 0 && count++ < FUZZ_APDUS_MAX) {
		const uint8_t *cmd;
		uint8_t len;
		size_t rlen = 0;

		if (cursor_get_u8(&in, &len) != JPKI_OK)
			break;
		if (len == 0) {
			card_reset(c);
			continue;
		}
		if (cursor_take(&in, &cmd, len) != JPKI_OK)
			break;
		if (card_apdu(c, cmd, len, resp, &rlen) != JPKI_OK ||
		    rlen < 2 || rlen > APDU_RESP_MAX)
			abort();
	}
	card_free(&c);
	return 0;
}
