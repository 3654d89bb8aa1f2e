/*
 * crl_publisher.c: CRLs without cron.  `jpki serve` keeps the CRLs of its
 * data directory fresh: a shard's CRL (and its CA's full CRL) is made again
 * within the configured delay after a revocation on that shard, by any
 * process, and before its nextUpdate; shards that did not change are left
 * alone.  Each CRL is made by ca_crl_generate(), the function behind `jpki
 * crl generate`, so the numbering (taken and committed first, generations
 * into one directory taking turns under its flock) is the same: with
 * several servers, or cron beside them, on one data directory, the
 * published number only goes up.
 *
 * Making a CRL takes a CA's private key, which the network-facing process
 * never holds (docs/architecture.md, the key custody table).  So the
 * publisher is a process of its own, forked by server_start() before any
 * thread exists, holding the CA keys and no socket; the server holds the
 * responder keys and no CA key.  It is told to begin once the server is
 * up (a byte on a pipe), and it ends when that pipe closes: at server_stop,
 * or when the server dies, however.  It finishes the CRL it is writing
 * first (a CRL is renamed into place whole, or not at all).
 *
 * Every generation of each CA still in service (it issues, or a
 * certificate it issued has not expired) publishes its own CRLs, as `jpki
 * crl generate` does; the generations are those the server found when it
 * started (after a rollover `jpki serve` is restarted, docs/
 * ca-operations.md).
 *
 * What is stale is read from the store, so a revocation by any process
 * counts: crl_published records, per CRL, how many revocations it lists
 * and its nextUpdate (ca_crl_generate writes it); revocations are only
 * ever added, so a shard whose count grew needs a new CRL.  The counts are
 * read again only when the store changed (PRAGMA data_version), at most
 * every CRL_TICK_MS; a change is published half the delay after it is
 * first seen (revocations that follow within that window go out in the
 * same CRL), leaving the other half for noticing and writing.
 *
 * Its database connection lost (PostgreSQL restarted, its backend
 * terminated), the store makes it again (at most once a second); a scan
 * that fails meanwhile is said once, and once when the store reads
 * again, and the next tick scans again.  Its store's connection counts
 * (store_connection_stats) go to the server's /metrics through a page
 * both processes map (struct crl_shared).
 */
#include "server/server_impl.h"
#include "ca/ca.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* The store is looked at this often at most (and the delay's quarter, if
 * less); the counts are read again at least every CRL_RESCAN_MS anyway. */
#define CRL_TICK_MS 1000
#define CRL_TICK_MIN_MS 50
#define CRL_RESCAN_MS 10000
/* A CRL that failed to be made is tried again after this long. */
#define CRL_RETRY_MS 10000

/* Mapped shared before the fork: the publisher writes, the server reads. */
struct crl_shared {
	atomic_ulong lost, reconnected, failed;
};

struct crl_publisher {
	pid_t pid;
	int go_fd;                  /* the pipe's write end; closed: stop */
	atomic_int status;          /* -1 running, else the exit status */
	struct crl_shared *shared;
};

/* One CRL: a shard of a CA, or (index shards) its full CRL. */
struct crl_slot {
	int known;                  /* a record exists */
	int64_t next_update, this_update;
	long entries;               /* revocations it lists */
	long count;                 /* revocations in the store now */
	uint64_t stale_since_ms;    /* 0: up to date */
	uint64_t retry_ms;          /* after a failure: not before */
};

/* One generation of a CA: its CRLs, shards then the full one. */
struct pub_gen {
	struct crl_slot *slot;      /* shards + 1 */
	int issuing;
	int64_t last_not_after;     /* of what it issued (not issuing: fixed) */
};

struct pub {
	struct datadir *dd;
	struct ca *ca;
	int shards;
	unsigned delay_ms, tick_ms;
	int ngen[CERT_AUTH + 1];
	struct pub_gen gen[CERT_AUTH + 1][CA_GEN_MAX + 1];
	uint64_t data_version;
	uint64_t scanned_ms;
	int scanned;
	int failing;                /* the last scan failed (said once) */
	struct crl_shared *shared;
};

