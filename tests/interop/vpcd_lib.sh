# vpcd_lib.sh: a private pcscd with a vsmartcard vpcd reader on a free
# loopback port, and an emulated card image attached to it with `jpki card
# attach`, for tests that drive the card through real middleware (PC/SC,
# OpenSC, NSS).  Source after lib.sh, or with fail, $TEST_NAME and $TMP
# of one's own.  The one copy of this setup, as functions:
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

# vpcd_port: a loopback port for vpcd (it listens on it and the next one)
# below the kernel's ephemeral range, so no outgoing connection and no
# server bound to port 0 can take it between this check and pcscd's bind.
vpcd_port() {
	local lo p
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
	[ "$lo" -gt 12000 ] || lo=32768
	for _ in $(seq 50); do
		p=$((10000 + RANDOM % (lo - 10002)))
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null &&
		   ! (exec 3<>/dev/tcp/127.0.0.1/$((p + 1))) 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# vpcd_launch: pcscd with the vpcd reader on $VPCD_PORT; returns 1 when
# the reader could not take its port (another test took it first), with
# pcscd stopped again.  pcscd sets up its readers before it makes its
# socket, so once the socket is there the log says whether the reader came up.
vpcd_launch() {
	local ns
	printf 'FRIENDLYNAME "Virtual PCD"\nDEVICENAME   /dev/null:0x%X\nLIBPATH      %s\nCHANNELID    0x%X\n' \
		"$VPCD_PORT" "$VPCD_LIB" "$VPCD_PORT" >"$TMP/pcsc/conf/vpcd"
	rm -f "$TMP/pcsc/run/pcscd.comm"
	ns="-m --propagation private"
	[ "$(id -u)" -eq 0 ] || ns="-r $ns" # a user namespace may bind-mount
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
		vpcd_skip "cannot run a private pcscd here (no mount namespace, and /run/pcscd is taken or not writable)"
	fi
	for _ in $(seq 50); do
		[ -S "$PCSCLITE_CSOCK_NAME" ] && break
		kill -0 "$VPCD_PCSCD_PID" 2>/dev/null || fail "pcscd did not start"
		sleep 0.1
	done
	[ -S "$PCSCLITE_CSOCK_NAME" ] || fail "pcscd socket missing"
	if grep -q 'Could not initialize connection to virtual ICC' "$TMP/pcsc/pcscd.log"; then
		kill "$VPCD_PCSCD_PID" 2>/dev/null || true
		wait "$VPCD_PCSCD_PID" 2>/dev/null || true
		VPCD_PCSCD_PID=
		return 1
	fi
}

vpcd_start() {
	local tries
	for tool in pcscd opensc-tool; do
		command -v "$tool" >/dev/null || vpcd_skip "$tool not installed"
	done
	[ -e "$VPCD_LIB" ] || vpcd_skip "vsmartcard-vpcd not installed"
	[ -e "$P11" ] || vpcd_skip "opensc-pkcs11 not installed"
	mkdir -p "$TMP/pcsc/conf" "$TMP/pcsc/run"
	# No file cache: OpenSC caches JPKI files under the fixed serial 00000000.
	printf 'app default {\n\tframework pkcs15 {\n\t\tuse_file_cache = no;\n\t}\n}\n' \
		>"$TMP/pcsc/opensc.conf"
	export OPENSC_CONF="$TMP/pcsc/opensc.conf"
	[ -d /run/pcscd ] || mkdir -p /run/pcscd 2>/dev/null
	for tries in 1 2 3 4 5; do
		VPCD_PORT=$(vpcd_port) || fail "no free port for vpcd"
		vpcd_launch && return 0
		echo "$TEST_NAME: vpcd port $VPCD_PORT was taken (try $tries); another port" >&2
	done
	fail "the vpcd reader did not come up: $(tail -3 "$TMP/pcsc/pcscd.log")"
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
