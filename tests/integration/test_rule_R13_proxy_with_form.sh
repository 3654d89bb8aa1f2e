#!/usr/bin/env bash
# test_rule_R13_proxy_with_form.sh: R13 — a proxy with the inquiry/response
# form in hand is served the same day.  The holder's renewal form comes on
# the back of the expiry notice (R12); the holder writes the PINs on it and
# seals it; the proxy brings it, the holder's card and their own identity
# document.  The clerk records the proxy's document, checks the form
# (holder, purpose, check code, unused, unexpired), enters the PINs written
# on it, loads the certificates and gives the card back.  Every refusal —
# wrong code, another holder's card, another purpose, a used or expired
# form, no identity document, a bad PIN on the form — changes nothing: not
# the store, not the card image, not the audit chain.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"

for tool in pdftotext sqlite3; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool is needed"
done

# form_code PDF: the check code printed inside the form (page 2), as the
# holder reads it.
form_code() {
	pdftotext -f 2 -l 2 "$1" - |
		grep -Eo '^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$' | head -n 1
}
# form_of SERIAL: the form number the notices CSV gives a certificate.
form_of() {
	grep ",$1," "$NOTICES/notices.csv" | cut -d, -f1
}
PROXY=(--proxy-name "鈴木 一郎" --proxy-id-type driving-licence --proxy-id-number 301234567890)

init_data
HOLDER=$(add_resident "$(individual_number 30000000001)" "草加 花子" \
	"埼玉県草加市高砂1-1-1" 1980-05-05 female)       # certificates to 2030-05-05
OTHER=$(add_resident "$(individual_number 30000000002)" "八潮 次郎" \
	"埼玉県八潮市中央2-2-2" 1985-04-10 male)         # certificates to 2030-04-10
deliver "$HOLDER" "$TMP/holder.img"
deliver "$OTHER" "$TMP/other.img"
OLD_SIGN=$(serial_on_card "$TMP/holder.img" sign)
OLD_AUTH=$(serial_on_card "$TMP/holder.img" auth)

at 2030-03-01T09:30:00+09:00          # renewal opened on 2030-02-05
NOTICES=$TMP/notices
ok counter notices --within 3m --out "$NOTICES" --clerk "$CLERK" --json
FORM=$(form_of "$OLD_SIGN")
OTHER_FORM=$(form_of "$(serial_on_card "$TMP/other.img" sign)")
CODE=$(form_code "$NOTICES/notice-$FORM.pdf")
OTHER_CODE=$(form_code "$NOTICES/notice-$OTHER_FORM.pdf")
if [ -z "$FORM" ] || [ -z "$CODE" ]; then
	fail "no form or code on the holder's notice"
fi

# The PINs the holder wrote on the form (new ones, to tell them apart).
export JPKI_SIGN_PASSWORD=FORM2030 JPKI_AUTH_PIN=4321 JPKI_FORM_CHECK_CODE=$CODE

complete() {   # proxy-complete with the clerk, --json and ARGS
	jpki counter proxy-complete --clerk "$CLERK" --json "$@"
}

check "R13: a wrong check code is refused and changes nothing"
JPKI_FORM_CHECK_CODE=$OTHER_CODE expect_unchanged 1 "R13: the check code does not match" \
	counter proxy-complete --clerk "$CLERK" --form "$FORM" --card "$TMP/holder.img" "${PROXY[@]}"

check "R13: the form must be the card holder's: another holder's card is refused, nothing changed"
expect_unchanged 1 "R13: .*another holder" \
	counter proxy-complete --clerk "$CLERK" --form "$FORM" --card "$TMP/other.img" "${PROXY[@]}"

check "R13: the form's purpose must be the one asked for"
expect_unchanged 1 "R13: .* is for renew, not issue" \
	counter proxy-complete --clerk "$CLERK" --form "$FORM" --purpose issue --card "$TMP/holder.img" "${PROXY[@]}"