static uint64_t
mono_ms(void)
{
	return server_monotonic_us() / 1000u;
}

/* The slots of generation `gen` of CA t, or NULL if it is not ours. */
static struct crl_slot *
slots_of(struct pub *p, enum cert_type t, int gen)
{
	if ((t != CERT_SIGN && t != CERT_AUTH) || gen < 1 || gen > p->ngen[t])
		return NULL;
	return p->gen[t][gen].slot;
}

static struct crl_slot *
slot_of(struct pub *p, enum cert_type t, int gen, int shard)
{
	return &slots_of(p, t, gen)[shard == CA_CRL_FULL ? p->shards : shard];
}

static int
count_cb(void *arg, enum cert_type t, int gen, int shard, long n)
{
	struct pub *p = arg;
	struct crl_slot *s = slots_of(p, t, gen);

	if (s != NULL && shard >= 0 && shard < p->shards) {
		s[shard].count = n;
		s[p->shards].count += n;
	}
	return 0;
}

static int
record_cb(void *arg, const struct crl_published *c)
{
	struct pub *p = arg;
	struct crl_slot *s;

	if (slots_of(p, c->ca, c->gen) == NULL ||
	    c->shard < CA_CRL_FULL || c->shard >= p->shards)
		return 0;
	s = slot_of(p, c->ca, c->gen, c->shard);
	s->known = 1;
	s->this_update = c->this_update;
	s->next_update = c->next_update;
	s->entries = c->entries;
	return 0;
}

/* Read the records and the counts again if the store changed (or every
 * CRL_RESCAN_MS). */
static int
scan(struct pub *p, uint64_t now_ms)
{
	struct store *st = datadir_store(p->dd);
	uint64_t v;
	int r;

	if ((r = store_data_version(st, &v)) != JPKI_OK)
		return r;
	if (p->scanned && v == p->data_version &&
	    now_ms - p->scanned_ms < CRL_RESCAN_MS)
		return JPKI_OK;
	for (int t = CERT_SIGN; t <= CERT_AUTH; t++)
		for (int g = 1; g <= p->ngen[t]; g++)
			for (int i = 0; i <= p->shards; i++) {
				p->gen[t][g].slot[i].count = 0;
				p->gen[t][g].slot[i].known = 0;
			}
	/* The records first: a revocation committed in between makes its
	 * shard look stale, as it is; a CRL published in between makes it
	 * look stale too, and is made once more (harmless). */
	if ((r = store_crl_published_list(st, record_cb, p)) != JPKI_OK ||
	    (r = store_revocation_counts(st, count_cb, p)) != JPKI_OK)
		return r;
	p->data_version = v;
	p->scanned_ms = now_ms;
	p->scanned = 1;
	return JPKI_OK;
}

/* Due now: never published; listing fewer revocations than its shard
 * has, for half the delay; or within the last quarter of its validity. */
static int
due(struct pub *p, struct crl_slot *s, uint64_t now_ms, int64_t now)
{
	/* More revocations than it lists.  (Fewer: the counts were read
	 * before a CRL this process made; the store's next change, which
	 * that revocation was, has them read again.) */
	int stale = !s->known || s->count > s->entries;

	if (!stale)
		s->stale_since_ms = 0;
	else if (s->stale_since_ms == 0)
		s->stale_since_ms = now_ms;
	if (now_ms < s->retry_ms)
		return 0;
	if (!s->known)
		return 1;
	if (stale && now_ms - s->stale_since_ms >= p->delay_ms / 2)
		return 1;
	return now >= s->next_update - (s->next_update - s->this_update) / 4;
}

/* 1 once the server is gone or says stop (its end of the pipe closed). */
static int
told_to_stop(int fd, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char c;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return 0;
	return read(fd, &c, 1) <= 0;
}

