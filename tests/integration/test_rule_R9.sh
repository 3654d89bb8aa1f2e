#!/usr/bin/env bash
# R9: renewal from 3 months before expiry.  Refused four months before
# (naming the date it opens), done two months before: a new key on the
# card, a new certificate, the old one revoked as superseded in the same
# transaction and the link old -> new recorded for relying parties.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"

init_data
at 2026-04-01T10:00:00+09:00
id=$(add_resident "$(individual_number 10000000009)" "Hayashi Go" "東京都清瀬市竹丘2-9" 1970-10-20 male)
deliver "$id" "$TMP/card.img"
sign=$(json_get receipt.issued.0.serial)
auth=$(json_get receipt.issued.1.serial)
json_expect "expiry" receipt.issued.0.not_after=2030-10-20T23:59:59+09:00

check "four months before expiry: refused with the opening date, nothing changes"
at 2030-06-20T10:00:00+09:00
refused '^jpki: refused: R9: renewal opens 2030-07-20 \(3 months before expiry 2030-10-20\)' renew --card "$TMP/card.img" --type sign
refused '^jpki: refused: R9: renewal opens 2030-07-20' renew --card "$TMP/card.img" --type both
check "the day before the window opens: still refused"
at 2030-07-19T23:59:00+09:00
refused '^jpki: refused: R9: renewal opens 2030-07-20' renew --card "$TMP/card.img" --type auth

check "two months before expiry: renewed"
at 2030-08-20T10:00:00+09:00
verify_on_card "$TMP/card.img" sign
openssl x509 -in "$CERT_PEM" -noout -pubkey >"$TMP/old.pub"
counter renew --card "$TMP/card.img" --type sign
json_expect "receipt" receipt.procedure=renew receipt.issued.0.replaces="$sign" \
	receipt.revoked.0.serial="$sign" receipt.revoked.0.reason=superseded \
	receipt.fees.0.item=cert_renew receipt.issued.0.not_after=2034-10-20T23:59:59+09:00
new=$(json_get receipt.issued.0.serial)
receipt=$(receipt_get number)

check "the old certificate is revoked as superseded, the new one valid and on the card"
expect_eq "old" "$(cert_field "$sign" reason)" superseded
expect_eq "new" "$(cert_field "$new" status)" valid
expect_eq "new replaces" "$(cert_field "$new" replaces)" "$sign"
expect_eq "auth untouched" "$(cert_field "$auth" status)" valid
expect_eq "on card" "$(serial_on_card "$TMP/card.img" sign)" "$new"

check "a new key was generated on the card"
verify_on_card "$TMP/card.img" sign
openssl x509 -in "$CERT_PEM" -noout -pubkey >"$TMP/new.pub"
cmp -s "$TMP/old.pub" "$TMP/new.pub" && fail "the renewed certificate has the old key"
printf 'renewed\n' >"$TMP/doc"
ok card sign --card "$TMP/card.img" --type sign --in "$TMP/doc" --out "$TMP/sig"
openssl dgst -sha256 -verify "$TMP/new.pub" -signature "$TMP/sig" "$TMP/doc" >/dev/null || fail "new key does not sign"

check "the link old -> new is recorded with the receipt, in the same transaction as both"
expect_eq "link" "$(sql "SELECT kind || ':' || receipt_id FROM cert_links WHERE old_serial = '$sign' AND new_serial = '$new'")" "renewal:$receipt"
expect_eq "revoked_at = issued_at" "$(sql "SELECT CAST((SELECT revoked_at FROM certificates WHERE serial = '$sign') = (SELECT issued_at FROM certificates WHERE serial = '$new') AS INTEGER)")" 1

check "the renewed certificate cannot be renewed again at once; nothing changes"
refused '^jpki: refused: R9: renewal opens 2034-07-20' renew --card "$TMP/card.img" --type sign
check "renewal of a revoked certificate is refused (issue instead)"
counter renew --card "$TMP/card.img" --type auth
ok resident change "$id" --address "東京都清瀬市竹丘3-3"
counter update-card --card "$TMP/card.img"
refused '^jpki: refused: R9: no valid signing certificate to renew' renew --card "$TMP/card.img" --type sign
check "a certificate that ends with its card cannot be extended by renewal on that card"
at 2026-04-01T10:00:00+09:00
young=$(add_resident "$(individual_number 10000000019)" "Hayashi Mai" "東京都清瀬市竹丘2-9" 2010-01-15 female)
deliver "$young" "$TMP/young.img" --no-sign
json_expect "minor's card: 5 birthdays" receipt.card_expiry=2031-01-15 receipt.issued.0.not_after=2031-01-15T23:59:59+09:00
at 2030-12-01T10:00:00+09:00
refused '^jpki: refused: R9: renewing the authentication certificate would not extend it: the card itself expires 2031-01-15' renew --card "$TMP/young.img" --type auth
expect_audit_ok "end"
done_ok
