#!/usr/bin/env bash
# test_crl.sh: `jpki crl generate` publishes, for each CA, one CRL per shard
# and a full CRL that today's tools read and act on: `openssl crl` verifies
# the signature under the CA; `openssl verify -crl_check` refuses a revoked
# certificate (error 23) with its shard's CRL and with the full CRL, accepts
# a valid one, and calls another shard's CRL out of scope (error 44: the
# IssuingDistributionPoint names the URI in the certificate's CDP); the
# entry carries its reason; GnuTLS certtool parses the CRLs; the CRL number
# goes up by one each time; bad usage is one line and writes nothing.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"

AT=$(epoch "$JPKI_NOW")
command -v certtool >/dev/null 2>&1 || fail "certtool (gnutls-bin) is needed"

init_data
ok ca export --out "$TMP/ca"
TARO=$(add_resident "$(individual_number 12345678901)" "山田 太郎" \
	"東京都千代田区千代田1-1" 1980-05-15 male)
HANA=$(add_resident "$(individual_number 23456789012)" "佐藤 花子" \
	"東京都千代田区丸の内2-3" 1990-04-02 female)
REVOKED=$(issue "$TARO" sign "$TMP/revoked.pem")
REVOKED_SHARD=$(json_get crl_shard)
VALID=$(issue "$HANA" sign "$TMP/valid.pem")
VALID_SHARD=$(json_get crl_shard)
AUTH=$(issue "$TARO" auth "$TMP/auth.pem")
AUTH_SHARD=$(json_get crl_shard)
ok cert revoke "$REVOKED" --reason affiliationChanged
ok cert revoke "$AUTH" --reason keyCompromise

check "jpki crl generate writes every shard and the full CRL of both CAs"
ok crl generate --json
SHARDS=$(sed -n 's/^crl_shards *= *//p' "$DATA/config" 2>/dev/null || true)
[ -n "$SHARDS" ] || SHARDS=64
expect_eq "CRLs written" "$(json_len)" $((2 * (SHARDS + 1)))
for t in sign auth; do
	for f in full 0 $((SHARDS - 1)); do
		[ -f "$DATA/crl/$t/$f.crl" ] || fail "no $DATA/crl/$t/$f.crl"
	done
done
expect_eq "CRL file mode" "$(stat -c %a "$DATA/crl/sign/full.crl")" 644
leftover=$(find "$DATA/crl" -type f ! -name '*.crl')
[ -z "$leftover" ] || fail "scratch or temporary files left: $leftover"

check "what a killed generation left in a CRL directory is removed by the next one, and nothing else"
printf 'half a CRL' >"$DATA/crl/sign/3.crl.jpki-tmp.Ab12Cd"
printf 'entries' >"$DATA/crl/sign/full.crl.jpki-entries.Xy34Zw"
printf 'keep' >"$DATA/crl/sign/README.txt"
printf 'keep' >"$DATA/crl/sign/full.crl.sha256"
printf 'keep' >"$DATA/crl/sign/0.crl.backup"
ok crl generate --type sign --shard 3
[ ! -e "$DATA/crl/sign/3.crl.jpki-tmp.Ab12Cd" ] || fail "a killed generation's temporary CRL was left"
[ ! -e "$DATA/crl/sign/full.crl.jpki-entries.Xy34Zw" ] || fail "a killed generation's scratch file was left"
for f in README.txt full.crl.sha256 0.crl.backup; do
	[ -f "$DATA/crl/sign/$f" ] || fail "$f, not a leftover, was removed"
	rm -f "$DATA/crl/sign/$f"
done

crl_pem() { openssl crl -inform DER -in "$DATA/crl/$1/$2.crl" -out "$TMP/$1-$2.crl.pem" || fail "openssl crl cannot read $1/$2.crl"; echo "$TMP/$1-$2.crl.pem"; }

check "openssl crl verifies every CRL's signature under its CA"
for t in sign auth; do
	for f in full "$REVOKED_SHARD" "$VALID_SHARD" "$AUTH_SHARD"; do
		openssl crl -inform DER -in "$DATA/crl/$t/$f.crl" -CAfile "$TMP/ca/$t-ca.pem" -noout >"$TMP/v" 2>&1 ||
			fail "openssl crl -CAfile on $t/$f.crl: $(cat "$TMP/v")"
		grep -q 'verify OK' "$TMP/v" || fail "$t/$f.crl: $(cat "$TMP/v")"
	done
done

check "the revoked signing certificate is in its shard's CRL and the full CRL, with its reason, and nowhere else"
for f in "$REVOKED_SHARD" full; do
	openssl crl -in "$(crl_pem sign "$f")" -noout -text >"$TMP/t"
	grep -q "Serial Number: $REVOKED" "$TMP/t" || fail "sign/$f.crl lacks $REVOKED"
	grep -A5 "Serial Number: $REVOKED" "$TMP/t" | grep -q 'Affiliation Changed' ||
		fail "sign/$f.crl: no reason affiliationChanged for $REVOKED"
done
openssl crl -in "$(crl_pem auth full)" -noout -text >"$TMP/t"
if grep -q "Serial Number: $REVOKED" "$TMP/t"; then fail "the signing certificate is on the auth CA's CRL"; fi
grep -A5 "Serial Number: $AUTH" "$TMP/t" | grep -q 'Key Compromise' || fail "auth full CRL lacks $AUTH (keyCompromise)"