static void
publish(struct pub *p, enum cert_type t, int gen, int shard, uint64_t now_ms)
{
	struct crl_slot *s = slot_of(p, t, gen, shard);
	struct ca_crl_result res;

	if (ca_crl_generate_gen(p->ca, t, gen, shard, NULL, &res) != JPKI_OK) {
		char generation[32] = "", which[32];

		/* "sign full CRL", "auth shard 5", "sign generation 2 shard 5" */
		if (gen > 1)
			snprintf(generation, sizeof(generation),
			    "generation %d ", gen);
		if (shard == CA_CRL_FULL)
			snprintf(which, sizeof(which), "full CRL");
		else
			snprintf(which, sizeof(which), "shard %d", shard);
		fprintf(stderr, "jpki: CRL publisher: %s %s%s: %s (trying again "
		    "in %d s)\n", rules_cert_type_name(t), generation, which,
		    jpki_errmsg(), CRL_RETRY_MS / 1000);
		s->retry_ms = now_ms + CRL_RETRY_MS;
		return;
	}
	s->known = 1;
	s->entries = res.entries;
	s->this_update = res.this_update;
	s->next_update = res.next_update;
	s->retry_ms = 0;
	if (s->entries >= s->count)
		s->stale_since_ms = 0;
}

/* As `jpki crl generate` and `jpki ca show` decide (ca_generation_status):
 * it issues, or a certificate it issued has not expired. */
static int
in_service(struct pub *p, enum cert_type t, int gen, int64_t now)
{
	struct pub_gen *g = &p->gen[t][gen];

	return g->issuing || g->last_not_after >= now;
}

/* The due CRLs of one generation: the shards first, then the full CRL,
 * which lists all of them.  1 if told to stop meanwhile. */
static int
publish_gen(struct pub *p, enum cert_type t, int gen, uint64_t now_ms,
    int64_t now, int fd)
{
	for (int i = 0; i <= p->shards; i++) {
		if (!due(p, &p->gen[t][gen].slot[i], now_ms, now))
			continue;
		publish(p, t, gen, i == p->shards ? CA_CRL_FULL : i, now_ms);
		if (told_to_stop(fd, 0))
			return 1;
	}
	return 0;
}

/* The store's connection counts, for the server's /metrics. */
static void
share_stats(struct pub *p)
{
	struct store_connection_stats c;

	store_connection_stats(&c);
	atomic_store(&p->shared->lost, c.lost);
	atomic_store(&p->shared->reconnected, c.reconnected);
	atomic_store(&p->shared->failed, c.failed);
}

static int
run(struct pub *p, int fd)
{
	for (;;) {
		uint64_t now_ms = mono_ms();
		int64_t now = jpki_now();
		int r;

		r = scan(p, now_ms);
		share_stats(p);
		if (r != JPKI_OK) {
			if (!p->failing)
				fprintf(stderr, "jpki: CRL publisher: reading the "
				    "store: %s (trying again)\n", jpki_errmsg());
			p->failing = 1;
			p->scanned = 0;
		} else {
			if (p->failing)
				fprintf(stderr, "jpki: CRL publisher: reading "
				    "the store again\n");
			p->failing = 0;
			for (int t = CERT_SIGN; t <= CERT_AUTH; t++)
				for (int g = 1; g <= p->ngen[t]; g++) {
					if (!in_service(p, (enum cert_type)t, g,
					    now))
						continue;
					if (publish_gen(p, (enum cert_type)t, g,
					    now_ms, now, fd))
						return 0;
				}
		}
		if (told_to_stop(fd, (int)p->tick_ms))
			return 0;
	}
}

/* The generations of both CAs, their slots, and what each issued. */
static int
pub_generations(struct pub *p)
{
	int64_t now = jpki_now();
	int r;

	for (int t = CERT_SIGN; t <= CERT_AUTH; t++) {
		p->ngen[t] = ca_generation_count(p->ca, (enum cert_type)t);
		for (int g = 1; g <= p->ngen[t]; g++) {
			struct ca_generation_status st;
			struct pub_gen *pg = &p->gen[t][g];

			if ((r = ca_generation_status(p->ca, (enum cert_type)t,
			    g, now, &st)) != JPKI_OK)
				return r;
			pg->issuing = st.issuing;
			pg->last_not_after = st.last_not_after;
			if ((pg->slot = calloc((size_t)p->shards + 1,
			    sizeof(*pg->slot))) == NULL)
				return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		}
	}
	return JPKI_OK;
}

