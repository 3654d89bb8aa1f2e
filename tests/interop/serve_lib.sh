# serve_lib.sh: starting and stopping `jpki serve` for the interop tests.
# Source after lib.sh.  It needs python3 and runs on real time (the
# answers are checked by openssl against its own clock).  serve_init makes
# the data directory the server serves; free_port prints a free loopback port;
# start_server ARGS... runs `jpki serve ARGS...` in the background with
# lib.sh's start_jpki (output in $TMP/serve.out and $TMP/serve.err, pid in
# $SERVER_PID) and waits until it says it serves; stop_server ends it (the
# EXIT trap calls it too).

[ -n "$PYTHON" ] || fail "python3 is needed"
unset JPKI_NOW

free_port() {
	"$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

SERVER_PID=
stop_server() {
	end_jpki SERVER_PID TERM
}
trap 'stop_server; rm -rf "$TMP"' EXIT

start_server() {
	start_jpki SERVER_PID '^jpki: serving' serve "$@"
}

# wait_revoked ISSUER SERIAL [sign|auth]: until the server's OCSP answers
# revoked for SERIAL.  A request without a nonce gets the pre-signed
# response, which the server's pre-signer makes again within a second of a
# revocation (docs/ocsp.md); at most 5 s.
wait_revoked() {
	local issuer=$1 serial=$2 type=${3:-sign}
	for _ in $(seq 50); do
		if openssl ocsp -url "$BASE/ocsp/$type" -issuer "$issuer" -serial "0x$serial" \
			-CAfile "$issuer" -no_nonce 2>/dev/null | grep -q ': revoked'; then
			return 0
		fi
		sleep 0.1
	done
	fail "the server did not answer revoked for $serial within 5 s"
}

# serve_init_cluster DIR: a PostgreSQL cluster of the test's own started in
# DIR (tests/support/pg_cluster.sh; the test stops it), and serve_init's
# data directory on a database there.
serve_init_cluster() {
	local cluster=$JPKI_SOURCE/tests/support/pg_cluster.sh
	sh "$cluster" start "$1" >/dev/null || fail "cannot start the cluster in $1"
	JPKI_DATABASE=$(sh "$cluster" createdb "$1" jpki) || fail "createdb in $1"
	export JPKI_DATABASE JPKI_DATABASE_KEEP=1
	serve_init
	unset JPKI_DATABASE JPKI_DATABASE_KEEP
}

# serve_init: a data directory whose certificates point at $BASE (a free
# loopback port, $PORT), its CA certificates exported ($SIGN_CA, $AUTH_CA),
# and one resident, $TARO.
serve_init() {
	PORT=$(free_port)
	BASE=http://127.0.0.1:$PORT
	init_args
	ok init --data "$DATA" --base-url "$BASE" "${INIT_ARGS[@]}"
	expect_keys_in_token
	ok ca export --out "$TMP/ca"
	SIGN_CA=$TMP/ca/sign-ca.pem
	AUTH_CA=$TMP/ca/auth-ca.pem
	TARO=$(add_resident "$(individual_number 12345678901)" "山田 太郎" \
		"東京都千代田区千代田1-1" 1980-05-15 male)
}
