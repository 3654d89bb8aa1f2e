/*
 * sqlite_crl.c: what the published CRLs cover, for `jpki serve`'s CRL
 * publisher (src/server/crl_publisher.c) and /metrics: one row per (CA,
 * shard) in crl_published, written by every generation (ca_crl_generate)
 * after its rename, and the revocation counts it is compared with.
 */
#include "store/sqlite_int.h"

int
store_sqlite_crl_published_put(void *impl, const struct crl_published *c)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	/* Generations into one directory take turns and number in order, but
	 * a record is written after the rename: keep the highest. */
	if ((r = store_db_prep(s, "INSERT INTO crl_published VALUES"
	    " (?, ?, ?, ?, ?, ?) ON CONFLICT(ca, shard) DO UPDATE SET"
	    " number = excluded.number, this_update = excluded.this_update,"
	    " next_update = excluded.next_update, entries = excluded.entries"
	    " WHERE excluded.number > crl_published.number", &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int(st, 1, (int)c->ca);
	sqlite3_bind_int(st, 2, c->shard);
	sqlite3_bind_int64(st, 3, c->number);
	sqlite3_bind_int64(st, 4, c->this_update);
	sqlite3_bind_int64(st, 5, c->next_update);
	sqlite3_bind_int64(st, 6, c->entries);
	return store_db_run(s, st, "CRL record");
}

int
store_sqlite_crl_published_list(void *impl,
    int (*fn)(void *, const struct crl_published *), void *arg)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = store_db_prep(s, "SELECT ca, shard, number, this_update,"
	    " next_update, entries FROM crl_published ORDER BY ca, shard",
	    &st)) != JPKI_OK)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct crl_published c = {
		    .ca = (enum cert_type)sqlite3_column_int(st, 0),
		    .shard = sqlite3_column_int(st, 1),
		    .number = sqlite3_column_int64(st, 2),
		    .this_update = sqlite3_column_int64(st, 3),
		    .next_update = sqlite3_column_int64(st, 4),
		    .entries = (long)sqlite3_column_int64(st, 5)};

		if (fn(arg, &c))
			break;
	}
	return store_db_rows_end(s, st, rc, "CRL records");
}

int
store_sqlite_revocation_counts(void *impl,
    int (*fn)(void *, enum cert_type, int, long), void *arg)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r, rc;

	/* The primary key's order: no sort, one pass over the index. */
	if ((r = store_db_prep(s, "SELECT ca, shard, count(*) FROM revocations"
	    " GROUP BY ca, shard ORDER BY ca, shard", &st)) != JPKI_OK)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (fn(arg, (enum cert_type)sqlite3_column_int(st, 0),
		    sqlite3_column_int(st, 1),
		    (long)sqlite3_column_int64(st, 2)))
			break;
	}
	return store_db_rows_end(s, st, rc, "revocation counts");
}
