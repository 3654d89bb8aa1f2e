#!/usr/bin/env bash
# test_counter_reader.sh: the counter's procedures on a card in a PC/SC
# reader (a private pcscd with vsmartcard's vpcd, the card attached with
# `jpki card attach`), store first and the card rolled forward
# (docs/counter.md, "A card in a reader"):
#   - deliver onto a blank card in the reader, issue, renew and a PIN reset,
#     each read back with `jpki card --reader` and OpenSC's pkcs15-tool and
#     checked against the store;
#   - killed between the commit and the card writes (JPKI_COUNTER_CRASH
#     after-commit, card-write, card-written): the store holds the
#     procedure, its writes wait in card_writes, and the next open of the
#     card (recover, or the next procedure) applies them, audited;
#   - a refusal by a rule changes neither the card nor the store.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/counter_lib.sh"
. "$(dirname "$0")/vpcd_lib.sh"
need_test_hooks
for tool in pkcs15-tool openssl pdftotext; do
	command -v "$tool" >/dev/null 2>&1 || vpcd_skip "$tool not installed"
done
READER="Virtual PCD"

cleanup() {
	vpcd_stop
	rm -rf "$TMP"
}
trap cleanup EXIT

init_data
at 2026-04-01T10:00:00+09:00
R=$(add_resident "$(individual_number 70000000011)" "読取 二郎" "東京都清瀬市中里3-3" 1970-10-20 male)
ok card new --out "$TMP/card.img" --data "$DATA" --json
blank_serial=$(json_get serial)
vpcd_start
vpcd_attach "$TMP/card.img"

# rstatus PATH: a value of `jpki card status --reader --json`.
rstatus() {
	"$JPKI" card status --reader "$READER" --json >"$TMP/rstatus.json" 2>&1 ||
		fail "jpki card status --reader: $(cat "$TMP/rstatus.json")"
	json_get "$1" "$TMP/rstatus.json"
}

# reader_cert sign|auth: the certificate on the card in the reader, read
# with `jpki card certs --reader` (the signing one after its password),
# verified with openssl against `jpki ca export`; prints its serial.
reader_cert() {
	local type=$1 dir=$TMP/rcerts.$RANDOM
	mkdir -p "$dir" "$TMP/ca"
	"$JPKI" ca export --out "$TMP/ca" >/dev/null || fail "jpki ca export failed"
	"$JPKI" card certs --reader "$READER" --out "$dir" \
		$([ "$type" = sign ] && echo --sign) >"$dir/out" 2>&1 ||
		fail "jpki card certs --reader: $(cat "$dir/out")"
	openssl x509 -inform DER -in "$dir/$type.der" -out "$dir/$type.pem" ||
		fail "the $type certificate in the reader does not parse"
	openssl verify -attime "$(epoch "$JPKI_NOW")" -CAfile "$TMP/ca/$type-ca.pem" \
		"$dir/$type.pem" >/dev/null 2>"$TMP/verify.err" ||
		fail "openssl verify of the $type certificate in the reader: $(cat "$TMP/verify.err")"
	openssl x509 -in "$dir/$type.pem" -noout -serial | sed 's/^serial=//'
}

# store_valid sign|auth: the serial of the resident's valid certificate.
store_valid() {
	sql "SELECT serial FROM certificates WHERE resident_id = $R AND ca = $([ "$1" = sign ] && echo 1 || echo 2) AND status = 1 ORDER BY not_before DESC LIMIT 1"
}

pending_writes() {
	sql "SELECT COUNT(*) FROM card_writes WHERE card_serial = '$blank_serial' AND applied_at IS NULL"
}

check "deliver (both certificates) killed before its commit: no card record, nothing waits; it left both keys and the signing password on the card"
db_snapshot "$TMP/before.sql"
JPKI_COUNTER_CRASH=after-stage expect_status 137 counter deliver --resident "$R" --reader "$READER" --clerk "$CLERK"
expect_store_unchanged "$TMP/before.sql" "deliver killed before the commit"
expect_eq "no certificate on the card" "$(rstatus certificates.auth)" false
echo "a document" >"$TMP/doc"
ok card sign --reader "$READER" --type sign --in "$TMP/doc" --out "$TMP/doc.sig"

