/*
 * open_ca.h: for tests, benchmarks and test tools: a data directory made
 * as `jpki init` makes it, and its CAs opened with their keys, as the
 * commands that issue open them.  (The CLI's own way is cli_open.)
 */
#ifndef JPKI_SUPPORT_OPEN_CA_H
#define JPKI_SUPPORT_OPEN_CA_H

#include "ca/ca.h"
#include "datadir/datadir.h"

static inline int
support_datadir_init(const char *dir, const struct datadir_init_options *o)
{
	struct datadir *dd = NULL;
	int r;

	if ((r = datadir_create(dir, o, &dd)) == JPKI_OK &&
	    (r = ca_create(dd)) == JPKI_OK)
		r = datadir_create_finish(dd);
	datadir_close(&dd);
	return r;
}

/* The CAs of dir with `keys`, over their own read-write data directory,
 * closed with support_ca_close(). */
static inline int
support_ca_open(const char *dir, unsigned keys, struct ca **out)
{
	struct datadir *dd = NULL;
	int r;

	*out = NULL;
	if ((r = datadir_open(dir, DATADIR_READ_WRITE, &dd)) != JPKI_OK)
		return r;
	if ((r = ca_open(dd, keys, out)) != JPKI_OK)
		datadir_close(&dd);
	return r;
}

static inline void
support_ca_close(struct ca **ca)
{
	struct datadir *dd;

	if (*ca == NULL)
		return;
	dd = ca_datadir(*ca);
	ca_close(ca);
	datadir_close(&dd);
}

#endif
