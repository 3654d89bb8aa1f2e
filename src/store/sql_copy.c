/*
 * sql_copy.c: copying a whole store from one database to another
 * (store_copy, `jpki store copy`): SQLite to PostgreSQL and back.
 *
 * Every table of the schema, in an order that satisfies its foreign keys;
 * the columns the two databases' tables share (PostgreSQL's certificates
 * carry a rowid column SQLite keeps implicitly; it is made anew, in the
 * same order), each row's values as they are: text and numbers as text,
 * which each database converts to its column's type, blobs as blobs.
 * The destination's identity counters are then moved past the copied
 * ids, and the copy verified.  A table of the source that is not in the
 * list below is refused before anything is copied, so a migration that
 * adds a table cannot be forgotten here silently.
 */
#include "store/sql_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Parents before children. */
static const char *const copy_order[] = {
	"municipalities", "residents", "cards", "certificates", "revocations",
	"crl_numbers", "audit", "receipts", "receipt_lines", "cert_links",
	"pin_resets", "card_images", "form_numbers", "proxy_applications",
	"inquiry_forms", "expiry_notices", "clerks", "approvals",
	"crl_published", "rp_nonces", "ocsp_responses", "ca_generations",
	"card_writes",
};

/* Tables known and not copied: queues the copy's own inserts refill (the
 * OCSP change queue, by its triggers), emptied after the copy. */
static const char *const copy_skip[] = {"ocsp_changes"};

/* The columns of one table: names and which hold blobs. */
#define COPY_COLS_MAX 40
#define COPY_NAME_MAX 64
struct columns {
	char name[COPY_COLS_MAX][COPY_NAME_MAX];
	int blob[COPY_COLS_MAX];
	int n;
};

static struct sql_store *
impl_of(struct store *s)
{
	return s->impl;
}

static int
column_list(struct sql_store *s, const char *table, struct columns *out)
{
	struct db_stmt *st = NULL;
	int r, rc;

	memset(out, 0, sizeof(*out));
	if (s->dialect == DB_POSTGRESQL) {
		r = store_db_prep(s, "SELECT column_name, data_type FROM"
		    " information_schema.columns WHERE table_schema ="
		    " current_schema() AND table_name = ? ORDER BY"
		    " ordinal_position", &st);
		if (r == JPKI_OK)
			db_bind_text(st, 1, table);
	} else {
		r = store_db_prep(s, "SELECT name, type FROM"
		    " pragma_table_info(?) ORDER BY cid", &st);
		if (r == JPKI_OK)
			db_bind_text(st, 1, table);
	}
	if (r != JPKI_OK)
		return r;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *name = db_col_text(st, 0);
		const char *type = db_col_text(st, 1);

		if (out->n == COPY_COLS_MAX || name == NULL ||
		    strlen(name) >= COPY_NAME_MAX) {
			db_finalize(st);
			return jpki_fail(JPKI_ERR_INTERNAL, "store copy: table "
			    "%s: too many columns or too long a name", table);
		}
		snprintf(out->name[out->n], COPY_NAME_MAX, "%s", name);
		out->blob[out->n] = type != NULL &&
		    (strcasecmp(type, "BLOB") == 0 ||
		    strcasecmp(type, "bytea") == 0);
		out->n++;
	}
	return store_db_rows_end(s, st, rc, "store copy: columns");
}

/* The columns of the source the destination has too. */
static void
shared_columns(const struct columns *a, const struct columns *b,
    struct columns *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < a->n; i++)
		/* PostgreSQL's rowid is made by the destination, in order. */
		for (int j = 0; j < b->n && strcmp(a->name[i], "rowid") != 0;
		    j++)
			if (strcmp(a->name[i], b->name[j]) == 0) {
				memcpy(out->name[out->n], a->name[i],
				    COPY_NAME_MAX);
				out->blob[out->n] = a->blob[i] || b->blob[j];
				out->n++;
				break;
			}
}

/* Every table of a store's schema is one this file copies. */
static int
check_tables_known(struct sql_store *s, const char *which)
{
	struct db_stmt *st = NULL;
	int r, rc;

	if ((r = store_db_prep(s, s->dialect == DB_POSTGRESQL ?
	    "SELECT table_name FROM information_schema.tables WHERE"
	    " table_schema = current_schema() AND table_type = 'BASE TABLE'"
	    " AND table_name <> 'jpki_meta'" :
	    "SELECT name FROM sqlite_master WHERE type = 'table' AND"
	    " name NOT LIKE 'sqlite_%'", &st)) != JPKI_OK)
		return r;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *t = db_col_text(st, 0);
		size_t i;

		for (i = 0; i < JPKI_ARRAY_LEN(copy_order); i++)
			if (t != NULL && strcmp(t, copy_order[i]) == 0)
				break;
		for (size_t k = 0; k < JPKI_ARRAY_LEN(copy_skip); k++)
			if (t != NULL && strcmp(t, copy_skip[k]) == 0)
				i = 0;
		if (i == JPKI_ARRAY_LEN(copy_order)) {
			r = jpki_fail(JPKI_ERR_INTERNAL, "store copy: the %s "
			    "has a table this program does not know how to copy:"
			    " %s", which, t ? t : "?");
			db_finalize(st);
			return r;
		}
	}
	return store_db_rows_end(s, st, rc, "store copy: tables");
}

