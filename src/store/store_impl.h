/*
 * store_impl.h: private to the store module.  A struct store dispatches
 * through a struct store_ops: the connection's life, written out below,
 * and one member per query in store_ops.def.  Its implementation is the
 * SQL one (sql_*.c), the same queries for SQLite and PostgreSQL over a
 * driver per database (db.h), chosen at open time from the URL's scheme.
 */
#ifndef JPKI_STORE_IMPL_H
#define JPKI_STORE_IMPL_H

#include "store/store.h"

/* How store.c asks an implementation to open. */
struct store_open_options {
	int read_only;         /* no migrations, no writes (store_open_readonly) */
	long busy_timeout_ms;  /* how long to wait for another writer */
	int *version_before;   /* if set: the schema version before migrating */
};

#define STORE_BUSY_TIMEOUT_MS_DEFAULT 30000L

/* Strips the parentheses around an op's parameter or argument list. */
#define STORE_UNPAREN(...) __VA_ARGS__
/* An op's mode (store_ops.def): 1 if it writes. */
#define STORE_WRITES_R 0
#define STORE_WRITES_W 1

struct store_ops {
	const char *name;
	/* where: the URL without its scheme (for SQLite, a path). */
	int (*open)(const char *where, const struct store_open_options *o,
	    void **impl);
	void (*close)(void *impl);
	/* On a read-only store, begin starts a read snapshot. */
	int (*begin)(void *impl);
	int (*commit)(void *impl);
	void (*rollback)(void *impl);
	int (*in_transaction)(void *impl);
	/* Before an operation: outside a transaction, a connection lost
	 * before is made again (or the error why not); *mark notes where
	 * the connection stands.  After a read failed: 1 when it may run
	 * once more (the connection was lost, nothing of the read was
	 * delivered, no transaction was open, and a new connection is up). */
	int (*ready)(void *impl, uint64_t *mark);
	int (*retry)(void *impl, uint64_t mark);
	/* Audit: the implementation stores and fetches; chaining is common. */
	int (*audit_last)(void *impl, int64_t *seq, uint8_t hash[32]);
	int (*audit_insert)(void *impl, const struct audit_entry *e);

#define STORE_OP(mode, op, params, args) \
	int (*op)(void *impl, STORE_UNPAREN params);
#include "store/store_ops.def"
#undef STORE_OP
};

struct store {
	const struct store_ops *ops;
	void *impl;
	int read_only;
};

extern const struct store_ops store_sql_ops;
/* "SQLite" or "PostgreSQL" (sql_conn.c). */
const char *store_sql_database_name(const void *impl);

#endif
