#!/usr/bin/env bash
# test_counter_web_reader.sh: the counter's web API runs procedures on a
# card in a PC/SC reader (a private pcscd with vsmartcard's vpcd, the card
# attached with `jpki card attach`): "reader" instead of "card" in
# /api/check and the procedures' bodies.  Delivery onto the blank card in
# the reader, issue and a PIN reset, each read back over PC/SC and checked
# against the store; a refusal and bad input change neither the card nor
# the store.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/counter_lib.sh"
. "$(dirname "$0")/vpcd_lib.sh"
need_test_hooks
command -v curl >/dev/null 2>&1 || fail "curl is needed"
READER="Virtual PCD"

init_data
R=$(add_resident "$(individual_number 70000000021)" "読取 三子" "東京都清瀬市中里5-5" 1985-05-05 female)
ok card new --out "$TMP/card.img" --data "$DATA" --json
serial=$(json_get serial)
unset JPKI_SIGN_PASSWORD JPKI_AUTH_PIN JPKI_CARDINFO_PIN
JPKI_CLERK_PASSWORD=reader-test-pass ok clerk add suzuki --role clerk

cleanup() {
	stop_counter_web
	vpcd_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
vpcd_start
vpcd_attach "$TMP/card.img"
start_counter_web

# call METHOD PATH [BODY]: status into $CODE, body into $TMP/stdout.
call() {
	local args=(-s -o "$TMP/stdout" -w '%{http_code}' -b "$TMP/jar" -c "$TMP/jar" -X "$1")
	[ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' -H "X-CSRF-Token: $CSRF" --data "$3")
	CODE=$(curl "${args[@]}" "$URL$2")
}
CSRF=
call POST /api/signin '{"username":"suzuki","password":"reader-test-pass"}'
[ "$CODE" = 200 ] || fail "sign-in: $CODE $(cat "$TMP/stdout")"
CSRF=$(json_get csrf)
R_Q=$(printf '%s' "$READER" | sed 's/ /%20/g')

# rstatus PATH: a value of `jpki card status --reader --json`.
rstatus() {
	"$JPKI" card status --reader "$READER" --json >"$TMP/rstatus.json" 2>&1 ||
		fail "jpki card status --reader: $(cat "$TMP/rstatus.json")"
	json_get "$1" "$TMP/rstatus.json"
}

# on_card sign|auth: the serial of the certificate in the reader.
on_card() {
	local dir=$TMP/c.$RANDOM
	mkdir -p "$dir"
	JPKI_SIGN_PASSWORD=HOLDER15 "$JPKI" card certs --reader "$READER" --out "$dir" \
		$([ "$1" = sign ] && echo --sign) >"$dir/out" 2>&1 ||
		fail "jpki card certs --reader: $(cat "$dir/out")"
	openssl x509 -inform DER -in "$dir/$1.der" -noout -serial | sed 's/^serial=//'
}

check "the card list while a procedure holds the card: the reader 'in use', at once; afterwards read again"
JPKI_AUTH_PIN=1234 JPKI_CARDINFO_PIN=5678 JPKI_COUNTER_PAUSE=$TMP/pause "$JPKI" counter deliver --resident "$R" --reader "$READER" --no-sign \
	--clerk suzuki >"$TMP/held.out" 2>&1 &
held=$!
for _ in $(seq 100); do
	[ -e "$TMP/pause" ] && break
	sleep 0.1
done
[ -e "$TMP/pause" ] || fail "the delivery did not reach its pause: $(cat "$TMP/held.out")"
CODE=$(curl -s -m 10 -o "$TMP/stdout" -w '%{http_code}' -b "$TMP/jar" "$URL/api/cards?readers=1") ||
	fail "the card list hung while a procedure held the card"
[ "$CODE" = 200 ] || fail "cards: $CODE $(cat "$TMP/stdout")"
"$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); p=[c for c in d["cards"] if c["source"]=="pcsc" and c["name"].startswith("Virtual PCD 00 00")]; sys.exit(0 if p and p[0].get("in_use") is True and "in use" in p[0].get("error","") and "serial" not in p[0] else 1)' "$TMP/stdout" ||
	fail "the held card is not listed 'in use': $(cat "$TMP/stdout")"
# The delivery dies before its commit: nothing recorded; the card is free.
kill -9 "$held"
wait "$held" 2>/dev/null || true
rm -f "$TMP/pause"
# pcscd drops the dead process's exclusive connection when it sees its
# socket close: a moment later.
read_again=
for _ in $(seq 50); do
	call GET "/api/cards?readers=1"
	if "$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); p=[c for c in d["cards"] if c["source"]=="pcsc" and c["name"].startswith("Virtual PCD 00 00")]; sys.exit(0 if p and p[0].get("serial")==sys.argv[2] else 1)' "$TMP/stdout" "$serial"; then
		read_again=1
		break
	fi
	sleep 0.1
done
[ -n "$read_again" ] || fail "the card is not read again after the procedure: $(cat "$TMP/stdout")"

check "GET /api/check for a delivery onto the card in the reader: allowed"
call GET "/api/check?procedure=deliver&resident=$R&reader=$R_Q&types=auth"
[ "$CODE" = 200 ] || fail "check: $CODE $(cat "$TMP/stdout")"
json_expect "check deliver" allowed=true

check "POST /api/procedures/deliver with the reader: the blank card becomes the resident's"
call POST /api/procedures/deliver "{\"resident\":$R,\"reader\":\"$READER\",\"types\":\"auth\",\"pins\":{\"auth\":\"1234\",\"cardinfo\":\"5678\"}}"
[ "$CODE" = 200 ] || fail "deliver: $CODE $(cat "$TMP/stdout")"
json_expect "deliver" receipt.card="$serial" card_reader="$READER"
auth=$(json_get receipt.issued.0.serial)
expect_eq "the card's record" "$(sql "SELECT serial FROM cards WHERE resident_id = $R")" "$serial"
expect_eq "the auth certificate in the reader" "$(on_card auth)" "$auth"

check "GET /api/check for issue on the card in the reader reads it: allowed, the card's serial"
call GET "/api/check?procedure=issue&reader=$R_Q&types=sign"
[ "$CODE" = 200 ] || fail "check: $CODE $(cat "$TMP/stdout")"
json_expect "check issue" allowed=true resident="$R"

check "POST /api/procedures/issue with the reader"
call POST /api/procedures/issue "{\"reader\":\"$READER\",\"types\":\"sign\",\"pins\":{\"sign\":\"HOLDER15\"}}"
[ "$CODE" = 200 ] || fail "issue: $CODE $(cat "$TMP/stdout")"
sign=$(json_get receipt.issued.0.serial)
expect_eq "the signing certificate in the reader" "$(on_card sign)" "$sign"
expect_eq "writes left" "$(sql "SELECT COUNT(*) FROM card_writes WHERE applied_at IS NULL")" 0

check "POST /api/procedures/reset-pin with the reader"
call POST /api/procedures/reset-pin "{\"reader\":\"$READER\",\"pin_kind\":\"auth\",\"new_pin\":\"9753\"}"
[ "$CODE" = 200 ] || fail "reset-pin: $CODE $(cat "$TMP/stdout")"
JPKI_AUTH_PIN=9753 ok card sign --reader "$READER" --type auth --in "$TMP/card.img" --out "$TMP/sig"
expect_eq "auth PIN tries" "$(rstatus pins.auth.tries_left)" 3

check "a refusal (issue of a certificate the card has), a bad reader name, card and reader both: nothing changes"
db_snapshot "$TMP/before.sql"
cp "$TMP/card.img" "$TMP/card.before"
call POST /api/procedures/issue "{\"reader\":\"$READER\",\"types\":\"sign\",\"pins\":{\"sign\":\"HOLDER15\"}}"
[ "$CODE" != 200 ] || fail "a second signing certificate was issued"
grep -q 'R8' "$TMP/stdout" || fail "the refusal does not name its rule: $(cat "$TMP/stdout")"
call POST /api/procedures/update-card "{\"reader\":\"bad\\nname\"}"
[ "$CODE" = 400 ] || fail "a reader name over two lines: $CODE $(cat "$TMP/stdout")"
call POST /api/procedures/update-card "{\"reader\":\"$READER\",\"card\":\"$serial\"}"
[ "$CODE" = 400 ] || fail "card and reader both: $CODE $(cat "$TMP/stdout")"
expect_store_unchanged "$TMP/before.sql" "refused web procedures"
cmp -s "$TMP/card.img" "$TMP/card.before" || fail "a refused web procedure changed the card"

check "GET /api/check on a card whose delivery committed and whose writes wait: says so, judges on the card as they leave it, as the procedure does"
R2=$(add_resident "$(individual_number 70000000022)" "読取 四郎" "東京都清瀬市中里6-6" 1990-06-06 male)
ok card new --out "$TMP/card2.img" --data "$DATA" --json
serial2=$(json_get serial)
kill "$VPCD_ATTACH_PID"
wait "$VPCD_ATTACH_PID" 2>/dev/null || true
VPCD_ATTACH_PID=
vpcd_attach "$TMP/card2.img"
for _ in $(seq 30); do
	rstatus serial 2>/dev/null | grep -q "$serial2" && break
	sleep 0.2
done
JPKI_AUTH_PIN=1234 JPKI_CARDINFO_PIN=5678 JPKI_COUNTER_CRASH=after-commit \
	expect_status 137 counter deliver --resident "$R2" --reader "$READER" --no-sign --clerk suzuki
waiting() { sql "SELECT COUNT(*) FROM card_writes WHERE card_serial = '$serial2' AND applied_at IS NULL"; }
expect_eq "writes waiting" "$(waiting)" 1
# The card itself has no card-info AP yet (it is among the waiting
# writes): read as it is, it would look outdated and update-card allowed.
call GET "/api/check?procedure=update-card&reader=$R_Q"
[ "$CODE" = 200 ] || fail "check: $CODE $(cat "$TMP/stdout")"
json_expect "check with writes waiting" allowed=false writes_waiting=1
grep -q 'already carries the register' "$TMP/stdout" || fail "the check judged on the card's older state: $(cat "$TMP/stdout")"
grep -q 'are applied first' "$TMP/stdout" || fail "the check does not say writes wait: $(cat "$TMP/stdout")"
expect_eq "the check applied nothing" "$(waiting)" 1
call POST /api/procedures/update-card "{\"reader\":\"$READER\"}"
[ "$CODE" != 200 ] || fail "update-card ran on a card the check called current: $(cat "$TMP/stdout")"
grep -q 'already carries the register' "$TMP/stdout" || fail "the procedure's answer differs from the check's: $(cat "$TMP/stdout")"
expect_eq "the procedure rolled the card forward" "$(waiting)" 0
call GET "/api/check?procedure=update-card&reader=$R_Q"
json_expect "check after the roll-forward" allowed=false writes_waiting=0
expect_audit_ok "end"
done_ok
