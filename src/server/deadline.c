/*
 * deadline.c: a deadline for a whole request that a trickling client
 * cannot extend (slowloris).  libmicrohttpd 0.9.75 restarts its idle
 * timeout at every byte and calls us only once the headers are in, so a
 * client sending a header byte every few seconds would hold its connection
 * for ever.  Here every connection is watched from the moment it is
 * accepted: its request (headers and body) must be in within
 * SERVER_REQUEST_SECONDS, and after an answer the next request within
 * SERVER_IDLE_SECONDS + SERVER_REQUEST_SECONDS.  A reaper thread shuts
 * down the socket of a connection past its deadline; libmicrohttpd then
 * sees it fail and closes it as usual.
 *
 * The list is locked when a connection opens or closes and by the reaper,
 * never while a request is answered (a deadline is an atomic).  The socket
 * is safe to shut down while it is listed: libmicrohttpd tells us a
 * connection closed (which unlists it, under the lock) before it closes
 * the descriptor, so a listed descriptor is never another connection's.
 */
#include "server/server_impl.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

struct conn_watch {
	int fd;
	_Atomic uint64_t deadline_us;      /* 0: none (being answered) */
	struct conn_watch *prev, *next;
};

struct deadlines {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct conn_watch head;            /* of a circular list */
	pthread_t reaper;
	int started, stop;
	atomic_ulong reaped;
};

static void *
reaper_main(void *arg)
{
	struct deadlines *d = arg;

	pthread_mutex_lock(&d->lock);
	while (!d->stop) {
		struct timespec until;
		uint64_t now = server_monotonic_us();

		for (struct conn_watch *w = d->head.next; w != &d->head;
		    w = w->next) {
			uint64_t dl = atomic_load(&w->deadline_us);

			if (dl != 0 && now > dl) {
				shutdown(w->fd, SHUT_RDWR);
				atomic_store(&w->deadline_us, 0);
				atomic_fetch_add(&d->reaped, 1);
			}
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 250 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&d->wake, &d->lock, &until);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

int
deadlines_start(struct deadlines **out)
{
	struct deadlines *d;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->wake, NULL);
	d->head.next = d->head.prev = &d->head;
	if (pthread_create(&d->reaper, NULL, reaper_main, d) != 0) {
		deadlines_stop(&d);
		return jpki_fail(JPKI_ERR_IO, "cannot start a thread");
	}
	d->started = 1;
	*out = d;
	return JPKI_OK;
}

/* After the daemon has stopped: every connection is closed and unlisted. */
void
deadlines_stop(struct deadlines **dp)
{
	struct deadlines *d = *dp;

	if (d == NULL)
		return;
	if (d->started) {
		pthread_mutex_lock(&d->lock);
		d->stop = 1;
		pthread_cond_signal(&d->wake);
		pthread_mutex_unlock(&d->lock);
		pthread_join(d->reaper, NULL);
	}
	pthread_cond_destroy(&d->wake);
	pthread_mutex_destroy(&d->lock);
	free(d);
	*dp = NULL;
}

unsigned long
deadlines_reaped(struct deadlines *d)
{
	return d != NULL ? atomic_load(&d->reaped) : 0;
}

/* MHD_OPTION_NOTIFY_CONNECTION */
void
deadlines_notify(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct deadlines *d = cls;
	struct conn_watch *w = *socket_context;
	const union MHD_ConnectionInfo *ci;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci == NULL || (w = calloc(1, sizeof(*w))) == NULL)
			return;     /* unwatched: the idle timeout still holds */
		w->fd = ci->connect_fd;
		atomic_store(&w->deadline_us, server_monotonic_us() +
		    (uint64_t)SERVER_REQUEST_SECONDS * 1000000u);
		pthread_mutex_lock(&d->lock);
		w->next = d->head.next;
		w->prev = &d->head;
		d->head.next->prev = w;
		d->head.next = w;
		pthread_mutex_unlock(&d->lock);
		*socket_context = w;
		return;
	}
	if (w == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	w->prev->next = w->next;
	w->next->prev = w->prev;
	pthread_mutex_unlock(&d->lock);
	free(w);
	*socket_context = NULL;
}

static struct conn_watch *
watch_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

void
deadlines_answering(struct MHD_Connection *c)
{
	struct conn_watch *w = watch_of(c);

	if (w != NULL)
		atomic_store(&w->deadline_us, 0);
}

void
deadlines_answered(struct MHD_Connection *c)
{
	struct conn_watch *w = watch_of(c);

	if (w != NULL)
		atomic_store(&w->deadline_us, server_monotonic_us() +
		    (uint64_t)(SERVER_IDLE_SECONDS + SERVER_REQUEST_SECONDS) *
		    1000000u);
}
