#!/usr/bin/env bash
# test_serve_crl.sh: CRLs without cron.  `jpki serve` makes a shard's CRL
# and its CA's full CRL again within --crl-delay after a revocation that
# another `jpki` process commits (the served CRL, read by `openssl crl`,
# lists it), leaving the other shards alone; it makes them again before
# their nextUpdate (the clock moved with JPKI_NOW), and not while they are
# fresh; it publishes what was never published; the config's crl_delay
# is the default delay; /metrics gives each CRL's
# number and age (promtool accepts it); two servers on one data directory
# never publish a lower number than before; --no-crl makes none; the
# publisher runs without the network-facing process holding a CA key;
# after a rollover, each generation in service publishes its own CRLs
# (crl/sign/ and crl/sign.gen2/), each signed by its own key, and a
# revocation of either generation's certificate is on its own
# generation's CRL within the delay, never on the other's.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"

command -v curl >/dev/null || fail "curl is needed (scripts/install-deps.sh)"
command -v promtool >/dev/null || fail "promtool is needed (Debian prometheus; scripts/install-deps.sh)"
. "$(dirname "$0")/serve_lib.sh"
serve_init

# A few residents with a signing certificate each, in their shards.
SERIALS=()
for i in 1 2 3 4 5 6; do
	id=$(add_resident "$(individual_number "2345678900$i")" "試験 太郎$i" \
		"東京都千代田区千代田1-$i" 1970-01-0$i male)
	SERIALS+=("$(issue "$id" sign "$TMP/s$i.pem")")
done
issue "$TARO" auth "$TMP/auth.pem" >/dev/null
ok crl generate

# shard_of PEM: the shard number its CDP names.
shard_of() {
	openssl x509 -in "$1" -noout -ext crlDistributionPoints | sed -n 's|.*/crl/sign/\([0-9]*\)\.crl.*|\1|p'
}
# fetch URLPATH OUT [BASE]: GET into OUT, failing unless 200.
fetch() {
	local code
	code=$(curl -s -o "$2" -w '%{http_code}' --max-time 10 "${3:-$BASE}$1")
	[ "$code" = 200 ] || fail "GET $1: $code"
}
# number FILE: the CRL's CRLNumber, decimal.
number() {
	printf '%d\n' "0x$(openssl crl -inform DER -in "$1" -noout -crlnumber | sed 's/^crlNumber=//; s/^0x//')"
}
# lists FILE SERIAL: 0 if the CRL lists it.
lists() {
	openssl crl -inform DER -in "$1" -noout -text | tr -d ' ' | grep -qix "SerialNumber:$2"
}
now_s() { date +%s.%N; }

S1=${SERIALS[0]}
SHARD=$(shard_of "$TMP/s1.pem")
[ -n "$SHARD" ] || fail "no shard in the CDP of $TMP/s1.pem"
OTHER=-1
for i in 2 3 4 5 6; do
	s=$(shard_of "$TMP/s$i.pem")
	if [ "$s" != "$SHARD" ]; then OTHER=$s; break; fi
done
[ "$OTHER" -ge 0 ] || fail "all six certificates in one shard"

check "the server starts and leaves fresh CRLs alone (numbers unchanged)"
before_shard=$(number "$DATA/crl/sign/$SHARD.crl")
before_full=$(number "$DATA/crl/sign/full.crl")
before_other=$(number "$DATA/crl/sign/$OTHER.crl")
before_auth=$(number "$DATA/crl/auth/full.crl")
start_server --listen "127.0.0.1:$PORT" --crl-delay 2
sleep 1.5
expect_eq "shard number after start" "$(number "$DATA/crl/sign/$SHARD.crl")" "$before_shard"
expect_eq "full number after start" "$(number "$DATA/crl/sign/full.crl")" "$before_full"

check "a revocation by another process is on the served shard CRL and full CRL within the delay (2 s)"
ok cert revoke "$S1" --reason keyCompromise
t0=$(now_s)
listed=
while :; do
	fetch "/crl/sign/$SHARD.crl" "$TMP/shard.crl"
	if lists "$TMP/shard.crl" "$S1"; then listed=$(now_s); break; fi
	awk -v a="$t0" -v b="$(now_s)" 'BEGIN { exit !(b - a > 2.0) }' && break
	sleep 0.05
done
[ -n "$listed" ] || fail "the served shard CRL does not list $S1 2 s after its revocation"
echo "listed after $(awk -v a="$t0" -v b="$listed" 'BEGIN { printf "%.2f", b - a }') s"
openssl crl -inform DER -in "$TMP/shard.crl" -CAfile "$SIGN_CA" -noout 2>&1 | grep -q 'verify OK' ||
	fail "the new shard CRL does not verify"
