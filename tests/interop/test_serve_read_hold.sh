#!/usr/bin/env bash
# test_serve_read_hold.sh: `jpki serve`'s answering threads keep a SQLite
# read transaction across their requests for at most SERVER_READ_HOLD_MS
# (server.c, "read transactions held across requests"), and no longer:
#   - under a steady stream of OCSP requests on kept-alive connections
#     (the threads never idle, so only their own renewal ends a held
#     transaction), a revocation by another process still shows as revoked;
#   - once the stream stops, the idle server holds no snapshot: a
#     TRUNCATE checkpoint of the store's WAL, which waits for no reader
#     and fails while one reads from the WAL, succeeds and empties it;
#   - in a test build, with the thread that ends idle threads' transactions
#     left out (JPKI_SERVE_HOLDS_PAUSE), a revocation under the stream still
#     shows: each thread's own renewal is enough while it is busy.
# On PostgreSQL nothing is held (each statement reads what is committed):
# the first check runs there too, the second is SQLite's.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

serve_init
JIRO=$(add_resident "$(individual_number 22345678901)" "山田 次郎" \
	"東京都千代田区千代田1-2" 1982-05-15 male)
S1=$(issue "$TARO" auth "$TMP/1.pem")
S2=$(issue "$JIRO" auth "$TMP/2.pem")
HANAKO=$(add_resident "$(individual_number 32345678901)" "山田 花子" \
	"東京都千代田区千代田1-3" 1984-05-15 female)
S3=$(issue "$HANAKO" auth "$TMP/3.pem")
# No CRL publisher: a writer of its own (its first CRLs, made at start,
# can land after the checkpoint below on a loaded machine).
start_server --listen "127.0.0.1:$PORT" --no-crl

openssl ocsp -issuer "$AUTH_CA" -serial "0x$S2" -no_nonce -reqout "$TMP/req.der" \
	>/dev/null 2>&1 || fail "openssl ocsp -reqout"

# stream: 4 kept-alive connections, each asking again at once, until
# $TMP/stop appears; the answers counted into $TMP/answered.
stream() {
	rm -f "$TMP/stop" "$TMP/answered"
	"$PYTHON" - "$PORT" "$TMP/req.der" "$TMP/stop" "$TMP/answered" <<'PY' &
import http.client, os, sys, threading
port, req, stop, out = int(sys.argv[1]), open(sys.argv[2], "rb").read(), sys.argv[3], sys.argv[4]
counts = [0] * 4
def run(i):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while not os.path.exists(stop):
        c.request("POST", "/ocsp/auth", req, {"Content-Type": "application/ocsp-request"})
        r = c.getresponse()
        r.read()
        if r.status == 200:
            counts[i] += 1
ts = [threading.Thread(target=run, args=(i,)) for i in range(4)]
for t in ts: t.start()
for t in ts: t.join()
open(out, "w").write("%d\n" % sum(counts))
PY
	LOAD=$!
	sleep 0.5
}
# stream_end: the stream stopped, and how many answers it had.
stream_end() {
	touch "$TMP/stop"
	wait "$LOAD" || fail "the request stream failed"
	N=$(cat "$TMP/answered")
	[ "$N" -gt 100 ] || fail "only $N answers in the stream"
	echo "test_serve_read_hold: $N answers in the stream"
}

check "under a steady stream of requests, another process's revocation shows as revoked"
stream
ok cert revoke "$S1" --reason keyCompromise
wait_revoked "$AUTH_CA" "$S1" auth
stream_end

if on_postgresql; then
	echo "test_serve_read_hold: PostgreSQL: nothing is held there; the checkpoint check is SQLite's"
	done_ok
	exit 0
fi

check "the idle server holds no snapshot: a TRUNCATE checkpoint of the WAL succeeds"
STORE=$(db_url)
STORE=${STORE#sqlite:}
case $STORE in /*) ;; *) STORE=$DATA/$STORE ;; esac
[ -s "$STORE-wal" ] || fail "the WAL is empty already: nothing to show"
got=
for _ in $(seq 30); do
	sleep 0.1
	# busy|log|checkpointed: busy 0 once no reader holds WAL frames (the
	# server's pre-signer may be in a transaction of its own: try again).
	res=$(sqlite3 "$STORE" "PRAGMA wal_checkpoint(TRUNCATE)" 2>&1 || true)
	case $res in 0\|0\|0) got=1; break ;; esac
done
[ -n "$got" ] || fail "a reader still holds the WAL 3 s after the stream stopped ($res)"
[ ! -s "$STORE-wal" ] || fail "the WAL was not emptied"

if [ "${JPKI_TEST_HOOKS:-}" = 1 ]; then
	check "without the holds thread, a busy thread's own renewal shows a revocation"
	stop_server
	JPKI_SERVE_HOLDS_PAUSE=1 start_server --listen "127.0.0.1:$PORT" --no-crl
	stream
	ok cert revoke "$S3" --reason keyCompromise
	wait_revoked "$AUTH_CA" "$S3" auth
	stream_end
fi
done_ok
