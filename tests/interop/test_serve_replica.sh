#!/usr/bin/env bash
# test_serve_replica.sh: `jpki serve` on a streaming replica
# (docs/deployment.md).  A PostgreSQL primary of the test's own and a hot
# standby of it (tests/support/pg_cluster.sh standby: pg_basebackup -R, on
# another loopback port, as the same unprivileged user).  Certificates are
# issued and revoked on the primary, as counters do; one server reads the
# replica.  It runs no pre-signer (it says why: the store is a standby; it
# never writes to it), it sends the pre-signed answers a server on the
# primary wrote, as replication brings them, and a revocation on the
# primary is answered `revoked` by it within 5 s (wait_revoked: a request
# without a nonce, the one a pre-signed answer serves), with the primary's
# pre-signer running and with none at all (the stored `good` answer then
# disagrees with the certificate row, and the answer is signed live).  A
# writer pointed at the replica fails with one line and changes nothing.
# It needs PostgreSQL's server programs: it runs in the suite's PostgreSQL
# run only (JPKI_TEST_PG).
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
[ -n "${JPKI_TEST_PG:-}" ] || { echo "$TEST_NAME: runs in the PostgreSQL run (-DJPKI_TEST_POSTGRESQL=ON)"; exit 77; }
. "$(dirname "$0")/serve_lib.sh"

CLUSTER=$JPKI_SOURCE/tests/support/pg_cluster.sh
# Under /tmp itself: the clusters run as another user, who cannot enter
# the test's private $TMP.
PG=$(mktemp -d /tmp/jpki-replica.XXXXXX)
chmod 0755 "$PG"
SERVER2=
cleanup() {
	[ -z "$SERVER2" ] || { kill "$SERVER2" 2>/dev/null || true; wait "$SERVER2" 2>/dev/null || true; }
	stop_server
	sh "$CLUSTER" stop "$PG/standby" 2>/dev/null || true
	sh "$CLUSTER" stop "$PG/primary" 2>/dev/null || true
	rm -rf "$PG" "$TMP"
}
trap cleanup EXIT
serve_init_cluster "$PG/primary"

declare -a S
for i in 1 2 3 4; do
	id=$(add_resident "$(individual_number $((50000000000 + i)))" "複製 $i" \
		"東京都千代田区千代田$i-1" 1980-05-15 male)
	S[$i]=$(issue "$id" auth "$TMP/$i.pem")
done

check "a hot standby of the primary, streaming"
STANDBY_URL=$(sh "$CLUSTER" standby "$PG/standby" "$PG/primary")jpki || fail "cannot start the standby"
expect_eq "standby in recovery" "$(psql -X -At "$STANDBY_URL" -c 'SELECT pg_is_in_recovery()')" t
expect_eq "replication" "$(db_sql "SELECT state FROM pg_stat_replication")" streaming

# The replica's data directory: the same keys and config, its database
# the standby's.
REPLICA=$TMP/replica
cp -a "$DATA" "$REPLICA"
sed -i "s|^database = .*|database = $STANDBY_URL|" "$REPLICA/config"
replica_sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$STANDBY_URL" -c "$1"; }
# caught_up: the standby has replayed everything the primary wrote so far.
caught_up() {
	local lsn
	lsn=$(db_sql "SELECT pg_current_wal_lsn()")
	for _ in $(seq 100); do
		[ "$(replica_sql "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] && return 0
		sleep 0.05
	done
	fail "the standby did not replay up to $lsn within 5 s"
}

check "a writer pointed at the replica fails with one line and changes nothing"
JPKI_DATA=$REPLICA expect_status 1 cert revoke "${S[4]}" --reason keyCompromise
case $ERR in *standby*) ;; *) fail "not said: $ERR" ;; esac
expect_eq "lines of error" "$(printf '%s\n' "$ERR" | wc -l)" 1
expect_eq "still valid on the primary" "$(db_sql "SELECT status FROM certificates WHERE serial = '${S[4]}'")" 1

