#!/usr/bin/env bash
# test_counter_web_api.sh: the JSON API of `jpki counter serve` with curl.
# Every state-changing endpoint refuses a request with no session, with a
# missing or a wrong CSRF token, and the clerk-administration and approval
# endpoints a clerk whose role is too low; the lockout engages after five
# failed sign-ins; manual revocation waits for a second person; a password
# or a PIN never appears in the server's log, the store or a response.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"
command -v curl >/dev/null 2>&1 || fail "curl is needed"
command -v pdftotext >/dev/null 2>&1 || fail "pdftotext is needed (poppler-utils)"

init_data
R=$(add_resident "$(individual_number 60000000001)" "窓口 太郎" "東京都清瀬市中里1-1" 1980-01-02 male)
mkdir -p "$DATA/cards"
deliver "$R" "$DATA/cards/r$R-1.img"
unset JPKI_SIGN_PASSWORD JPKI_AUTH_PIN JPKI_CARDINFO_PIN
PW=api-test-pass-1
for c in suzuki:clerk tanaka:supervisor boss:admin; do
	JPKI_CLERK_PASSWORD=$PW ok clerk add "${c%%:*}" --role "${c#*:}"
done

check "docs/counter-api.yaml documents every route the server has"
for p in $(grep -o '{"[A-Z]*", "/api/[a-z/-]*"' "$JPKI_SOURCE/src/webui/http.c" |
	sed 's/.*"\(\/api[^"]*\)"/\1/' | sort -u); do
	grep -q "^  ${p%/}" "$JPKI_SOURCE/docs/counter-api.yaml" || fail "$p is not in docs/counter-api.yaml"
done

check "jpki clerk refuses a short password, a bad name, a second add; nothing changes"
JPKI_CLERK_PASSWORD=short expect_status 2 clerk add yamada --role clerk
JPKI_CLERK_PASSWORD=$PW expect_status 2 clerk add Bad/Name --role clerk
JPKI_CLERK_PASSWORD=$PW expect_status 2 clerk add yamada --role boss
JPKI_CLERK_PASSWORD=$PW expect_status 1 clerk add suzuki --role clerk
ok clerk list --json
[ "$(json_len)" = 3 ] || fail "clerk list: $OUT"

LOG=$TMP/counter.err
trap 'stop_counter_web; rm -rf "$TMP"' EXIT
start_counter_web

RESP=$TMP/responses
: >"$RESP"
# call NAME METHOD PATH [BODY [CSRF]]: status into $CODE, body into $BODY
# (and appended to $RESP); uses the cookie jar $TMP/NAME.jar.
call() {
	local jar=$TMP/$1.jar method=$2 path=$3 body=${4:-} csrf=${5:-}
	local args=(-s -o "$TMP/body" -w '%{http_code}' -b "$jar" -c "$jar" -X "$method")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data "$body")
	[ -n "$csrf" ] && args+=(-H "X-CSRF-Token: $csrf")
	CODE=$(curl "${args[@]}" "$URL$path")
	BODY=$(cat "$TMP/body")
	cat "$TMP/body" >>"$RESP"
	echo >>"$RESP"
}
jfield() { printf '%s' "$BODY" | "$PYTHON" -c "import json,sys; print(json.load(sys.stdin)$1)"; }
signin() {
	call "$1" POST /api/signin "{\"username\":\"$1\",\"password\":\"$PW\"}"
	[ "$CODE" = 200 ] || fail "sign-in of $1: $CODE $BODY"
	jfield "['csrf']"
}

check "GET /healthz answers without a session"
call anon GET /healthz
[ "$CODE" = 200 ] && [ "$BODY" = ok ] || fail "healthz: $CODE $BODY"

POSTS="/api/signout /api/procedures/deliver /api/procedures/issue /api/procedures/renew
/api/procedures/report-lost /api/procedures/reissue /api/procedures/reset-pin
/api/procedures/update-card /api/procedures/proxy-apply /api/procedures/proxy-complete
/api/procedures/notices /api/approvals /api/approvals/approve /api/approvals/reject
/api/clerks /api/clerks/disable /api/clerks/password"
BODY_REQ="{\"resident\":$R,\"card\":\"r$R-1.img\",\"types\":\"both\",\"name\":\"tanaka\"}"
db_snapshot "$TMP/before.sql"

