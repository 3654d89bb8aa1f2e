#!/usr/bin/env bash
# Clerks do not wait on each other.  A procedure generates the card's keys
# (the slow part) before it takes the store's write lock, and checks every
# rule again inside its transaction.  So: deliveries by several clerks at
# once all succeed (no "database is locked"); a delivery whose keys are
# made does not hold up another clerk's delivery; and a change made while
# a procedure generated its keys (a death, a loss report, another clerk's
# delivery to the same resident) is refused inside the transaction with
# its rule, changing nothing.  The same for a proxy's form, whose PDF is
# laid out before the transaction: a change of the address it prints made
# meanwhile gets the mailing laid out again.
# (JPKI_COUNTER_PAUSE=FILE is a test-only hook: just before its
# transaction the procedure creates FILE and waits until it is removed.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"

init_data
new_resident() {
	add_resident "$(individual_number "$1")" "Mori $2" "東京都清瀬市中里5-$2" 1984-06-21 female
}

# paused PAUSE_FILE OUT_PREFIX ARGS...: start `jpki counter ARGS` in the
# background with the hook set; returns once it waits before its
# transaction (its keys made).  $PAUSED gets its pid.
paused() {
	local pause=$1 out=$2
	shift 2
	JPKI_COUNTER_PAUSE=$pause "$JPKI" counter "$@" --clerk clerk-a --json \
		>"$out.json" 2>"$out.err" &
	PAUSED=$!
	for _ in $(seq 1 600); do
		[ -e "$pause" ] && return 0
		kill -0 "$PAUSED" 2>/dev/null ||
			fail "jpki counter $* ended before its transaction: $(cat "$out.err")"
		sleep 0.05
	done
	fail "jpki counter $* never reached its transaction"
}

# released PAUSE_FILE: let the paused procedure go on; $RELEASED gets its
# exit status.
released() {
	rm -f "$1"
	RELEASED=0
	wait "$PAUSED" || RELEASED=$?
}

# refused_on_release PAUSE_FILE OUT PATTERN: let the paused procedure go
# on; it exits 1 with its refusal matching PATTERN, and the store is as it
# was just before (what happened meanwhile included).
refused_on_release() {
	local pause=$1 out=$2 pattern=$3
	db_snapshot "$TMP/before.sql"
	released "$pause"
	[ "$RELEASED" -eq 1 ] || fail "the paused procedure exited $RELEASED, expected 1: $(cat "$out.err")"
	grep -Eq -- "$pattern" "$out.err" || fail "refusal: $(cat "$out.err")"
	printf '%s:   stderr: %s\n' "$TEST_NAME" "$(cat "$out.err")"
	expect_store_unchanged "$TMP/before.sql" "refused $(basename "$out")"
}

check "four clerks deliver at once: all four succeed"
pids=()
for i in 1 2 3 4; do
	id=$(new_resident "1000000010$i" "$i")
	"$JPKI" counter deliver --resident "$id" --out "$TMP/four-$i.img" \
		--clerk "clerk-$i" --json >"$TMP/four-$i.json" 2>"$TMP/four-$i.err" &
	pids+=($!)
done
for i in 1 2 3 4; do
	rc=0
	wait "${pids[$((i - 1))]}" || rc=$?
	[ "$rc" -eq 0 ] || fail "clerk $i's delivery exited $rc: $(cat "$TMP/four-$i.err")"
	[ ! -s "$TMP/four-$i.err" ] || fail "clerk $i's delivery said: $(cat "$TMP/four-$i.err")"
	verify_on_card "$TMP/four-$i.img" auth
done
expect_eq "cards in the store" "$(sql 'SELECT COUNT(*) FROM cards')" 4
expect_audit_ok "after four deliveries at once"

check "a delivery with its keys made holds no lock: another clerk's delivery completes meanwhile"
a=$(new_resident 10000000201 21)
b=$(new_resident 10000000202 22)
paused "$TMP/pause" "$TMP/a" deliver --resident "$a" --out "$TMP/a.img"
deliver "$b" "$TMP/b.img"
[ ! -e "$TMP/a.img" ] || fail "the paused delivery wrote its card before its transaction"
released "$TMP/pause"
[ "$RELEASED" -eq 0 ] || fail "the paused delivery exited $RELEASED: $(cat "$TMP/a.err")"
verify_on_card "$TMP/a.img" sign
verify_on_card "$TMP/b.img" sign
expect_audit_ok "after the overlapping deliveries"

