#!/usr/bin/env bash
# test_serve_pg_restart.sh: `jpki serve` on PostgreSQL survives losing its
# database connections (docs/deployment.md, "When the database goes
# away").  On a PostgreSQL cluster of the test's own:
#   (a) every backend of the server's database is ended with
#       pg_terminate_backend (the answering threads', the pre-signer's and
#       its LISTEN connection, the CRL publisher's); the first OCSP
#       request after is answered `good` for a known certificate (a read
#       on a connection that died idle runs again on a new one); within
#       5 s a revocation made after by `jpki cert revoke` is answered
#       `revoked`, and the pre-signer stores the revoked answer itself (it
#       did not stop), the served CRL lists it, /healthz answers 200;
#   (b) the cluster itself is stopped (as a crash would: pg_ctl -m
#       immediate) and started again on the same port: while it is down,
#       OCSP answers tryLater (never a status), /healthz 503, /metrics
#       200 (the pre-signer down); once it is back, within 5 s: OCSP
#       `good`, the rest as in (a), and the pre-signer listening again.
# Each lost connection is said in one line on stderr, and so is each one
# made again; /metrics counts them (jpki_store_connections_lost_total,
# jpki_store_reconnects_total, jpki_store_reconnect_failures_total, for
# the server and its CRL publisher), and a connection is tried again at
# most about once a second while the database is down.  It needs
# PostgreSQL's server programs: it runs in the suite's PostgreSQL run
# only (JPKI_TEST_PG).
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
[ -n "${JPKI_TEST_PG:-}" ] || { echo "$TEST_NAME: runs in the PostgreSQL run (-DJPKI_TEST_POSTGRESQL=ON)"; exit 77; }
command -v curl >/dev/null || fail "curl is needed (scripts/install-deps.sh)"
. "$(dirname "$0")/serve_lib.sh"

CLUSTER=$JPKI_SOURCE/tests/support/pg_cluster.sh
# Under /tmp itself: the cluster runs as another user, who cannot enter
# the test's private $TMP.
PG=$(mktemp -d /tmp/jpki-pgrestart.XXXXXX)
chmod 0755 "$PG"
cleanup() {
	stop_server
	sh "$CLUSTER" stop "$PG/c" 2>/dev/null || true
	rm -rf "$PG" "$TMP"
}
trap cleanup EXIT
serve_init_cluster "$PG/c"
on_postgresql || fail "the store is not on PostgreSQL: $(db_url)"

declare -a S
for i in 1 2 3 4; do
	id=$(add_resident "$(individual_number $((61000000000 + i)))" "再接続 $i" \
		"東京都千代田区千代田$i-2" 1981-06-1$i female)
	S[$i]=$(issue "$id" sign "$TMP/$i.pem")
done
ok crl generate

