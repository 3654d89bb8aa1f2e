#!/usr/bin/env bash
# R3: there are two certificates, the signing certificate and the user
# authentication certificate.  Delivery loads both by default, each with its
# own key generated on the card, its own CA, its own PIN; openssl verifies
# each against the CA `jpki ca export` writes, and the card signs with each
# key what the certificate's public key verifies.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"

init_data
id=$(add_resident "$(individual_number 10000000003)" "Suzuki Hanako" "東京都清瀬市元町1-2-3" 1985-07-20 female)

check "delivery loads the two certificates"
deliver "$id" "$TMP/card.img"
sign=$(json_get receipt.issued.0.serial)
auth=$(json_get receipt.issued.1.serial)
json_expect "receipt" receipt.issued.0.type=sign receipt.issued.1.type=auth \
	receipt.procedure=deliver receipt.clerk="$CLERK"
[ "$sign" != "$auth" ] || fail "one serial for both certificates"

check "jpki cert list shows one sign and one auth certificate, both valid"
ok cert list --resident "$id" --json
expect_eq "count" "$(json_len)" 2
json_expect "cert list" 0.type=sign 0.status=valid 0.reason=null \
	1.type=auth 1.status=valid 1.reason=null 0.serial="$sign" 1.serial="$auth"
"$PYTHON" - "$TMP/stdout" <<'PY' || fail "not_before/not_after are not ISO 8601 with an offset"
import json, re, sys
for c in json.load(open(sys.argv[1])):
    for k in ("not_before", "not_after"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00", c[k]), c[k]
PY

check "each certificate on the card verifies against its own CA (openssl)"
expect_eq "sign on card" "$(serial_on_card "$TMP/card.img" sign)" "$sign"
expect_eq "auth on card" "$(serial_on_card "$TMP/card.img" auth)" "$auth"
ok ca export --out "$TMP/ca2"
verify_on_card "$TMP/card.img" auth
if openssl verify -attime "$(epoch "$JPKI_NOW")" -CAfile "$TMP/ca2/auth-ca.pem" "$CERT_PEM" >/dev/null 2>&1; then
	:
else
	fail "auth certificate does not verify against the auth CA"
fi
verify_on_card "$TMP/card.img" sign
if openssl verify -attime "$(epoch "$JPKI_NOW")" -CAfile "$TMP/ca2/auth-ca.pem" "$CERT_PEM" >/dev/null 2>&1; then
	fail "the signing certificate verified against the authentication CA"
fi

check "the card signs with each key; openssl verifies with the certificate"
echo "申請書 2026" >"$TMP/doc.txt"
for type in sign auth; do
	verify_on_card "$TMP/card.img" "$type"
	openssl x509 -in "$CERT_PEM" -pubkey -noout >"$TMP/$type.pub"
	ok card sign --card "$TMP/card.img" --type "$type" --in "$TMP/doc.txt" --out "$TMP/$type.sig"
	openssl dgst -sha256 -verify "$TMP/$type.pub" -signature "$TMP/$type.sig" "$TMP/doc.txt" >/dev/null ||
		fail "$type signature from the card does not verify"
done

check "the two PINs are separate: auth PIN 3 tries, signing password 5"
expect_eq "auth tries" "$(card_status "$TMP/card.img" pins.auth.tries_left)" 3
expect_eq "sign tries" "$(card_status "$TMP/card.img" pins.sign.tries_left)" 5
expect_eq "cardinfo tries" "$(card_status "$TMP/card.img" pins.cardinfo.tries_left)" 3
expect_audit_ok "end"
done_ok
