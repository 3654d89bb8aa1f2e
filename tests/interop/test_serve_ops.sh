#!/usr/bin/env bash
# test_serve_ops.sh: `jpki serve` for the people who run it.  GET /healthz
# is 200 "ok" while the store answers and the responder keys are held, 503
# with one line saying why when the store file has gone (moved away), and
# 200 again when it is back; GET /metrics is Prometheus text that
# `promtool check metrics` accepts, counting requests by route and status
# with a latency histogram; --access-log writes one JSON line per request;
# SIGTERM lets a request being received finish (a POST whose body is
# still trickling in gets its OCSP answer) while new connections are
# refused, and the server exits 0.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"

command -v curl >/dev/null || fail "curl is needed (scripts/install-deps.sh)"
command -v promtool >/dev/null || fail "promtool is needed (Debian prometheus; scripts/install-deps.sh)"
. "$(dirname "$0")/serve_lib.sh"
serve_init
issue "$TARO" sign "$TMP/sign.pem" >/dev/null
ok crl generate
LOG=$TMP/access.log
start_server --listen "127.0.0.1:$PORT" --access-log "$LOG"

# get PATH: the status code; the body in $TMP/body.
get() {
	curl -s -o "$TMP/body" -w '%{http_code}' --max-time 10 "$BASE$1"
}

check "GET /healthz: 200 ok"
expect_eq "GET /healthz" "$(get /healthz)" 200
expect_eq "healthz body" "$(cat "$TMP/body")" ok

if on_postgresql; then
	# The database is there, its tables are not (as after a failed restore).
	check "GET /healthz: 503 and one line while the store's tables are away, 200 when they are back"
	db_sql "ALTER TABLE jpki_meta RENAME TO jpki_meta_away"
	expect_eq "GET /healthz, no store" "$(get /healthz)" 503
	expect_eq "lines in the 503 body" "$(wc -l <"$TMP/body")" 1
	grep -q '^unhealthy: store: ' "$TMP/body" || fail "503 body: $(cat "$TMP/body")"
	db_sql "ALTER TABLE jpki_meta_away RENAME TO jpki_meta"
else
	check "GET /healthz: 503 and one line while the store file is moved away, 200 when it is back"
	mv "$DATA/jpki.db" "$DATA/jpki.db.away"
	expect_eq "GET /healthz, no store" "$(get /healthz)" 503
	expect_eq "lines in the 503 body" "$(wc -l <"$TMP/body")" 1
	grep -q '^unhealthy: store: .*jpki.db' "$TMP/body" || fail "503 body: $(cat "$TMP/body")"
	mv "$DATA/jpki.db.away" "$DATA/jpki.db"
fi
expect_eq "GET /healthz, store back" "$(get /healthz)" 200

check "some traffic: OCSP (openssl ocsp -url), a CRL, a 404"
openssl ocsp -issuer "$SIGN_CA" -cert "$TMP/sign.pem" -url "$BASE/ocsp/sign" -CAfile "$SIGN_CA" >"$TMP/v" 2>&1 ||
	fail "openssl ocsp -url: $(cat "$TMP/v")"
grep -q 'sign.pem: good' "$TMP/v" || fail "$(cat "$TMP/v")"
expect_eq "GET /crl/sign/full.crl" "$(get /crl/sign/full.crl)" 200
expect_eq "GET /nothing" "$(get /nothing)" 404

check "GET /metrics: promtool check metrics accepts it; it counts what was asked"
expect_eq "GET /metrics" "$(get /metrics)" 200
cp "$TMP/body" "$TMP/metrics"
promtool check metrics <"$TMP/metrics" >"$TMP/v" 2>&1 || fail "promtool: $(cat "$TMP/v")"
metric() { awk -v k="$1" '$1 == k { print $2 }' "$TMP/metrics"; }
expect_eq "healthz 200s" "$(metric 'jpki_serve_requests_total{route="healthz",status="200"}')" 2
expect_eq "healthz 503s" "$(metric 'jpki_serve_requests_total{route="healthz",status="503"}')" 1
expect_eq "ocsp 200s" "$(metric 'jpki_serve_requests_total{route="ocsp",status="200"}')" 1
expect_eq "crl 200s" "$(metric 'jpki_serve_requests_total{route="crl",status="200"}')" 1
expect_eq "404s" "$(metric 'jpki_serve_requests_total{route="other",status="404"}')" 1
expect_eq "ocsp latency count" "$(metric 'jpki_serve_request_duration_seconds_count{route="ocsp"}')" 1
expect_eq "ocsp latency +Inf bucket" "$(metric 'jpki_serve_request_duration_seconds_bucket{route="ocsp",le="+Inf"}')" 1

