#!/usr/bin/env bash
# R8: certificates are loaded by default when the card is made; at the
# counter these may apply: (a) opted out when applying, want them at
# delivery; (b) opted out at delivery, want them later within the card's
# validity; (c) got one of the two, want the other; (d) signing certificate
# revoked by a move, want a new one; (e) under 15 at delivery (no signing
# certificate then), now 15.  What the rules refuse is refused with the
# rule named, and changes nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"

init_data
at 2026-04-01T10:00:00+09:00
a=$(add_resident "$(individual_number 10000000081)" "Aoki Akira" "東京都清瀬市中清戸1-1" 1975-01-01 male)
b=$(add_resident "$(individual_number 10000000082)" "Baba Bunta" "東京都清瀬市中清戸2-2" 1976-02-02 male)
c=$(add_resident "$(individual_number 10000000083)" "Chiba Chie" "東京都清瀬市中清戸3-3" 1977-03-03 female)
d=$(add_resident "$(individual_number 10000000084)" "Doi Daiki" "東京都清瀬市中清戸4-4" 1978-04-04 male)
e=$(add_resident "$(individual_number 10000000085)" "Endo Emi" "東京都清瀬市中清戸5-5" 2012-09-10 female)

check "(a) delivery loads both by default"
deliver "$a" "$TMP/a.img"
json_expect "a" receipt.issued.0.type=sign receipt.issued.1.type=auth receipt.fees.1.item=cert_issue
expect_eq "a sign on card" "$(card_status "$TMP/a.img" certificates.sign)" true
expect_eq "a auth on card" "$(card_status "$TMP/a.img" certificates.auth)" true

check "(b) opted out at delivery: no certificates, no PINs for them"
deliver "$b" "$TMP/b.img" --no-sign --no-auth
expect_eq "b issued" "$(json_get receipt.issued)" "[]"
expect_eq "b sign pin" "$(card_status "$TMP/b.img" pins_initialised.sign)" false
expect_eq "b cardinfo pin" "$(card_status "$TMP/b.img" pins_initialised.cardinfo)" true
check "(b) later, within the card's validity, both at the counter"
at 2029-12-01T10:00:00+09:00
counter issue --card "$TMP/b.img" --type both
json_expect "b" receipt.procedure=issue receipt.issued.0.type=sign receipt.issued.1.type=auth
verify_on_card "$TMP/b.img" sign
expect_eq "b sign PIN tries" "$(card_status "$TMP/b.img" pins.sign.tries_left)" 5
check "(b) after the card's expiry: refused (R11), nothing changes"
deliver "$(add_resident "$(individual_number 10000000086)" "Baba Bun" "東京都清瀬市中清戸6-6" 1990-01-01 male)" "$TMP/b2.img" --no-sign --no-auth
expiry=$(json_get receipt.card_expiry)
at "$(date -d "$expiry + 1 day" +%Y-%m-%d)T09:00:00+09:00"
refused "^jpki: refused: R11: card expired on $expiry" issue --card "$TMP/b2.img" --type auth

at 2026-04-02T10:00:00+09:00
check "(c) only the authentication certificate at delivery, the signing one later"
deliver "$c" "$TMP/c.img" --no-sign
json_expect "c" receipt.issued.0.type=auth
refused '^jpki: refused: R8: a valid authentication certificate is already on the card' issue --card "$TMP/c.img" --type both
refused '^jpki: refused: R8: a valid authentication certificate' issue --card "$TMP/c.img" --type auth
counter issue --card "$TMP/c.img" --type sign
json_expect "c sign" receipt.issued.0.type=sign
refused '^jpki: refused: R8: a valid signing certificate' issue --card "$TMP/c.img" --type sign

check "(d) signing certificate revoked by a move: a new one after the card update"
deliver "$d" "$TMP/d.img"
old=$(json_get receipt.issued.0.serial)
ok resident change "$d" --address "東京都清瀬市旭が丘9-9"
refused '^jpki: refused: R11: card facts are not current' issue --card "$TMP/d.img" --type sign
counter update-card --card "$TMP/d.img"
counter issue --card "$TMP/d.img" --type sign
new=$(json_get receipt.issued.0.serial)
expect_eq "d link" "$(sql "SELECT kind FROM cert_links WHERE old_serial = '$old' AND new_serial = '$new'")" change

check "(e) delivered at 13: authentication only, the receipt says from when"
deliver "$e" "$TMP/e.img"
json_expect "e" receipt.issued.0.type=auth
json_get receipt.note | grep -q 'R8e: no signing certificate under 15; eligible from 2027-09-10' ||
	fail "no R8e note: $(json_get receipt.note)"
check "(e) at 14 the signing certificate is refused (R8e), nothing changes"
at 2027-09-09T16:00:00+09:00
refused '^jpki: refused: R8e: no signing certificate under 15; eligible from 2027-09-10' issue --card "$TMP/e.img" --type sign
check "(e) on the 15th birthday it is issued"
at 2027-09-10T09:00:00+09:00
counter issue --card "$TMP/e.img" --type sign
json_expect "e sign" receipt.issued.0.type=sign
verify_on_card "$TMP/e.img" sign

check "a blank card the counter never delivered is not used; nothing changes"
ok card new --out "$TMP/blank.img"
expect_unchanged 2 '^jpki: not-found: card .* is not registered' counter issue --clerk "$CLERK" --card "$TMP/blank.img" --type auth
expect_audit_ok "end"
done_ok
