#!/usr/bin/env bash
# The `jpki counter` command line: bad usage exits 2 with one line and
# changes nothing (no card file made, store and audit chain as before);
# PINs never come from the command line; the text receipt; the links
# between old and new certificates (新旧紐付け) for relying parties.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"

init_data
id=$(add_resident "$(individual_number 10000000030)" "Sato Mio" "東京都清瀬市中里3-30" 1980-12-24 female)

check "usage errors: exit 2, one line, nothing changes"
expect_unchanged 2 '^jpki: usage: counter: unknown procedure' counter frobnicate --clerk "$CLERK"
expect_unchanged 2 '^jpki: usage: counter deliver: unknown option' counter deliver --resident "$id" --out "$TMP/c.img" --clerk "$CLERK" --pin 1234
expect_unchanged 2 '^jpki: usage: --resident' counter deliver --resident 0 --out "$TMP/c.img" --clerk "$CLERK"
expect_unchanged 2 '^jpki: usage: --resident: not a number' counter deliver --resident abc --out "$TMP/c.img" --clerk "$CLERK"
expect_unchanged 2 '^jpki: usage: --out CARD is needed' counter deliver --resident "$id" --clerk "$CLERK"
expect_unchanged 2 '^jpki: usage: --type: sign, auth or both' counter issue --card "$TMP/c.img" --type all --clerk "$CLERK"
expect_unchanged 2 '^jpki: usage: --type: sign, auth or cardinfo' counter reset-pin --card "$TMP/c.img" --type pin --clerk "$CLERK"
expect_unchanged 2 '^jpki: not-found: no resident with id 99' counter deliver --resident 99 --out "$TMP/c.img" --clerk "$CLERK"
expect_unchanged 2 '^jpki: bad-input: R10: the clerk who runs the procedure: one line' counter deliver --resident "$id" --out "$TMP/c.img" --clerk "$(printf 'a\tb')"
[ ! -e "$TMP/c.img" ] || fail "a refused delivery left a card file"

check "a PIN of the wrong form is refused before a card is made"
JPKI_AUTH_PIN=12345 expect_unchanged 2 '^jpki: bad-input: ' counter deliver --resident "$id" --out "$TMP/c.img" --clerk "$CLERK"
JPKI_SIGN_PASSWORD=abc expect_unchanged 2 '^jpki: bad-input: ' counter deliver --resident "$id" --out "$TMP/c.img" --clerk "$CLERK"
if command -v setsid >/dev/null 2>&1; then
	# No PIN in the environment and no terminal to ask on (setsid: no
	# controlling terminal even when the test runs from one).
	run setsid -w env -u JPKI_CARDINFO_PIN "$JPKI" counter deliver --resident "$id" --out "$TMP/c.img" --clerk "$CLERK"
	[ "$RC" -eq 2 ] || fail "no card-info PIN: exit $RC, expected 2"
	expect_one_error_line 'JPKI_CARDINFO_PIN is not set'
fi
[ ! -e "$TMP/c.img" ] || fail "a refused delivery left a card file"
grep -q 5678 "$TMP/stderr" && fail "a PIN was echoed"

check "an existing file is never overwritten by a delivery"
echo "not a card" >"$TMP/taken.img"
expect_unchanged 1 '^jpki: conflict: .*already exists' counter deliver --resident "$id" --out "$TMP/taken.img" --clerk "$CLERK"

check "the text receipt"
ok counter deliver --resident "$id" --out "$TMP/card.img" --clerk "$CLERK"
grep -q '^受付番号 receipt 1 ' "$TMP/stdout" || fail "no receipt number: $OUT"
grep -q '個人番号カード交付 (deliver)   clerk clerk-sato' "$TMP/stdout" || fail "no procedure line: $OUT"
grep -Eq '^  issued   sign [0-9A-F]+ valid through 20[0-9-]+$' "$TMP/stdout" || fail "no issued line: $OUT"
grep -Eq '合計 total +0 yen' "$TMP/stdout" || fail "no total: $OUT"
grep -Eq '^  セキュリティコード security code [0-9]{4} ' "$TMP/stdout" || fail "no security code: $OUT"
grep -q 'HOLDER15\|1234\|5678' "$TMP/stdout" && fail "a PIN on the receipt"

check "links: renewal and reissue chains, by serial, as JSON and text"
sign=$(sql "SELECT serial FROM certificates WHERE ca = 1")
at 2030-11-01T10:00:00+09:00
counter renew --card "$TMP/card.img" --type sign
renewed=$(json_get receipt.issued.0.serial)
at 2030-11-02T10:00:00+09:00
counter report-lost --card "$TMP/card.img"
counter reissue --resident "$id" --out "$TMP/card2.img"
third=$(json_get receipt.issued.0.serial)
ok counter links --serial "$renewed" --json
json_expect "links" 0.old="$sign" 0.new="$renewed" 0.kind=renewal 1.old="$renewed" 1.new="$third" 1.kind=reissue
ok counter links --serial "$(echo "$sign" | tr 'A-F' 'a-f')"
grep -q "^$sign -> $renewed  renewal" "$TMP/stdout" || fail "text link: $OUT"
expect_status 2 counter links --serial 00FF
expect_one_error_line '^jpki: not-found: no certificate'

check "recover with nothing to do"
ok counter recover --card "$TMP/card2.img" --json
json_expect "recover" repaired=false
expect_audit_ok "end"
done_ok
