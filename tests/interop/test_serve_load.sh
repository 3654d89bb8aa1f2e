#!/usr/bin/env bash
# test_serve_load.sh: `jpki serve` under many connections, its memory
# bounded.  1,000 slowloris connections from 32 addresses (32 each, the
# per-client limit), each trickling a 1 KiB header line a second: fresh
# `openssl ocsp -url` requests are answered in under 1 s, and the server's
# RSS (/proc/PID/status) grows by no more than SERVER_CONNECTION_MEMORY
# (12 KiB) a connection.  Then 2,000 busy keep-alive connections from 63
# addresses, each asking again as soon as it is answered: every one is
# accepted and answered, a new client's `openssl ocsp -url` is answered in
# under 1 s, the RSS stays within the same bound, and the server goes on
# answering after both loads.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"

. "$(dirname "$0")/serve_lib.sh"
# The clients below hold 2,000 sockets; the server raises its own limit.
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 2100 ] || fail "ulimit -n: $(ulimit -n), 2,100 descriptors needed"
serve_init
issue "$TARO" sign "$TMP/sign.pem" >/dev/null
ok crl generate
# Under AddressSanitizer, freed memory is held in quarantine (256 MB by
# default) before reuse, which would count as the server's memory here.
# Its shadow memory adds an eighth to what the server touches.
PER_CONN_KB=12
if [ -n "${ASAN_OPTIONS:-}" ]; then
	export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=8:thread_local_quarantine_size_kb=256"
	PER_CONN_KB=54
fi
start_server --listen "127.0.0.1:$PORT" --no-crl

rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$SERVER_PID/status"; }
# A few rounds of every kind of request first, so that the threads' workers
# exist and the baseline is the server at work, not just started.
for _ in 1 2 3 4; do
	openssl ocsp -issuer "$SIGN_CA" -cert "$TMP/sign.pem" -url "$BASE/ocsp/sign" -CAfile "$SIGN_CA" >/dev/null 2>&1 ||
		fail "openssl ocsp -url before the load"
	curl -s -o /dev/null --max-time 5 "$BASE/crl/sign/full.crl" "$BASE/ca/sign.der" "$BASE/metrics"
done
BASE_RSS=$(rss_kb)

# fresh N: N fresh openssl ocsp -url requests, each verified; their times
# in ms into $TMP/times; fails if any takes 1 s or more.
fresh() {
	: >"$TMP/times"
	for i in $(seq "$1"); do
		t0=$(date +%s%N)
		openssl ocsp -issuer "$SIGN_CA" -cert "$TMP/sign.pem" -url "$BASE/ocsp/sign" -CAfile "$SIGN_CA" \
			-timeout 5 >"$TMP/v" 2>&1 || { touch "$TMP/stop"; fail "fresh request $i: $(cat "$TMP/v")"; }
		t1=$(date +%s%N)
		grep -q 'sign.pem: good' "$TMP/v" || { touch "$TMP/stop"; fail "fresh request $i: $(cat "$TMP/v")"; }
		echo $(((t1 - t0) / 1000000)) >>"$TMP/times"
	done
	MAX=$(sort -n "$TMP/times" | tail -1)
	MEDIAN=$(sort -n "$TMP/times" | sed -n "$((($1 + 1) / 2))p")
	[ "$MAX" -lt 1000 ] || { touch "$TMP/stop"; fail "a fresh request took $MAX ms"; }
}
# watch_rss FILE: the server's RSS, kB, every 0.2 s into FILE until $TMP/stop.
watch_rss() {
	while [ ! -e "$TMP/stop" ] && [ -e "/proc/$SERVER_PID/status" ]; do
		rss_kb >>"$1"
		sleep 0.2
	done
}
trap 'touch "$TMP/stop"; sleep 1.2; stop_server; rm -rf "$TMP"' EXIT

