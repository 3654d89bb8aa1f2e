/*
 * pcsc.c: the PC/SC transport through libpcsclite: a real My Number card in
 * a real reader, or the emulator in pcscd's vpcd reader.  Readers are named
 * by prefix, so "Virtual PCD" finds "Virtual PCD 00 00".
 */
#include "card/card_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>

/* Longest list of reader names we look at. */
#define PCSC_READERS_MAX 4096
/* How long an open waits for another program's hold on the card to end
 * (a procedure's exclusive connection, or, for an exclusive open, others'
 * shared ones: OpenSC, a card list), and how often it tries. */
#define PCSC_EXCLUSIVE_WAIT_MS 3000
#define PCSC_EXCLUSIVE_POLL_MS 100

struct pcsc {
	SCARDCONTEXT ctx;
	SCARDHANDLE card;
	DWORD protocol;
	int exclusive;
};

static int
pcsc_err(const char *what, LONG rv)
{
	/* The card gone or reset under an open session: whatever was
	 * selected or verified is lost, so the session cannot go on. */
	if (rv == (LONG)SCARD_W_REMOVED_CARD || rv == (LONG)SCARD_E_NO_SMARTCARD)
		return jpki_fail(JPKI_ERR_IO, "PC/SC %s: the card was taken out "
		    "of the reader", what);
	if (rv == (LONG)SCARD_W_RESET_CARD)
		return jpki_fail(JPKI_ERR_IO, "PC/SC %s: the card was reset by "
		    "another program", what);
	if (rv == (LONG)SCARD_E_NOT_TRANSACTED)
		return jpki_fail(JPKI_ERR_IO, "PC/SC %s: the card stopped "
		    "answering (taken out of the reader, or the reader "
		    "failed)", what);
	if (rv == (LONG)SCARD_E_SHARING_VIOLATION)
		return jpki_fail(JPKI_ERR_CONFLICT, "PC/SC %s: the card is in "
		    "use by another program", what);
	return jpki_fail(rv == (LONG)SCARD_E_NO_SERVICE ? JPKI_ERR_NOTFOUND :
	    JPKI_ERR_IO, "PC/SC %s: %s", what, pcsc_stringify_error(rv));
}

/* A transmit failed with rv: the reader's driver may only say the
 * exchange failed (vpcd: "Transaction failed") when the card was taken
 * out or reset; the card's state says which. */
static LONG
pcsc_why(struct pcsc *p, LONG rv)
{
	BYTE atr[MAX_ATR_SIZE];
	DWORD alen = sizeof(atr), state = 0, proto, rlen = 0;
	LONG st;

	if (rv == (LONG)SCARD_W_REMOVED_CARD || rv == (LONG)SCARD_W_RESET_CARD)
		return rv;
	st = SCardStatus(p->card, NULL, &rlen, &state, &proto, atr, &alen);
	if (st == (LONG)SCARD_W_REMOVED_CARD || st == (LONG)SCARD_W_RESET_CARD ||
	    st == (LONG)SCARD_E_NO_SMARTCARD)
		return st;
	if (st == SCARD_S_SUCCESS && (state & SCARD_PRESENT) == 0)
		return SCARD_W_REMOVED_CARD;
	return rv;
}

/* Connect to the card in reader n, shared or exclusive, waiting up to
 * PCSC_EXCLUSIVE_WAIT_MS for a sharing violation to end unless nowait. */
static LONG
pcsc_connect(SCARDCONTEXT ctx, const char *n, unsigned flags, struct pcsc *p)
{
	LONG rv;

	for (int waited = 0;; waited += PCSC_EXCLUSIVE_POLL_MS) {
		rv = SCardConnect(ctx, n, (flags & CARD_PCSC_EXCLUSIVE) ?
		    SCARD_SHARE_EXCLUSIVE : SCARD_SHARE_SHARED,
		    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &p->card,
		    &p->protocol);
		if (rv != (LONG)SCARD_E_SHARING_VIOLATION ||
		    (flags & CARD_PCSC_NOWAIT) ||
		    waited >= PCSC_EXCLUSIVE_WAIT_MS)
			return rv;
		usleep(PCSC_EXCLUSIVE_POLL_MS * 1000);
	}
}

static int
pcsc_transmit(struct card_transport *t, const uint8_t *cmd, size_t n,
    uint8_t *resp, size_t *resp_len)
{
	struct pcsc *p = t->ctx;
	const SCARD_IO_REQUEST *pci = p->protocol == SCARD_PROTOCOL_T0 ?
	    SCARD_PCI_T0 : SCARD_PCI_T1;
	DWORD len = APDU_RESP_MAX;
	LONG rv;

	rv = SCardTransmit(p->card, pci, cmd, (DWORD)n, NULL, resp, &len);
	if (rv != SCARD_S_SUCCESS)
		return pcsc_err("transmit", pcsc_why(p, rv));
	if (len < 2)
		return jpki_fail(JPKI_ERR_IO, "PC/SC: response without SW");
	*resp_len = len;
	return JPKI_OK;
}

