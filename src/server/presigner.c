/*
 * presigner.c: `jpki serve`'s OCSP pre-signer, a thread of its own beside
 * the answering pool (docs/ocsp.md, "Pre-signed responses").
 *
 * It opens the data directory again, read-write (the answering threads'
 * connections stay read-only), with the responder keys only, and runs the
 * passes of ca_presign_step(): first every certificate not expired (ALL),
 * then, every PRESIGNER_DUE_SECONDS, the responses due for refresh (DUE).
 * Between two steps, and whenever it wakes when idle, it reads the
 * store's data version (PRAGMA data_version: one read of the WAL index,
 * no I/O); when another connection has committed since, it follows the
 * change queue to its end (CHANGES).  Idle, it waits on a store_watch:
 * on PostgreSQL a LISTEN connection of its own, which every writer's
 * commit NOTIFYs, so it wakes at once, and reads the data version anyway
 * every PRESIGNER_LISTEN_POLL_MS; where nothing can be listened to
 * (SQLite, a lost connection until it is back) it wakes every
 * PRESIGNER_POLL_MS.  So a revocation committed by any process is signed
 * and stored within one wake-up plus one step plus one signature.
 *
 * If it cannot open the store read-write or the keys, it says so once on
 * stderr and stops; the server answers on, signing live.
 *
 * A step that fails once it runs (its database connection lost, the
 * database down) does not stop it: it says so once, sets the gate's
 * stored_current to 0 (a revocation it cannot see must not be answered
 * from a stored `good`: the answering threads then send a stored answer
 * only while the store agrees with it), and tries again every
 * PRESIGNER_RETRY_MS (the store makes its connection again, at most once
 * a second).  Back, it follows the change queue from where it had
 * followed it (what was revoked meanwhile), says so, and only then sets
 * stored_current again; a first pass that had not finished starts over.
 */
#include "server/server_impl.h"
#include "ca/ca.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct presigner {
	struct datadir *dd;         /* read-write: the responses' store */
	struct ca *ca;              /* the responder keys only */
	struct ca_presigner *ps;
	struct store_watch *watch;  /* wakes it on others' commits */
	atomic_int *current;        /* the gate's stored_current */
	pthread_t tid;
	int started;
	atomic_int stop;
	atomic_int up;              /* 1 while running */
	atomic_ulong made;          /* responses signed and stored */
	atomic_ulong passes;        /* CHANGES passes run */
	atomic_ulong woken;         /* waits a notice ended */
};

static void
note(struct presigner *p, const struct ca_presign_pass *before,
    const struct ca_presign_pass *after)
{
	long made = (after->signed_good + after->signed_revoked) -
	    (before->signed_good + before->signed_revoked);

	if (made > 0)
		atomic_fetch_add(&p->made, (unsigned long)made);
}

/* Follow the change queue from *from to its end. */
static int
follow_changes(struct presigner *p, struct ca_presigner *ps, int64_t *from)
{
	struct ca_presign_pass c, before;
	int r = JPKI_OK;

	memset(&c, 0, sizeof(c));
	c.what = CA_PRESIGN_CHANGES;
	c.from_seq = *from;
	c.batch = PRESIGNER_BATCH;
	while (!c.done && !atomic_load(&p->stop)) {
		before = c;
		if ((r = ca_presign_step(ps, &c)) != JPKI_OK)
			return r;
		note(p, &before, &c);
	}
	if (c.done)
		*from = c.changes_seen;
	atomic_fetch_add(&p->passes, 1);
	return JPKI_OK;
}

/* A step failed: say so (once), stop vouching for the stored answers,
 * wait a little. */
static void
failed(struct presigner *p, int *failing)
{
	if (!*failing) {
		fprintf(stderr, "jpki: serve: OCSP pre-signer: %s; trying "
		    "again (stored answers are sent only while the store "
		    "agrees with them)\n", jpki_errmsg());
		fflush(stderr);
		*failing = 1;
	}
	atomic_store(p->current, 0);
	atomic_store(&p->up, 0);
	store_watch_wait(p->watch, PRESIGNER_RETRY_MS);
}

