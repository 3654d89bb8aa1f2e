#!/bin/bash
# test_card_cli.sh: `jpki card` from the card holder's side, on an emulated
# card image: new, status, certs, sign, change-pin, info, wrong and locked
# PINs (exit 1 with the tries left), damaged images (exit 2, file untouched)
# and attach's clean stop on SIGTERM.
set -u
: "${JPKI:?}" "${JPKI_BUILD:?}"

tmp=$(mktemp -d)
attach_pid=
cleanup() {
	[ -n "$attach_pid" ] && kill "$attach_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# Run jpki without a terminal, so a missing PIN cannot become a prompt.
jpki() { setsid -w "$JPKI" "$@" </dev/null; }

data=$tmp/data
mkdir -p "$data"
card=$tmp/card.img

# new: needs the issuer master key of `jpki init`.
jpki card new --out "$card" --data "$data" 2>"$tmp/err"
[ $? -eq 2 ] || fail "card new without a master key should exit 2"
grep -q 'issuer-master.key' "$tmp/err" || fail "missing master key not named"
(umask 077 && head -c 32 /dev/urandom >"$data/issuer-master.key")
jpki card new --out "$card" --data "$data" --json >"$tmp/out" || fail "card new"
grep -Eq '"serial": "[0-9A-F]{16}"' "$tmp/out" || fail "card new --json serial"
cp "$card" "$tmp/before"
jpki card new --out "$card" --data "$data" 2>"$tmp/err"
[ $? -eq 1 ] || fail "card new over an existing file should exit 1"
cmp -s "$card" "$tmp/before" || fail "card new overwrote a file"

# A blank card: PINs not set, no certificates.
jpki card status --card "$card" --json >"$tmp/out" || fail "status (blank)"
grep -q '"sign": false' "$tmp/out" || fail "blank card shows a certificate"

# Personalised as the counter would (test CA, PINs 1234 / ABC123 / 5678).
"$JPKI_BUILD/card_personalise" --card "$card" --data "$data" --ca-out "$tmp" ||
	fail "personalise"
jpki card status --card "$card" --json >"$tmp/out" || fail "status"
tr -d ' \n' <"$tmp/out" >"$tmp/flat"
grep -q '"pins":{"auth":{"tries_left":3,"locked":false},"sign":{"tries_left":5,"locked":false},"cardinfo":{"tries_left":3,"locked":false},"cardinfo_a":{"tries_left":10,"locked":false},"cardinfo_b":{"tries_left":10,"locked":false},"cardface_a":{"tries_left":10,"locked":false},"cardface_b":{"tries_left":10,"locked":false}},"certificates":{"sign":true,"auth":true' \
	"$tmp/flat" || { cat "$tmp/out"; fail "status --json shape"; }

# certs and sign, verified by openssl.
JPKI_SIGN_PASSWORD=abc123 jpki card certs --card "$card" --out "$tmp" --sign \
	>"$tmp/out" || fail "certs --sign"
for f in auth sign auth-ca sign-ca; do
	[ -s "$tmp/$f.der" ] || fail "certs: $f.der missing"
done
openssl x509 -inform der -in "$tmp/auth.der" -noout -pubkey >"$tmp/auth.pub"
openssl x509 -inform der -in "$tmp/sign.der" -noout -pubkey >"$tmp/sign.pub"
head -c 100000 /dev/urandom >"$tmp/doc"
JPKI_AUTH_PIN=1234 jpki card sign --card "$card" --type auth --in "$tmp/doc" \
	--out "$tmp/auth.sig" >/dev/null || fail "sign auth"
openssl dgst -sha256 -verify "$tmp/auth.pub" -signature "$tmp/auth.sig" "$tmp/doc" \
	>/dev/null || fail "auth signature"
JPKI_SIGN_PASSWORD=ABC123 jpki card sign --card "$card" --type sign --in "$tmp/doc" \
	--out "$tmp/sign.sig" --json >"$tmp/out" || fail "sign sign"
openssl dgst -sha256 -verify "$tmp/sign.pub" -signature "$tmp/sign.sig" "$tmp/doc" \
	>/dev/null || fail "signing signature"

# No PIN and no terminal: usage error, no try spent.
jpki card sign --card "$card" --type auth --in "$tmp/doc" --out "$tmp/x" 2>"$tmp/err"
[ $? -eq 2 ] || fail "missing PIN should exit 2"

# Wrong PIN: exit 1 and the tries left.
JPKI_AUTH_PIN=0000 jpki card sign --card "$card" --type auth --in "$tmp/doc" \
	--out "$tmp/x" 2>"$tmp/err"
[ $? -eq 1 ] || fail "wrong PIN should exit 1"
grep -q '2 tries left' "$tmp/err" || fail "wrong PIN message: $(cat "$tmp/err")"
# A malformed PIN costs nothing.
JPKI_AUTH_PIN=12 jpki card sign --card "$card" --type auth --in "$tmp/doc" \
	--out "$tmp/x" 2>"$tmp/err"
[ $? -eq 2 ] || fail "malformed PIN should exit 2"
jpki card status --card "$card" --json | tr -d ' \n' | grep -q '"auth":{"tries_left":2' ||
	fail "malformed PIN spent a try"

# change-pin, then the old PIN is wrong.
JPKI_AUTH_PIN=1234 JPKI_NEW_PIN=4321 jpki card change-pin --card "$card" --type auth \
	>/dev/null || fail "change-pin"
JPKI_AUTH_PIN=1234 jpki card sign --card "$card" --type auth --in "$tmp/doc" \
	--out "$tmp/x" 2>/dev/null
[ $? -eq 1 ] || fail "old PIN still works"
JPKI_AUTH_PIN=4321 JPKI_NEW_PIN=12345 jpki card change-pin --card "$card" --type auth \
	2>"$tmp/err"
[ $? -eq 2 ] || fail "malformed new PIN should exit 2"

JPKI_AUTH_PIN=4321 jpki card change-pin --card "$card" --type auth 2>"$tmp/err"
[ $? -eq 2 ] || fail "change-pin without a new PIN or terminal should exit 2"
grep -q JPKI_NEW_PIN "$tmp/err" || fail "missing new PIN not named"

# info after the card-info PIN.
JPKI_CARDINFO_PIN=5678 jpki card info --card "$card" --json >"$tmp/out" || fail "info"
grep -q '"individual_number": "123456789018"' "$tmp/out" || fail "info number"
grep -q '"birth": "19800123"' "$tmp/out" || fail "info birth"
grep -q '"sex": "2"' "$tmp/out" || fail "info sex (ISO 5218)"
grep -q '"issuer_signature": "verified"' "$tmp/out" || fail "info issuer signature"
grep -Eq '"card_issuer_key_id": "[0-9A-F]{32}"' "$tmp/out" || fail "info issuer key id"

# Lock the signing password: the 5th wrong try locks, and it stays locked.
for i in 1 2 3 4 5; do
	JPKI_SIGN_PASSWORD=WRONG1 jpki card sign --card "$card" --type sign \
		--in "$tmp/doc" --out "$tmp/x" 2>"$tmp/err"
done
grep -q 'locked' "$tmp/err" || fail "5th wrong signing password does not say locked"
JPKI_SIGN_PASSWORD=ABC123 jpki card sign --card "$card" --type sign --in "$tmp/doc" \
	--out "$tmp/x" 2>"$tmp/err"
[ $? -eq 1 ] || fail "locked signing password should exit 1"
jpki card status --card "$card" --json | tr -d ' \n' |
	grep -q '"sign":{"tries_left":0,"locked":true}' || fail "status shows lock"

# Damaged images: exit 2, one line, file untouched.
head -c 100 "$card" >"$tmp/trunc.img"
cp "$tmp/trunc.img" "$tmp/trunc.before"
jpki card status --card "$tmp/trunc.img" 2>"$tmp/err"
[ $? -eq 2 ] || fail "truncated image should exit 2"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "truncated image: not one line"
cmp -s "$tmp/trunc.img" "$tmp/trunc.before" || fail "truncated image changed"
cp "$card" "$tmp/flip.img"
printf '\xff' | dd of="$tmp/flip.img" bs=1 seek=200 conv=notrunc 2>/dev/null
cp "$tmp/flip.img" "$tmp/flip.before"
jpki card status --card "$tmp/flip.img" 2>"$tmp/err"
[ $? -eq 2 ] || fail "corrupted image should exit 2"
grep -q 'checksum' "$tmp/err" || fail "corruption not named"
cmp -s "$tmp/flip.img" "$tmp/flip.before" || fail "corrupted image changed"

# Bad usage.
jpki card status 2>/dev/null
[ $? -eq 2 ] || fail "status without --card/--reader should exit 2"
jpki card sign --card "$card" --type nope --in "$tmp/doc" --out "$tmp/x" 2>/dev/null
[ $? -eq 2 ] || fail "bad --type should exit 2"

# attach waits for vpcd and stops cleanly on SIGTERM; the image stays locked
# meanwhile (one card, one reader).
"$JPKI" card attach --card "$card" --vpcd 127.0.0.1:1 2>"$tmp/attach.err" &
attach_pid=$!
sleep 0.5
jpki card status --card "$card" 2>"$tmp/err"
[ $? -eq 1 ] || fail "a second user of an attached image should be refused"
kill -TERM "$attach_pid"
wait "$attach_pid"
[ $? -eq 0 ] || fail "attach did not stop cleanly"
attach_pid=
grep -q 'waiting for vpcd' "$tmp/attach.err" || fail "attach progress"
jpki card status --card "$card" >/dev/null || fail "image unusable after attach"

# A counter procedure's staged image waiting beside the card: the card is
# not driven until the counter has settled it (the change would be lost).
cp "$card" "$card.pending"
cp "$card" "$tmp/before-pending"
jpki card status --card "$card" 2>"$tmp/err"
[ $? -eq 1 ] || fail "a card with a staged image waiting should be refused (exit 1)"
grep -q 'waiting to be put in place' "$tmp/err" || fail "the waiting image not named: $(cat "$tmp/err")"
cmp -s "$card" "$tmp/before-pending" || fail "the card changed while refused"
rm -f "$card.pending"
jpki card status --card "$card" >/dev/null || fail "status once the staged image is gone"

# A card that is not there: one line, and no lock file left beside it.
jpki card status --card "$tmp/absent.img" 2>"$tmp/err"
[ $? -eq 2 ] || fail "status of a missing card image should exit 2"
[ "$(grep -c '' "$tmp/err")" -eq 1 ] || fail "a missing card image: not one error line"
[ ! -e "$tmp/absent.img.lock" ] || fail "a missing card image got a lock file"

[ "$failures" -eq 0 ] || exit 1
echo "ok: jpki card CLI"
