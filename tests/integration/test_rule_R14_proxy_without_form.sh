#!/usr/bin/env bash
# test_rule_R14_proxy_without_form.sh: R14 — a proxy without the
# inquiry/response form gets no same-day issuance.  Visit 1
# (`jpki counter proxy-apply`): the application and the proxy's identity
# document are recorded and the form is produced, addressed to the holder's
# registered address, ready to mail (PDF).  Visit 2, days later
# (`jpki counter proxy-complete --form N`): the sealed form with the PINs,
# the holder's card and the proxy's document; staff enter the PINs and load
# the certificates.  Completing without a form, or with the mailed form on
# the day it was made, is refused; so is a form past its validity; every
# refusal changes nothing (store, card image, audit chain).  The same two
# visits serve a PIN reset.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"

for tool in pdftotext pdfinfo sqlite3; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool is needed"
done

form_code() {
	pdftotext -f 2 -l 2 "$1" - |
		grep -Eo '^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$' | head -n 1
}
PROXY=(--proxy-name "鈴木 一郎" --proxy-id-type mynumber-card --proxy-id-number 0123456789AB)

init_data
HOLDER=$(add_resident "$(individual_number 40000000001)" "草加 花子" \
	"埼玉県草加市高砂1-1-1" 1980-05-05 female)
# She opted out of the signing certificate at delivery (R8b).
deliver "$HOLDER" "$TMP/holder.img" --no-sign

at 2026-06-01T10:00:00+09:00

check "R14: without the form a proxy cannot complete the same day; nothing changes"
expect_unchanged 1 "R14: a proxy without the inquiry/response form cannot be served the same day" \
	counter proxy-complete --clerk "$CLERK" --card "$TMP/holder.img" "${PROXY[@]}"

check "R14: visit 1 refuses bad input and changes nothing"
expect_unchanged 2 "R13, R14: the proxy.s identity document type is required" \
	counter proxy-apply --clerk "$CLERK" --resident "$HOLDER" --purpose issue --type sign \
	--proxy-name "鈴木 一郎" --out "$TMP/form.pdf"
expect_unchanged 2 "no resident with id 99" \
	counter proxy-apply --clerk "$CLERK" --resident 99 --purpose issue --type sign \
	"${PROXY[@]}" --out "$TMP/form.pdf"
expect_unchanged 2 "purpose: 'reissue' is not" \
	counter proxy-apply --clerk "$CLERK" --resident "$HOLDER" --purpose reissue \
	"${PROXY[@]}" --out "$TMP/form.pdf"
expect_unchanged 2 "reset-pin needs --pin" \
	counter proxy-apply --clerk "$CLERK" --resident "$HOLDER" --purpose reset-pin \
	"${PROXY[@]}" --out "$TMP/form.pdf"
expect_unchanged 2 "clerk" \
	counter proxy-apply --resident "$HOLDER" --purpose issue --type sign \
	"${PROXY[@]}" --out "$TMP/form.pdf"
[ ! -e "$TMP/form.pdf" ] || fail "a refused application wrote a form"

check "R14: visit 1 records the application and the proxy and produces the form to mail to the holder"
ok counter proxy-apply --clerk "$CLERK" --resident "$HOLDER" --purpose issue --type sign \
	"${PROXY[@]}" --out "$TMP/form.pdf" --json
json_expect "application" purpose=issue form_expiry=2026-08-30 pdf="$TMP/form.pdf" \
	receipt.total_yen=0
FORM=$(json_get form)
APP=$(json_get application)
[ -s "$TMP/form.pdf" ] || fail "no form PDF"
expect_eq "the form (check code, address) readable by its owner only" \
	"$(stat -c %a "$TMP/form.pdf")" 600
pdfinfo "$TMP/form.pdf" | grep -Eq '^Pages: +2$' || fail "the mailing is not two pages"
pdftotext -f 1 -l 1 "$TMP/form.pdf" "$TMP/p1.txt"
grep -q '照会書兼回答書の送付について' "$TMP/p1.txt" || fail "page 1 is not the cover letter"
grep -q '埼玉県草加市高砂1-1-1' "$TMP/p1.txt" || fail "not addressed to the registered address"
grep -q '鈴木 一郎' "$TMP/p1.txt" || fail "the letter does not name the proxy who applied"
CODE=$(form_code "$TMP/form.pdf")
[ -n "$CODE" ] || fail "no check code inside the form"
expect_eq "recorded application" \
	"$(sql "SELECT resident_id || '|' || proxy_name || '|' || proxy_doc_type || '|' || proxy_doc_number || '|' || status || '|' || form_number FROM proxy_applications WHERE id = $APP")" \
	"$HOLDER|鈴木 一郎|mynumber-card|0123456789AB|1|$FORM"
