#!/usr/bin/env bash
# test_rp_cms.sh: `jpki sign` makes CMS signatures (CAdES-BES) on the card
# that `openssl cms -verify` accepts, and `jpki verify` accepts a CMS
# signature `openssl cms -sign` made with an issued key; the status comes
# from our OCSP responder at the certificate's AIA while `jpki serve` runs,
# from the store when it does not (R4: the signing certificate is for
# documents).  Each rejection has its own reason: tampered content
# (bad-signature), a wrong anchor (untrusted), a certificate revoked before
# signing (revoked-before-signing), an expired one (expired), an
# authentication certificate (wrong-certificate).  R6: a signing
# certificate revoked by an address change: what was signed before verifies
# --at its signing time and not now.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
export JPKI_SIGN_PASSWORD=HOLDER15 JPKI_AUTH_PIN=1234 JPKI_CARDINFO_PIN=5678

serve_init
start_server --listen "127.0.0.1:$PORT" --rp
ok counter deliver --resident "$TARO" --out "$TMP/card.img" --clerk clerk-sato --json
SIGN=$(json_get receipt.issued.0.serial)
echo "確定申告書 2026" >"$TMP/doc.txt"

# verdict FILE [ARGS]: jpki verify --json; sets $REASON.
verdict() {
	jpki verify "$@" --json
	REASON=$(json_get reason 2>/dev/null || echo none)
}

check "jpki sign on the card: openssl cms -verify accepts it (attached and detached)"
ok sign --card "$TMP/card.img" --in "$TMP/doc.txt" --out "$TMP/doc.p7s"
ok sign --card "$TMP/card.img" --in "$TMP/doc.txt" --out "$TMP/doc.det.p7s" --detached
openssl cms -verify -inform DER -in "$TMP/doc.p7s" -CAfile "$SIGN_CA" -binary -purpose any \
	-out "$TMP/doc.out" 2>"$TMP/stderr" || fail "openssl cms -verify: $(cat "$TMP/stderr")"
cmp -s "$TMP/doc.out" "$TMP/doc.txt" || fail "the attached content differs"
openssl cms -verify -inform DER -in "$TMP/doc.det.p7s" -content "$TMP/doc.txt" -CAfile "$SIGN_CA" \
	-binary -purpose any -out /dev/null 2>"$TMP/stderr" || fail "openssl cms -verify detached"
openssl cms -cmsout -print -inform DER -in "$TMP/doc.p7s" >"$TMP/print.txt"
for attr in contentType signingTime messageDigest id-smime-aa-signingCertificateV2; do
	grep -q "$attr" "$TMP/print.txt" || fail "CAdES-BES attribute $attr missing"
done

check "jpki verify: valid, status by OCSP at the AIA, the four facts decoded with the era"
verdict "$TMP/doc.p7s"
[ "$RC" -eq 0 ] || fail "verify exited $RC: $ERR"
json_expect "verdict" verdict=valid serial="$SIGN" status.source=ocsp status.status=good \
	facts.name="山田　太郎" facts.birth=1980-05-15 facts.birth_era="昭和55年5月15日" facts.era=Showa \
	facts.gender_name=male facts.address="東京都千代田区千代田1-1" facts.name_flags=00000
expect_eq "OCSP url" "$(json_get status.url)" "$BASE/ocsp/sign"
verdict "$TMP/doc.det.p7s" --content "$TMP/doc.txt"
[ "$RC" -eq 0 ] || fail "detached verify exited $RC: $ERR"
jpki verify "$TMP/doc.p7s"
grep -q "^birth        昭和55年5月15日 (1980-05-15, era Showa)" "$TMP/stdout" || fail "text output: $OUT"

check "jpki verify accepts openssl cms -sign with an issued key (no CAdES attributes)"
HANA=$(add_resident "$(individual_number 23456789012)" "佐藤 花子" "東京都千代田区丸の内2-3" 1990-04-02 female)
HSIGN=$(issue "$HANA" sign "$TMP/hana.pem")
openssl cms -sign -binary -nodetach -md sha256 -in "$TMP/doc.txt" -signer "$TMP/hana.pem" \
	-inkey "$TMP/keys/r$HANA-sign.key.pem" -outform DER -out "$TMP/hana.p7s" || fail "openssl cms -sign"
verdict "$TMP/hana.p7s"
[ "$RC" -eq 0 ] || fail "openssl's signature: exit $RC: $ERR"
json_expect "openssl's" serial="$HSIGN" facts.birth_era="平成2年4月2日" facts.gender_name=female
openssl cms -sign -binary -md sha256 -cades -in "$TMP/doc.txt" -signer "$TMP/hana.pem" \
	-inkey "$TMP/keys/r$HANA-sign.key.pem" -outform PEM -out "$TMP/hana.pem.p7s" || fail "openssl cms -sign -cades"
verdict "$TMP/hana.pem.p7s" --content "$TMP/doc.txt"
[ "$RC" -eq 0 ] || fail "openssl's detached PEM CAdES signature: exit $RC: $ERR"

