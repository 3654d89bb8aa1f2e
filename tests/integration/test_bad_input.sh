#!/usr/bin/env bash
# test_bad_input.sh: every bad-input case of issue 2 item 4 (bad date, bad
# check digit, unknown gender, empty name, over-long address, invalid
# UTF-8, duplicate number; a CSV import with a bad row in the middle) and
# the CLI's other edges (bad serial, unknown reason, unknown resident) give
# exit status 2 and one line on stderr naming the field (and the CSV row),
# and leave the store byte-for-byte unchanged with the audit chain intact.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null 2>&1 || fail "the sqlite3 command-line tool is needed"

init_data
GOOD_NUMBER=$(individual_number 12345678901)
TARO=$(add_resident "$GOOD_NUMBER" "山田 太郎" "東京都千代田区千代田1-1" 1980-05-15 male)
SERIAL=$(issue "$TARO" auth "$TMP/taro-auth.pem")

# A 201-character address (and its 200-character neighbour) in kanji and
# digits, so characters and bytes differ.
ADDR200="東京都千代田区$(printf '丁%.0s' $(seq 1 188))1-2-3"
ADDR201="${ADDR200}4"
[ "$(printf '%s' "$ADDR200" | "$PYTHON" -c 'import sys; print(len(sys.stdin.buffer.read().decode()))' 2>/dev/null || echo 200)" = 200 ] ||
	fail "test setup: ADDR200 is not 200 characters"
BAD_UTF8=$'山田\xff 太郎'
OVERLONG_UTF8=$'\xc0\xaf'           # "/" encoded in two bytes: not UTF-8
NEW_NUMBER=$(individual_number 98765432109)

