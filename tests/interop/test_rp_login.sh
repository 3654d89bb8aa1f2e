#!/usr/bin/env bash
# test_rp_login.sh: R5, logging in with the authentication certificate
# through the real HTTP server (`jpki serve`'s /rp/challenge and
# /rp/login) and `jpki login` on the emulated card: the answer names the
# certificate and nothing of the person; each refusal has its own error:
# a replay (nonce-used), a nonce never given (nonce-unknown), an expired
# nonce (nonce-expired), a wrong origin (origin-mismatch), a forged
# signature (bad-signature), a signing certificate offered for login, an
# expired and a revoked authentication certificate (certificate: its
# reason), a malformed body (400).  Nonces live in the store: two requests
# at once with one token log in once, and a restarted server honours a
# nonce given before.  A token built by openssl (Web eID's construction)
# is read like ours.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
export JPKI_SIGN_PASSWORD=HOLDER15 JPKI_AUTH_PIN=1234 JPKI_CARDINFO_PIN=5678
command -v curl >/dev/null || fail "curl is needed"

serve_init
ok counter deliver --resident "$TARO" --out "$TMP/card.img" --clerk clerk-sato --json
SIGN=$(json_get receipt.issued.0.serial)
AUTH=$(json_get receipt.issued.1.serial)
start_server --listen "127.0.0.1:$PORT" --rp

