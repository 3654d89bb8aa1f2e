/*
 * limits.c: descriptors enough for SERVER_CONNECTIONS_MAX.  Each connection
 * takes a descriptor; the rest of the server (store connections, CRL
 * files being sent, the listening socket, epoll, the access log) takes a
 * few more per thread.  The soft RLIMIT_NOFILE (often 1,024) is raised
 * towards the hard one; when even that is too low, the connection limit
 * is lowered to fit, so that accept() never fails for want of a
 * descriptor while a CRL is being opened.
 */
#include "server/server_impl.h"

#include <sys/resource.h>

unsigned
server_connection_limit(void)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)SERVER_CONNECTIONS_MAX + SERVER_FDS_RESERVED;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return SERVER_CONNECTIONS_MAX;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ?
		    want : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
		return SERVER_CONNECTIONS_MAX;
	return rl.rlim_cur > 2 * SERVER_FDS_RESERVED ?
	    (unsigned)(rl.rlim_cur - SERVER_FDS_RESERVED) : SERVER_FDS_RESERVED;
}
