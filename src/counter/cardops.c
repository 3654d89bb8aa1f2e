/*
 * cardops.c: a card at the counter, written all or nothing.
 *
 * A procedure must change the store and the card image together or not at
 * all, but a file and a database cannot share a transaction.  So the chip
 * is driven in memory, under the card's lock (<card>.lock, held from open
 * to close), and its new image goes through names that each come into
 * being by one rename, around the store commit (docs/counter.md):
 *
 *   1. stage:   the image is written to <card>.staging (a fresh file: a
 *               leftover is unlinked first) and fsync'd, then renamed to
 *               <card>.pending; its SHA-256 is recorded in card_images
 *               inside the transaction.
 *   2. commit:  the store transaction commits.
 *   3. install: <card>.pending is renamed over <card> (a new card: renamed
 *               to a name that must not exist, never overwriting a file)
 *               and the directory fsync'd.
 *
 * So <card> and <card>.pending are always whole images, never two names of
 * one file, and nothing is ever written through either name.  What a
 * crash leaves is settled under the lock at the card's next visit, by what
 * the store committed: a pending image whose hash is the one recorded for
 * its card is installed, any other is deleted, and a staging file is
 * always deleted (the store never knew it).  A refusal never gets to
 * step 1, so the image is untouched byte for byte.
 */
#include "counter/counter_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/evp.h>
#include <signal.h>
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

#ifdef JPKI_TEST_HOOKS
void
counter_crash_point(const char *point)
{
	static int reached;
	const char *v = getenv("JPKI_COUNTER_CRASH");
	char *end;
	long k;

	reached++;
	if (v == NULL || *v == '\0')
		return;
	k = strtol(v, &end, 10);
	if (*end == '\0' ? k != reached : strcmp(v, point) != 0)
		return;
	fprintf(stderr, "jpki: test hook: killed at crash point %d (%s)\n",
	    reached, point);
	raise(SIGKILL);
}
#endif

static int
card_names(const char *path, struct card_names *n)
{
	int r;

	if ((r = jpki_path(n->card, sizeof(n->card), "%s", path)) ||
	    (r = jpki_path(n->pending, sizeof(n->pending), "%s.pending",
	    path)) ||
	    (r = jpki_path(n->staging, sizeof(n->staging), "%s.staging", path)))
		return r;
	return JPKI_OK;
}

/* Blank chips were once made as files beside the card (<card>.blank.PID,
 * and <card>.blank.PID.new.PID inside that); a run killed then left them
 * behind.  Only a holder of the card's lock calls this. */
static void
remove_old_blanks(const char *card_path)
{
	char dir[JPKI_PATH_MAX], base[JPKI_PATH_MAX], prefix[JPKI_PATH_MAX];
	struct dirent *e;
	size_t n;
	DIR *d;

	if (jpki_path(dir, sizeof(dir), "%s", card_path) ||
	    jpki_path(base, sizeof(base), "%s", card_path) ||
	    jpki_path(prefix, sizeof(prefix), "%s.blank.", basename(base))) {
		jpki_errclear();
		return;
	}
	n = strlen(prefix);
	if (n > NAME_MAX - 1 || (d = opendir(dirname(dir))) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, n) == 0 &&
		    e->d_name[n] >= '0' && e->d_name[n] <= '9')
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

/* *known = 1 if img is the image the store committed for its card.  Only
 * a definite answer counts: a store that cannot be read is an error, and
 * the pending image stays for the next visit. */
static int
pending_committed(struct store *s, const struct jbuf *img,
    char serial[CARD_SERIAL_HEX], int *known)
{
	struct card_record rec;
	struct card *c = NULL;
	uint8_t have[32], want[32];
	int r;

	*known = 0;
	if (card_image_decode(img->data, img->len, &c) != JPKI_OK) {
		/* Not a whole image (an older version wrote it in place):
		 * never committed. */
		jpki_errclear();
		return JPKI_OK;
	}
	snprintf(serial, CARD_SERIAL_HEX, "%s", card_serial_hex(c));
	card_free(&c);
	if ((r = store_card_by_serial(s, serial, &rec)) == JPKI_OK)
		r = store_card_image_get(s, rec.id, want);
	if (r == JPKI_ERR_NOTFOUND) {
		jpki_errclear();
		return JPKI_OK;
	}
	if (r != JPKI_OK)
		return r;
	counter_sha256(img->data, img->len, have);
	*known = jpki_ct_equal(have, want, 32);
	return JPKI_OK;
}

