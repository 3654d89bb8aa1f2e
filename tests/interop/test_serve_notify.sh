#!/usr/bin/env bash
# test_serve_notify.sh: what wakes `jpki serve`'s OCSP pre-signer after
# another process's commit (docs/deployment.md, "Revocation propagation").
# On PostgreSQL: every write transaction NOTIFYs as it commits, and the
# server holds one LISTEN connection (/metrics
# jpki_ocsp_presigner_listening 1, one backend in pg_stat_activity); a
# revocation by `jpki cert revoke` wakes it (jpki_ocsp_presigner_woken_total
# goes up) and shows as revoked; when its listening connection is killed
# (pg_terminate_backend), revocations still show as revoked (it polls), and
# it listens again.  On SQLite there is nothing to listen to: it polls
# (listening 0, never woken) and revocations show all the same.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

serve_init
JIRO=$(add_resident "$(individual_number 22345678901)" "山田 次郎" \
	"東京都千代田区千代田1-2" 1982-05-15 male)
HANAKO=$(add_resident "$(individual_number 32345678901)" "山田 花子" \
	"東京都千代田区千代田1-3" 1984-05-15 female)
S1=$(issue "$TARO" auth "$TMP/1.pem")
S2=$(issue "$JIRO" auth "$TMP/2.pem")
S3=$(issue "$HANAKO" auth "$TMP/3.pem")
start_server --listen "127.0.0.1:$PORT"

metric() {
	curl -s --max-time 10 "$BASE/metrics" | sed -n "s/^$1 //p"
}
# This test's database only: other tests' servers listen on the same
# cluster, each on a database of its own.
listeners() {
	db_sql "SELECT COUNT(*) FROM pg_stat_activity WHERE query = 'LISTEN jpki_store' AND datname = current_database()"
}

if on_postgresql; then
	check "the server listens: one LISTEN connection, /metrics says so"
	for _ in $(seq 50); do [ "$(metric jpki_ocsp_presigner_listening)" = 1 ] && break; sleep 0.1; done
	expect_eq "listening" "$(metric jpki_ocsp_presigner_listening)" 1
	expect_eq "LISTEN connections" "$(listeners)" 1

	check "a revocation by another process wakes the pre-signer, and OCSP says revoked"
	before=$(metric jpki_ocsp_presigner_woken_total)
	ok cert revoke "$S1" --reason keyCompromise
	wait_revoked "$AUTH_CA" "$S1" auth
	after=$(metric jpki_ocsp_presigner_woken_total)
	[ "$after" -gt "$before" ] || fail "the pre-signer was not woken ($before, then $after)"

	check "its listening connection killed: revocations still show (polling), and it listens again"
	expect_eq "terminated" "$(db_sql "SELECT COUNT(*) FROM pg_stat_activity, pg_terminate_backend(pid) WHERE query = 'LISTEN jpki_store' AND datname = current_database()")" 1
	ok cert revoke "$S2" --reason keyCompromise
	wait_revoked "$AUTH_CA" "$S2" auth
	for _ in $(seq 50); do
		[ "$(metric jpki_ocsp_presigner_listening)" = 1 ] && [ "$(listeners)" = 1 ] && break
		sleep 0.1
	done
	expect_eq "listening again" "$(metric jpki_ocsp_presigner_listening)" 1
	expect_eq "LISTEN connections again" "$(listeners)" 1
	before=$(metric jpki_ocsp_presigner_woken_total)
	ok cert revoke "$S3" --reason keyCompromise
	wait_revoked "$AUTH_CA" "$S3" auth
	after=$(metric jpki_ocsp_presigner_woken_total)
	[ "$after" -gt "$before" ] || fail "not woken after listening again ($before, then $after)"
else
	check "on SQLite the pre-signer polls: not listening, never woken; revocations show"
	expect_eq "listening" "$(metric jpki_ocsp_presigner_listening)" 0
	for s in "$S1" "$S2" "$S3"; do
		ok cert revoke "$s" --reason keyCompromise
		wait_revoked "$AUTH_CA" "$s" auth
	done
	expect_eq "woken" "$(metric jpki_ocsp_presigner_woken_total)" 0
fi
kill -0 "$SERVER_PID" 2>/dev/null || fail "the server died: $(cat "$TMP/serve.err")"
done_ok
