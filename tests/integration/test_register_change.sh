#!/usr/bin/env bash
# test_register_change.sh: R6 — a change of name, address, birth date or
# gender in the resident register revokes the holder's signing certificate
# at once (affiliationChanged) and leaves the authentication certificate
# valid; a death revokes both (cessationOfOperation, CPS 4.9.9).  Every
# change lands with its audit entries, and the hash chain verifies after
# each.  Tampering with the audit table (dropping the append-only trigger
# and editing or deleting a row with sqlite3) makes `jpki audit verify`
# exit 1 naming the broken entry.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null 2>&1 || fail "the sqlite3 command-line tool is needed"

init_data
ID=$(add_resident "$(individual_number 31415926535)" "中村 健" \
	"東京都千代田区霞が関1-1" 1975-09-09 male)
AUTH=$(issue "$ID" auth "$TMP/auth.pem")

# expect_cert SERIAL STATUS [REASON]
expect_cert() {
	ok cert show "$1" --json
	json_expect "certificate $1" status="$2" ${3:+reason="$3"}
}

# The four facts of R4, each changed in turn; kana is not a certificate
# fact.  Each row: option, new value, what the signing certificate then says.
n=0
while IFS='|' read -r option value fact; do
	n=$((n + 1))
	SIGN=$(issue "$ID" sign "$TMP/sign$n.pem")
	check "R6: a change of $fact revokes the signing certificate (affiliationChanged), auth stays valid"
	ok resident change "$ID" "--$option" "$value" --json
	expect_eq "revoked count" "$(json_get revoked)" 1
	expect_cert "$SIGN" revoked affiliationChanged
	expect_cert "$AUTH" valid
	ok resident show "$ID" --json
	case $option in
	address) expect_eq "register address" "$(json_get address)" "$value" ;;
	birth) expect_eq "register birth" "$(json_get birth)" "$value" ;;
	gender) expect_eq "register gender" "$(json_get gender)" "$value" ;;
	name) expect_eq "register name" "$(json_get surname) $(json_get given)" "$value" ;;
	esac
	expect_audit_ok "after the change of $fact"
	# The new facts are what a new signing certificate carries.
	NEW=$(issue "$ID" sign "$TMP/new$n.pem")
	ok cert show "$NEW" --json
	case $option in
	address) expect_eq "new certificate's address" "$(json_get facts.address)" "$value" ;;
	birth) expect_eq "new certificate's birth" "$(json_get facts.birth)" "3${value//-/}" ;;
	gender) expect_eq "new certificate's gender" "$(json_get facts.gender)" 2 ;;
	name) expect_eq "new certificate's name" "$(json_get facts.name)" "${value/ /　}" ;;
	esac
	ok cert revoke "$NEW" --reason superseded
done <<'EOF'
address|東京都千代田区永田町2-3-1|the address
name|中村 健一|the name
birth|1975-09-10|the birth date
gender|female|the gender
EOF

check "a change of kana only (not a certificate fact) revokes nothing"
SIGN=$(issue "$ID" sign "$TMP/sign-kana.pem")
ok resident change "$ID" --kana "ナカムラ ケンイチ" --json
expect_eq "revoked count" "$(json_get revoked)" 0
expect_cert "$SIGN" valid
expect_cert "$AUTH" valid

check "a change to the same facts is refused as bad input and changes nothing"
db_snapshot "$TMP/before.sql"
expect_status 2 resident change "$ID" --address "東京都千代田区永田町2-3-1"
expect_one_error_line 'nothing differs'
expect_store_unchanged "$TMP/before.sql" "a change that changes nothing"
expect_cert "$SIGN" valid

check "a certificate already revoked keeps its first reason when the facts change"
ok cert revoke "$SIGN" --reason keyCompromise
SIGN2=$(issue "$ID" sign "$TMP/sign-again.pem")
ok resident change "$ID" --address "東京都港区六本木1-1" --json
expect_eq "revoked count" "$(json_get revoked)" 1
expect_cert "$SIGN" revoked keyCompromise
expect_cert "$SIGN2" revoked affiliationChanged

