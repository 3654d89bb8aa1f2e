#!/usr/bin/env bash
# test_serve_shared_store.sh: the system as several processes on one store
# (in the suite's PostgreSQL run, one database; otherwise one SQLite file
# shared by two data directories).  Two `jpki serve` on two data
# directories answer from the same store; four processes issue and revoke
# at once for a while (60 s on PostgreSQL, 15 s on SQLite;
# JPKI_TEST_CONCURRENCY_SECONDS overrides).  Afterwards: every serial
# issued once, every issuance and revocation audited, the audit chain
# intact, every revocation `revoked` in both servers' OCSP (openssl ocsp
# -url), and a revocation by another process seen by a server started
# before it within one second.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

serve_init
if on_postgresql; then SECONDS_RUN=${JPKI_TEST_CONCURRENCY_SECONDS:-60}; else SECONDS_RUN=${JPKI_TEST_CONCURRENCY_SECONDS:-15}; fi
WORKERS=4

# The second data directory: a copy of the first (its keys, config), on the
# same store.
DATA2=$TMP/data2
cp -a "$DATA" "$DATA2"
if ! on_postgresql; then
	sed -i "s|^database = .*|database = sqlite:$DATA/jpki.db|" "$DATA2/config"
fi
JPKI_DATA=$DATA2 "$JPKI" audit verify --json >"$TMP/v2.json"
"$JPKI" audit verify --json >"$TMP/v1.json"
expect_eq "both on one store" "$(json_get entries "$TMP/v2.json")" "$(json_get entries "$TMP/v1.json")"

PORT2=$(free_port)
start_server --listen "127.0.0.1:$PORT"
SERVER1=$SERVER_PID
JPKI_DATA=$DATA2 "$JPKI" serve --listen "127.0.0.1:$PORT2" >"$TMP/serve2.out" 2>"$TMP/serve2.err" &
SERVER2=$!
trap 'kill $SERVER2 2>/dev/null || true; stop_server; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do
	grep -q '^jpki: serving' "$TMP/serve2.out" 2>/dev/null && break
	kill -0 "$SERVER2" 2>/dev/null || fail "second jpki serve exited: $(cat "$TMP/serve2.err")"
	sleep 0.1
done

# Residents to issue for (each worker its own, R8 allows one valid
# authentication certificate each), and one key per worker.
PER_WORKER=6
declare -a RES
for i in $(seq $((WORKERS * PER_WORKER))); do
	RES+=("$(add_resident "$(individual_number $((30000000000 + i)))" "並行 $i" \
		"東京都千代田区千代田$i-1" 1980-05-15 male)")
done
for w in $(seq "$WORKERS"); do pubkey "worker$w" >/dev/null; done

# worker N: round its residents until the time is up: revoke the one's
# current certificate (keyCompromise), issue it a new one.  Lines "issued
# SERIAL", "revoked SERIAL", or "error ..." in $TMP/w$N.log.
worker() {
	local n=$1 log=$TMP/w$1.log end=$((SECONDS + SECONDS_RUN)) i=0 serial res k
	local key
	local -A current=()
	key=$(pubkey "worker$n")
	: >"$log"
	while [ "$SECONDS" -lt "$end" ]; do
		k=$(( (n - 1) * PER_WORKER + i % PER_WORKER ))
		res=${RES[$k]}
		i=$((i + 1))
		if [ -n "${current[$k]:-}" ]; then
			if "$JPKI" cert revoke "${current[$k]}" --reason keyCompromise >/dev/null 2>"$TMP/w$n.err"; then
				echo "revoked ${current[$k]}" >>"$log"
			else
				echo "error revoke ${current[$k]}: $(cat "$TMP/w$n.err")" >>"$log"
				continue
			fi
		fi
		if "$JPKI" ca issue --resident "$res" --type auth --pubkey "$key" \
			--out "$TMP/w$n.pem" --json >"$TMP/w$n.json" 2>"$TMP/w$n.err"; then
			serial=$(json_get serial "$TMP/w$n.json")
			current[$k]=$serial
			echo "issued $serial" >>"$log"
		else
			echo "error issue: $(cat "$TMP/w$n.err")" >>"$log"
		fi
	done
}

check "$WORKERS processes issue and revoke at once for ${SECONDS_RUN} s on one store, both servers up"
pids=()
for w in $(seq "$WORKERS"); do
	# Half the workers through each data directory.
	if [ $((w % 2)) = 0 ]; then JPKI_DATA=$DATA2 worker "$w" & else worker "$w" & fi
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
cat "$TMP"/w*.log >"$TMP/all.log"
if grep -q '^error' "$TMP/all.log"; then
	fail "a worker failed: $(grep -m 3 '^error' "$TMP/all.log")"
