/*
 * sql_certs.c: certificates: issue, look up, list and
 * revoke them, the revocations CRLs stream from, and CRL numbers.
 */
#include "store/sql_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- certificates ---- */

#define CERT_COLS "serial, ca, resident_id, card_id, status, reason," \
	" not_before, not_after, issued_at, revoked_at, crl_shard, replaces, gen"

static void
cert_from_row(struct db_stmt *st, struct cert_record *c)
{
	memset(c, 0, sizeof(*c));
	store_db_col_text(st, 0, c->serial, sizeof(c->serial));
	c->ca = (enum cert_type)db_col_int(st, 1);
	c->resident_id = db_col_int64(st, 2);
	c->card_id = db_col_int64(st, 3);
	c->status = (enum cert_status)db_col_int(st, 4);
	c->reason = db_col_int(st, 5);
	c->not_before = db_col_int64(st, 6);
	c->not_after = db_col_int64(st, 7);
	c->issued_at = db_col_int64(st, 8);
	c->revoked_at = db_col_int64(st, 9);
	c->crl_shard = db_col_int(st, 10);
	store_db_col_text(st, 11, c->replaces, sizeof(c->replaces));
	c->gen = db_col_int(st, 12);
}

int
store_sql_cert_insert(void *impl, const struct cert_record *c)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_cached(s, ST_CERT_INSERT, "INSERT INTO certificates("
	    CERT_COLS ", der) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &st)))
		return r;
	db_bind_text(st, 1, c->serial);
	db_bind_int(st, 2, (int)c->ca);
	db_bind_int64(st, 3, c->resident_id);
	if (c->card_id != 0)
		db_bind_int64(st, 4, c->card_id);
	db_bind_int(st, 5, (int)c->status);
	if (c->status == CERT_STATUS_REVOKED)
		db_bind_int(st, 6, c->reason);
	db_bind_int64(st, 7, c->not_before);
	db_bind_int64(st, 8, c->not_after);
	db_bind_int64(st, 9, c->issued_at);
	if (c->status == CERT_STATUS_REVOKED)
		db_bind_int64(st, 10, c->revoked_at);
	db_bind_int(st, 11, c->crl_shard);
	if (c->replaces[0] != '\0')
		db_bind_text(st, 12, c->replaces);
	db_bind_int(st, 13, c->gen > 0 ? c->gen : 1);
	db_bind_blob(st, 14, c->der, (int)c->der_len);
	r = store_db_step_done(s, st, "certificate");
	db_reset(st);
	return r;
}

int
store_sql_cert_get(void *impl, const char *serial, struct cert_record *out)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "SELECT " CERT_COLS ", der FROM certificates"
	    " WHERE serial = ?", &st)) != JPKI_OK)
		return r;
	store_db_bind_text(st, 1, serial);
	if ((r = store_db_row(s, st, "certificate", "no certificate with serial %s",
	    serial)) == JPKI_OK) {
		size_t n = 0;
		const void *der = db_col_blob(st, 13, &n);

		cert_from_row(st, out);
		if ((out->der = malloc(n > 0 ? n : 1)) == NULL) {
			r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		} else {
			if (n > 0)
				memcpy(out->der, der, n);
			out->der_len = n;
		}
	}
	db_finalize(st);
	return r;
}

int
store_sql_cert_revoke(void *impl, const char *serial, int reason, int64_t at)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r, ca, shard, status, gen;

	if ((r = store_db_prep(s, "SELECT ca, crl_shard, status, gen FROM certificates"
	    " WHERE serial = ?", &st)) != JPKI_OK)
		return r;
	store_db_bind_text(st, 1, serial);
	if ((r = store_db_row(s, st, "certificate", "no certificate with serial %s",
	    serial)) != JPKI_OK) {
		db_finalize(st);
		return r;
	}
	ca = db_col_int(st, 0);
	shard = db_col_int(st, 1);
	status = db_col_int(st, 2);
	gen = db_col_int(st, 3);
	db_finalize(st);
	if (status == CERT_STATUS_REVOKED)
		return jpki_fail(JPKI_ERR_CONFLICT,
		    "certificate %s is already revoked", serial);
	if ((r = store_db_prep(s, "UPDATE certificates SET status = 2, reason = ?,"
	    " revoked_at = ? WHERE serial = ?", &st)) != JPKI_OK)
		return r;
	db_bind_int(st, 1, reason);
	db_bind_int64(st, 2, at);
	store_db_bind_text(st, 3, serial);
	if ((r = store_db_run(s, st, "revoke")) != JPKI_OK)
		return r;
	if ((r = store_db_prep(s, "INSERT INTO revocations(ca, shard, serial,"
	    " revoked_at, reason, gen) VALUES (?,?,?,?,?,?)", &st)) != JPKI_OK)
		return r;
	db_bind_int(st, 1, ca);
	db_bind_int(st, 2, shard);
	store_db_bind_text(st, 3, serial);
	db_bind_int64(st, 4, at);
	db_bind_int(st, 5, reason);
	db_bind_int(st, 6, gen);
	return store_db_run(s, st, "revocation");
}

