# counter_lib.sh: what the counter scenario tests (test_rule_R*.sh,
# test_counter_*.sh) share.  Source it after lib.sh.  It sets the holder's
# PINs in the environment, runs counter procedures as a clerk, and checks
# that a refusal changed nothing: the store dump, the audit chain and the
# card image byte for byte.

export JPKI_SIGN_PASSWORD=HOLDER15 JPKI_AUTH_PIN=1234 JPKI_CARDINFO_PIN=5678
CLERK=clerk-sato

# need_test_hooks: skip the test (exit 77) unless jpki was built with
# -DJPKI_TEST_HOOKS=ON: the crash points it kills the process at exist only
# in test builds.
need_test_hooks() {
	if ! grep -qa JPKI_COUNTER_CRASH "${JPKI_REAL:-$JPKI}"; then
		printf '%s: SKIP: %s has no test hooks (configure with -DJPKI_TEST_HOOKS=ON)\n' \
			"$TEST_NAME" "$JPKI"
		exit 77
	fi
}

# at ISO8601: move the clock (JPKI_NOW) for the commands that follow.
at() {
	export JPKI_NOW=$1
}

# counter PROCEDURE ARGS...: run `jpki counter` as the clerk with --json
# and fail unless it exits 0.
counter() {
	local proc=$1
	shift
	ok counter "$proc" --clerk "$CLERK" --json "$@"
}

# deliver ID CARD [ARGS...]: a new card for resident ID at CARD.
deliver() {
	local id=$1 card=$2
	shift 2
	counter deliver --resident "$id" --out "$card" "$@"
}

# refused PATTERN PROCEDURE ARGS...: the procedure exits 1 with one line
# naming the rule (PATTERN), and the store, the audit chain and every card
# image in $TMP are exactly as before.
refused() {
	local pattern=$1 proc=$2
	shift 2
	expect_unchanged 1 "$pattern" counter "$proc" --clerk "$CLERK" "$@"
}

# expect_unchanged STATUS PATTERN ARGS...: jpki ARGS exits STATUS with one
# error line matching PATTERN and changes nothing.
expect_unchanged() {
	local want=$1 pattern=$2 f
	shift 2
	db_snapshot "$TMP/before.sql"
	rm -rf "$TMP/cards.before"
	mkdir -p "$TMP/cards.before"
	for f in "$TMP"/*.img; do
		[ -e "$f" ] && cp -p "$f" "$TMP/cards.before/"
	done
	expect_status "$want" "$@"
	expect_one_error_line "$pattern"
	expect_store_unchanged "$TMP/before.sql" "jpki $*"
	for f in "$TMP/cards.before"/*.img; do
		[ -e "$f" ] || continue
		cmp -s "$f" "$TMP/$(basename "$f")" ||
			fail "jpki $*: card image $(basename "$f") changed"
	done
	for f in "$TMP"/*.img.pending; do
		[ -e "$f" ] && fail "jpki $*: left $f behind"
	done
	return 0
}

# receipt_get PATH: a value of the last procedure's receipt.
receipt_get() {
	json_get "receipt.$1"
}

# cert_field SERIAL FIELD: a field of a certificate in `jpki cert list`.
cert_field() {
	local serial=$1 field=$2
	"$JPKI" cert list --json >"$TMP/certs.json" || fail "jpki cert list failed"
	"$PYTHON" -c '
import json, sys
for c in json.load(open(sys.argv[1])):
    if c["serial"] == sys.argv[2]:
        v = c[sys.argv[3]]
        print("null" if v is None else v)
        break
else:
    sys.exit("no certificate " + sys.argv[2])
' "$TMP/certs.json" "$serial" "$field"
}

# card_status CARD PATH: a value of `jpki card status --json`.
card_status() {
	"$JPKI" card status --card "$1" --json >"$TMP/status.json" ||
		fail "jpki card status --card $1 failed"
	json_get "$2" "$TMP/status.json"
}

# sql QUERY: one value from the store.
sql() {
	db_sql "$1"
}

# verify_on_card CARD sign|auth: the certificate on the card chains to the
# CA exported by `jpki ca export` (openssl verify at the current JPKI_NOW).
verify_on_card() {
	local card=$1 type=$2 dir=$TMP/certs.$RANDOM
	mkdir -p "$dir" "$TMP/ca"
	"$JPKI" ca export --out "$TMP/ca" >/dev/null || fail "jpki ca export failed"
	"$JPKI" card certs --card "$card" --out "$dir" $([ "$type" = sign ] && echo --sign) >/dev/null 2>&1 ||
		fail "jpki card certs --card $card failed"
	openssl x509 -inform DER -in "$dir/$type.der" -out "$dir/$type.pem" ||
		fail "the $type certificate on $card does not parse"
	openssl verify -attime "$(epoch "$JPKI_NOW")" -CAfile "$TMP/ca/$type-ca.pem" \
		"$dir/$type.pem" >/dev/null 2>"$TMP/verify.err" ||
		fail "openssl verify of the $type certificate on $card: $(cat "$TMP/verify.err")"
	CERT_PEM=$dir/$type.pem
}

# serial_on_card CARD sign|auth: the serial of the certificate on the card
# as stored (upper-case hex).
serial_on_card() {
	verify_on_card "$1" "$2"
	openssl x509 -in "$CERT_PEM" -noout -serial | sed 's/^serial=//'
}

# start_counter_web [ARGS...]: `jpki counter serve --data $DATA` on a free
# loopback port with the web UI of the tree, through lib.sh's start_jpki
# (output in $TMP/counter.out and $TMP/counter.err, pid in
# $COUNTER_WEB_PID); its base URL (http or https) in $URL.
# stop_counter_web ends it; the caller's EXIT trap calls it too.
COUNTER_WEB_PID=
start_counter_web() {
	JPKI_WEB=$JPKI_SOURCE/web start_jpki COUNTER_WEB_PID ' on http' \
		counter serve --data "$DATA" --listen 127.0.0.1:0 "$@"
	URL=$(sed -n 's|.* on \(https\{0,1\}://127\.0\.0\.1:[0-9]*\)/.*|\1|p' "$TMP/counter.out")
	[ -n "$URL" ] || fail "no URL from jpki counter serve: $(cat "$TMP/counter.out")"
}
stop_counter_web() {
	end_jpki COUNTER_WEB_PID TERM
}
