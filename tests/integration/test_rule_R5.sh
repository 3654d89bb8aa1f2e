#!/usr/bin/env bash
# R5: the authentication certificate is for logging in and carries no
# personal facts: subject C=JP and an opaque CN only, no subjectAltName
# facts, key usage digitalSignature only.  A login challenge signed on the
# card verifies with it.  A holder under 15 gets it (no age limit).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"

init_data
id=$(add_resident "$(individual_number 10000000005)" "Mori Ken" "東京都清瀬市旭が丘5-5" 2015-09-09 male)

check "a 10-year-old gets the authentication certificate only (R8e note on the receipt)"
deliver "$id" "$TMP/card.img"
json_expect "receipt" receipt.issued.0.type=auth
expect_eq "issued" "$(json_get receipt.issued | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))')" 1
json_get receipt.note | grep -q '^R8e: no signing certificate under 15' || fail "no R8e note on the receipt"
auth=$(json_get receipt.issued.0.serial)

check "no personal facts in the authentication certificate"
verify_on_card "$TMP/card.img" auth
subject=$(openssl x509 -in "$CERT_PEM" -noout -subject -nameopt RFC2253)
expect_eq "subject" "$subject" "subject=CN=$auth,C=JP"
openssl x509 -in "$CERT_PEM" -noout -text >"$TMP/auth.txt"
if grep -q "1.2.392.200149.8.5.5" "$TMP/auth.txt"; then
	fail "the authentication certificate carries a fact OID"
fi
if grep -q "旭が丘\|Mori" "$TMP/auth.txt"; then
	fail "the authentication certificate names the holder"
fi
grep -A1 "X509v3 Key Usage" "$TMP/auth.txt" | grep -q "^ *Digital Signature$" ||
	fail "key usage is not digitalSignature alone"

check "a login challenge signed on the card verifies with it"
head -c 32 /dev/urandom >"$TMP/challenge"
openssl x509 -in "$CERT_PEM" -pubkey -noout >"$TMP/auth.pub"
ok card sign --card "$TMP/card.img" --type auth --in "$TMP/challenge" --out "$TMP/sig"
openssl dgst -sha256 -verify "$TMP/auth.pub" -signature "$TMP/sig" "$TMP/challenge" >/dev/null ||
	fail "login signature does not verify"
expect_audit_ok "end"
done_ok
