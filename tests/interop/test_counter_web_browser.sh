#!/usr/bin/env bash
# test_counter_web_browser.sh: the counter's web UI (`jpki counter serve`)
# in headless Chromium (Debian's chromium, driven by playwright-core from
# the npm registry; tests/browser/, installed by `make test-deps`).  A
# clerk signs in and delivers a card with both certificates, resets a PIN
# (R2), is refused a renewal four months before expiry with R9's own words
# and nothing changes, reports a loss and reissues for 800 + 200 yen (R7);
# a second clerk's session makes a proxy application without the form and
# completes it with the mailed form at a second visit days later (R14).
# Screenshots: $JPKI_BUILD/browser-screenshots/.  With DOC_IMAGES=DIR set
# the README's pictures are written there too (docs/img).
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/counter_lib.sh"

BROWSER_DIR=$(cd "$(dirname "$0")/../browser" && pwd)
for tool in node chromium pdftotext; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool is needed (scripts/install-deps.sh test)"
done
[ -d "$BROWSER_DIR/node_modules/playwright-core" ] ||
	fail "playwright-core is not installed: make test-deps (npm ci in tests/browser)"

# The data directory exists from 2021: resident D's certificates were
# issued then and expire on 2026-08-01, four months after T0.
at 2021-08-02T10:00:00+09:00
init_data
A=$(ok resident add --number "$(individual_number 50000000001)" --name "山田 太郎" \
	--kana "ヤマダ タロウ" --address "東京都清瀬市中里五丁目842番地" --birth 1980-12-31 \
	--gender male --json; json_get id)
B=$(add_resident "$(individual_number 50000000002)" "草加 花子" "埼玉県草加市高砂1-1-1" \
	1980-05-05 female)
D=$(add_resident "$(individual_number 50000000003)" "更新 早子" "東京都清瀬市元町一丁目4番17号" \
	1985-08-01 female)
mkdir -p "$DATA/cards"
deliver "$D" "$DATA/cards/r$D-1.img"
T0=2026-04-01T10:00:00+09:00
T1=2026-04-06T10:00:00+09:00
at "$T0"
# B opted out of both certificates at delivery (R8b): the proxy asks for
# the signing one.
deliver "$B" "$DATA/cards/r$B-1.img" --no-sign --no-auth
CLERK_PW=counter-pass-7
JPKI_CLERK_PASSWORD=$CLERK_PW ok clerk add suzuki --role clerk
JPKI_CLERK_PASSWORD=$CLERK_PW ok clerk add tanaka --role supervisor
unset JPKI_SIGN_PASSWORD JPKI_AUTH_PIN JPKI_CARDINFO_PIN

check "the browser scenario (tests/browser/counter.test.js)"
SHOTS=$JPKI_BUILD/browser-screenshots
rm -rf "$SHOTS"
JPKI_DATA=$DATA SHOTS=$SHOTS CLERK1=suzuki CLERK2=tanaka CLERK_PW=$CLERK_PW \
	A=$A B=$B D=$D T0=$T0 T1=$T1 DOC_IMAGES=${DOC_IMAGES:-} JPKI_WEB="$JPKI_SOURCE/web" \
	node "$BROWSER_DIR/counter.test.js" || fail "the browser scenario failed"
for s in dashboard resident procedure refusal-R9 proxy-visit1 proxy-visit2; do
	[ -s "$SHOTS/$s.png" ] || fail "no screenshot $s.png"
done

check "what the browser did is in the store as the CLI sees it, attributed to the clerks"
at "$T1"
ok audit verify
ok audit list --json
for who in suzuki tanaka; do
	grep -q "\"actor\": *\"$who\"" "$TMP/stdout" || fail "no audit entry by $who"
done
if store_holds HOLDER15 SEALED22 "$CLERK_PW"; then
	fail "a PIN or password is in the store"
fi
done_ok
