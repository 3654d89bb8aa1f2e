#!/usr/bin/env bash
# test_notices_pdf.sh: the expiry notice renders.  Page 1 (the notice,
# addressed to the holder) turned into an image with pdftoppm is not
# blank, page 2 carries the inquiry/response form with its number and a
# check code, the Japanese text is in an embedded Noto Sans CJK font
# (pdffonts), the check code is nowhere in the store, and on a terminal
# the run draws a progress bar (none when stderr is not a terminal).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

for tool in pdftoppm pdffonts pdftotext pdfinfo sqlite3; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool is needed (poppler-utils, sqlite3)"
done
[ -n "$PYTHON" ] || fail "python3 is needed to count pixels"

# ink FILE.pgm: the share of non-white pixels, in per mille.
ink() {
	"$PYTHON" - "$1" <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
# P5 header: magic, width, height, maxval, each followed by whitespace.
fields, pos = [], 0
while len(fields) < 4:
    while data[pos:pos + 1].isspace():
        pos += 1
    end = pos
    while not data[end:end + 1].isspace():
        end += 1
    fields.append(data[pos:end])
    pos = end
pos += 1
assert fields[0] == b"P5", fields[0]
w, h = int(fields[1]), int(fields[2])
pixels = data[pos:pos + w * h]
assert len(pixels) == w * h
print(sum(1 for p in pixels if p < 200) * 1000 // (w * h))
EOF
}

init_data
ID=$(add_resident "$(individual_number 20000000001)" "草加 花子" \
	"埼玉県草加市高砂一丁目1番1号" 1980-05-05 female)
SIGN=$(issue "$ID" sign "$TMP/sign.pem")
issue "$ID" auth "$TMP/auth.pem" >/dev/null
export JPKI_NOW=2030-03-01T09:00:00+09:00
NOTICES=$TMP/notices

check "no progress bar when stderr is not a terminal"
ok counter notices --within 3m --out "$NOTICES" --clerk tanaka --json
[ ! -s "$TMP/stderr" ] || fail "stderr not empty: $ERR"
FORM=$(grep ",$SIGN," "$NOTICES/notices.csv" | cut -d, -f1)
PDF=$NOTICES/notice-$FORM.pdf
[ -s "$PDF" ] || fail "no $PDF"

check "the notice is a two-page PDF"
pdfinfo "$PDF" >"$TMP/info" || fail "pdfinfo cannot read $PDF"
grep -Eq '^Pages: +2$' "$TMP/info" || fail "expected 2 pages: $(cat "$TMP/info")"
grep -Eq '^Page size: +595.* x 841.* pts \(A4\)' "$TMP/info" || fail "not A4: $(grep 'Page size' "$TMP/info")"

check "a notice stays small (thousands are printed): under 300 KB"
SIZE=$(stat -c %s "$PDF")
printf '%s:   notice: %s bytes\n' "$TEST_NAME" "$SIZE"
[ "$SIZE" -lt 300000 ] || fail "the notice is $SIZE bytes"

check "page 1 rendered with pdftoppm is not blank"
pdftoppm -gray -r 40 -f 1 -l 1 "$PDF" "$TMP/page" || fail "pdftoppm failed"
PGM=$(find "$TMP" -maxdepth 1 -name 'page*.pgm' | head -n 1)
INK=$(ink "$PGM")
printf '%s:   page 1: %s per mille of pixels inked\n' "$TEST_NAME" "$INK"
[ "$INK" -ge 5 ] || fail "page 1 looks blank ($INK per mille inked)"
[ "$INK" -le 400 ] || fail "page 1 looks black ($INK per mille inked)"

check "the Japanese text is in an embedded CJK font"
pdffonts "$PDF" >"$TMP/fonts" || fail "pdffonts failed"
grep -E 'NotoSans(Mono)?CJK' "$TMP/fonts" | grep -Eq ' yes +yes ' ||
	fail "no embedded Noto Sans CJK font: $(cat "$TMP/fonts")"
if grep -E '^[^ -]' "$TMP/fonts" | tail -n +2 | grep -Eqv ' yes +yes '; then
	fail "a font is not embedded: $(cat "$TMP/fonts")"
fi

check "page 1 is the notice addressed to the holder; page 2 the form with its number and check code"
pdftotext -f 1 -l 1 "$PDF" "$TMP/p1.txt"
pdftotext -f 2 -l 2 "$PDF" "$TMP/p2.txt"
grep -q '有効期限のお知らせ' "$TMP/p1.txt" || fail "page 1 has no title"
# pdftotext renders the ideographic spaces between the parts as spaces or
# line breaks: compare without them.
tr -d ' \n' <"$TMP/p1.txt" | sed 's/　//g' | grep -q '草加花子様' ||
	fail "page 1 is not addressed to the holder"
grep -q '埼玉県草加市高砂一丁目1番1号' "$TMP/p1.txt" || fail "page 1 has no address"
grep -q "$SIGN" "$TMP/p1.txt" || fail "page 1 does not list certificate $SIGN"
grep -q '照会書兼回答書' "$TMP/p2.txt" || fail "page 2 is not the form"
grep -qx "$FORM" "$TMP/p2.txt" || fail "page 2 does not show form number $FORM"
CODE=$(grep -Eo '^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$' "$TMP/p2.txt" | head -n 1)
[ -n "$CODE" ] || fail "page 2 has no check code"
! grep -q "$CODE" "$TMP/p1.txt" || fail "the check code is on the outside page"

check "the check code is nowhere in the store (only a salted hash)"
! grep -q "${CODE//-/}" "$DATA/jpki.db" || fail "the code is in the database file"
sqlite3 "$DATA/jpki.db" .dump >"$TMP/dump.sql"
! grep -q "${CODE//-/}" "$TMP/dump.sql" || fail "the code is in the store dump"
! grep -q "$CODE" "$TMP/dump.sql" || fail "the code is in the store dump"
ok audit list --json
! grep -q "${CODE//-/}" "$TMP/stdout" || fail "the code is in the audit log"

check "a PDF left under its temporary name by a crash after the commit is put in place by the next run; one never committed is deleted"
mv "$PDF" "$PDF.tmp"
echo "half a notice" >"$NOTICES/notice-999.pdf.tmp"
ok counter notices --within 3m --out "$NOTICES" --clerk tanaka --json
json_expect "rerun" notices=0
[ -s "$PDF" ] || fail "notice-$FORM.pdf was not put back"
pdftotext -f 2 -l 2 "$PDF" - | grep -q "$CODE" || fail "the recovered notice lost its code"
if [ -e "$PDF.tmp" ] || [ -e "$NOTICES/notice-999.pdf.tmp" ]; then
	fail "temporary files left: $(ls "$NOTICES")"
fi

check "on a terminal a progress bar is drawn on stderr"
command -v script >/dev/null 2>&1 || fail "script (util-linux) is needed"
ID2=$(add_resident "$(individual_number 20000000002)" "八潮 次郎" \
	"埼玉県八潮市中央1-2-3" 1975-03-03 male)
export JPKI_NOW=2026-04-01T10:00:00+09:00
issue "$ID2" auth "$TMP/auth2.pem" >/dev/null
export JPKI_NOW=2031-01-15T09:00:00+09:00   # its auth expires 2031-03-03
script -qec "'$JPKI' counter notices --within 3m --out '$NOTICES' --clerk tanaka" \
	/dev/null >"$TMP/tty.out" 2>&1 || fail "notices on a terminal failed: $(cat "$TMP/tty.out")"
grep -q 'notices \[#*' "$TMP/tty.out" || fail "no progress bar: $(cat "$TMP/tty.out")"
grep -q '100% 1/1' "$TMP/tty.out" || fail "the bar does not end at 100%: $(cat "$TMP/tty.out")"
done_ok
