/*
 * cardops.c: a card at the counter, written all or nothing.
 *
 * A procedure must change the store and the card image together or not at
 * all, but a file and a database cannot share a transaction.  So the chip
 * is driven in memory, and its image is written in three steps around the
 * store commit:
 *
 *   1. stage:  the new image goes to <card>.pending and is fsync'd; its
 *              SHA-256 is recorded (card_images) inside the transaction.
 *   2. commit: the store transaction commits.
 *   3. finish: <card>.pending is renamed over <card> and the directory
 *              fsync'd.
 *
 * A crash before 2 leaves a pending file whose hash the store does not
 * know: it is deleted.  A crash between 2 and 3 leaves one the store
 * recorded: it is renamed into place.  counter_card_recover() makes that
 * decision at the card's next visit, before anything else reads the image.
 * A refusal never gets to step 1, so the image is untouched byte for byte.
 */
#include "counter/counter_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
counter_sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
	unsigned int len = 32;

	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

/* Write a card image durably, name included. */
static int
write_durable(const char *path, const uint8_t *p, size_t n)
{
	int r;

	if ((r = durable_write(path, p, n, 0600)) != JPKI_OK)
		return r;
	return durable_sync_dir_of(path);
}

static int recover_pending(struct datadir *dd, const char *card_path,
    int *repaired);

static int
set_paths(struct card_session *cs, const char *path)
{
	if (strlen(path) >= sizeof(cs->path))
		return jpki_fail(JPKI_ERR_INPUT, "card: path longer than %zu "
		    "bytes", sizeof(cs->path) - 1);
	snprintf(cs->path, sizeof(cs->path), "%s", path);
	snprintf(cs->pending, sizeof(cs->pending), "%s.pending", path);
	return JPKI_OK;
}

static int
load_master(struct datadir *dd, uint8_t master[CARD_ISSUER_KEY_LEN])
{
	char keypath[DATADIR_PATH_MAX];
	int r;

	if ((r = datadir_path(dd, DATADIR_ISSUER_MASTER_KEY, NULL, keypath,
	    sizeof(keypath))) != JPKI_OK)
		return r;
	return card_issuer_master_load(keypath, master);
}

/* Copy a chip into a memory-only one (never saved to any file). */
static int
copy_to_memory(const uint8_t *img, size_t n, struct card_session *cs)
{
	int r;

	if ((r = card_image_decode(img, n, &cs->work)) != JPKI_OK)
		return r;
	return card_transport_card(cs->work, &cs->t);
}

int
cardsess_open(struct ca *ca, const char *path, struct card_session *cs)
{
	struct jbuf img;
	int r, repaired = 0;

	memset(cs, 0, sizeof(*cs));
	if ((r = set_paths(cs, path)) != JPKI_OK)
		return r;
	/* A new card whose write was interrupted has only its pending
	 * image; nobody else can be writing it. */
	if (access(path, F_OK) != 0 &&
	    (r = recover_pending(ca_datadir(ca), path, &repaired)) != JPKI_OK)
		return r;
	if (access(path, F_OK) != 0)
		return jpki_fail(JPKI_ERR_NOTFOUND, "card: %s: no such card "
		    "image", path);
	/* Loading takes <card>.lock: nobody else drives the chip until we
	 * are done, and the file is checked as the card module checks it. */
	if ((r = card_image_load(path, &cs->held)) != JPKI_OK)
		return r;
	if ((r = recover_pending(ca_datadir(ca), path, &repaired)) != JPKI_OK)
		return r;
	/* After a roll-forward the file is newer than what was loaded; held
	 * stays only for its lock. */
	if (repaired == 1)
		r = file_read_all(path, CARD_IMAGE_MAX, &img);
	else
		r = card_image_encode(cs->held, &img);
	if (r != JPKI_OK)
		return r;
	r = copy_to_memory(img.data, img.len, cs);
	jbuf_free(&img);
	return r;
}

int
cardsess_new(struct ca *ca, const char *path, struct card_session *cs)
{
	uint8_t master[CARD_ISSUER_KEY_LEN];
	char blank[600];
	struct jbuf img;
	int r, repaired;

	memset(cs, 0, sizeof(*cs));
	jbuf_init(&img);
	if ((r = set_paths(cs, path)) != JPKI_OK)
		return r;
	cs->is_new = 1;
	if (access(path, F_OK) == 0)
		return jpki_fail(JPKI_ERR_CONFLICT, "%s already exists; a new "
		    "card never overwrites a file", path);
	/* An interrupted delivery to the same path: finish or undo it
	 * first (a finished one then exists and is not overwritten). */
	if ((r = recover_pending(ca_datadir(ca), path, &repaired)) != JPKI_OK)
		return r;
	if (access(path, F_OK) == 0)
		return jpki_fail(JPKI_ERR_CONFLICT, "%s already exists; a new "
		    "card never overwrites a file", path);
	if ((r = load_master(ca_datadir(ca), master)) != JPKI_OK)
		return r;
	/* The card module makes blank chips only as files: make one beside
	 * the target, read it back and remove it. */
	snprintf(blank, sizeof(blank), "%s.blank.%ld", path, (long)getpid());
	r = card_image_create(blank, CARD_MYNUMBER, master, NULL);
	jpki_wipe(master, sizeof(master));
	if (r != JPKI_OK)
		return r;
	r = file_read_all(blank, CARD_IMAGE_MAX, &img);
	unlink(blank);
	if (r != JPKI_OK)
		return r;
	r = copy_to_memory(img.data, img.len, cs);
	jbuf_free(&img);
	return r;
}