/* Put the pending image of card `serial` in place: over the card's image
 * (one rename), or for a new card where no file may appear meanwhile.  A
 * file there that is another card is never overwritten; a damaged one is,
 * by the image the store committed. */
static int
install_pending(const struct card_names *n, const char *serial)
{
	struct card *live = NULL;
	int r;

	r = card_image_read(n->card, &live);
	if (r == JPKI_ERR_NOTFOUND) {
		jpki_errclear();
		return card_image_install_new(n->pending, n->card);
	}
	if (r == JPKI_OK && strcmp(card_serial_hex(live), serial) != 0)
		r = jpki_fail(JPKI_ERR_CONFLICT, "%s holds card %s, but the "
		    "counter's write of card %s waits in %s: move one of them "
		    "and run recover again", n->card, card_serial_hex(live),
		    serial, n->pending);
	card_free(&live);
	if (r != JPKI_OK && r != JPKI_ERR_INPUT)
		return r;
	jpki_errclear();
	if (rename(n->pending, n->card) != 0)
		return jpki_fail(JPKI_ERR_IO, "%s: %s", n->card,
		    strerror(errno));
	return durable_sync_dir_of(n->card);
}

/* Finish or undo whatever a run killed on this card left, by what the
 * store committed.  The caller holds the card's lock, so no procedure is
 * between its stage and its install on this card right now.  *outcome:
 * 0 nothing to do, 1 a committed image installed, 2 an uncommitted one
 * deleted. */
static int
settle_pending(struct datadir *dd, const struct card_names *n, int *outcome)
{
	struct stat ps, cs;
	struct jbuf img;
	char serial[CARD_SERIAL_HEX];
	int r, known;

	*outcome = 0;
	remove_old_blanks(n->card);
	/* The store never knew a staging file's image. */
	if (unlink(n->staging) != 0 && errno != ENOENT)
		return jpki_fail(JPKI_ERR_IO, "%s: %s", n->staging,
		    strerror(errno));
	if (lstat(n->pending, &ps) != 0) {
		if (errno == ENOENT)
			return JPKI_OK;
		return jpki_fail(JPKI_ERR_IO, "%s: %s", n->pending,
		    strerror(errno));
	}
	/* Two names for one file: an install by link() (or an older
	 * version's) cut short before its unlink.  The card already is the
	 * image; only the second name goes. */
	if (stat(n->card, &cs) == 0 && cs.st_dev == ps.st_dev &&
	    cs.st_ino == ps.st_ino) {
		if (unlink(n->pending) != 0)
			return jpki_fail(JPKI_ERR_IO, "%s: %s", n->pending,
			    strerror(errno));
		*outcome = 1;
		return durable_sync_dir_of(n->card);
	}
	if ((r = file_read_all(n->pending, CARD_IMAGE_MAX, &img)) != JPKI_OK)
		return r;
	r = pending_committed(datadir_store(dd), &img, serial, &known);
	jbuf_free(&img);
	if (r != JPKI_OK)
		return r;
	if (known) {
		/* The procedure committed: finish its card write. */
		if ((r = install_pending(n, serial)) != JPKI_OK)
			return r;
		counter_crash_point("recovered");
		*outcome = 1;
		return JPKI_OK;
	}
	/* It never committed: the image as it was stands. */
	if (unlink(n->pending) != 0)
		return jpki_fail(JPKI_ERR_IO, "%s: %s", n->pending,
		    strerror(errno));
	counter_crash_point("recovered");
	*outcome = 2;
	return JPKI_OK;
}

int
counter_card_load_master(struct datadir *dd,
    uint8_t master[CARD_ISSUER_KEY_LEN])
{
	char keypath[JPKI_PATH_MAX];
	int r;

	if ((r = datadir_path(dd, DATADIR_ISSUER_MASTER_KEY, NULL, keypath,
	    sizeof(keypath))) != JPKI_OK)
		return r;
	return card_issuer_master_load(keypath, master);
}

static int
session_init(struct ca *ca, const char *path, struct card_session *cs)
{
	memset(cs, 0, sizeof(*cs));
	cs->ca = ca;
	cs->lock_fd = -1;
	return card_names(path, &cs->n);
}

