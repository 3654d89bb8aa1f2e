#!/usr/bin/env bash
# test_signer_tls.sh: a counter on another machine reaches `jpki signer`
# over TCP with mutual TLS (issue 9 item 3).  The signer's own small PKI
# (`jpki signer-tls init`, `issue-client`) authenticates both ends: a
# client with its certificate issues through the signer; a client with a
# certificate of another PKI, and one that names the server by a name its
# certificate does not carry, are refused at the handshake in one line.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/signer_lib.sh"

init_data
id=$(add_resident "$(individual_number 12345678901)" "山田 太郎" "東京都清瀬市中里五丁目842番地" 1980-12-31 male)
KEYS=$TMP/signer-keys
mkdir -m 700 "$KEYS"
mv "$DATA"/ca/*.key "$KEYS/"

check "the signer PKI: a CA, the server certificate, client certificates"
ok signer-tls init --names 127.0.0.1,signer.example
for f in ca.pem ca.key server.pem server.key; do
	[ -f "$DATA/signer/tls/$f" ] || fail "init-tls made no $f"
done
[ "$(stat -c %a "$DATA/signer/tls/ca.key")" = 600 ] || fail "the signer PKI's CA key is not 0600"
openssl x509 -in "$DATA/signer/tls/server.pem" -noout -ext subjectAltName | grep -q 'IP Address:127.0.0.1' ||
	fail "the server certificate does not name 127.0.0.1"
ok signer-tls issue-client --name counter-1 --out "$TMP/client"
openssl verify -CAfile "$DATA/signer/tls/ca.pem" "$TMP/client/client.pem" >/dev/null || fail "client certificate does not verify"
# Another PKI, as a stranger would have.
ok signer-tls init --names 127.0.0.1 --state "$TMP/other"
ok signer-tls issue-client --name intruder --out "$TMP/intruder" --state "$TMP/other"
# It trusts the real signer, but its own certificate is of the other PKI.
cp "$DATA/signer/tls/ca.pem" "$TMP/intruder/ca.pem"

PORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_signer --listen "tcp:127.0.0.1:$PORT" --keys "$KEYS"

# use HOST CLIENTDIR: the config points at the signer over TLS.
use() {
	sed -i '/^signer/d' "$DATA/config"
	sed -i "1i signer = tls://$1:$PORT\nsigner_cert = $2/client.pem\nsigner_key = $2/client.key\nsigner_ca = $2/ca.pem" "$DATA/config"
}

check "a client of the signer PKI issues through it"
use 127.0.0.1 "$TMP/client"
serial=$(issue "$id" sign "$TMP/sign.pem")
ok ca export --out "$TMP/ca"
openssl verify -CAfile "$TMP/ca/sign-ca.pem" "$TMP/sign.pem" >/dev/null || fail "the certificate does not verify"
grep -q "\"peer\":\"tls:counter-1\".*\"subject\":\"$serial\"" "$DATA/signer/audit.log" ||
	fail "the signer's log does not name the client: $(tail -2 "$DATA/signer/audit.log")"

check "a client of another PKI is refused at the handshake"
use 127.0.0.1 "$TMP/intruder"
db_snapshot "$TMP/before.sql"
expect_status 3 ca issue --resident "$id" --type auth --pubkey "$(pubkey x)" --out "$TMP/x.pem"
expect_one_error_line "tls://127\.0\.0\.1:$PORT: .*(handshake|alert|did not accept this client)"
grep -q '"peer":"tls:?","request":"connect".*"result":"verify-failed"' "$DATA/signer/audit.log" ||
	fail "the signer did not log the refused handshake: $(tail -1 "$DATA/signer/audit.log")"
expect_store_unchanged "$TMP/before.sql" "a refused TLS client"

check "a server name the signer's certificate does not carry is refused"
use localhost "$TMP/client"
expect_status 3 ca issue --resident "$id" --type auth --pubkey "$(pubkey x)" --out "$TMP/x.pem"
expect_one_error_line "handshake"
stop_signer

done_ok
