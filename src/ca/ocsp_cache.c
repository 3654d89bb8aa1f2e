/*
 * ocsp_cache.c: pre-signed OCSP responses kept in memory for the
 * answering threads (docs/ocsp.md, "The response cache").
 *
 * One cache, shared by the threads: a set-associative table (CACHE_WAYS
 * entries a bucket, bucket by the serial's hash) of responses read from
 * the store, each kept without the responder certificate that ends every
 * response of one responder (the caller adds it back: the bytes sent are
 * the stored ones), within a byte budget.  A bucket is read and written
 * under its stripe's mutex (CACHE_STRIPES of them: two threads meet on
 * one only by chance, and hold it for a copy).  An entry is used until
 * the response is due for refresh (thisUpdate + ocsp_refresh_seconds),
 * and only while the cache's follower is alive.
 *
 * The follower (one thread: the server's ocsp_feed.c) reads the store's
 * change queue (every issuance and revocation, by any process) and drops
 * the serials it names.  The order of the two sides is what keeps a thread
 * from keeping a response older than a change already dropped:
 *
 *   follower: applied = the batch's last change seq  (ca_ocsp_cache_followed)
 *             each serial dropped, under its stripe   (ca_ocsp_cache_drop)
 *             alive = now, once caught up             (ca_ocsp_cache_alive)
 *   fill:     read the change queue's last seq, then the response, kept
 *             only if the certificate has the status it says in that read;
 *             under the stripe, kept only if that seq >= applied
 *
 * A fill under the stripe after the follower's drop there sees the new
 * `applied` (set before the drop) and so keeps nothing read before the
 * change; a fill before the drop is dropped by it.  Changes after the
 * read's seq are still to be dropped.  A follower that lost changes (the
 * queue pruned past it) drops everything the same way.  A follower silent
 * for CA_OCSP_FEED_STALE_MS (its store down, the thread stuck) stops the
 * cache from being used: the threads then read the store as without one.
 */
#include "ca/ca_impl.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CACHE_WAYS 4
#define CACHE_STRIPES 1024
/* The bucket count is the budget over this, rounded up to a power of two
 * (a response without its responder certificate is about 470 bytes). */
#define CACHE_ENTRY_GUESS 512
#define CACHE_BUCKETS_MIN CACHE_STRIPES
/* An entry's bookkeeping besides its bytes, as counted against the budget
 * (the allocator's own included). */
#define CACHE_ENTRY_OVERHEAD (sizeof(struct ocsp_cache_entry) + 16)

struct ocsp_cache_entry {
	uint64_t hash;              /* of the serial */
	int64_t this_update, next_update, fresh_until;
	size_t len;                 /* der[] */
	int responder;              /* its row of the responder table */
	int tail;                   /* 1: the responder's certificate follows */
	enum cert_status status;
	char serial[SERIAL_HEX_MAX];
	uint8_t der[];              /* the response, without that tail */
};

struct ca_ocsp_cache {
	size_t budget;
	size_t mask;                        /* buckets - 1 */
	struct ocsp_cache_entry **slot;     /* buckets * CACHE_WAYS */
	pthread_mutex_t stripe[CACHE_STRIPES];
	unsigned victim[CACHE_STRIPES];     /* round robin, a full bucket */
	atomic_int_least64_t applied;       /* see above */
	atomic_int_least64_t alive_ms;      /* last caught up, monotonic */
	atomic_ulong hits, fills, dropped, flushed;
	atomic_long entries, used;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FNV-1a, 64 bits: the serial's bucket. */
static uint64_t
serial_hash(const char *serial)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const unsigned char *p = (const unsigned char *)serial; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return h;
}

int
ca_ocsp_cache_new(size_t budget, struct ca_ocsp_cache **out)
{
	struct ca_ocsp_cache *c;
	size_t buckets = CACHE_BUCKETS_MIN;

	*out = NULL;
	if (budget == 0)
		return jpki_fail(JPKI_ERR_INPUT, "OCSP cache: no room");
	while (buckets < budget / CACHE_ENTRY_GUESS / CACHE_WAYS &&
	    buckets < ((size_t)1 << 30))
		buckets <<= 1;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->slot = calloc(buckets * CACHE_WAYS, sizeof(*c->slot))) ==
	    NULL) {
		free(c);
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	}
	c->budget = budget;
	c->mask = buckets - 1;
	for (int i = 0; i < CACHE_STRIPES; i++)
		pthread_mutex_init(&c->stripe[i], NULL);
	*out = c;
	return JPKI_OK;
}

