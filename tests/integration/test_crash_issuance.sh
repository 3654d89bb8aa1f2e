#!/bin/bash
# A process killed with SIGKILL in the middle of a batch of issuances
# leaves no certificate half-recorded and the audit chain valid
# (issue 2 acceptance; design.md "a crash loses no issued certificate").
set -euo pipefail
: "${JPKI:?}" "${JPKI_BUILD:?}"
# The store helpers (db_sql, db_integrity, db_hex) of the integration tests.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
work=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
	rm -rf "$work" "$TMP"
}
trap cleanup EXIT
export JPKI_DATA=$work/data JPKI_NOW=2026-11-25T10:00:00+09:00
fail() { echo "FAIL: $*" >&2; exit 1; }
DATA=$JPKI_DATA

"$JPKI" init >/dev/null
openssl genrsa -out "$work/card.key" 2048 2>/dev/null
openssl rsa -in "$work/card.key" -pubout -out "$work/card.pub" 2>/dev/null
"$JPKI" ca export --out "$work/ca" >/dev/null

for delay in 0.3 0.6 1.1; do
	"$JPKI_BUILD/issue_forever" "$JPKI_DATA" "$work/card.pub" \
		>"$work/progress" 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
	last=$(tail -1 "$work/progress" || true)
	echo "killed after ${delay}s ($last)"

	[ "$(db_integrity "$JPKI_DATA")" = ok ] ||
		fail "database integrity check"
	"$JPKI" audit verify >/dev/null || fail "audit chain broken after kill"
	certs=$(db_sql 'SELECT COUNT(*) FROM certificates' "$JPKI_DATA")
	audited=$(db_sql "SELECT COUNT(*) FROM audit WHERE action='cert.issue'" "$JPKI_DATA")
	[ "$certs" = "$audited" ] ||
		fail "$certs certificates but $audited issuance audit entries"
	[ "$(( certs % 8 ))" = 0 ] || fail "a partial batch was recorded ($certs)"
	# Every batch that reported its commit is there.
	reported=$(sed -n 's/^committed //p' "$work/progress" | tail -1)
	[ "${reported:-0}" -le "$certs" ] ||
		fail "reported $reported committed, store has $(( certs ))"
	# Every recorded certificate has its whole DER; the newest ones (those
	# being written when the process died) verify against their CA.
	short=$(db_sql "SELECT COUNT(*) FROM certificates WHERE length(der) < 1000" "$JPKI_DATA")
	[ "$short" = 0 ] || fail "$short truncated certificates"
	rm -f "$work"/c-*.der
	db_sql "SELECT serial, ca FROM certificates ORDER BY rowid DESC LIMIT 24" "$JPKI_DATA" | while IFS='|' read -r s t; do
		db_sql "SELECT $(db_hex der) FROM certificates WHERE serial='$s'" "$JPKI_DATA" |
			xxd -r -p >"$work/c-$s.der"
		ca=$work/ca/sign-ca.pem
		[ "$t" = 2 ] && ca=$work/ca/auth-ca.pem
		openssl x509 -inform DER -in "$work/c-$s.der" -out "$work/c.pem" ||
			fail "certificate $s is not whole"
		openssl verify -CAfile "$ca" "$work/c.pem" >/dev/null ||
			fail "certificate $s does not verify"
	done
done
[ "$certs" -gt 0 ] || fail "nothing was issued before the kills"
echo "ok: $certs certificates whole, audit chain intact after 3 SIGKILLs"
