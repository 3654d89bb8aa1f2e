/*
 * fuzz_rp_login_json: the /rp/login body (rp_login_check) on arbitrary
 * bytes, against an in-memory store and a verifier with no anchor.  Every
 * body ends in a verdict (malformed, an unknown nonce, ...); none logs in
 * (no nonce was ever given out), and nothing is read outside the body.
 */
#include "rp/rp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rp_verifier *v;
	static struct store *s;
	struct rp_login l;

	if (s == NULL && (store_open("sqlite::memory:", &s) != JPKI_OK ||
	    rp_verifier_new(s, RP_OFFLINE, &v) != JPKI_OK))
		__builtin_trap();
	if (rp_login_check(v, s, "https://rp.example", data, size, 1767225600,
	    &l) != JPKI_OK)
		__builtin_trap();
	if (l.error == RP_LOGIN_OK || l.error >= RP_LOGIN_ERROR_N ||
	    l.why[0] == '\0')
		__builtin_trap();
	rp_login_free(&l);
	return 0;
}