check "every state-changing endpoint refuses a request with no session (401)"
for p in $POSTS; do
	call anon POST "$p" "$BODY_REQ"
	[ "$CODE" = 401 ] || fail "$p without a session: $CODE $BODY"
done
expect_store_unchanged "$TMP/before.sql" "requests without a session"

CSRF_C=$(signin suzuki)
# The token with its last digit changed.
case $CSRF_C in
*0) WRONG_CSRF=${CSRF_C%?}1 ;;
*) WRONG_CSRF=${CSRF_C%?}0 ;;
esac
db_snapshot "$TMP/before.sql"
check "every state-changing endpoint refuses a missing or a wrong CSRF token (403)"
for p in $POSTS; do
	call suzuki POST "$p" "$BODY_REQ"
	[ "$CODE" = 403 ] || fail "$p without a CSRF token: $CODE $BODY"
	call suzuki POST "$p" "$BODY_REQ" "$WRONG_CSRF"
	[ "$CODE" = 403 ] || fail "$p with a wrong CSRF token: $CODE $BODY"
done
check "a form post (not JSON) is refused even with the token"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -b "$TMP/suzuki.jar" -H "X-CSRF-Token: $CSRF_C" \
	--data "resident=$R" "$URL/api/procedures/report-lost")
[ "$CODE" = 415 ] || fail "form post: $CODE"
expect_store_unchanged "$TMP/before.sql" "requests without the CSRF token"

check "a clerk's role is refused the supervisor's and administrator's endpoints (403)"
for p in /api/approvals/approve /api/approvals/reject /api/clerks /api/clerks/disable /api/clerks/password; do
	call suzuki POST "$p" '{"id":1,"name":"tanaka","role":"clerk","password":"x"}' "$CSRF_C"
	[ "$CODE" = 403 ] || fail "$p as a clerk: $CODE $BODY"
done
call suzuki GET /api/clerks
[ "$CODE" = 403 ] || fail "GET /api/clerks as a clerk: $CODE"
expect_store_unchanged "$TMP/before.sql" "requests of the wrong role"
CSRF_S=$(signin tanaka)
db_snapshot "$TMP/before.sql"
call tanaka POST /api/clerks '{"name":"x1","role":"clerk","password":"long-enough-1"}' "$CSRF_S"
[ "$CODE" = 403 ] || fail "a supervisor added a clerk: $CODE"
expect_store_unchanged "$TMP/before.sql" "a supervisor adding a clerk"

check "a second sign-in ends the session of the cookie it came with"
cp "$TMP/suzuki.jar" "$TMP/old.jar"
call suzuki POST /api/signin "{\"username\":\"suzuki\",\"password\":\"$PW\"}"
CSRF_C=$(jfield "['csrf']")
call old GET /api/session
[ "$CODE" = 401 ] || fail "the old session lives on after a new sign-in: $CODE"
call suzuki GET /api/session
[ "$CODE" = 200 ] || fail "the new session: $CODE"

check "the session cookie is HttpOnly, SameSite=Strict, Path=/"
grep -q "HttpOnly" "$TMP/suzuki.jar" || fail "cookie not HttpOnly: $(cat "$TMP/suzuki.jar")"
curl -si -H 'Content-Type: application/json' --data "{\"username\":\"suzuki\",\"password\":\"$PW\"}" \
	"$URL/api/signin" | grep -i '^set-cookie:' | grep -q 'HttpOnly; SameSite=Strict' ||
	fail "Set-Cookie lacks HttpOnly; SameSite=Strict"

check "a PIN reset through the API: the PIN is in no response, log or store"
call suzuki POST /api/procedures/reset-pin "{\"card\":\"r$R-1.img\",\"pin_kind\":\"auth\",\"new_pin\":\"9753\"}" "$CSRF_C"
[ "$CODE" = 200 ] || fail "reset-pin: $CODE $BODY"
[ "$(jfield "['receipt']['procedure']")" = reset-pin ] || fail "reset-pin receipt: $BODY"
call suzuki POST /api/procedures/reset-pin "{\"card\":\"r$R-1.img\",\"pin_kind\":\"auth\",\"new_pin\":\"12a4\"}" "$CSRF_C"
[ "$CODE" = 400 ] || fail "a malformed PIN: $CODE $BODY"