static int
count_rows(struct sql_store *s, const char *table, long *n)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
	return store_db_count(s, sql, n);
}

/* Rows a migration puts into every new store (migration 5: generation 1
 * of both CAs, created at 0): not the store's own data, so they leave a
 * destination empty, and they give way to the source's rows. */
static const struct {
	const char *table, *where;
} seeded[] = {
	{"ca_generations", "gen = 1 AND created_at = 0"},
};

/* The rows of table beyond what a migration seeded. */
static int
count_own_rows(struct sql_store *s, const char *table, long *n)
{
	char sql[192];

	for (size_t i = 0; i < JPKI_ARRAY_LEN(seeded); i++) {
		if (strcmp(table, seeded[i].table) != 0)
			continue;
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s WHERE NOT"
		    " (%s)", table, seeded[i].where);
		return store_db_count(s, sql, n);
	}
	return count_rows(s, table, n);
}

/* Remove the destination's seeded rows (inside the copy's transaction). */
static int
unseed(struct sql_store *s)
{
	char sql[192];
	int r;

	for (size_t i = 0; i < JPKI_ARRAY_LEN(seeded); i++) {
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE %s",
		    seeded[i].table, seeded[i].where);
		if ((r = store_db_exec(s, sql)) != JPKI_OK)
			return r;
	}
	return JPKI_OK;
}

static int
append(char *buf, size_t cap, size_t *len, const char *text)
{
	size_t n = strlen(text);

	if (*len + n >= cap)
		return jpki_fail(JPKI_ERR_INTERNAL, "store copy: statement "
		    "too long");
	memcpy(buf + *len, text, n + 1);
	*len += n;
	return JPKI_OK;
}

static int
copy_table(struct sql_store *from, struct sql_store *to, const char *table,
    long *rows)
{
	struct columns a, b, c;
	struct db_stmt *src = NULL, *dst = NULL;
	char sel[2048], ins[2048];
	size_t ls = 0, li = 0;
	int r, rc;

	*rows = 0;
	if ((r = column_list(from, table, &a)) != JPKI_OK ||
	    (r = column_list(to, table, &b)) != JPKI_OK)
		return r;
	shared_columns(&a, &b, &c);
	if (c.n == 0)
		return jpki_fail(JPKI_ERR_INTERNAL, "store copy: table %s has "
		    "no columns in common", table);
	r = append(sel, sizeof(sel), &ls, "SELECT ");
	r = r ? r : append(ins, sizeof(ins), &li, "INSERT INTO ");
	r = r ? r : append(ins, sizeof(ins), &li, table);
	r = r ? r : append(ins, sizeof(ins), &li, "(");
	for (int i = 0; i < c.n && r == JPKI_OK; i++) {
		r = append(sel, sizeof(sel), &ls, i ? ", " : "");
		r = r ? r : append(sel, sizeof(sel), &ls, c.name[i]);
		r = r ? r : append(ins, sizeof(ins), &li, i ? ", " : "");
		r = r ? r : append(ins, sizeof(ins), &li, c.name[i]);
	}
	r = r ? r : append(sel, sizeof(sel), &ls, " FROM ");
	r = r ? r : append(sel, sizeof(sel), &ls, table);
	/* The order SQLite's rowid and PostgreSQL's identity keep. */
	if (strcmp(table, "certificates") == 0)
		r = r ? r : append(sel, sizeof(sel), &ls, " ORDER BY rowid");
	r = r ? r : append(ins, sizeof(ins), &li, ") VALUES (");
	for (int i = 0; i < c.n && r == JPKI_OK; i++)
		r = append(ins, sizeof(ins), &li, i ? ", ?" : "?");
	r = r ? r : append(ins, sizeof(ins), &li, ")");
	if (r != JPKI_OK ||
	    (r = store_db_prep(from, sel, &src)) != JPKI_OK)
		return r;
	if ((r = store_db_prep(to, ins, &dst)) != JPKI_OK) {
		db_finalize(src);
		return r;
	}
	while ((rc = db_step(src)) == DB_ROW) {
		db_reset(dst);
		for (int i = 0; i < c.n; i++) {
			size_t n = 0;
			const void *v;

			if (src->drv->col_is_null(src, i)) {
				db_bind_null(dst, i + 1);
			} else if (c.blob[i]) {
				v = db_col_blob(src, i, &n);
				db_bind_blob(dst, i + 1, v, n);
			} else {
				db_bind_text(dst, i + 1, db_col_text(src, i));
			}
		}
		if ((r = store_db_step_done(to, dst, table)) != JPKI_OK)
			break;
		++*rows;
	}
	if (r == JPKI_OK)
		r = store_db_rows_end(from, src, rc, table);
	else
		db_finalize(src);
	db_finalize(dst);
	return r;
}

