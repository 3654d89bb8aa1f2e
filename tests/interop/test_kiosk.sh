#!/usr/bin/env bash
# test_kiosk.sh: R5, the convenience-store kiosk (住民票の写し等のコンビニ
# 交付) through the real HTTP server (`jpki serve --kiosk`) and `jpki kiosk`
# on the emulated card.  The happy path: a residence certificate PDF whose
# municipality signature `jpki verify` accepts and pdfsig (poppler, NSS)
# reports valid with the municipality's certificate in a fresh NSS
# database; the four facts, the date of issue and the municipality are in
# its text (pdftotext); the fee the config sets is on the receipt; a
# receipt and an audit entry for each issuance.  Each refusal has its own
# error and issues nothing: a replayed proof, a revoked and an expired
# authentication certificate, a deceased and a moved-away (転出) resident,
# and a locked PIN (the card refuses; the client says so).
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
export JPKI_SIGN_PASSWORD=HOLDER15 JPKI_AUTH_PIN=1234 JPKI_CARDINFO_PIN=5678
for tool in curl pdftotext pdfsig certutil; do
	command -v "$tool" >/dev/null || fail "$tool is needed (scripts/install-deps.sh)"
done

serve_init
ok counter deliver --resident "$TARO" --out "$TMP/card.img" --clerk clerk-sato --json
AUTH=$(json_get receipt.issued.1.serial)
start_server --listen "127.0.0.1:$PORT" --kiosk

issued() { db_sql "SELECT count(*) FROM audit WHERE action = 'kiosk.residence'"; }
receipts() { db_sql "SELECT count(*) FROM receipts WHERE procedure = 'kiosk_residence'"; }
# refused ERROR: the last `jpki kiosk --json` was refused with ERROR and
# issued nothing (no file, no receipt, no audit entry beyond $ISSUED).
refused() {
	json_expect "refusal" result=refused error="$1"
	[ ! -e "$TMP/refused.pdf" ] || fail "a refused request wrote a document"
	expect_eq "audit entries" "$(issued)" "$ISSUED"
	expect_eq "receipts" "$(receipts)" "$ISSUED"
}

check "jpki kiosk: a residence certificate, its receipt with the fee (200 yen by default)"
ok kiosk --card "$TMP/card.img" --url "$BASE" --document residence --out "$TMP/res.pdf" \
	--receipt "$TMP/receipt.json" --token-out "$TMP/used.json" --json
json_expect "answer" result=ok receipt.document=residence receipt.municipality=東京都千代田区 \
	receipt.fees.0.item=kiosk_residence receipt.fees.0.yen=200 receipt.total_yen=200 out="$TMP/res.pdf"
NUMBER=$(json_get receipt.document_number)
head -c 5 "$TMP/res.pdf" | grep -q '%PDF-' || fail "not a PDF"
grep -q '"total_yen": 200' "$TMP/receipt.json" || fail "receipt file: $(cat "$TMP/receipt.json")"
expect_eq "document hash on the receipt" "$(json_get receipt.document_sha256)" \
	"$(sha256sum "$TMP/res.pdf" | cut -d' ' -f1)"
ISSUED=1
expect_eq "audit entries" "$(issued)" 1
expect_eq "receipts" "$(receipts)" 1
expect_eq "fee line" "$(db_sql "SELECT l.item || ':' || l.yen FROM receipt_lines l JOIN receipts r ON r.id = l.receipt_id WHERE r.procedure = 'kiosk_residence'")" "kiosk_residence:200"
db_sql "SELECT detail FROM audit WHERE action = 'kiosk.residence'" | grep -q "\"certificate\": *\"$AUTH\"" ||
	fail "audit detail: $(db_sql "SELECT detail FROM audit WHERE action = 'kiosk.residence'")"
ok audit verify

check "the municipality's key where the data directory keeps its keys, its certificate beside the CAs'"
openssl x509 -in "$DATA/ca/municipality.pem" -noout -subject -nameopt RFC2253,-esc_msb \
	-ext keyUsage,certificatePolicies >"$TMP/mcert" 2>&1 || fail "municipality.pem: $(cat "$TMP/mcert")"
grep -q "subject=CN=千代田区長,O=東京都千代田区,C=JP" "$TMP/mcert" || fail "subject: $(cat "$TMP/mcert")"
grep -q "Digital Signature, Non Repudiation, Certificate Sign" "$TMP/mcert" || fail "key usage: $(cat "$TMP/mcert")"
grep -q "2.25.83169284236936842553788051268231387265" "$TMP/mcert" || fail "policy: $(cat "$TMP/mcert")"
if [ "${JPKI_TEST_PKCS11:-0}" = 1 ]; then
	[ ! -e "$DATA/ca/municipality.key" ] || fail "a key file beside a token"
	grep -q municipality "$DATA/ca/pkcs11" || fail "the token's record names no municipality key"
