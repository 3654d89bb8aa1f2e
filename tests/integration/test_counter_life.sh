#!/usr/bin/env bash
# One holder's life at the counter, JPKI_NOW moving through the years (the
# issue's acceptance story): a card delivered at 13 (authentication only),
# the signing certificate at 15, a move (signing revoked, authentication
# valid), the card updated and a new signing certificate, the minor's card
# expiring and a new one (renewal on it refused four months before expiry,
# and two months before because it would not outlive the card: renewal
# itself is test_rule_R9; this data directory's CAs end in 2036 and the CA
# refuses certificates that would outlive it), the card lost and
# reissued with 800 + 200 yen on the receipt, the PIN locked and reset.
# After every step the audit chain verifies and `jpki cert list` agrees.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"

status_of() { cert_field "$1" status; }

init_data
at 2026-04-01T10:00:00+09:00
id=$(add_resident "$(individual_number 20000000001)" "Nakamura Yui" "東京都清瀬市中里1-2-3" 2013-01-20 female)

check "2026, age 13: delivered with the authentication certificate only"
deliver "$id" "$TMP/card.img"
json_expect "delivery" receipt.issued.0.type=auth receipt.card_expiry=2031-01-20 \
	receipt.issued.0.not_after=2031-01-20T23:59:59+09:00
auth=$(json_get receipt.issued.0.serial)
refused '^jpki: refused: R8e: no signing certificate under 15; eligible from 2028-01-20' issue --card "$TMP/card.img" --type sign

check "2028, age 15: the signing certificate"
at 2028-01-20T11:00:00+09:00
counter issue --card "$TMP/card.img" --type sign
sign=$(json_get receipt.issued.0.serial)
json_expect "sign capped by the card" receipt.issued.0.not_after=2031-01-20T23:59:59+09:00

check "2029: moving house revokes the signing certificate, not the authentication one"
at 2029-05-01T10:00:00+09:00
ok resident change "$id" --address "東京都清瀬市松山9-8-7"
expect_eq "sign" "$(status_of "$sign")" revoked
expect_eq "auth" "$(status_of "$auth")" valid
counter update-card --card "$TMP/card.img"
counter issue --card "$TMP/card.img" --type sign
sign=$(json_get receipt.issued.0.serial)

check "2030: renewal refused four months before expiry; later refused as the card ends too"
at 2030-09-20T10:00:00+09:00
refused '^jpki: refused: R9: renewal opens 2030-10-20' renew --card "$TMP/card.img" --type both
at 2030-11-20T10:00:00+09:00
refused '^jpki: refused: R9: renewing the signing certificate would not extend it' renew --card "$TMP/card.img" --type both

check "2031, age 18: the card has expired; a new card, the old one returned"
at 2031-02-01T10:00:00+09:00
refused '^jpki: refused: R11: card expired on 2031-01-20' issue --card "$TMP/card.img" --type sign
deliver "$id" "$TMP/adult.img"
json_expect "adult card" receipt.card_expiry=2041-01-20 receipt.issued.0.not_after=2036-01-20T23:59:59+09:00 \
	receipt.old_card="$(card_status "$TMP/card.img" serial)"
sign=$(json_get receipt.issued.0.serial)
auth=$(json_get receipt.issued.1.serial)

check "2031: the card is lost: both revoked (keyCompromise), a new card for 800 + 200 yen"
at 2031-03-03T10:00:00+09:00
counter report-lost --card "$TMP/adult.img"
expect_eq "sign" "$(cert_field "$sign" reason)" keyCompromise
expect_eq "auth" "$(cert_field "$auth" reason)" keyCompromise
counter reissue --resident "$id" --out "$TMP/card2.img"
json_expect "receipt" receipt.fees.0.yen=800 receipt.fees.1.yen=200 receipt.total_yen=1000 \
	receipt.issued.0.type=sign receipt.issued.1.type=auth
verify_on_card "$TMP/card2.img" sign

check "the signing password locked by five wrong entries, reset at the counter"
echo doc >"$TMP/doc"
for i in 1 2 3 4 5; do
	JPKI_SIGN_PASSWORD=WRONG1 expect_status 1 card sign --card "$TMP/card2.img" --type sign --in "$TMP/doc" --out "$TMP/sig"
done
expect_eq "locked" "$(card_status "$TMP/card2.img" pins.sign.locked)" true
JPKI_SIGN_PASSWORD=RESET2034 counter reset-pin --card "$TMP/card2.img" --type sign
JPKI_SIGN_PASSWORD=reset2034 ok card sign --card "$TMP/card2.img" --type sign --in "$TMP/doc" --out "$TMP/sig"

check "the history: every certificate with its fate"
ok cert list --resident "$id" --json
expect_eq "certificates issued" "$(json_len)" 7
expect_eq "valid now" "$("$PYTHON" -c 'import json,sys; print(sum(c["status"] == "valid" for c in json.load(open(sys.argv[1]))))' "$TMP/stdout")" 2
expect_eq "receipts" "$(sql "SELECT count(*) FROM receipts")" 8
expect_audit_ok "end"
done_ok