/* PostgreSQL's identity columns continue after the copied ids. */
static int
advance_identities(struct sql_store *to)
{
	if (to->dialect != DB_POSTGRESQL)
		return JPKI_OK;
	return store_db_exec(to, "DO $$DECLARE c record; BEGIN"
	    " FOR c IN SELECT table_name, column_name FROM"
	    " information_schema.columns WHERE table_schema = current_schema()"
	    " AND is_identity = 'YES' AND identity_generation = 'BY DEFAULT'"
	    " LOOP EXECUTE format('SELECT setval(pg_get_serial_sequence(%L,"
	    " %L), COALESCE((SELECT max(%I) FROM %I), 0) + 1, false)',"
	    " c.table_name, c.column_name, c.column_name, c.table_name);"
	    " END LOOP; END$$");
}

int
store_copy(struct store *from, struct store *to,
    struct store_copy_report *rep)
{
	struct sql_store *f = impl_of(from), *t = impl_of(to);
	int64_t seq_f = 0, seq_t = 0;
	uint8_t head_f[32], head_t[32];
	long n, checked = 0;
	int r;

	memset(rep, 0, sizeof(*rep));
	if (from->read_only || to->read_only)
		return jpki_fail(JPKI_ERR_INPUT, "store copy: both stores are "
		    "opened read-write (each at this program's schema)");
	if ((r = check_tables_known(f, "source")) != JPKI_OK ||
	    (r = check_tables_known(t, "destination")) != JPKI_OK)
		return r;
	for (size_t i = 0; i < JPKI_ARRAY_LEN(copy_order); i++) {
		if ((r = count_own_rows(t, copy_order[i], &n)) != JPKI_OK)
			return r;
		if (n != 0)
			return jpki_fail(JPKI_ERR_CONFLICT, "store copy: the "
			    "destination is not empty (%s has %ld rows); "
			    "nothing copied", copy_order[i], n);
	}
	/* One snapshot of the source, one transaction of the destination. */
	if ((r = store_begin(from)) != JPKI_OK)
		return r;
	if ((r = store_begin(to)) != JPKI_OK) {
		store_rollback(from);
		return r;
	}
	if ((r = unseed(t)) != JPKI_OK) {
		store_rollback(to);
		store_rollback(from);
		return r;
	}
	for (size_t i = 0; i < JPKI_ARRAY_LEN(copy_order) && r == JPKI_OK;
	    i++) {
		struct store_copy_table *ct = &rep->table[rep->ntables++];

		ct->name = copy_order[i];
		r = copy_table(f, t, copy_order[i], &ct->rows);
		rep->rows += ct->rows;
	}
	for (size_t i = 0; i < JPKI_ARRAY_LEN(copy_skip) && r == JPKI_OK; i++) {
		char sql[96];

		snprintf(sql, sizeof(sql), "DELETE FROM %s", copy_skip[i]);
		r = store_db_exec(t, sql);
	}
	if (r == JPKI_OK)
		r = advance_identities(t);
	/* Verified before it is committed: counts, chain, head. */
	for (size_t i = 0; i < rep->ntables && r == JPKI_OK; i++) {
		if ((r = count_rows(t, rep->table[i].name, &n)) == JPKI_OK &&
		    n != rep->table[i].rows)
			r = jpki_fail(JPKI_ERR_VERIFY, "store copy: %s: %ld rows "
			    "read, %ld in the destination", rep->table[i].name,
			    rep->table[i].rows, n);
		if (r == JPKI_OK && (r = count_rows(f, rep->table[i].name,
		    &n)) == JPKI_OK && n != rep->table[i].rows)
			r = jpki_fail(JPKI_ERR_VERIFY, "store copy: %s: %ld rows "
			    "in the source, %ld copied", rep->table[i].name, n,
			    rep->table[i].rows);
	}
	if (r == JPKI_OK)
		r = store_audit_verify(to, &checked);
	if (r == JPKI_OK &&
	    (r = store_sql_audit_last(f, &seq_f, head_f)) == JPKI_OK &&
	    (r = store_sql_audit_last(t, &seq_t, head_t)) == JPKI_OK &&
	    (seq_f != seq_t || memcmp(head_f, head_t, 32) != 0))
		r = jpki_fail(JPKI_ERR_VERIFY, "store copy: the destination's "
		    "audit chain ends at entry %lld, the source's at %lld, or "
		    "their last hashes differ", (long long)seq_t,
		    (long long)seq_f);
	if (r == JPKI_OK)
		r = store_commit(to);
	else
		store_rollback(to);
	store_rollback(from);
	rep->audit_entries = checked;
	return r;
}
