#!/usr/bin/env bash
# test_issue_interop.sh: signing and authentication certificates issued by
# `jpki ca issue` are read and accepted by today's tools (openssl verify,
# openssl x509, GnuTLS certtool); their serials round-trip through
# `jpki cert show`; status moves valid → revoked (with its reason) and
# valid → expired; validity follows R6 (23:59:59 JST on the 5th birthday
# after issuance, issuance day not counted), capped by the card's expiry.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Issuance happens at 2026-04-01 10:00 JST (lib.sh); openssl checks at the
# same instant so the test does not age.
AT=$(epoch "$JPKI_NOW")

init_data
ok ca export --out "$TMP/ca"
SIGN_CA=$TMP/ca/sign-ca.pem
AUTH_CA=$TMP/ca/auth-ca.pem

TARO=$(add_resident "$(individual_number 12345678901)" "山田 太郎" \
	"東京都千代田区千代田1-1" 1980-05-15 male)
# Born on the issuance day's date: that birthday does not count (art. 140).
HANA=$(add_resident "$(individual_number 23456789012)" "佐藤 花子" \
	"東京都千代田区丸の内2-3" 1990-04-01 female)
# Born on 29 February: in a common year the birthday is 28 February.
LEAP=$(add_resident "$(individual_number 34567890123)" "田中 閏" \
	"東京都千代田区永田町1-7" 2000-02-29 unknown)

SIGN_SERIAL=$(issue "$TARO" sign "$TMP/taro-sign.pem")
cp "$TMP/stdout" "$TMP/taro-sign.json"
AUTH_SERIAL=$(issue "$TARO" auth "$TMP/taro-auth.pem")
cp "$TMP/stdout" "$TMP/taro-auth.json"

