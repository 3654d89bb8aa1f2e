/*
 * sql_crl.c: what the published CRLs cover, for `jpki serve`'s CRL
 * publisher (src/server/crl_publisher.c) and /metrics: one row per (CA,
 * generation, shard) in crl_published, written by every generation (ca_crl_generate)
 * after its rename, and the revocation counts it is compared with.
 */
#include "store/sql_int.h"

int
store_sql_crl_published_put(void *impl, const struct crl_published *c)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	/* Generations into one directory take turns and number in order, but
	 * a record is written after the rename: keep the highest. */
	if ((r = store_db_prep(s, "INSERT INTO crl_published(ca, gen, shard,"
	    " number, this_update, next_update, entries) VALUES"
	    " (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(ca, gen, shard) DO UPDATE SET"
	    " number = excluded.number, this_update = excluded.this_update,"
	    " next_update = excluded.next_update, entries = excluded.entries"
	    " WHERE excluded.number > crl_published.number", &st)) != JPKI_OK)
		return r;
	db_bind_int(st, 1, (int)c->ca);
	db_bind_int(st, 2, c->gen);
	db_bind_int(st, 3, c->shard);
	db_bind_int64(st, 4, c->number);
	db_bind_int64(st, 5, c->this_update);
	db_bind_int64(st, 6, c->next_update);
	db_bind_int64(st, 7, c->entries);
	return store_db_run(s, st, "CRL record");
}

int
store_sql_crl_published_list(void *impl,
    int (*fn)(void *, const struct crl_published *), void *arg)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r, rc;

	if ((r = store_db_prep(s, "SELECT ca, gen, shard, number, this_update,"
	    " next_update, entries FROM crl_published ORDER BY ca, gen, shard",
	    &st)) != JPKI_OK)
		return r;
	while ((rc = db_step(st)) == DB_ROW) {
		struct crl_published c = {
		    .ca = (enum cert_type)db_col_int(st, 0),
		    .gen = db_col_int(st, 1),
		    .shard = db_col_int(st, 2),
		    .number = db_col_int64(st, 3),
		    .this_update = db_col_int64(st, 4),
		    .next_update = db_col_int64(st, 5),
		    .entries = (long)db_col_int64(st, 6)};

		if (fn(arg, &c))
			break;
	}
	return store_db_rows_end(s, st, rc, "CRL records");
}

int
store_sql_revocation_counts(void *impl,
    int (*fn)(void *, enum cert_type, int, int, long), void *arg)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r, rc;

	/* revocations_generation's order: no sort, one pass over the
	 * index. */
	if ((r = store_db_prep(s, "SELECT ca, gen, shard, count(*)"
	    " FROM revocations GROUP BY ca, gen, shard"
	    " ORDER BY ca, gen, shard", &st)) != JPKI_OK)
		return r;
	while ((rc = db_step(st)) == DB_ROW) {
		if (fn(arg, (enum cert_type)db_col_int(st, 0),
		    db_col_int(st, 1), db_col_int(st, 2),
		    (long)db_col_int64(st, 3)))
			break;
	}
	return store_db_rows_end(s, st, rc, "revocation counts");
}