metric() {
	curl -s --max-time 10 "$BASE/metrics" | sed -n "s/^$1 //p"
}
# ocsp SERIAL: what the server answers for it (no nonce: the pre-signed
# answer), one word: good, revoked, trylater, or what openssl said.
ocsp() {
	local out
	out=$(openssl ocsp -url "$BASE/ocsp/sign" -issuer "$SIGN_CA" -serial "0x$1" \
		-CAfile "$SIGN_CA" -no_nonce -timeout 10 2>&1) || true
	case $out in
	*": good"*) echo good ;;
	*": revoked"*) echo revoked ;;
	*"trylater"*) echo trylater ;;
	*) echo "other: $out" | tr '\n' ' ' ;;
	esac
}
healthz() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$BASE/healthz"; }
# shard_of PEM: the shard number its CDP names.
shard_of() {
	openssl x509 -in "$1" -noout -ext crlDistributionPoints | sed -n 's|.*/crl/sign/\([0-9]*\)\.crl.*|\1|p'
}
# crl_lists N: 0 once the served CRL of S[N]'s shard lists it (5 s at most).
crl_lists() {
	local shard code
	shard=$(shard_of "$TMP/$1.pem")
	for _ in $(seq 50); do
		code=$(curl -s -o "$TMP/got.crl" -w '%{http_code}' --max-time 10 "$BASE/crl/sign/$shard.crl")
		if [ "$code" = 200 ] && openssl crl -inform DER -in "$TMP/got.crl" -noout -text |
			tr -d ' ' | grep -qix "SerialNumber:${S[$1]}"; then
			return 0
		fi
		sleep 0.1
	done
	fail "the served CRL of shard $shard did not list ${S[$1]} within 5 s"
}
# presigned N STATUS: until the pre-signer has stored S[N]'s answer with
# STATUS (1 good, 2 revoked); 5 s at most.
presigned() {
	for _ in $(seq 50); do
		[ "$(db_sql "SELECT status FROM ocsp_responses WHERE serial = '${S[$1]}'")" = "$2" ] && return 0
		sleep 0.1
	done
	fail "the pre-signer did not store status $2 for ${S[$1]} within 5 s"
}
# within5 WHAT CMD...: CMD succeeds within 5 s.
within5() {
	local what=$1
	shift
	for _ in $(seq 50); do
		"$@" && return 0
		sleep 0.1
	done
	fail "$what: not within 5 s"
}
is_good() { [ "$(ocsp "$1")" = good ]; }
healthy() { [ "$(healthz)" = 200 ]; }
server_backends() {
	db_sql "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
}
# the server and its publisher's counter NAME, summed.
counted() {
	curl -s --max-time 10 "$BASE/metrics" | sed -n "s/^$1{[^}]*} //p" | awk '{n += $1} END {print n + 0}'
}

start_server --listen "127.0.0.1:$PORT" --crl-delay 1
check "the server runs: its pre-signer has stored every answer, OCSP good, /healthz 200"
presigned 1 1
within5 "good before" is_good "${S[1]}"
expect_eq "healthz" "$(healthz)" 200
expect_eq "connections lost so far" "$(counted jpki_store_connections_lost_total)" 0
# Every answering thread has its connection (a few requests each).
for _ in $(seq 8); do ocsp "${S[2]}" >/dev/null; curl -s -o /dev/null "$BASE/healthz"; done

check "(a) every backend of its database terminated (pg_terminate_backend)"
n=$(server_backends)
[ "$n" -ge 4 ] || fail "only $n backends of the server"
expect_eq "terminated" "$(db_sql "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend') t")" "$n"
t0=$(date +%s%N)
check "(a) within 5 s: OCSP good, a revocation after it answered revoked and pre-signed, on the CRL, /healthz 200"
# A read on a connection that died idle runs again on a new one: the
# very first answer is already right.
expect_eq "(a) the first OCSP answer after" "$(ocsp "${S[1]}")" good
ok cert revoke "${S[1]}" --reason keyCompromise
wait_revoked "$SIGN_CA" "${S[1]}"
presigned 1 2
crl_lists 1
within5 "(a) healthz" healthy
echo "  back in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
expect_eq "pre-signer up" "$(metric jpki_ocsp_presigner_up)" 1
grep -q 'pre-signer stopped' "$TMP/serve.err" && fail "the pre-signer stopped: $(cat "$TMP/serve.err")"
lost_a=$(counted jpki_store_connections_lost_total)
back_a=$(counted jpki_store_reconnects_total)
[ "$lost_a" -ge 3 ] || fail "connections lost counted: $lost_a"
[ "$back_a" -ge 3 ] || fail "reconnections counted: $back_a"
[ "$(curl -s "$BASE/metrics" | sed -n 's/^jpki_store_reconnects_total{process="crl_publisher"} //p')" -ge 1 ] ||
	fail "the CRL publisher's reconnection not counted: $(curl -s "$BASE/metrics" | grep '^jpki_store_')"