/* Each row of a query of CERT_COLS to fn, then finalize it. */
static int
cert_rows(struct sql_store *s, struct db_stmt *st,
    int (*fn)(void *, const struct cert_record *), void *arg,
    const char *what)
{
	struct cert_record c;
	int rc;

	while ((rc = db_step(st)) == DB_ROW) {
		cert_from_row(st, &c);
		if (fn(arg, &c) != 0)
			break;
	}
	return store_db_rows_end(s, st, rc, what);
}

int
store_sql_cert_list(void *impl, int64_t resident_id,
    int (*fn)(void *, const struct cert_record *), void *arg)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, resident_id != 0 ?
	    "SELECT " CERT_COLS " FROM certificates WHERE resident_id = ?"
	    " ORDER BY issued_at, rowid" :
	    "SELECT " CERT_COLS " FROM certificates ORDER BY issued_at, rowid",
	    &st)) != JPKI_OK)
		return r;
	if (resident_id != 0)
		db_bind_int64(st, 1, resident_id);
	return cert_rows(s, st, fn, arg, "certificate list");
}

int
store_sql_cert_count(void *impl, long *out)
{
	return store_db_count(impl, "SELECT COUNT(*) FROM certificates", out);
}

int
store_sql_cert_valid_of(void *impl, int64_t resident_id, enum cert_type type,
    int64_t now, char serial[SERIAL_HEX_MAX], int64_t *not_after)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	/* By certificates_resident_ca (resident_id, ca), migration 9: with
	 * only a resident's index, SQLite (no statistics) took
	 * certificates_generation (ca, gen, not_after) for `ca = ?` and read
	 * every certificate of the CA for each issuance (bench_pg, 200,000
	 * stored: 3 issuances/s). */
	if ((r = store_db_cached(s, ST_CERT_VALID_OF, "SELECT serial, not_after FROM"
	    " certificates WHERE resident_id = ? AND ca = ? AND status = 1"
	    " AND not_after >= ? ORDER BY issued_at DESC, rowid DESC LIMIT 1",
	    &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, resident_id);
	db_bind_int(st, 2, (int)type);
	db_bind_int64(st, 3, now);
	if ((r = store_db_row(s, st, "certificate", NULL)) == JPKI_OK) {
		store_db_col_text(st, 0, serial, SERIAL_HEX_MAX);
		*not_after = db_col_int64(st, 1);
	}
	db_reset(st);
	return r;
}

int
store_sql_revocation_list(void *impl, enum cert_type ca, int gen,
    int shard, int (*fn)(void *, const char *, int64_t, int), void *arg)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r, rc;

	/* ?2 = 0: every generation; the (ca, shard, serial) key gives the
	 * order, the generation is a filter on it.  Every placeholder is
	 * used in both forms (PostgreSQL types each from its use). */
	if ((r = store_db_prep(s, shard >= 0 ?
	    "SELECT serial, revoked_at, reason FROM revocations"
	    " WHERE ca = ?1 AND (?2 = 0 OR gen = ?2) AND shard = ?3"
	    " ORDER BY serial" :
	    "SELECT serial, revoked_at, reason FROM revocations"
	    " WHERE ca = ?1 AND (?2 = 0 OR gen = ?2) ORDER BY shard, serial",
	    &st)) != JPKI_OK)
		return r;
	db_bind_int(st, 1, (int)ca);
	db_bind_int(st, 2, gen);
	if (shard >= 0)
		db_bind_int(st, 3, shard);
	while ((rc = db_step(st)) == DB_ROW) {
		if (fn(arg, db_col_text(st, 0),
		    db_col_int64(st, 1), db_col_int(st, 2)))
			break;
	}
	return store_db_rows_end(s, st, rc, "revocation list");
}

int
store_sql_crl_number_next(void *impl, enum cert_type ca, int shard,
    int64_t *out)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "INSERT INTO crl_numbers VALUES (?, ?, 1)"
	    " ON CONFLICT(ca, shard) DO UPDATE SET number = crl_numbers.number + 1"
	    " RETURNING number", &st)) != JPKI_OK)
		return r;
	db_bind_int(st, 1, (int)ca);
	db_bind_int(st, 2, shard);
	if ((r = store_db_row(s, st, "crl number", NULL)) == JPKI_OK)
		*out = db_col_int64(st, 0);
	db_finalize(st);
	return r;
}

int
store_sql_cert_expiring(void *impl, int64_t from, int64_t to,
    int (*fn)(void *, const struct cert_record *), void *arg)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "SELECT " CERT_COLS " FROM certificates"
	    " WHERE status = 1 AND not_after BETWEEN ? AND ?"
	    " ORDER BY not_after, rowid", &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, from);
	db_bind_int64(st, 2, to);
	return cert_rows(s, st, fn, arg, "expiring certificates");
}

int
store_sql_revocation_recent(void *impl, int64_t since, long limit,
    int (*fn)(void *, const struct cert_record *), void *arg)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "SELECT " CERT_COLS " FROM certificates"
	    " WHERE status = 2 AND revoked_at >= ?"
	    " ORDER BY revoked_at DESC, rowid DESC LIMIT ?", &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, since);
	db_bind_int64(st, 2, limit > 0 ? limit : INT64_MAX);
	return cert_rows(s, st, fn, arg, "recent revocations");
}
