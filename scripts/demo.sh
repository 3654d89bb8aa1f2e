#!/bin/sh
# `make run`: sets up a demo data directory (embedded SQLite store, the two
# CAs, demo residents) and walks through the system end to end in the
# terminal: issuance, verification with openssl, a register change that
# revokes the signing certificate (R6), and the audit chain.
# (When `jpki serve` exists this script will start it on 127.0.0.1:8080.)
# usage: scripts/demo.sh JPKI_BINARY DEMO_DIR
set -eu
jpki=$1
export JPKI_DATA=$2
src=$(cd "$(dirname "$0")/.." && pwd)

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ ! -f "$JPKI_DATA/config" ]; then
	step "jpki init: config, store, signing CA and authentication CA"
	"$jpki" init --municipality 132217
	step "jpki resident import: demo residents"
	"$jpki" resident import "$src/data/demo-residents.csv"
else
	step "using the existing demo data directory $JPKI_DATA"
fi
"$jpki" ca show
step "the register"
"$jpki" resident list

keys=$JPKI_DATA/demo-keys
mkdir -p "$keys"
if [ ! -f "$keys/sign.pub" ]; then
	# Stand-ins for the key pairs a card generates on chip.
	openssl genrsa -out "$keys/sign.key" 2048 2>/dev/null
	openssl rsa -in "$keys/sign.key" -pubout -out "$keys/sign.pub" 2>/dev/null
	openssl genrsa -out "$keys/auth.key" 2048 2>/dev/null
	openssl rsa -in "$keys/auth.key" -pubout -out "$keys/auth.pub" 2>/dev/null
fi

step "jpki ca issue: signing and authentication certificates for resident 1"
"$jpki" ca issue --resident 1 --type sign --pubkey "$keys/sign.pub" \
	--out "$keys/sign.pem"
"$jpki" ca issue --resident 1 --type auth --pubkey "$keys/auth.pub" \
	--out "$keys/auth.pem"
"$jpki" ca export --out "$JPKI_DATA/export" >/dev/null

step "openssl verifies them; the signing certificate carries the four facts (R4)"
openssl verify -CAfile "$JPKI_DATA/export/sign-ca.pem" "$keys/sign.pem"
openssl verify -CAfile "$JPKI_DATA/export/auth-ca.pem" "$keys/auth.pem"
openssl x509 -in "$keys/sign.pem" -noout -subject -ext subjectAltName

step "R8e: resident 4 is under 15: no signing certificate"
"$jpki" ca issue --resident 4 --type sign --pubkey "$keys/sign.pub" \
	--out "$keys/minor.pem" || true

step "R6: resident 1 moves house; the signing certificate is revoked at once"
"$jpki" resident change 1 --address "東京都清瀬市元町一丁目4番17号" || true
"$jpki" cert list --resident 1

step "jpki audit verify: the hash-chained audit log"
"$jpki" audit verify
echo
echo "Demo data: $JPKI_DATA  (jpki --data $JPKI_DATA ...; 'jpki --help')"