# reader_settled: the card put back (vpcd_attach) answers; pcscd takes a
# few polls to settle a card put back.
reader_settled() {
	for _ in $(seq 30); do
		"$JPKI" card status --reader "$READER" >"$TMP/settle.out" 2>&1 && return 0
		sleep 0.2
	done
	fail "the card put back does not answer: $(cat "$TMP/settle.out")"
}

check "the card taken out of the reader in the middle of a procedure: one error line, nothing recorded"
JPKI_COUNTER_PAUSE=$TMP/pause0 "$JPKI" counter deliver --resident "$R" --reader "$READER" --no-sign \
	--clerk "$CLERK" >"$TMP/stdout" 2>"$TMP/stderr" &
pid=$!
for _ in $(seq 100); do
	[ -e "$TMP/pause0" ] && break
	sleep 0.1
done
[ -e "$TMP/pause0" ] || fail "the delivery did not reach its pause: $(cat "$TMP/stderr")"
kill "$VPCD_ATTACH_PID"
wait "$VPCD_ATTACH_PID" 2>/dev/null || true
VPCD_ATTACH_PID=
for _ in $(seq 50); do
	opensc-tool -l 2>/dev/null | grep -q 'No.*Virtual PCD' && break
	sleep 0.1
done
rm -f "$TMP/pause0"
RC=0
wait "$pid" || RC=$?
ERR=$(cat "$TMP/stderr")
expect_eq "exit status with the card taken out (io)" "$RC" 3
expect_one_error_line "the card (was taken out of|stopped answering \\(taken out of) the reader"
expect_store_unchanged "$TMP/before.sql" "the card taken out"
vpcd_attach "$TMP/card.img"
reader_settled

check "deliver onto the blank card in the reader (authentication certificate only); meanwhile the card is another procedure's"
JPKI_COUNTER_PAUSE=$TMP/pause "$JPKI" counter deliver --resident "$R" --reader "$READER" --no-sign \
	--clerk "$CLERK" --json >"$TMP/deliver.out" 2>"$TMP/deliver.err" &
pid=$!
for _ in $(seq 100); do
	[ -e "$TMP/pause" ] && break
	sleep 0.1
done
[ -e "$TMP/pause" ] || fail "the delivery did not reach its pause: $(cat "$TMP/deliver.err")"
expect_status 1 counter recover --reader "$READER"
expect_one_error_line "the card in $READER is in use by another procedure"
# Other PC/SC clients are kept out by pcscd (an exclusive connection), not
# only this data directory's processes: refused at once, never interleaved.
expect_status 1 card status --reader "$READER"
expect_one_error_line "in use by another program"
opensc-tool -r 0 -s 00:A4:04:0C:00 >"$TMP/osc.out" 2>&1 &&
	fail "opensc-tool reached the card during the procedure: $(cat "$TMP/osc.out")"
rm -f "$TMP/pause"
wait "$pid" || fail "the paused delivery failed: $(cat "$TMP/deliver.err")"
opensc-tool -r 0 -s 00:A4:04:0C:00 >"$TMP/osc.out" 2>&1 ||
	fail "opensc-tool after the procedure: $(cat "$TMP/osc.out")"
cp "$TMP/deliver.out" "$TMP/stdout"
json_expect "deliver" receipt.card="$blank_serial" receipt.issued.0.type=auth
auth1=$(json_get receipt.issued.0.serial)
expect_eq "the card's record" "$(sql "SELECT serial FROM cards WHERE resident_id = $R")" "$blank_serial"
expect_eq "writes left" "$(pending_writes)" 0
expect_eq "the auth certificate in the reader" "$(reader_cert auth)" "$auth1"
expect_eq "auth PIN tries" "$(rstatus pins.auth.tries_left)" 3
# The delivery without the signing certificate erased the signing key the
# dead one made (6A88: no key), and its certificate EF is empty.
expect_status 3 card sign --reader "$READER" --type sign --in "$TMP/doc" --out "$TMP/doc.sig2"
expect_one_error_line "COMPUTE DIGITAL SIGNATURE: the card answered 6A88"
[ ! -s "$TMP/doc.sig2" ] || fail "the card still signs with the key of the delivery that never committed"
expect_eq "no signing certificate" "$(rstatus certificates.sign)" false
JPKI_CARDINFO_PIN=5678 ok card info --reader "$READER" --json
json_expect "card-info over PC/SC" issuer_signature=verified individual_number="$(individual_number 70000000011)"

