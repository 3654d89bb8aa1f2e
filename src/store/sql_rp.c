/*
 * sql_rp.c: the relying party's login nonces (src/rp/login.c).  "Used
 * once" is the row's property: the UPDATE that marks a nonce used names
 * the unused, unexpired state in its WHERE clause, so of two connections
 * (two server threads, two processes, a restarted server) one changes the
 * row and the other finds it used.
 */
#include "store/sql_int.h"

/* A nonce lives RP_NONCE_SECONDS; rows are kept a day past their expiry
 * (a late replay is then named as one), then dropped. */
#define NONCE_KEEP_SECONDS 86400

int
store_sql_rp_nonce_add(void *impl, const char *nonce, int64_t created_at,
    int64_t expires_at)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int r;

	if ((r = store_db_prep(s, "DELETE FROM rp_nonces WHERE expires_at < ?",
	    &st)) != JPKI_OK)
		return r;
	db_bind_int64(st, 1, created_at - NONCE_KEEP_SECONDS);
	if ((r = store_db_run(s, st, "login nonces")) != JPKI_OK)
		return r;
	if ((r = store_db_prep(s, "INSERT INTO rp_nonces(nonce, created_at, "
	    "expires_at) VALUES (?, ?, ?)", &st)) != JPKI_OK)
		return r;
	store_db_bind_text(st, 1, nonce);
	db_bind_int64(st, 2, created_at);
	db_bind_int64(st, 3, expires_at);
	return store_db_run(s, st, "login nonce");
}

int
store_sql_rp_nonce_use(void *impl, const char *nonce, int64_t at,
    int *state)
{
	struct sql_store *s = impl;
	struct db_stmt *st = NULL;
	int64_t expires_at;
	int r, used;

	if ((r = store_db_prep(s, "UPDATE rp_nonces SET used_at = ? WHERE "
	    "nonce = ? AND used_at IS NULL AND expires_at > ?", &st)) !=
	    JPKI_OK)
		return r;
	db_bind_int64(st, 1, at);
	store_db_bind_text(st, 2, nonce);
	db_bind_int64(st, 3, at);
	if ((r = store_db_update_one(s, st, "login nonce")) == JPKI_OK) {
		*state = STORE_NONCE_FRESH;
		return JPKI_OK;
	}
	if (r != JPKI_ERR_NOTFOUND)
		return r;
	/* Not changed: say why. */
	if ((r = store_db_prep(s, "SELECT CASE WHEN used_at IS NULL THEN 0 ELSE 1 END, expires_at "
	    "FROM rp_nonces WHERE nonce = ?", &st)) != JPKI_OK)
		return r;
	store_db_bind_text(st, 1, nonce);
	r = store_db_row(s, st, "login nonce", NULL);
	if (r == JPKI_OK) {
		used = db_col_int(st, 0);
		expires_at = db_col_int64(st, 1);
		*state = used ? STORE_NONCE_USED : expires_at <= at ?
		    STORE_NONCE_EXPIRED : STORE_NONCE_USED;
	} else if (r == JPKI_ERR_NOTFOUND) {
		*state = STORE_NONCE_UNKNOWN;
		r = JPKI_OK;
	}
	db_finalize(st);
	return r;
}
