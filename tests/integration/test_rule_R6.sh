#!/usr/bin/env bash
# R6: both certificates are valid from issuance until the holder's 5th
# birthday after it (23:59:59 JST), never past the card.  A change of name,
# address, birth date or gender revokes the signing certificate at once
# (affiliationChanged) and leaves the authentication certificate valid;
# death revokes both (cessationOfOperation).  The card's card-info AP is
# updated at the next counter visit (jpki counter update-card); until then
# the card is not current and issuance onto it is refused (R11).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"

init_data
at 2026-04-01T10:00:00+09:00
id=$(add_resident "$(individual_number 10000000006)" "Abe Shin" "東京都清瀬市梅園1-1" 1980-06-15 male)
deliver "$id" "$TMP/card.img"
sign=$(json_get receipt.issued.0.serial)
auth=$(json_get receipt.issued.1.serial)

check "valid until the 5th birthday after issuance, 23:59:59 JST; the card until the 10th"
json_expect "receipt" receipt.issued.0.not_after=2030-06-15T23:59:59+09:00 \
	receipt.issued.1.not_after=2030-06-15T23:59:59+09:00 receipt.card_expiry=2035-06-15
verify_on_card "$TMP/card.img" sign
expect_eq "openssl notAfter" "$(openssl x509 -in "$CERT_PEM" -noout -enddate)" "notAfter=Jun 15 14:59:59 2030 GMT"
at 2030-06-16T00:00:01+09:00
expect_eq "expired the day after" "$(cert_field "$sign" status)" expired
at 2027-01-10T09:00:00+09:00

check "a move revokes the signing certificate only (affiliationChanged)"
ok resident change "$id" --address "東京都清瀬市元町2-2" --clerk "$CLERK"
expect_eq "sign" "$(cert_field "$sign" status)" revoked
expect_eq "sign reason" "$(cert_field "$sign" reason)" affiliationChanged
expect_eq "auth" "$(cert_field "$auth" status)" valid
expect_audit_ok "after the move"

check "the card is not current until updated: issuance refused (R11), nothing changes"
refused '^jpki: refused: R11: card facts are not current' issue --card "$TMP/card.img" --type sign
JPKI_CARDINFO_PIN=5678 ok card info --card "$TMP/card.img" --json
json_expect "card still shows the old address" address="東京都清瀬市梅園1-1"

check "next visit: update-card writes the card-info AP and makes the card current"
counter update-card --card "$TMP/card.img"
json_expect "receipt" receipt.procedure=update-card receipt.total_yen=0
ok card info --card "$TMP/card.img" --json
json_expect "card shows the new address" address="東京都清瀬市元町2-2"
expect_eq "card facts version" "$(sql "SELECT CAST(c.facts_version = r.facts_version AS INTEGER) FROM cards c JOIN residents r ON r.id = c.resident_id")" 1
check "a second update-card has nothing to do (conflict), nothing changes"
refused '^jpki: conflict: card .* already carries' update-card --card "$TMP/card.img"

check "a new signing certificate (R8d), linked to the revoked one"
counter issue --card "$TMP/card.img" --type sign
sign2=$(json_get receipt.issued.0.serial)
expect_eq "link" "$(sql "SELECT kind FROM cert_links WHERE old_serial = '$sign' AND new_serial = '$sign2'")" change

check "a change of name, of birth date, of gender each revoke the signing certificate"
n=0
for change in "--name Abe Shinji" "--birth 1980-06-16" "--gender female"; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	case $change in
	--name*) ok resident change "$id" --name "Abe Shinji" ;;
	*) ok resident change "$id" $change ;;
	esac
	expect_eq "sign after $change" "$(cert_field "$sign2" status)" revoked
	expect_eq "auth after $change" "$(cert_field "$auth" status)" valid
	counter update-card --card "$TMP/card.img"
	counter issue --card "$TMP/card.img" --type sign
	sign2=$(json_get receipt.issued.0.serial)
done

check "death revokes both (cessationOfOperation); nothing more is issued"
ok resident change "$id" --deceased
expect_eq "sign" "$(cert_field "$sign2" reason)" cessationOfOperation
expect_eq "auth" "$(cert_field "$auth" reason)" cessationOfOperation
refused '^jpki: refused: R11: .*deceased' issue --card "$TMP/card.img" --type auth
refused '^jpki: refused: R11: .*deceased' update-card --card "$TMP/card.img"
expect_audit_ok "end"
done_ok