static int
pcsc_reset(struct card_transport *t, uint8_t *atr, size_t *atr_len)
{
	struct pcsc *p = t->ctx;
	BYTE buf[MAX_ATR_SIZE];
	DWORD alen = sizeof(buf), state, proto, rlen = 0;
	LONG rv;

	t->client_app = 0;
	rv = SCardReconnect(p->card, p->exclusive ? SCARD_SHARE_EXCLUSIVE :
	    SCARD_SHARE_SHARED,
	    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, SCARD_RESET_CARD,
	    &p->protocol);
	if (rv != SCARD_S_SUCCESS)
		return pcsc_err("reset", rv);
	rv = SCardStatus(p->card, NULL, &rlen, &state, &proto, buf, &alen);
	if (rv != SCARD_S_SUCCESS)
		return pcsc_err("status", rv);
	if (alen > CARD_ATR_MAX)
		return jpki_fail(JPKI_ERR_IO, "PC/SC: ATR too long");
	memcpy(atr, buf, alen);
	*atr_len = alen;
	return JPKI_OK;
}

static void
pcsc_close(struct card_transport *t)
{
	struct pcsc *p = t->ctx;

	SCardDisconnect(p->card, SCARD_LEAVE_CARD);
	SCardReleaseContext(p->ctx);
	free(p);
	free(t);
}

int
card_transport_pcsc(const char *reader, struct card_transport **out)
{
	return card_transport_pcsc_open(reader, 0, out);
}

int
card_transport_pcsc_open(const char *reader, unsigned flags,
    struct card_transport **out)
{
	struct card_transport *t = NULL;
	struct pcsc *p = NULL;
	char *names = NULL;
	DWORD len = 0;
	LONG rv = SCARD_E_UNKNOWN_READER;
	SCARDCONTEXT ctx = 0;
	int have_ctx = 0, r;

	*out = NULL;
	if ((rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL,
	    &ctx)) != SCARD_S_SUCCESS)
		return pcsc_err("no pcscd", rv);
	have_ctx = 1;
	if ((rv = SCardListReaders(ctx, NULL, NULL, &len)) != SCARD_S_SUCCESS) {
		r = pcsc_err("list readers", rv);
		goto fail;
	}
	if (len == 0 || len > PCSC_READERS_MAX ||
	    (names = calloc(1, len + 1)) == NULL ||
	    (p = calloc(1, sizeof(*p))) == NULL ||
	    (t = calloc(1, sizeof(*t))) == NULL) {
		r = jpki_fail(JPKI_ERR_NOMEM, "PC/SC: reader list");
		goto fail;
	}
	if ((rv = SCardListReaders(ctx, NULL, names, &len)) !=
	    SCARD_S_SUCCESS) {
		r = pcsc_err("list readers", rv);
		goto fail;
	}
	rv = SCARD_E_UNKNOWN_READER;
	for (const char *n = names; *n != '\0'; n += strlen(n) + 1) {
		if (reader != NULL && *reader != '\0' &&
		    strncmp(n, reader, strlen(reader)) != 0)
			continue;
		rv = pcsc_connect(ctx, n, flags, p);
		if (rv == SCARD_S_SUCCESS || rv ==
		    (LONG)SCARD_E_SHARING_VIOLATION)
			break;
	}
	if (rv == (LONG)SCARD_E_SHARING_VIOLATION) {
		r = jpki_fail(JPKI_ERR_CONFLICT, "PC/SC: the card in a reader "
		    "named '%s...' is in use by another program", reader ?
		    reader : "");
		goto fail;
	}
	if (rv != SCARD_S_SUCCESS) {
		r = jpki_fail(JPKI_ERR_NOTFOUND,
		    "PC/SC: no card in a reader named '%s...' (%s)",
		    reader ? reader : "", pcsc_stringify_error(rv));
		goto fail;
	}
	p->ctx = ctx;
	p->exclusive = (flags & CARD_PCSC_EXCLUSIVE) != 0;
	have_ctx = 0;
	t->name = "pcsc";
	t->transmit = pcsc_transmit;
	t->reset = pcsc_reset;
	t->close = pcsc_close;
	t->ctx = p;
	*out = t;
	t = NULL;
	p = NULL;
	r = JPKI_OK;
fail:
	if (have_ctx)
		SCardReleaseContext(ctx);
	free(names);
	free(p);
	free(t);
	return r;
}
