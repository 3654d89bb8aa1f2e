#!/usr/bin/env bash
# R10: issuance and renewal are done at the counter.  Every procedure names
# the clerk who ran it (no clerk, no procedure), the receipt and the audit
# log record the clerk, and the card's issuer commands need the issuer key
# that only the counter's data directory holds: the holder with the card
# alone, or another counter, cannot load certificates onto it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"

init_data
id=$(add_resident "$(individual_number 10000000010)" "Ikeda Jun" "東京都清瀬市上清戸1-10" 1988-08-08 male)

check "no clerk: a usage error, nothing changes"
for proc in "deliver --resident $id --out $TMP/x.img" "issue --card $TMP/x.img --type auth" \
	"renew --card $TMP/x.img --type auth" "report-lost --resident $id" \
	"reissue --resident $id --out $TMP/x.img" "reset-pin --card $TMP/x.img --type auth" \
	"update-card --card $TMP/x.img"; do
	# shellcheck disable=SC2086
	expect_unchanged 2 '^jpki: usage: counter .* needs --clerk NAME' counter $proc
done
[ ! -e "$TMP/x.img" ] || fail "a card was made without a clerk"

check "the clerk is on the receipt, in the store and in the audit log"
CLERK="窓口 山田" deliver "$id" "$TMP/card.img" --no-sign
json_expect "receipt" receipt.clerk="窓口 山田"
expect_eq "stored" "$(sql "SELECT clerk FROM receipts")" "窓口 山田"
ok audit list --json
"$PYTHON" - "$TMP/stdout" <<'PY' || fail "audit entries of the delivery are not by the clerk"
import json, sys
doc = json.load(open(sys.argv[1]))
entries = doc["entries"] if isinstance(doc, dict) else doc
mine = [e for e in entries if e["action"] in ("counter.deliver", "cert.issue")]
assert len(mine) == 2, mine
assert all(e["actor"] == "窓口 山田" for e in mine), mine
PY

check "another counter (another issuer key) cannot load certificates onto this card"
ok init --data "$TMP/other"
JPKI_DATA=$TMP/other expect_status 2 counter issue --card "$TMP/card.img" --type sign --clerk "$CLERK"
# The other counter works on this store (its database, or a copy of the file).
if on_postgresql; then
	sed -i "s|^database = .*|database = $(db_url)|" "$TMP/other/config"
else
	cp "$DATA/jpki.db" "$TMP/other/jpki.db"
fi
cp "$TMP/card.img" "$TMP/copy.img"
JPKI_DATA=$TMP/other expect_unchanged 1 '^jpki: verify-failed: card .* refused the issuer key' counter issue --card "$TMP/card.img" --type sign --clerk "$CLERK"
cmp -s "$TMP/card.img" "$TMP/copy.img" || fail "the card changed"

check "the holder's own tools have no way to load a certificate: the card stays without one"
expect_eq "sign cert" "$(card_status "$TMP/card.img" certificates.sign)" false

check "at the counter, with the clerk, it works"
counter issue --card "$TMP/card.img" --type sign
verify_on_card "$TMP/card.img" sign
expect_audit_ok "end"
done_ok
