#!/usr/bin/env bash
# test_resident_cli.sh: `jpki resident add|show|list|import` round-trip
# what is typed or imported (issue 2 item 4): every field comes back from
# show --json and list --json as it went in; the default municipality is
# the deployment's own (config), --municipality names another; import takes
# CSV with a header line in any column order (BOM, CRLF, quoted fields,
# blank lines tolerated) and adds all rows in one go.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -n "$PYTHON" ] || fail "python3 is needed to read the JSON (Debian CI has it)"

init_data
DEFAULT_MUNI=$(sed -n 's/^municipality *= *//p' "$DATA/config")
[ -n "$DEFAULT_MUNI" ] || fail "config has no municipality line"

# expect_resident ID FIELD=VALUE...: show --json has these values.
expect_resident() {
	local id=$1
	shift
	ok resident show "$id" --json
	json_expect "resident $id" "$@"
}

check "resident add --json prints the new resident with its id, and show --json returns every field"
N1=$(individual_number 70000000001)
ok resident add --number "$N1" --name "山田 太郎" --address "東京都千代田区千代田1-1" \
	--birth 1980-05-15 --gender male --json
ID1=$(json_get id)
[[ $ID1 =~ ^[1-9][0-9]*$ ]] || fail "resident add --json id is '$ID1'"
cp "$TMP/stdout" "$TMP/add1.json"
expect_resident "$ID1" id="$ID1" number="$N1" surname=山田 given=太郎 kana= \
	address=東京都千代田区千代田1-1 birth=1980-05-15 gender=male status=active \
	municipality.code="$DEFAULT_MUNI" name_flags=00000 address_flags=0000000000000 \
	facts_version=1
expect_eq "add --json equals show --json" "$(json_get "" "$TMP/add1.json")" "$(json_get "")"

check "a name separated by U+3000, with kana, a woman, another municipality (Sapporo 011002)"
N2=$(individual_number 70000000002)
ok resident add --number "$N2" --name "佐藤　花子" --kana "サトウ ハナコ" \
	--address "北海道札幌市中央区北1条西2丁目" --birth 2001-02-28 --gender female \
	--municipality 011002 --json
ID2=$(json_get id)
expect_resident "$ID2" surname=佐藤 given=花子 kana="サトウ ハナコ" gender=female \
	birth=2001-02-28 municipality.code=011002 municipality.name=札幌市 \
	municipality.prefecture=北海道
[ "$ID2" != "$ID1" ] || fail "two residents got the same id $ID1"

check "gender unknown round-trips"
N3=$(individual_number 70000000003)
ID3=$(add_resident "$N3" "不明 氏名" "東京都千代田区3" 1950-12-31 unknown)
expect_resident "$ID3" gender=unknown birth=1950-12-31

check "the signing certificate carries the resident's municipality in its subject (L=…Sapporo…)"
issue "$ID2" sign "$TMP/sapporo.pem" >/dev/null
subject=$(openssl x509 -in "$TMP/sapporo.pem" -noout -subject -nameopt RFC2253)
case $subject in
*L=Sapporo*,L=Hokkaido*,C=JP) ;;
*) fail "signing subject '$subject' does not name Hokkaido and Sapporo in L" ;;
esac

check "resident add without --json says which id it added"
N4=$(individual_number 70000000004)
ok resident add --number "$N4" --name "木村 四郎" --address "東京都千代田区4" \
	--birth 1990-04-04 --gender male
