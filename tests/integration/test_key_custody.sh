#!/usr/bin/env bash
# test_key_custody.sh: which commands load which private keys.  Only the
# commands that issue, revoke or publish CRLs open the CA keys; `jpki ocsp
# respond` and `jpki serve` open the OCSP responder keys and nothing else;
# every other command opens no key at all.  Shown from outside: with a key
# file moved away, a command that needs it fails naming it (and changes
# nothing), and a command that does not need it works as before.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

init_data
id=$(add_resident "$(individual_number 12345678901)" "山田 太郎" "東京都清瀬市中里五丁目842番地" 1980-12-31 male)
serial=$(issue "$id" sign "$TMP/sign.pem")
ok ca export --out "$TMP/ca"
openssl ocsp -issuer "$TMP/ca/sign-ca.pem" -cert "$TMP/sign.pem" -no_nonce \
	-reqout "$TMP/q.der" >/dev/null 2>&1 || fail "openssl ocsp -reqout"

hide() { for k in "$@"; do mv "$DATA/ca/$k.key" "$DATA/ca/$k.key.away"; done; }
restore() { for f in "$DATA"/ca/*.key.away; do [ -e "$f" ] && mv "$f" "${f%.away}"; done; return 0; }

# Commands that sign nothing: no key at all.
readers=(
	"audit verify" "audit list" "resident list" "resident show $id"
	"cert show $serial" "cert list --resident $id"
	"counter links --serial $serial" "ca show" "ca export --out $TMP/ca2"
)

check "with no private key in the data directory, every reading command works"
hide sign-ca auth-ca sign-ocsp auth-ocsp
for cmd in "${readers[@]}"; do
	# shellcheck disable=SC2086
	ok $cmd
done
restore

check "ocsp respond and serve answer with the CA keys gone (responder keys only)"
hide sign-ca auth-ca
ok ocsp respond --in "$TMP/q.der" --out "$TMP/r.der"
openssl ocsp -respin "$TMP/r.der" -CAfile "$TMP/ca/sign-ca.pem" -resp_text \
	>"$TMP/ocsp.out" 2>&1 || fail "openssl ocsp -respin: $(cat "$TMP/ocsp.out")"
grep -q 'Response verify OK' "$TMP/ocsp.out" || fail "the answer does not verify: $(cat "$TMP/ocsp.out")"
grep -q 'Cert Status: good' "$TMP/ocsp.out" || fail "the answer is not good: $(cat "$TMP/ocsp.out")"
PORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$JPKI" serve --listen "127.0.0.1:$PORT" >"$TMP/serve.out" 2>"$TMP/serve.err" &
pid=$!
for _ in $(seq 1 100); do
	grep -q '^jpki: serving' "$TMP/serve.out" 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || fail "jpki serve exited without the CA keys: $(cat "$TMP/serve.err")"
	sleep 0.05
done
openssl ocsp -issuer "$TMP/ca/sign-ca.pem" -cert "$TMP/sign.pem" -url "http://127.0.0.1:$PORT/ocsp/sign" \
	-CAfile "$TMP/ca/sign-ca.pem" >"$TMP/ocsp.out" 2>&1 || fail "openssl ocsp -url: $(cat "$TMP/ocsp.out")"
grep -Eq '(: |^)good$' "$TMP/ocsp.out" || fail "serve's answer is not good: $(cat "$TMP/ocsp.out")"
kill "$pid"
wait "$pid" 2>/dev/null || true
restore

check "ocsp respond and serve need the responder keys, and say which"
hide sign-ocsp
expect_status 3 ocsp respond --in "$TMP/q.der" --out "$TMP/r2.der"
expect_one_error_line 'sign-ocsp\.key'
[ ! -e "$TMP/r2.der" ] || fail "a failed ocsp respond wrote its output"
expect_status 3 serve --listen 127.0.0.1:0
expect_one_error_line 'sign-ocsp\.key'
restore

check "issuing, revoking and CRLs need the CA keys, and change nothing without them"
db_snapshot "$TMP/before.sql"
hide sign-ca
for cmd in "ca issue --resident $id --type auth --pubkey $(pubkey other) --out $TMP/x.pem" \
	"cert revoke $serial --reason keyCompromise" "crl generate --type sign" \
	"resident change $id --address 東京都清瀬市元町一丁目4番17号"; do
	# shellcheck disable=SC2086
	jpki $cmd
	[ "$RC" -eq 3 ] || fail "jpki $cmd exited $RC without the signing CA key, expected 3"
	expect_one_error_line 'sign-ca\.key'
done
expect_store_unchanged "$TMP/before.sql" "commands refused for want of a key"
restore

check "issuing and revoking do not need the responder keys"
hide sign-ocsp auth-ocsp
issue "$id" auth "$TMP/auth.pem" >/dev/null
ok cert revoke "$serial" --reason keyCompromise
ok crl generate --type sign
restore
expect_audit_ok "after the key custody checks"

done_ok
