#!/usr/bin/env bash
# R1: certificates on the old Basic Resident Register (Juki) card have
# ended; only My Number cards get them.  The counter refuses a Juki card for
# issuance and renewal, naming R1, and changes nothing; a My Number card of
# the same holder gets them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"

init_data
id=$(add_resident "$(individual_number 10000000001)" "Kato Ichiro" "東京都清瀬市中里1-1" 1970-01-10 male)

check "a Juki card image exists (jpki card new --kind juki)"
ok card new --kind juki --out "$TMP/juki.img" --json
json_expect "juki card" kind=juki

check "issuance onto a Juki card is refused with R1, nothing changes"
refused '^jpki: refused: R1: .*Juki.*only My Number cards' issue --card "$TMP/juki.img" --type auth
refused '^jpki: refused: R1: ' issue --card "$TMP/juki.img" --type both
check "renewal on a Juki card is refused with R1, nothing changes"
refused '^jpki: refused: R1: ' renew --card "$TMP/juki.img" --type sign

check "the Juki card has no certificates"
expect_eq "juki sign cert" "$(card_status "$TMP/juki.img" certificates.sign)" false
expect_eq "juki auth cert" "$(card_status "$TMP/juki.img" certificates.auth)" false

check "a My Number card for the same holder gets both"
deliver "$id" "$TMP/card.img"
json_expect "receipt" receipt.issued.0.type=sign receipt.issued.1.type=auth
verify_on_card "$TMP/card.img" sign
verify_on_card "$TMP/card.img" auth
expect_audit_ok "after delivery"
done_ok
