#!/usr/bin/env bash
# test_serve.sh: `jpki serve` answers at the URIs the certificates carry,
# and today's tools follow them on their own: `openssl ocsp -url` gets
# verified answers (good, then revoked the moment `jpki cert revoke`
# commits, without restarting anything); the GET form of OCSP works;
# `openssl verify -crl_check -crl_download` fetches the shard named in the
# certificate's CDP; /ca/<type>.der is the CA certificate.  Paths outside
# the published forms are 404 (no way out of the CRL directory), a wrong
# method 405, an oversized OCSP body 413, a malformed one a malformedRequest
# answer.  A taken port or a bad --listen is one line; SIGTERM stops it.
# The server listens on loopback only, on a free port.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"

. "$(dirname "$0")/serve_lib.sh"
serve_init
SERIAL=$(issue "$TARO" sign "$TMP/sign.pem")
ok crl generate

start_server --listen "127.0.0.1:$PORT"
grep -q "^jpki: serving $BASE/" "$TMP/serve.out" || fail "jpki serve did not say it serves $BASE: $(cat "$TMP/serve.out")"

# http METHOD PATH [BODY_FILE]: print "STATUS" and save the body to $TMP/body.
http() {
	"$PYTHON" - "$1" "$BASE$2" "${3:-}" "$TMP/body" <<'PY'
import sys, urllib.request, urllib.error
method, url, body_file, out = sys.argv[1:5]
data = open(body_file, "rb").read() if body_file else None
req = urllib.request.Request(url, data=data, method=method)
if data is not None:
    req.add_header("Content-Type", "application/ocsp-request")
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        status, body = r.status, r.read()
except urllib.error.HTTPError as e:
    status, body = e.code, e.read()
open(out, "wb").write(body)
print(status)
PY
}

check "openssl ocsp -url: the answer verifies and says good"
openssl ocsp -issuer "$SIGN_CA" -cert "$TMP/sign.pem" -url "$BASE/ocsp/sign" -CAfile "$SIGN_CA" >"$TMP/v" 2>&1 ||
	fail "openssl ocsp -url: $(cat "$TMP/v")"
grep -q 'Response verify OK' "$TMP/v" && grep -q 'sign.pem: good' "$TMP/v" || fail "$(cat "$TMP/v")"

check "openssl verify -crl_download fetches the CRL shard from the certificate's CDP: not revoked"
openssl verify -crl_check -crl_download -CAfile "$SIGN_CA" "$TMP/sign.pem" >"$TMP/v" 2>&1 ||
	fail "openssl verify -crl_download: $(cat "$TMP/v")"

check "a revocation shows in OCSP at once, with no restart and no CRL run"
ok cert revoke "$SERIAL" --reason keyCompromise
openssl ocsp -issuer "$SIGN_CA" -cert "$TMP/sign.pem" -url "$BASE/ocsp/sign" -CAfile "$SIGN_CA" >"$TMP/v" 2>&1 ||
	fail "openssl ocsp -url: $(cat "$TMP/v")"
grep -q 'sign.pem: revoked' "$TMP/v" && grep -q 'Reason: keyCompromise' "$TMP/v" || fail "$(cat "$TMP/v")"

check "after jpki crl generate, openssl verify -crl_download says revoked (error 23)"
ok crl generate --type sign
rc=0
openssl verify -crl_check -crl_download -CAfile "$SIGN_CA" "$TMP/sign.pem" >"$TMP/v" 2>&1 || rc=$?
[ $rc -ne 0 ] && grep -q 'error 23' "$TMP/v" || fail "$(cat "$TMP/v")"

check "the GET form of OCSP (base64, percent-encoded) gives the same answer"
openssl ocsp -issuer "$SIGN_CA" -cert "$TMP/sign.pem" -no_nonce -reqout "$TMP/q.der" >/dev/null 2>&1
b64=$("$PYTHON" -c 'import base64,sys,urllib.parse; print(urllib.parse.quote(base64.b64encode(open(sys.argv[1],"rb").read()).decode(), safe=""))' "$TMP/q.der")
expect_eq "GET /ocsp/sign/<b64>" "$(http GET "/ocsp/sign/$b64")" 200
openssl ocsp -respin "$TMP/body" -issuer "$SIGN_CA" -cert "$TMP/sign.pem" -CAfile "$SIGN_CA" -no_nonce >"$TMP/v" 2>&1 ||
	fail "GET answer: $(cat "$TMP/v")"
grep -q 'sign.pem: revoked' "$TMP/v" || fail "GET answer: $(cat "$TMP/v")"

check "/ca/sign.der is the signing CA certificate; / says what is served"
expect_eq "GET /ca/sign.der" "$(http GET /ca/sign.der)" 200
openssl x509 -in "$SIGN_CA" -outform DER -out "$TMP/ca.der"
cmp -s "$TMP/body" "$TMP/ca.der" || fail "/ca/sign.der is not the CA certificate"
expect_eq "GET /" "$(http GET /)" 200
grep -q '/ocsp/' "$TMP/body" || fail "the index does not mention /ocsp/"

check "anything else: 404, 405, 413, or a malformedRequest answer"
for p in /crl/sign/../../jpki.db /crl/sign/%2e%2e/config /crl/sign/1x.crl /crl/other/1.crl /ca/x.der /config /jpki.db; do
	expect_eq "GET $p" "$(http GET "$p")" 404
done
expect_eq "DELETE /ca/sign.der" "$(http DELETE /ca/sign.der)" 405
expect_eq "GET /ocsp/sign" "$(http GET /ocsp/sign)" 405
head -c 9000 /dev/zero >"$TMP/big"
expect_eq "POST 9000 bytes" "$(http POST /ocsp/sign "$TMP/big")" 413
printf 'not DER' >"$TMP/junk"
expect_eq "POST junk" "$(http POST /ocsp/sign "$TMP/junk")" 200
openssl ocsp -respin "$TMP/body" -resp_text >"$TMP/v" 2>&1 || true
grep -qi malformedrequest "$TMP/v" || fail "junk: not malformedRequest: $(cat "$TMP/v")"
expect_eq "GET /ocsp/sign/!!" "$(http GET "/ocsp/sign/%21%21")" 200
openssl ocsp -respin "$TMP/body" -resp_text >"$TMP/v" 2>&1 || true
grep -qi malformedrequest "$TMP/v" || fail "bad base64: not malformedRequest: $(cat "$TMP/v")"

check "the port is taken: one line, exit 3; a bad --listen: one line, exit 2"
expect_status 3 serve --listen "127.0.0.1:$PORT"
expect_one_error_line '^jpki: io: cannot listen'
for l in "localhost:80" "127.0.0.1" "127.0.0.1:70000" "[::1:8080"; do
	expect_status 2 serve --listen "$l"
	expect_one_error_line '^jpki: '
done

check "SIGTERM stops it cleanly"
kill -TERM "$SERVER_PID"
rc=0
wait "$SERVER_PID" || rc=$?
SERVER_PID=
expect_eq "jpki serve exit status after SIGTERM" "$rc" 0
grep -q '^jpki: stopped' "$TMP/serve.out" || fail "no 'stopped' line"

done_ok
