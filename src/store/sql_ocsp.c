/*
 * sql_ocsp.c: pre-signed OCSP responses, and the queue of
 * certificates whose status changed (filled by the triggers of the
 * migration that made these tables, in the issuing or revoking process's
 * own transaction).
 *
 * A response is found by (serial, issuer), the table's primary key: the
 * responders' hot path is one cached statement on the thread's own
 * read-only connection, copying the DER into the caller's buffer.
 */
#include "store/sql_int.h"

#include <stdio.h>
#include <string.h>

int
store_sql_ocsp_put(void *impl, const struct ocsp_stored *r)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int rc;

	if (r->der == NULL || r->der_len == 0 || r->der_len > STORE_OCSP_DER_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "store: OCSP response of %zu "
		    "bytes (1-%d)", r->der_len, STORE_OCSP_DER_MAX);
	/* Only while the certificate still has the status the response
	 * says: a response signed from an older read never replaces one
	 * made after a revocation (writers are serialised, so this reads
	 * the last committed status, and nothing changes it before the
	 * write below). */
	if ((rc = store_db_cached(s, ST_OCSP_STATUS, "SELECT 1 FROM certificates"
	    " WHERE serial = ? AND status = ?", &st)))
		return rc;
	db_bind_text(st, 1, r->serial);
	db_bind_int(st, 2, (int)r->status);
	rc = store_db_row(s, st, "OCSP response", NULL);
	db_reset(st);
	if (rc == JPKI_ERR_NOTFOUND)
		return JPKI_ERR_CONFLICT;
	if (rc != JPKI_OK)
		return rc;
	if ((rc = store_db_cached(s, ST_OCSP_PUT, "INSERT INTO ocsp_responses("
	    "serial, issuer, status, this_update, next_update, der) "
	    "VALUES (?, ?, ?, ?, ?, ?) "
	    "ON CONFLICT(serial, issuer) DO UPDATE SET status = excluded.status,"
	    " this_update = excluded.this_update,"
	    " next_update = excluded.next_update, der = excluded.der", &st)))
		return rc;
	db_bind_text(st, 1, r->serial);
	db_bind_blob(st, 2, r->issuer, STORE_OCSP_ISSUER_LEN);
	db_bind_int(st, 3, (int)r->status);
	db_bind_int64(st, 4, r->this_update);
	db_bind_int64(st, 5, r->next_update);
	db_bind_blob(st, 6, r->der, r->der_len);
	rc = store_db_step_done(s, st, "OCSP response");
	db_reset(st);
	return rc;
}

int
store_sql_ocsp_delete(void *impl, const char *serial)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "DELETE FROM ocsp_responses WHERE serial = ?",
	    &st)) != JPKI_OK)
		return r;
	store_db_bind_text(st, 1, serial);
	return store_db_run(s, st, "OCSP response");
}

/* ocsp_get and ocsp_get_current: the same row, the second only while the
 * certificate still has the status it says (a second index lookup). */
static int
ocsp_get(struct sql_store *s, int current,
    const uint8_t issuer[STORE_OCSP_ISSUER_LEN], const char *serial,
    struct ocsp_stored *out, uint8_t *der, size_t cap)
{
	struct db_stmt *st = NULL;
	int r;

	if (current)
		r = store_db_cached(s, ST_OCSP_GET_CURRENT, "SELECT o.status,"
		    " o.this_update, o.next_update, o.der FROM ocsp_responses o"
		    " JOIN certificates c ON c.serial = o.serial AND c.status ="
		    " o.status WHERE o.serial = ? AND o.issuer = ?", &st);
	else
		r = store_db_cached(s, ST_OCSP_GET, "SELECT status, this_update,"
		    " next_update, der FROM ocsp_responses WHERE serial = ? AND"
		    " issuer = ?", &st);
	if (r != JPKI_OK)
		return r;
	db_bind_text(st, 1, serial);
	db_bind_blob(st, 2, issuer, STORE_OCSP_ISSUER_LEN);
	if ((r = store_db_row(s, st, "OCSP response", NULL)) == JPKI_OK) {
		size_t n = 0;
		const void *v;

		memset(out, 0, sizeof(*out));
		memcpy(out->issuer, issuer, STORE_OCSP_ISSUER_LEN);
		snprintf(out->serial, sizeof(out->serial), "%s", serial);
		out->status = (enum cert_status)db_col_int(st, 0);
		out->this_update = db_col_int64(st, 1);
		out->next_update = db_col_int64(st, 2);
		v = db_col_blob(st, 3, &n);
		if (v == NULL || n == 0 || n > cap) {
			r = jpki_fail(JPKI_ERR_INTERNAL, "store: OCSP response "
			    "of %zu bytes (room for %zu)", n, cap);
		} else {
			memcpy(der, v, n);
			out->der = der;
			out->der_len = n;
		}
	}
	db_reset(st);
	return r;
}

