#!/usr/bin/env bash
# test_rp_pades.sh: PAdES with a real PDF signer from Debian, and NSS as a
# second validator.  poppler's `pdfsig -add-signature` signs a PDF through
# an NSS database that loads OpenSC's PKCS#11 module, with the emulated
# card attached in pcscd's vpcd reader and the signing key on it (R4);
# `jpki verify` (the PDF read by qpdf) accepts it and shows the four facts;
# one byte changed in the signed range fails; pdfsig itself reports the
# signature valid and the certificate trusted with our CA in its database.
# `vfychain` with OCSP fetching accepts a good certificate against our
# responder (the AIA) and reports a revoked one.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
. "$(dirname "$0")/vpcd_lib.sh"
trap 'vpcd_stop; stop_server; rm -rf "$TMP"' EXIT
export JPKI_SIGN_PASSWORD=HOLDER15 JPKI_AUTH_PIN=1234 JPKI_CARDINFO_PIN=5678
for tool in pdfsig certutil modutil vfychain; do
	command -v "$tool" >/dev/null || vpcd_skip "$tool not installed"
done

serve_init
start_server --listen "127.0.0.1:$PORT" --rp
ok counter deliver --resident "$TARO" --out "$TMP/card.img" --clerk clerk-sato --json
SIGN=$(json_get receipt.issued.0.serial)

# A one-page PDF to sign (test data written here; qpdf checks it).
"$PYTHON" - "$TMP/form.pdf" <<'PY'
import sys
stream = b"BT /F1 24 Tf 72 720 Td (Application form 2026) Tj ET"
objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
out, offs = bytearray(b"%PDF-1.7\n"), []
for i, o in enumerate(objs):
    offs.append(len(out))
    out += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
xref = len(out)
out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
for o in offs:
    out += b"%010d 00000 n \n" % o
out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
open(sys.argv[1], "wb").write(out)
PY
qpdf --check "$TMP/form.pdf" >/dev/null || fail "the test PDF is not a PDF"
echo "not a PDF" >"$TMP/doc.txt"

check "pdfsig signs through NSS + OpenSC PKCS#11 + vpcd with the card's signing key"
vpcd_start
# One slot, the signing password's: pdfsig hands its one password to every
# token that asks, and the authentication PIN (4 digits) must not be tried
# with the signing password.
printf 'app default {\n\tframework pkcs15 {\n\t\tuse_file_cache = no;\n\t}\n\tpkcs11 {\n\t\tcreate_slots_for_pins = "sign";\n\t}\n}\n' >"$OPENSC_CONF"
vpcd_attach "$TMP/card.img"
NSS=sql:$TMP/nss
mkdir "$TMP/nss"
certutil -N -d "$NSS" --empty-password || fail "certutil -N"
modutil -dbdir "$NSS" -add opensc -libfile "$P11" -force >/dev/null || fail "modutil -add"
certutil -A -d "$NSS" -n jpki-sign-ca -t "CT,C,C" -a -i "$SIGN_CA" || fail "certutil -A"
NICK="JPKI (Digital Signature PIN):Digital Signature Certificate"
run pdfsig -nssdir "$NSS" -nss-pwd "$JPKI_SIGN_PASSWORD" -list-nicks "$TMP/form.pdf"
grep -qF "$NICK" "$TMP/stdout" || fail "NSS does not list the card's signing certificate: $OUT $ERR"
run pdfsig -nssdir "$NSS" -nss-pwd "$JPKI_SIGN_PASSWORD" -nick "$NICK" -digest SHA256 \
	-reason "e-Tax" -add-signature "$TMP/form.pdf" "$TMP/signed.pdf"
[ "$RC" -eq 0 ] && [ -s "$TMP/signed.pdf" ] || fail "pdfsig -add-signature: $ERR"
vpcd_stop
ok card status --card "$TMP/card.img" --json
json_expect "no PIN tried but the signing password" pins.auth.tries_left=3 pins.sign.tries_left=5

check "jpki verify: the PDF's signature is valid, by OCSP, with the four facts"
jpki verify "$TMP/signed.pdf" --json
[ "$RC" -eq 0 ] || fail "jpki verify exited $RC: $ERR"
json_expect "pdf" verdict=valid signatures.0.serial="$SIGN" signatures.0.status.source=ocsp \
	signatures.0.subfilter=adbe.pkcs7.detached signatures.0.covers_whole_file=true \
	signatures.0.facts.name="山田　太郎" signatures.0.facts.birth_era="昭和55年5月15日" \
	signatures.0.facts.address="東京都千代田区千代田1-1" signatures.0.facts.gender_name=male