ok counter form-show "$FORM" --json
json_expect "form" resident="$HOLDER" purpose=issue origin=application status=unused \
	issued_on=2026-06-01 expiry=2026-08-30 'types=["sign"]'
ok audit list --json
grep -q '"proxy.apply"' "$TMP/stdout" || fail "no proxy.apply audit entry"
expect_audit_ok "after visit 1"

check "R14: a form is written once: the same --out again is refused"
expect_unchanged 1 "exists" \
	counter proxy-apply --clerk "$CLERK" --resident "$HOLDER" --purpose issue --type sign \
	"${PROXY[@]}" --out "$TMP/form.pdf"

export JPKI_SIGN_PASSWORD=MAILED26 JPKI_FORM_CHECK_CODE=$CODE
check "R14: no same-day completion with the mailed form, even at the end of the day"
expect_unchanged 1 "R14: .* no same-day completion" \
	counter proxy-complete --clerk "$CLERK" --form "$FORM" --card "$TMP/holder.img" "${PROXY[@]}"
at 2026-06-01T23:59:00+09:00
expect_unchanged 1 "R14: .* was made on 2026-06-01" \
	counter proxy-complete --clerk "$CLERK" --form "$FORM" --card "$TMP/holder.img" "${PROXY[@]}"

check "R14: visit 2, days later: the PINs on the form are entered and the certificate loaded"
at 2026-06-05T11:00:00+09:00
ok counter proxy-complete --clerk "$CLERK" --form "$FORM" --card "$TMP/holder.img" "${PROXY[@]}" --json
json_expect "visit 2" form="$FORM" purpose=issue receipt.procedure=issue receipt.proxy.name="鈴木 一郎"
SIGN=$(serial_on_card "$TMP/holder.img" sign)
expect_eq "signing certificate" "$(cert_field "$SIGN" status)" valid
echo "mailed form" >"$TMP/doc.txt"
JPKI_SIGN_PASSWORD=MAILED26 ok card sign --type sign --in "$TMP/doc.txt" --out "$TMP/doc.sig" --card "$TMP/holder.img"
expect_eq "application completed" "$(sql "SELECT status FROM proxy_applications WHERE id = $APP")" 2
ok counter form-show "$FORM" --json
json_expect "form" status=used
expect_audit_ok "after visit 2"

check "R14: the mailed form is used once"
expect_unchanged 1 "already used" \
	counter proxy-complete --clerk "$CLERK" --form "$FORM" --card "$TMP/holder.img" "${PROXY[@]}"

check "R14: the same two visits reset a PIN (the authentication PIN)"
ok counter proxy-apply --clerk "$CLERK" --resident "$HOLDER" --purpose reset-pin --pin auth \
	"${PROXY[@]}" --out "$TMP/reset.pdf" --json
RESET=$(json_get form)
RESET_CODE=$(form_code "$TMP/reset.pdf")
at 2026-06-10T09:00:00+09:00
JPKI_FORM_CHECK_CODE=$RESET_CODE JPKI_AUTH_PIN=9876 ok counter proxy-complete --clerk "$CLERK" \
	--form "$RESET" --card "$TMP/holder.img" "${PROXY[@]}" --json
json_expect "reset" purpose=reset-pin receipt.procedure=reset-pin
JPKI_AUTH_PIN=9876 ok card sign --type auth --in "$TMP/doc.txt" --out "$TMP/doc2.sig" --card "$TMP/holder.img"

check "R14: a mailed form is valid for 90 days: on the 91st it is refused"
ok counter proxy-apply --clerk "$CLERK" --resident "$HOLDER" --purpose reset-pin --pin sign \
	"${PROXY[@]}" --out "$TMP/late.pdf" --json
LATE=$(json_get form)
LATE_CODE=$(form_code "$TMP/late.pdf")
at 2026-09-09T09:00:00+09:00
JPKI_FORM_CHECK_CODE=$LATE_CODE JPKI_SIGN_PASSWORD=LATE2026 expect_unchanged 1 "R13: .* expired on 2026-09-08" \
	counter proxy-complete --clerk "$CLERK" --form "$LATE" --card "$TMP/holder.img" "${PROXY[@]}"
expect_audit_ok "at the end"
done_ok
