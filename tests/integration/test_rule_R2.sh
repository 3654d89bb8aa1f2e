#!/usr/bin/env bash
# R2: a forgotten password, or a certificate locked by wrong entries, is
# unlocked at the counter; the holder comes in person with the card.  The
# reset needs the issuer key (a holder cannot do it alone), restores the
# tries and sets a new PIN of the holder's choice, and the identity check is
# recorded with the receipt.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"

init_data
id=$(add_resident "$(individual_number 10000000002)" "Ito Jiro" "東京都清瀬市野塩2-2" 1960-02-02 male)
deliver "$id" "$TMP/card.img"
echo "e-Tax return" >"$TMP/doc"

check "three wrong authentication PINs lock it (63C0, then blocked)"
for left in 2 1 0; do
	JPKI_AUTH_PIN=9999 expect_status 1 card sign --card "$TMP/card.img" --type auth --in "$TMP/doc" --out "$TMP/sig"
done
JPKI_AUTH_PIN=1234 expect_status 1 card sign --card "$TMP/card.img" --type auth --in "$TMP/doc" --out "$TMP/sig"
expect_eq "auth locked" "$(card_status "$TMP/card.img" pins.auth.locked)" true

check "the holder cannot unlock it alone: change-pin is refused while locked"
JPKI_AUTH_PIN=1234 JPKI_NEW_PIN=4321 expect_status 1 card change-pin --card "$TMP/card.img" --type auth
expect_eq "still locked" "$(card_status "$TMP/card.img" pins.auth.locked)" true

check "without the issuer key the counter cannot reset it; nothing changes"
mv "$DATA/issuer-master.key" "$TMP/master.key"
expect_unchanged 2 '^jpki: not-found: issuer master key' counter reset-pin --card "$TMP/card.img" --type auth --clerk "$CLERK"
mv "$TMP/master.key" "$DATA/issuer-master.key"

check "a badly formed new PIN is refused before the card is touched"
JPKI_AUTH_PIN=12a4 expect_unchanged 2 '^jpki: bad-input: .*PIN' counter reset-pin --card "$TMP/card.img" --type auth --clerk "$CLERK"

check "reset at the counter with the holder's passport: tries back to 3, new PIN works"
JPKI_AUTH_PIN=2468 counter reset-pin --card "$TMP/card.img" --type auth --id-doc passport --id-number TR1234567
json_expect "receipt" receipt.procedure=reset-pin receipt.pin_was_locked=true \
	receipt.pins_set='["auth"]' receipt.total_yen=0 receipt.fees.0.item=pin_reset
receipt=$(receipt_get number)
expect_eq "locked" "$(card_status "$TMP/card.img" pins.auth.locked)" false
expect_eq "tries" "$(card_status "$TMP/card.img" pins.auth.tries_left)" 3
JPKI_AUTH_PIN=2468 ok card sign --card "$TMP/card.img" --type auth --in "$TMP/doc" --out "$TMP/sig"
JPKI_AUTH_PIN=1234 expect_status 1 card sign --card "$TMP/card.img" --type auth --in "$TMP/doc" --out "$TMP/sig"

check "the identity check and the reset are recorded"
expect_eq "identity" "$(sql "SELECT holder_doc_type || ':' || holder_doc_number FROM receipts WHERE id = $receipt")" "passport:TR1234567"
expect_eq "pin reset row" "$(sql "SELECT pin_kind || ':' || was_locked FROM pin_resets WHERE receipt_id = $receipt")" "1:1"
expect_eq "audit" "$(sql "SELECT actor || ' ' || action FROM audit ORDER BY seq DESC LIMIT 1")" "$CLERK counter.reset-pin"
expect_audit_ok "after reset"

check "a forgotten signing password (not locked) is reset too; default identity is the card"
JPKI_SIGN_PASSWORD=NEWPASS9 counter reset-pin --card "$TMP/card.img" --type sign
json_expect "receipt" receipt.pin_was_locked=false
expect_eq "identity" "$(sql "SELECT holder_doc_type FROM receipts WHERE id = $(receipt_get number)")" "mynumber-card"
JPKI_SIGN_PASSWORD=newpass9 ok card sign --card "$TMP/card.img" --type sign --in "$TMP/doc" --out "$TMP/sig"

check "the card-info PIN is reset the same way"
JPKI_CARDINFO_PIN=0000 expect_status 1 card info --card "$TMP/card.img"
JPKI_CARDINFO_PIN=1357 counter reset-pin --card "$TMP/card.img" --type cardinfo
JPKI_CARDINFO_PIN=1357 ok card info --card "$TMP/card.img" --json

check "a card reported lost is not reset; nothing changes"
counter report-lost --card "$TMP/card.img"
JPKI_AUTH_PIN=1111 refused '^jpki: refused: R11: .*reported lost' reset-pin --card "$TMP/card.img" --type auth
expect_audit_ok "end"
done_ok