else
	expect_eq "key file mode" "$(stat -c %a "$DATA/ca/municipality.key")" 600
fi

check "the PDF shows the four facts, the date of issue and the municipality (pdftotext)"
pdftotext -layout "$TMP/res.pdf" "$TMP/res.txt"
# The server runs on real time (serve_lib.sh): today in JST, in Reiwa.
read -r Y M D < <(TZ=Asia/Tokyo date +'%Y %-m %-d')
TODAY="令和$((Y - 2018))年${M}月${D}日"
for text in 住民票の写し 山田 太郎 東京都千代田区千代田1-1 昭和55年5月15日 1980年5月15日 男 \
	交付日 "$TODAY" 東京都千代田区長 "$NUMBER" 200円; do
	grep -q -- "$text" "$TMP/res.txt" || fail "'$text' not in the PDF's text: $(cat "$TMP/res.txt")"
done

check "jpki verify: the municipality's signature is valid (a trust anchor of the data directory)"
ok verify "$TMP/res.pdf"
grep -q "^valid" <<<"$OUT" || fail "verify: $OUT"
grep -q "O=東京都千代田区" <<<"$OUT" || fail "signer: $OUT"
grep -q "municipality's document-signing certificate" <<<"$OUT" || fail "verify: $OUT"
ok verify "$TMP/res.pdf" --json
json_expect "verdict" verdict=valid signatures.0.signer_kind=municipality signatures.0.status.source=anchor
check "the municipality's certificate has its own validity: expired after it, not yet valid before it (--at)"
expect_status 1 verify "$TMP/res.pdf" --at 2040-01-01T00:00:00+09:00
grep -q "expired" <<<"$ERR$OUT" || fail "--at 2040: $ERR $OUT"
expect_status 1 verify "$TMP/res.pdf" --at 2020-01-01T00:00:00+09:00
grep -q "not-yet-valid" <<<"$ERR$OUT" || fail "--at 2020: $ERR $OUT"
check "one byte changed in the signed range: bad-signature"
cp "$TMP/res.pdf" "$TMP/tampered.pdf"
"$PYTHON" - "$TMP/tampered.pdf" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read())
i = b.index(b'/Title'); b[i + 1] ^= 0x20
open(p, 'wb').write(bytes(b))
PY
expect_status 1 verify "$TMP/tampered.pdf"
grep -q "bad-signature" <<<"$ERR$OUT" || fail "tampered: $ERR $OUT"
check "without the municipality's certificate among the anchors: untrusted"
mkdir -p "$TMP/other"
ok init --data "$TMP/other/data" --base-url "$BASE"
expect_status 1 verify --data "$TMP/other/data" "$TMP/res.pdf"
grep -q "untrusted" <<<"$ERR$OUT" || fail "foreign anchors: $ERR $OUT"

check "pdfsig: signature valid, certificate trusted with the municipality's certificate in a fresh NSS database"
NSS=$TMP/nss
mkdir -p "$NSS"
certutil -N -d "sql:$NSS" --empty-password || fail "certutil -N"
certutil -A -d "sql:$NSS" -n jpki-municipality -t "CT,C,C" -a -i "$DATA/ca/municipality.pem" || fail "certutil -A"
run pdfsig -nssdir "sql:$NSS" "$TMP/res.pdf"
grep -q "Signature Validation: Signature is Valid" "$TMP/stdout" || fail "pdfsig: $OUT"
grep -q "Certificate Validation: Certificate is Trusted" "$TMP/stdout" || fail "pdfsig: $OUT"
grep -q "Total document signed" "$TMP/stdout" || fail "pdfsig: $OUT"
run pdfsig -nssdir "sql:$NSS" "$TMP/tampered.pdf"
grep -q "Signature Validation: Signature is Valid" "$TMP/stdout" && fail "pdfsig accepts the tampered PDF: $OUT"

check "a replayed proof: nonce-used (a proof buys one document)"
expect_status 1 kiosk --token "$TMP/used.json" --url "$BASE" --document residence --out "$TMP/refused.pdf" --json
refused nonce-used
expect_one_error_line "^jpki: refused: kiosk: HTTP 401: nonce-used: "

check "bad usage: one line each, nothing sent"
expect_status 2 kiosk --card "$TMP/card.img" --url "$BASE" --document tax --out "$TMP/refused.pdf"
expect_one_error_line "^jpki: usage: --document: only residence"
expect_status 2 kiosk --card "$TMP/card.img" --url "$BASE" --document residence
expect_one_error_line "^jpki: usage: kiosk needs --url URL, --document residence and --out"

