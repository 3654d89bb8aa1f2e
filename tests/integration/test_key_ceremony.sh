#!/usr/bin/env bash
# test_key_ceremony.sh: key ceremony basics (issue 9, item 6) and the keys
# of a PKCS#11 token (item 2).  `jpki ca show` names where each of the five
# keys is (a file, or module + token + key id) with the SHA-256 of its
# SubjectPublicKeyInfo, the same figure openssl (file) or pkcs11-tool
# (token) computes from the key itself; a key file that others may read or
# write is refused in one line naming it and its mode, and nothing changes;
# a token's user PIN comes from JPKI_HSM_PIN or --pin-file, never argv; a
# wrong PIN, a missing PIN or a missing token is one line and changes
# nothing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

NAMES="sign-ca sign-ocsp auth-ca auth-ocsp card-issuer"

# spki_of NAME: the "location" and "spki_sha256" of key NAME in `ca show
# --json` (the last command's output), as "LOCATION|SHA256".
spki_of() {
	"$PYTHON" -c 'import json,sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
k = [k for k in d["keys"] if k["key"] == sys.argv[2]]
print(k[0]["location"] + "|" + str(k[0]["spki_sha256"]) if len(k) == 1 else "missing")' "$TMP/stdout" "$1"
}

check "file keys: ca show gives each key's file and the SHA-256 of its SubjectPublicKeyInfo, as openssl computes it"
init_data
ok ca show --json
for k in $NAMES; do
	want=$(openssl pkey -in "$DATA/ca/$k.key" -pubout -outform DER | sha256sum | cut -d' ' -f1 | tr a-f A-F)
	expect_eq "$k" "$(spki_of "$k")" "file $DATA/ca/$k.key|$want"
done
ok ca show
grep -q "^keys$" "$TMP/stdout" || fail "ca show prints no keys section: $OUT"
[ "$(grep -c 'SPKI SHA-256 [0-9A-F]\{64\}$' "$TMP/stdout")" -eq 5 ] || fail "ca show: not five fingerprints: $OUT"

check "a CA key file readable or writable by others is refused, naming it and its mode; nothing changes"
id=$(add_resident "$(individual_number 12345678901)" "山田 太郎" "東京都清瀬市中里五丁目842番地" 1980-12-31 male)
db_snapshot "$TMP/before.sql"
for mode in 0640 0604 0620 0602 0660 0610; do
	chmod "$mode" "$DATA/ca/sign-ca.key"
	expect_status 3 ca issue --resident "$id" --type sign --pubkey "$(pubkey a)" --out "$TMP/x.pem"
	expect_one_error_line "sign-ca\.key: a CA key must be mode 0600 \(it is $mode: (readable|writable|readable, writable|executable) by others than its owner\)"
	[ ! -e "$TMP/x.pem" ] || fail "a refused issuance wrote its output"
done
chmod 0644 "$DATA/ca/sign-ocsp.key"
ok ca export --out "$TMP/ca"
openssl ocsp -issuer "$TMP/ca/sign-ca.pem" -serial 0x01 -no_nonce -reqout "$TMP/q.der" >/dev/null 2>&1 || fail "openssl ocsp -reqout"
expect_status 3 ocsp respond --in "$TMP/q.der" --out "$TMP/r.der"
expect_one_error_line "sign-ocsp\.key: a CA key must be mode 0600 \(it is 0644: readable by others"
expect_store_unchanged "$TMP/before.sql" "keys of the wrong mode"
chmod 0600 "$DATA/ca/sign-ca.key" "$DATA/ca/sign-ocsp.key"
issue "$id" sign "$TMP/sign.pem" >/dev/null

if ! command -v softhsm2-util >/dev/null 2>&1; then
	done_ok
	exit 0
fi

