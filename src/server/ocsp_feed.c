/*
 * ocsp_feed.c: `jpki serve`'s follower of the store's OCSP change queue,
 * which tells the answering threads' response caches what to drop
 * (ca/ocsp_cache.c; docs/ocsp.md, "The response cache").
 *
 * A thread with a read-only store connection of its own reads the queue
 * every FEED_POLL_MS from where it left off, in batches of FEED_BATCH:
 * for each batch the feed learns the last seq, then each serial; once a
 * read comes back short (caught up), the feed is alive.  The queue keeps
 * its newest STORE_OCSP_CHANGES_KEEP entries whoever prunes it; if the
 * oldest entry left is past the next one the follower needs, entries it
 * never read were pruned, and every cache drops everything.
 *
 * From its start it also loads the stored responses into the cache,
 * FEED_PRELOAD_BATCH a read, the queue followed between two reads, until
 * all are in or the cache is full: answers come from memory from the
 * first request, as they would after a while anyway.
 *
 * A read that fails (the database down) is said once on stderr, and the
 * cache is not used from then (nor once the follower has been silent for
 * CA_OCSP_FEED_STALE_MS, stuck): the threads answer from the store as if
 * there were no cache, until the follower has read the queue to its end
 * again.
 */
#include "server/server_impl.h"
#include "ca/ca.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ocsp_feed_batch {
	size_t n;
	int64_t last_seq;
	char serial[FEED_BATCH][SERIAL_HEX_MAX];
};

struct ocsp_follower {
	struct datadir *dd;
	struct ca *ca;              /* the certificates only: for preloading */
	struct ca_ocsp_preload preload;
	struct ca_ocsp_cache *cache;
	pthread_t tid;
	int started;
	atomic_int stop;
	int64_t after;              /* the queue is read after this seq */
	struct ocsp_feed_batch b;
};

static int
collect(void *arg, int64_t seq, const char *serial)
{
	struct ocsp_feed_batch *b = arg;

	b->last_seq = seq;
	snprintf(b->serial[b->n++], SERIAL_HEX_MAX, "%s", serial);
	return b->n >= FEED_BATCH;
}

/* Read the queue to its end: JPKI_OK once caught up. */
static int
follow(struct ocsp_follower *f)
{
	struct store *st = datadir_store(f->dd);
	int64_t first;
	int r;

	do {
		f->b.n = 0;
		if ((r = store_ocsp_changes_read(st, f->after, FEED_BATCH,
		    collect, &f->b, &first)) != JPKI_OK)
			return r;
		if (first > f->after + 1 && f->after > 0) {
			/* Pruned past us (or, on PostgreSQL, a seq never
			 * used): what was dropped is unknown. */
			ca_ocsp_cache_drop_all(f->cache, f->b.n > 0 ? f->b.last_seq :
			    f->after);
		} else if (f->b.n > 0) {
			ca_ocsp_cache_followed(f->cache, f->b.last_seq);
			for (size_t i = 0; i < f->b.n; i++)
				ca_ocsp_cache_drop(f->cache, f->b.serial[i]);
		}
		if (f->b.n > 0)
			f->after = f->b.last_seq;
	} while (f->b.n == FEED_BATCH && !atomic_load(&f->stop));
	return JPKI_OK;
}

#ifdef JPKI_TEST_HOOKS
/* A test stops the follower while the file JPKI_SERVE_FEED_PAUSE names
 * exists (a follower that is stuck). */
static int
paused(void)
{
	const char *p = getenv("JPKI_SERVE_FEED_PAUSE");
	FILE *fp;

	if (p == NULL || (fp = fopen(p, "r")) == NULL)
		return 0;
	fclose(fp);
	return 1;
}
#else
static int
paused(void)
{
	return 0;
}
#endif

static void
nap(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void *
thread_main(void *arg)
{
	struct ocsp_follower *f = arg;
	int failing = 0;

	while (!atomic_load(&f->stop)) {
		if (paused()) {
			nap(FEED_POLL_MS);
			continue;
		}
		if (follow(f) == JPKI_OK &&
		    ca_ocsp_cache_preload(f->ca, f->cache, &f->preload,
		    FEED_PRELOAD_BATCH) == JPKI_OK) {
			ca_ocsp_cache_alive(f->cache);
			if (failing) {
				fprintf(stderr, "jpki: serve: OCSP response "
				    "caches: following the change queue "
				    "again\n");
				fflush(stderr);
				failing = 0;
			}
		} else {
			ca_ocsp_cache_down(f->cache);
			if (!failing) {
				fprintf(stderr, "jpki: serve: OCSP response "
				    "caches: %s; answering from the store "
				    "until the change queue can be read\n",
				    jpki_errmsg());
				fflush(stderr);
				failing = 1;
			}
			jpki_errclear();
		}
		/* Preloading goes on at once, the queue followed between
		 * its batches. */
		if (failing || f->preload.done)
			nap(FEED_POLL_MS);
	}
	return NULL;
}

int
ocsp_follower_start(const char *data_dir, struct ca_ocsp_cache *cache,
    struct ocsp_follower **out)
{
	struct ocsp_follower *f;
	int r;

	*out = NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	f->cache = cache;
	/* It starts where the queue ends: the caches are empty. */
	if ((r = datadir_open(data_dir, DATADIR_READ_ONLY, &f->dd)) ||
	    (r = ca_open(f->dd, CA_KEYS_NONE, &f->ca)) ||
	    (r = store_ocsp_changes_last(datadir_store(f->dd), &f->after)))
		goto fail;
	ca_ocsp_cache_followed(cache, f->after);
	ca_ocsp_cache_alive(cache);
	if (pthread_create(&f->tid, NULL, thread_main, f) != 0) {
		r = jpki_fail(JPKI_ERR_IO, "cannot start the OCSP change "
		    "follower");
		goto fail;
	}
	f->started = 1;
	*out = f;
	return JPKI_OK;
fail:
	ocsp_follower_stop(&f);
	return r;
}

void
ocsp_follower_stop(struct ocsp_follower **fp)
{
	struct ocsp_follower *f = *fp;

	if (f == NULL)
		return;
	atomic_store(&f->stop, 1);
	if (f->started)
		pthread_join(f->tid, NULL);
	ca_close(&f->ca);
	datadir_close(&f->dd);
	free(f);
	*fp = NULL;
}