fi
issued=$(grep -c '^issued' "$TMP/all.log" || true)
revoked=$(grep -c '^revoked' "$TMP/all.log" || true)
echo "issued $issued, revoked $revoked"
[ "$issued" -ge 8 ] || fail "only $issued certificates issued in ${SECONDS_RUN} s"

check "every serial issued once, every issuance and revocation audited, the chain intact"
dups=$(grep '^issued' "$TMP/all.log" | sort | uniq -d | wc -l)
expect_eq "serials issued twice" "$dups" 0
expect_eq "auth certificates in the store" \
	"$(db_sql "SELECT COUNT(*) FROM certificates WHERE ca = 2")" "$issued"
expect_eq "revocations in the store" "$(db_sql "SELECT COUNT(*) FROM revocations")" "$revoked"
expect_eq "issuances audited" "$(db_sql "SELECT COUNT(*) FROM audit WHERE action = 'cert.issue'")" "$issued"
expect_eq "revocations audited" "$(db_sql "SELECT COUNT(*) FROM audit WHERE action = 'cert.revoke'")" "$revoked"
ok audit verify

# ocsp_statuses PORT: "SERIAL STATUS" for every issued serial, in requests
# of 8 serials (PKI_OCSP_CERTS_MAX, the most one request may ask).
ocsp_statuses() {
	local port=$1 batch=() s
	: >"$TMP/status.$port"
	grep '^issued' "$TMP/all.log" | cut -d' ' -f2 >"$TMP/serials"
	while read -r s; do
		batch+=(-serial "0x$s")
		if [ "${#batch[@]}" -ge 16 ]; then
			ocsp_batch "$port" "${batch[@]}"
			batch=()
		fi
	done <"$TMP/serials"
	[ "${#batch[@]}" -eq 0 ] || ocsp_batch "$port" "${batch[@]}"
}
ocsp_batch() {
	local port=$1
	shift
	openssl ocsp -url "http://127.0.0.1:$port/ocsp" -issuer "$AUTH_CA" "$@" \
		-CAfile "$AUTH_CA" -no_nonce >"$TMP/ocsp.out" 2>&1 ||
		fail "openssl ocsp against port $port: $(head -c 400 "$TMP/ocsp.out")"
	grep -q 'Response verify OK' "$TMP/ocsp.out" || fail "response does not verify: $(head -c 400 "$TMP/ocsp.out")"
	sed -n 's/^0x\([0-9A-Fa-f]*\): \([a-z]*\)$/\1 \2/p' "$TMP/ocsp.out" >>"$TMP/status.$port"
}

check "both servers answer every issued certificate as the store says: revoked or good"
grep '^revoked' "$TMP/all.log" | cut -d' ' -f2 | sort >"$TMP/want-revoked"
for port in "$PORT" "$PORT2"; do
	ocsp_statuses "$port"
	expect_eq "answers from port $port" "$(wc -l <"$TMP/status.$port")" "$issued"
	awk '$2 == "revoked" {print $1}' "$TMP/status.$port" | tr a-f A-F | sort >"$TMP/got-revoked"
	tr a-f A-F <"$TMP/want-revoked" | sort >"$TMP/want-revoked.u"
	cmp -s "$TMP/got-revoked" "$TMP/want-revoked.u" ||
		fail "port $port: revoked answers differ from the revocations: $(diff "$TMP/want-revoked.u" "$TMP/got-revoked" | head -5)"
	if awk '$2 != "revoked" && $2 != "good"' "$TMP/status.$port" | grep -q .; then
		fail "port $port: an answer neither good nor revoked: $(awk '$2 != "revoked" && $2 != "good"' "$TMP/status.$port" | head -3)"
	fi
done

check "a revocation by another process shows as revoked on a server started before it within 1 s"
# The last certificate of worker 1's first resident is still valid.
last=$(grep '^issued' "$TMP/w1.log" | tail -1 | cut -d' ' -f2)
ok cert revoke "$last" --reason keyCompromise
t0=$(date +%s%N)
seen=
while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 1000 ]; do
	if openssl ocsp -url "http://127.0.0.1:$PORT2/ocsp" -issuer "$AUTH_CA" -serial "0x$last" \
		-CAfile "$AUTH_CA" -no_nonce 2>/dev/null | grep -q ': revoked'; then
		seen=$(( ($(date +%s%N) - t0) / 1000000 ))
		break
	fi
done
[ -n "$seen" ] || fail "server 2 did not answer revoked within 1 s"
echo "seen revoked after ${seen} ms"

kill "$SERVER2" 2>/dev/null || true
wait "$SERVER2" 2>/dev/null || true
kill -0 "$SERVER1" 2>/dev/null || fail "server 1 died: $(cat "$TMP/serve.err")"
done_ok
