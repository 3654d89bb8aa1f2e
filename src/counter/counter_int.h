/*
 * counter_int.h: private to the counter procedures (cardops.c,
 * procedures.c, receipt.c, and forms.c for the test hook).  Not part of
 * the interface.
 */
#ifndef JPKI_COUNTER_INT_H
#define JPKI_COUNTER_INT_H

#include "counter/counter.h"

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
	/* Both: what the chip says it is (a card in a reader: its serial over
	 * APDUs, its kind as the store records it, a My Number card if new). */
	char serial[CARD_SERIAL_HEX];
	enum card_kind kind;
	/* A card in a PC/SC reader (cardreader.c; docs/counter.md, "A card in
	 * a reader"): no image, no lock file, work is NULL and t drives the
	 * card itself.  The writes made in the transaction are recorded in
	 * `writes` (a JSON array), committed as a card_writes row
	 * (writes_id) and applied after the commit. */
	int in_reader;
	json_t *writes;
	int64_t writes_id;          /* committed, not yet applied */
	int rolled;                 /* earlier committed rows applied at open */
	char rolled_note[COUNTER_NOTE_MAX];
};

/* Open an existing card image, after finishing or undoing an interrupted
 * write on it. */
int counter_card_open(struct ca *ca, const char *path, struct card_session *cs);
/* A blank My Number card that will be written at path (refused if path
 * exists). */
int counter_card_new(struct ca *ca, const char *path, struct card_session *cs);
/* A card in the PC/SC reader `reader`: its serial read over APDUs and,
 * when roll_forward is set, every committed card_writes row of that serial
 * not yet applied applied first, each marked applied with a
 * counter.roll-forward audit entry by actor (cs->rolled counts them,
 * cs->rolled_note says which).  The dry run passes 0. */
int counter_card_open_reader(struct ca *ca, const char *reader,
    int roll_forward, const char *actor, struct card_session *cs);
/* A card in a reader to be written as a new card: one the store does not
 * know (a blank, or one whose delivery never committed). */
int counter_card_new_reader(struct ca *ca, const char *reader,
    const char *actor, struct card_session *cs);
/* Apply the committed rows for card_serial in the reader's session (what
 * counter_card_open_reader does; `jpki counter recover --reader`). */
int counter_card_roll_forward(struct ca *ca, struct card_session *cs,
    const char *actor);

/* What waits in card_writes for a card's serial (committed for a card in
 * a reader, not yet applied): how many rows, the first rows' receipts,
 * which kinds of EF their writes replace (COUNTER_WAIT_* bits). */
#define COUNTER_WAIT_RECEIPTS 4
#define COUNTER_WAIT_CERT 1
#define COUNTER_WAIT_INFO 2
#define COUNTER_WAIT_INFO_SIGNATURE 4
#define COUNTER_WAIT_FACE 8
struct counter_waiting {
	int rows;
	int64_t receipt[COUNTER_WAIT_RECEIPTS];
	unsigned ops;
};
int counter_card_writes_waiting(struct store *s, const char *serial,
    struct counter_waiting *w);
/* "receipt 12, 15" (the first COUNTER_WAIT_RECEIPTS, then "..."). */
void counter_waiting_receipts(const struct counter_waiting *w, char *buf,
    size_t n);

/* The card's writes, whichever the card is: an image's go to the memory
 * chip; a reader card's are recorded for after the commit. */
int counter_card_write_cert(struct card_session *cs, enum card_cert which,
    const uint8_t *der, size_t n);
int counter_card_write_info(struct card_session *cs,
    const struct card_info *info);
int counter_card_write_info_signature(struct card_session *cs,
    const struct jbuf *signature, const struct jbuf *cert,
    const struct jbuf *apinfo);
int counter_card_write_face(struct card_session *cs, const struct jbuf *ef);
/* In the transaction, for a reader card with writes recorded: the
 * card_writes row (receipt, now). */
int counter_card_record_writes(struct card_session *cs, struct store *s,
    int64_t receipt_id, int64_t now);
