#!/usr/bin/env bash
# R4: the signing certificate carries the four facts (name, address, date
# of birth, gender) as the register has them when it is issued, and proves
# a document was made by the holder: the card signs, openssl verifies with
# the certificate.  After a move the new signing certificate carries the
# new address, and so does the card-info AP once the card is updated.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"

init_data
id=$(add_resident "$(individual_number 10000000004)" "Tanaka Yoko" "東京都清瀬市松山3-4-5" 1985-07-20 female)
deliver "$id" "$TMP/card.img"
sign=$(json_get receipt.issued.0.serial)

check "the four facts in the signing certificate (jpki cert show)"
ok cert show "$sign" --json
json_expect "facts" facts.name="Tanaka　Yoko" facts.address="東京都清瀬市松山3-4-5" \
	facts.birth=319850720 facts.gender=2 type=sign

check "openssl sees the facts as otherName UTF8Strings under 1.2.392.200149.8.5.5"
verify_on_card "$TMP/card.img" sign
openssl x509 -in "$CERT_PEM" -noout -text >"$TMP/sign.txt"
grep -q "1.2.392.200149.8.5.5.5" "$TMP/sign.txt" || fail "no address OID in the signing certificate"
grep -q "1.2.392.200149.8.5.5.1" "$TMP/sign.txt" || fail "no name OID in the signing certificate"
grep -q "Digital Signature, Non Repudiation" "$TMP/sign.txt" || fail "key usage is not digitalSignature + nonRepudiation"

check "a document signed on the card verifies with the signing certificate"
printf 'application for e-Tax\n' >"$TMP/doc"
openssl x509 -in "$CERT_PEM" -pubkey -noout >"$TMP/sign.pub"
ok card sign --card "$TMP/card.img" --type sign --in "$TMP/doc" --out "$TMP/doc.sig"
openssl dgst -sha256 -verify "$TMP/sign.pub" -signature "$TMP/doc.sig" "$TMP/doc" >/dev/null ||
	fail "signature does not verify"
printf 'application for e-Tax (altered)\n' >"$TMP/doc2"
if openssl dgst -sha256 -verify "$TMP/sign.pub" -signature "$TMP/doc.sig" "$TMP/doc2" >/dev/null 2>&1; then
	fail "an altered document verified"
fi

check "the card-info AP holds the same facts"
ok card info --card "$TMP/card.img" --json
json_expect "card info" address="東京都清瀬市松山3-4-5" birth=19850720 sex=2 name="Tanaka　Yoko" issuer_signature=verified

check "after a move: update the card, a new signing certificate with the new address"
at 2027-06-01T10:00:00+09:00
ok resident change "$id" --address "東京都清瀬市竹丘1-1-1"
counter update-card --card "$TMP/card.img"
counter issue --card "$TMP/card.img" --type sign
new=$(json_get receipt.issued.0.serial)
ok cert show "$new" --json
json_expect "new facts" facts.address="東京都清瀬市竹丘1-1-1" facts.name="Tanaka　Yoko"
ok card info --card "$TMP/card.img" --json
json_expect "card info after update" address="東京都清瀬市竹丘1-1-1"
expect_eq "on card" "$(serial_on_card "$TMP/card.img" sign)" "$new"
expect_audit_ok "end"
done_ok