check "a refusal (R9: renewal not open yet) changes neither the card nor the store"
cp "$TMP/card.img" "$TMP/card.before"
rstatus serial >/dev/null
cp "$TMP/rstatus.json" "$TMP/rstatus.before"
refused '^jpki: refused: R9: renewal opens' renew --reader "$READER" --type auth
cmp -s "$TMP/card.img" "$TMP/card.before" || fail "the refusal changed the card"
rstatus serial >/dev/null
cmp -s "$TMP/rstatus.json" "$TMP/rstatus.before" || fail "the refusal changed the card's status"

check "issue killed after the commit: the store has the certificate, the card not yet"
JPKI_COUNTER_CRASH=after-commit expect_status 137 counter issue --reader "$READER" --type sign --clerk "$CLERK"
sign1=$(store_valid sign)
[ -n "$sign1" ] || fail "the committed signing certificate is not in the store"
expect_eq "writes waiting" "$(pending_writes)" 1
expect_eq "no signing certificate on the card yet" "$(rstatus certificates.sign)" false
expect_audit_ok "after the crash"

check "the card's image opened with --card while its writes wait: refused, naming them and recover --reader"
# The card out of the reader: its image is free to open.
kill "$VPCD_ATTACH_PID"
wait "$VPCD_ATTACH_PID" 2>/dev/null || true
VPCD_ATTACH_PID=
db_snapshot "$TMP/before-img.sql"
cp "$TMP/card.img" "$TMP/card.img.before"
expect_status 1 counter update-card --card "$TMP/card.img" --clerk "$CLERK"
expect_one_error_line "card $blank_serial: the card writes of receipt [0-9]+, committed for it in a reader, are not on it yet; put the card in a reader and run 'jpki counter recover --reader NAME' first"
expect_store_unchanged "$TMP/before-img.sql" "an image refused for its waiting writes"
cmp -s "$TMP/card.img" "$TMP/card.img.before" || fail "the refused image procedure changed the image"
vpcd_attach "$TMP/card.img"
reader_settled

check "recover --reader rolls the card forward, audited"
ok counter recover --reader "$READER" --json
json_expect "recover" rolled_forward=1
expect_eq "writes waiting" "$(pending_writes)" 0
expect_eq "the signing certificate in the reader" "$(reader_cert sign)" "$sign1"
expect_eq "roll-forward audit entries" "$(sql "SELECT COUNT(*) FROM audit WHERE action = 'counter.roll-forward'")" 1
ok counter recover --reader "$READER" --json
json_expect "nothing left" rolled_forward=0
expect_audit_ok "after recover"

check "renew killed after the first card write: the next procedure applies all first"
at 2030-08-20T10:00:00+09:00
JPKI_COUNTER_CRASH=card-write expect_status 137 counter renew --reader "$READER" --type auth --clerk "$CLERK"
auth2=$(store_valid auth)
[ -n "$auth2" ] && [ "$auth2" != "$auth1" ] || fail "the renewed certificate is not in the store"
expect_eq "old one superseded" "$(sql "SELECT status FROM certificates WHERE serial = '$auth1'")" 2
expect_eq "writes waiting" "$(pending_writes)" 1
JPKI_SIGN_PASSWORD=NEWPASS9 counter reset-pin --reader "$READER" --type sign
receipt_get note | grep -q 'rolled forward' || fail "the receipt does not say the card was rolled forward: $(receipt_get note)"
expect_eq "writes waiting" "$(pending_writes)" 0
expect_eq "the renewed auth certificate in the reader" "$(reader_cert auth)" "$auth2"

check "the PIN reset is on the card: the new signing password reads the signing certificate"
expect_eq "sign PIN tries" "$(rstatus pins.sign.tries_left)" 5
JPKI_SIGN_PASSWORD=NEWPASS9 ok card certs --reader "$READER" --out "$TMP/after-reset" --sign
[ -s "$TMP/after-reset/sign.der" ] || fail "the new signing password did not open the signing certificate"
JPKI_SIGN_PASSWORD=HOLDER15 expect_status 1 card certs --reader "$READER" --out "$TMP/after-reset2" --sign
expect_eq "pin_resets" "$(sql "SELECT COUNT(*) FROM pin_resets")" 1