grep -q '^jpki: store: lost the connection to PostgreSQL' "$TMP/serve.err" || fail "the loss not said: $(cat "$TMP/serve.err")"
grep -q '^jpki: store: connected to PostgreSQL again' "$TMP/serve.err" || fail "the reconnection not said: $(cat "$TMP/serve.err")"

check "(b) the cluster stopped: OCSP answers tryLater (never a status), /healthz 503, a try a second at most"
cp "$TMP/serve.err" "$TMP/serve.err.before"
failed0=$(counted jpki_store_reconnect_failures_total)
conns=$(server_backends)
sh "$CLUSTER" halt "$PG/c" || fail "cannot stop the cluster"
t0=$(date +%s%N)
# The response cache answers until its follower's next read of the change
# queue fails (every 50 ms): then no more.
sleep 0.2
for _ in 1 2 3 4 5 6; do
	a=$(ocsp "${S[2]}")
	[ "$a" = trylater ] || fail "OCSP while the database is down: $a"
	sleep 0.5
done
expect_eq "healthz while down" "$(healthz)" 503
# /metrics answers without the database: the counters are the process's.
expect_eq "metrics while down" "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$BASE/metrics")" 200
expect_eq "pre-signer up while down" "$(metric jpki_ocsp_presigner_up)" 0
[ "$(metric 'jpki_ocsp_answers_total{source="store_unavailable"}')" -ge 6 ] ||
	fail "tryLater answers not counted: $(curl -s "$BASE/metrics" | grep answers_total)"
failed1=$(counted jpki_store_reconnect_failures_total)
down_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
kill -0 "$SERVER_PID" 2>/dev/null || fail "the server died: $(cat "$TMP/serve.err")"
# At most one attempt a second for each connection the server had (and
# the first at once): the pre-signer polls every 50 ms, the publisher
# every 250 ms, so a busy loop would be many more.
tries=$((failed1 - failed0))
echo "  $tries failed attempts in $down_ms ms, $conns connections"
[ "$tries" -ge 1 ] || fail "no attempt counted while down"
[ "$tries" -le $((conns * (down_ms / 1000 + 1))) ] ||
	fail "$tries attempts in $down_ms ms for $conns connections"
lines=$(diff "$TMP/serve.err.before" "$TMP/serve.err" | grep -c '^> ' || true)
# Each connection said lost once, the publisher's and the pre-signer's
# own lines; a line per failed attempt would be many more.
[ "$lines" -le $((conns + 4)) ] || fail "$lines lines on stderr while down: $(tail -n 40 "$TMP/serve.err")"

check "(b) the cluster back on the same port: within 5 s the same as (a)"
sh "$CLUSTER" start "$PG/c" >/dev/null || fail "cannot start the cluster again"
t0=$(date +%s%N)
within5 "(b) OCSP good" is_good "${S[3]}"
ok cert revoke "${S[2]}" --reason keyCompromise
wait_revoked "$SIGN_CA" "${S[2]}"
presigned 2 2
crl_lists 2
within5 "(b) healthz" healthy
echo "  back in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
expect_eq "pre-signer up" "$(metric jpki_ocsp_presigner_up)" 1
listening() { [ "$(metric jpki_ocsp_presigner_listening)" = 1 ]; }
within5 "(b) the pre-signer listening again" listening
echo "  $(curl -s "$BASE/metrics" | grep '^jpki_store_' | tr '\n' ' ')"
[ "$(counted jpki_store_connections_lost_total)" -gt "$lost_a" ] || fail "the losses not counted"
[ "$(counted jpki_store_reconnects_total)" -gt "$back_a" ] || fail "the reconnections not counted"
expect_eq "${S[1]} still revoked" "$(ocsp "${S[1]}")" revoked
expect_eq "${S[4]} still good" "$(ocsp "${S[4]}")" good
kill -0 "$SERVER_PID" 2>/dev/null || fail "the server died: $(cat "$TMP/serve.err")"
grep -q 'pre-signer stopped' "$TMP/serve.err" && fail "the pre-signer stopped: $(cat "$TMP/serve.err")"
done_ok
