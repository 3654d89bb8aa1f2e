#!/usr/bin/env bash
# The card face (券面AP): made from the register at delivery (name,
# address and security code images, a placeholder photo or the clerk's
# --photo), read back by `jpki card face` as PNG files that decode (the
# photo through OpenJPEG's own opj_decompress too), its card issuer
# signature verified, and trusted only against the data directory's card
# issuer key with --data (card info too); update-card keeps the photo or
# takes a new one; a bad photo changes nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"

# png_info FILE: "WIDTHxHEIGHT" after the whole PNG decodes (IHDR, every
# chunk's CRC, IDAT inflated to exactly the rows the header promises).
png_info() {
	"$PYTHON" - "$1" <<'EOF'
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n", "no PNG signature"
pos, idat, ihdr = 8, b"", None
while pos < len(d):
    n, kind = struct.unpack(">I4s", d[pos:pos + 8])
    body = d[pos + 8:pos + 8 + n]
    crc, = struct.unpack(">I", d[pos + 8 + n:pos + 12 + n])
    assert zlib.crc32(kind + body) == crc, "bad CRC"
    if kind == b"IHDR":
        ihdr = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
w, h, depth, colour = ihdr[:4]
channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
raw = zlib.decompress(idat)
assert len(raw) == h * (1 + w * channels * depth // 8), "rows"
print("%dx%d" % (w, h))
EOF
}

init_data
id=$(add_resident "$(individual_number 10000000004)" "Tanaka Yoko" "東京都清瀬市松山3-4-5" 1985-07-20 female)
deliver "$id" "$TMP/card.img"
code=$(json_get receipt.security_code)

check "the card status shows the card face's collation numbers A and B"
ok card status --card "$TMP/card.img" --json
json_expect "status" pins.cardface_a.tries_left=10 pins.cardface_b.tries_left=10 \
	pins_initialised.cardface_a=true pins_initialised.cardface_b=true

check "card face writes the images as PNG that decode, the signature verifies"
ok card face --card "$TMP/card.img" --out "$TMP/face" --json
json_expect "face" birth=19850720 sex=2 expiry=20350720 issuer_signature=verified \
	issuer_key_trusted=false images.name.width=480 images.photo.width=120 \
	images.photo.height=150
for f in name address security-code photo; do
	[ -s "$TMP/face/$f.png" ] || fail "no $f.png"
	png_info "$TMP/face/$f.png" >/dev/null || fail "$f.png does not decode"
done
expect_eq "photo size" "$(png_info "$TMP/face/photo.png")" 120x150
opj_decompress -i "$TMP/face/photo.jp2" -o "$TMP/opj.png" >/dev/null ||
	fail "OpenJPEG's opj_decompress cannot read the photo"
expect_eq "photo size (opj_decompress)" "$(png_info "$TMP/opj.png")" 120x150
placeholder=$(sha256sum <"$TMP/face/photo.jp2")
[ "${#code}" -eq 4 ] || fail "no security code on the receipt"

check "--data DIR: the data directory's card issuer key is trusted"
ok card face --card "$TMP/card.img" --out "$TMP/face2" --data "$DATA" --json
json_expect "face trusted" issuer_signature=verified issuer_key_trusted=true
ok card info --card "$TMP/card.img" --data "$DATA" --json
json_expect "info trusted" issuer_signature=verified issuer_key_trusted=true

check "another data directory's key is not: invalid, and said why"
ok init --data "$TMP/other"
ok card face --card "$TMP/card.img" --out "$TMP/face3" --data "$TMP/other" --json
json_expect "face foreign" issuer_signature=invalid issuer_key_trusted=false
json_get issuer_signature_error | grep -q "not the trusted card issuer key" ||
	fail "no reason given"
ok card info --card "$TMP/card.img" --data "$TMP/other" --json
json_expect "info foreign" issuer_signature=invalid issuer_key_trusted=false

check "card face refuses --out missing and a wrong card-info PIN, leaving no directory"
expect_status 2 card face --card "$TMP/card.img"
expect_one_error_line "needs --out DIR"
JPKI_CARDINFO_PIN=0000 expect_status 1 card face --card "$TMP/card.img" --out "$TMP/none"
[ ! -e "$TMP/none" ] || fail "a refused card face left $TMP/none"

check "update-card without --photo keeps the card's photo"
at 2027-06-01T10:00:00+09:00
ok resident change "$id" --address "東京都清瀬市竹丘1-1-1"
counter update-card --card "$TMP/card.img"
ok card face --card "$TMP/card.img" --out "$TMP/face4" --data "$DATA" --json
json_expect "after move" issuer_signature=verified issuer_key_trusted=true
expect_eq "photo kept" "$(sha256sum <"$TMP/face4/photo.jp2")" "$placeholder"
cmp -s "$TMP/face/address.png" "$TMP/face4/address.png" &&
	fail "the address image did not change with the address"

check "update-card --photo FILE puts the clerk's photo on the card (facts unchanged)"
counter update-card --card "$TMP/card.img" --photo "$TMP/face/name.png"
ok card face --card "$TMP/card.img" --out "$TMP/face5" --json
json_expect "new photo" issuer_signature=verified
[ "$(sha256sum <"$TMP/face5/photo.jp2")" != "$placeholder" ] || fail "the photo did not change"
expect_eq "new photo size" "$(png_info "$TMP/face5/photo.png")" 120x150

check "a photo that is not an image changes nothing (exit 2, one line)"
printf 'not a picture\n' >"$TMP/photo.txt"
expect_unchanged 2 "photo must be a PNG or a JPEG 2000" counter update-card \
	--clerk "$CLERK" --card "$TMP/card.img" --photo "$TMP/photo.txt"
expect_status 2 counter issue --clerk "$CLERK" --card "$TMP/card.img" --type sign \
	--photo "$TMP/photo.txt"
expect_one_error_line "photo is for deliver, reissue and update-card"

check "deliver --photo: the clerk's JPEG 2000 photo on a new card"
id2=$(add_resident "$(individual_number 10000000012)" "Suzuki Ken" "東京都千代田区1-1" 1990-01-02 male)
deliver "$id2" "$TMP/card2.img" --photo "$TMP/face5/photo.jp2"
ok card face --card "$TMP/card2.img" --out "$TMP/face6" --json
json_expect "card2" sex=1 birth=19900102 issuer_signature=verified
expect_audit_ok "end"
done_ok
