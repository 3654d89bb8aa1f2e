# signer_lib.sh: starting and stopping `jpki signer` for the signer tests
# (test_signer*.sh).  Source after lib.sh.  start_signer ARGS... runs
# `jpki signer ARGS...` in the background with lib.sh's start_jpki (output
# in $TMP/signer.out and $TMP/signer.err, emptied first, so a restart never
# reads the last signer's line; pid in $SIGNER_PID) and waits until it
# says it listens; stop_signer ends it with SIGTERM and fails unless it
# stops cleanly; kill_signer ends it with SIGKILL, as a crash would.  The
# EXIT trap kills a signer still running (SIGKILL: it may be stopped by
# SIGSTOP) and removes $TMP.

SIGNER_PID=
kill_signer() {
	end_jpki SIGNER_PID KILL
}
trap 'kill_signer; rm -rf "$TMP"' EXIT

start_signer() {
	start_jpki SIGNER_PID '^jpki: signer listening' signer "$@"
}

stop_signer() {
	kill "$SIGNER_PID"
	wait "$SIGNER_PID" || fail "the signer did not stop cleanly on SIGTERM: $(cat "$TMP/signer.err")"
	SIGNER_PID=
}