check "a server on the primary pre-signs; a server on the replica runs no pre-signer and sends the stored answers"
start_server --listen "127.0.0.1:$PORT"
for _ in $(seq 100); do
	[ "$(db_sql "SELECT COUNT(*) FROM ocsp_responses")" -ge 4 ] && break
	sleep 0.1
done
caught_up
expect_eq "pre-signed answers on the replica" "$(replica_sql "SELECT COUNT(*) FROM ocsp_responses")" 4
RPORT=$(free_port)
JPKI_DATA=$REPLICA "$JPKI" serve --listen "127.0.0.1:$RPORT" >"$TMP/r.out" 2>"$TMP/r.err" &
SERVER2=$!
for _ in $(seq 100); do
	grep -q '^jpki: serving' "$TMP/r.out" 2>/dev/null && break
	kill -0 "$SERVER2" 2>/dev/null || fail "the replica's server exited: $(cat "$TMP/r.err")"
	sleep 0.1
done
grep -q 'no OCSP pre-signer: .*standby' "$TMP/r.err" || fail "the replica's server did not say why it does not pre-sign: $(cat "$TMP/r.err")"
rmetric() { curl -s --max-time 10 "http://127.0.0.1:$RPORT/metrics" | sed -n "s/^$1 //p"; }
expect_eq "replica pre-signer up" "$(rmetric jpki_ocsp_presigner_up)" 0
openssl ocsp -url "http://127.0.0.1:$RPORT/ocsp/auth" -issuer "$AUTH_CA" -serial "0x${S[1]}" \
	-CAfile "$AUTH_CA" -no_nonce >"$TMP/v" 2>&1 || fail "openssl ocsp: $(cat "$TMP/v")"
grep -q ': good' "$TMP/v" || fail "not good: $(cat "$TMP/v")"
grep -q 'Response verify OK' "$TMP/v" || fail "does not verify: $(cat "$TMP/v")"
[ "$(rmetric 'jpki_ocsp_answers_total{source="presigned"}')" -ge 1 ] ||
	fail "the replica's server did not send the stored answer: $(curl -s "http://127.0.0.1:$RPORT/metrics" | grep answers_total)"

check "a revocation on the primary: the replica's server answers revoked within 5 s (the primary's pre-signer running)"
BASE_PRIMARY=$BASE
BASE=http://127.0.0.1:$RPORT
ok cert revoke "${S[1]}" --reason keyCompromise
wait_revoked "$AUTH_CA" "${S[1]}" auth

check "the same with no pre-signer anywhere: the stored good answer is not sent, the answer is signed live"
stop_server
caught_up
live=$(rmetric 'jpki_ocsp_answers_total{source="live"}')
ok cert revoke "${S[2]}" --reason keyCompromise
wait_revoked "$AUTH_CA" "${S[2]}" auth
[ "$(rmetric 'jpki_ocsp_answers_total{source="live"}')" -gt "$live" ] || fail "not signed live"
expect_eq "the stale answer still stored (nobody re-signed it)" \
	"$(db_sql "SELECT status FROM ocsp_responses WHERE serial = '${S[2]}'")" 1
# The others are still answered good, from their stored answers.
openssl ocsp -url "$BASE/ocsp/auth" -issuer "$AUTH_CA" -serial "0x${S[3]}" \
	-CAfile "$AUTH_CA" -no_nonce 2>/dev/null | grep -q ': good' || fail "${S[3]} not good"

check "the replica's server never tried to write, and serves on"
grep -q 'cannot execute\|pre-signer stopped' "$TMP/r.err" && fail "a write was tried: $(cat "$TMP/r.err")"
expect_eq "replica's server alive" "$(kill -0 "$SERVER2" 2>/dev/null && echo yes)" yes
BASE=$BASE_PRIMARY
done_ok
