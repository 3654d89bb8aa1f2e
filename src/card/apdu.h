/*
 * apdu.h: the APDU codec shared by the applet and the client (private to
 * the card module).
 */
#ifndef JPKI_CARD_APDU_H
#define JPKI_CARD_APDU_H

#include "card/card.h"

struct apdu {
	uint8_t cla, ins, p1, p2;
	const uint8_t *data; /* lc bytes, inside the command buffer */
	size_t lc;           /* 0..255 */
	int has_le;
	size_t le;           /* 1..256 when has_le */
};

/* Decode a short APDU.  SW_OK, or SW_WRONG_LENGTH for anything that is not
 * one of the four ISO cases with short lengths. */
int card_apdu_parse(const uint8_t *cmd, size_t n, struct apdu *a);

/* A response under construction in a buffer of APDU_RESP_MAX bytes. */
struct apdu_resp {
	uint8_t *buf;
	size_t len;
	uint16_t sw;
};

void card_apdu_resp_sw(struct apdu_resp *r, uint16_t sw);
/* Append data; -1 if it would not leave room for SW1 SW2. */
int card_apdu_resp_put(struct apdu_resp *r, const void *p, size_t n);
/* Append SW1 SW2. */
void card_apdu_resp_finish(struct apdu_resp *r);

#endif
