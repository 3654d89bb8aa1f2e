#!/usr/bin/env bash
# test_receipt_pdf.sh: the fee receipt as paper (R7).  A reissue's receipt
# written by the procedure (--receipt-pdf) and again from the store
# (`counter receipt --out`) shows the same text: the holder's name, the
# procedure, 800 + 200 = 1,000 yen, in an embedded Noto Sans CJK font, and
# not the individual number; a free procedure says it cost nothing; a
# receipt that does not exist is one error line and no file.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"

for tool in pdftotext pdffonts pdfinfo; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool is needed (poppler-utils)"
done

# text PDF: the PDF's text line by line as laid out, without spaces.
text() {
	pdftotext -layout "$1" - | sed 's/[ 　]//g' | grep -v '^$'
}

init_data
number=$(individual_number 10000000007)
id=$(add_resident "$number" "小川 凛" "東京都清瀬市下宿1-7" 1992-03-03 female)

check "delivery: the receipt PDF says no fee was charged"
at 2026-08-01T10:00:00+09:00
deliver "$id" "$TMP/card.img" --receipt-pdf "$TMP/deliver.pdf"
[ -s "$TMP/deliver.pdf" ] || fail "no receipt PDF written"
text "$TMP/deliver.pdf" >"$TMP/deliver.txt"
grep -q 'この手続きに手数料はかかりません' "$TMP/deliver.txt" || fail "the free receipt does not say so: $(cat "$TMP/deliver.txt")"
grep -q '合計0円' "$TMP/deliver.txt" || fail "no zero total"
! grep -q '領収しました' "$TMP/deliver.txt" || fail "a free receipt acknowledges a payment"

check "reissue after loss: the procedure's receipt PDF shows the holder, 800 + 200 = 1,000 yen"
counter report-lost --resident "$id"
at 2026-08-05T10:00:00+09:00
counter reissue --resident "$id" --out "$TMP/new.img" --receipt-pdf "$TMP/reissue.pdf"
n=$(receipt_get number)
card=$(receipt_get card)
text "$TMP/reissue.pdf" >"$TMP/reissue.txt"
for want in '手数料領収書兼受付票' '小川凛様' '受付番号'"$n" 'カード'"$card" \
	'個人番号カード再交付手数料（card_reissue）800円' \
	'（certs_on_reissued_card）200円' '合計1,000円' '上記の金額を領収しました' "担当$CLERK"; do
	grep -qF -- "$want" "$TMP/reissue.txt" || fail "the receipt PDF lacks '$want': $(cat "$TMP/reissue.txt")"
done
! grep -q "$number" "$TMP/reissue.txt" || fail "the individual number is printed on the receipt"
pdfinfo "$TMP/reissue.pdf" >"$TMP/info"
grep -Eq '^Pages: +1$' "$TMP/info" || fail "not one page: $(cat "$TMP/info")"
grep -Eq '^Page size: +595\.2[0-9]* x 841\.8[0-9]* pts \(A4\)' "$TMP/info" || fail "not A4: $(cat "$TMP/info")"
pdffonts "$TMP/reissue.pdf" >"$TMP/fonts"
grep -q 'NotoSansCJK' "$TMP/fonts" || fail "not in Noto Sans CJK: $(cat "$TMP/fonts")"
if tail -n +3 "$TMP/fonts" | awk '{ print $(NF-4) }' | grep -qx no; then
	fail "a font is not embedded: $(cat "$TMP/fonts")"
fi

check "the same receipt from the store (counter receipt --out) says the same"
ok counter receipt --number "$n" --out "$TMP/again.pdf" --json
json_expect "answer" receipt="$n" pdf="$TMP/again.pdf"
expect_eq "text" "$(text "$TMP/again.pdf")" "$(cat "$TMP/reissue.txt")"

check "the PDF has the config's document mode (0600), whatever the umask"
expect_eq "mode" "$(stat -c %a "$TMP/again.pdf")" 600
(umask 0; ok counter receipt --number "$n" --out "$TMP/umask.pdf")
expect_eq "mode under umask 0" "$(stat -c %a "$TMP/umask.pdf")" 600

check "bad input: one error line, no file, and a file already there as it was"
expect_status 2 counter receipt --number 999999 --out "$TMP/none.pdf"
expect_one_error_line '^jpki: not-found: '
[ ! -e "$TMP/none.pdf" ] || fail "a missing receipt left a file"
printf 'keep me\n' >"$TMP/kept.pdf"
expect_status 2 counter receipt --number 999999 --out "$TMP/kept.pdf"
expect_one_error_line '^jpki: not-found: '
expect_eq "kept" "$(cat "$TMP/kept.pdf")" "keep me"
expect_status 3 counter receipt --number "$n" --out "$TMP/no-such-dir/r.pdf"
expect_one_error_line '^jpki: io: '
ls "$TMP"/*.tmp >/dev/null 2>&1 && fail "a temporary was left: $(ls "$TMP"/*.tmp)"
expect_status 2 counter receipt --number x --out "$TMP/none.pdf"
expect_one_error_line '^jpki: '
expect_status 2 counter receipt --number "$n"
expect_one_error_line '--out FILE'
expect_status 2 counter links --serial 01 --receipt-pdf "$TMP/none.pdf"
expect_one_error_line 'receipt-pdf'
[ ! -e "$TMP/none.pdf" ] || fail "a refused command left a file"
expect_audit_ok "end"
done_ok