# post FILE: POST FILE to /rp/login; $CODE the HTTP status, $TMP/stdout the body.
post() {
	CODE=$(curl -s -o "$TMP/stdout" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary @"$1" "$BASE/rp/login") ||
		fail "POST $BASE/rp/login: curl could not get an answer ($CODE): $(cat "$TMP/serve.err")"
}
# refused CODE ERROR [REASON]: the last answer was that refusal.
refused() {
	[ "$CODE" = "$1" ] || fail "HTTP $CODE, expected $1: $(cat "$TMP/stdout")"
	json_expect "refusal" result=refused error="$2"
	[ $# -lt 3 ] || json_expect "reason" reason="$3"
}

check "jpki login: logged in as the authentication certificate, no personal facts (R5)"
ok login --card "$TMP/card.img" --url "$BASE" --json --token-out "$TMP/used.json"
json_expect "login" result=ok serial="$AUTH" subject="CN=$AUTH,C=JP" status_source=store
if grep -q "山田\|千代田\|1980\|name\|address\|birth" "$TMP/stdout"; then fail "personal facts in the answer: $OUT"; fi
ok login --card "$TMP/card.img" --url "$BASE/"
expect_eq "text" "$OUT" "logged in as CN=$AUTH,C=JP (serial $AUTH)"

check "a replay of a used token: nonce-used"
post "$TMP/used.json"
refused 401 nonce-used

check "one token posted twice at once logs in once (the store's nonce, two server threads)"
ok login --card "$TMP/card.img" --url "$BASE" --dry-run --token-out "$TMP/twice.json"
pids=()
for i in 1 2 3 4; do
	curl -s -o "$TMP/par$i" -w '%{http_code}\n' -H 'Content-Type: application/json' \
		--data-binary @"$TMP/twice.json" "$BASE/rp/login" >"$TMP/code$i" &
	pids+=($!)
done
wait "${pids[@]}"
expect_eq "logins" "$(cat "$TMP"/code? | grep -c '^200$')" 1
expect_eq "replays" "$(grep -l '"nonce-used"' "$TMP"/par? | wc -l)" 3

check "a nonce given before a restart is honoured after it"
ok login --card "$TMP/card.img" --url "$BASE" --dry-run --token-out "$TMP/restart.json"
stop_server
start_server --listen "127.0.0.1:$PORT" --rp
post "$TMP/restart.json"
[ "$CODE" = 200 ] || fail "after the restart: HTTP $CODE $(cat "$TMP/stdout")"

check "a nonce never given out: nonce-unknown; a forged signature: bad-signature"
"$PYTHON" - "$TMP/used.json" "$TMP/unknown.json" "$TMP/forged.json" <<'PY'
import base64, json, os, sys
t = json.load(open(sys.argv[1]))
u = dict(t, nonce=base64.b64encode(os.urandom(32)).decode())
json.dump(u, open(sys.argv[2], 'w'))
PY
post "$TMP/unknown.json"
refused 401 nonce-unknown
ok login --card "$TMP/card.img" --url "$BASE" --dry-run --token-out "$TMP/fresh.json"
"$PYTHON" - "$TMP/fresh.json" "$TMP/forged.json" <<'PY'
import base64, json, sys
t = json.load(open(sys.argv[1]))
s = bytearray(base64.b64decode(t['signature'])); s[10] ^= 1
t['signature'] = base64.b64encode(bytes(s)).decode()
json.dump(t, open(sys.argv[2], 'w'))
PY
post "$TMP/forged.json"
refused 401 bad-signature

check "signed for another origin: origin-mismatch"
expect_status 1 login --card "$TMP/card.img" --url "$BASE" --origin https://evil.example.com
expect_one_error_line "^jpki: refused: login: HTTP 401: origin-mismatch: signed for https://evil.example.com"

check "malformed bodies: 400, nothing used"
echo '{"certificate": 1}' >"$TMP/bad.json"
post "$TMP/bad.json"
refused 400 malformed
printf '{"a":' >"$TMP/bad.json"
post "$TMP/bad.json"
refused 400 malformed
"$PYTHON" -c 'print("{\"x\": \"" + "A" * 20000 + "\"}")' >"$TMP/big.json"
post "$TMP/big.json"
[ "$CODE" = 413 ] || fail "a body over the bound: HTTP $CODE"

check "a signing certificate offered for login (token built with openssl): certificate, wrong-certificate"
HANA=$(add_resident "$(individual_number 23456789012)" "佐藤 花子" "東京都千代田区丸の内2-3" 1990-04-02 female)
HSIGN=$(issue "$HANA" sign "$TMP/sign.pem")
token() { # CERT KEY OUT: a token made as a Web eID client makes it
	curl -sS -f -X POST "$BASE/rp/challenge" >"$TMP/challenge.json" || fail "POST /rp/challenge: $(cat $TMP/serve.err)"
	"$PYTHON" - "$TMP/challenge.json" "$1" "$2" "$3" "$BASE" <<'PY'
import base64, hashlib, json, subprocess, sys
nonce = json.load(open(sys.argv[1]))['nonce']
der = subprocess.run(['openssl', 'x509', '-in', sys.argv[2], '-outform', 'DER'], check=True, capture_output=True).stdout
data = hashlib.sha256(sys.argv[5].encode()).digest() + hashlib.sha256(nonce.encode()).digest()
sig = subprocess.run(['openssl', 'dgst', '-sha256', '-sign', sys.argv[3]], input=data, check=True, capture_output=True).stdout
json.dump({'certificate': base64.b64encode(der).decode(), 'algorithm': 'RS256', 'signature': base64.b64encode(sig).decode(),
           'format': 'web-eid:1.0', 'nonce': nonce}, open(sys.argv[4], 'w'))
PY
}
token "$TMP/sign.pem" "$TMP/keys/r$HANA-sign.key.pem" "$TMP/signcert.json"
post "$TMP/signcert.json"
refused 401 certificate wrong-certificate
json_get why | grep -q "R5: a signing certificate offered for login" || fail "why: $(json_get why)"

check "an authentication certificate built by openssl's key logs in (the token format is Web eID's)"
HAUTH=$(issue "$HANA" auth "$TMP/hana-auth.pem")
token "$TMP/hana-auth.pem" "$TMP/keys/r$HANA-auth.key.pem" "$TMP/hana.json"
post "$TMP/hana.json"
[ "$CODE" = 200 ] || fail "openssl-made token: HTTP $CODE $(cat "$TMP/stdout")"
json_expect "hana" serial="$HAUTH"

check "an expired nonce: nonce-expired (server clock moved past the 5 minutes)"
stop_server
JPKI_NOW=2026-12-01T10:00:00+09:00 start_server --listen "127.0.0.1:$PORT" --rp
ok login --card "$TMP/card.img" --url "$BASE" --dry-run --token-out "$TMP/old.json"
stop_server
JPKI_NOW=2026-12-01T10:05:01+09:00 start_server --listen "127.0.0.1:$PORT" --rp
post "$TMP/old.json"
refused 401 nonce-expired

check "an expired authentication certificate: certificate, expired"
stop_server
JPKI_NOW=2036-01-01T10:00:00+09:00 start_server --listen "127.0.0.1:$PORT" --rp
expect_status 1 login --card "$TMP/card.img" --url "$BASE" --json
json_expect "expired" error=certificate reason=expired
stop_server
start_server --listen "127.0.0.1:$PORT" --rp

check "a revoked authentication certificate: certificate, revoked"
ok cert revoke "$AUTH" --reason keyCompromise
expect_status 1 login --card "$TMP/card.img" --url "$BASE" --json
json_expect "revoked" error=certificate reason=revoked serial="$AUTH"

check "the relying party answers POST only, and its own routes"
CODE=$(curl -s -o "$TMP/stdout" -w '%{http_code}' "$BASE/rp/challenge")
[ "$CODE" = 405 ] || fail "GET /rp/challenge: HTTP $CODE"
CODE=$(curl -s -o "$TMP/stdout" -w '%{http_code}' -X POST "$BASE/rp/nothing")
[ "$CODE" = 404 ] || fail "POST /rp/nothing: HTTP $CODE"
done_ok