check "the reset's receipt as a PDF: with a session only, the same as the CLI writes"
call suzuki GET "/api/residents/$R"
N=$(jfield "['receipts']" | "$PYTHON" -c "import ast,sys; print([r['number'] for r in ast.literal_eval(sys.stdin.read()) if r['procedure'] == 'reset-pin'][0])")
call anon GET "/api/receipts/$N.pdf"
[ "$CODE" = 401 ] || fail "a receipt PDF without a session: $CODE"
CODE=$(curl -s -o "$TMP/receipt.pdf" -w '%{http_code} %{content_type}' -b "$TMP/suzuki.jar" "$URL/api/receipts/$N.pdf")
[ "$CODE" = "200 application/pdf" ] || fail "receipt PDF: $CODE"
pdftotext -layout "$TMP/receipt.pdf" - | sed 's/[ 　]//g' >"$TMP/receipt.txt"
grep -q "受付番号$N" "$TMP/receipt.txt" && grep -q '暗証番号' "$TMP/receipt.txt" ||
	fail "the receipt PDF: $(cat "$TMP/receipt.txt")"
ok counter receipt --data "$DATA" --number "$N" --out "$TMP/cli.pdf"
[ "$(pdftotext -layout "$TMP/cli.pdf" - | sed 's/[ 　]//g')" = "$(cat "$TMP/receipt.txt")" ] ||
	fail "the web UI's receipt PDF differs from the CLI's"
for bad in "0.pdf" "x.pdf" "$N.pdf.pdf" "99999.pdf" ".pdf" "-1.pdf"; do
	call suzuki GET "/api/receipts/$bad"
	case $CODE in 400 | 404) ;; *) fail "/api/receipts/$bad: $CODE $BODY" ;; esac
done

check "procedures refused by their rule answer the library's words and change nothing"
db_snapshot "$TMP/before.sql"
call suzuki POST /api/procedures/issue "{\"card\":\"r$R-1.img\",\"types\":\"auth\",\"pins\":{\"auth\":\"1111\"}}" "$CSRF_C"
[ "$CODE" = 422 ] && [ "$(jfield "['rule']")" = R8 ] || fail "issue over a valid certificate: $CODE $BODY"
call suzuki POST /api/procedures/renew "{\"card\":\"r$R-1.img\",\"types\":\"both\",\"pins\":{\"sign\":\"ABCDEF12\",\"auth\":\"1111\"}}" "$CSRF_C"
[ "$CODE" = 422 ] && [ "$(jfield "['rule']")" = R9 ] || fail "early renewal: $CODE $BODY"
call suzuki POST /api/procedures/update-card "{\"card\":\"r$R-1.img\"}" "$CSRF_C"
[ "$CODE" = 409 ] || fail "update of a current card: $CODE $BODY"
call suzuki POST /api/procedures/proxy-complete "{\"card\":\"r$R-1.img\",\"proxy\":{\"name\":\"x\",\"doc_type\":\"passport\",\"doc_number\":\"1\"}}" "$CSRF_C"
[ "$CODE" = 422 ] && [ "$(jfield "['rule']")" = R14 ] || fail "proxy without a form: $CODE $BODY"
call suzuki POST /api/procedures/deliver "{\"resident\":$R}" "$CSRF_C"
[ "$CODE" = 422 ] || fail "a second card: $CODE $BODY"
call suzuki POST /api/procedures/reissue "{\"resident\":$R}" "$CSRF_C"
[ "$CODE" = 422 ] || fail "reissue without a loss: $CODE $BODY"
call suzuki POST /api/procedures/deliver '{"resident":"1; DROP TABLE residents"}' "$CSRF_C"
[ "$CODE" = 400 ] || fail "a bad resident id: $CODE $BODY"
call suzuki POST /api/procedures/issue '{"card":"../../etc/passwd","types":"auth"}' "$CSRF_C"
[ "$CODE" = 400 ] || fail "a card path outside the data directory: $CODE $BODY"
call suzuki POST /api/procedures/issue '{"card":' "$CSRF_C"
[ "$CODE" = 400 ] || fail "malformed JSON: $CODE $BODY"
expect_store_unchanged "$TMP/before.sql" "refused procedures"
call suzuki GET "/api/check?procedure=renew&card=r$R-1.img&types=both"
[ "$CODE" = 200 ] && [ "$(jfield "['allowed']")" = False ] && [ "$(jfield "['rules'][0]")" = R9 ] ||
	fail "check renew: $CODE $BODY"
