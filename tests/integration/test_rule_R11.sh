#!/usr/bin/env bash
# R11: in person the holder brings the card, valid and with current name
# and address, and the identity check is recorded.  Refused, each naming
# R11 and changing nothing (store, audit chain, card image byte for byte):
# an expired card, a card whose facts are not current, a lost card, a
# deceased holder, a holder moved away (転出: every procedure on the card
# but a loss report is the new municipality's).  The holder's identity
# document is on the receipt.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"

init_data
at 2026-04-01T10:00:00+09:00
id=$(add_resident "$(individual_number 10000000011)" "Ueda Kaori" "東京都清瀬市梅園3-11" 1995-11-11 female)
deliver "$id" "$TMP/card.img" --no-sign
expiry=$(json_get receipt.card_expiry)
expect_eq "card expiry" "$expiry" 2035-11-11

check "with the card and a driving licence: issued, and the check recorded"
counter issue --card "$TMP/card.img" --type sign --id-doc driving-licence --id-number 301234567890
expect_eq "identity" "$(sql "SELECT holder_doc_type || ':' || holder_doc_number FROM receipts WHERE id = $(receipt_get number)")" "driving-licence:301234567890"
expect_eq "default identity at delivery" "$(sql "SELECT holder_doc_type FROM receipts WHERE id = 1")" mynumber-card

check "facts not current (name changed): refused until the card is updated"
ok resident change "$id" --name "Ueda Kaoru"
refused '^jpki: refused: R11: card facts are not current' issue --card "$TMP/card.img" --type sign
refused '^jpki: refused: R11: card facts are not current' renew --card "$TMP/card.img" --type auth
counter update-card --card "$TMP/card.img"
counter issue --card "$TMP/card.img" --type sign

check "an expired card: refused the day after its expiry date, allowed on it"
at "${expiry}T23:00:00+09:00"
ok resident change "$id" --address "東京都清瀬市梅園3-12"
counter update-card --card "$TMP/card.img"
at "$(date -d "$expiry + 1 day" +%Y-%m-%d)T09:00:00+09:00"
refused "^jpki: refused: R11: card expired on $expiry" issue --card "$TMP/card.img" --type sign

check "a lost card: refused"
at 2031-01-01T10:00:00+09:00
counter report-lost --card "$TMP/card.img"
refused '^jpki: refused: R11: the card is not usable \(lost' issue --card "$TMP/card.img" --type auth
refused '^jpki: refused: R11: .*reported lost' update-card --card "$TMP/card.img"

check "a deceased holder: refused, and no new card either"
ok resident change "$id" --deceased
refused '^jpki: refused: R11: .*deceased' reissue --resident "$id" --out "$TMP/new.img"
[ ! -e "$TMP/new.img" ] || fail "a card was made for a deceased holder"

check "a holder moved away (転出): issue, renew, PIN reset, card update and a new card refused; a loss report still taken"
id2=$(add_resident "$(individual_number 10000000022)" "Kato Ren" "東京都清瀬市梅園3-12" 1990-06-06 male)
deliver "$id2" "$TMP/card2.img" --no-sign
ok resident change "$id2" --moved-away
refused '^jpki: refused: R11: .*moved away' issue --card "$TMP/card2.img" --type sign
refused '^jpki: refused: R11: .*moved away' renew --card "$TMP/card2.img" --type auth
JPKI_AUTH_PIN=2468 refused '^jpki: refused: R11: .*moved away' reset-pin --card "$TMP/card2.img" --type auth
refused '^jpki: refused: R11: .*moved away' update-card --card "$TMP/card2.img"
counter report-lost --card "$TMP/card2.img"
refused '^jpki: refused: R11: .*moved away' reissue --resident "$id2" --out "$TMP/new2.img"
[ ! -e "$TMP/new2.img" ] || fail "a card was made for a holder who moved away"

check "bad identity input is refused at the edge"
expect_unchanged 2 '^jpki: (bad-input|usage): (--id-doc|R11: the holder.s identity document type)' counter issue --clerk "$CLERK" --card "$TMP/card.img" --type sign --id-doc ""
expect_audit_ok "end"
done_ok
