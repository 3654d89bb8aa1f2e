#!/usr/bin/env bash
# test_notices_concurrent.sh: two `jpki counter notices` runs at the same
# time (two clerks, two output directories) never make two forms for one
# certificate: between them every holder gets exactly one notice, both
# runs succeed, and the audit chain verifies.  Two runs into one output
# directory are not allowed: the second is refused.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null 2>&1 || fail "the sqlite3 command-line tool is needed"
HOLDERS=120

init_data
{
	echo "number,name,address,birth,gender"
	for i in $(seq 1 $HOLDERS); do
		echo "$(individual_number "$(printf '6%010d' "$i")"),試験 $i,埼玉県草加市高砂$i-1,1980-05-05,female"
	done
} >"$TMP/residents.csv"
ok resident import "$TMP/residents.csv" --clerk registrar
KEY=$(pubkey shared)     # one key for all: the keys are not what is tested
for i in $(seq 1 $HOLDERS); do
	"$JPKI" ca issue --resident "$i" --type auth --pubkey "$KEY" --out "$TMP/cert-$i.pem" >/dev/null ||
		fail "jpki ca issue for resident $i failed"
done
export JPKI_NOW=2030-03-01T09:00:00+09:00

check "two concurrent runs: one form per certificate between them"
rc1=0 rc2=0
"$JPKI" counter notices --within 3m --out "$TMP/a" --clerk tanaka --json >"$TMP/a.json" 2>"$TMP/a.err" &
p1=$!
sleep 0.5        # B starts while A is part way through
"$JPKI" counter notices --within 3m --out "$TMP/b" --clerk suzuki --json >"$TMP/b.json" 2>"$TMP/b.err" &
p2=$!
wait "$p1" || rc1=$?
wait "$p2" || rc2=$?
[ "$rc1" -eq 0 ] || fail "run A exited $rc1: $(cat "$TMP/a.err")"
[ "$rc2" -eq 0 ] || fail "run B exited $rc2: $(cat "$TMP/b.err")"
made_a=$(json_get notices "$TMP/a.json")
made_b=$(json_get notices "$TMP/b.json")
printf '%s:   run A made %s, run B %s\n' "$TEST_NAME" "$made_a" "$made_b"
expect_eq "notices made between them" "$((made_a + made_b))" "$HOLDERS"
expect_eq "forms in the store" "$(db_sql 'SELECT COUNT(*) FROM inquiry_forms')" "$HOLDERS"
expect_eq "certificates linked" "$(db_sql 'SELECT COUNT(DISTINCT serial) FROM expiry_notices')" "$HOLDERS"
pdfs=$(find "$TMP/a" "$TMP/b" -name 'notice-*.pdf' | wc -l)
expect_eq "PDFs written" "$pdfs" "$HOLDERS"
expect_eq "each run's CSV lists every certificate" \
	"$(($(grep -c '' "$TMP/a/notices.csv") + $(grep -c '' "$TMP/b/notices.csv")))" "$((2 * HOLDERS + 2))"
expect_audit_ok "after the concurrent runs"

check "one run per output directory: a second run into a directory in use is refused and changes nothing"
command -v flock >/dev/null 2>&1 || fail "flock (util-linux) is needed"
db_snapshot "$TMP/before.sql"
flock "$TMP/a/.notices.lock" sleep 5 &
holder=$!
sleep 0.3
expect_status 1 counter notices --within 3m --out "$TMP/a" --clerk tanaka
expect_one_error_line "another notice run is writing to $TMP/a"
expect_store_unchanged "$TMP/before.sql" "refused notices"
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
done_ok
