/*
 * counter_int.h: private to the counter procedures (cardops.c,
 * procedures.c, receipt.c, and forms.c for the test hook).  Not part of
 * the interface.
 */
#ifndef JPKI_COUNTER_INT_H
#define JPKI_COUNTER_INT_H

#include "counter/counter.h"

/* A paragraph drawn by Pango in the notices' font (notice_pdf.c): at
 * (x, y), wrapped within w (0: no wrapping), size in points; its height. */
typedef struct _cairo cairo_t;
double counter_pdf_text(cairo_t *cr, double x, double y, double w,
    double size, int bold, int align_right, const char *text);

/* The names of one card's files: the image, the staged image waiting for
 * the commit, and the file it is written to before it is staged. */
struct card_names {
	char card[JPKI_PATH_MAX], pending[JPKI_PATH_MAX];
	char staging[JPKI_PATH_MAX];
};

/* A card at the counter.  The card's lock (<card>.lock) is held from open
 * to close, so no other process drives the chip meanwhile; the image is
 * read into a memory-only chip (work) that the procedure drives over an
 * in-process transport; the file changes only when counter_card_stage() and
 * counter_card_finish() write the work chip out around the store commit
 * (cardops.c, docs/counter.md). */
struct card_session {
	struct ca *ca;
	struct card_names n;
	int lock_fd;
	struct card *work;          /* memory only */
	struct card_transport *t;
	int is_new;
	int staged;                 /* <card>.pending written, not installed */
};

/* Open an existing card image, after finishing or undoing an interrupted
 * write on it. */
int counter_card_open(struct ca *ca, const char *path, struct card_session *cs);
/* A blank My Number card that will be written at path (refused if path
 * exists). */
int counter_card_new(struct ca *ca, const char *path, struct card_session *cs);
/* Prove the issuer key to the work chip. */
int counter_card_issuer_auth(struct ca *ca, struct card_session *cs);
/* The card's security code (card_security_code), from the issuer master
 * key of the data directory and the serial of the card in the session. */
int counter_card_security_code(struct ca *ca, struct card_session *cs,
    char code[CARD_SECURITY_CODE_LEN + 1]);
/* Write the work chip to <card>.pending (via <card>.staging, fsync,
 * rename); sha256 gets its hash, for the transaction to record. */
int counter_card_stage(struct card_session *cs, uint8_t sha256[32]);
/* After the commit: put the pending image in place (rename, fsync dir). */
int counter_card_finish(struct card_session *cs);
/* Drop everything and release the lock; a pending image not installed is
 * settled by what the store committed, as the next visit would. */
void counter_card_close(struct card_session *cs);

/* Test builds only (-DJPKI_TEST_HOOKS=ON): with JPKI_COUNTER_CRASH set
 * to a point's name, or to k (the k-th point this process reaches), the
 * process kills itself there with SIGKILL, as a power cut would.  The
 * points are the steps of the card write (docs/counter.md).  Other builds
 * have no hook. */
#ifdef JPKI_TEST_HOOKS
void counter_crash_point(const char *point);
#else
static inline void
counter_crash_point(const char *point)
{
	(void)point;
}
#endif

/* SHA-256 of p[0..n). */
void counter_sha256(const uint8_t *p, size_t n, uint8_t out[32]);

/* Test builds only: JPKI_COUNTER_PAUSE=FILE (procedures.c) stops the first
 * procedure between its slow work and its transaction until FILE is
 * removed.  Other builds have no hook. */
#ifdef JPKI_TEST_HOOKS
void counter_test_pause(void);
#else
static inline void
counter_test_pause(void)
{
}
#endif

/* Record the receipt (row, fee lines, identity checks) in the open
 * transaction; sets rcpt->number. */
int counter_receipt_record(struct ca *ca, const struct counter_visit *v,
    int64_t card_id, struct counter_receipt *rcpt);

/* The card face's images (face.c) into f: name, address and security
 * code rendered as greyscale PNG; the photo from photo_path (PNG or JPEG
 * 2000), else keep_photo (the card's own, may be NULL), else a drawn
 * placeholder, as JPEG 2000. */
int counter_face_images(const char *name, const char *address,
    const char *code, const char *photo_path, const struct jbuf *keep_photo,
    struct card_face *f);

#endif
