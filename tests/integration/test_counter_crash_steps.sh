#!/usr/bin/env bash
# A crash never loses a card (issue 8, item 10).  `jpki counter deliver`
# and `jpki counter renew` are killed at every step of the card write
# (docs/counter.md): JPKI_COUNTER_CRASH=k sends the process SIGKILL at the
# k-th crash point it reaches, for k = 1, 2, ... until a run gets through
# them all.  After each kill the recovery path runs (`jpki counter
# recover`, or the next procedure on that card), and then:
#   - the card image is the one the store committed (its SHA-256 is the one
#     card_images holds; an uncommitted new card is not there at all),
#   - every certificate on the card is in the store, issued for that card,
#   - no <card>.pending, .staging or .blank.* is left,
#   - the audit chain verifies.
# Then: a kill of the recovery itself, the state an older version left (the
# pending image a hard link to the card), the leftovers of killed runs, and
# SIGKILL after random delays.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"
need_test_hooks
command -v sqlite3 >/dev/null 2>&1 || fail "the sqlite3 command-line tool is needed"

T0=2026-04-01T10:00:00+09:00   # delivery
T1=2030-08-20T10:00:00+09:00   # two months before the certificates expire
STEPS="staging-written staged after-stage after-commit installed"
init_data

N=0
# new_resident: RES, a new resident born 1970-10-20 (certificates expire
# 2030-10-20); the clock back at T0.
new_resident() {
	N=$((N + 1))
	at "$T0"
	RES=$(add_resident "$(individual_number $((30000000000 + N)))" \
		"Crash Test$N" "東京都清瀬市中里5-$N" 1970-10-20 male)
}

# no_leftovers CARD WHAT
no_leftovers() {
	local f
	for f in "$1.pending" "$1.staging" "$1".blank.*; do
		[ ! -e "$f" ] || fail "$2: $f left behind"
	done
}

# card_ok CARD WHAT: the four invariants for a card the store has.
card_ok() {
	local card=$1 what=$2 serial id want have dir t s
	no_leftovers "$card" "$what"
	[ -f "$card" ] || fail "$what: no card image at $card"
	have=$(sha256sum "$card" | cut -d' ' -f1)
	serial=$(card_status "$card" serial)
	id=$(sql "SELECT id FROM cards WHERE serial = '$serial'")
	[ -n "$id" ] || fail "$what: card $serial is not in the store"
	want=$(sql "SELECT $(db_hex sha256) FROM card_images WHERE card_id = $id")
	expect_eq "$what: the image is the one the store committed" "$have" "$want"
	dir=$TMP/oncard
	rm -rf "$dir"
	mkdir -p "$dir"
	"$JPKI" card certs --card "$card" --out "$dir" \
		$([ "$(json_get certificates.sign "$TMP/status.json")" = true ] && echo --sign) \
		>/dev/null 2>"$TMP/certs.err" || fail "$what: jpki card certs: $(cat "$TMP/certs.err")"
	for t in sign auth; do
		[ -f "$dir/$t.der" ] || continue
		s=$(openssl x509 -inform DER -in "$dir/$t.der" -noout -serial | sed 's/^serial=//')
		expect_eq "$what: $t certificate $s on the card, in the store for it" \
			"$(sql "SELECT card_id FROM certificates WHERE serial = '$s'")" "$id"
	done
	expect_audit_ok "$what"
	expect_eq "$what: store integrity" "$(db_integrity)" ok
}

# killed_at: the crash point named in the last run's stderr.
killed_at() {
	sed -n 's/^jpki: test hook: killed at crash point [0-9]* (\(.*\))$/\1/p' "$TMP/stderr"
}

# committed STEP: 0 if the store has committed by that step.
committed() {
	case $1 in after-commit | installed) return 0 ;; *) return 1 ;; esac
}

# kill_at_every_step PROC: for k = 1, 2, ... `PROC_run K` runs the
# procedure with JPKI_COUNTER_CRASH=k (on $CARD).  Once it is killed, the
# store must have committed it (`PROC_committed` says yes) exactly when the
# kill came after the commit; then the recovery path runs (`jpki counter
# recover` after odd steps, `PROC_next_visit` after even ones) and
# `PROC_check STEP` checks the card.  Until a run gets through; the steps
# killed at must be the protocol's, in order.
kill_at_every_step() {
	local proc=$1 k=1 seen= step want
	while :; do
		"${proc}_run" "$k"
		if [ "$RC" -eq 0 ]; then
			card_ok "$CARD" "$proc with no kill"
			break
		fi
		[ "$RC" -eq 137 ] || fail "$proc, step $k: exit $RC, expected a kill (137)"
		step=$(killed_at)
		seen="$seen $step"
		want=no
		committed "$step" && want=yes
		expect_eq "$proc killed at $step: committed" "$("${proc}_committed")" "$want"
		if [ $((k % 2)) -eq 1 ]; then
			ok counter recover --card "$CARD" --json
		else
			"${proc}_next_visit"
		fi
		"${proc}_check" "$step"
		printf '%s:   %s killed at step %d (%s): recovered\n' "$TEST_NAME" \
			"$proc" "$k" "$step"
		k=$((k + 1))
		[ "$k" -le 20 ] || fail "$proc never got through its crash points"
	done
	expect_eq "$proc's steps" "${seen# }" "$STEPS"
}

# yes_if CONDITION...: yes or no.
yes_if() {
	if "$@"; then echo yes; else echo no; fi
}

# ---- deliver ---------------------------------------------------------------

deliver_run() {
	new_resident
	CARD=$TMP/deliver$1.img
	JPKI_COUNTER_CRASH=$1 jpki counter deliver --resident "$RES" --out "$CARD" \
		--no-sign --clerk "$CLERK" --json
}