check "tampered content: bad-signature"
echo "確定申告書 2027" >"$TMP/doc2.txt"
verdict "$TMP/doc.det.p7s" --content "$TMP/doc2.txt"
[ "$RC" -eq 1 ] && [ "$REASON" = bad-signature ] || fail "tampered: exit $RC reason $REASON"
expect_one_error_line "^jpki: verify-failed: bad-signature: RFC 5652 5.6" 
python3 - "$TMP/doc.p7s" "$TMP/doc.bad.p7s" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
i = b.find("2026".encode())
b[i] ^= 1
open(sys.argv[2], 'wb').write(b)
PY
verdict "$TMP/doc.bad.p7s"
[ "$RC" -eq 1 ] && [ "$REASON" = bad-signature ] || fail "tampered attached: exit $RC reason $REASON"

check "a wrong anchor: untrusted"
JPKI_DATA=$TMP/nowhere verdict "$TMP/doc.p7s" --anchors "$AUTH_CA"
[ "$RC" -eq 1 ] && [ "$REASON" = untrusted ] || fail "wrong anchor: exit $RC reason $REASON"
JPKI_DATA=$TMP/nowhere verdict "$TMP/doc.p7s" --anchors "$SIGN_CA"
[ "$RC" -eq 0 ] || fail "the right anchor alone: exit $RC: $ERR"

check "an expired certificate: expired"
verdict "$TMP/doc.p7s" --at 2032-01-01
[ "$RC" -eq 1 ] && [ "$REASON" = expired ] || fail "expired: exit $RC reason $REASON"

check "an authentication certificate cannot sign documents: wrong-certificate"
HAUTH=$(issue "$HANA" auth "$TMP/hana-auth.pem")
openssl cms -sign -binary -nodetach -md sha256 -in "$TMP/doc.txt" -signer "$TMP/hana-auth.pem" \
	-inkey "$TMP/keys/r$HANA-auth.key.pem" -outform DER -out "$TMP/auth.p7s" || fail "openssl cms -sign"
verdict "$TMP/auth.p7s"
[ "$RC" -eq 1 ] && [ "$REASON" = wrong-certificate ] || fail "auth cert: exit $RC reason $REASON"

check "a certificate revoked before signing: revoked-before-signing"
ok cert revoke "$HSIGN" --reason keyCompromise
wait_revoked "$SIGN_CA" "$HSIGN"
sleep 1
openssl cms -sign -binary -nodetach -md sha256 -in "$TMP/doc.txt" -signer "$TMP/hana.pem" \
	-inkey "$TMP/keys/r$HANA-sign.key.pem" -outform DER -out "$TMP/late.p7s" || fail "openssl cms -sign"
verdict "$TMP/late.p7s"
[ "$RC" -eq 1 ] && [ "$REASON" = revoked-before-signing ] || fail "revoked before signing: exit $RC reason $REASON"
verdict "$TMP/hana.p7s"
[ "$RC" -eq 1 ] && [ "$REASON" = revoked ] || fail "signed before, verified now: exit $RC reason $REASON"
expect_eq "source" "$(json_get status.source)" ocsp

check "R6: revoked by an address change: valid --at the signing time, invalid now"
signed_at=$(jpki verify "$TMP/doc.p7s" --json; json_get signing_time)
sleep 1
ok resident change "$TARO" --address "東京都千代田区丸の内1-1"
wait_revoked "$SIGN_CA" "$SIGN"
verdict "$TMP/doc.p7s"
[ "$RC" -eq 1 ] && [ "$REASON" = revoked ] || fail "after the move: exit $RC reason $REASON"
verdict "$TMP/doc.p7s" --at "$signed_at"
[ "$RC" -eq 0 ] || fail "--at the signing time: exit $RC: $ERR"
expect_eq "revoked later" "$(json_get status.status)" revoked

check "without the server: the store says (and what failed before it)"
stop_server
verdict "$TMP/doc.p7s"
[ "$RC" -eq 1 ] && [ "$REASON" = revoked ] || fail "store: exit $RC reason $REASON"
expect_eq "source" "$(json_get status.source)" store
json_get status.tried | grep -q "OCSP $BASE/ocsp/sign" || fail "tried: $(json_get status.tried)"
JPKI_DATA=$TMP/nowhere verdict "$TMP/doc.p7s" --anchors "$SIGN_CA"
[ "$RC" -eq 1 ] && [ "$REASON" = status-unknown ] || fail "no status: exit $RC reason $REASON"

check "bad input: exit 2, one line"
head -c 100 /dev/urandom >"$TMP/junk"
expect_status 2 verify "$TMP/junk"
expect_one_error_line "^jpki: bad-input: signature: not a CMS"
expect_status 2 verify "$TMP/doc.det.p7s"
expect_one_error_line "^jpki: bad-input: signature: detached" 
expect_status 2 verify "$TMP/doc.p7s" --at yesterday
done_ok
