#!/usr/bin/env bash
# test_ocsp.sh: `jpki ocsp respond` answers the requests `openssl ocsp`
# makes, and `openssl ocsp` accepts the answers: the delegated responder's
# signature verifies under the CA (Response verify OK), a valid certificate
# is good, a revoked one revoked with its reason and time, one the CA never
# issued unknown; the nonce comes back (SHA-1 and SHA-256 CertIDs, several
# certificates in one request); a request for another issuer is
# unauthorized, a malformed one malformedRequest (exit 2, one line), and
# neither changes the store or writes the --out file.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"

# Answers are dated at JPKI_NOW (2026-04-01, lib.sh); openssl checks their
# thisUpdate/nextUpdate against the real clock, so give it room.
LATE=(-validity_period 315360000)

init_data
ok ca export --out "$TMP/ca"
SIGN_CA=$TMP/ca/sign-ca.pem
AUTH_CA=$TMP/ca/auth-ca.pem
TARO=$(add_resident "$(individual_number 12345678901)" "山田 太郎" \
	"東京都千代田区千代田1-1" 1980-05-15 male)
HANA=$(add_resident "$(individual_number 23456789012)" "佐藤 花子" \
	"東京都千代田区丸の内2-3" 1990-04-02 female)
REVOKED=$(issue "$TARO" sign "$TMP/revoked.pem")
GOOD=$(issue "$HANA" sign "$TMP/good.pem")
AUTH=$(issue "$TARO" auth "$TMP/auth.pem")
ok cert revoke "$REVOKED" --reason affiliationChanged

# A certificate of another issuer (the last checks also ask for a serial
# under our signing CA that it never issued).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/stray.key" -subj /CN=stray \
	-days 1 -set_serial 0x0123456789ABCDEF -out "$TMP/stray.pem" 2>/dev/null || fail "openssl req"

