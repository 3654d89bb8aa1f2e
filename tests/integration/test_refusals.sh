#!/usr/bin/env bash
# test_refusals.sh: `jpki ca issue` refuses what the rules refuse, with exit
# status 1, one line naming the rule (and, where the refusal is about time,
# the date it lifts), and nothing recorded:
#   R8e  no signing certificate under 15; the authentication one is allowed
#   R11  the card must be valid: a card expiry in the past is refused
#   R11  a holder recorded as deceased gets nothing
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Today is 2026-04-01 (lib.sh).
init_data
AGE14=$(add_resident "$(individual_number 11111111111)" "若葉 一郎" \
	"東京都千代田区一番町1" 2011-06-10 male)           # 15 on 2026-06-10
EVE15=$(add_resident "$(individual_number 22222222222)" "若葉 二郎" \
	"東京都千代田区二番町2" 2011-04-02 male)           # 15 tomorrow
TODAY15=$(add_resident "$(individual_number 33333333333)" "若葉 三子" \
	"東京都千代田区三番町3" 2011-04-01 female)         # 15 today
LEAP=$(add_resident "$(individual_number 44444444444)" "若葉 閏" \
	"東京都千代田区四番町4" 2012-02-29 unknown)        # 15 on 2027-02-28
ADULT=$(add_resident "$(individual_number 55555555555)" "年上 五郎" \
	"東京都千代田区五番町5" 1970-01-20 male)

# refused ID TYPE RULE DATE [extra]: exit 1, one line naming RULE and DATE,
# store unchanged.
refused() {
	local id=$1 type=$2 rule=$3 date=$4
	shift 4
	db_snapshot "$TMP/before.sql"
	expect_status 1 ca issue --resident "$id" --type "$type" \
		--pubkey "$(pubkey "r$id-$type")" --out "$TMP/refused.pem" "$@"
	expect_one_error_line "$rule"
	[ -z "$date" ] || expect_one_error_line "$rule.*$date"
	[ ! -s "$TMP/refused.pem" ] || fail "a refused issuance wrote $TMP/refused.pem"
	expect_store_unchanged "$TMP/before.sql" "refused $type issuance for resident $id"
}

check "R8e: signing certificate refused at 14, naming the date it opens (2026-06-10), exit 1"
refused "$AGE14" sign R8e 2026-06-10

check "R8e: the authentication certificate is allowed at 14"
issue "$AGE14" auth "$TMP/age14-auth.pem" >/dev/null

check "R8e: refused the day before the 15th birthday, naming tomorrow (2026-04-02)"
refused "$EVE15" sign R8e 2026-04-02

check "R8e: allowed on the 15th birthday itself"
issue "$TODAY15" sign "$TMP/today15-sign.pem" >/dev/null

check "R8e: allowed once the 15th birthday has come (JPKI_NOW=2026-06-10)"
JPKI_NOW=2026-06-10T09:00:00+09:00 issue "$AGE14" sign "$TMP/age15-sign.pem" >/dev/null

check "R8e: born 29 February, 15 on 28 February of a common year (refused 2027-02-27, allowed 2027-02-28)"
JPKI_NOW=2027-02-27T12:00:00+09:00 refused "$LEAP" sign R8e 2027-02-28
JPKI_NOW=2027-02-28T00:00:00+09:00 issue "$LEAP" sign "$TMP/leap-sign.pem" >/dev/null

check "R11: a card that expired yesterday is refused (sign and auth), naming its expiry"
refused "$ADULT" sign R11 2026-03-31 --card-expiry 2026-03-31
refused "$ADULT" auth R11 2026-03-31 --card-expiry 2026-03-31

check "R11: a card expiring today is still valid today"
issue "$ADULT" auth "$TMP/adult-auth.pem" --card-expiry 2026-04-01 >/dev/null
expect_eq "capped not_after" "$(json_get not_after)" 2026-04-01T23:59:59+09:00

check "R11: a deceased resident gets no certificate of either type"
ok resident change "$ADULT" --deceased
refused "$ADULT" sign R11 ""
refused "$ADULT" auth R11 ""

check "the audit chain verifies after the refusals"
expect_audit_ok "after refusals"

done_ok