call suzuki GET "/api/check?procedure=reissue&resident=$R"
[ "$(jfield "['allowed']")" = False ] || fail "check reissue: $BODY"
expect_store_unchanged "$TMP/before.sql" "checks"

check "manual revocation waits for a second person (a supervisor, not the requester)"
ok cert list --json
SERIAL=$(printf '%s' "$OUT" | "$PYTHON" -c 'import json,sys; print([c for c in json.load(sys.stdin) if c["type"]=="sign"][0]["serial"])')
call suzuki POST /api/approvals "{\"kind\":\"revoke\",\"serial\":\"$SERIAL\",\"reason\":\"keyCompromise\"}" "$CSRF_C"
[ "$CODE" = 200 ] || fail "request: $CODE $BODY"
AID=$(jfield "['id']")
ok cert show "$SERIAL" --json
json_expect "before approval" status=valid
call tanaka POST /api/approvals "{\"kind\":\"audit-export\"}" "$CSRF_S"
EID=$(jfield "['id']")
call tanaka POST /api/approvals/approve "{\"id\":$EID}" "$CSRF_S"
[ "$CODE" = 422 ] || fail "a supervisor approved their own request: $CODE $BODY"
call tanaka POST /api/approvals/approve "{\"id\":$AID}" "$CSRF_S"
[ "$CODE" = 200 ] || fail "approve: $CODE $BODY"
# Read by another process while the server's connections are open.
[ "$(db_sql "SELECT state FROM approvals WHERE id = $AID")" = 2 ] ||
	fail "the approval is not in the store for another process to see"
ok cert show "$SERIAL" --json
json_expect "after approval" status=revoked
call suzuki GET "/api/approvals/export/$EID"
[ "$CODE" = 422 ] || fail "someone else's export: $CODE"
CSRF_A=$(signin boss)
call boss POST /api/approvals/approve "{\"id\":$EID}" "$CSRF_A"
[ "$CODE" = 200 ] || fail "admin approves the export: $CODE $BODY"
call tanaka GET "/api/approvals/export/$EID"
[ "$CODE" = 200 ] && [ "$(jfield "['verdict']")" = ok ] || fail "export: $CODE"
call tanaka GET "/api/approvals/export/$EID"
[ "$CODE" = 422 ] || fail "an export twice: $CODE"

check "approvals live in the store: a restart keeps a pending request"
call suzuki POST /api/approvals '{"kind":"audit-export","note":"for the auditor"}' "$CSRF_C"
[ "$CODE" = 200 ] || fail "request: $CODE $BODY"
PID2=$(jfield "['id']")
[ "$(db_sql "SELECT state FROM approvals WHERE id = $PID2")" = 1 ] ||
	fail "the request is not in the store"
call tanaka POST /api/approvals/reject "{\"id\":$PID2}" "$CSRF_S"
[ "$CODE" = 200 ] && [ "$(jfield "['state']")" = rejected ] || fail "reject: $CODE $BODY"
call tanaka POST /api/approvals/approve "{\"id\":$PID2}" "$CSRF_S"
[ "$CODE" = 409 ] || fail "approving a rejected request: $CODE $BODY"

check "administration: disable ends the clerk's sessions and sign-ins"
call boss POST /api/clerks '{"name":"yamada","role":"clerk","password":"yamada-pass-9"}' "$CSRF_A"
[ "$CODE" = 200 ] || fail "add: $CODE $BODY"
call boss POST /api/clerks/disable '{"name":"suzuki"}' "$CSRF_A"
[ "$CODE" = 200 ] || fail "disable: $CODE $BODY"
call suzuki GET /api/session
[ "$CODE" = 401 ] || fail "a disabled clerk's session lives on: $CODE"
call suzuki POST /api/signin "{\"username\":\"suzuki\",\"password\":\"$PW\"}"
[ "$CODE" = 401 ] || fail "a disabled clerk signed in: $CODE"

