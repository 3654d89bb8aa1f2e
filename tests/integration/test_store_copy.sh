#!/usr/bin/env bash
# jpki store migrate and jpki store copy: a whole store moved to another,
# empty database (SQLite to PostgreSQL and back in the suite's PostgreSQL
# run, SQLite to SQLite in the other) and verified; the data directory
# then works on the copy exactly as on the original.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"

init_data
at 2026-04-01T10:00:00+09:00
id=$(add_resident "$(individual_number 10000000006)" "Abe Shin" "東京都清瀬市梅園1-1" 1980-06-15 male)
deliver "$id" "$TMP/card.img"
sign=$(json_get receipt.issued.0.serial)
id2=$(add_resident "$(individual_number 10000000014)" "Ito Hana" "東京都清瀬市元町1-1" 1990-02-01 female)
deliver "$id2" "$TMP/card2.img"
ok resident change "$id" --address "東京都清瀬市元町2-2" --clerk "$CLERK"
ok crl generate

# A new, empty database of the store's own kind.
new_database() {
	if on_postgresql; then
		sh "$JPKI_SOURCE/tests/support/pg_cluster.sh" createdb "$JPKI_TEST_PG" "copy_$1_$(date +%s%N)"
	else
		echo "sqlite:$TMP/$1.db"
	fi
}

check "store migrate: a current store has nothing to migrate"
ok store migrate --json
json_expect "migrate" migrated=false
expect_eq "from = to" "$(json_get from)" "$(json_get to)"

check "store copy: every row, the same ids, the audit chain verified"
orig=$(db_url)
case $orig in sqlite:/*) src=$orig ;; sqlite:*) src="sqlite:$DATA/${orig#sqlite:}" ;; *) src=$orig ;; esac
dst=$(new_database a)
ok store copy --to "$dst" --json   # from the data directory's own store
json_expect "copy" verified=true
[ "$(json_get rows)" -gt 100 ] || fail "only $(json_get rows) rows copied"
expect_eq "certificates copied" "$(json_get tables.certificates)" 4
expect_eq "revocations copied" "$(json_get tables.revocations)" 1

check "a destination that holds a store is refused and left as it was"
before=$(json_get audit_entries)
expect_status 1 store copy --from "$src" --to "$dst"
grep -q "not empty" "$TMP/stderr" || fail "refusal does not say why: $ERR"

check "the data directory on the copy: the same certificates, statuses, audit"
ok cert list --json
cp "$TMP/stdout" "$TMP/certs-orig.json"
ok audit list --json
cp "$TMP/stdout" "$TMP/audit-orig.json"
sed -i "s|^database = .*|database = $dst|" "$DATA/config"
ok cert list --json
cmp -s "$TMP/stdout" "$TMP/certs-orig.json" || fail "cert list differs on the copy"
ok audit list --json
cmp -s "$TMP/stdout" "$TMP/audit-orig.json" || fail "audit list differs on the copy"
ok audit verify --json
expect_eq "entries" "$(json_get entries)" "$before"
expect_eq "revoked on the copy" "$(cert_field "$sign" status)" revoked

check "work goes on on the copy: new ids follow the copied ones"
id3=$(add_resident "$(individual_number 10000000022)" "Ueda Ken" "東京都清瀬市中里1-1" 1970-07-07 male)
[ "$id3" -gt "$id2" ] || fail "new resident id $id3 after $id2"
deliver "$id3" "$TMP/card3.img"
ok audit verify

if on_postgresql; then
	check "and back: PostgreSQL to a new SQLite file, verified"
	ok store copy --from "$dst" --to "sqlite:$TMP/back.db" --json
	json_expect "copy back" verified=true
	sed -i "s|^database = .*|database = sqlite:$TMP/back.db|" "$DATA/config"
	ok audit verify
	expect_eq "revoked on SQLite again" "$(cert_field "$sign" status)" revoked
fi

check "bad input: a missing --to is a usage error; an unreachable database one line"
expect_status 2 store copy --from "$src"
expect_status 2 store copy
expect_status 3 store copy --from "$src" --to "postgresql://jpki@127.0.0.1:1/x?connect_timeout=2"
expect_one_error_line "cannot connect to PostgreSQL"

done_ok