case $OUT in *"added resident "[0-9]*) ;; *) fail "resident add printed '$OUT'" ;; esac
ID4=${OUT##* }
expect_resident "$ID4" number="$N4" surname=木村

check "resident list --json lists every resident once, in id order"
ok resident list --json
expect_eq "resident count" "$(json_len)" 4
expect_eq "ids" "$("$PYTHON" -c 'import json,sys; print(" ".join(str(r["id"]) for r in json.load(open(sys.argv[1]))))' "$TMP/stdout")" \
	"$ID1 $ID2 $ID3 $ID4"
expect_eq "first listed number" "$(json_get 0.number)" "$N1"
expect_eq "second listed kana" "$(json_get 1.kana)" "サトウ ハナコ"

check "resident list (text) has one line per resident"
ok resident list
expect_eq "text list lines" "$(grep -c '' "$TMP/stdout")" 4
grep -q "$N2" "$TMP/stdout" || fail "text list lacks $N2"

check "resident show (text) shows the name and the municipality"
ok resident show "$ID2"
grep -q '佐藤 花子' "$TMP/stdout" || fail "text show lacks the name: $OUT"
grep -q '札幌市' "$TMP/stdout" || fail "text show lacks the municipality: $OUT"

check "resident import: columns in any order, BOM, CRLF, quotes, a blank line, optional columns left off; all rows added"
I1=$(individual_number 80000000001)
I2=$(individual_number 80000000002)
I3=$(individual_number 80000000003)
I4=$(individual_number 80000000004)
{
	printf '\xef\xbb\xbfgender,birth,name,number,address,kana,municipality\r\n'
	printf 'female,1995-06-30,伊藤 美咲,%s,"東京都千代田区1-2, ""メゾン""101",イトウ ミサキ,\r\n' "$I1"
	printf '\r\n'
	printf 'male,2012-02-29,高橋 大翔,%s,北海道札幌市北区1,,011002\r\n' "$I2"
	printf 'unknown,1930-01-01,"渡辺 一",%s,東京都千代田区9,,%s\r\n' "$I3" "$DEFAULT_MUNI"
	printf 'male,1960-10-10,小林 四,%s,東京都千代田区10\r\n' "$I4"   # optional columns left off
} >"$TMP/import.csv"
ok resident import "$TMP/import.csv" --json
expect_eq "added" "$(json_get added)" 4

ok resident list --json
expect_eq "resident count after import" "$(json_len)" 8
cp "$TMP/stdout" "$TMP/list.json"
IMP1=$(json_get 4.id)
IMP2=$(json_get 5.id)
IMP3=$(json_get 6.id)
expect_resident "$IMP1" number="$I1" surname=伊藤 given=美咲 kana="イトウ ミサキ" \
	address='東京都千代田区1-2, "メゾン"101' birth=1995-06-30 gender=female \
	municipality.code="$DEFAULT_MUNI"
expect_resident "$IMP2" number="$I2" surname=高橋 given=大翔 kana= birth=2012-02-29 \
	gender=male municipality.code=011002
expect_resident "$IMP3" number="$I3" surname=渡辺 given=一 gender=unknown birth=1930-01-01
expect_resident "$(json_get 7.id "$TMP/list.json")" number="$I4" kana= municipality.code="$DEFAULT_MUNI"

check "an imported resident is a resident like any other (R8e: born 2012-02-29, 14 today)"
expect_status 1 ca issue --resident "$IMP2" --type sign --pubkey "$(pubkey imp2)" --out "$TMP/x.pem"
expect_one_error_line 'R8e.*2027-02-28'

check "resident import (text) says how many; a header-only file adds none"
printf 'number,name,address,birth,gender\n' >"$TMP/empty.csv"
ok resident import "$TMP/empty.csv"
case $OUT in *"imported 0 residents"*) ;; *) fail "header-only import printed '$OUT'" ;; esac
ok resident list --json
expect_eq "resident count after an empty import" "$(json_len)" 8

check "jpki init --municipality sets the deployment's own municipality, the default for new residents"
OTHER=$TMP/sapporo-data
ok init --data "$OTHER" --municipality 011002 --json
expect_eq "init --json municipality" "$(json_get municipality)" 011002
grep -qx 'municipality = 011002' "$OTHER/config" || fail "config of $OTHER does not say municipality = 011002"
JPKI_DATA=$OTHER ok resident add --number "$N1" --name "山田 太郎" --address "北海道札幌市1" \
	--birth 1980-05-15 --gender male --json
json_expect "resident in $OTHER" municipality.code=011002 municipality.name=札幌市

check "every add and import row left one resident.add audit entry; the chain verifies"
ok audit list --json
expect_eq "resident.add entries" \
	"$("$PYTHON" -c 'import json,sys; print(sum(1 for e in json.load(open(sys.argv[1])) if e["action"] == "resident.add"))' "$TMP/stdout")" 8
expect_audit_ok "after adds and imports"

done_ok