check "a proxy with the renewal form (R13) completes on the card in the reader"
ok counter notices --within 3m --out "$TMP/notices" --clerk "$CLERK" --json
FORM=$(grep ",$sign1," "$TMP/notices/notices.csv" | cut -d, -f1)
CODE=$(pdftotext -f 2 -l 2 "$TMP/notices/notice-$FORM.pdf" - |
	grep -Eo '^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$' | head -n 1)
[ -n "$FORM" ] && [ -n "$CODE" ] || fail "no renewal form for $sign1"
JPKI_FORM_CHECK_CODE=$CODE JPKI_SIGN_PASSWORD=FORM2030 ok counter proxy-complete --form "$FORM" \
	--reader "$READER" --proxy-name "鈴木 一郎" --proxy-id-type driving-licence \
	--proxy-id-number 301234567890 --clerk "$CLERK" --json
sign2=$(json_get receipt.issued.0.serial)
[ -n "$sign2" ] && [ "$sign2" != "$sign1" ] || fail "the proxy's renewal issued nothing"
expect_eq "the renewed signing certificate in the reader" "$(JPKI_SIGN_PASSWORD=FORM2030 reader_cert sign)" "$sign2"
expect_eq "writes left" "$(pending_writes)" 0

check "update-card killed after its writes, before they are marked: written again, marked"
ok resident change "$R" --address "東京都清瀬市中里4-4"
JPKI_COUNTER_CRASH=card-written expect_status 137 counter update-card --reader "$READER" --clerk "$CLERK"
expect_eq "writes waiting" "$(pending_writes)" 1
ok counter recover --reader "$READER" --json
json_expect "recover" rolled_forward=1
JPKI_CARDINFO_PIN=5678 ok card info --reader "$READER" --json
json_expect "card-info after update" issuer_signature=verified address="東京都清瀬市中里4-4"
expect_eq "roll-forward audit entries" "$(sql "SELECT COUNT(*) FROM audit WHERE action = 'counter.roll-forward'")" 3

check "report-lost --reader: the card lost, its valid certificates revoked; nothing more runs on it"
counter report-lost --reader "$READER"
expect_eq "card status" "$(sql "SELECT status FROM cards WHERE serial = '$blank_serial'")" 2
expect_eq "auth revoked" "$(sql "SELECT status FROM certificates WHERE serial = '$auth2'")" 2
refused '^jpki: refused: R11: the card is not usable' issue --reader "$READER" --type sign

check "the store and the card agree at the end"
expect_eq "auth" "$(reader_cert auth)" "$auth2"
# The address change revoked the signing certificate (R8d); the card keeps
# it until the holder asks for a new one.
expect_eq "sign" "$(JPKI_SIGN_PASSWORD=FORM2030 reader_cert sign)" "$sign2"
expect_eq "sign revoked by the change" "$(sql "SELECT status FROM certificates WHERE serial = '$sign2'")" 2
expect_eq "no writes left" "$(sql "SELECT COUNT(*) FROM card_writes WHERE applied_at IS NULL")" 0

check "OpenSC reads the card: both keys, the renewed authentication certificate"
pkcs15-tool -D >"$TMP/p15" 2>&1 || fail "pkcs15-tool -D: $(tr "\n" " " <"$TMP/p15")"
grep -q 'Private RSA Key \[User Authentication Key\]' "$TMP/p15" || fail "no auth key in pkcs15-tool -D"
grep -q 'Private RSA Key \[Digital Signature Key\]' "$TMP/p15" || fail "no signing key in pkcs15-tool -D"
pkcs15-tool --read-certificate 01 >"$TMP/p15auth.pem" 2>/dev/null || fail "pkcs15-tool --read-certificate 01"
expect_eq "pkcs15-tool's auth certificate" \
	"$(openssl x509 -in "$TMP/p15auth.pem" -noout -serial | sed 's/^serial=//')" "$auth2"
expect_audit_ok "end"
done_ok
