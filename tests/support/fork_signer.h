/*
 * fork_signer.h: for tests and benchmarks: `jpki signer` for a data
 * directory, forked from the calling process, set up as an operator sets
 * one up: the data directory's key files moved to a directory of the
 * signer's own and `signer = unix:SOCK` put first in its config, so the
 * data directory's own processes hold no key and sign over the socket.
 */
#ifndef JPKI_SUPPORT_FORK_SIGNER_H
#define JPKI_SUPPORT_FORK_SIGNER_H

#include "ca/ca.h"
#include "datadir/datadir.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* The signer of data (keys moved to `keys`, listening on `sock`) in a
 * child process: its pid once the socket is there, or -1.  End it with
 * SIGTERM and wait for it. */
static inline pid_t
support_signer_fork(const char *data, const char *keys, const char *sock)
{
	char cmd[4096];
	struct stat st;
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "mkdir -m 700 %s && mv %s/ca/*.key %s/ && "
	    "sed -i '1i signer = unix:%s' %s/config", keys, data, keys, sock,
	    data);
	if (system(cmd) != 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == 0) {
		static char listen[700];
		struct ca_signer_daemon_options so = {0};
		struct datadir *dd = NULL;

		snprintf(listen, sizeof(listen), "unix:%s", sock);
		so.listen = listen;
		so.key_dir = keys;
		if (datadir_open(data, DATADIR_READ_ONLY, &dd) != JPKI_OK ||
		    ca_signer_serve(dd, &so) != JPKI_OK) {
			fprintf(stderr, "signer: %s\n", jpki_errmsg());
			_exit(3);
		}
		_exit(0);
	}
	for (int i = 0; pid > 0 && i < 400; i++) {
		if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
			return pid;
		usleep(25000);
	}
	return -1;
}

#endif
