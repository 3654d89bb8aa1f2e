#!/usr/bin/env bash
# test_ocsp_presign.sh: pre-signed OCSP (docs/ocsp.md).  `jpki ocsp
# presign` makes a response for every certificate not expired; `jpki
# serve` sends it byte for byte, again and again, and openssl verifies it;
# a certificate issued while the server runs gets one within a second; a
# revocation committed by another `jpki` process shows as revoked through
# `openssl ocsp -url -no_nonce` (the pre-signed path) within one second,
# the server left running; a nonce request is signed live and carries the
# nonce; an unknown serial is `unknown`, another issuer `unauthorized`; a
# refresh (a later pass) replaces the bytes; after a restart the stored
# responses are served as they were; /metrics counts them.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"

. "$(dirname "$0")/serve_lib.sh"
command -v curl >/dev/null || fail "curl is needed (scripts/install-deps.sh)"
serve_init
HANA=$(add_resident "$(individual_number 23456789012)" "佐藤 花子" \
	"東京都千代田区丸の内2-3" 1990-04-02 female)
GOOD=$(issue "$TARO" sign "$TMP/good.pem")
REV=$(issue "$HANA" sign "$TMP/rev.pem")
AUTH=$(issue "$TARO" auth "$TMP/auth.pem")

stored() {
	db_sql "SELECT count(*) FROM ocsp_responses WHERE serial = '$1' AND status = $2"
}

check "jpki ocsp presign signs a response for each certificate, and a second run finds them current"
ok ocsp presign --json
json_expect "first pass" signed_good=3 signed_revoked=0 looked=3
ok ocsp presign --json
json_expect "second pass" signed_good=0 current=3
[ "$(stored "$GOOD" 1)" = 1 ] && [ "$(stored "$AUTH" 1)" = 1 ] || fail "responses not stored"