/* Writes committed for this card's serial while it was in a reader (its
 * image attached to vpcd, or the same card) and not applied yet: the
 * image lacks what the store says the card holds.  They are applied over
 * APDUs, by the roll-forward of a reader session, never into an image
 * behind the reader's back; until then the image is not used. */
static int
refuse_waiting(struct ca *ca, struct card_session *cs)
{
	struct counter_waiting w;
	char receipts[96];
	int r;

	if ((r = counter_card_writes_waiting(datadir_store(ca_datadir(ca)),
	    cs->serial, &w)) != JPKI_OK || w.rows == 0)
		return r;
	counter_waiting_receipts(&w, receipts, sizeof(receipts));
	return jpki_fail(JPKI_ERR_CONFLICT, "card %s: the card writes of "
	    "receipt %s, committed for it in a reader, are not on it yet; "
	    "put the card in a reader and run 'jpki counter recover --reader "
	    "NAME' first", cs->serial, receipts);
}

static int
image_open(struct ca *ca, const char *path, struct card_session *cs)
{
	int r, outcome;

	if ((r = session_init(ca, path, cs)) != JPKI_OK)
		return r;
	/* Nothing there at all: say so before making a lock file. */
	if (access(path, F_OK) != 0 && access(cs->n.pending, F_OK) != 0)
		return jpki_fail(JPKI_ERR_NOTFOUND, "card: %s: no such card "
		    "image", path);
	/* Nobody else drives the chip until we are done, and an
	 * interrupted write is finished or undone before it is read. */
	if ((r = card_image_lock(path, &cs->lock_fd)) != JPKI_OK ||
	    (r = settle_pending(ca_datadir(ca), &cs->n, &outcome)) != JPKI_OK)
		return r;
	if ((r = card_image_read(path, &cs->work)) == JPKI_ERR_NOTFOUND)
		return jpki_fail(JPKI_ERR_NOTFOUND, "card: %s: no such card "
		    "image", path);
	if (r != JPKI_OK)
		return r;
	snprintf(cs->serial, sizeof(cs->serial), "%s",
	    card_serial_hex(cs->work));
	cs->kind = card_kind_of(cs->work);
	if ((r = refuse_waiting(ca, cs)) != JPKI_OK)
		return r;
	return card_transport_card(cs->work, &cs->t);
}

static int
image_new(struct ca *ca, const char *path, struct card_session *cs)
{
	uint8_t master[CARD_ISSUER_KEY_LEN];
	int r, outcome;

	if ((r = session_init(ca, path, cs)) != JPKI_OK)
		return r;
	cs->is_new = 1;
	if (access(path, F_OK) == 0)
		return jpki_fail(JPKI_ERR_CONFLICT, "%s already exists; a new "
		    "card never overwrites a file", path);
	/* An interrupted delivery to the same path: finish or undo it
	 * first (a finished one then exists and is not overwritten). */
	if ((r = card_image_lock(path, &cs->lock_fd)) != JPKI_OK ||
	    (r = settle_pending(ca_datadir(ca), &cs->n, &outcome)) != JPKI_OK)
		return r;
	if (access(path, F_OK) == 0)
		return jpki_fail(JPKI_ERR_CONFLICT, "%s already exists; a new "
		    "card never overwrites a file", path);
	if ((r = counter_card_load_master(ca_datadir(ca), master)) != JPKI_OK)
		return r;
	r = card_blank(CARD_MYNUMBER, master, &cs->work);
	jpki_wipe(master, sizeof(master));
	if (r != JPKI_OK)
		return r;
	snprintf(cs->serial, sizeof(cs->serial), "%s",
	    card_serial_hex(cs->work));
	cs->kind = card_kind_of(cs->work);
	return card_transport_card(cs->work, &cs->t);
}

/* A session that could not be opened holds nothing: not the card's lock
 * either (the caller never closes what it did not get). */
int
counter_card_open(struct ca *ca, const char *path, struct card_session *cs)
{
	int r = image_open(ca, path, cs);

	if (r != JPKI_OK)
		counter_card_close(cs);
	return r;
}

int
counter_card_new(struct ca *ca, const char *path, struct card_session *cs)
{
	int r = image_new(ca, path, cs);

	if (r != JPKI_OK)
		counter_card_close(cs);
	return r;
}