deliver_committed() {
	yes_if [ "$(sql "SELECT COUNT(*) FROM cards WHERE resident_id = $RES")" = 1 ]
}

deliver_next_visit() {
	if [ "$(deliver_committed)" = yes ]; then
		# The next procedure on the card finishes the write first.
		counter reset-pin --card "$CARD" --type cardinfo
	else
		# A new delivery to the same path undoes it first.
		deliver "$RES" "$CARD" --no-sign
	fi
}

deliver_check() {
	if [ -e "$CARD" ]; then
		card_ok "$CARD" "deliver killed at $1"
	else
		committed "$1" && fail "deliver killed at $1: the committed card is gone"
		no_leftovers "$CARD" "deliver killed at $1"
		expect_audit_ok "deliver killed at $1"
	fi
}

check "deliver killed at every step, then recovered: the card the store committed or none"
kill_at_every_step deliver

# ---- renew -----------------------------------------------------------------

renew_run() {
	new_resident
	CARD=$TMP/renew$1.img
	deliver "$RES" "$CARD" --no-sign
	OLD=$(json_get receipt.issued.0.serial)
	at "$T1"
	JPKI_COUNTER_CRASH=$1 jpki counter renew --card "$CARD" --type auth \
		--clerk "$CLERK" --json
}

renew_committed() {   # the old certificate revoked (superseded)
	yes_if [ "$(sql "SELECT status FROM certificates WHERE serial = '$OLD'")" = 2 ]
}

renew_next_visit() {
	counter reset-pin --card "$CARD" --type auth
}

renew_check() {
	card_ok "$CARD" "renew killed at $1"
	# The certificate on the card is the card's one valid one.
	expect_eq "renew killed at $1: the valid certificate is on the card" \
		"$(serial_on_card "$CARD" auth)" \
		"$(sql "SELECT serial FROM certificates WHERE card_id = (SELECT id FROM cards WHERE serial = '$(card_status "$CARD" serial)') AND ca = 2 AND status = 1")"
}

check "renew killed at every step, then recovered: the old certificate or the new one, as the store says"
kill_at_every_step renew

# ---- recovery killed, older leftovers ----------------------------------------

check "recovery itself killed: the next recovery finishes"
new_resident
card=$TMP/twice.img
JPKI_COUNTER_CRASH=after-commit expect_status 137 counter deliver --resident "$RES" \
	--out "$card" --no-sign --clerk "$CLERK"
JPKI_COUNTER_CRASH=1 expect_status 137 counter recover --card "$card"
expect_eq "recover killed at" "$(killed_at)" recovered
ok counter recover --card "$card" --json
card_ok "$card" "recover killed"

check "the state an older version left: <card>.pending a hard link to the card; a renew killed after staging leaves the card whole"
new_resident
card=$TMP/linked.img
deliver "$RES" "$card" --no-sign
cp "$card" "$TMP/linked.before"
ln "$card" "$card.pending"
at "$T1"
JPKI_COUNTER_CRASH=after-stage expect_status 137 counter renew --card "$card" --type auth --clerk "$CLERK"
cmp -s "$card" "$TMP/linked.before" || fail "the staged image was written into the card"
ok counter recover --card "$card" --json
json_expect "recover" repaired=true
cmp -s "$card" "$TMP/linked.before" || fail "recover changed the card"
card_ok "$card" "after the hard-link state"
counter renew --card "$card" --type auth
card_ok "$card" "renewed after the hard-link state"

check "leftovers of killed runs are removed: <card>.blank.PID by recover, CRL temporaries by the next generation"
touch "$card.blank.12345" "$card.blank.12345.new.12345" "$card.staging"
ok counter recover --card "$card" --json
no_leftovers "$card" "recover"
mkdir -p "$DATA/crl/sign"
touch "$DATA/crl/sign/0.crl.jpki-tmp.Ab3dE9" "$DATA/crl/sign/full.crl.jpki-entries.x1Y2z3"
ok crl generate --type sign --shard 0 --json
[ -f "$DATA/crl/sign/0.crl" ] || fail "no CRL written"
left=$(find "$DATA/crl" -name '*.crl.*')
[ -z "$left" ] || fail "CRL temporaries left: $left"

# ---- random kills ------------------------------------------------------------

check "SIGKILL after random delays: the same invariants"
RUNS=${JPKI_CRASH_RANDOM_RUNS:-10}   # deliver + renew pairs
# random_kill SECONDS ARGS...: run jpki ARGS and SIGKILL it after SECONDS.
random_kill() {
	local delay=$1 pid
	shift
	"$JPKI" "$@" >"$TMP/stdout" 2>"$TMP/stderr" &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null || true
	RC=0
	wait "$pid" || RC=$?
}
for i in $(seq 1 "$RUNS"); do
	new_resident
	card=$TMP/random$i.img
	random_kill "0.$((RANDOM % 9))$((RANDOM % 10))" counter deliver --resident "$RES" \
		--out "$card" --no-sign --clerk "$CLERK"
	ok counter recover --card "$card" --json
	if [ ! -e "$card" ]; then
		no_leftovers "$card" "random deliver $i"
		expect_eq "random deliver $i killed before the commit: no card" \
			"$(sql "SELECT COUNT(*) FROM cards WHERE resident_id = $RES")" 0
		deliver "$RES" "$card" --no-sign
	fi
	card_ok "$card" "random deliver $i (exit $RC)"
	at "$T1"
	random_kill "0.$((RANDOM % 8))$((RANDOM % 10))" counter renew --card "$card" \
		--type auth --clerk "$CLERK"
	ok counter recover --card "$card" --json
	card_ok "$card" "random renew $i (exit $RC)"
	printf '%s:   random run %d: deliver and renew recovered\n' "$TEST_NAME" "$i"
done
done_ok