[ "$(number "$TMP/shard.crl")" -gt "$before_shard" ] || fail "the shard's number did not go up"
fetch /crl/sign/full.crl "$TMP/full.crl"
lists "$TMP/full.crl" "$S1" || fail "the full CRL does not list $S1"
[ "$(number "$TMP/full.crl")" -gt "$before_full" ] || fail "the full CRL's number did not go up"

check "only the changed shard and its CA's full CRL were made again"
expect_eq "another sign shard's number" "$(number "$DATA/crl/sign/$OTHER.crl")" "$before_other"
expect_eq "the auth full CRL's number" "$(number "$DATA/crl/auth/full.crl")" "$before_auth"

check "/metrics: each CRL's number and age; promtool accepts it"
fetch /metrics "$TMP/metrics"
promtool check metrics <"$TMP/metrics" >"$TMP/v" 2>&1 || fail "promtool: $(cat "$TMP/v")"
metric() { awk -v k="$1" '$1 == k { print $2 }' "$TMP/metrics"; }
expect_eq "jpki_crl_number of the shard" "$(metric "jpki_crl_number{ca=\"sign\",gen=\"1\",shard=\"$SHARD\"}")" "$(number "$TMP/shard.crl")"
expect_eq "jpki_crl_number of the full CRL" "$(metric 'jpki_crl_number{ca="sign",gen="1",shard="full"}')" "$(number "$TMP/full.crl")"
age=$(metric "jpki_crl_age_seconds{ca=\"sign\",gen=\"1\",shard=\"$SHARD\"}")
[ -n "$age" ] && [ "$age" -ge 0 ] && [ "$age" -le 5 ] || fail "jpki_crl_age_seconds of the new shard CRL: '$age'"
left=$(metric "jpki_crl_next_update_seconds{ca=\"auth\",gen=\"1\",shard=\"0\"}")
[ -n "$left" ] && [ "$left" -gt 80000 ] || fail "jpki_crl_next_update_seconds: '$left'"
expect_eq "publisher up" "$(metric jpki_crl_publisher_up)" 1
expect_eq "series per metric (2 CAs x 65)" "$(grep -c '^jpki_crl_number{' "$TMP/metrics")" 130
stop_server

check "near nextUpdate (JPKI_NOW 19 h on), the server makes every CRL again, dated then"
future=$(date -u -d '+19 hours' +%Y-%m-%dT%H:%M:%SZ)
b_other=$(number "$DATA/crl/sign/$OTHER.crl")
b_auth=$(number "$DATA/crl/auth/3.crl")
export JPKI_NOW=$future
start_server --listen "127.0.0.1:$PORT" --crl-delay 2
for _ in $(seq 100); do
	[ "$(number "$DATA/crl/auth/3.crl")" -gt "$b_auth" ] && [ "$(number "$DATA/crl/auth/full.crl")" -gt "$before_auth" ] && break
	sleep 0.1
done
[ "$(number "$DATA/crl/auth/3.crl")" -gt "$b_auth" ] || fail "auth shard 3 was not made again near its nextUpdate"
[ "$(number "$DATA/crl/sign/$OTHER.crl")" -gt "$b_other" ] || fail "sign shard $OTHER was not made again near its nextUpdate"
fetch /crl/auth/3.crl "$TMP/a3.crl"
expect_eq "thisUpdate of the new CRL" "$(epoch "$(openssl crl -inform DER -in "$TMP/a3.crl" -noout -lastupdate | sed 's/^lastUpdate=//')")" "$(epoch "$future")"
stop_server

check "an hour later than that, the CRLs are fresh: nothing is made again"
export JPKI_NOW=$(date -u -d '+20 hours' +%Y-%m-%dT%H:%M:%SZ)
b_auth=$(number "$DATA/crl/auth/3.crl")
start_server --listen "127.0.0.1:$PORT" --crl-delay 2
sleep 2
expect_eq "auth shard 3 number" "$(number "$DATA/crl/auth/3.crl")" "$b_auth"
stop_server
unset JPKI_NOW

check "CRLs never published are published at start; --no-crl publishes none"
rm "$DATA/crl/auth/5.crl"
db_sql "DELETE FROM crl_published WHERE ca = 2 AND shard = 5" >/dev/null 2>&1 ||
	fail "cannot delete a crl_published row"
start_server --listen "127.0.0.1:$PORT" --no-crl
sleep 1
[ ! -e "$DATA/crl/auth/5.crl" ] || fail "--no-crl published a CRL"
fetch /metrics "$TMP/metrics"
expect_eq "publisher up with --no-crl" "$(metric jpki_crl_publisher_up)" 0
stop_server
start_server --listen "127.0.0.1:$PORT" --crl-delay 2
for _ in $(seq 50); do [ -e "$DATA/crl/auth/5.crl" ] && break; sleep 0.1; done
[ -e "$DATA/crl/auth/5.crl" ] || fail "a CRL never published was not published at start"
stop_server