/* The child: wait for the go, open the CAs with their keys, publish until
 * told to stop.  Its exit status: 0, or 3 if it could not begin. */
static int
child_main(const char *data_dir, unsigned delay_s, int fd,
    struct crl_shared *shared)
{
	struct pub p = {.shared = shared};
	int r = JPKI_OK, status = 0;
	sigset_t term;
	char c;

	/* The server may die without closing anything: end with it.  (The
	 * server blocks SIGTERM for sigwait; SIGINT, which a terminal sends
	 * to both, stays blocked here: the server's exit, closing the pipe,
	 * stops this process once the CRL it is writing is in place.) */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	signal(SIGTERM, SIG_DFL);
	sigprocmask(SIG_UNBLOCK, &term, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (read(fd, &c, 1) != 1)
		return 0;                   /* the server did not start */
	p.delay_ms = delay_s * 1000u;
	p.tick_ms = p.delay_ms / 4 < CRL_TICK_MS ? p.delay_ms / 4 : CRL_TICK_MS;
	if (p.tick_ms < CRL_TICK_MIN_MS)
		p.tick_ms = CRL_TICK_MIN_MS;
	if ((r = datadir_open(data_dir, DATADIR_READ_WRITE, &p.dd)) ||
	    (r = ca_open(p.dd, CA_KEYS_CA, &p.ca))) {
		fprintf(stderr, "jpki: CRL publisher: %s (CRLs are not made "
		    "again; `jpki crl generate` makes them)\n", jpki_errmsg());
		status = 3;
		goto out;
	}
	p.shards = datadir_config(p.dd)->crl_shards;
	if ((r = pub_generations(&p)) != JPKI_OK) {
		fprintf(stderr, "jpki: CRL publisher: %s\n", jpki_errmsg());
		status = 3;
		goto out;
	}
	run(&p, fd);
out:
	for (int t = CERT_SIGN; t <= CERT_AUTH; t++)
		for (int g = 1; g <= CA_GEN_MAX; g++)
			free(p.gen[t][g].slot);
	ca_close(&p.ca);
	datadir_close(&p.dd);
	return status;
}

int
crl_publisher_start(const char *data_dir, unsigned delay_s,
    struct crl_publisher **out)
{
	struct crl_publisher *cp;
	int fds[2];