check "the fee the municipality sets (config [fees] kiosk_residence) is charged"
stop_server
sed -i 's/^kiosk_residence = .*/kiosk_residence = 300/' "$DATA/config"
grep -q '^kiosk_residence = 300' "$DATA/config" || fail "config: $(cat "$DATA/config")"
start_server --listen "127.0.0.1:$PORT" --kiosk
ok kiosk --card "$TMP/card.img" --url "$BASE" --document residence --out "$TMP/res2.pdf" --json
json_expect "fee" receipt.fees.0.yen=300 receipt.total_yen=300
ok kiosk --card "$TMP/card.img" --url "$BASE" --document residence --out "$TMP/res3.pdf"
grep -q "total        300円" <<<"$OUT" || fail "text receipt: $OUT"
ISSUED=3
expect_eq "audit entries" "$(issued)" 3

check "a moved-away (転出) resident: moved-away, 403"
HANA=$(add_resident "$(individual_number 23456789012)" "佐藤 花子" "東京都千代田区丸の内2-3" 1990-04-02 female)
ok counter deliver --resident "$HANA" --out "$TMP/hana.img" --clerk clerk-sato --json
ok resident change "$HANA" --moved-away --clerk clerk-sato --json
json_expect "moved away: nothing revoked" revoked=0
ok resident show "$HANA" --json
json_expect "status" status=moved-away
expect_status 1 kiosk --card "$TMP/hana.img" --url "$BASE" --document residence --out "$TMP/refused.pdf" --json
refused moved-away
expect_status 1 resident change "$HANA" --address "大阪府大阪市北区1-1" --clerk clerk-sato
expect_one_error_line "moved away; the register entry is closed"

check "a deceased resident: the death revokes the certificates (the login says revoked); a register that records the death before the revocation: deceased"
JIRO=$(add_resident "$(individual_number 34567890123)" "鈴木 次郎" "東京都千代田区神田1-2" 1950-01-02 male)
ok counter deliver --resident "$JIRO" --out "$TMP/jiro.img" --clerk clerk-sato --json
db_sql "UPDATE residents SET status = 2 WHERE id = $JIRO" >/dev/null
expect_status 1 kiosk --card "$TMP/jiro.img" --url "$BASE" --document residence --out "$TMP/refused.pdf" --json
refused deceased
db_sql "UPDATE residents SET status = 1 WHERE id = $JIRO" >/dev/null
ok resident change "$JIRO" --deceased --clerk clerk-sato --json
json_expect "death revokes both" revoked=2
expect_status 1 kiosk --card "$TMP/jiro.img" --url "$BASE" --document residence --out "$TMP/refused.pdf" --json
refused certificate
json_expect "reason" reason=revoked

check "an expired authentication certificate: certificate, expired"
stop_server
JPKI_NOW=2036-01-01T10:00:00+09:00 start_server --listen "127.0.0.1:$PORT" --kiosk
expect_status 1 kiosk --card "$TMP/card.img" --url "$BASE" --document residence --out "$TMP/refused.pdf" --json
refused certificate
json_expect "reason" reason=expired
stop_server
start_server --listen "127.0.0.1:$PORT" --kiosk

check "a revoked authentication certificate: certificate, revoked"
ok cert revoke "$AUTH" --reason keyCompromise --clerk clerk-sato
expect_status 1 kiosk --card "$TMP/card.img" --url "$BASE" --document residence --out "$TMP/refused.pdf" --json
refused certificate
json_expect "reason" reason=revoked serial="$AUTH"

check "a locked PIN: the card refuses, the client says so, nothing is asked of the municipality"
SABURO=$(add_resident "$(individual_number 45678901234)" "田中 三郎" "東京都千代田区麹町3-4" 1970-07-07 male)
ok counter deliver --resident "$SABURO" --out "$TMP/saburo.img" --clerk clerk-sato --json
for i in 1 2 3; do
	JPKI_AUTH_PIN=0000 expect_status 1 kiosk --card "$TMP/saburo.img" --url "$BASE" --document residence --out "$TMP/refused.pdf"
done
expect_status 1 kiosk --card "$TMP/saburo.img" --url "$BASE" --document residence --out "$TMP/refused.pdf"
expect_one_error_line "locked"
[ ! -e "$TMP/refused.pdf" ] || fail "a locked card got a document"
expect_eq "audit entries" "$(issued)" "$ISSUED"

stop_server
ok audit verify
done_ok