/* Under the bucket's stripe. */
static void
drop(struct ca_ocsp_cache *c, struct ocsp_cache_entry **slot)
{
	atomic_fetch_sub_explicit(&c->entries, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&c->used,
	    (long)((*slot)->len + CACHE_ENTRY_OVERHEAD), memory_order_relaxed);
	free(*slot);
	*slot = NULL;
}

void
ca_ocsp_cache_free(struct ca_ocsp_cache **cp)
{
	struct ca_ocsp_cache *c = *cp;

	if (c == NULL)
		return;
	for (size_t i = 0; i < (c->mask + 1) * CACHE_WAYS; i++)
		free(c->slot[i]);
	for (int i = 0; i < CACHE_STRIPES; i++)
		pthread_mutex_destroy(&c->stripe[i]);
	free(c->slot);
	free(c);
	*cp = NULL;
}

static pthread_mutex_t *
stripe_of(struct ca_ocsp_cache *c, size_t bucket)
{
	return &c->stripe[bucket % CACHE_STRIPES];
}

/* ---- the follower's side -------------------------------------------------- */

void
ca_ocsp_cache_followed(struct ca_ocsp_cache *c, int64_t seq)
{
	atomic_store_explicit(&c->applied, seq, memory_order_release);
}

void
ca_ocsp_cache_drop(struct ca_ocsp_cache *c, const char *serial)
{
	uint64_t h = serial_hash(serial);
	size_t bucket = h & c->mask;
	struct ocsp_cache_entry **b = &c->slot[bucket * CACHE_WAYS];

	pthread_mutex_lock(stripe_of(c, bucket));
	for (int i = 0; i < CACHE_WAYS; i++)
		if (b[i] != NULL && b[i]->hash == h) {
			drop(c, &b[i]);
			atomic_fetch_add_explicit(&c->dropped, 1,
			    memory_order_relaxed);
		}
	pthread_mutex_unlock(stripe_of(c, bucket));
}

void
ca_ocsp_cache_drop_all(struct ca_ocsp_cache *c, int64_t seq)
{
	atomic_store_explicit(&c->applied, seq, memory_order_release);
	for (size_t bucket = 0; bucket <= c->mask; bucket++) {
		struct ocsp_cache_entry **b = &c->slot[bucket * CACHE_WAYS];

		pthread_mutex_lock(stripe_of(c, bucket));
		for (int i = 0; i < CACHE_WAYS; i++)
			if (b[i] != NULL)
				drop(c, &b[i]);
		pthread_mutex_unlock(stripe_of(c, bucket));
	}
	atomic_fetch_add_explicit(&c->flushed, 1, memory_order_relaxed);
}

void
ca_ocsp_cache_alive(struct ca_ocsp_cache *c)
{
	atomic_store_explicit(&c->alive_ms, mono_ms(), memory_order_release);
}

void
ca_ocsp_cache_down(struct ca_ocsp_cache *c)
{
	atomic_store_explicit(&c->alive_ms, 0, memory_order_release);
}

void
ca_ocsp_cache_stats(struct ca_ocsp_cache *c, struct ca_ocsp_cache_stats *out)
{
	int64_t alive = atomic_load(&c->alive_ms);

	memset(out, 0, sizeof(*out));
	out->hits = atomic_load(&c->hits);
	out->fills = atomic_load(&c->fills);
	out->dropped = atomic_load(&c->dropped);
	out->flushed = atomic_load(&c->flushed);
	out->entries = atomic_load(&c->entries);
	out->bytes = atomic_load(&c->used);
	out->followed = atomic_load(&c->applied);
	out->silent_ms = alive == 0 ? -1 : mono_ms() - alive;
}

/* ---- the answering threads' side ------------------------------------------ */

int
ocsp_cache_usable(struct ca_ocsp_cache *c)
{
	return mono_ms() - atomic_load_explicit(&c->alive_ms,
	    memory_order_acquire) <= CA_OCSP_FEED_STALE_MS;
}

