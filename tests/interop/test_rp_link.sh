#!/usr/bin/env bash
# test_rp_link.sh: linkage (紐付け) for registered relying parties through
# the real HTTP server (GET /rp/link/SERIAL) and `jpki rp link`: from a
# signing certificate revoked by a move (R6) to its successor issued at the
# next visit (R8d, kind "change") and the holder's authentication
# certificate (signing <-> authentication), from the authentication
# certificate to the signing one; serials and statuses only (R5); a key
# not in the config's rp_api_keys, or none, is refused (401), an unknown
# serial is 404; every lookup is in the audit log with who asked.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
export JPKI_SIGN_PASSWORD=HOLDER15 JPKI_AUTH_PIN=1234 JPKI_CARDINFO_PIN=5678

serve_init
KEY=k3y-0f-the-bank-0123456789abcdef
sed -i "s/^rp_api_keys = .*/rp_api_keys = bank:$KEY, portal:another-key-0123456789/" "$DATA/config"
grep -q "^rp_api_keys = bank:" "$DATA/config" || fail "no rp_api_keys line in the config"
ok counter deliver --resident "$TARO" --out "$TMP/card.img" --clerk clerk-sato --json
SIGN=$(json_get receipt.issued.0.serial)
AUTH=$(json_get receipt.issued.1.serial)
ok resident change "$TARO" --address "東京都千代田区丸の内1-1" --clerk clerk-sato
ok counter update-card --card "$TMP/card.img" --clerk clerk-sato
ok counter issue --card "$TMP/card.img" --type sign --clerk clerk-sato --json
SIGN2=$(json_get receipt.issued.0.serial)
start_server --listen "127.0.0.1:$PORT" --rp

# link SERIAL [curl args]: GET /rp/link/SERIAL; $CODE, body in $TMP/stdout.
link() {
	local serial=$1
	shift
	CODE=$(curl -s -o "$TMP/stdout" -w '%{http_code}' "$@" "$BASE/rp/link/$serial")
}

check "the revoked signing certificate: its successor after the move, the holder's authentication certificate"
link "$SIGN" -H "Authorization: Bearer $KEY"
[ "$CODE" = 200 ] || fail "HTTP $CODE: $(cat "$TMP/stdout")"
json_expect "link" certificate.serial="$SIGN" certificate.status=revoked certificate.type=sign \
	successors.0.kind=change successors.0.certificate.serial="$SIGN2" \
	successors.0.certificate.status=valid newest="$SIGN2" other.serial="$AUTH" other.type=auth
if grep -q "山田\|千代田\|1980" "$TMP/stdout"; then fail "personal facts in linkage: $(cat "$TMP/stdout")"; fi

check "from the authentication certificate: the valid signing certificate (X-API-Key too, lower-case hex)"
link "$(echo "$AUTH" | tr 'A-F' 'a-f')" -H "X-API-Key: $KEY"
[ "$CODE" = 200 ] || fail "HTTP $CODE: $(cat "$TMP/stdout")"
json_expect "auth" certificate.serial="$AUTH" newest="$AUTH" other.serial="$SIGN2" other.type=sign

check "no key, a wrong key: 401; an unknown serial: 404; not hex: 400"
link "$SIGN"
[ "$CODE" = 401 ] || fail "no key: HTTP $CODE"
link "$SIGN" -H "Authorization: Bearer ${KEY}x"
[ "$CODE" = 401 ] || fail "wrong key: HTTP $CODE"
link "$SIGN" -H "Authorization: Bearer bank"
[ "$CODE" = 401 ] || fail "a name for a key: HTTP $CODE"
link 0123456789ABCDEF -H "Authorization: Bearer $KEY"
[ "$CODE" = 404 ] || fail "unknown serial: HTTP $CODE"
link "xyz" -H "Authorization: Bearer $KEY"
[ "$CODE" = 400 ] || fail "not hex: HTTP $CODE"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $KEY" "$BASE/rp/link/$SIGN")
[ "$CODE" = 405 ] || fail "POST: HTTP $CODE"

check "jpki rp link: the same, from the command line"
ok rp link "$SIGN" --json
json_expect "cli" newest="$SIGN2" other.serial="$AUTH"
ok rp link "$SIGN"
grep -q "^  -> change   $SIGN2 (valid)" "$TMP/stdout" || fail "text: $OUT"
expect_status 2 rp link 0123456789ABCDEF
expect_one_error_line "^jpki: not-found: linkage: no certificate"
expect_status 2 rp link zz-top

check "every lookup audited with who asked (and nothing for the refused ones)"
ok audit list --json --limit 1000
"$PYTHON" - "$TMP/stdout" "$SIGN" "$AUTH" <<'PY' || fail "audit: $(cat "$TMP/stdout" | head -c 600)"
import json, sys
entries = json.load(open(sys.argv[1]))
if isinstance(entries, dict):
    entries = entries.get("entries", [])
links = [(e["actor"], e["subject"]) for e in entries if e["action"] == "rp-link"]
want = [("rp:bank", sys.argv[2]), ("rp:bank", sys.argv[3]), ("operator", sys.argv[2]), ("operator", sys.argv[2])]
assert links == want, links
PY
ok audit verify
done_ok