check "R8: the operator interface issues one valid signing certificate per holder; R6 revokes it"
ONE=$(issue "$ID" sign "$TMP/one.pem")
db_snapshot "$TMP/before-r8.sql"
expect_status 1 ca issue --resident "$ID" --type sign --pubkey "$(pubkey "r$ID-sign")" --out "$TMP/two.pem"
expect_one_error_line "R8"
expect_store_unchanged "$TMP/before-r8.sql" "the R8 refusal"
[ ! -e "$TMP/two.pem" ] || fail "a refused issuance left $TMP/two.pem behind"
ok resident change "$ID" --address "東京都港区六本木2-2" --json
expect_eq "revoked count" "$(json_get revoked)" 1
ok cert list --resident "$ID" --json
still=$("$PYTHON" -c 'import json,sys; print(sum(1 for c in json.load(open(sys.argv[1])) if c["type"] == "sign" and c["status"] == "valid"))' "$TMP/stdout")
expect_eq "signing certificates still valid" "$still" 0
expect_cert "$ONE" revoked affiliationChanged
expect_cert "$AUTH" valid
expect_audit_ok "after the R8 refusal and the change"

check "R6: death revokes both certificates (cessationOfOperation)"
SIGN3=$(issue "$ID" sign "$TMP/sign-last.pem")
ok resident change "$ID" --deceased --json
expect_eq "revoked count" "$(json_get revoked)" 2
expect_cert "$SIGN3" revoked cessationOfOperation
expect_cert "$AUTH" revoked cessationOfOperation
ok resident show "$ID" --json
expect_eq "register status" "$(json_get status)" deceased
expect_audit_ok "after the death"

check "the register entry of a deceased resident is closed (exit 1, nothing changed)"
db_snapshot "$TMP/before.sql"
expect_status 1 resident change "$ID" --address "東京都港区1"
expect_one_error_line 'deceased'
expect_store_unchanged "$TMP/before.sql" "a change after death"

check "the audit log records the changes and revocations"
ok audit list --json
log=$(cat "$TMP/stdout")
for action in resident.add resident.change resident.death cert.issue cert.revoke; do
	case $log in *"\"$action\""*) ;; *) fail "audit list has no $action entry" ;; esac
done
ok audit verify --json
expect_eq "audit verify ok" "$(json_get ok)" true
ENTRIES=$(json_get entries)
[ "$ENTRIES" -gt 10 ] || fail "audit verify checked only $ENTRIES entries"

# Tampering, each on its own copy of the data directory.
# tampered NAME SQL SEQ: run SQL on a copy; audit verify must exit 1 and
# name entry SEQ.
tampered() {
	local name=$1 sql=$2 seq=$3 copy=$TMP/tamper-$1
	copy_datadir "$DATA" "$copy"
	db_sql "$(audit_guard_drop_sql) $sql" "$copy" >/dev/null 2>"$TMP/sqlite.err" ||
		fail "tampering ($name) failed: $(cat "$TMP/sqlite.err")"
	JPKI_DATA=$copy expect_status 1 audit verify
	expect_one_error_line "(entry|seq) #?$seq\\b"
	JPKI_DATA=$copy expect_status 1 audit verify --json
	expect_eq "audit verify --json ok after $name" "$(json_get ok)" false
}

check "the audit table refuses UPDATE and DELETE while its triggers stand"
copy_datadir "$DATA" "$TMP/guarded"
if db_sql "UPDATE audit SET actor = 'mallory' WHERE seq = 5" "$TMP/guarded" 2>/dev/null; then
	fail "UPDATE of an audit row was allowed"
fi
if db_sql "DELETE FROM audit WHERE seq = 5" "$TMP/guarded" 2>/dev/null; then
	fail "DELETE of an audit row was allowed"
fi
JPKI_DATA=$TMP/guarded expect_status 0 audit verify

check "trigger dropped, an audit row's detail edited: audit verify exits 1 naming entry 5"
tampered edit "UPDATE audit SET detail = '{\"municipality\": \"999999\"}' WHERE seq = 5;" 5

check "trigger dropped, an audit row's actor edited in the middle of the chain: names that entry"
MID=$((ENTRIES / 2))
tampered actor "UPDATE audit SET actor = 'mallory' WHERE seq = $MID;" "$MID"

check "trigger dropped, an entry and its hash rewritten: the next entry's link breaks"
tampered rehash "UPDATE audit SET actor = 'mallory', hash = prev_hash WHERE seq = 6;" '(6|7)'

check "trigger dropped, an audit row deleted: audit verify names the missing entry"
tampered delete "DELETE FROM audit WHERE seq = 4;" 4

check "the untouched data directory still verifies"
expect_audit_ok "original after the tampering copies"

done_ok
