#!/usr/bin/env bash
# test_serve_hostile.sh: one hostile client cannot stop `jpki serve` from
# answering the others.  A slowloris client (another loopback address,
# 127.0.0.2) opens 1,000 connections and trickles a header byte on each
# every second; meanwhile 30 fresh `openssl ocsp -url` requests from
# 127.0.0.1 are each answered, verified, in under 1 s, because the server
# holds at most SERVER_CONNECTIONS_PER_CLIENT (32) connections from one
# address.  Trickling connections from many addresses are closed once their
# request has not arrived within SERVER_REQUEST_SECONDS (10), however they
# trickle.  An oversized header is refused and the server goes on.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"

. "$(dirname "$0")/serve_lib.sh"
serve_init
issue "$TARO" sign "$TMP/sign.pem" >/dev/null
start_server --listen "127.0.0.1:$PORT"

check "1,000 slowloris connections from one address: 30 fresh openssl ocsp requests each answered in under 1 s"
"$PYTHON" - "$PORT" "$TMP/loris.ready" "$TMP/loris.stop" "$TMP/loris.held" <<'PY' &
import os, socket, sys, time
port, ready, stop, held_file = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
socks = []
for i in range(1000):
    s = socket.socket()
    s.settimeout(2)    # a server that stops accepting must not hang the test
    try:
        s.bind(("127.0.0.2", 0))
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    except OSError:
        s.close()
open(ready, "w").close()
deadline = time.time() + 120              # never outlive the test
while not os.path.exists(stop) and time.time() < deadline:   # a byte a second
    alive = []
    for s in socks:
        try:
            s.sendall(b"X")
            alive.append(s)
        except OSError:
            s.close()
    socks = alive
    time.sleep(1)
open(held_file, "w").write("%d\n" % len(socks))
PY
LORIS=$!
trap 'touch "$TMP/loris.stop"; kill "$LORIS" 2>/dev/null || true; stop_server; rm -rf "$TMP"' EXIT
for _ in $(seq 600); do [ -e "$TMP/loris.ready" ] && break; sleep 0.1; done
[ -e "$TMP/loris.ready" ] || fail "the slowloris client did not start"
sleep 2   # a trickle round or two
: >"$TMP/times"
for i in $(seq 30); do
	t0=$(date +%s%N)
	openssl ocsp -issuer "$SIGN_CA" -cert "$TMP/sign.pem" -url "$BASE/ocsp/sign" -CAfile "$SIGN_CA" \
		-timeout 5 >"$TMP/v" 2>&1 || { touch "$TMP/loris.stop"; fail "request $i: $(cat "$TMP/v")"; }
	t1=$(date +%s%N)
	grep -q 'sign.pem: good' "$TMP/v" || { touch "$TMP/loris.stop"; fail "request $i: $(cat "$TMP/v")"; }
	echo $(((t1 - t0) / 1000000)) >>"$TMP/times"
done
touch "$TMP/loris.stop"
wait "$LORIS" || fail "the slowloris client failed"
HELD=$(cat "$TMP/loris.held")
MAX=$(sort -n "$TMP/times" | tail -1)
MEDIAN=$(sort -n "$TMP/times" | sed -n 15p)
echo "test_serve_hostile: slowloris held $HELD of 1000 connections; openssl ocsp ms: median $MEDIAN, max $MAX"
[ "$HELD" -le 32 ] || fail "the slowloris client held $HELD connections, more than 32"
[ "$MAX" -lt 1000 ] || fail "a request took $MAX ms"

check "200 slowloris connections from 10 addresses: each closed once its request is not in within 10 s, though it trickles"
"$PYTHON" - "$PORT" <<'PY' || fail "trickling connections outlived the request deadline"
import socket, sys, time
port = int(sys.argv[1])
socks = []
for a in range(10):
    for i in range(20):
        s = socket.socket()
        s.settimeout(2)
        s.bind(("127.0.1.%d" % (a + 1), 0))
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
start = time.time()
alive = socks
while alive and time.time() - start < 14:   # SERVER_REQUEST_SECONDS + 4
    time.sleep(1)
    still = []
    for s in alive:
        try:
            s.sendall(b"X")
            still.append(s)
        except OSError:
            s.close()
    alive = still
took = time.time() - start
print("test_serve_hostile: %d of 200 trickling connections left after %.1f s" % (len(alive), took))
assert not alive and took > 8, (len(alive), took)
PY
expect_eq "GET /metrics" "$(curl -s -o "$TMP/metrics" -w '%{http_code}' --max-time 5 "$BASE/metrics")" 200
CUT=$(awk '$1 == "jpki_serve_connections_cut_total" { print $2 }' "$TMP/metrics")
[ "${CUT:-0}" -ge 200 ] || fail "connections cut: ${CUT:-none}, want at least 200"

check "an oversized header (64 KiB) is refused; the server goes on answering"
"$PYTHON" - "$PORT" <<'PY' || fail "oversized header"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n")
data = b""
try:
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
except (ConnectionResetError, BrokenPipeError):
    pass
assert data == b"" or data.split(b" ")[1] in (b"413", b"414", b"431", b"400"), data[:80]
PY
expect_eq "GET /healthz after" "$(curl -s --max-time 5 "$BASE/healthz")" ok

done_ok
