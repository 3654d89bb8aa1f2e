#!/usr/bin/env bash
# test_signer_token.sh: `jpki signer` over a data directory whose keys are
# in a PKCS#11 token (a fresh SoftHSM2 token of the test's own, as with
# JPKI_TEST_PKCS11=1).  The signer opens the token's keys itself (--keys,
# which names key files, is refused in one line, nothing made), makes its
# audit key in the token, drops to nobody with no_new_privs and its seccomp
# filter, and signs through the token what counters without a PIN or a key
# ask: certificates, a delivery's card facts and card face, CRLs, OCSP
# answers, audit checkpoints; each verifies.  On SQLite and PostgreSQL.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/counter_lib.sh"
source "$(dirname "$0")/signer_lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "$TEST_NAME: SKIP: needs root (to drop to nobody)"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "$TEST_NAME: SKIP: no user nobody"; exit 77; }
JPKI_TEST_PKCS11=1
SOCK=$TMP/signer.sock

init_data
[ -z "$(find "$DATA/ca" -name '*.key')" ] || fail "CA key files in a token data directory"

check "--keys is refused for a token data directory, in one line, nothing made"
expect_status 2 signer --listen "unix:$SOCK" --keys "$TMP"
expect_one_error_line "keeps its keys in a PKCS#11 token .*without --keys"
[ ! -e "$DATA/signer" ] || fail "the refused signer made $DATA/signer"
[ ! -e "$SOCK" ] || fail "the refused signer made its socket"

SIGNER_ARGS=(--listen "unix:$SOCK" --checkpoint-every 1)

check "the signer opens the token's keys, makes its audit key there, and drops to nobody"
# Its first start, as root, makes the audit key in the token.  Then, as
# docs/ca-operations.md sets it up, the signer's user owns the token (for
# SoftHSM2 its token directory, whose objects it reads again as it signs)
# and reaches its state; the PIN is the signer's alone.
start_signer "${SIGNER_ARGS[@]}"
stop_signer
grep -Eq '^key audit = [0-9a-f]+$' "$DATA/ca/pkcs11" || fail "no audit key recorded in the token: $(cat "$DATA/ca/pkcs11")"
chmod 755 "$TMP" "$DATA"
chown -R nobody "$TMP/softhsm" "$DATA/signer"
start_signer "${SIGNER_ARGS[@]}" --user nobody
status=/proc/$SIGNER_PID/status
grep -Eq "^Uid:[[:space:]]+$(id -u nobody)[[:space:]]" "$status" || fail "signer uid: $(grep Uid "$status")"
grep -Eq '^NoNewPrivs:[[:space:]]+1' "$status" || fail "no_new_privs not set"
grep -Eq '^Seccomp:[[:space:]]+2' "$status" || fail "no seccomp filter: $(grep Seccomp "$status")"
[ -z "$(find "$DATA/ca" -name '*.key')" ] || fail "CA key files: $(find "$DATA/ca" -name '*.key')"
sed -i "1i signer = unix:$SOCK" "$DATA/config"
unset JPKI_HSM_PIN

check "certificates, a delivery (card facts and face) through the signer and the token"
id1=$(add_resident "$(individual_number 30000000001)" "山田 太郎" "東京都清瀬市中里五丁目842番地" 1980-12-31 male)
id2=$(add_resident "$(individual_number 30000000002)" "山田 花子" "東京都清瀬市中里五丁目842番地" 1981-02-03 female)
ok ca export --out "$TMP/ca"
issue "$id2" sign "$TMP/sign2.pem" >/dev/null
openssl verify -attime "$(date -d "$(echo "$JPKI_NOW" | sed 's/T/ /')" +%s)" -CAfile "$TMP/ca/sign-ca.pem" "$TMP/sign2.pem" >/dev/null 2>&1 ||
	fail "the certificate signed in the token does not verify"
deliver "$id1" "$TMP/card1.img"
verify_on_card "$TMP/card1.img" sign
verify_on_card "$TMP/card1.img" auth
# The card issuer key to trust, from the signer (no key file, no PIN).
ok card face --card "$TMP/card1.img" --data "$DATA" --out "$TMP/face" --json
for r in card-facts card-face; do
	grep -q "\"request\":\"$r\",\"key\":\"card-issuer\",\"subject\":\"\",\"result\":\"signed\"" "$DATA/signer/audit.log" ||
		fail "the signer's log has no $r signed: $(cat "$DATA/signer/audit.log")"
done

check "a CRL and an OCSP answer through the signer and the token verify"
ok crl generate --type sign --full
openssl crl -in "$DATA/crl/sign/full.crl" -inform DER -CAfile "$TMP/ca/sign-ca.pem" -noout 2>&1 | grep -q 'verify OK' ||
	fail "the full CRL does not verify"
openssl ocsp -issuer "$TMP/ca/sign-ca.pem" -cert "$TMP/sign2.pem" -no_nonce -reqout "$TMP/q.der" >/dev/null 2>&1 ||
	fail "openssl ocsp -reqout"
ok ocsp respond --in "$TMP/q.der" --out "$TMP/r.der"
openssl ocsp -respin "$TMP/r.der" -CAfile "$TMP/ca/sign-ca.pem" >"$TMP/ocsp.out" 2>&1 || fail "openssl ocsp -respin: $(cat "$TMP/ocsp.out")"
grep -q 'Response verify OK' "$TMP/ocsp.out" || fail "the OCSP answer does not verify: $(cat "$TMP/ocsp.out")"

check "checkpoints by the audit key in the token; jpki ca show names the signer"
ok audit checkpoint
head=$(db_sql "SELECT max(seq) FROM audit")
grep -q "seq=$head " <<<"$OUT" || fail "audit checkpoint printed: $OUT"
ok audit verify --json
json_expect "audit verify" ok=true checkpoint_seq="$head"
ok ca show
grep -Eq "sign CA generation 1 +signer unix:$SOCK" <<<"$OUT" || fail "ca show: $OUT"
grep -A1 -E "card issuer +signer unix:$SOCK" <<<"$OUT" | grep -Eq 'SPKI SHA-256 [0-9A-F]{64}' ||
	fail "ca show: no card issuer fingerprint from the signer: $OUT"
stop_signer

done_ok