int
store_sql_ocsp_get(void *impl, const uint8_t issuer[STORE_OCSP_ISSUER_LEN],
    const char *serial, struct ocsp_stored *out, uint8_t *der, size_t cap)
{
	return ocsp_get(impl, 0, issuer, serial, out, der, cap);
}

int
store_sql_ocsp_get_current(void *impl,
    const uint8_t issuer[STORE_OCSP_ISSUER_LEN], const char *serial,
    struct ocsp_stored *out, uint8_t *der, size_t cap)
{
	return ocsp_get(impl, 1, issuer, serial, out, der, cap);
}

#define CAND_COLS "c.ca, c.status, c.reason, c.revoked_at, c.not_after," \
	" o.issuer, o.status, o.this_update, o.next_update, c.gen"

int
store_sql_ocsp_scan(void *impl, enum store_ocsp_scan what,
    const struct ocsp_candidate *after, int64_t bound, long limit,
    int (*fn)(void *, const struct ocsp_candidate *), void *arg)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	struct ocsp_candidate c;
	const char *sql;
	int r, rc;

	switch (what) {
	case STORE_OCSP_SCAN_ALL:
		sql = "SELECT c.rowid, c.serial, " CAND_COLS " FROM certificates c"
		    " LEFT JOIN ocsp_responses o ON o.serial = c.serial"
		    " WHERE c.rowid > ?1 AND +c.not_after > ?2"
		    " ORDER BY c.rowid LIMIT ?3";
		break;
	case STORE_OCSP_SCAN_CHANGES:
		sql = "SELECT q.seq, q.serial, " CAND_COLS " FROM ocsp_changes q"
		    " LEFT JOIN certificates c ON c.serial = q.serial"
		    " LEFT JOIN ocsp_responses o ON o.serial = q.serial"
		    " WHERE q.seq > ?1 AND q.seq <= ?2 ORDER BY q.seq LIMIT ?3";
		break;
	case STORE_OCSP_SCAN_DUE:
		sql = "SELECT 0, o.serial, " CAND_COLS " FROM ocsp_responses o"
		    " LEFT JOIN certificates c ON c.serial = o.serial"
		    " WHERE o.this_update < ?2"
		    " AND (o.this_update, o.serial) > (?1, ?4)"
		    " ORDER BY o.this_update, o.serial LIMIT ?3";
		break;
	default:
		return jpki_fail(JPKI_ERR_INTERNAL, "store: OCSP scan %d",
		    (int)what);
	}
	if ((r = store_db_prep(s, sql, &st)) != JPKI_OK)
		return r;
	/* ?1 where to start, ?2 the bound, ?3 the limit; ?4 (DUE) the serial
	 * to start after. */
	if (what == STORE_OCSP_SCAN_DUE) {
		db_bind_int64(st, 1, after ? after->this_update : INT64_MIN);
		db_bind_text(st, 4, after ? after->serial : "");
	} else {
		db_bind_int64(st, 1, after ? after->key : 0);
	}
	db_bind_int64(st, 2, bound);
	db_bind_int64(st, 3, limit > 0 ? limit : INT64_MAX);
	while ((rc = db_step(st)) == DB_ROW) {
		memset(&c, 0, sizeof(c));
		c.key = db_col_int64(st, 0);
		store_db_col_text(st, 1, c.serial, sizeof(c.serial));
		c.ca = (enum cert_type)db_col_int(st, 2);
		c.status = (enum cert_status)db_col_int(st, 3);
		c.reason = db_col_int(st, 4);
		c.revoked_at = db_col_int64(st, 5);
		c.not_after = db_col_int64(st, 6);
		if (!st->drv->col_is_null(st, 7)) {
			c.has_response = 1;
			store_db_col_blob(st, 7, c.issuer, sizeof(c.issuer));
			c.response_status =
			    (enum cert_status)db_col_int(st, 8);
			c.this_update = db_col_int64(st, 9);
			c.next_update = db_col_int64(st, 10);
		}
		c.gen = db_col_int(st, 11);
		if (fn(arg, &c) != 0)
			break;
	}
	return store_db_rows_end(s, st, rc, "OCSP candidates");
}