int
counter_card_issuer_auth(struct ca *ca, struct card_session *cs)
{
	uint8_t master[CARD_ISSUER_KEY_LEN];
	int r;

	if ((r = counter_card_load_master(ca_datadir(ca), master)) != JPKI_OK)
		return r;
	r = card_client_issuer_auth(cs->t, master);
	jpki_wipe(master, sizeof(master));
	return r;
}

int
counter_card_stage(struct card_session *cs, uint8_t sha256[32])
{
	struct jbuf img;
	int r;

	if ((r = card_image_encode(cs->work, &img)) != JPKI_OK)
		return r;
	counter_sha256(img.data, img.len, sha256);
	/* A fresh file, never a write through a name that could be another
	 * name of the card: whatever is called .staging is unlinked first
	 * (we hold the card's lock: it is a killed run's). */
	if (unlink(cs->n.staging) != 0 && errno != ENOENT)
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", cs->n.staging,
		    strerror(errno));
	else
		r = durable_write(cs->n.staging, img.data, img.len, 0600);
	jbuf_free(&img);
	if (r != JPKI_OK)
		return r;
	counter_crash_point("staging-written");
	/* The pending image appears whole, by one rename, or not at all. */
	if (rename(cs->n.staging, cs->n.pending) != 0) {
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", cs->n.pending,
		    strerror(errno));
		unlink(cs->n.staging);
		return r;
	}
	cs->staged = 1;
	if ((r = durable_sync_dir_of(cs->n.pending)) != JPKI_OK)
		return r;
	counter_crash_point("staged");
	return JPKI_OK;
}

int
counter_card_finish(struct card_session *cs)
{
	char why[400];
	int r;

	if (!cs->staged)
		return JPKI_OK;
	if ((r = install_pending(&cs->n, card_serial_hex(cs->work))) !=
	    JPKI_OK) {
		snprintf(why, sizeof(why), "%s", jpki_errmsg());
		return jpki_fail(r, "%s (the procedure is recorded; the next "
		    "visit to the card finishes its write)", why);
	}
	cs->staged = 0;
	counter_crash_point("installed");
	return JPKI_OK;
}

void
counter_card_close(struct card_session *cs)
{
	char saved[512];
	int outcome;

	/* Staged and not installed: the commit failed or never came, or the
	 * install failed.  The store decides, as at the next visit; if it
	 * cannot, the image waits for that visit.  The procedure's own
	 * error message is kept. */
	if (cs->staged) {
		snprintf(saved, sizeof(saved), "%s", jpki_errmsg());
		settle_pending(ca_datadir(cs->ca), &cs->n, &outcome);
		jpki_fail(JPKI_OK, "%s", saved);
	}
	cs->staged = 0;
	json_decref(cs->writes);
	cs->writes = NULL;
	card_transport_free(&cs->t);
	card_free(&cs->work);
	if (cs->lock_fd >= 0)
		close(cs->lock_fd);
	cs->lock_fd = -1;
}

int
counter_card_recover(struct datadir *dd, const char *card_path,
    int *repaired)
{
	struct card_names n;
	int r, lock_fd, outcome = 0;

	if (repaired != NULL)
		*repaired = 0;
	if ((r = card_names(card_path, &n)) != JPKI_OK)
		return r;
	/* Nothing a run could have left: no lock file made either. */
	if (access(n.card, F_OK) != 0 && access(n.pending, F_OK) != 0 &&
	    access(n.staging, F_OK) != 0)
		return JPKI_OK;
	if ((r = card_image_lock(card_path, &lock_fd)) != JPKI_OK)
		return r;
	r = settle_pending(dd, &n, &outcome);
	close(lock_fd);
	if (repaired != NULL)
		*repaired = outcome != 0;
	return r;
}

int
counter_card_security_code(struct ca *ca, struct card_session *cs,
    char code[CARD_SECURITY_CODE_LEN + 1])
{
	uint8_t master[CARD_ISSUER_KEY_LEN];
	int r;

	if ((r = counter_card_load_master(ca_datadir(ca), master)) != JPKI_OK)
		return r;
	r = card_security_code(master, cs->serial, code);
	jpki_wipe(master, sizeof(master));
	return r;
}