check "a CRL the publisher cannot write: one line names it (the CA, the shard) and says when it tries again"
# A directory in the way of the rename.
rm "$DATA/crl/auth/5.crl"
mkdir -p "$DATA/crl/auth/5.crl/in-the-way"
db_sql "DELETE FROM crl_published WHERE ca = 2 AND shard = 5" >/dev/null 2>&1 ||
	fail "cannot delete a crl_published row"
start_server --listen "127.0.0.1:$PORT" --crl-delay 2
for _ in $(seq 50); do grep -q 'CRL publisher' "$TMP/serve.err" && break; sleep 0.1; done
grep -Eq '^jpki: CRL publisher: auth shard 5: .+ \(trying again in [0-9]+ s\)$' "$TMP/serve.err" ||
	fail "publisher error: $(cat "$TMP/serve.err")"
stop_server
rm -r "$DATA/crl/auth/5.crl"
start_server --listen "127.0.0.1:$PORT" --crl-delay 2
for _ in $(seq 50); do [ -e "$DATA/crl/auth/5.crl" ] && break; sleep 0.1; done
[ -f "$DATA/crl/auth/5.crl" ] || fail "auth shard 5 was not published once nothing was in the way"
stop_server

check "crl_delay in the config: 0 is refused, one error line"
sed -i '1i crl_delay = 0' "$DATA/config"    # before the [fees] section
expect_status 2 serve --listen "127.0.0.1:$PORT"
expect_one_error_line 'crl_delay is 1-86400'
sed -i 's/^crl_delay = 0$/crl_delay = 1/' "$DATA/config"

check "two servers on one data directory (crl_delay = 1 from the config): the numbers served only go up, every revocation listed"
PORT2=$(free_port)
start_server --listen "127.0.0.1:$PORT"
PID1=$SERVER_PID
"$JPKI" serve --listen "127.0.0.1:$PORT2" >"$TMP/serve2.out" 2>"$TMP/serve2.err" &
PID2=$!
trap 'kill "$PID2" 2>/dev/null || true; stop_server; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do grep -q '^jpki: serving' "$TMP/serve2.out" && break; sleep 0.1; done
grep -q '^jpki: serving' "$TMP/serve2.out" || fail "second server: $(cat "$TMP/serve2.err")"
# Both servers' full CRL and the file, sampled all along.
(
	while :; do
		for b in "$BASE" "http://127.0.0.1:$PORT2"; do
			curl -s -o "$TMP/sample.crl" --max-time 5 "$b/crl/sign/full.crl" &&
				echo "$b $(number "$TMP/sample.crl")" >>"$TMP/samples"
		done
		sleep 0.05
	done
) &
SAMPLER=$!
for i in 2 3 4 5 6; do
	ok cert revoke "${SERIALS[$((i - 1))]}" --reason affiliationChanged
	sleep 0.7
done
sleep 1.5
kill "$SAMPLER"
wait "$SAMPLER" 2>/dev/null || true
[ "$(wc -l <"$TMP/samples")" -gt 20 ] || fail "too few samples: $(wc -l <"$TMP/samples")"
# The numbers each server served, and all of them in time order, never go down.
awk '{ if (($1 in last) && $2 < last[$1]) { print "server " $1 " went from " last[$1] " to " $2; bad = 1 }
       if ($2 < all) { print "the numbers served went from " all " to " $2; bad = 1 }
       last[$1] = $2; if ($2 > all) all = $2 } END { exit bad }' "$TMP/samples" >"$TMP/v" ||
	fail "a lower number was published: $(head -3 "$TMP/v")"
# Within the delay of the last revocation, give or take a loaded machine.
for _ in $(seq 50); do
	fetch /crl/sign/full.crl "$TMP/full.crl" "http://127.0.0.1:$PORT2"
	lists "$TMP/full.crl" "${SERIALS[5]}" && break
	sleep 0.1
done
for s in "${SERIALS[@]}"; do
	lists "$TMP/full.crl" "$s" || fail "the full CRL does not list $s"
done
echo "full CRL numbers served: $(awk '{ print $2 }' "$TMP/samples" | sort -un | tr '\n' ' ')"
kill "$PID2"
wait "$PID2" 2>/dev/null || true
trap 'stop_server; rm -rf "$TMP"' EXIT
stop_server