for t in sign auth; do
	cert=$TMP/taro-$t.pem
	if [ $t = sign ]; then ca=$SIGN_CA other=$AUTH_CA other_t=auth; else ca=$AUTH_CA other=$SIGN_CA other_t=sign; fi

	check "$t: openssl verify -CAfile accepts the certificate"
	openssl verify -attime "$AT" -CAfile "$ca" "$cert" >"$TMP/v" 2>&1 ||
		fail "$t: openssl verify: $(cat "$TMP/v")"

	check "$t: openssl verify refuses it under the other CA"
	if openssl verify -attime "$AT" -CAfile "$other" "$cert" >/dev/null 2>&1; then
		fail "$t certificate verifies under the wrong CA"
	fi

	check "$t: GnuTLS certtool -i parses it"
	certtool -i --infile "$cert" >"$TMP/certtool" 2>&1 ||
		fail "$t: certtool -i: $(head -c 400 "$TMP/certtool")"
	grep -q 'Key Usage (critical)' "$TMP/certtool" || fail "$t: certtool shows no critical Key Usage"
	grep -q 'Certificate Policies (critical)' "$TMP/certtool" || fail "$t: certtool shows no critical Certificate Policies"

	check "$t: openssl x509 -serial equals the serial of jpki ca issue --json"
	s=$(openssl x509 -in "$cert" -noout -serial | sed 's/^serial=//')
	expect_eq "$t serial" "$(json_get serial "$TMP/taro-$t.json")" "$s"
	# 16 random bytes, positive: at most 32 hex digits, and fewer than 16
	# only with probability 2^-64.
	if [ ${#s} -gt 32 ] || [ ${#s} -lt 16 ]; then fail "$t: serial $s is not 16 random bytes"; fi
	[ "$s" != "$(openssl x509 -in "$TMP/taro-$other_t.pem" -noout -serial | sed 's/^serial=//')" ] ||
		fail "$t: the two certificates share serial $s"

	check "$t: HTTP URIs for today's tools: CDP names the certificate's CRL shard, AIA has OCSP and caIssuers"
	openssl x509 -in "$cert" -noout -ext crlDistributionPoints,authorityInfoAccess >"$TMP/uris"
	shard=$(json_get crl_shard "$TMP/taro-$t.json")
	grep -Eq "URI:http://[^ ]*[^0-9]$shard\.crl\$" "$TMP/uris" ||
		fail "$t: no CDP URI for CRL shard $shard: $(tr '\n' ' ' <"$TMP/uris")"
	grep -q 'OCSP - URI:http://' "$TMP/uris" || fail "$t: no AIA OCSP URI"
	grep -q 'CA Issuers - URI:http://' "$TMP/uris" || fail "$t: no AIA caIssuers URI"

	check "$t: jpki cert show accepts that serial (also lower case with colons) and says valid"
	ok cert show "$s" --json
	json_expect "$t certificate" status=valid reason=null type="$t" resident="$TARO" serial="$s" \
		crl_shard="$shard"
	colons=$(echo "$s" | tr 'A-F' 'a-f' | sed 's/../&:/g; s/:$//')
	ok cert show "$colons" --json
	expect_eq "$t serial via '$colons'" "$(json_get serial)" "$s"
done

check "R4: openssl x509 -text shows the six otherNames 1.2.392.200149.8.5.5.1-6 on the signing certificate"
openssl x509 -in "$TMP/taro-sign.pem" -noout -text >"$TMP/sign.txt"
for n in 1 2 3 4 5 6; do
	grep -q "othername: 1\.2\.392\.200149\.8\.5\.5\.$n::" "$TMP/sign.txt" ||
		fail "signing certificate has no otherName 1.2.392.200149.8.5.5.$n"
done
expect_eq "otherName count" "$(grep -o 'othername: 1\.2\.392\.200149\.8\.5\.5\.' "$TMP/sign.txt" | wc -l)" 6
grep -q 'othername: 1\.2\.392\.200149\.8\.5\.5\.1::山田　太郎,' "$TMP/sign.txt" ||
	fail "otherName .1 is not surname U+3000 given name"
grep -q 'othername: 1\.2\.392\.200149\.8\.5\.5\.4::319800515,' "$TMP/sign.txt" ||
	fail "otherName .4 is not era digit 3 (Showa) + 19800515"
grep -q 'othername: 1\.2\.392\.200149\.8\.5\.5\.3::1,' "$TMP/sign.txt" ||
	fail "otherName .3 is not 1 (male)"
grep -q 'othername: 1\.2\.392\.200149\.8\.5\.5\.5::東京都千代田区千代田1-1,' "$TMP/sign.txt" ||
	fail "otherName .5 is not the address"

check "R5: the authentication certificate carries no otherNames and no personal facts"
openssl x509 -in "$TMP/taro-auth.pem" -noout -text >"$TMP/auth.txt"
if grep -qi 'othername' "$TMP/auth.txt"; then fail "authentication certificate has an otherName"; fi
for fact in 山田 太郎 千代田1-1 19800515; do
	if grep -q "$fact" "$TMP/auth.txt"; then fail "authentication certificate contains '$fact'"; fi
done
subject=$(openssl x509 -in "$TMP/taro-auth.pem" -noout -subject -nameopt RFC2253)
case $subject in
subject=CN=*,C=JP) ;;
*) fail "authentication subject is '$subject', want C=JP, CN=<id>" ;;
esac

check "R4: jpki cert show --json reads the facts back from the signing certificate"
ok cert show "$SIGN_SERIAL" --json
json_expect "signing certificate facts" facts.name="山田　太郎" facts.birth=319800515 \
	facts.gender=1 facts.address="東京都千代田区千代田1-1"

# expect_not_after CERT.pem JSON WANT_JST: both --json and the certificate.
expect_not_after() {
	local pem=$1 json=$2 want=$3 got
	expect_eq "$(basename "$pem") not_after (--json)" "$(json_get not_after "$json")" "$want"
	got=$(openssl x509 -in "$pem" -noout -enddate | sed 's/^notAfter=//')
	expect_eq "$(basename "$pem") notAfter (certificate)" "$(epoch "$got")" "$(epoch "$want")"
}

