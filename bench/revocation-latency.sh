#!/usr/bin/env bash
# revocation-latency.sh: how long after `jpki cert revoke` returns a
# `jpki serve` on the same store answers OCSP `revoked` (docs/deployment.md,
# "Revocation propagation").
#
#   JPKI=build/jpki bash bench/revocation-latency.sh [sqlite|postgresql] [ROUNDS]
#
# One data directory, ROUNDS residents with an authentication certificate
# each (default 20), one server; the server's pre-signer has stored every
# answer before the first round.  Each round revokes one certificate and
# times, from the moment the command returned, the first answer `revoked`
# to a request without a nonce (the pre-signed response), asked again every
# half millisecond over one kept-alive HTTP connection.  On PostgreSQL it starts
# a throwaway cluster of its own (tests/support/pg_cluster.sh).  Prints each
# round's milliseconds, then min / median / p90 / max.
set -euo pipefail
: "${JPKI:?set JPKI to the jpki binary}"
SRC=$(cd "$(dirname "$0")/.." && pwd)
export JPKI_SHARED=${JPKI_SHARED:-$SRC/tests/data/shared}
. "$SRC/tests/integration/lib.sh"
. "$SRC/tests/interop/serve_lib.sh"
KIND=${1:-postgresql}
ROUNDS=${2:-20}

PGDIR=
cleanup() {
	stop_server
	[ -z "$PGDIR" ] || sh "$SRC/tests/support/pg_cluster.sh" stop "$PGDIR"
	rm -rf "$TMP"
}
trap cleanup EXIT
if [ "$KIND" = postgresql ]; then
	PGDIR=$(mktemp -d /tmp/jpki-latency-pg.XXXXXX)
	sh "$SRC/tests/support/pg_cluster.sh" start "$PGDIR" >/dev/null
	JPKI_DATABASE=$(sh "$SRC/tests/support/pg_cluster.sh" createdb "$PGDIR" latency)
	export JPKI_DATABASE
fi
serve_init
unset JPKI_DATABASE
KEY=$(pubkey r)
declare -a SERIALS
for i in $(seq "$ROUNDS"); do
	id=$(add_resident "$(individual_number $((40000000000 + i)))" "遅延 $i" \
		"東京都千代田区千代田$i-1" 1980-05-15 male)
	ok ca issue --resident "$id" --type auth --pubkey "$KEY" --out "$TMP/c.pem" --json
	SERIALS+=("$(json_get serial "$TMP/stdout")")
done
start_server --listen "127.0.0.1:$PORT"
for _ in $(seq 300); do
	n=$(curl -s "$BASE/metrics" | sed -n 's/^jpki_ocsp_presigned_responses //p')
	[ "${n:-0}" -ge "$ROUNDS" ] && break
	sleep 0.1
done

# One Python process does every round, so that no start-up is timed: it
# runs `jpki cert revoke`, then asks again and again (every 0.5 ms) until
# the answer for the serial says revoked (the CertID's serial INTEGER
# followed by certStatus [1] instead of [0] good), and prints the
# milliseconds since the command returned, how many requests it took, and
# how long the command ran (its commit, and the notice, came before it
# returned: the propagation is at most the sum of the two).
cat >"$TMP/rounds.py" <<'EOF'
import http.client, subprocess, sys, time
jpki, port, tmp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = http.client.HTTPConnection("127.0.0.1", port)
def status(req, needle):
    c.request("POST", "/ocsp/auth", req, {"Content-Type": "application/ocsp-request"})
    body = c.getresponse().read()
    at = body.find(needle)
    return body[at + len(needle)] if at >= 0 else None
for s in sys.argv[4:]:
    req = open(f"{tmp}/req-{s}.der", "rb").read()
    serial = bytes.fromhex(s)
    if serial[0] & 0x80:
        serial = b"\0" + serial
    needle = bytes([2, len(serial)]) + serial
    if status(req, needle) != 0x80:
        sys.exit(f"{s}: not answered good before its revocation")
    ts = time.monotonic()
    subprocess.run([jpki, "cert", "revoke", s, "--reason", "keyCompromise"],
                   check=True, stdout=subprocess.DEVNULL)
    t0, asked = time.monotonic(), 0
    while True:
        asked += 1
        if status(req, needle) == 0xA1:
            break
        if time.monotonic() - t0 > 10:
            sys.exit(f"{s}: not revoked within 10 s")
        time.sleep(0.0005)
    print(f"{(time.monotonic() - t0) * 1000:.1f} {asked} {(t0 - ts) * 1000:.1f}", flush=True)
    time.sleep(0.3)
EOF
for s in "${SERIALS[@]}"; do
	openssl ocsp -issuer "$AUTH_CA" -serial "0x$s" -no_nonce -reqout "$TMP/req-$s.der" >/dev/null 2>&1
done
"$PYTHON" "$TMP/rounds.py" "$JPKI" "$PORT" "$TMP" "${SERIALS[@]}" | tee "$TMP/ms"
sort -n "$TMP/ms" | awk -v kind="$KIND" '{a[NR] = $1; q += $2; c += $3} END {
	printf "%s, %d rounds: min %.1f ms, median %.1f ms, p90 %.1f ms, max %.1f ms (%.1f requests a round; the revoke command ran %.0f ms on average)\n",
	    kind, NR, a[1], a[int((NR + 1) / 2)], a[int(NR * 0.9 + 0.5)], a[NR], q / NR, c / NR }'