check "--access-log: one JSON line per request answered, with route, status, size and time"
"$PYTHON" - "$LOG" <<'PY' || fail "access log: $(cat "$LOG")"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
recs = [json.loads(l) for l in lines]
# healthz x3, ocsp, crl, 404, metrics: the /metrics line is written when
# that request completes, after its body was made.
want = [("/healthz", 200), ("/healthz", 503), ("/healthz", 200),
        ("/ocsp/sign", 200), ("/crl/sign/full.crl", 200), ("/nothing", 404),
        ("/metrics", 200)]
got = [(r["path"], r["status"]) for r in recs]
assert got == want, got
keys = ["time", "client", "method", "path", "route", "status", "bytes",
        "duration_us", "complete"]
for r in recs:
    assert all(k in r for k in keys), r
    assert r["client"] == "127.0.0.1" and r["complete"] is True, r
assert recs[3]["method"] == "POST" and recs[3]["ocsp"] == "successful", recs[3]
assert recs[4]["route"] == "crl" and recs[4]["bytes"] > 0, recs[4]
PY

check "SIGTERM while a POST body trickles in: that request is answered, new connections are refused, exit 0"
openssl ocsp -issuer "$SIGN_CA" -cert "$TMP/sign.pem" -reqout "$TMP/q.der" >/dev/null 2>&1
"$PYTHON" - "$PORT" "$TMP/q.der" "$TMP/slow.resp" "$TMP/slow.ready" <<'PY' &
import socket, sys, time
port, req_file, out, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
body = open(req_file, "rb").read()
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"POST /ocsp/sign HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\n"
          b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
time.sleep(0.3)
open(ready, "w").close()          # the shell sends SIGTERM now
for i in range(10, len(body)):    # the rest over about 1.5 s
    s.sendall(body[i:i + 1])
    time.sleep(1.5 / len(body))
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
head, _, resp = data.partition(b"\r\n\r\n")
assert head.startswith(b"HTTP/1.1 200"), head
open(out, "wb").write(resp)
PY
SLOW=$!
for _ in $(seq 50); do [ -e "$TMP/slow.ready" ] && break; sleep 0.1; done
[ -e "$TMP/slow.ready" ] || fail "the slow client did not start"
kill -TERM "$SERVER_PID"
for _ in $(seq 50); do grep -q '^jpki: stopping' "$TMP/serve.out" && break; sleep 0.05; done
rc=0
curl -s -o /dev/null --max-time 3 "$BASE/healthz" || rc=$?
expect_eq "curl exit status for a new connection while draining (7: refused)" "$rc" 7
wait "$SLOW" || fail "the slow request was not answered"
openssl ocsp -respin "$TMP/slow.resp" -issuer "$SIGN_CA" -cert "$TMP/sign.pem" -CAfile "$SIGN_CA" \
	-no_nonce >"$TMP/v" 2>&1 || fail "slow answer: $(cat "$TMP/v")"
grep -q 'sign.pem: good' "$TMP/v" || fail "slow answer: $(cat "$TMP/v")"
rc=0
wait "$SERVER_PID" || rc=$?
SERVER_PID=
expect_eq "jpki serve exit status after SIGTERM" "$rc" 0
grep -q '^jpki: stopped' "$TMP/serve.out" || fail "no 'stopped' line"
tail -n 1 "$LOG" | grep -q '"route":"ocsp","status":200' || fail "the slow request is not the last logged: $(tail -n 1 "$LOG")"

done_ok
