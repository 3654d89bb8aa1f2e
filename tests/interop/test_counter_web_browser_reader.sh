#!/usr/bin/env bash
# test_counter_web_browser_reader.sh: the counter's web UI in headless
# Chromium (tests/browser/reader.test.js, playwright-core) with a card in
# a PC/SC reader (a private pcscd with vsmartcard's vpcd, a blank card
# attached with `jpki card attach`): the procedure page offers the card in
# the reader, the clerk delivers onto it and resets its PIN; the card then
# holds what the store says, read back over PC/SC.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/counter_lib.sh"
. "$(dirname "$0")/vpcd_lib.sh"
BROWSER_DIR=$(cd "$(dirname "$0")/../browser" && pwd)
for tool in node chromium openssl; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool is needed (scripts/install-deps.sh test)"
done
[ -d "$BROWSER_DIR/node_modules/playwright-core" ] ||
	fail "playwright-core is not installed: make test-deps (npm ci in tests/browser)"
READER="Virtual PCD"

cleanup() {
	vpcd_stop
	rm -rf "$TMP"
}
trap cleanup EXIT

init_data
at 2026-04-01T10:00:00+09:00
R=$(add_resident "$(individual_number 70000000031)" "読取 五郎" "東京都清瀬市中里7-7" 1975-07-07 male)
ok card new --out "$TMP/card.img" --data "$DATA" --json
serial=$(json_get serial)
CLERK_PW=reader-browser-pass
JPKI_CLERK_PASSWORD=$CLERK_PW ok clerk add suzuki --role clerk
unset JPKI_SIGN_PASSWORD JPKI_AUTH_PIN JPKI_CARDINFO_PIN
vpcd_start
vpcd_attach "$TMP/card.img"

check "the browser scenario (tests/browser/reader.test.js)"
SHOTS=$JPKI_BUILD/browser-screenshots
JPKI_DATA=$DATA SHOTS=$SHOTS CLERK=suzuki CLERK_PW=$CLERK_PW R=$R SERIAL=$serial \
	READER="$READER" JPKI_WEB="$JPKI_SOURCE/web" \
	node "$BROWSER_DIR/reader.test.js" || fail "the browser scenario failed"
[ -s "$SHOTS/reader-deliver.png" ] || fail "no screenshot reader-deliver.png"

check "the card in the reader holds what the browser did: the store's authentication certificate, the new PIN"
expect_eq "the card's record" "$(sql "SELECT serial FROM cards WHERE resident_id = $R")" "$serial"
expect_eq "writes left" "$(sql "SELECT COUNT(*) FROM card_writes WHERE applied_at IS NULL")" 0
auth=$(sql "SELECT serial FROM certificates WHERE resident_id = $R AND ca = 2 AND status = 1")
mkdir -p "$TMP/certs"
ok card certs --reader "$READER" --out "$TMP/certs"
expect_eq "the auth certificate in the reader" \
	"$(openssl x509 -inform DER -in "$TMP/certs/auth.der" -noout -serial | sed 's/^serial=//')" "$auth"
echo "a document" >"$TMP/doc"
JPKI_AUTH_PIN=9753 ok card sign --reader "$READER" --type auth --in "$TMP/doc" --out "$TMP/doc.sig"
expect_eq "PIN resets" "$(sql "SELECT COUNT(*) FROM pin_resets")" 1
expect_audit_ok "end"
done_ok
