#!/usr/bin/env bash
# test_substitution_flags.sh: R4 — the name and address substitution flags
# (OIDs .2 and .6, one 0/1 per character) are taken from the register, from
# `resident add` and from CSV import, and land in the signing certificate;
# flags of the wrong length or with other characters are refused and change
# nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

init_data
check "R4: flags given at add reach the signing certificate"
ok resident add --number "$(individual_number 27182818284)" --name "髙橋 一" \
	--address "東京都千代田区" --birth 1980-01-01 --gender male \
	--name-flags 1000 --address-flags 0000010 --json
ID=$(json_get id)
SERIAL=$(issue "$ID" sign "$TMP/sign.pem")
ok cert show "$SERIAL" --json
expect_eq "name flags" "$(json_get facts.name_flags)" 1000
expect_eq "address flags" "$(json_get facts.address_flags)" 0000010

check "R4: flags from a CSV import"
printf 'number,name,address,birth,gender,name_flags,address_flags\n%s,"𠮷田 花子",東京都,1990-02-02,female,10000,001\n' \
	"$(individual_number 27182818285)" >"$TMP/flags.csv"
ok resident import "$TMP/flags.csv" --json
ok resident list --json
"$PYTHON" -c 'import json,sys; r=json.load(open(sys.argv[1]))[-1]; sys.exit(0 if (r["name_flags"], r["address_flags"]) == ("10000", "001") else 1)' "$TMP/stdout" ||
	fail "imported flags not stored"

check "bad flags are refused, naming the field, and change nothing"
db_snapshot "$TMP/before.sql"
expect_status 2 resident add --number "$(individual_number 27182818286)" --name "山田 太郎" \
	--address "東京都" --birth 1980-01-01 --gender male --name-flags 000
expect_one_error_line "name flags"
expect_status 2 resident add --number "$(individual_number 27182818286)" --name "山田 太郎" \
	--address "東京都" --birth 1980-01-01 --gender male --address-flags 0x0
expect_one_error_line "address flags"
expect_store_unchanged "$TMP/before.sql" "refused flags"
done_ok