# bad_add WHAT FIELD_PATTERN key=value...: `jpki resident add` with the
# defaults below, overridden by key=value, must exit 2 with one line naming
# the field, and change nothing.
bad_add() {
	local what=$1 pattern=$2 kv
	shift 2
	local -A f=([number]=$NEW_NUMBER [name]="鈴木 次郎" [address]="東京都港区芝公園4-2-8"
		[birth]=1985-07-07 [gender]=male)
	for kv in "$@"; do f[${kv%%=*}]=${kv#*=}; done
	check "resident add, $what: exit 2, one line naming $pattern, store unchanged"
	db_snapshot "$TMP/before.sql"
	expect_status 2 resident add --number "${f[number]}" --name "${f[name]}" \
		--address "${f[address]}" --birth "${f[birth]}" --gender "${f[gender]}"
	expect_one_error_line "$pattern"
	expect_store_unchanged "$TMP/before.sql" "resident add, $what"
}

bad_add "bad date (30 February)"       'birth'   birth=1985-02-30
bad_add "bad date (slashes)"           'birth'   birth=1985/07/07
bad_add "bad date (empty)"             'birth'   birth=
bad_add "birth date in the future"     'birth'   birth=2030-01-01
bad_add "bad check digit"              'number'  number="$(wrong_check_digit "$NEW_NUMBER")"
bad_add "11-digit number"              'number'  number=12345678901
bad_add "number with a letter"         'number'  number=1234567890A8
bad_add "unknown gender"               'gender'  gender=other
bad_add "empty gender"                 'gender'  gender=
bad_add "empty name"                   'name'    name=
bad_add "name without a given name"    'name'    name=鈴木
bad_add "name on two lines"            'name'    name=$'鈴木\n次郎'
bad_add "name of 101 characters (R4: a signing certificate holds 100)" 'name.*100' \
	name="$(printf 'A%.0s' $(seq 1 50)) $(printf 'B%.0s' $(seq 1 50))"
bad_add "over-long address (201 characters)" 'address.*200' address="$ADDR201"
bad_add "empty address"                'address' address=
bad_add "invalid UTF-8 in the name"    'name'    name="$BAD_UTF8"
bad_add "invalid UTF-8 in the address" 'address' address="東京都$OVERLONG_UTF8"
bad_add "duplicate number"             'number.*already'  number="$GOOD_NUMBER"

check "resident add: unknown municipality is refused naming the field"
db_snapshot "$TMP/before.sql"
expect_status 2 resident add --number "$NEW_NUMBER" --name "鈴木 次郎" --address "港区" \
	--birth 1985-07-07 --gender male --municipality 999999
expect_one_error_line 'municipality'
expect_store_unchanged "$TMP/before.sql" "unknown municipality"

check "resident add: a 100-character name and a 200-character address are accepted, and fit a signing certificate (R4)"
LONGEST=$(add_resident "$NEW_NUMBER" "$(printf 'A%.0s' $(seq 1 50)) $(printf 'B%.0s' $(seq 1 49))" \
	"$ADDR200" 1985-07-07 male)
issue "$LONGEST" sign "$TMP/longest-sign.pem" >/dev/null

# bad_import WHAT ROW FIELD_PATTERN CSV: exit 2, one line naming the row
# and field, nothing stored.
bad_import() {
	local what=$1 row=$2 pattern=$3 csv=$4
	check "resident import, $what: exit 2, one line naming row $row ($pattern), nothing stored"
	printf '%s' "$csv" >"$TMP/import.csv"
	db_snapshot "$TMP/before.sql"
	expect_status 2 resident import "$TMP/import.csv"
	expect_one_error_line "row $row\\b.*$pattern"
	expect_store_unchanged "$TMP/before.sql" "resident import, $what"
}

N1=$(individual_number 20000000001)
N2=$(individual_number 20000000002)
N3=$(individual_number 20000000003)
N4=$(individual_number 20000000004)
HEADER="number,name,address,birth,gender"
ROW1="$N1,伊藤 一,東京都千代田区1,1990-01-01,male"
ROW3="$N3,伊藤 三,東京都千代田区3,1990-03-03,female"
ROW4="$N4,伊藤 四,東京都千代田区4,1990-04-04,unknown"

bad_import "bad date in the middle" 3 birth \
	"$HEADER"$'\n'"$ROW1"$'\n'"$N2,伊藤 二,東京都千代田区2,1990-02-30,male"$'\n'"$ROW3"$'\n'"$ROW4"$'\n'
bad_import "bad check digit in the middle" 3 number \
	"$HEADER"$'\n'"$ROW1"$'\n'"$(wrong_check_digit "$N2"),伊藤 二,東京都千代田区2,1990-02-02,male"$'\n'"$ROW3"$'\n'
bad_import "unknown gender on the last row" 4 gender \
	"$HEADER"$'\n'"$ROW1"$'\n'"$ROW3"$'\n'"$N2,伊藤 二,東京都千代田区2,1990-02-02,x"$'\n'
bad_import "empty name in the middle" 3 name \
	"$HEADER"$'\n'"$ROW1"$'\n'"$N2,,東京都千代田区2,1990-02-02,male"$'\n'"$ROW3"$'\n'
bad_import "over-long address in the middle" 3 'address.*200' \
	"$HEADER"$'\n'"$ROW1"$'\n'"$N2,伊藤 二,$ADDR201,1990-02-02,male"$'\n'"$ROW3"$'\n'
bad_import "invalid UTF-8 in the middle" 3 name \
	"$HEADER"$'\n'"$ROW1"$'\n'"$N2,$BAD_UTF8,東京都千代田区2,1990-02-02,male"$'\n'"$ROW3"$'\n'
bad_import "a number already registered" 3 'number.*already' \
	"$HEADER"$'\n'"$ROW1"$'\n'"$GOOD_NUMBER,伊藤 二,東京都千代田区2,1990-02-02,male"$'\n'"$ROW3"$'\n'
bad_import "the same number twice in the file" 4 'number.*already' \
	"$HEADER"$'\n'"$ROW1"$'\n'"$ROW3"$'\n'"$N1,伊藤 一,東京都千代田区1,1990-01-01,male"$'\n'
bad_import "an unquoted comma in the last column (one field too many)" 3 'fields' \
	"number,name,birth,gender,address"$'\n'"$N1,伊藤 一,1990-01-01,male,東京都1"$'\n'"$N2,伊藤 二,1990-02-02,male,東京都千代田区1-2, メゾン101"$'\n'
bad_import "a header without the gender column" 1 gender \
	"number,name,address,birth"$'\n'"$N1,伊藤 一,東京都千代田区1,1990-01-01"$'\n'
bad_import "an unknown column" 1 'colour' \
	"$HEADER,colour"$'\n'"$ROW1,red"$'\n'
bad_import "an unterminated quote" 3 quote \
	"$HEADER"$'\n'"$ROW1"$'\n'"$N2,\"伊藤 二,東京都千代田区2,1990-02-02,male"$'\n'

check "resident import: a missing file is one line, exit 2, nothing stored"
db_snapshot "$TMP/before.sql"
expect_status 2 resident import "$TMP/no-such.csv"
expect_one_error_line 'no-such\.csv'
expect_store_unchanged "$TMP/before.sql" "missing import file"

# bad_cli WHAT PATTERN ARGS...: exit 2, one line matching PATTERN, nothing
# changed.
bad_cli() {
	local what=$1 pattern=$2
	shift 2
	check "$what: exit 2, one line naming $pattern, store unchanged"
	db_snapshot "$TMP/before.sql"
	expect_status 2 "$@"
	expect_one_error_line "$pattern"
	expect_store_unchanged "$TMP/before.sql" "$what"
}

bad_cli "cert show with a serial that is not hex" 'serial' cert show XYZ123
bad_cli "cert revoke with a serial that is not hex" 'serial' cert revoke 12G4 --reason keyCompromise
bad_cli "cert show with an unknown serial" 'serial' cert show 0123456789ABCDEF
bad_cli "cert revoke with an unknown serial" 'serial' cert revoke 0123456789ABCDEF --reason keyCompromise
bad_cli "cert revoke with an unknown reason" 'reason' cert revoke "$SERIAL" --reason lostIt
bad_cli "cert revoke without a reason" 'reason' cert revoke "$SERIAL"
bad_cli "resident show of an unknown resident" 'resident' resident show 999
bad_cli "resident show of a non-numeric id" 'ID' resident show abc
bad_cli "resident change of an unknown resident" 'resident' resident change 999 --address 東京都港区1
bad_cli "resident change with a bad date" 'birth' resident change "$TARO" --birth 1980-13-01
bad_cli "resident change with an over-long address" 'address' resident change "$TARO" --address "$ADDR201"
bad_cli "cert list for an unknown resident" 'resident' cert list --resident 999
bad_cli "ca issue for an unknown resident" 'resident' ca issue --resident 999 --type auth \
	--pubkey "$(pubkey spare)" --out "$TMP/x.pem"
bad_cli "ca issue with an unknown type" 'type' ca issue --resident "$TARO" --type both \
	--pubkey "$(pubkey spare)" --out "$TMP/x.pem"
bad_cli "ca issue with a bad card expiry" 'card-expiry' ca issue --resident "$TARO" --type auth \
	--card-expiry 2030-02-30 --pubkey "$(pubkey spare)" --out "$TMP/x.pem"
printf 'not a key\n' >"$TMP/junk.pem"
bad_cli "ca issue with a file that is not a public key" 'pubkey' ca issue --resident "$TARO" --type auth \
	--pubkey "$TMP/junk.pem" --out "$TMP/x.pem"

check "the certificate the bad commands named is still valid"
ok cert show "$SERIAL" --json
expect_eq "status" "$(json_get status)" valid

done_ok