int
ocsp_cache_get(struct ca_ocsp_cache *c, int responder, const char *serial,
    int64_t now, struct jbuf *out, struct ocsp_cache_hit *hit)
{
	uint64_t h = serial_hash(serial);
	size_t bucket = h & c->mask;
	struct ocsp_cache_entry **b = &c->slot[bucket * CACHE_WAYS];
	int found = 0, r = JPKI_OK;

	pthread_mutex_lock(stripe_of(c, bucket));
	for (int i = 0; i < CACHE_WAYS && !found; i++) {
		struct ocsp_cache_entry *e = b[i];

		if (e == NULL || e->hash != h || e->responder != responder ||
		    strcmp(e->serial, serial) != 0)
			continue;
		if (now >= e->fresh_until) {
			drop(c, &b[i]);
			break;
		}
		found = 1;
		hit->tail = e->tail;
		hit->status = e->status;
		hit->this_update = e->this_update;
		hit->next_update = e->next_update;
		r = jbuf_put(out, e->der, e->len);
	}
	pthread_mutex_unlock(stripe_of(c, bucket));
	if (found)
		atomic_fetch_add_explicit(&c->hits, 1, memory_order_relaxed);
	return r != JPKI_OK ? -1 : found;
}

int
ocsp_cache_full(struct ca_ocsp_cache *c, size_t keep)
{
	return (size_t)atomic_load_explicit(&c->used, memory_order_relaxed) +
	    keep + CACHE_ENTRY_OVERHEAD > c->budget;
}

void
ocsp_cache_put(struct ca_ocsp_cache *c, int64_t read_seq, int responder,
    const struct ocsp_stored *st, size_t keep, int tail, int64_t fresh_until)
{
	uint64_t h = serial_hash(st->serial);
	size_t bucket = h & c->mask;
	struct ocsp_cache_entry **b = &c->slot[bucket * CACHE_WAYS];
	struct ocsp_cache_entry *e;
	size_t need = keep + CACHE_ENTRY_OVERHEAD;
	int way = -1;

	if (keep == 0 || keep > st->der_len || need > c->budget)
		return;
	/* Made outside the stripe; kept or thrown away under it. */
	if ((e = malloc(sizeof(*e) + keep)) == NULL)
		return;
	e->hash = h;
	e->responder = responder;
	e->tail = tail;
	e->status = st->status;
	e->this_update = st->this_update;
	e->next_update = st->next_update;
	e->fresh_until = fresh_until;
	snprintf(e->serial, sizeof(e->serial), "%s", st->serial);
	e->len = keep;
	memcpy(e->der, st->der, keep);
	pthread_mutex_lock(stripe_of(c, bucket));
	if (read_seq < atomic_load_explicit(&c->applied,
	    memory_order_acquire)) {
		/* Read before a change the follower has dropped. */
		pthread_mutex_unlock(stripe_of(c, bucket));
		free(e);
		return;
	}
	for (int i = 0; i < CACHE_WAYS; i++)
		if (b[i] != NULL && b[i]->hash == h)
			drop(c, &b[i]);     /* an older one of the serial */
	for (int i = 0; i < CACHE_WAYS && way < 0; i++)
		if (b[i] == NULL)
			way = i;
	if (way < 0) {
		way = (int)(c->victim[bucket % CACHE_STRIPES]++ % CACHE_WAYS);
		drop(c, &b[way]);
	}
	/* Over the budget: room made in this bucket only, and nothing kept
	 * if that is not enough. */
	for (int i = 0; i < CACHE_WAYS && (size_t)atomic_load_explicit(
	    &c->used, memory_order_relaxed) + need > c->budget; i++)
		if (b[i] != NULL)
			drop(c, &b[i]);
	if ((size_t)atomic_load_explicit(&c->used, memory_order_relaxed) +
	    need > c->budget) {
		pthread_mutex_unlock(stripe_of(c, bucket));
		free(e);
		return;
	}
	b[way] = e;
	atomic_fetch_add_explicit(&c->entries, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->used, (long)need, memory_order_relaxed);
	pthread_mutex_unlock(stripe_of(c, bucket));
	atomic_fetch_add_explicit(&c->fills, 1, memory_order_relaxed);
}