check "R6: valid until 23:59:59 JST on the 5th birthday after issuance (1980-05-15 issued 2026-04-01 → 2030-05-15)"
expect_not_after "$TMP/taro-sign.pem" "$TMP/taro-sign.json" 2030-05-15T23:59:59+09:00
expect_not_after "$TMP/taro-auth.pem" "$TMP/taro-auth.json" 2030-05-15T23:59:59+09:00

check "R6: issued on a birthday, that birthday is not counted (1990-04-01 issued 2026-04-01 → 2031-04-01)"
issue "$HANA" sign "$TMP/hana-sign.pem" >/dev/null
cp "$TMP/stdout" "$TMP/hana-sign.json"
expect_not_after "$TMP/hana-sign.pem" "$TMP/hana-sign.json" 2031-04-01T23:59:59+09:00

check "R6: a 29 February birthday ends on 28 February in a common year (2000-02-29 → 2031-02-28)"
issue "$LEAP" auth "$TMP/leap-auth.pem" >/dev/null
cp "$TMP/stdout" "$TMP/leap-auth.json"
expect_not_after "$TMP/leap-auth.pem" "$TMP/leap-auth.json" 2031-02-28T23:59:59+09:00

check "a certificate never outlives its card: --card-expiry 2028-01-01 caps notAfter at 2028-01-01 23:59:59 JST"
issue "$HANA" auth "$TMP/hana-auth.pem" --card-expiry 2028-01-01 >/dev/null
cp "$TMP/stdout" "$TMP/hana-auth.json"
expect_not_after "$TMP/hana-auth.pem" "$TMP/hana-auth.json" 2028-01-01T23:59:59+09:00
openssl verify -attime "$AT" -CAfile "$AUTH_CA" "$TMP/hana-auth.pem" >/dev/null 2>&1 ||
	fail "the capped certificate does not verify"

check "a card expiring after the 5th birthday does not lengthen the certificate"
issue "$LEAP" sign "$TMP/leap-sign.pem" --card-expiry 2035-12-31 >/dev/null
cp "$TMP/stdout" "$TMP/leap-sign.json"
expect_not_after "$TMP/leap-sign.pem" "$TMP/leap-sign.json" 2031-02-28T23:59:59+09:00

check "status: valid → revoked keyCompromise after jpki cert revoke"
ok cert revoke "$SIGN_SERIAL" --reason keyCompromise --json
expect_eq "revoke --json status" "$(json_get status)" revoked
ok cert show "$SIGN_SERIAL" --json
json_expect "after revoke" status=revoked reason=keyCompromise
ok cert show "$AUTH_SERIAL" --json
expect_eq "the other certificate's status" "$(json_get status)" valid

check "status: the last second of validity is valid, the next one expired"
JPKI_NOW=2030-05-15T23:59:59+09:00 ok cert show "$AUTH_SERIAL" --json
expect_eq "status at notAfter" "$(json_get status)" valid
JPKI_NOW=2030-05-16T00:00:00+09:00 ok cert show "$AUTH_SERIAL" --json
expect_eq "status after notAfter" "$(json_get status)" expired

check "jpki cert list --resident lists both certificates with their status"
ok cert list --resident "$TARO" --json
expect_eq "certificates of resident $TARO" "$(json_len)" 2
list=$(cat "$TMP/stdout")
case $list in *"$SIGN_SERIAL"*) ;; *) fail "cert list lacks $SIGN_SERIAL" ;; esac
case $list in *"$AUTH_SERIAL"*) ;; *) fail "cert list lacks $AUTH_SERIAL" ;; esac

check "the audit chain verifies after the issuances and the revocation"
expect_audit_ok "after issuance"

done_ok
