# pcscd_lib.sh: a private pcscd with a vsmartcard vpcd reader for a test,
# on a free loopback port, in its own mount namespace when it can (so a
# system pcscd is left alone).  Source it with $TMP set; it exits 77 (skip)
# where no private pcscd can run.  After pcscd_start: $VPCD_PORT, and
# PCSCLITE_CSOCK_NAME exported for the clients; pcscd_stop ends it.
VPCD_LIB=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
PCSCD_PID=

pcscd_start() {
	local ns p
	command -v pcscd >/dev/null || { echo "skip: pcscd not installed"; exit 77; }
	[ -e "$VPCD_LIB" ] || { echo "skip: vsmartcard-vpcd not installed"; exit 77; }
	VPCD_PORT=
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null &&
		   ! (exec 3<>/dev/tcp/127.0.0.1/$((p + 1))) 2>/dev/null; then
			VPCD_PORT=$p
			break
		fi
	done
	[ -n "$VPCD_PORT" ] || { echo "pcscd_lib: no free port" >&2; return 1; }
	mkdir -p "$TMP/pcsc-conf" "$TMP/pcsc-run"
	printf 'FRIENDLYNAME "Virtual PCD"\nDEVICENAME   /dev/null:0x%X\nLIBPATH      %s\nCHANNELID    0x%X\n' \
		"$VPCD_PORT" "$VPCD_LIB" "$VPCD_PORT" >"$TMP/pcsc-conf/vpcd"
	[ -d /run/pcscd ] || mkdir -p /run/pcscd 2>/dev/null
	ns="-m --propagation private"
	[ "$(id -u)" -eq 0 ] || ns="-r $ns"
	if unshare $ns true 2>/dev/null && [ -d /run/pcscd ]; then
		unshare $ns sh -c "mount --bind '$TMP/pcsc-run' /run/pcscd && exec pcscd -f -a -c '$TMP/pcsc-conf'" \
			>"$TMP/pcscd.log" 2>&1 &
		PCSCD_PID=$!
		export PCSCLITE_CSOCK_NAME="$TMP/pcsc-run/pcscd.comm"
	elif ! pgrep -x pcscd >/dev/null && [ ! -e /run/pcscd/pcscd.comm ] && [ -w /run/pcscd ]; then
		pcscd -f -a -c "$TMP/pcsc-conf" >"$TMP/pcscd.log" 2>&1 &
		PCSCD_PID=$!
		export PCSCLITE_CSOCK_NAME=/run/pcscd/pcscd.comm
	else
		echo "skip: cannot run a private pcscd here"
		exit 77
	fi
	for _ in $(seq 50); do
		[ -S "$PCSCLITE_CSOCK_NAME" ] && return 0
		kill -0 "$PCSCD_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "pcscd_lib: pcscd did not start: $(tail -5 "$TMP/pcscd.log")" >&2
	return 1
}

pcscd_stop() {
	if [ -n "$PCSCD_PID" ]; then
		kill "$PCSCD_PID" 2>/dev/null || true
		wait "$PCSCD_PID" 2>/dev/null || true
		PCSCD_PID=
	fi
}
