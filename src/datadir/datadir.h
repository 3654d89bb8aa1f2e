/*
 * datadir: a data directory, opened on its own.
 *
 * A struct datadir is what every command opens first: the config, the
 * store, and the names of the files and directories the other modules keep
 * there.  It holds no private key.  A CA is opened *from* a data directory
 * (ca_open), with the keys a command needs and no others; commands that
 * only read (audit, cert show, resident, counter links) never open one.
 *
 * Layout of a data directory:
 *   config               the config file (store/config.c); written last by
 *                        datadir_create_finish(): its presence means
 *                        "initialised"
 *   jpki.db              the SQLite store (or `database = postgresql://…`)
 *   issuer-master.key    the card issuer master key (card module), 0600
 *   ca/                  CA and OCSP responder certificates and, for
 *                        file-held keys, the keys (ca module, 0600)
 *   cards/               card images made at the counter
 *   crl/                 published CRLs (ca module)
 *
 * Layer: after store and card (it creates the store and the card issuer
 * master key), before ca, counter and server.
 */
#ifndef JPKI_DATADIR_H
#define JPKI_DATADIR_H

#include "base/base.h"
#include "store/store.h"

struct datadir;

enum datadir_mode {
	DATADIR_READ_WRITE = 0,
	/* No migrations and no writes (responders, readers): works while
	 * another process writes, and sees its commits. */
	DATADIR_READ_ONLY = 1,
};

/* The named places of a data directory. */
enum datadir_file {
	DATADIR_CONFIG,
	DATADIR_ISSUER_MASTER_KEY,
	DATADIR_CA_DIR,
	DATADIR_CARDS_DIR,
	DATADIR_CRL_DIR,
};

struct datadir_init_options {
	const char *municipality;   /* NULL: the config default */
	int key_bits;               /* 0: the config default (2048) */
	int production_policy;      /* 1: production policy OIDs */
	const char *base_url;       /* NULL: default */
	const char *database;       /* NULL: SQLite in the directory */
};

/* Create a data directory: check the options, make the directories, the
 * store with the municipality table and the card issuer master key.  The
 * config is not written yet: the caller adds what belongs to other modules
 * (the CAs) and then calls datadir_create_finish().  Refuses a directory
 * that holds any part of an earlier deployment (JPKI_ERR_CONFLICT). */
int datadir_create(const char *dir, const struct datadir_init_options *o,
    struct datadir **out);
/* Write the config: from now on the directory opens. */
int datadir_create_finish(struct datadir *dd);

int datadir_open(const char *dir, enum datadir_mode mode,
    struct datadir **out);
void datadir_close(struct datadir **dd);

struct store *datadir_store(struct datadir *dd);
const struct jpki_config *datadir_config(const struct datadir *dd);
const char *datadir_root(const struct datadir *dd);
int datadir_read_only(const struct datadir *dd);
/* The path of a named place, or of a name inside it (`sub` NULL: the place
 * itself).  JPKI_ERR_INPUT if it would not fit in n bytes. */
int datadir_path(const struct datadir *dd, enum datadir_file f,
    const char *sub, char *buf, size_t n);

#endif