check "a shard's CRL names the certificates' CDP URI in a critical IssuingDistributionPoint; the full CRL has none"
cdp=$(openssl x509 -in "$TMP/revoked.pem" -noout -ext crlDistributionPoints | sed -n 's/^ *URI://p')
openssl crl -in "$(crl_pem sign "$REVOKED_SHARD")" -noout -text >"$TMP/t"
grep -q 'Issuing Distribution Point: critical' "$TMP/t" || fail "no critical IDP in shard $REVOKED_SHARD"
grep -q "URI:$cdp" "$TMP/t" || fail "IDP does not name $cdp"
grep -q 'Only User Certificates' "$TMP/t" || fail "IDP lacks onlyContainsUserCerts"
openssl crl -in "$(crl_pem sign full)" -noout -text >"$TMP/t"
if grep -q 'Issuing Distribution Point' "$TMP/t"; then fail "the full CRL has an IDP"; fi

check "openssl verify -crl_check: revoked (23) with the shard's CRL and the full CRL; the valid one passes"
for f in "$REVOKED_SHARD" full; do
	rc=0
	openssl verify -attime "$AT" -crl_check -CAfile "$TMP/ca/sign-ca.pem" \
		-CRLfile "$(crl_pem sign "$f")" "$TMP/revoked.pem" >"$TMP/v" 2>&1 || rc=$?
	[ $rc -ne 0 ] && grep -q 'error 23' "$TMP/v" || fail "sign/$f.crl: revoked certificate: $(cat "$TMP/v")"
done
for f in "$VALID_SHARD" full; do
	openssl verify -attime "$AT" -crl_check -CAfile "$TMP/ca/sign-ca.pem" \
		-CRLfile "$(crl_pem sign "$f")" "$TMP/valid.pem" >"$TMP/v" 2>&1 ||
		fail "sign/$f.crl: valid certificate refused: $(cat "$TMP/v")"
done

check "another shard's CRL is out of scope for the certificate (error 44), not a pass"
other=$(( (REVOKED_SHARD + 1) % SHARDS ))
rc=0
openssl verify -attime "$AT" -crl_check -CAfile "$TMP/ca/sign-ca.pem" \
	-CRLfile "$(crl_pem sign "$other")" "$TMP/revoked.pem" >"$TMP/v" 2>&1 || rc=$?
[ $rc -ne 0 ] && grep -q 'error 44' "$TMP/v" || fail "shard $other for a shard-$REVOKED_SHARD certificate: $(cat "$TMP/v")"

check "GnuTLS certtool --crl-info parses them"
for f in full "$REVOKED_SHARD"; do
	certtool --crl-info --inder --infile "$DATA/crl/sign/$f.crl" >"$TMP/ct" 2>&1 ||
		fail "certtool --crl-info sign/$f.crl: $(head -c 400 "$TMP/ct")"
done
grep -qi "$REVOKED" "$TMP/ct" || fail "certtool does not list $REVOKED"

check "the CRL number goes up by one with each generation, per shard"
# openssl prints crlNumber=0x01
crl_number() { printf '%d' "$(openssl crl -inform DER -in "$1" -noout -crlnumber | sed 's/^crlNumber=//')"; }
n1=$(crl_number "$DATA/crl/sign/full.crl")
expect_eq "first CRL number" "$n1" 1
ok crl generate --type sign --full --json
expect_eq "CRLs written for --type sign --full" "$(json_len)" 1
json_expect "full CRL" 0.type=sign 0.shard=full 0.entries=1
expect_eq "CRL number" "$(crl_number "$DATA/crl/sign/full.crl")" 2
ok crl generate --type auth --shard "$AUTH_SHARD" --json
json_expect "auth shard CRL" 0.type=auth 0.shard="$AUTH_SHARD" 0.entries=1 0.number=2

check "concurrent generations take turns: the published CRL has the highest number"
for i in 1 2 3 4; do "$JPKI" crl generate --type sign --full >/dev/null 2>"$TMP/conc$i.err" & done
wait
for i in 1 2 3 4; do [ ! -s "$TMP/conc$i.err" ] || fail "concurrent generate $i: $(cat "$TMP/conc$i.err")"; done
expect_eq "CRL number after 4 concurrent runs" "$(crl_number "$DATA/crl/sign/full.crl")" 6
openssl crl -inform DER -in "$DATA/crl/sign/full.crl" -CAfile "$TMP/ca/sign-ca.pem" -noout 2>&1 | grep -q 'verify OK' ||
	fail "the CRL after concurrent runs does not verify"

check "--out DIR puts them elsewhere"
ok crl generate --type sign --shard 0 --out "$TMP/pub"
[ -f "$TMP/pub/sign/0.crl" ] || fail "--out: no $TMP/pub/sign/0.crl"

check "bad usage: one line, exit 2, no CRL written"
db_snapshot "$TMP/before.sql"
before=$(ls -l --time-style=+%s.%N "$DATA/crl/sign")
for args in "--type both" "--shard 64" "--shard -1" "--shard x" "--full --shard 1" "--bogus" "extra"; do
	# shellcheck disable=SC2086
	expect_status 2 crl generate $args
	expect_one_error_line '^jpki: '
done
expect_store_unchanged "$TMP/before.sql" "bad crl usage"
expect_eq "CRL directory after bad usage" "$(ls -l --time-style=+%s.%N "$DATA/crl/sign")" "$before"

done_ok
