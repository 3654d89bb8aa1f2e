/*
 * sql_watch.c: store_watch (store.h), a wake-up on other processes'
 * commits.
 *
 * PostgreSQL: every write transaction NOTIFYs STORE_PG_CHANNEL in its
 * commit (sql_conn.c), and the notice is delivered, once the transaction
 * is visible, to every connection that LISTENs on it.  The watch holds
 * one such connection of its own (db_pg_listen_*), apart from the store's,
 * so that a long query on the store never delays a notice, and a lost
 * listening connection never touches the store's.  A lost connection is
 * made again by a later wait, at most every STORE_WATCH_RETRY_MS; the
 * wait that makes it again returns 1, since a commit may have come while
 * nobody listened.  A hot standby cannot LISTEN (NOTIFY is not
 * replicated): there, and on SQLite, the watch only sleeps and the
 * caller polls its data version (store_watch_live() is 0).
 * store_watch_interrupt() ends a wait from another thread (a pipe the
 * wait polls beside the connection), so a thread that waits stops at
 * once.
 */
#include "store/sql_int.h"

#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct store_watch {
	char *where;                /* NULL: nothing to listen to */
	struct db_listener *l;      /* NULL while not listening */
	int64_t next_try_ms;        /* monotonic: when to connect again */
	int pipe[2];                /* store_watch_interrupt() writes */
	atomic_int live;
};

/* Sleep, unless interrupted. */
static void
sleep_ms(struct store_watch *w, long ms)
{
	struct pollfd pfd = {w->pipe[0], POLLIN, 0};

	if (ms > 0)
		poll(&pfd, 1, ms > INT32_MAX ? INT32_MAX : (int)ms);
}

/* Listen again: 1 when it does. */
static int
connect_again(struct store_watch *w)
{
	int r = db_pg_listen_open(w->where, STORE_PG_CHANNEL, &w->l);

	if (r == JPKI_OK) {
		atomic_store(&w->live, 1);
		return 1;
	}
	w->next_try_ms = store_mono_ms() + (r == JPKI_ERR_REFUSED ?
	    STORE_WATCH_STANDBY_RETRY_MS : STORE_WATCH_RETRY_MS);
	return 0;
}

int
store_watch_open(struct store *s, struct store_watch **out)
{
	struct sql_store *q = s->impl;
	struct store_watch *w;

	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	if (pipe2(w->pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		free(w);
		return jpki_fail(JPKI_ERR_IO, "store: cannot make a pipe");
	}
	if (q->dialect == DB_POSTGRESQL && q->where != NULL) {
		if ((w->where = strdup(q->where)) == NULL) {
			store_watch_close(&w);
			return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		}
		connect_again(w);
	}
	*out = w;
	return JPKI_OK;
}

int
store_watch_wait(struct store_watch *w, long timeout_ms)
{
	int rc;

	if (w->l == NULL) {
		if (w->where != NULL && store_mono_ms() >= w->next_try_ms &&
		    connect_again(w))
			return 1;
		sleep_ms(w, timeout_ms);
		return 0;
	}
	if ((rc = db_pg_listen_wait(w->l, w->pipe[0], timeout_ms)) >= 0)
		return rc;
	/* Lost: poll until a later wait makes it again. */
	atomic_store(&w->live, 0);
	db_pg_listen_close(w->l);
	w->l = NULL;
	w->next_try_ms = store_mono_ms() + STORE_WATCH_RETRY_MS;
	return 1;
}

void
store_watch_interrupt(struct store_watch *w)
{
	/* Full already means interrupted already. */
	if (w != NULL && write(w->pipe[1], "x", 1) < 0)
		return;
}

int
store_watch_live(const struct store_watch *w)
{
	return w != NULL && atomic_load(&((struct store_watch *)w)->live);
}

void
store_watch_close(struct store_watch **wp)
{
	struct store_watch *w = *wp;

	if (w == NULL)
		return;
	db_pg_listen_close(w->l);
	close(w->pipe[0]);
	close(w->pipe[1]);
	free(w->where);
	free(w);
	*wp = NULL;
}