check "1,000 slowloris connections from 32 addresses, a 1 KiB header line a second each: fresh requests under 1 s, RSS bounded"
rm -f "$TMP/stop" "$TMP/ready"
"$PYTHON" - "$PORT" "$TMP/ready" "$TMP/stop" "$TMP/held" <<'PY' &
import os, socket, sys, time
port, ready, stop, held_file = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
socks = []
for i in range(1000):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.bind(("127.0.2.%d" % (i // 32 + 1), 0))
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    except OSError:
        s.close()
open(held_file, "w").write("%d\n" % len(socks))
open(ready, "w").close()
line = b"X-Pad: " + b"a" * 1015 + b"\r\n"
deadline = time.time() + 60
while not os.path.exists(stop) and time.time() < deadline:
    alive = []
    for s in socks:
        try:
            s.sendall(line)
            alive.append(s)
        except OSError:
            s.close()
    socks = alive
    time.sleep(1)
PY
LORIS=$!
for _ in $(seq 300); do [ -e "$TMP/ready" ] && break; sleep 0.1; done
[ -e "$TMP/ready" ] || fail "the slowloris client did not start"
HELD=$(cat "$TMP/held")
[ "$HELD" -ge 990 ] || fail "the server took only $HELD of the 1,000 slowloris connections"
: >"$TMP/rss1"
watch_rss "$TMP/rss1" &
WATCH=$!
sleep 3
fresh 10
sleep 4   # the trickle goes on: 7-8 KiB received on each connection by now
touch "$TMP/stop"
wait "$LORIS" "$WATCH"
PEAK1=$(sort -n "$TMP/rss1" | tail -1)
echo "test_serve_load: slowloris: $HELD connections held; fresh openssl ocsp ms: median $MEDIAN, max $MAX;" \
	"RSS $BASE_RSS kB before, at most $PEAK1 kB during"
[ $((PEAK1 - BASE_RSS)) -le $((1000 * PER_CONN_KB + 16384)) ] ||
	fail "RSS grew by $((PEAK1 - BASE_RSS)) kB under 1,000 connections, over $PER_CONN_KB KiB each (and 16 MiB)"
expect_eq "GET /healthz after the slowloris" "$(curl -s --max-time 5 "$BASE/healthz")" ok

check "2,000 busy keep-alive connections from 63 addresses: all answered, fresh requests under 1 s, RSS bounded"
rm -f "$TMP/stop" "$TMP/ready"
"$PYTHON" - "$PORT" "$TMP/ready" "$TMP/stop" "$TMP/busy" <<'PY' &
import os, selectors, socket, sys, time
port, ready, stop, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
N = 2000
paths = [b"/ca/sign.der", b"/ca/auth.der", b"/crl/sign/full.crl", b"/"]
sel = selectors.DefaultSelector()
conns = {}
for i in range(N):
    s = socket.socket()
    s.bind(("127.0.3.%d" % (i // 32 + 1), 0))
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    c = {"s": s, "buf": b"", "sent": 0, "answers": 0, "want": None, "i": i}
    conns[s.fileno()] = c
    sel.register(s, selectors.EVENT_WRITE, c)

def ask(c):
    c["s"].send(b"GET " + paths[(c["i"] + c["sent"]) % len(paths)] +
                b" HTTP/1.1\r\nHost: x\r\n\r\n")
    c["sent"] += 1
    sel.modify(c["s"], selectors.EVENT_READ, c)

closed = 0
errors = []
answered_all_at = None
start = time.time()
deadline = start + 60
while not os.path.exists(stop) and time.time() < deadline:
    for key, ev in sel.select(0.2):
        c = key.data
        s = c["s"]
        if ev & selectors.EVENT_WRITE:
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                errors.append("connect: %s" % os.strerror(err))
                sel.unregister(s); s.close(); closed += 1
                continue
            ask(c)
            continue
        try:
            d = s.recv(65536)
        except OSError as e:
            d = b""
        if not d:
            sel.unregister(s); s.close(); closed += 1
            continue
        c["buf"] += d
        while True:
            if c["want"] is None:
                end = c["buf"].find(b"\r\n\r\n")
                if end < 0:
                    break
                head = c["buf"][:end].decode("latin-1").split("\r\n")
                if head[0].split(" ")[1] != "200":
                    errors.append(head[0])
                n = 0
                for h in head[1:]:
                    k, _, v = h.partition(":")
                    if k.lower() == "content-length":
                        n = int(v)
                c["want"] = end + 4 + n
            if len(c["buf"]) < c["want"]:
                break
            c["buf"] = c["buf"][c["want"]:]
            c["want"] = None
            c["answers"] += 1
            ask(c)
    if answered_all_at is None and all(c["answers"] > 0 for c in conns.values()):
        answered_all_at = time.time() - start
        open(ready, "w").close()
total = sum(c["answers"] for c in conns.values())
took = time.time() - start
with open(out, "w") as f:
    f.write("%d %d %d %.1f %s %d\n" % (N - closed, total, len(errors), took,
            "%.1f" % answered_all_at if answered_all_at is not None else "never",
            min(c["answers"] for c in conns.values())))
    for e in errors[:5]:
        f.write(e + "\n")
PY
BUSY=$!
for _ in $(seq 300); do [ -e "$TMP/ready" ] && break; kill -0 "$BUSY" 2>/dev/null || break; sleep 0.1; done
[ -e "$TMP/ready" ] || { touch "$TMP/stop"; wait "$BUSY" || true; fail "not every one of the 2,000 connections was answered: $(cat "$TMP/busy" 2>/dev/null)"; }
: >"$TMP/rss2"
watch_rss "$TMP/rss2" &
WATCH=$!
sleep 2
fresh 20
touch "$TMP/stop"
wait "$BUSY" "$WATCH"
read -r OPEN TOTAL ERRORS TOOK ALL_AT LEAST <"$TMP/busy"
PEAK2=$(sort -n "$TMP/rss2" | tail -1)
echo "test_serve_load: 2,000 keep-alive: $OPEN open at the end, all answered after $ALL_AT s," \
	"$TOTAL answers in $TOOK s (each connection at least $LEAST), $ERRORS errors;" \
	"fresh openssl ocsp ms: median $MEDIAN, max $MAX; RSS $BASE_RSS kB before, at most $PEAK2 kB during"
expect_eq "connections still open" "$OPEN" 2000
expect_eq "errors" "$ERRORS" 0
[ $((PEAK2 - BASE_RSS)) -le $((2000 * PER_CONN_KB + 16384)) ] ||
	fail "RSS grew by $((PEAK2 - BASE_RSS)) kB under 2,000 connections, over $PER_CONN_KB KiB each (and 16 MiB)"
expect_eq "GET /healthz after" "$(curl -s --max-time 5 "$BASE/healthz")" ok
openssl ocsp -issuer "$SIGN_CA" -cert "$TMP/sign.pem" -url "$BASE/ocsp/sign" -CAfile "$SIGN_CA" >"$TMP/v" 2>&1 ||
	fail "openssl ocsp -url after: $(cat "$TMP/v")"

done_ok
