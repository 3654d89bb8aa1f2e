#!/usr/bin/env bash
# A counter procedure writes the store and the card image all or nothing.
# The new image is staged (<card>.pending, fsync'd, its hash recorded in
# the transaction), the store commits, then the image is renamed into
# place.  Killing the process after the stage leaves the store and the card
# as before and the pending image is dropped at the next visit; killing it
# after the commit leaves a recorded pending image that the next visit puts
# in place, so the card ends up holding what the store says it holds.
# (JPKI_COUNTER_CRASH is a test-only hook: SIGKILL at that point, status
# 137.  test_counter_crash_steps.sh kills at every step.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"
need_test_hooks

init_data
id=$(add_resident "$(individual_number 10000000020)" "Kudo Sora" "東京都清瀬市中里5-20" 1983-05-20 male)
deliver "$id" "$TMP/card.img" --no-sign

check "killed after staging, before the commit: store and card as before"
db_snapshot "$TMP/before.sql"
cp "$TMP/card.img" "$TMP/card.before"
JPKI_COUNTER_CRASH=after-stage expect_status 137 counter issue --card "$TMP/card.img" --type sign --clerk "$CLERK"
[ -f "$TMP/card.img.pending" ] || fail "no pending image after the crash"
expect_store_unchanged "$TMP/before.sql" "crash after stage"
cmp -s "$TMP/card.img" "$TMP/card.before" || fail "the card image changed"
check "the next visit drops the uncommitted pending image"
ok counter recover --card "$TMP/card.img" --json
json_expect "recover" repaired=true
[ ! -e "$TMP/card.img.pending" ] || fail "pending image still there"
cmp -s "$TMP/card.img" "$TMP/card.before" || fail "recover changed the card"
expect_store_unchanged "$TMP/before.sql" "after recover"
ok counter recover --card "$TMP/card.img" --json
json_expect "nothing left" repaired=false

check "killed after the commit: the store has the certificate, the card not yet"
JPKI_COUNTER_CRASH=after-commit expect_status 137 counter issue --card "$TMP/card.img" --type sign --clerk "$CLERK"
cmp -s "$TMP/card.img" "$TMP/card.before" || fail "the card image changed before the rename"
[ -f "$TMP/card.img.pending" ] || fail "no pending image after the crash"
serial=$(sql "SELECT serial FROM certificates WHERE ca = 1")
[ -n "$serial" ] || fail "the committed certificate is not in the store"
expect_audit_ok "after the crash"
check "the next procedure on the card finishes the write first"
JPKI_AUTH_PIN=4321 counter reset-pin --card "$TMP/card.img" --type auth
[ ! -e "$TMP/card.img.pending" ] || fail "pending image still there"
expect_eq "on card" "$(serial_on_card "$TMP/card.img" sign)" "$serial"
JPKI_AUTH_PIN=4321 ok card sign --card "$TMP/card.img" --type auth --in "$TMP/card.before" --out "$TMP/sig"

check "a new card killed after the commit: recover puts it in place"
other=$(add_resident "$(individual_number 10000000021)" "Kudo Umi" "東京都清瀬市中里5-21" 1984-06-21 female)
JPKI_COUNTER_CRASH=after-commit expect_status 137 counter deliver --resident "$other" --out "$TMP/new.img" --clerk "$CLERK"
[ ! -e "$TMP/new.img" ] || fail "the card appeared before the rename"
ok counter recover --card "$TMP/new.img" --json
json_expect "recover" repaired=true
verify_on_card "$TMP/new.img" auth
expect_eq "card serial" "$(card_status "$TMP/new.img" serial)" "$(sql "SELECT serial FROM cards WHERE resident_id = $other")"

check "a new card killed before the commit: no card record, the store as before"
third=$(add_resident "$(individual_number 10000000022)" "Kudo Riku" "東京都清瀬市中里5-22" 1985-07-22 male)
db_snapshot "$TMP/before.sql"
JPKI_COUNTER_CRASH=after-stage expect_status 137 counter deliver --resident "$third" --out "$TMP/third.img" --clerk "$CLERK"
expect_store_unchanged "$TMP/before.sql" "new card crash after stage"
[ -f "$TMP/third.img.pending" ] || fail "no pending image"
check "delivering to that path again first drops the uncommitted image"
deliver "$third" "$TMP/third.img"
[ ! -e "$TMP/third.img.pending" ] || fail "pending image still there"
verify_on_card "$TMP/third.img" sign
expect_audit_ok "end"
done_ok
