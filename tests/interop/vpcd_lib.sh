# vpcd_lib.sh: a private pcscd with a vsmartcard vpcd reader on a free
# loopback port, and an emulated card image attached to it with `jpki card
# attach`, for tests that drive the card through real middleware (PC/SC,
# OpenSC, NSS).  Source after lib.sh (it uses fail and $TMP).  The same
# setup as test_opensc.sh, as functions:
#   vpcd_start      pcscd in a private mount namespace (or at the system
#                   path when none runs), PCSCLITE_CSOCK_NAME and an
#                   OPENSC_CONF without OpenSC's file cache exported; skips
#                   the test (77) where neither is possible
#   vpcd_attach IMG attach the card image; waits until OpenSC sees it
#   vpcd_stop       stop both (the caller's EXIT trap calls it)
P11=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
VPCD_LIB=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
VPCD_PCSCD_PID= VPCD_ATTACH_PID=

vpcd_skip() {
	printf '%s: SKIP: %s\n' "$TEST_NAME" "$*"
	exit 77
}

vpcd_stop() {
	if [ -n "$VPCD_ATTACH_PID" ]; then
		kill "$VPCD_ATTACH_PID" 2>/dev/null || true
		wait "$VPCD_ATTACH_PID" 2>/dev/null || true
		VPCD_ATTACH_PID=
	fi
	if [ -n "$VPCD_PCSCD_PID" ]; then
		kill "$VPCD_PCSCD_PID" 2>/dev/null || true
		wait "$VPCD_PCSCD_PID" 2>/dev/null || true
		VPCD_PCSCD_PID=
	fi
}

vpcd_start() {
	local p ns
	for tool in pcscd opensc-tool; do
		command -v "$tool" >/dev/null || vpcd_skip "$tool not installed"
	done
	[ -e "$VPCD_LIB" ] || vpcd_skip "vsmartcard-vpcd not installed"
	[ -e "$P11" ] || vpcd_skip "opensc-pkcs11 not installed"
	VPCD_PORT=
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null &&
		   ! (exec 3<>/dev/tcp/127.0.0.1/$((p + 1))) 2>/dev/null; then
			VPCD_PORT=$p
			break
		fi
	done
	[ -n "$VPCD_PORT" ] || fail "no free port for vpcd"
	mkdir -p "$TMP/pcsc/conf" "$TMP/pcsc/run"
	printf 'FRIENDLYNAME "Virtual PCD"\nDEVICENAME   /dev/null:0x%X\nLIBPATH      %s\nCHANNELID    0x%X\n' \
		"$VPCD_PORT" "$VPCD_LIB" "$VPCD_PORT" >"$TMP/pcsc/conf/vpcd"
	printf 'app default {\n\tframework pkcs15 {\n\t\tuse_file_cache = no;\n\t}\n}\n' \
		>"$TMP/pcsc/opensc.conf"
	export OPENSC_CONF="$TMP/pcsc/opensc.conf"
	[ -d /run/pcscd ] || mkdir -p /run/pcscd 2>/dev/null
	ns="-m --propagation private"
	[ "$(id -u)" -eq 0 ] || ns="-r $ns"
	if unshare $ns true 2>/dev/null && [ -d /run/pcscd ]; then
		unshare $ns sh -c \
			"mount --bind '$TMP/pcsc/run' /run/pcscd && exec pcscd -f -a -c '$TMP/pcsc/conf'" \
			>"$TMP/pcsc/pcscd.log" 2>&1 &
		VPCD_PCSCD_PID=$!
		export PCSCLITE_CSOCK_NAME="$TMP/pcsc/run/pcscd.comm"
	elif ! pgrep -x pcscd >/dev/null && [ ! -e /run/pcscd/pcscd.comm ] &&
		[ -w /run/pcscd ]; then
		pcscd -f -a -c "$TMP/pcsc/conf" >"$TMP/pcsc/pcscd.log" 2>&1 &
		VPCD_PCSCD_PID=$!
		export PCSCLITE_CSOCK_NAME=/run/pcscd/pcscd.comm
	else
		vpcd_skip "cannot run a private pcscd here"
	fi
	for _ in $(seq 50); do
		[ -S "$PCSCLITE_CSOCK_NAME" ] && break
		kill -0 "$VPCD_PCSCD_PID" 2>/dev/null || fail "pcscd did not start"
		sleep 0.1
	done
	[ -S "$PCSCLITE_CSOCK_NAME" ] || fail "pcscd socket missing"
}

vpcd_attach() {
	"$JPKI" card attach --card "$1" --vpcd "127.0.0.1:$VPCD_PORT" \
		>"$TMP/pcsc/attach.log" 2>&1 &
	VPCD_ATTACH_PID=$!
	for _ in $(seq 50); do
		opensc-tool -l 2>/dev/null | grep -q 'Yes.*Virtual PCD' && return 0
		sleep 0.2
	done
	fail "the card did not show in the vpcd reader: $(cat "$TMP/pcsc/attach.log")"
}