check "another clerk delivers to the same resident meanwhile: the first is refused in its transaction, nothing written"
c=$(new_resident 10000000203 23)
paused "$TMP/pause" "$TMP/c1" deliver --resident "$c" --out "$TMP/c1.img"
deliver "$c" "$TMP/c2.img"
refused_on_release "$TMP/pause" "$TMP/c1" "already holds card"
[ ! -e "$TMP/c1.img" ] && [ ! -e "$TMP/c1.img.pending" ] || fail "the refused delivery left a card image"

check "another clerk delivers a card to the same file meanwhile: that one is refused at once (the file's lock), the first completes"
h1=$(new_resident 10000000208 28)
h2=$(new_resident 10000000209 29)
paused "$TMP/pause" "$TMP/h1" deliver --resident "$h1" --out "$TMP/h.img"
db_snapshot "$TMP/before.sql"
jpki counter deliver --resident "$h2" --out "$TMP/h.img" --clerk clerk-sato --json
[ "$RC" -eq 1 ] || fail "a second delivery to a card file being written exited $RC, expected 1"
expect_one_error_line 'h\.img is in use by another process'
expect_store_unchanged "$TMP/before.sql" "the refused second delivery"
released "$TMP/pause"
[ "$RELEASED" -eq 0 ] || fail "the first delivery exited $RELEASED: $(cat "$TMP/h1.err")"
ok card status --card "$TMP/h.img" --json
[ ! -e "$TMP/h.img.pending" ] || fail "a pending image was left"

check "the holder's death is recorded meanwhile: the delivery is refused (R11), nothing written"
d=$(new_resident 10000000204 24)
paused "$TMP/pause" "$TMP/d" deliver --resident "$d" --out "$TMP/d.img"
ok resident change "$d" --deceased --clerk registrar
refused_on_release "$TMP/pause" "$TMP/d" "R11: .*deceased"
[ ! -e "$TMP/d.img" ] && [ ! -e "$TMP/d.img.pending" ] || fail "the refused delivery left a card image"

check "the card is reported lost meanwhile: issuance onto it is refused, card and store unchanged"
e=$(new_resident 10000000205 25)
deliver "$e" "$TMP/e.img" --no-sign
cp "$TMP/e.img" "$TMP/e.before"
paused "$TMP/pause" "$TMP/e" issue --card "$TMP/e.img" --type sign
counter report-lost --resident "$e"
refused_on_release "$TMP/pause" "$TMP/e" "lost"
cmp -s "$TMP/e.img" "$TMP/e.before" || fail "the card image changed"
[ ! -e "$TMP/e.img.pending" ] || fail "the refused issuance left a pending image"
check "the holder moves while a proxy's form is laid out: the mailing goes to the new address"
command -v pdftotext >/dev/null 2>&1 || fail "pdftotext is needed"
PROXY=(--proxy-name "鈴木 一郎" --proxy-id-type mynumber-card --proxy-id-number 0123456789AB)
f=$(new_resident 10000000206 26)
paused "$TMP/pause" "$TMP/f" proxy-apply --resident "$f" --purpose issue --type sign \
	"${PROXY[@]}" --out "$TMP/f.pdf"
ok resident change "$f" --address "東京都清瀬市元町一丁目4番17号" --clerk registrar
released "$TMP/pause"
[ "$RELEASED" -eq 0 ] || fail "the paused application exited $RELEASED: $(cat "$TMP/f.err")"
pdftotext -f 1 -l 1 "$TMP/f.pdf" "$TMP/f.txt"
grep -q '東京都清瀬市元町一丁目4番17号' "$TMP/f.txt" || fail "the mailing is not addressed to the new address"
! grep -q '東京都清瀬市中里5-26' "$TMP/f.txt" || fail "the mailing still names the old address"
[ ! -e "$TMP/f.pdf.tmp" ] || fail "the application left its temporary PDF"
expect_eq "applications" "$(sql "SELECT COUNT(*) FROM proxy_applications WHERE resident_id = $f")" 1
expect_audit_ok "after the application"

check "the holder's death is recorded while a proxy's form is laid out: refused, no PDF, no application"
g=$(new_resident 10000000207 27)
paused "$TMP/pause" "$TMP/g" proxy-apply --resident "$g" --purpose issue --type sign \
	"${PROXY[@]}" --out "$TMP/g.pdf"
ok resident change "$g" --deceased --clerk registrar
refused_on_release "$TMP/pause" "$TMP/g" "deceased; no form is sent"
[ ! -e "$TMP/g.pdf" ] && [ ! -e "$TMP/g.pdf.tmp" ] || fail "the refused application left a PDF"
expect_eq "applications" "$(sql "SELECT COUNT(*) FROM proxy_applications WHERE resident_id = $g")" 0
expect_audit_ok "after the refused application"
done_ok