# ask OUT ISSUER CERT... [openssl options]: make a request for CERTs
ask() {
	local out=$1 issuer=$2
	shift 2
	local args=()
	while [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; do args+=(-cert "$1"); shift; done
	openssl ocsp "$@" -issuer "$issuer" "${args[@]}" -reqout "$out" >/dev/null 2>"$TMP/ask.err" ||
		fail "openssl ocsp -reqout: $(cat "$TMP/ask.err")"
}

check "a valid signing certificate is good; openssl verifies the responder's signature and the nonce"
ask "$TMP/q1.der" "$SIGN_CA" "$TMP/good.pem"
ok ocsp respond --in "$TMP/q1.der" --out "$TMP/r1.der" --json
json_expect "answer" status=successful responses.0.serial="$GOOD" responses.0.status=good responses.0.type=sign
openssl ocsp -reqin "$TMP/q1.der" -respin "$TMP/r1.der" -CAfile "$SIGN_CA" >"$TMP/v" 2>&1 ||
	fail "openssl ocsp -respin: $(cat "$TMP/v")"
grep -q 'Response verify OK' "$TMP/v" || fail "response does not verify: $(cat "$TMP/v")"
if grep -qi 'nonce' "$TMP/v"; then fail "nonce: $(cat "$TMP/v")"; fi
openssl ocsp -respin "$TMP/r1.der" -issuer "$SIGN_CA" -cert "$TMP/good.pem" -CAfile "$SIGN_CA" -no_nonce "${LATE[@]}" >"$TMP/v" 2>&1 ||
	fail "openssl ocsp status: $(cat "$TMP/v")"
grep -q "good.pem: good" "$TMP/v" || fail "openssl reads no 'good': $(cat "$TMP/v")"

check "a revoked certificate is revoked, with its reason and time; SHA-256 CertIDs work too"
ask "$TMP/q2.der" "$SIGN_CA" "$TMP/revoked.pem" -sha256 -no_nonce
ok ocsp respond --in "$TMP/q2.der" --out "$TMP/r2.der"
openssl ocsp -sha256 -respin "$TMP/r2.der" -issuer "$SIGN_CA" -cert "$TMP/revoked.pem" -CAfile "$SIGN_CA" -no_nonce "${LATE[@]}" >"$TMP/v" 2>&1 ||
	fail "openssl ocsp status: $(cat "$TMP/v")"
grep -q 'Response verify OK' "$TMP/v" || fail "response does not verify: $(cat "$TMP/v")"
grep -q "revoked.pem: revoked" "$TMP/v" || fail "not revoked: $(cat "$TMP/v")"
grep -q "Reason: affiliationChanged" "$TMP/v" || fail "no reason: $(cat "$TMP/v")"
grep -q "Revocation Time: Apr  1 01:00:00 2026 GMT" "$TMP/v" || fail "revocation time: $(cat "$TMP/v")"

check "several certificates in one request; one we never issued is unknown"
openssl ocsp -issuer "$SIGN_CA" -cert "$TMP/good.pem" -cert "$TMP/revoked.pem" \
	-serial 0x0123456789ABCDEF -reqout "$TMP/q3.der" >/dev/null 2>&1 || fail "openssl ocsp -reqout (three)"
ok ocsp respond --in "$TMP/q3.der" --out "$TMP/r3.der" --json
json_expect "three answers" responses.0.status=good responses.1.status=revoked \
	responses.1.reason=affiliationChanged responses.2.status=unknown responses.2.serial=0123456789ABCDEF
openssl ocsp -reqin "$TMP/q3.der" -respin "$TMP/r3.der" -CAfile "$SIGN_CA" >"$TMP/v" 2>&1 ||
	fail "openssl ocsp -respin: $(cat "$TMP/v")"
grep -q 'Response verify OK' "$TMP/v" || fail "response does not verify: $(cat "$TMP/v")"

check "the authentication CA answers for its own certificates with its own responder"
ask "$TMP/q4.der" "$AUTH_CA" "$TMP/auth.pem"
ok ocsp respond --in "$TMP/q4.der" --out "$TMP/r4.der" --json
json_expect "auth answer" responses.0.type=auth responses.0.status=good
openssl ocsp -reqin "$TMP/q4.der" -respin "$TMP/r4.der" -CAfile "$AUTH_CA" >"$TMP/v" 2>&1 &&
	grep -q 'Response verify OK' "$TMP/v" || fail "auth response: $(cat "$TMP/v")"
if openssl ocsp -reqin "$TMP/q4.der" -respin "$TMP/r4.der" -CAfile "$SIGN_CA" >"$TMP/v" 2>&1; then
	fail "the authentication responder's answer verifies under the signing CA"
fi

db_snapshot "$TMP/before.sql"
check "a request about another issuer: unauthorized (exit 1, one line), stdout says so, no --out file"
ask "$TMP/q5.der" "$TMP/stray.pem" "$TMP/stray.pem"
expect_status 1 ocsp respond --in "$TMP/q5.der" --out "$TMP/r5.der"
expect_one_error_line '^jpki: refused: .*not issued by'
expect_eq "response status" "$(head -n 1 "$TMP/stdout")" unauthorized
[ ! -e "$TMP/r5.der" ] || fail "a refused request wrote $TMP/r5.der"

check "one request asking both CAs: unauthorized"
openssl ocsp -issuer "$SIGN_CA" -cert "$TMP/good.pem" -issuer "$AUTH_CA" -cert "$TMP/auth.pem" \
	-reqout "$TMP/q6.der" >/dev/null 2>&1 || fail "openssl ocsp -reqout (two issuers)"
expect_status 1 ocsp respond --in "$TMP/q6.der" --out "$TMP/r6.der"
expect_one_error_line '^jpki: refused: .*both CAs'

check "malformed requests: malformedRequest, exit 2, one line, no --out file; an oversized one is not read"
printf 'not DER' >"$TMP/bad1.der"
head -c 40 "$TMP/q1.der" >"$TMP/bad2.der"                    # truncated
{ cat "$TMP/q1.der"; printf '\0'; } >"$TMP/bad3.der"          # trailing byte
for b in bad1 bad2 bad3; do
	expect_status 2 ocsp respond --in "$TMP/$b.der" --out "$TMP/$b.resp"
	expect_one_error_line '^jpki: bad-input: OCSP request'
	expect_eq "$b: response status" "$(head -n 1 "$TMP/stdout")" malformedRequest
	[ ! -e "$TMP/$b.resp" ] || fail "$b: a malformed request wrote $TMP/$b.resp"
done
head -c 9000 /dev/zero >"$TMP/bad4.der"
expect_status 2 ocsp respond --in "$TMP/bad4.der" --out "$TMP/bad4.resp"
expect_one_error_line '^jpki: bad-input: .*larger than'
expect_store_unchanged "$TMP/before.sql" "OCSP requests"

check "bad usage: one line, exit 2"
expect_status 2 ocsp respond --in "$TMP/q1.der"
expect_one_error_line '^jpki: usage'
expect_status 2 ocsp respond --in "$TMP/nonexistent" --out "$TMP/x.der"
expect_one_error_line '^jpki: '

done_ok