int
store_sql_ocsp_list_current(void *impl, const char *after_serial,
    const uint8_t after_issuer[STORE_OCSP_ISSUER_LEN], long limit,
    int (*fn)(void *, const struct ocsp_stored *), void *arg)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	struct ocsp_stored o;
	int r, rc;

	if ((r = store_db_prep(s, "SELECT o.serial, o.issuer, o.status,"
	    " o.this_update, o.next_update, o.der FROM ocsp_responses o"
	    " JOIN certificates c ON c.serial = o.serial AND c.status ="
	    " o.status WHERE (o.serial, o.issuer) > (?1, ?2)"
	    " ORDER BY o.serial, o.issuer LIMIT ?3", &st)) != JPKI_OK)
		return r;
	db_bind_text(st, 1, after_serial);
	db_bind_blob(st, 2, after_issuer, STORE_OCSP_ISSUER_LEN);
	db_bind_int64(st, 3, limit > 0 ? limit : INT64_MAX);
	while ((rc = db_step(st)) == DB_ROW) {
		size_t n = 0;

		memset(&o, 0, sizeof(o));
		store_db_col_text(st, 0, o.serial, sizeof(o.serial));
		store_db_col_blob(st, 1, o.issuer, sizeof(o.issuer));
		o.status = (enum cert_status)db_col_int(st, 2);
		o.this_update = db_col_int64(st, 3);
		o.next_update = db_col_int64(st, 4);
		o.der = db_col_blob(st, 5, &n);
		o.der_len = n;
		if (o.der == NULL || n == 0)
			continue;
		if (fn(arg, &o) != 0)
			break;
	}
	return store_db_rows_end(s, st, rc, "OCSP responses");
}

int
store_sql_ocsp_stats(void *impl, long *count, int64_t *oldest)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "SELECT count(*), coalesce(min(this_update),"
	    " 0) FROM ocsp_responses", &st)) != JPKI_OK)
		return r;
	if ((r = store_db_row(s, st, "OCSP responses", NULL)) == JPKI_OK) {
		*count = (long)db_col_int64(st, 0);
		*oldest = db_col_int64(st, 1);
	}
	db_finalize(st);
	return r;
}

int
store_sql_ocsp_changes_last(void *impl, int64_t *seq)
{
	long v = 0;
	int r;

	if ((r = store_db_count(impl, "SELECT coalesce(max(seq), 0) FROM "
	    "ocsp_changes", &v)) != JPKI_OK)
		return r;
	*seq = v;
	return JPKI_OK;
}

int
store_sql_ocsp_changes_prune(void *impl, int64_t upto)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;

	int64_t last = 0;
	int r;

	/* The newest STORE_OCSP_CHANGES_KEEP stay for the caches that follow
	 * the queue (store.h). */
	if ((r = store_sql_ocsp_changes_last(impl, &last)) != JPKI_OK)
		return r;
	if (upto > last - STORE_OCSP_CHANGES_KEEP)
		upto = last - STORE_OCSP_CHANGES_KEEP;
	if (upto <= 0)
		return JPKI_OK;
	if ((r = store_db_prep(s, "DELETE FROM ocsp_changes WHERE seq <= ?",
	    &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, upto);
	return store_db_run(s, st, "OCSP change queue");
}

int
store_sql_ocsp_changes_read(void *impl, int64_t after, long limit,
    int (*fn)(void *, int64_t, const char *), void *arg, int64_t *first)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	long v = 0;
	int r, d;

	*first = 0;
	if ((r = store_db_prep(s, "SELECT seq, serial FROM ocsp_changes WHERE "
	    "seq > ? ORDER BY seq LIMIT ?", &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, after);
	db_bind_int64(st, 2, limit);
	while ((d = db_step(st)) == DB_ROW) {
		const char *serial = db_col_text(st, 1);

		if (fn(arg, db_col_int64(st, 0), serial ? serial : "") != 0)
			break;
	}
	if ((r = store_db_rows_end(s, st, d, "OCSP change queue")) != JPKI_OK)
		return r;
	/* After the rows: a prune (which drops a prefix) between the two
	 * reads only makes this larger. */
	if ((r = store_db_count(s, "SELECT coalesce(min(seq), 0) FROM "
	    "ocsp_changes", &v)) != JPKI_OK)
		return r;
	*first = v;
	return JPKI_OK;
}
