# signer_lib.sh: starting and stopping `jpki signer` for the signer tests
# (test_signer*.sh).  Source after lib.sh.  start_signer ARGS... runs
# `jpki signer ARGS...` in the background (output in $TMP/signer.out and
# $TMP/signer.err, pid in $SIGNER_PID) and waits until it says it listens;
# stop_signer ends it with SIGTERM and fails unless it stops cleanly;
# kill_signer ends it with SIGKILL, as a crash would.  The EXIT trap kills
# a signer still running (SIGKILL: it may be stopped by SIGSTOP) and
# removes $TMP.

SIGNER_PID=
kill_signer() {
	if [ -n "$SIGNER_PID" ]; then
		kill -9 "$SIGNER_PID" 2>/dev/null || true
		wait "$SIGNER_PID" 2>/dev/null || true
		SIGNER_PID=
	fi
}
trap 'kill_signer; rm -rf "$TMP"' EXIT

start_signer() {
	# Emptied here, before the signer starts: the background job's own
	# redirection may run after the loop below has read the previous
	# signer's "listening" line (and a request would then find no signer).
	: >"$TMP/signer.out"
	: >"$TMP/signer.err"
	"$JPKI" signer "$@" >"$TMP/signer.out" 2>"$TMP/signer.err" &
	SIGNER_PID=$!
	for _ in $(seq 200); do
		grep -q '^jpki: signer listening' "$TMP/signer.out" 2>/dev/null && return 0
		kill -0 "$SIGNER_PID" 2>/dev/null || fail "jpki signer exited: $(cat "$TMP/signer.err")"
		sleep 0.05
	done
	fail "jpki signer did not start: $(cat "$TMP/signer.err")"
}

stop_signer() {
	kill "$SIGNER_PID"
	wait "$SIGNER_PID" || fail "the signer did not stop cleanly on SIGTERM: $(cat "$TMP/signer.err")"
	SIGNER_PID=
}
