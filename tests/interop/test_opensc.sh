#!/bin/bash
# test_opensc.sh: real middleware takes the emulated card for a My Number
# card.  The test starts its own pcscd in the foreground with a vpcd reader
# on a free loopback port (in a private mount namespace when it can, so a
# system pcscd is left alone), attaches a personalised card image with
# `jpki card attach`, and then:
#   - opensc-tool -n names the jpki driver;
#   - pkcs15-tool -D lists both PINs with the right tries left and both keys;
#   - pkcs11-tool --login --sign (OpenSC's PKCS#11 module) makes signatures
#     that openssl verifies with the certificates read from the card;
#   - the card client suite and `jpki card` run over PC/SC (--reader).
# Everything it starts is stopped on exit.
set -u

: "${JPKI:?}" "${JPKI_BUILD:?}"
for tool in pkcs15-tool pkcs11-tool openssl; do
	command -v "$tool" >/dev/null || { echo "skip: $tool not installed"; exit 77; }
done

TEST_NAME=test_opensc
TMP=$(mktemp -d)
tmp=$TMP
cleanup() {
	vpcd_stop
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	for f in pcsc/attach.log pcsc/pcscd.log out; do
		[ -f "$tmp/$f" ] && { echo "--- $f"; tail -40 "$tmp/$f"; }
	done
	exit 1
}
. "$(dirname "$0")/vpcd_lib.sh"

mkdir -p "$tmp/data"
vpcd_start
"$JPKI_BUILD/card_personalise" --card "$tmp/card.img" --data "$tmp/data" \
	--ca-out "$tmp" || fail "personalise"
vpcd_attach "$tmp/card.img"

# 1. The jpki driver claims the card.
opensc-tool -n >"$tmp/out" 2>&1 || fail "opensc-tool -n"
grep -qx 'jpki' "$tmp/out" || fail "opensc-tool -n does not name jpki"

# 2. PKCS#15 emulation: both PINs with tries left, both keys.
pkcs15-tool -D >"$tmp/out" 2>&1 || fail "pkcs15-tool -D"
grep -A9 'PIN \[User Authentication PIN\]' "$tmp/out" | grep -q 'Tries left *: 3' ||
	fail "auth PIN tries"
grep -A9 'PIN \[Digital Signature PIN\]' "$tmp/out" | grep -q 'Tries left *: 5' ||
	fail "signing PIN tries"
grep -q 'Private RSA Key \[User Authentication Key\]' "$tmp/out" || fail "auth key"
grep -q 'Private RSA Key \[Digital Signature Key\]' "$tmp/out" || fail "sign key"

# 3. PKCS#11 signatures verified by openssl with the card's certificates.
echo "a document for the card" >"$tmp/doc"
pkcs11-tool --module "$P11" --slot-index 0 --login --pin 1234 --sign \
	--mechanism SHA256-RSA-PKCS --id 01 --input-file "$tmp/doc" \
	--output-file "$tmp/auth.sig" >"$tmp/out" 2>&1 || fail "pkcs11-tool sign (auth)"
pkcs15-tool --read-certificate 01 >"$tmp/auth.pem" 2>/dev/null || fail "read auth cert"
openssl verify -CAfile "$tmp/auth-ca.pem" "$tmp/auth.pem" >/dev/null || fail "auth cert chain"
openssl x509 -in "$tmp/auth.pem" -noout -pubkey >"$tmp/auth.pub"
openssl dgst -sha256 -verify "$tmp/auth.pub" -signature "$tmp/auth.sig" "$tmp/doc" \
	>/dev/null || fail "auth signature does not verify"

pkcs11-tool --module "$P11" --slot-index 1 --login --pin ABC123 --sign \
	--mechanism SHA256-RSA-PKCS --id 02 --input-file "$tmp/doc" \
	--output-file "$tmp/sign.sig" >"$tmp/out" 2>&1 || fail "pkcs11-tool sign (sign)"
JPKI_SIGN_PASSWORD=ABC123 "$JPKI" card certs --reader "Virtual PCD" --out "$tmp" \
	--sign >"$tmp/out" 2>&1 || fail "jpki card certs over PC/SC"
openssl x509 -inform der -in "$tmp/sign.der" -noout -pubkey >"$tmp/sign.pub"
openssl dgst -sha256 -verify "$tmp/sign.pub" -signature "$tmp/sign.sig" "$tmp/doc" \
	>/dev/null || fail "signing signature does not verify"

# A wrong PIN through PKCS#11 costs a try, and pkcs15-tool sees it.
pkcs11-tool --module "$P11" --slot-index 0 --login --pin 9999 --sign \
	--mechanism SHA256-RSA-PKCS --id 01 --input-file "$tmp/doc" \
	--output-file "$tmp/x.sig" >/dev/null 2>&1 && fail "wrong PIN signed"
pkcs15-tool -D 2>/dev/null | grep -A9 'PIN \[User Authentication PIN\]' |
	grep -q 'Tries left *: 2' || fail "tries left after a wrong PIN"

# 4. The jpki CLI and the client suite over PC/SC.
JPKI_AUTH_PIN=1234 "$JPKI" card sign --reader "Virtual PCD" --type auth \
	--in "$tmp/doc" --out "$tmp/cli.sig" >"$tmp/out" 2>&1 || fail "jpki card sign --reader"
openssl dgst -sha256 -verify "$tmp/auth.pub" -signature "$tmp/cli.sig" "$tmp/doc" \
	>/dev/null || fail "jpki card sign over PC/SC does not verify"
"$JPKI" card status --reader "Virtual PCD" --json >"$tmp/out" 2>&1 || fail "status --reader"
grep -q '"tries_left": 3' "$tmp/out" || fail "status over PC/SC"
tr -d ' \n' <"$tmp/out" | grep -q '"cardface_a":{"tries_left":10' ||
	fail "card-face collation number A over PC/SC"
JPKI_CARDINFO_PIN=5678 "$JPKI" card info --reader "Virtual PCD" --json >"$tmp/out" 2>&1 ||
	fail "card info --reader"
grep -q '"issuer_signature": "verified"' "$tmp/out" || fail "card info over PC/SC"
JPKI_CARDINFO_PIN=5678 "$JPKI" card face --reader "Virtual PCD" --out "$tmp/face" \
	--json >"$tmp/out" 2>&1 || fail "card face --reader: $(cat "$tmp/out")"
grep -q '"issuer_signature": "verified"' "$tmp/out" || fail "card face over PC/SC"
for f in name address security-code photo; do
	[ -s "$tmp/face/$f.png" ] || fail "card face over PC/SC wrote no $f.png"
done
"$JPKI_BUILD/card_client_suite" --reader "Virtual PCD" --data "$tmp/data" \
	>"$tmp/out" 2>&1 || fail "client suite over PC/SC"
tail -1 "$tmp/out"
echo "ok: OpenSC jpki driver, PKCS#15, PKCS#11 signatures, PC/SC client"
