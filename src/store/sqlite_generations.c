/*
 * sqlite_generations.c: the CA generations in SQLite (ca rollover): which
 * generations each CA has, and what each one's certificates still need of
 * it (OCSP and CRLs until the last of them expires).
 */
#include "store/sqlite_int.h"

int
store_sqlite_ca_generation_add(void *impl, enum cert_type ca, int gen,
    int64_t at)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "INSERT INTO ca_generations(ca, gen,"
	    " created_at) VALUES (?, ?, ?)", &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int(st, 1, (int)ca);
	sqlite3_bind_int(st, 2, gen);
	sqlite3_bind_int64(st, 3, at);
	return store_db_run(s, st, "CA generation");
}

int
store_sqlite_ca_generation_list(void *impl,
    int (*fn)(void *, enum cert_type, int, int64_t), void *arg)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = store_db_prep(s, "SELECT ca, gen, created_at FROM"
	    " ca_generations ORDER BY ca, gen", &st)) != JPKI_OK)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (fn(arg, (enum cert_type)sqlite3_column_int(st, 0),
		    sqlite3_column_int(st, 1), sqlite3_column_int64(st, 2)))
			break;
	}
	return store_db_rows_end(s, st, rc, "CA generations");
}

int
store_sqlite_ca_generation_stats(void *impl, enum cert_type ca, int gen,
    int64_t now, long *live, int64_t *last_not_after)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int r;

	/* certificates_generation (ca, gen, not_after) covers both. */
	if ((r = store_db_prep(s, "SELECT"
	    " (SELECT COUNT(*) FROM certificates WHERE ca = ?1 AND gen = ?2"
	    "  AND not_after >= ?3 AND status = 1),"
	    " (SELECT IFNULL(MAX(not_after), 0) FROM certificates"
	    "  WHERE ca = ?1 AND gen = ?2)", &st)) != JPKI_OK)
		return r;
	sqlite3_bind_int(st, 1, (int)ca);
	sqlite3_bind_int(st, 2, gen);
	sqlite3_bind_int64(st, 3, now);
	if ((r = store_db_row(s, st, "CA generation", NULL)) == JPKI_OK) {
		*live = (long)sqlite3_column_int64(st, 0);
		*last_not_after = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return r;
}