int
cardsess_issuer_auth(struct ca *ca, struct card_session *cs)
{
	uint8_t master[CARD_ISSUER_KEY_LEN];
	int r;

	if ((r = load_master(ca_datadir(ca), master)) != JPKI_OK)
		return r;
	r = card_client_issuer_auth(cs->t, master);
	jpki_wipe(master, sizeof(master));
	return r;
}

int
cardsess_stage(struct card_session *cs, uint8_t sha256[32])
{
	struct jbuf img;
	int r;

	if ((r = card_image_encode(cs->work, &img)) != JPKI_OK)
		return r;
	counter_sha256(img.data, img.len, sha256);
	if ((r = write_durable(cs->pending, img.data, img.len)) == JPKI_OK)
		cs->staged = 1;
	jbuf_free(&img);
	return r;
}

int
cardsess_finish(struct card_session *cs)
{
	int r;

	if (!cs->staged)
		return JPKI_OK;
	if (cs->is_new) {
		/* link() never overwrites a file that appeared meanwhile. */
		if (link(cs->pending, cs->path) != 0)
			return jpki_fail(JPKI_ERR_IO, "%s: %s (the card is "
			    "recorded; its image is in %s)", cs->path,
			    strerror(errno), cs->pending);
		unlink(cs->pending);
	} else if (rename(cs->pending, cs->path) != 0) {
		return jpki_fail(JPKI_ERR_IO, "%s: %s (the procedure is "
		    "recorded; the next visit finishes the card write)",
		    cs->path, strerror(errno));
	}
	cs->staged = 0;
	if ((r = durable_sync_dir_of(cs->path)) != JPKI_OK)
		return r;
	return JPKI_OK;
}

void
cardsess_close(struct card_session *cs)
{
	if (cs->staged)
		unlink(cs->pending);
	cs->staged = 0;
	card_transport_free(&cs->t);
	card_free(&cs->work);
	card_free(&cs->held);
}

/* Decide about <card>.pending.  The caller holds the card's lock (or the
 * image does not exist yet: a new card), so no procedure is between its
 * stage and its finish on this card right now. */
static int
recover_pending(struct datadir *dd, const char *card_path, int *repaired)
{
	struct store *s = datadir_store(dd);
	struct card_record rec;
	struct card *c = NULL;
	struct jbuf img;
	uint8_t have[32], want[32];
	char pending[600];
	int r, known;

	*repaired = 0;
	snprintf(pending, sizeof(pending), "%s.pending", card_path);
	if ((r = file_read_all(pending, CARD_IMAGE_MAX, &img)) ==
	    JPKI_ERR_NOTFOUND) {
		jpki_errclear();
		return JPKI_OK;
	}
	if (r != JPKI_OK)
		return r;
	counter_sha256(img.data, img.len, have);
	known = card_image_decode(img.data, img.len, &c) == JPKI_OK &&
	    store_card_by_serial(s, card_serial_hex(c), &rec) == JPKI_OK &&
	    store_card_image_get(s, rec.id, want) == JPKI_OK &&
	    jpki_ct_equal(have, want, 32);
	jpki_errclear();
	card_free(&c);
	jbuf_free(&img);
	if (known) {
		/* The procedure committed: finish its card write. */
		if (rename(pending, card_path) != 0)
			return jpki_fail(JPKI_ERR_IO, "%s: %s", card_path,
			    strerror(errno));
		if ((r = durable_sync_dir_of(card_path)) != JPKI_OK)
			return r;
	} else if (unlink(pending) != 0) {
		/* It never committed: the image as it was stands. */
		return jpki_fail(JPKI_ERR_IO, "%s: %s", pending,
		    strerror(errno));
	}
	*repaired = known ? 1 : 2;
	return JPKI_OK;
}

int
counter_card_recover(struct datadir *dd, const char *card_path,
    int *repaired)
{
	struct card *held = NULL;
	int r, done = 0;

	if (access(card_path, F_OK) == 0 &&
	    (r = card_image_load(card_path, &held)) != JPKI_OK)
		return r;
	r = recover_pending(dd, card_path, &done);
	card_free(&held);
	if (repaired != NULL)
		*repaired = done != 0;
	return r;
}
