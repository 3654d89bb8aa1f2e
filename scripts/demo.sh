#!/bin/sh
# `make run`: sets up a demo data directory (embedded SQLite store, the two
# CAs, demo residents) and walks through the system end to end in the
# terminal: a card delivered at the counter with keys born on the card, a
# signature verified with openssl, a move of house that revokes the signing
# certificate (R6) and the CRL that tells relying parties so, loss and
# reissue with its fees (R7), an expiry notice (R12) and the audit chain.
# `make run` then publishes the CRLs and starts `jpki serve` on
# 127.0.0.1:8080, the base URL the demo certificates carry, and beside it
# the counter's web UI (`jpki counter serve`) on 127.0.0.1:8081, whose demo
# clerks this script makes and prints.
# usage: scripts/demo.sh JPKI_BINARY DEMO_DIR
set -eu
jpki=$1
export JPKI_DATA=$2
src=$(cd "$(dirname "$0")/.." && pwd)
# The PINs the holder chooses at the counter (demo values).
export JPKI_SIGN_PASSWORD=DEMO2026 JPKI_AUTH_PIN=1234 JPKI_CARDINFO_PIN=5678
out=$JPKI_DATA/demo
clerk="--clerk demo-clerk"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ ! -f "$JPKI_DATA/config" ]; then
	step "jpki init: config, store, signing CA and authentication CA"
	"$jpki" init --municipality 132217
	step "jpki resident import: demo residents"
	"$jpki" resident import "$src/data/demo-residents.csv"
fi
mkdir -p "$out"
"$jpki" ca show
step "the register"
"$jpki" resident list

step "R8: resident 1 receives a My Number card; both key pairs are born on the card"
if [ ! -f "$out/card1.img" ]; then
	"$jpki" counter deliver --resident 1 --out "$out/card1.img" $clerk
fi
"$jpki" card status --card "$out/card1.img"

step "R4: the holder signs a document with the signing key; openssl verifies it"
echo "確定申告書 (e-Tax) $(date)" >"$out/document.txt"
"$jpki" card sign --card "$out/card1.img" --type sign --in "$out/document.txt" \
	--out "$out/document.sig"
mkdir -p "$out/certs"
"$jpki" card certs --card "$out/card1.img" --sign --out "$out/certs" >/dev/null
"$jpki" ca export --out "$out/ca" >/dev/null
signcert=$out/certs/sign.pem
openssl x509 -inform DER -in "$out/certs/sign.der" -out "$signcert"
openssl verify -CAfile "$out/ca/sign-ca.pem" "$signcert"
openssl x509 -in "$signcert" -pubkey -noout >"$out/sign.pub"
openssl dgst -sha256 -verify "$out/sign.pub" -signature "$out/document.sig" \
	"$out/document.txt"
openssl x509 -in "$signcert" -noout -subject -ext subjectAltName

step "R8e: resident 4 is under 15: a card with the authentication certificate only"
if [ ! -f "$out/card4.img" ]; then
	"$jpki" counter deliver --resident 4 --out "$out/card4.img" $clerk ||
		true
fi

step "R6: resident 1 moves house; the signing certificate is revoked at once"
"$jpki" resident change 1 --address "東京都清瀬市元町一丁目4番17号" $clerk || true
"$jpki" cert list --resident 1

step "Relying parties: the signing CA publishes its CRLs; openssl now refuses that certificate"
"$jpki" crl generate --type sign --full
openssl crl -inform DER -in "$JPKI_DATA/crl/sign/full.crl" -out "$out/sign-full.crl.pem"
if openssl verify -crl_check -CAfile "$out/ca/sign-ca.pem" \
	-CRLfile "$out/sign-full.crl.pem" "$signcert"; then
	echo "demo: the revoked signing certificate still verifies" >&2
	exit 1
fi

step "R7: resident 1 loses the card; both certificates revoked, a new card for 800 + 200 yen"
"$jpki" counter report-lost --resident 1 $clerk || true
if [ ! -f "$out/card1-reissued.img" ]; then
	"$jpki" counter reissue --resident 1 --out "$out/card1-reissued.img" $clerk
fi

step "R12: expiry notices with the inquiry/response form (PDF)"
JPKI_NOW=2030-10-15T09:00:00+09:00 "$jpki" counter notices --within 3m \
	--out "$out/notices" $clerk || true
ls "$out/notices" 2>/dev/null || true

step "The counter's web UI: demo clerks (jpki clerk add; argon2id, lockout)"
# Demo passwords, printed below: set again on every run.
for c in demo-clerk:clerk:counter-demo-1 demo-supervisor:supervisor:counter-demo-2; do
	name=${c%%:*} rest=${c#*:}
	JPKI_CLERK_PASSWORD=${rest#*:} "$jpki" clerk add "$name" --role "${rest%%:*}" \
		2>/dev/null ||
		JPKI_CLERK_PASSWORD=${rest#*:} "$jpki" clerk passwd "$name"
done
"$jpki" clerk list

step "jpki audit verify: the hash-chained audit log"
"$jpki" audit verify
echo
echo "Demo data: $JPKI_DATA; look around with"
echo "  $jpki --data $JPKI_DATA resident list"
echo "($jpki --help; make install puts jpki on the PATH with man jpki and tab completion)"
echo
echo "make run serves, until Ctrl-C:"
echo "  the counter's web UI  http://127.0.0.1:8081/   (jpki counter serve)"
echo "      clerk: demo-clerk / counter-demo-1    supervisor: demo-supervisor / counter-demo-2"
echo "  relying parties       http://127.0.0.1:8080/   (jpki serve: CA certificates, CRLs, OCSP, /rp login and verify)"
