/*
 * counter_int.h: private to the counter procedures (cardops.c,
 * procedures.c, receipt.c, and forms.c for the test hook).  Not part of
 * the interface.
 */
#ifndef JPKI_COUNTER_INT_H
#define JPKI_COUNTER_INT_H

#include "counter/counter.h"

/* A card at the counter.  The image file is loaded and locked (held, so no
 * other process drives the chip meanwhile) and copied into a memory-only
 * chip (work) that the procedure drives over an in-process transport; the
 * file changes only when cardsess_stage() and cardsess_finish() write the
 * work chip out around the store commit. */
struct card_session {
	char path[512];
	char pending[540];
	struct card *held;          /* the loaded file; NULL for a new card */
	struct card *work;          /* memory only */
	struct card_transport *t;
	int is_new;
	int staged;                 /* pending written, not yet renamed */
};

/* Open an existing card image (after counter_card_recover()). */
int cardsess_open(struct ca *ca, const char *path, struct card_session *cs);
/* A blank My Number card that will be written at path (refused if path
 * exists). */
int cardsess_new(struct ca *ca, const char *path, struct card_session *cs);
/* Prove the issuer key to the work chip. */
int cardsess_issuer_auth(struct ca *ca, struct card_session *cs);
/* Write the work chip to <path>.pending (fsync); sha256 gets its hash. */
int cardsess_stage(struct card_session *cs, uint8_t sha256[32]);
/* After the commit: put the pending image in place (rename, fsync dir). */
int cardsess_finish(struct card_session *cs);
/* Drop everything; an unfinished pending image is deleted. */
void cardsess_close(struct card_session *cs);

/* Read a whole small file (at most max bytes). */
void counter_sha256(const uint8_t *p, size_t n, uint8_t out[32]);

/* Test-only: JPKI_COUNTER_PAUSE=FILE, see procedures.c. */
void counter_test_pause(void);

/* Record the receipt (row, fee lines, identity checks) in the open
 * transaction; sets rcpt->number. */
int receipt_record(struct ca *ca, const struct counter_visit *v,
    int64_t card_id, struct counter_receipt *rcpt);

#endif