check "R13: the proxy's identity document is required"
expect_unchanged 2 "R13, R14: the proxy.s identity document number is required" \
	counter proxy-complete --clerk "$CLERK" --form "$FORM" --card "$TMP/holder.img" \
	--proxy-name "鈴木 一郎" --proxy-id-type driving-licence

check "R13: a PIN written wrongly on the form is refused after the form check and leaves the form unused"
JPKI_AUTH_PIN=12 expect_unchanged 2 "PIN" \
	counter proxy-complete --clerk "$CLERK" --form "$FORM" --card "$TMP/holder.img" "${PROXY[@]}"
ok counter form-show "$FORM" --json
json_expect "form after the refusals" status=unused

check "R13: with the form in hand the proxy is served the same day: certificates renewed with the PINs on the form"
complete --form "$FORM" --card "$TMP/holder.img" "${PROXY[@]}"
[ "$RC" -eq 0 ] || fail "proxy-complete exited $RC"
json_expect "receipt" form="$FORM" purpose=renew proxy.name="鈴木 一郎" \
	proxy.document_type=driving-licence proxy.document_number=301234567890 \
	receipt.procedure=renew
expect_eq "certificates issued" "$(json_get receipt.issued | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))')" 2
expect_eq "old signing certificate" "$(cert_field "$OLD_SIGN" status)" revoked
expect_eq "old signing reason" "$(cert_field "$OLD_SIGN" reason)" superseded
expect_eq "old auth certificate" "$(cert_field "$OLD_AUTH" status)" revoked
NEW_SIGN=$(serial_on_card "$TMP/holder.img" sign)
[ "$NEW_SIGN" != "$OLD_SIGN" ] || fail "the card still holds the old signing certificate"
expect_eq "new certificate" "$(cert_field "$NEW_SIGN" status)" valid

check "R13: the PINs entered are the ones written on the form"
echo "proxy renewal" >"$TMP/doc.txt"
JPKI_AUTH_PIN=4321 ok card sign --type auth --in "$TMP/doc.txt" --out "$TMP/doc.sig" --card "$TMP/holder.img"
JPKI_AUTH_PIN=1234 jpki card sign --type auth --in "$TMP/doc.txt" --out "$TMP/doc2.sig" --card "$TMP/holder.img"
[ "$RC" -ne 0 ] || fail "the old authentication PIN still works"

check "R13: the form is used, the proxy's document recorded, the visit audited"
ok counter form-show "$FORM" --json
json_expect "form" status=used used_at=2030-03-01T09:30:00+09:00
expect_eq "recorded proxy document" \
	"$(sql "SELECT proxy_name || '|' || proxy_doc_type || '|' || proxy_doc_number || '|' || status FROM proxy_applications WHERE form_number = $FORM")" \
	"鈴木 一郎|driving-licence|301234567890|2"
ok audit list --json
grep -q '"proxy.complete"' "$TMP/stdout" || fail "no proxy.complete audit entry"
expect_audit_ok "after the completion"

check "R13: a form is used once: the same form again is refused, nothing changed"
expect_unchanged 1 "R13: .* already used on 2030-03-01" \
	counter proxy-complete --clerk "$CLERK" --form "$FORM" --card "$TMP/holder.img" "${PROXY[@]}"

check "R13: an expired form is refused (the other holder's, after its certificates expired)"
at 2030-04-11T10:00:00+09:00
JPKI_FORM_CHECK_CODE=$OTHER_CODE expect_unchanged 1 "R13: .* expired on 2030-04-10" \
	counter proxy-complete --clerk "$CLERK" --form "$OTHER_FORM" --card "$TMP/other.img" "${PROXY[@]}"

check "R13: an unknown form number is refused"
expect_unchanged 2 "no inquiry/response form number 999" \
	counter proxy-complete --clerk "$CLERK" --form 999 --card "$TMP/holder.img" "${PROXY[@]}"
done_ok
