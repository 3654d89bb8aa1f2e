/*
 * sql_generations.c: the CA generations (ca rollover): which
 * generations each CA has, and what each one's certificates still need of
 * it (OCSP and CRLs until the last of them expires).
 */
#include "store/sql_int.h"

int
store_sql_ca_generation_add(void *impl, enum cert_type ca, int gen,
    int64_t at)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "INSERT INTO ca_generations(ca, gen,"
	    " created_at) VALUES (?, ?, ?)", &st)) != JPKI_OK)
		return r;
	db_bind_int(st, 1, (int)ca);
	db_bind_int(st, 2, gen);
	db_bind_int64(st, 3, at);
	return store_db_run(s, st, "CA generation");
}

int
store_sql_ca_generation_list(void *impl,
    int (*fn)(void *, enum cert_type, int, int64_t), void *arg)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r, rc;

	if ((r = store_db_prep(s, "SELECT ca, gen, created_at FROM"
	    " ca_generations ORDER BY ca, gen", &st)) != JPKI_OK)
		return r;
	while ((rc = db_step(st)) == DB_ROW) {
		if (fn(arg, (enum cert_type)db_col_int(st, 0),
		    db_col_int(st, 1), db_col_int64(st, 2)))
			break;
	}
	return store_db_rows_end(s, st, rc, "CA generations");
}

int
store_sql_ca_generation_stats(void *impl, enum cert_type ca, int gen,
    int64_t now, long *live, int64_t *last_not_after)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	/* certificates_generation (ca, gen, not_after) covers both. */
	if ((r = store_db_prep(s, "SELECT"
	    " (SELECT COUNT(*) FROM certificates WHERE ca = ?1 AND gen = ?2"
	    "  AND not_after >= ?3 AND status = 1),"
	    " (SELECT COALESCE(MAX(not_after), 0) FROM certificates"
	    "  WHERE ca = ?1 AND gen = ?2)", &st)) != JPKI_OK)
		return r;
	db_bind_int(st, 1, (int)ca);
	db_bind_int(st, 2, gen);
	db_bind_int64(st, 3, now);
	if ((r = store_db_row(s, st, "CA generation", NULL)) == JPKI_OK) {
		*live = (long)db_col_int64(st, 0);
		*last_not_after = db_col_int64(st, 1);
	}
	db_finalize(st);
	return r;
}