# get NAME ISSUER CERT: GET the RFC 5019 form (SHA-1, no nonce) into $TMP/NAME.der.
get() {
	openssl ocsp -issuer "$2" -cert "$3" -no_nonce -reqout "$TMP/$1.q" >/dev/null 2>&1 || fail "openssl ocsp -reqout"
	local b64
	b64=$(base64 -w0 <"$TMP/$1.q" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
	local type=sign
	[ "$2" = "$AUTH_CA" ] && type=auth
	code=$(curl -s -o "$TMP/$1.der" -w '%{http_code}' --max-time 10 "$BASE/ocsp/$type/$b64")
	[ "$code" = 200 ] || fail "GET /ocsp: $code"
}

start_server --listen "127.0.0.1:$PORT"

check "the stored response is served byte for byte, request after request, and verifies"
get a1 "$SIGN_CA" "$TMP/good.pem"
sleep 1.1
get a2 "$SIGN_CA" "$TMP/good.pem"
cmp -s "$TMP/a1.der" "$TMP/a2.der" || fail "two answers a second apart differ"
db_sql "SELECT $(db_hex der) FROM ocsp_responses WHERE serial = '$GOOD'" >"$TMP/stored.hex"
[ "$(od -An -v -tx1 "$TMP/a1.der" | tr -d ' \n')" = "$(tr -d '\n' <"$TMP/stored.hex")" ] ||
	fail "the answer is not the stored response"
openssl ocsp -issuer "$SIGN_CA" -cert "$TMP/good.pem" -respin "$TMP/a1.der" -CAfile "$SIGN_CA" -no_nonce >"$TMP/v" 2>&1 ||
	fail "openssl ocsp -respin: $(cat "$TMP/v")"
grep -q 'Response verify OK' "$TMP/v" && grep -q 'good.pem: good' "$TMP/v" || fail "$(cat "$TMP/v")"
post_v() {
	openssl ocsp -issuer "$1" -cert "$2" -url "$BASE/ocsp" -CAfile "$1" "${@:3}" >"$TMP/v" 2>&1 ||
		fail "openssl ocsp -url: $(cat "$TMP/v")"
}
post_v "$SIGN_CA" "$TMP/good.pem" -no_nonce -respout "$TMP/p1.der"
cmp -s "$TMP/a1.der" "$TMP/p1.der" || fail "POST answer is not the stored one"
get au "$AUTH_CA" "$TMP/auth.pem"
openssl ocsp -issuer "$AUTH_CA" -cert "$TMP/auth.pem" -respin "$TMP/au.der" -CAfile "$AUTH_CA" -no_nonce >"$TMP/v" 2>&1 ||
	fail "auth: $(cat "$TMP/v")"
grep -q 'auth.pem: good' "$TMP/v" || fail "auth: $(cat "$TMP/v")"

check "a revocation by another jpki process shows through openssl ocsp -url within 1 s, server left running"
ok cert revoke "$REV" --reason affiliationChanged
t0=$(date +%s%N)
while :; do
	post_v "$SIGN_CA" "$TMP/rev.pem" -no_nonce -respout "$TMP/r.der"
	grep -q 'rev.pem: revoked' "$TMP/v" && break
	grep -q 'rev.pem: good' "$TMP/v" || fail "$(cat "$TMP/v")"
	[ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 1000 ] || fail "still good 1 s after the revocation"
	sleep 0.05
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "    revoked in the answers ${ms} ms after jpki cert revoke returned"
grep -q 'Reason: affiliationChanged' "$TMP/v" && grep -q 'Response verify OK' "$TMP/v" || fail "$(cat "$TMP/v")"
[ "$(stored "$REV" 2)" = 1 ] || fail "the revoked response is not the stored one"
post_v "$SIGN_CA" "$TMP/rev.pem" -no_nonce -respout "$TMP/r2.der"
cmp -s "$TMP/r.der" "$TMP/r2.der" || fail "the revoked answer changes between requests"

check "a certificate issued while the server runs gets its response within a second"
JIRO=$(add_resident "$(individual_number 34567890123)" "鈴木 次郎" \
	"東京都千代田区永田町1-7" 1975-01-20 male)
NEW=$(issue "$JIRO" sign "$TMP/new.pem")
for _ in $(seq 20); do
	[ "$(stored "$NEW" 1)" = 1 ] && break
	sleep 0.05
done
[ "$(stored "$NEW" 1)" = 1 ] || fail "no response stored for $NEW a second after issuance"

check "a nonce request is signed live and carries its nonce"
post_v "$SIGN_CA" "$TMP/good.pem"
grep -q 'Response verify OK' "$TMP/v" && grep -q 'good.pem: good' "$TMP/v" || fail "$(cat "$TMP/v")"
if grep -qi 'nonce' "$TMP/v"; then fail "nonce: $(cat "$TMP/v")"; fi

check "an unknown serial is unknown; another issuer is unauthorized"
openssl ocsp -issuer "$SIGN_CA" -serial 0x0123456789ABCDEF -url "$BASE/ocsp" -CAfile "$SIGN_CA" -no_nonce >"$TMP/v" 2>&1 ||
	fail "unknown: $(cat "$TMP/v")"
grep -q ': unknown' "$TMP/v" || fail "not unknown: $(cat "$TMP/v")"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/stray.key" -subj /CN=stray \
	-days 1 -out "$TMP/stray.pem" 2>/dev/null || fail "openssl req"
openssl ocsp -issuer "$TMP/stray.pem" -serial 0x01 -url "$BASE/ocsp" -no_nonce >"$TMP/v" 2>&1 || true
grep -q 'unauthorized' "$TMP/v" || fail "not unauthorized: $(cat "$TMP/v")"

check "/metrics counts the stored responses, their age and the live signing"
code=$(curl -s -o "$TMP/m" -w '%{http_code}' --max-time 10 "$BASE/metrics")
[ "$code" = 200 ] || fail "/metrics: $code"
grep -q '^jpki_ocsp_presigned_responses 4$' "$TMP/m" || fail "$(grep ocsp "$TMP/m")"
grep -q '^jpki_ocsp_presigned_oldest_age_seconds [0-9]' "$TMP/m" || fail "$(grep ocsp "$TMP/m")"
grep -q '^jpki_ocsp_presigner_up 1$' "$TMP/m" || fail "$(grep ocsp "$TMP/m")"
grep -q '^jpki_ocsp_live_signing 0$' "$TMP/m" || fail "$(grep ocsp "$TMP/m")"
grep -Eq '^jpki_ocsp_answers_total\{source="presigned"\} [1-9]' "$TMP/m" || fail "$(grep ocsp "$TMP/m")"
grep -Eq '^jpki_ocsp_answers_total\{source="live"\} [1-9]' "$TMP/m" || fail "$(grep ocsp "$TMP/m")"

check "after a restart (no pre-signer) the stored responses are served as they were"
stop_server
start_server --listen "127.0.0.1:$PORT" --no-presign
get a3 "$SIGN_CA" "$TMP/good.pem"
cmp -s "$TMP/a1.der" "$TMP/a3.der" || fail "after the restart the answer changed"
code=$(curl -s -o "$TMP/m" -w '%{http_code}' --max-time 10 "$BASE/metrics")
grep -q '^jpki_ocsp_presigner_up 0$' "$TMP/m" || fail "$(grep ocsp "$TMP/m")"

check "a refresh (a pass once ocsp_refresh_seconds have gone) replaces the bytes, and they verify"
later=$(date -u -d '@'$(( $(date +%s) + 86400 + 60 )) +%Y-%m-%dT%H:%M:%SZ)
JPKI_NOW=$later "$JPKI" --data "$DATA" ocsp presign --json >"$TMP/stdout" 2>"$TMP/err" || fail "presign: $(cat "$TMP/err")"
json_expect "refresh" signed_good=3 signed_revoked=1
get a4 "$SIGN_CA" "$TMP/good.pem"
cmp -s "$TMP/a1.der" "$TMP/a4.der" && fail "the refreshed answer is the old one"
openssl ocsp -issuer "$SIGN_CA" -cert "$TMP/good.pem" -respin "$TMP/a4.der" -CAfile "$SIGN_CA" -no_nonce \
	-validity_period 200000 >"$TMP/v" 2>&1 || fail "refreshed: $(cat "$TMP/v")"
grep -q 'good.pem: good' "$TMP/v" || fail "$(cat "$TMP/v")"
stop_server

check "the config: a validity under twice the refresh is refused, one line, nothing signed"
cp "$DATA/config" "$TMP/config.saved"
sed -i 's/^ocsp_validity_seconds = .*/ocsp_validity_seconds = 100000/' "$DATA/config"
expect_status 2 ocsp presign
expect_one_error_line 'ocsp_validity_seconds \(100000\) must be at least twice ocsp_refresh_seconds \(86400\)'
cp "$TMP/config.saved" "$DATA/config"
sed -i 's/^ocsp_refresh_seconds = .*/ocsp_refresh_seconds = 3600/; s/^ocsp_validity_seconds = .*/ocsp_validity_seconds = 7200/' "$DATA/config"
later=$(date -u -d '@'$(( $(date +%s) + 86400 + 3600 + 120 )) +%Y-%m-%dT%H:%M:%SZ)
JPKI_NOW=$later "$JPKI" --data "$DATA" ocsp presign --json >"$TMP/stdout" 2>"$TMP/err" || fail "presign: $(cat "$TMP/err")"
json_expect "an hour's refresh" signed_good=3 signed_revoked=1
[ "$(db_sql "SELECT DISTINCT next_update - this_update FROM ocsp_responses")" = 7200 ] ||
	fail "nextUpdate is not thisUpdate + ocsp_validity_seconds"

done_ok