/* Whether the card-info or card-face AP is of an older layout or lacks its
 * collation numbers (card_info_outdated, card_face_outdated); a reader
 * card is read over APDUs, its APs opened with the individual number the
 * store holds for its holder. */
int counter_card_outdated(struct card_session *cs, struct store *s,
    int *outdated);
/* The same, by AP: info (the card-info AP or its issuer signature) and
 * face (the card-face AP); outdated is their or. */
int counter_card_outdated_parts(struct card_session *cs, struct store *s,
    int *info, int *face);
/* The photo of the card's face (JPKI_ERR_NOTFOUND: none); number opens a
 * reader card's face AP (collation number A). */
int counter_card_photo(struct card_session *cs, const char *number,
    struct jbuf *out);

/* The issuer master key of the data directory (caller wipes). */
int counter_card_load_master(struct datadir *dd,
    uint8_t master[CARD_ISSUER_KEY_LEN]);
/* After the commit, a reader card: its recorded writes applied over APDUs,
 * the row marked applied (cardreader.c). */
int counter_card_apply_recorded(struct card_session *cs);

/* Prove the issuer key to the work chip. */
int counter_card_issuer_auth(struct ca *ca, struct card_session *cs);
/* The card's security code (card_security_code), from the issuer master
 * key of the data directory and the serial of the card in the session. */
int counter_card_security_code(struct ca *ca, struct card_session *cs,
    char code[CARD_SECURITY_CODE_LEN + 1]);
/* Write the work chip to <card>.pending (via <card>.staging, fsync,
 * rename); sha256 gets its hash, for the transaction to record. */
int counter_card_stage(struct card_session *cs, uint8_t sha256[32]);
/* After the commit: put the pending image in place (rename, fsync dir);
 * a reader card: apply its recorded writes and mark them applied. */
int counter_card_finish(struct card_session *cs);
/* Drop everything and release the lock; a pending image not installed is
 * settled by what the store committed, as the next visit would. */
void counter_card_close(struct card_session *cs);

/* ---- the rules' inputs (decide.c) ---- *
 * What every procedure's rules are given, read from the store as it is
 * now, and their verdict: called by the procedure before its slow work and
 * again inside its transaction (where the answer counts), and by
 * counter_check() for the page before the clerk commits. */

/* The newest certificate of a type on a card, as rules see it. */
struct counter_existing {
	int found;
	struct cert_record last;      /* newest of the type (no der) */
	int have_valid;
	struct cert_record valid;     /* the valid one (no der) */
};

/* The resident's cards: the active one, and whether the newest card is a
 * lost one (then the next card is a reissue, R7). */
struct counter_cards {
	int have_active, have_lost;
	struct card_record active, lost;
};

struct counter_plan {
	/* in */
	enum procedure proc;
	int64_t now;
	int types;                    /* COUNTER_* asked for */
	int64_t resident_id;          /* new card; report-lost by resident */
	/* The card brought, as its chip answers (card_serial NULL: none). */
	const char *card_serial;
	enum card_kind card_kind;
	int pin_set;                  /* reset-pin: the PIN was ever set */
	int card_outdated;            /* update-card: the chip's facts or face
	                               * are of an older layout, or a new
	                               * photo is given */
	enum pin_kind pin_kind;       /* reset-pin */
	/* out: what was read */
	struct resident res;
	int have_res;
	struct card_record card;      /* the card brought (or the active one) */
	int have_card;
	struct counter_cards cards;   /* new card: the resident's cards */
	struct counter_existing x[3]; /* issue, renew: by enum cert_type */
	/* out: what the rules allow */
	int return_expired;           /* deliver: the expired card comes back */
	int sign, auth;               /* new card: the certificates loaded */
	char note[COUNTER_NOTE_MAX];  /* R8e: why the signing one is left out */
};

/* Fill the plan's outputs from the store and judge every rule of the
 * plan's procedure; JPKI_OK or the refusal in the rule's words.  Reads
 * only. */
int counter_plan_decide(struct store *s, struct counter_plan *p);

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