static int
run(struct presigner *p)
{
	struct store *st = datadir_store(p->dd);
	struct ca_presign_pass cur, before;
	uint64_t seen = 0, v;
	int64_t from = 0;
	time_t next_due;
	/* all_done: the first pass is over; behind: a step failed since
	 * the change queue was last followed to its end. */
	int all_done = 0, behind = 0, failing = 0, r;

	/* The watch listens already (presigner_start): a commit after this
	 * read wakes the first wait. */
	while ((r = store_data_version(st, &seen)) != JPKI_OK) {
		if (atomic_load(&p->stop))
			return JPKI_OK;
		failed(p, &failing);
	}
	atomic_store(&p->up, 1);
	memset(&cur, 0, sizeof(cur));
	cur.what = CA_PRESIGN_ALL;
	cur.batch = PRESIGNER_BATCH;
	next_due = time(NULL) + PRESIGNER_DUE_SECONDS;
	while (!atomic_load(&p->stop)) {
		if (r != JPKI_OK) {
			failed(p, &failing);
			behind = 1;
			/* A pass cut short starts over (each is idempotent). */
			if (!cur.done) {
				enum ca_presign_what what = cur.what;

				memset(&cur, 0, sizeof(cur));
				cur.what = what;
				cur.batch = PRESIGNER_BATCH;
			}
			r = JPKI_OK;
			continue;
		}
		/* Notices read as they come, between the steps of a long
		 * pass too: PostgreSQL keeps its notice queue until every
		 * listener has read it. */
		if (store_watch_live(p->watch) && store_watch_wait(p->watch, 0))
			atomic_fetch_add(&p->woken, 1);
		if ((r = store_data_version(st, &v)) != JPKI_OK)
			continue;
		if (failing) {
			fprintf(stderr, "jpki: serve: OCSP pre-signer: running "
			    "again\n");
			fflush(stderr);
			failing = 0;
			atomic_store(&p->up, 1);
		}
		/* Changes first (revocations), once the first pass has said
		 * where the queue stood; after a failure, whatever the data
		 * version says (a commit may have come unseen). */
		if ((v != seen || behind) && (cur.started || all_done)) {
			seen = v;
			if (cur.what == CA_PRESIGN_ALL && !cur.done && from == 0)
				from = cur.changes_seen;
			if ((r = follow_changes(p, p->ps, &from)) != JPKI_OK)
				continue;
			/* Caught up: the stored answers are current again. */
			if (behind) {
				behind = 0;
				if (all_done)
					atomic_store(p->current, 1);
			}
			continue;
		}
		if (!cur.done) {
			before = cur;
			if ((r = ca_presign_step(p->ps, &cur)) != JPKI_OK)
				continue;
			note(p, &before, &cur);
			if (cur.done && cur.what == CA_PRESIGN_ALL) {
				if (from == 0)
					from = cur.changes_seen;
				all_done = 1;
				/* Every stored answer says what the store
				 * said when the pass began, and the queue
				 * brings what changed since. */
				if (!behind)
					atomic_store(p->current, 1);
			}
			continue;
		}
		if (time(NULL) >= next_due) {
			memset(&cur, 0, sizeof(cur));
			cur.what = CA_PRESIGN_DUE;
			cur.batch = PRESIGNER_BATCH;
			next_due = time(NULL) + PRESIGNER_DUE_SECONDS;
			continue;
		}
		if (store_watch_wait(p->watch, store_watch_live(p->watch) ?
		    PRESIGNER_LISTEN_POLL_MS : PRESIGNER_POLL_MS))
			atomic_fetch_add(&p->woken, 1);
	}
	atomic_store(p->current, 0);
	atomic_store(&p->up, 0);
	return r;
}

static void *
thread_main(void *arg)
{
	struct presigner *p = arg;

	if (run(p) != JPKI_OK && !atomic_load(&p->stop)) {
		fprintf(stderr, "jpki: serve: OCSP pre-signer stopped: %s; "
		    "answers are signed live\n", jpki_errmsg());
		fflush(stderr);
	}
	return NULL;
}

/* The store, keys and pre-signer are opened here, in the caller's
 * thread, before the server opens its read-only connections: with SQLite
 * 3.40, a read-write connection opened in a process after a read-only one
 * to the same WAL database stopped seeing other processes' commits (its
 * data version and its reads stayed at one snapshot; measured), while one
 * opened first sees them, and so do the read-only ones after it. */
int
presigner_start(const char *data_dir, atomic_int *current,
    struct presigner **out)
{
	struct presigner *p;
	int r;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	p->current = current;
	if ((r = datadir_open(data_dir, DATADIR_READ_WRITE, &p->dd)) ||
	    (r = ca_open(p->dd, CA_KEYS_OCSP, &p->ca)) ||
	    /* A response lost in a crash is made again by the first pass. */
	    (r = store_set_durable(datadir_store(p->dd), 0)) ||
	    (r = ca_presigner_new(p->ca, 1, &p->ps)) ||
	    (r = store_watch_open(datadir_store(p->dd), &p->watch)))
		goto fail;
	if (pthread_create(&p->tid, NULL, thread_main, p) != 0) {
		r = jpki_fail(JPKI_ERR_IO, "cannot start the OCSP pre-signer");
		goto fail;
	}
	p->started = 1;
	*out = p;
	return JPKI_OK;
fail:
	presigner_stop(&p);
	return r;
}

