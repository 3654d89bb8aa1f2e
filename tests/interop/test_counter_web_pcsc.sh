#!/usr/bin/env bash
# test_counter_web_pcsc.sh: the counter's web UI lists the cards present:
# the card images in the data directory, and a card in a PC/SC reader
# (a private pcscd with vsmartcard's vpcd, the card attached with `jpki
# card attach`), read through the card transports and matched to its
# holder in the store.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/counter_lib.sh"
. "$(dirname "$0")/vpcd_lib.sh"
command -v curl >/dev/null 2>&1 || fail "curl is needed"

init_data
R=$(add_resident "$(individual_number 70000000001)" "読取 一子" "東京都清瀬市中里2-2" 1990-02-03 female)
mkdir -p "$DATA/cards"
deliver "$R" "$DATA/cards/r$R-1.img"
cp "$DATA/cards/r$R-1.img" "$TMP/in-reader.img"
JPKI_CLERK_PASSWORD=pcsc-test-pass ok clerk add suzuki --role clerk

cleanup() {
	stop_counter_web
	vpcd_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
vpcd_start
vpcd_attach "$TMP/in-reader.img"
start_counter_web
curl -s -c "$TMP/jar" -H 'Content-Type: application/json' \
	--data '{"username":"suzuki","password":"pcsc-test-pass"}' "$URL/api/signin" >/dev/null

check "the card image in the data directory is listed with its serial and holder"
curl -s -b "$TMP/jar" "$URL/api/cards" >"$TMP/stdout"
json_expect "image" "cards.0.source=image" "cards.0.name=r$R-1.img" "cards.0.resident=$R"

check "the card in the vpcd reader is read over PC/SC and matched to its holder"
found=
for _ in $(seq 50); do
	curl -s -b "$TMP/jar" "$URL/api/cards?readers=1" >"$TMP/stdout"
	# The same serial as the image's, the same holder, in "Virtual PCD".
	if "$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); p=[c for c in d["cards"] if c["source"]=="pcsc" and "serial" in c]; sys.exit(0 if p and p[0]["serial"]==d["cards"][0]["serial"] and p[0].get("resident")==d["cards"][0]["resident"] and p[0]["name"].startswith("Virtual PCD") else 1)' "$TMP/stdout"; then
		found=1
		break
	fi
	sleep 0.2
done
[ -n "$found" ] || fail "no card in the PC/SC reader: $(cat "$TMP/stdout") $(tail -5 "$TMP/pcsc/attach.log")"
done_ok