	*out = NULL;
	if ((cp = calloc(1, sizeof(*cp))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	if ((cp->shared = mmap(NULL, sizeof(*cp->shared), PROT_READ |
	    PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED) {
		free(cp);
		return jpki_fail(JPKI_ERR_IO, "mmap: %s", strerror(errno));
	}
	if (pipe2(fds, O_CLOEXEC) != 0) {
		munmap(cp->shared, sizeof(*cp->shared));
		free(cp);
		return jpki_fail(JPKI_ERR_IO, "pipe: %s", strerror(errno));
	}
	fflush(stdout);
	fflush(stderr);
	if ((cp->pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		munmap(cp->shared, sizeof(*cp->shared));
		free(cp);
		return jpki_fail(JPKI_ERR_IO, "fork: %s", strerror(errno));
	}
	if (cp->pid == 0) {
		close(fds[1]);
		_exit(child_main(data_dir, delay_s, fds[0], cp->shared));
	}
	close(fds[0]);
	cp->go_fd = fds[1];
	atomic_init(&cp->status, -1);
	*out = cp;
	return JPKI_OK;
}

void
crl_publisher_go(struct crl_publisher *cp)
{
	if (cp != NULL && write(cp->go_fd, "g", 1) != 1)
		fprintf(stderr, "jpki: CRL publisher: %s\n", strerror(errno));
}

int
crl_publisher_running(struct crl_publisher *cp)
{
	int st;

	if (cp == NULL || atomic_load(&cp->status) != -1)
		return 0;
	/* Two threads may ask at once: one reaps it, the other hears ECHILD. */
	switch (waitpid(cp->pid, &st, WNOHANG)) {
	case 0:
		return 1;
	case -1:
		return 0;
	default:
		atomic_store(&cp->status, WIFEXITED(st) ? WEXITSTATUS(st) : 128);
		return 0;
	}
}

void
crl_publisher_stop(struct crl_publisher **cpp)
{
	struct crl_publisher *cp = *cpp;
	int st;

	if (cp == NULL)
		return;
	close(cp->go_fd);
	if (atomic_load(&cp->status) == -1)
		while (waitpid(cp->pid, &st, 0) < 0 && errno == EINTR)
			;
	munmap(cp->shared, sizeof(*cp->shared));
	free(cp);
	*cpp = NULL;
}

void
crl_publisher_store_stats(struct crl_publisher *cp,
    struct store_connection_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (cp == NULL)
		return;
	out->lost = atomic_load(&cp->shared->lost);
	out->reconnected = atomic_load(&cp->shared->reconnected);
	out->failed = atomic_load(&cp->shared->failed);
}

/* ---- /metrics: the CRLs' numbers and ages ---- */

struct crl_render {
	struct jbuf *out;
	int64_t now;
	int pass;                   /* 0 numbers, 1 ages, 2 seconds left */
	int r;
};

static int
render_cb(void *arg, const struct crl_published *c)
{
	struct crl_render *cr = arg;
	char shard[16];
	long long v;

	if (c->ca != CERT_SIGN && c->ca != CERT_AUTH)
		return 0;
	if (c->shard == CA_CRL_FULL)
		snprintf(shard, sizeof(shard), "full");
	else
		snprintf(shard, sizeof(shard), "%d", c->shard);
	v = cr->pass == 0 ? (long long)c->number : cr->pass == 1 ?
	    (long long)(cr->now - c->this_update) :
	    (long long)(c->next_update - cr->now);
	cr->r = jbuf_printf(cr->out, "%s{ca=\"%s\",gen=\"%d\",shard=\"%s\"} "
	    "%lld\n", cr->pass == 0 ? "jpki_crl_number" : cr->pass == 1 ?
	    "jpki_crl_age_seconds" : "jpki_crl_next_update_seconds",
	    rules_cert_type_name(c->ca), c->gen, shard, v);
	return cr->r != JPKI_OK;
}

int
crl_metrics_render(struct crl_publisher *cp, struct store *st,
    struct jbuf *out)
{
	static const char *const head[] = {
	    "# HELP jpki_crl_number The CRLNumber of each CRL published last "
	    "(shard \"full\": the CA's full CRL).\n"
	    "# TYPE jpki_crl_number gauge\n",
	    "# HELP jpki_crl_age_seconds Seconds since the thisUpdate of each "
	    "CRL published last.\n"
	    "# TYPE jpki_crl_age_seconds gauge\n",
	    "# HELP jpki_crl_next_update_seconds Seconds until the nextUpdate of "
	    "each CRL published last (negative: expired).\n"
	    "# TYPE jpki_crl_next_update_seconds gauge\n"};
	struct crl_render cr = {.out = out, .now = jpki_now()};
	int r;

	if ((r = jbuf_printf(out, "# HELP jpki_crl_publisher_up 1 while this "
	    "server's CRL publisher runs.\n"
	    "# TYPE jpki_crl_publisher_up gauge\n"
	    "jpki_crl_publisher_up %d\n", crl_publisher_running(cp))) !=
	    JPKI_OK)
		return r;
	for (cr.pass = 0; cr.pass < 3; cr.pass++) {
		cr.r = JPKI_OK;
		if ((r = jbuf_printf(out, "%s", head[cr.pass])) != JPKI_OK)
			return r;
		/* A store not migrated yet has no records, one that cannot
		 * be read (NULL: not opened) none now: no series. */
		if (st != NULL &&
		    store_crl_published_list(st, render_cb, &cr) != JPKI_OK)
			jpki_errclear();
		if (cr.r != JPKI_OK)
			return cr.r;
	}
	return JPKI_OK;
}
