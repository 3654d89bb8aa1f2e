/*
 * fuzz_jp2.c: libFuzzer target for the JPEG 2000 decoder the host runs on
 * the card face's photo (jp2.c, over OpenJPEG).  Properties: an accepted
 * image is within the named limits (CARD_JP2_SIDE_MAX a side,
 * CARD_JP2_PIXELS_MAX in all) with its pixels there; a refused one leaves
 * nothing; input longer than CARD_FACE_IMAGE_MAX is refused unread.
 */
#include "card/card.h"

#include <stdlib.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct card_pixels px;
	int r = card_jp2_decode(data, size, &px);

	if (r == JPKI_OK) {
		if (size > CARD_FACE_IMAGE_MAX || px.rgb == NULL ||
		    px.width < 1 || px.height < 1 ||
		    px.width > CARD_JP2_SIDE_MAX ||
		    px.height > CARD_JP2_SIDE_MAX ||
		    (size_t)px.width * (size_t)px.height > CARD_JP2_PIXELS_MAX)
			abort();
		/* every pixel was written: reading them is defined */
		volatile uint8_t sum = 0;
		for (size_t i = 0; i < (size_t)px.width * px.height * 3; i++)
			sum = (uint8_t)(sum + px.rgb[i]);
		(void)sum;
	} else if (px.rgb != NULL || px.width != 0) {
		abort();
	}
	card_pixels_free(&px);
	jpki_errclear();
	return 0;
}