check "the lockout engages after 5 failed sign-ins, even for the right password after"
for i in 1 2 3 4 5; do
	call x POST /api/signin '{"username":"tanaka","password":"wrong-password-'$i'"}'
	[ "$CODE" = 401 ] || fail "failed sign-in $i: $CODE $BODY"
done
call x POST /api/signin "{\"username\":\"tanaka\",\"password\":\"$PW\"}"
[ "$CODE" = 423 ] || fail "no lockout: $CODE $BODY"
ok clerk list --json
printf '%s' "$OUT" | grep -q '"locked"' || fail "clerk list shows no lock: $OUT"
JPKI_CLERK_PASSWORD=$PW-new ok clerk passwd tanaka
call x POST /api/signin "{\"username\":\"tanaka\",\"password\":\"$PW-new\"}"
[ "$CODE" = 200 ] || fail "a new password does not clear the lockout: $CODE $BODY"

check "sign-ins, failures and the lockout are audited, by clerk"
ok audit verify
ok audit list --json
for a in clerk.signin clerk.signin-failed clerk.locked clerk.disable approval.approve reset-pin; do
	grep -q "\"$a\"" "$TMP/stdout" || grep -q "$a" "$TMP/stdout" || fail "no audit entry $a"
done

check "no password or PIN in the log, the store or any response"
stop_counter_web
cat "$TMP/counter.out" >>"$LOG"
for secret in "$PW" wrong-password-1 yamada-pass-9; do
	! grep -q -- "$secret" "$LOG" || fail "the log holds a secret"
	! grep -q -- "$secret" "$RESP" || fail "a response holds a secret"
	! store_holds "$secret" || fail "the store holds a secret"
done
# The PIN is four digits: found as a value of its own, not inside the hex
# of a hash or serial, or a number (a SHA-256 in hex holds "9753" about
# one time in a thousand, and the audit list answers hundreds).
pin_in() { grep -aqE '(^|[^0-9A-Za-z])9753([^0-9A-Za-z]|$)' "$@"; }
! pin_in "$LOG" || fail "the log holds the PIN"
! pin_in "$RESP" || fail "a response holds the PIN"
if on_postgresql; then
	db_snapshot "$TMP/pin.sql"
	! pin_in "$TMP/pin.sql" || fail "the store holds the PIN"
else
	for f in "$DATA/jpki.db" "$DATA/jpki.db-wal"; do
		[ ! -f "$f" ] || ! pin_in "$f" || fail "the store holds the PIN"
	done
fi
check "HTTPS: the cookie is Secure, HSTS is sent; an idle session ends (--idle-timeout)"
command -v openssl >/dev/null 2>&1 || fail "openssl is needed"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 \
	-keyout "$TMP/tls.key" -out "$TMP/tls.pem" 2>/dev/null
start_counter_web --tls-cert "$TMP/tls.pem" --tls-key "$TMP/tls.key" --idle-timeout 2
case $URL in https://*) ;; *) fail "the HTTPS server said $URL" ;; esac
curl -sk -D "$TMP/headers" -o /dev/null -c "$TMP/tls.jar" -H 'Content-Type: application/json' \
	--data "{\"username\":\"boss\",\"password\":\"$PW\"}" "$URL/api/signin"
grep -i '^set-cookie:' "$TMP/headers" | grep -q 'HttpOnly; SameSite=Strict; Secure' ||
	fail "HTTPS cookie: $(grep -i set-cookie "$TMP/headers")"
grep -qi '^strict-transport-security:' "$TMP/headers" || fail "no HSTS"
CODE=$(curl -sk -o /dev/null -w '%{http_code}' -b "$TMP/tls.jar" "$URL/api/session")
[ "$CODE" = 200 ] || fail "HTTPS session: $CODE"
CODE=$(curl -s -o /dev/null -w '%{http_code}' "${URL/https/http}/healthz" || true)
[ "$CODE" != 200 ] || fail "plain HTTP answered on the HTTPS port"
sleep 3.2
CODE=$(curl -sk -o /dev/null -w '%{http_code}' -b "$TMP/tls.jar" "$URL/api/session")
[ "$CODE" = 401 ] || fail "an idle session lives on: $CODE"
stop_counter_web
done_ok
