#!/usr/bin/env bash
# test_signer.sh: counters against `jpki signer` (issue 9 items 3 and 4,
# acceptance).  The key files are moved out of the data directory into a
# directory only the signer reads; the signer starts as root, becomes
# `nobody`, sets no_new_privs and loads its seccomp filter.  Then:
# deliveries work through it; a counter process waiting on it holds no CA
# key (its /proc fd and maps, and no key file left to read); crafted
# requests that break the profile are refused and logged by the signer;
# the signer SIGKILLed while a counter waits for a signature loses nothing
# committed, the counter says so in one line, and a new signer carries on;
# its checkpoints follow every procedure and `jpki audit verify` checks them.
# On SQLite and PostgreSQL.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/counter_lib.sh"
source "$(dirname "$0")/signer_lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "$TEST_NAME: SKIP: needs root (to drop to nobody)"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "$TEST_NAME: SKIP: no user nobody"; exit 77; }
PROBE=$JPKI_BUILD/signer_probe
SOCK=$TMP/signer.sock
KEYS=$TMP/signer-keys

init_data
# The signer, as nobody, reaches its state under $DATA/signer and the store.
chmod 755 "$TMP" "$DATA"
mkdir -m 700 "$KEYS"
mv "$DATA"/ca/*.key "$KEYS/"
sed -i "1i signer = unix:$SOCK" "$DATA/config"

SIGNER_ARGS=(--listen "unix:$SOCK" --keys "$KEYS" --user nobody --checkpoint-every 1)

# wait_blocked PID: the counter PID has connected to the signer (a socket
# among its descriptors, besides its PostgreSQL connection's: the store is
# opened first) and waits for its answer.
wait_blocked() {
	local want=1
	on_postgresql && want=2
	for _ in $(seq 1 200); do
		[ "$(ls -l "/proc/$1/fd" 2>/dev/null | grep -c 'socket:')" -ge "$want" ] && return 0
		kill -0 "$1" 2>/dev/null || fail "the counter ended before asking the signer"
		sleep 0.05
	done
	fail "the counter never connected to the signer"
}

check "the signer drops to nobody, with no_new_privs and a seccomp filter"
start_signer "${SIGNER_ARGS[@]}"
status=/proc/$SIGNER_PID/status
grep -Eq '^Uid:[[:space:]]+65534[[:space:]]+65534[[:space:]]+65534[[:space:]]+65534' "$status" || fail "signer uid: $(grep Uid "$status")"
grep -Eq '^Gid:[[:space:]]+65534' "$status" || fail "signer gid: $(grep Gid "$status")"
grep -Eq '^NoNewPrivs:[[:space:]]+1' "$status" || fail "no_new_privs not set"
grep -Eq '^Seccomp:[[:space:]]+2' "$status" || fail "no seccomp filter: $(grep Seccomp "$status")"
grep -Eq '^Groups:[[:space:]]*$' "$status" || fail "supplementary groups kept: $(grep Groups "$status")"

check "a counter delivers through the signer; nothing in the data directory holds a key"
id1=$(add_resident "$(individual_number 30000000001)" "山田 太郎" "東京都清瀬市中里五丁目842番地" 1980-12-31 male)
id2=$(add_resident "$(individual_number 30000000002)" "山田 花子" "東京都清瀬市中里五丁目842番地" 1981-02-03 female)
id3=$(add_resident "$(individual_number 30000000003)" "山田 次郎" "東京都清瀬市中里五丁目842番地" 1984-05-06 male)
deliver "$id1" "$TMP/card1.img"
ok ca export --out "$TMP/ca"
verify_on_card "$TMP/card1.img" sign
verify_on_card "$TMP/card1.img" auth
[ -z "$(find "$DATA/ca" -name '*.key')" ] || fail "CA key files in the data directory: $(find "$DATA/ca" -name '*.key')"
grep -q '"request":"certificate","key":"sign-ca"' "$DATA/signer/audit.log" || fail "the signer's audit log has no signed certificate"
grep -q '"request":"card-facts","key":"card-issuer"' "$DATA/signer/audit.log" || fail "the card facts were not signed by the signer"
grep -q '"request":"card-face","key":"card-issuer"' "$DATA/signer/audit.log" || fail "the card face was not signed by the signer"

check "CRLs and OCSP answers through the signer (its lint passes what the CA makes)"
ok crl generate --type sign
openssl crl -in "$DATA/crl/sign/full.crl" -inform DER -CAfile "$TMP/ca/sign-ca.pem" -noout 2>&1 | grep -q 'verify OK' ||
	fail "the full CRL signed through the signer does not verify"
"$JPKI" card certs --card "$TMP/card1.img" --out "$TMP/certs1" >/dev/null 2>&1 || fail "card certs"
openssl x509 -inform DER -in "$TMP/certs1/auth.der" -out "$TMP/auth1.pem" || fail "the card's auth certificate"
openssl ocsp -issuer "$TMP/ca/auth-ca.pem" -cert "$TMP/auth1.pem" -no_nonce -reqout "$TMP/q.der" >/dev/null 2>&1 ||
	fail "openssl ocsp -reqout"
ok ocsp respond --in "$TMP/q.der" --out "$TMP/r.der"
openssl ocsp -respin "$TMP/r.der" -CAfile "$TMP/ca/auth-ca.pem" -resp_text >"$TMP/ocsp.out" 2>&1 || fail "openssl ocsp -respin: $(cat "$TMP/ocsp.out")"
grep -q 'Response verify OK' "$TMP/ocsp.out" || fail "the OCSP answer signed through the signer does not verify"
grep -q 'Cert Status: good' "$TMP/ocsp.out" || fail "not good: $(cat "$TMP/ocsp.out")"

check "a counter process waiting on the signer has no CA key open or mapped"
kill -STOP "$SIGNER_PID"
"$JPKI" counter deliver --clerk "$CLERK" --resident "$id2" --out "$TMP/card2.img" \
	>"$TMP/c2.out" 2>"$TMP/c2.err" &
cpid=$!
wait_blocked "$cpid"
fds=$(ls -l "/proc/$cpid/fd")
maps=$(cat "/proc/$cpid/maps")
if grep -E '\.key|signer-keys' <<<"$fds"; then fail "the counter has a key file open"; fi
if grep -E '\.key|signer-keys' <<<"$maps"; then fail "the counter maps a key file"; fi
# The right process: it has the store open (the SQLite file; on
# PostgreSQL its connection was counted by wait_blocked).
if on_postgresql; then
	tr '\0' ' ' <"/proc/$cpid/cmdline" | grep -q 'counter deliver' || fail "not the counter: $(tr '\0' ' ' <"/proc/$cpid/cmdline")"
else
	grep -q "$DATA/jpki.db" <<<"$fds" || fail "not the counter's descriptors (no store open): $fds"
fi
kill -CONT "$SIGNER_PID"
wait "$cpid" || fail "the delivery waiting on the signer failed: $(cat "$TMP/c2.err")"
verify_on_card "$TMP/card2.img" sign

check "the signer refuses what breaks the profile, and logs each refusal"
for c in facts-on-auth long-validity dup-serial wrong-issuer audit-raw crl-digest crl-forged; do
	run "$PROBE" "$DATA" "$c"
	[ "$RC" -eq 1 ] || fail "signer_probe $c exited $RC, expected 1 (refused): $ERR$OUT"
	expect_one_error_line '.'
done
run "$PROBE" "$DATA" facts-on-auth
grep -q 'holder.s facts (SubjectAltName) belong on signing certificates only' "$TMP/stderr" || fail "facts-on-auth: $ERR"
run "$PROBE" "$DATA" long-validity
grep -q 'past any card issued that day' "$TMP/stderr" || fail "long-validity: $ERR"
run "$PROBE" "$DATA" dup-serial
grep -q 'was signed before' "$TMP/stderr" || fail "dup-serial: $ERR"
run "$PROBE" "$DATA" audit-raw
grep -q 'checkpoints are made by the signer' "$TMP/stderr" || fail "audit-raw: $ERR"
run "$PROBE" "$DATA" crl-digest
grep -q 'never from a digest' "$TMP/stderr" || fail "crl-digest: $ERR"
run "$PROBE" "$DATA" crl-forged
grep -q 'TBSCertList: not a version 2 CRL' "$TMP/stderr" || fail "crl-forged: $ERR"
run "$PROBE" "$DATA" ok
[ "$RC" -eq 0 ] || fail "a request in the profile was refused: $ERR"
n=$(grep -c '"result":"refused"' "$DATA/signer/audit.log")
[ "$n" -ge 13 ] || fail "the signer logged $n refusals, expected 13 or more"

check "the signer killed while a counter waits: nothing committed is lost, one line says so"
certs_before=$(sql "SELECT count(*) FROM certificates")
db_snapshot "$TMP/before.sql"
kill -STOP "$SIGNER_PID"
"$JPKI" counter deliver --clerk "$CLERK" --resident "$id3" --out "$TMP/card3.img" \
	>"$TMP/c3.out" 2>"$TMP/c3.err" &
cpid=$!
wait_blocked "$cpid"
kill_signer
rc=0
wait "$cpid" || rc=$?
[ "$rc" -eq 3 ] || fail "the counter exited $rc when its signer died, expected 3: $(cat "$TMP/c3.err")"
cp "$TMP/c3.err" "$TMP/stderr"
ERR=$(cat "$TMP/stderr")
expect_one_error_line "^jpki: io: signer unix:.*signer\.sock: the signer went away \(connection (closed|reset) on read\)$"
expect_eq "certificates" "$(sql "SELECT count(*) FROM certificates")" "$certs_before"
expect_store_unchanged "$TMP/before.sql" "a delivery whose signer died"

check "a new signer carries on (over the dead one's socket file); its checkpoints cover every procedure"
[ -S "$SOCK" ] || fail "the killed signer's socket file is gone"
start_signer "${SIGNER_ARGS[@]}"
deliver "$id3" "$TMP/card3.img"
verify_on_card "$TMP/card3.img" auth

check "jpki serve through the signer: OCSP answered and its CRL publisher publishing a revocation"
id4=$(add_resident "$(individual_number 30000000004)" "山田 三郎" "東京都清瀬市中里五丁目842番地" 1986-07-08 male)
issue "$id4" sign "$TMP/sign4.pem" >/dev/null
serial4=$(openssl x509 -in "$TMP/sign4.pem" -noout -serial | sed 's/^serial=//')
PORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$JPKI" serve --listen "127.0.0.1:$PORT" --crl-delay 1 >"$TMP/serve.out" 2>"$TMP/serve.err" &
serve_pid=$!
for _ in $(seq 1 100); do
	grep -q '^jpki: serving' "$TMP/serve.out" 2>/dev/null && break
	kill -0 "$serve_pid" 2>/dev/null || fail "jpki serve exited: $(cat "$TMP/serve.err")"
	sleep 0.05
done
openssl ocsp -issuer "$TMP/ca/sign-ca.pem" -cert "$TMP/sign4.pem" -url "http://127.0.0.1:$PORT/ocsp/sign" \
	-CAfile "$TMP/ca/sign-ca.pem" >"$TMP/ocsp.out" 2>&1 || fail "openssl ocsp: $(cat "$TMP/ocsp.out")"
grep -Eq '(: |^)good$' "$TMP/ocsp.out" || fail "the answer is not good: $(cat "$TMP/ocsp.out")"
ok cert revoke "$serial4" --reason keyCompromise
listed=
for _ in $(seq 1 100); do
	curl -s --max-time 5 -o "$TMP/full.crl" "http://127.0.0.1:$PORT/crl/sign/full.crl" || fail "no full CRL from serve"
	if openssl crl -inform DER -in "$TMP/full.crl" -noout -text | tr -d ' ' | grep -qix "SerialNumber:$serial4"; then
		listed=1
		break
	fi
	sleep 0.05
done
kill "$serve_pid"
wait "$serve_pid" 2>/dev/null || true
[ -n "$listed" ] || fail "the served full CRL does not list $serial4 5 s after its revocation: $(cat "$TMP/serve.err")"
openssl crl -inform DER -in "$TMP/full.crl" -CAfile "$TMP/ca/sign-ca.pem" -noout 2>&1 | grep -q 'verify OK' ||
	fail "the CRL published through the signer does not verify"
[ -z "$(find "$DATA/ca" -name '*.key')" ] || fail "CA key files in the data directory"

check "the signer killed in the middle of batches of issuance: every batch committed is whole"
certs_before=$(sql "SELECT count(*) FROM certificates")
"$JPKI_BUILD/issue_forever" "$DATA" "$(pubkey batch)" >"$TMP/progress" 2>"$TMP/batch.err" &
bpid=$!
for _ in $(seq 1 400); do
	[ "$(sed -n 's/^committed //p' "$TMP/progress" | tail -1)" -ge 16 ] 2>/dev/null && break
	kill -0 "$bpid" 2>/dev/null || fail "issue_forever ended: $(cat "$TMP/batch.err")"
	sleep 0.05
done
kill_signer
rc=0
wait "$bpid" || rc=$?
[ "$rc" -eq 3 ] || fail "issue_forever exited $rc when its signer died: $(head -c 3000 "$TMP/batch.err")"
[ "$(grep -c '' "$TMP/batch.err")" -eq 1 ] || fail "not one line: $(cat "$TMP/batch.err")"
grep -Eq 'signer unix:.*signer\.sock: (the signer went away|connect: )' "$TMP/batch.err" || fail "the batch's error: $(cat "$TMP/batch.err")"
certs=$(( $(sql "SELECT count(*) FROM certificates") - certs_before ))
reported=$(sed -n 's/^committed //p' "$TMP/progress" | tail -1)
[ $(( certs % 8 )) -eq 0 ] || fail "a partial batch was recorded ($certs certificates)"
[ "${reported:-0}" -le "$certs" ] || fail "reported $reported committed, the store has $certs"
[ "$certs" -le $(( ${reported:-0} + 8 )) ] || fail "the store has $certs, more than one batch past the $reported reported"
printf '%s:   %s certificates in whole batches when the signer died (%s reported)\n' "$TEST_NAME" "$certs" "$reported"
start_signer "${SIGNER_ARGS[@]}"
expect_audit_ok "after the signer died in a batch"
run "$JPKI" audit checkpoint
head=$(sql "SELECT max(seq) FROM audit")
grep -q "^openjpki-checkpoint-v1 seq=$head " "$DATA/signer/checkpoints" || fail "no checkpoint of the newest entry ($head)"
ok audit verify --json
json_expect "audit verify" ok=true checkpoint_seq="$head"
run "$JPKI" audit checkpoint
[ "$RC" -eq 0 ] || fail "jpki audit checkpoint through the signer: $ERR"
grep -q "seq=$head " <<<"$OUT" || fail "audit checkpoint printed: $OUT"
stop_signer

done_ok