void
presigner_stop(struct presigner **pp)
{
	struct presigner *p = *pp;

	if (p == NULL)
		return;
	atomic_store(&p->stop, 1);
	if (p->started) {
		store_watch_interrupt(p->watch);
		pthread_join(p->tid, NULL);
	}
	store_watch_close(&p->watch);
	ca_presigner_free(&p->ps);
	ca_close(&p->ca);
	datadir_close(&p->dd);
	free(p);
	*pp = NULL;
}

int
presigner_metrics(struct presigner *p, struct store *s,
    const struct ca_ocsp_gate *g, struct jbuf *out)
{
	long count = 0;
	int64_t oldest = 0, now = jpki_now();
	int r;

	/* The store's figures only while it can be read (s NULL: it
	 * cannot): the rest says what this process knows. */
	if (s != NULL && store_ocsp_stats(s, &count, &oldest) != JPKI_OK) {
		jpki_errclear();
		s = NULL;
	}
	if (s != NULL && (r = jbuf_printf(out,
	    "# HELP jpki_ocsp_presigned_responses Pre-signed OCSP responses "
	    "stored.\n"
	    "# TYPE jpki_ocsp_presigned_responses gauge\n"
	    "jpki_ocsp_presigned_responses %ld\n"
	    "# HELP jpki_ocsp_presigned_oldest_age_seconds Age of the oldest "
	    "pre-signed response (since its thisUpdate).\n"
	    "# TYPE jpki_ocsp_presigned_oldest_age_seconds gauge\n"
	    "jpki_ocsp_presigned_oldest_age_seconds %lld\n", count,
	    (long long)(count > 0 && now > oldest ? now - oldest : 0))) !=
	    JPKI_OK)
		return r;
	return jbuf_printf(out,
	    "# HELP jpki_ocsp_presigner_up 1 while this server's pre-signer "
	    "runs.\n"
	    "# TYPE jpki_ocsp_presigner_up gauge\n"
	    "jpki_ocsp_presigner_up %d\n"
	    "# HELP jpki_ocsp_presigner_made_total Responses this server's "
	    "pre-signer signed and stored.\n"
	    "# TYPE jpki_ocsp_presigner_made_total counter\n"
	    "jpki_ocsp_presigner_made_total %lu\n"
	    "# HELP jpki_ocsp_presigner_listening 1 while this server's "
	    "pre-signer is woken by the database's notices (PostgreSQL "
	    "LISTEN), 0 while it polls.\n"
	    "# TYPE jpki_ocsp_presigner_listening gauge\n"
	    "jpki_ocsp_presigner_listening %d\n"
	    "# HELP jpki_ocsp_presigner_woken_total Times a notice of the "
	    "database (or its listening connection made again) woke this "
	    "server's pre-signer.\n"
	    "# TYPE jpki_ocsp_presigner_woken_total counter\n"
	    "jpki_ocsp_presigner_woken_total %lu\n"
	    "# HELP jpki_ocsp_live_signing Answers being signed live now "
	    "(the live-signing queue).\n"
	    "# TYPE jpki_ocsp_live_signing gauge\n"
	    "jpki_ocsp_live_signing %d\n"
	    "# HELP jpki_ocsp_live_signing_limit Answers signed live at once "
	    "at most.\n"
	    "# TYPE jpki_ocsp_live_signing_limit gauge\n"
	    "jpki_ocsp_live_signing_limit %d\n"
	    "# HELP jpki_ocsp_answers_total OCSP answers by how they were "
	    "made.\n"
	    "# TYPE jpki_ocsp_answers_total counter\n"
	    "jpki_ocsp_answers_total{source=\"presigned\"} %lu\n"
	    "jpki_ocsp_answers_total{source=\"live\"} %lu\n"
	    "jpki_ocsp_answers_total{source=\"presigned_nonce_dropped\"} %lu\n"
	    "jpki_ocsp_answers_total{source=\"try_later\"} %lu\n"
	    "jpki_ocsp_answers_total{source=\"store_unavailable\"} %lu\n",
	    p != NULL ? atomic_load(&p->up) : 0,
	    p != NULL ? atomic_load(&p->made) : 0UL,
	    p != NULL ? store_watch_live(p->watch) : 0,
	    p != NULL ? atomic_load(&p->woken) : 0UL,
	    atomic_load(&((struct ca_ocsp_gate *)g)->busy), g->max,
	    atomic_load(&((struct ca_ocsp_gate *)g)->presigned),
	    atomic_load(&((struct ca_ocsp_gate *)g)->live),
	    atomic_load(&((struct ca_ocsp_gate *)g)->nonce_dropped),
	    atomic_load(&((struct ca_ocsp_gate *)g)->try_later),
	    atomic_load(&((struct ca_ocsp_gate *)g)->store_unavailable));
}