check "one byte changed in the signed range: bad-signature"
"$PYTHON" - "$TMP/signed.pdf" "$TMP/changed.pdf" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.find(b"Application form 2026")
b[i + len("Application form 202")] = ord("7")
open(sys.argv[2], "wb").write(b)
PY
jpki verify "$TMP/changed.pdf" --json
[ "$RC" -eq 1 ] || fail "a changed PDF: exit $RC"
json_expect "changed" verdict=invalid signatures.0.reason=bad-signature

check "pdfsig reports the signature valid and the certificate trusted (OCSP at our responder)"
run pdfsig -nssdir "$NSS" "$TMP/signed.pdf"
grep -q "Signature Validation: Signature is Valid" "$TMP/stdout" || fail "pdfsig: $OUT"
grep -q "Certificate Validation: Certificate is Trusted" "$TMP/stdout" || fail "pdfsig: $OUT"
grep -q "Total document signed" "$TMP/stdout" || fail "pdfsig: $OUT"

check "jpki sign --pdf: PAdES on the card; qpdf, jpki verify and pdfsig accept it"
ok sign --card "$TMP/card.img" --pdf --in "$TMP/form.pdf" --out "$TMP/ours.pdf"
qpdf --check "$TMP/ours.pdf" >/dev/null || fail "qpdf --check: our signed PDF"
jpki verify "$TMP/ours.pdf" --json
[ "$RC" -eq 0 ] || fail "jpki verify, ours: exit $RC: $ERR"
json_expect "ours" verdict=valid signatures.0.subfilter=ETSI.CAdES.detached signatures.0.serial="$SIGN" \
	signatures.0.covers_whole_file=true signatures.0.facts.gender_name=male
run pdfsig -nssdir "$NSS" "$TMP/ours.pdf"
grep -q "Signature Validation: Signature is Valid" "$TMP/stdout" || fail "pdfsig, ours: $OUT"
grep -q "Certificate Validation: Certificate is Trusted" "$TMP/stdout" || fail "pdfsig, ours: $OUT"
grep -q "Signature Type: ETSI.CAdES.detached" "$TMP/stdout" || fail "pdfsig, ours: $OUT"
grep -q "Total document signed" "$TMP/stdout" || fail "pdfsig, ours: $OUT"
expect_status 2 sign --card "$TMP/card.img" --pdf --in "$TMP/doc.txt" --out "$TMP/x.pdf"
[ ! -e "$TMP/x.pdf" ] || fail "a refused sign left its --out"

check "not a PDF with a signature: bad input"
expect_status 2 verify "$TMP/form.pdf"
expect_one_error_line "^jpki: bad-input: PDF: no signature field"
head -c 3000 "$TMP/signed.pdf" >"$TMP/cut.pdf"
expect_status 2 verify "$TMP/cut.pdf"

check "vfychain with OCSP fetching: a good certificate against our responder, a revoked one"
ok card certs --card "$TMP/card.img" --out "$TMP/certs" --sign
HANA=$(add_resident "$(individual_number 23456789012)" "佐藤 花子" "東京都千代田区丸の内2-3" 1990-04-02 female)
HSIGN=$(issue "$HANA" sign "$TMP/hana.pem")
ok cert revoke "$HSIGN" --reason keyCompromise
wait_revoked "$SIGN_CA" "$HSIGN"
OCSP_ARGS=(-pp -g leaf -h requireFreshInfo -m ocsp -s failIfNoInfo -u 4)
run vfychain -d "$NSS" "${OCSP_ARGS[@]}" "$TMP/certs/sign.der"
[ "$RC" -eq 0 ] && grep -q "Chain is good" "$TMP/stdout" "$TMP/stderr" || fail "vfychain, good: $OUT $ERR"
run vfychain -d "$NSS" "${OCSP_ARGS[@]}" -a "$TMP/hana.pem"
[ "$RC" -ne 0 ] && grep -q -- "-8180: Peer's Certificate has been revoked" "$TMP/stdout" "$TMP/stderr" ||
	fail "vfychain, revoked: $OUT $ERR"
stop_server
run vfychain -d "$NSS" "${OCSP_ARGS[@]}" "$TMP/certs/sign.der"
[ "$RC" -ne 0 ] || fail "vfychain accepted without the responder: it did not ask it"
done_ok
