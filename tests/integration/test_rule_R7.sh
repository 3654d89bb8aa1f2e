#!/usr/bin/env bash
# R7: a lost card's certificates are revoked at once (keyCompromise) and
# the card is marked lost; the reissued card costs 800 yen and the
# certificates on it 200 yen, and the receipt lists both.  The certificates
# lost with the old card are linked to their successors.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"

init_data
id=$(add_resident "$(individual_number 10000000007)" "Ogawa Rin" "東京都清瀬市下宿1-7" 1992-03-03 female)
deliver "$id" "$TMP/card.img"
json_expect "delivery is free" receipt.total_yen=0
sign=$(json_get receipt.issued.0.serial)
auth=$(json_get receipt.issued.1.serial)

check "reissue while the card is still active is refused; nothing changes"
refused '^jpki: refused: resident .* already holds card' reissue --resident "$id" --out "$TMP/new.img"
[ ! -e "$TMP/new.img" ] || fail "a refused reissue wrote a card"

check "report-lost by resident: both certificates keyCompromise, the card lost"
at 2026-08-01T15:00:00+09:00
counter report-lost --resident "$id"
json_expect "receipt" receipt.procedure=report-lost receipt.total_yen=0 \
	receipt.revoked.0.reason=keyCompromise receipt.revoked.1.reason=keyCompromise
expect_eq "sign" "$(cert_field "$sign" reason)" keyCompromise
expect_eq "auth" "$(cert_field "$auth" reason)" keyCompromise
expect_eq "card status" "$(sql "SELECT status FROM cards")" 2
ok cert list --resident "$id" --json
json_expect "revoked_at is now" 0.revoked_at=2026-08-01T15:00:00+09:00

check "a second report, and any procedure on the lost card, are refused; nothing changes"
expect_unchanged 2 '^jpki: not-found: resident .* holds no active card' counter report-lost --clerk "$CLERK" --resident "$id"
refused '^jpki: conflict: card .* already reported lost' report-lost --card "$TMP/card.img"
refused '^jpki: refused: R11: .*not usable' issue --card "$TMP/card.img" --type auth

check "reissue: a new card, 800 + 200 yen on the receipt"
at 2026-08-05T10:00:00+09:00
counter reissue --resident "$id" --out "$TMP/new.img"
json_expect "fees" receipt.procedure=reissue receipt.fees.0.item=card_reissue receipt.fees.0.yen=800 \
	receipt.fees.1.item=certs_on_reissued_card receipt.fees.1.yen=200 receipt.total_yen=1000
old_card=$(json_get receipt.old_card)
new_card=$(json_get receipt.card)
[ "$old_card" != "$new_card" ] || fail "the reissued card has the old serial"
new_sign=$(json_get receipt.issued.0.serial)
new_auth=$(json_get receipt.issued.1.serial)
expect_eq "fee lines stored" "$(sql "SELECT item || '=' || yen FROM receipt_lines WHERE receipt_id = $(receipt_get number) ORDER BY line" | paste -sd,)" "card_reissue=800,certs_on_reissued_card=200"
expect_eq "total stored" "$(sql "SELECT total_yen FROM receipts WHERE id = $(receipt_get number)")" 1000

check "the text receipt shows both fees and the total"
ok counter report-lost --resident "$id" --clerk "$CLERK"
grep -q "card_reissue" "$TMP/stdout" && fail "report-lost charged a reissue fee"
at 2026-08-06T10:00:00+09:00
ok counter reissue --resident "$id" --out "$TMP/third.img" --clerk "$CLERK"
grep -Eq '個人番号カード再交付手数料 \(card_reissue\) +800 yen' "$TMP/stdout" || fail "no 800 yen line: $OUT"
grep -Eq '\(certs_on_reissued_card\) +200 yen' "$TMP/stdout" || fail "no 200 yen line: $OUT"
grep -Eq '合計 total +1000 yen' "$TMP/stdout" || fail "no total: $OUT"

check "a reissue without certificates charges the card fee only"
ok counter report-lost --resident "$id" --clerk "$CLERK"
counter reissue --resident "$id" --out "$TMP/fourth.img" --no-sign --no-auth
json_expect "fees" receipt.fees.0.yen=800 receipt.total_yen=800

check "the new certificates verify and are linked to the lost ones"
verify_on_card "$TMP/new.img" sign
expect_eq "links" "$(sql "SELECT count(*) FROM cert_links WHERE kind = 'reissue' AND ((old_serial = '$sign' AND new_serial = '$new_sign') OR (old_serial = '$auth' AND new_serial = '$new_auth'))")" 2
expect_audit_ok "end"
done_ok
