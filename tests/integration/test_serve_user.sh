#!/usr/bin/env bash
# test_serve_user.sh: `jpki serve --user NAME` started as root binds, opens
# the store and the responder keys, then runs as NAME (issue 9 item 5):
# /proc/PID/status shows NAME's uid and gid and no_new_privs, and it still
# answers OCSP and serves the CA certificates.  Its CRL publisher, forked
# before the drop, stays root with the CA keys and still publishes a
# revocation.  With --rp too, the relying party's routes answer as NAME.
# Without root it refuses to become someone else, before
# starting anything.  On SQLite and PostgreSQL.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "$TEST_NAME: SKIP: needs root"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "$TEST_NAME: SKIP: no user nobody"; exit 77; }
pid=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

init_data
id=$(add_resident "$(individual_number 12345678901)" "山田 太郎" "東京都清瀬市中里五丁目842番地" 1980-12-31 male)
issue "$id" sign "$TMP/sign.pem" >/dev/null
ok ca export --out "$TMP/ca"
ok crl generate

check "serve --user nobody: bound as root, then nobody, and still answering"
# As docs/ca-operations.md sets a server up: its user owns the responder
# keys, is in the store's group, and may pass through the directories.
chmod 711 "$TMP" "$DATA" "$DATA/ca"
chown nobody "$DATA"/ca/*-ocsp.key
if ! on_postgresql; then
	chgrp "$(id -gn nobody)" "$DATA"/jpki.db*
	chmod g+rw "$DATA"/jpki.db*
fi
PORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$JPKI" serve --listen "127.0.0.1:$PORT" --user nobody --crl-delay 1 >"$TMP/serve.out" 2>"$TMP/serve.err" &
pid=$!
for _ in $(seq 1 100); do
	grep -q '^jpki: serving' "$TMP/serve.out" 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || fail "jpki serve exited: $(cat "$TMP/serve.err")"
	sleep 0.05
done
nobody_uid=$(id -u nobody)
grep -Eq "^Uid:[[:space:]]+$nobody_uid[[:space:]]+$nobody_uid[[:space:]]+$nobody_uid[[:space:]]+$nobody_uid\$" "/proc/$pid/status" ||
	fail "serve runs as $(grep Uid "/proc/$pid/status")"
grep -Eq "^Gid:[[:space:]]+$(id -g nobody)[[:space:]]" "/proc/$pid/status" || fail "serve gid: $(grep Gid "/proc/$pid/status")"
grep -Eq '^NoNewPrivs:[[:space:]]+1' "/proc/$pid/status" || fail "serve: no_new_privs not set"
openssl ocsp -issuer "$TMP/ca/sign-ca.pem" -cert "$TMP/sign.pem" -url "http://127.0.0.1:$PORT/ocsp/sign" \
	-CAfile "$TMP/ca/sign-ca.pem" >"$TMP/ocsp.out" 2>&1 || fail "openssl ocsp: $(cat "$TMP/ocsp.out")"
grep -Eq '(: |^)good$' "$TMP/ocsp.out" || fail "the answer is not good: $(cat "$TMP/ocsp.out")"
"$PYTHON" -c "import urllib.request,sys; sys.stdout.buffer.write(urllib.request.urlopen('http://127.0.0.1:$PORT/ca/sign.der').read())" >"$TMP/ca.der" ||
	fail "no CA certificate from serve"
openssl x509 -inform DER -in "$TMP/ca.der" -noout || fail "not a certificate"

check "its CRL publisher stays root (the CA keys are root's) and publishes a revocation"
pub=$(pgrep -P "$pid" | head -n1)
[ -n "$pub" ] || fail "no CRL publisher process under jpki serve"
grep -Eq '^Uid:[[:space:]]+0[[:space:]]' "/proc/$pub/status" || fail "the publisher runs as $(grep Uid "/proc/$pub/status")"
serial=$(openssl x509 -in "$TMP/sign.pem" -noout -serial | sed 's/^serial=//')
ok cert revoke "$serial" --reason keyCompromise
listed=
for _ in $(seq 1 100); do
	"$PYTHON" -c "import urllib.request,sys; sys.stdout.buffer.write(urllib.request.urlopen('http://127.0.0.1:$PORT/crl/sign/full.crl').read())" >"$TMP/full.crl" ||
		fail "no full CRL from serve"
	if openssl crl -inform DER -in "$TMP/full.crl" -noout -text | tr -d ' ' | grep -qix "SerialNumber:$serial"; then
		listed=1
		break
	fi
	sleep 0.05
done
[ -n "$listed" ] || fail "the served full CRL does not list $serial 5 s after its revocation: $(cat "$TMP/serve.err")"
openssl crl -inform DER -in "$TMP/full.crl" -CAfile "$TMP/ca/sign-ca.pem" -noout 2>&1 | grep -q 'verify OK' ||
	fail "the published CRL does not verify under the CA"
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=

check "serve --rp --user nobody: the relying party's routes, which keep nonces in the store, still answer as nobody"
# The relying party trusts every CA certificate in ca/ (it lists the
# directory at each verification), and SQLite makes its journal beside the
# database: nobody may list ca/, and its group write the data directory
# (docs/man/jpki-serve.1.md, --user).
chmod 755 "$DATA/ca"
if ! on_postgresql; then
	chgrp "$(id -gn nobody)" "$DATA"
	chmod 771 "$DATA"
fi
PORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
: >"$TMP/serve.out"     # not the first server's "serving" line, read too soon
"$JPKI" serve --listen "127.0.0.1:$PORT" --user nobody --rp --no-crl >"$TMP/serve.out" 2>"$TMP/serve.err" &
pid=$!
for _ in $(seq 1 400); do
	grep -q '^jpki: serving' "$TMP/serve.out" 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || fail "jpki serve --rp exited: $(cat "$TMP/serve.err")"
	sleep 0.05
done
grep -Eq "^Uid:[[:space:]]+$nobody_uid[[:space:]]" "/proc/$pid/status" || fail "serve --rp runs as $(grep Uid "/proc/$pid/status")"
for i in 1 2; do
	curl -sS -f -X POST "http://127.0.0.1:$PORT/rp/challenge" >"$TMP/challenge.json" ||
		fail "POST /rp/challenge as nobody: $(cat "$TMP/serve.err")"
	grep -q '"nonce"' "$TMP/challenge.json" || fail "no nonce: $(cat "$TMP/challenge.json")"
done
expect_eq "nonces kept" "$(db_sql "SELECT count(*) FROM rp_nonces")" 2
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=

check "as another user, --user naming someone else is refused in one line"
run setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$JPKI" serve --listen 127.0.0.1:0 --user root
[ "$RC" -ne 0 ] || fail "a non-root serve became root"
expect_one_error_line "only root can become root"
grep -q '^jpki: serving' "$TMP/stdout" && fail "it served before refusing"

done_ok
