/*
 * transport.c: the in-process transport (the applet called directly, over
 * an image file or a card the caller holds) and the one free function every
 * transport shares.
 */
#include "card/card_int.h"

#include <stdlib.h>
#include <string.h>

struct inproc {
	struct card *card;
	int owned;
};

static int
inproc_transmit(struct card_transport *t, const uint8_t *cmd, size_t n,
    uint8_t *resp, size_t *resp_len)
{
	struct inproc *ip = t->ctx;

	return card_apdu(ip->card, cmd, n, resp, resp_len);
}

static int
inproc_reset(struct card_transport *t, uint8_t *atr, size_t *atr_len)
{
	struct inproc *ip = t->ctx;

	t->client_app = 0;
	card_reset(ip->card);
	memcpy(atr, card_atr, card_atr_len);
	*atr_len = card_atr_len;
	return JPKI_OK;
}

static void
inproc_close(struct card_transport *t)
{
	struct inproc *ip = t->ctx;

	if (ip->owned)
		card_free(&ip->card);
	free(ip);
	free(t);
}

static int
inproc_new(struct card *c, int owned, struct card_transport **out)
{
	struct card_transport *t = calloc(1, sizeof(*t));
	struct inproc *ip = calloc(1, sizeof(*ip));

	if (t == NULL || ip == NULL) {
		free(t);
		free(ip);
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	}
	ip->card = c;
	ip->owned = owned;
	t->name = "in-process";
	t->transmit = inproc_transmit;
	t->reset = inproc_reset;
	t->close = inproc_close;
	t->ctx = ip;
	card_reset(c);
	*out = t;
	return JPKI_OK;
}

int
card_transport_card(struct card *c, struct card_transport **out)
{
	return inproc_new(c, 0, out);
}

int
card_transport_image(const char *path, struct card_transport **out)
{
	struct card *c;
	int r;

	*out = NULL;
	if ((r = card_image_load(path, &c)) != JPKI_OK)
		return r;
	if ((r = inproc_new(c, 1, out)) != JPKI_OK)
		card_free(&c);
	return r;
}

void
card_transport_free(struct card_transport **tp)
{
	if (tp == NULL || *tp == NULL)
		return;
	(*tp)->close(*tp);
	*tp = NULL;
}
