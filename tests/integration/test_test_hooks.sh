#!/usr/bin/env bash
# Test hooks only in test builds (issue 8, item 6).  The crash points tests
# kill the process at (JPKI_COUNTER_CRASH, JPKI_CARD_CRASH_AFTER_DECREMENT)
# are compiled only with -DJPKI_TEST_HOOKS=ON.  In such a build the binary
# has them; in any other build it names none of them (the build's own
# post-build step checks that too, cmake/check_no_hooks.cmake) and setting
# the variables changes nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"

# The binary itself, not the wrapper the PostgreSQL run puts in front.
BIN=${JPKI_REAL:-$JPKI}

case ${JPKI_TEST_HOOKS:-} in
1)
	check "a test build has the hooks"
	for hook in JPKI_COUNTER_CRASH JPKI_CARD_CRASH_AFTER_DECREMENT; do
		grep -qa "$hook" "$BIN" || fail "$BIN was built with the hooks but has no $hook"
	done
	;;
0)
	check "a build without -DJPKI_TEST_HOOKS=ON names no hook"
	hooks=$(grep -aoE 'JPKI_[A-Z_]*CRASH[A-Z_]*' "$BIN" | sort -u || true)
	[ -z "$hooks" ] || fail "$BIN names test hooks: $hooks"
	check "and the variables change nothing"
	init_data
	id=$(add_resident "$(individual_number 10000000031)" "Hook Less" "東京都清瀬市中里5-31" 1983-05-20 male)
	JPKI_COUNTER_CRASH=1 deliver "$id" "$TMP/card.img" --no-sign
	[ ! -e "$TMP/card.img.pending" ] || fail "a pending image was left"
	echo doc >"$TMP/doc"
	JPKI_CARD_CRASH_AFTER_DECREMENT=1 ok card sign --card "$TMP/card.img" --type auth \
		--in "$TMP/doc" --out "$TMP/sig"
	;;
*)
	fail "JPKI_TEST_HOOKS is not set (ctest sets it to 1 or 0)"
	;;
esac
done_ok
