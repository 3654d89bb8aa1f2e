#!/usr/bin/env bash
# test_signer_generations.sh: CA generations through `jpki signer` (issue 9
# items 1 and 3 together).  The key files live in a directory only the
# signer reads.  A rollover is the key ceremony on the signer's machine
# (`jpki ca rollover --keys DIR`; through the configured signer it is
# refused, since the signer makes no keys); a signer started before it
# says in one line that it has no generation 2 until restarted; restarted,
# a counter issues from generation 2 through it (the certificate verifies
# against generation 2's CA certificate, names its CRL URL, and the signer
# logged sign-ca.gen2), a holder's certificate sent to generation 1's key
# is refused (generation 1 no longer issues), and generation 1 keeps
# signing its CRLs and OCSP answers (live and pre-signed) through the
# signer.  On SQLite and PostgreSQL.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/counter_lib.sh"
source "$(dirname "$0")/signer_lib.sh"

PROBE=$JPKI_BUILD/signer_probe
SOCK=$TMP/signer.sock
KEYS=$TMP/signer-keys

init_data
mkdir -m 700 "$KEYS"
mv "$DATA"/ca/*.key "$KEYS/"
sed -i "1i signer = unix:$SOCK" "$DATA/config"

SIGNER_ARGS=(--listen "unix:$SOCK" --keys "$KEYS" --no-sandbox)

# ocsp_good CERT.pem CA.pem: `jpki ocsp respond` (through the signer)
# answers good, signed by the responder of that CA generation.
ocsp_good() {
	openssl ocsp -issuer "$2" -cert "$1" -no_nonce -reqout "$TMP/q.der" >/dev/null 2>&1 ||
		fail "openssl ocsp -reqout"
	ok ocsp respond --in "$TMP/q.der" --out "$TMP/r.der"
	openssl ocsp -respin "$TMP/r.der" -CAfile "$2" -resp_text >"$TMP/ocsp.out" 2>&1 ||
		fail "openssl ocsp -respin: $(cat "$TMP/ocsp.out")"
	grep -q 'Response verify OK' "$TMP/ocsp.out" || fail "the OCSP answer does not verify with $2: $(cat "$TMP/ocsp.out")"
	grep -q 'Cert Status: good' "$TMP/ocsp.out" || fail "not good: $(cat "$TMP/ocsp.out")"
}

check "generation 1 issues through the signer"
start_signer "${SIGNER_ARGS[@]}"
id1=$(add_resident "$(individual_number 30000000011)" "山田 太郎" "東京都清瀬市中里五丁目842番地" 1980-12-31 male)
id2=$(add_resident "$(individual_number 30000000012)" "山田 花子" "東京都清瀬市中里五丁目842番地" 1981-02-03 female)
deliver "$id1" "$TMP/card1.img"
verify_on_card "$TMP/card1.img" sign
cp "$CERT_PEM" "$TMP/sign1.pem"

check "a rollover through the signer is refused in one line; the key ceremony with --keys makes generation 2"
expect_unchanged 1 "a rollover makes keys where the signer .* keeps them: run .jpki ca rollover --keys DIR." \
	ca rollover --type sign
expect_status 2 ca rollover --type sign --keys "$KEYS" --local
expect_one_error_line "--keys and --local: one or the other"
expect_status 2 ca renew-responders --keys "$KEYS"
expect_one_error_line "--keys, --local: only with rollover"
ok ca rollover --type sign --keys "$KEYS" --json
json_expect "rollover" type=sign generation=2 previous=1
[ -f "$KEYS/sign-ca.gen2.key" ] && [ -f "$KEYS/sign-ocsp.gen2.key" ] ||
	fail "the generation-2 keys are not in the signer's key directory: $(ls "$KEYS")"
[ -z "$(find "$DATA/ca" -name '*.key')" ] || fail "key files in the data directory: $(find "$DATA/ca" -name '*.key')"
# --local opens the data directory's own keys, not the signer: here it
# has none, and says so in one line, changing nothing.
run "$JPKI" ca rollover --type auth --local
[ "$RC" -ne 0 ] || fail "a rollover with --local and no key in the data directory succeeded"
expect_one_error_line "^jpki: io: $DATA/ca/sign-ca\.key: No such file or directory$"
expect_eq "auth generations" "$(db_sql "SELECT count(*) FROM ca_generations WHERE ca = 2")" 1

check "the signer started before the rollover names the generation it lacks, in one line"
rc=0
"$JPKI" counter deliver --clerk "$CLERK" --resident "$id2" --out "$TMP/card2.img" \
	>"$TMP/c2.out" 2>"$TMP/stderr" || rc=$?
[ "$rc" -ne 0 ] || fail "a delivery for generation 2 through a signer that has only generation 1 succeeded"
ERR=$(cat "$TMP/stderr")
expect_one_error_line "no generation 2 of the sign CA here \(it has 1; restart the signer after a rollover\)"

check "restarted, the signer issues from generation 2; generation 1 no longer issues holders' certificates"
stop_signer
start_signer "${SIGNER_ARGS[@]}"
deliver "$id2" "$TMP/card2.img"
ok ca export --out "$TMP/ca"
mkdir -p "$TMP/certs2"
"$JPKI" card certs --card "$TMP/card2.img" --out "$TMP/certs2" --sign >/dev/null 2>&1 || fail "card certs"
openssl x509 -inform DER -in "$TMP/certs2/sign.der" -out "$TMP/sign2.pem" || fail "the card's signing certificate"
openssl verify -attime "$(epoch "$JPKI_NOW")" -CAfile "$TMP/ca/sign-ca.gen2.pem" "$TMP/sign2.pem" >/dev/null 2>"$TMP/verify.err" ||
	fail "the generation-2 certificate does not verify with sign-ca.gen2.pem: $(cat "$TMP/verify.err")"
if openssl verify -attime "$(epoch "$JPKI_NOW")" -CAfile "$TMP/ca/sign-ca.pem" "$TMP/sign2.pem" >/dev/null 2>&1; then
	fail "the generation-2 certificate verifies with generation 1's key"
fi
openssl x509 -in "$TMP/sign2.pem" -noout -ext crlDistributionPoints | grep -q '/crl/sign\.gen2/' ||
	fail "the generation-2 certificate does not name its generation's CRLs"
grep -q '"request":"certificate","key":"sign-ca.gen2"' "$DATA/signer/audit.log" ||
	fail "the signer's audit log has no certificate signed by sign-ca.gen2"
run "$PROBE" "$DATA" old-gen
[ "$RC" -eq 1 ] || fail "a holder's certificate for generation 1 after the rollover: exit $RC, expected 1 (refused): $ERR$OUT"
expect_one_error_line "generation that no longer issues: generation 2 issues$"
run "$PROBE" "$DATA" ok
[ "$RC" -eq 0 ] || fail "a request in generation 2's profile was refused: $ERR"

check "both generations' CRLs and OCSP answers are signed through the signer"
ok crl generate --type sign
openssl crl -in "$DATA/crl/sign/full.crl" -inform DER -CAfile "$TMP/ca/sign-ca.pem" -noout 2>&1 | grep -q 'verify OK' ||
	fail "generation 1's full CRL does not verify"
openssl crl -in "$DATA/crl/sign.gen2/full.crl" -inform DER -CAfile "$TMP/ca/sign-ca.gen2.pem" -noout 2>&1 | grep -q 'verify OK' ||
	fail "generation 2's full CRL does not verify"
ocsp_good "$TMP/sign1.pem" "$TMP/ca/sign-ca.pem"
ocsp_good "$TMP/sign2.pem" "$TMP/ca/sign-ca.gen2.pem"
# Pre-signed answers (valid ocsp_validity_seconds, 2 days) pass the
# signer's lint too, for both generations' certificates.
ok ocsp presign --json
json_expect "presign through the signer" signed_good=4 signed_revoked=0
expect_audit_ok "after a rollover through the signer"
stop_signer

done_ok