check "the server's process holds no CA key: with the CA keys gone it still serves, its publisher says why it cannot run"
mv "$DATA/ca/sign-ca.key" "$DATA/ca/sign-ca.key.away"
start_server --listen "127.0.0.1:$PORT" --crl-delay 2
for _ in $(seq 50); do grep -q 'CRL publisher' "$TMP/serve.err" && break; sleep 0.1; done
grep -q 'CRL publisher: .*sign-ca\.key' "$TMP/serve.err" || fail "publisher error: $(cat "$TMP/serve.err")"
fetch /metrics "$TMP/metrics"
expect_eq "publisher up without the CA key" "$(metric jpki_crl_publisher_up)" 0
fetch /crl/sign/full.crl "$TMP/full.crl"
stop_server
mv "$DATA/ca/sign-ca.key.away" "$DATA/ca/sign-ca.key"

check "after a rollover: a revocation of each generation is on its own generation's shard and full CRL within the delay, signed by that generation's key, and not on the other's"
id=$(add_resident "$(individual_number 23456789007)" "世代 一郎" "東京都千代田区千代田2-1" 1971-02-03 male)
G1=$(issue "$id" sign "$TMP/g1.pem")
ok ca rollover --type sign
id=$(add_resident "$(individual_number 23456789008)" "世代 二郎" "東京都千代田区千代田2-2" 1972-03-04 male)
G2=$(issue "$id" sign "$TMP/g2.pem")
G1_SHARD=$(shard_of "$TMP/g1.pem")
G2_SHARD=$(openssl x509 -in "$TMP/g2.pem" -noout -ext crlDistributionPoints | sed -n 's|.*/crl/sign\.gen2/\([0-9]*\)\.crl.*|\1|p')
[ -n "$G1_SHARD" ] && [ -n "$G2_SHARD" ] || fail "shards: '$G1_SHARD' '$G2_SHARD'"
openssl x509 -in "$DATA/ca/sign-ca.gen2.pem" -out "$TMP/sign-ca.gen2.pem"
start_server --listen "127.0.0.1:$PORT" --crl-delay 2
# The new generation's CRLs, never published, come first.
for _ in $(seq 100); do [ -e "$DATA/crl/sign.gen2/full.crl" ] && break; sleep 0.1; done
[ -e "$DATA/crl/sign.gen2/full.crl" ] || fail "generation 2's full CRL was not published at start"
ok cert revoke "$G1" --reason keyCompromise
ok cert revoke "$G2" --reason affiliationChanged
# in_crl PATH SERIAL CA: waits up to 3 s for the served CRL at PATH to list
# SERIAL, then checks it verifies under CA.
in_crl() {
	for _ in $(seq 60); do
		fetch "$1" "$TMP/g.crl"
		lists "$TMP/g.crl" "$2" && break
		sleep 0.05
	done
	lists "$TMP/g.crl" "$2" || fail "$1 does not list $2 3 s after its revocation"
	openssl crl -inform DER -in "$TMP/g.crl" -CAfile "$3" -noout 2>&1 | grep -q 'verify OK' ||
		fail "$1 does not verify under $3"
}
in_crl "/crl/sign/$G1_SHARD.crl" "$G1" "$SIGN_CA"
in_crl /crl/sign/full.crl "$G1" "$SIGN_CA"
! lists "$TMP/g.crl" "$G2" || fail "generation 1's full CRL lists generation 2's $G2"
in_crl "/crl/sign.gen2/$G2_SHARD.crl" "$G2" "$TMP/sign-ca.gen2.pem"
in_crl /crl/sign.gen2/full.crl "$G2" "$TMP/sign-ca.gen2.pem"
! lists "$TMP/g.crl" "$G1" || fail "generation 2's full CRL lists generation 1's $G1"
openssl crl -inform DER -in "$TMP/g.crl" -CAfile "$SIGN_CA" -noout 2>&1 | grep -q 'verify OK' &&
	fail "generation 2's CRL verifies under generation 1's key"
openssl verify -crl_check -CAfile "$TMP/sign-ca.gen2.pem" -CRLfile <(openssl crl -inform DER -in "$TMP/g.crl") "$TMP/g2.pem" >"$TMP/v" 2>&1 &&
	fail "openssl verify accepts the revoked generation 2 certificate"
grep -q 'certificate revoked' "$TMP/v" || fail "openssl verify: $(cat "$TMP/v")"
fetch /metrics "$TMP/metrics"
promtool check metrics <"$TMP/metrics" >"$TMP/v" 2>&1 || fail "promtool: $(cat "$TMP/v")"
expect_eq "series per metric (2 CAs x 65, and generation 2 of sign)" "$(grep -c '^jpki_crl_number{' "$TMP/metrics")" 195
stop_server

done_ok