check "PKCS#11: init keeps every key in the token; ca show names module, token and key id, with the token's own public key's fingerprint"
rm -rf "$DATA"
JPKI_TEST_PKCS11=1 init_args
ok init --data "$DATA" "${INIT_ARGS[@]}" --json
json_expect "init --pkcs11" keys=pkcs11
JPKI_TEST_PKCS11=1 expect_keys_in_token
ok ca show --json
for k in $NAMES; do
	kid=$(sed -n "s/^key $k = //p" "$DATA/ca/pkcs11")
	[ -n "$kid" ] || fail "no key $k in $DATA/ca/pkcs11"
	pkcs11-tool --module "$HSM_MODULE" --token-label "$HSM_TOKEN" --read-object --type pubkey \
		--id "$kid" -o "$TMP/$k.pub.der" >/dev/null 2>&1 || fail "pkcs11-tool cannot read the public key $k"
	want=$(openssl pkey -pubin -inform DER -in "$TMP/$k.pub.der" -outform DER | sha256sum | cut -d' ' -f1 | tr a-f A-F)
	expect_eq "$k" "$(spki_of "$k")" "pkcs11 module $HSM_MODULE token $HSM_TOKEN id $kid|$want"
done
id=$(add_resident "$(individual_number 12345678901)" "山田 太郎" "東京都清瀬市中里五丁目842番地" 1980-12-31 male)
issue "$id" sign "$TMP/sign.pem" >/dev/null
ok ca export --out "$TMP/ca2"
openssl verify -CAfile "$TMP/ca2/sign-ca.pem" "$TMP/sign.pem" >/dev/null 2>&1 || fail "a token-signed certificate does not verify"

check "PKCS#11: a wrong PIN, no PIN and no terminal, or no token: one line, nothing changes"
db_snapshot "$TMP/before.sql"
run env JPKI_HSM_PIN=00000000 "$JPKI" ca issue --resident "$id" --type auth --pubkey "$(pubkey b)" --out "$TMP/y.pem"
expect_eq "exit status with a wrong PIN" "$RC" 1
expect_one_error_line "wrong-pin: PKCS#11 token $HSM_TOKEN: wrong user PIN"
if command -v setsid >/dev/null 2>&1; then
	run setsid -w env -u JPKI_HSM_PIN "$JPKI" ca issue --resident "$id" --type auth --pubkey "$(pubkey b)" --out "$TMP/y.pem" </dev/null
	expect_eq "exit status with no PIN" "$RC" 2
	expect_one_error_line "JPKI_HSM_PIN is not set and there is no terminal"
fi
mv "$TMP/softhsm/tokens" "$TMP/softhsm/tokens.away"
mkdir "$TMP/softhsm/tokens"
expect_status 2 ocsp respond --in "$TMP/q.der" --out "$TMP/r.der"
expect_one_error_line "no token labelled '$HSM_TOKEN'"
rmdir "$TMP/softhsm/tokens"
mv "$TMP/softhsm/tokens.away" "$TMP/softhsm/tokens"
[ ! -e "$TMP/y.pem" ] && [ ! -e "$TMP/r.der" ] || fail "a refused command wrote its output"
expect_store_unchanged "$TMP/before.sql" "token refusals"
ok ca show
ok cert show "$(openssl x509 -in "$TMP/sign.pem" -noout -serial | cut -d= -f2)"

check "PKCS#11: the PIN from --pin-file; never from argv; --token needs --pkcs11"
softhsm2-util --init-token --free --label second --pin 2718281828 --so-pin 27182818 >/dev/null
printf '2718281828\n' >"$TMP/pin"
run env -u JPKI_HSM_PIN "$JPKI" init --data "$TMP/d2" --pkcs11 "$HSM_MODULE" --token second --pin-file "$TMP/pin"
[ "$RC" -eq 0 ] || fail "init --pin-file exited $RC: $ERR"
expect_status 2 init --data "$TMP/d3" --pkcs11 "$HSM_MODULE" --token second --pin 2718281828
expect_status 2 init --data "$TMP/d3" --token second
expect_one_error_line "--pkcs11 MODULE.so and --token LABEL go together"
expect_status 2 init --data "$TMP/d3" --pkcs11 "$HSM_MODULE" --token nosuch
expect_one_error_line "no token labelled 'nosuch'"
expect_status 3 init --data "$TMP/d3" --pkcs11 /nonexistent/module.so --token second
expect_one_error_line "PKCS#11 module /nonexistent/module.so"
run env JPKI_HSM_PIN=00000000 "$JPKI" init --data "$TMP/d3" --pkcs11 "$HSM_MODULE" --token second
expect_eq "exit status of init with a wrong PIN" "$RC" 1
expect_one_error_line "wrong user PIN"
[ ! -e "$TMP/d3" ] || fail "a refused init left $TMP/d3 behind: $(ls -A "$TMP/d3")"

done_ok
