#!/usr/bin/env bash
# test_ca_generations.sh: CA generations and rollover (jpki ca rollover),
# travelling with JPKI_NOW from 2026 to 2046.  A CA certificate lives 10
# years and a certificate up to 5, never past its CA's: without a rollover
# a delivery on the holder's birthday fails from 5 years after `jpki init`
# (in 2035 for a directory made in 2030, here in 2031), and `jpki ca show`
# says so beforehand.  With rollovers (2031, 2036, 2041) deliveries,
# renewals (R9) and operator issuance (R8) keep giving full 5-year
# certificates.  Relying parties: a generation-1 certificate verifies for
# one that trusts only generation 2 with OldWithNew as an untrusted
# intermediate, a generation-2 one for one that trusts only generation 1
# with NewWithOld (openssl verify; GnuTLS certtool in test_ca_rollover.sh);
# OCSP (openssl ocsp
# against jpki serve) and CRLs (openssl verify -crl_check, from the CDP
# URLs the certificates carry) answer for every generation's live
# certificates, each with its own responder and CRL files.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/counter_lib.sh"
. "$(dirname "$0")/serve_lib.sh"   # real time for serve_lib; we set JPKI_NOW

# Answers are dated at JPKI_NOW; openssl checks their thisUpdate against
# the real clock, so give it room (the responder chain is checked -attime).
LATE=(-validity_period 1000000000)
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT

at 2026-04-01T10:00:00+09:00
init_args   # keys in a fresh token with JPKI_TEST_PKCS11=1
ok init --data "$DATA" --base-url "$BASE" "${INIT_ARGS[@]}"
# Four CRL shards, not 64: every `crl generate` below publishes every
# shard of every generation in service.
sed -i 's/^crl_shards = .*/crl_shards = 4/' "$DATA/config"

# person NUMBER BIRTH: a new resident; prints the id.
person() {
	add_resident "$(individual_number "$1")" "山田 太郎" "東京都清瀬市中里五丁目842番地" "$2" male
}

# full_5y WHAT DATE: both certificates of the last delivery (receipt) end on
# DATE (the 5th birthday after a delivery on the birthday: the full 5 years).
full_5y() {
	json_expect "$1" receipt.issued.0.not_after="$2T23:59:59+09:00" \
		receipt.issued.1.not_after="$2T23:59:59+09:00"
}

# certs_of CARD NAME: the card's certificates as $TMP/NAME-sign.pem and
# $TMP/NAME-auth.pem.
certs_of() {
	local dir=$TMP/$2.d
	mkdir -p "$dir"
	"$JPKI" card certs --card "$1" --out "$dir" --sign >/dev/null 2>&1 || fail "jpki card certs $1"
	for t in sign auth; do
		openssl x509 -inform DER -in "$dir/$t.der" -out "$TMP/$2-$t.pem" || fail "$2 $t certificate"
	done
}

# export_cas: every generation's certificates into $TMP/ca (fresh).
export_cas() {
	rm -rf "$TMP/ca"
	ok ca export --out "$TMP/ca" --json
}

# verifies WHAT CERT TRUSTED [UNTRUSTED]: openssl verify at JPKI_NOW.
verifies() {
	local untrusted=()
	[ -n "${4:-}" ] && untrusted=(-untrusted "$4")
	openssl verify -attime "$(epoch "$JPKI_NOW")" -CAfile "$3" "${untrusted[@]}" "$2" \
		>"$TMP/v" 2>&1 || fail "$1: $(cat "$TMP/v")"
}
does_not_verify() {
	local untrusted=()
	[ -n "${4:-}" ] && untrusted=(-untrusted "$4")
	if openssl verify -attime "$(epoch "$JPKI_NOW")" -CAfile "$3" "${untrusted[@]}" "$2" \
		>"$TMP/v" 2>&1; then fail "$1: verifies: $(cat "$TMP/v")"; fi
}

# ocsp_status CERT ISSUER: openssl ocsp against jpki serve, the response
# verified under ISSUER at JPKI_NOW; prints good / revoked / unknown.
ocsp_status() {
	openssl ocsp -issuer "$2" -cert "$1" -url "$BASE/ocsp/sign" -CAfile "$2" \
		-attime "$(epoch "$JPKI_NOW")" "${LATE[@]}" >"$TMP/o" 2>&1 ||
		fail "openssl ocsp $1: $(cat "$TMP/o")"
	grep -q 'Response verify OK' "$TMP/o" || fail "OCSP response for $1 does not verify: $(cat "$TMP/o")"
	sed -n "s|^$1: \([a-z]*\)\$|\1|p" "$TMP/o"
}

# crl_verify WHAT CERT CA WANT: the CRL at the certificate's own CDP URL
# (from jpki serve), signed by CA, says WANT (ok | revoked).
crl_verify() {
	local uri
	uri=$(openssl x509 -in "$2" -noout -ext crlDistributionPoints | sed -n 's/^ *URI://p')
	curl -sf -o "$TMP/crl.der" "$uri" || fail "$1: no CRL at $uri"
	openssl crl -inform DER -in "$TMP/crl.der" -out "$TMP/crl.pem" || fail "$1: CRL at $uri"
	openssl crl -in "$TMP/crl.pem" -CAfile "$3" -noout >/dev/null 2>&1 || fail "$1: CRL at $uri is not signed by $3"
	if openssl verify -attime "$(epoch "$JPKI_NOW")" -crl_check -CAfile "$3" -CRLfile "$TMP/crl.pem" \
		"$2" >"$TMP/v" 2>&1; then
		[ "$4" = ok ] || fail "$1: not revoked by the CRL at $uri"
	else
		[ "$4" = revoked ] && grep -q 'certificate revoked' "$TMP/v" ||
			fail "$1: $(cat "$TMP/v")"
	fi
}

# serve_at: jpki serve at JPKI_NOW (it reads the certificates at start).
serve_at() {
	stop_server
	start_server --listen "127.0.0.1:$PORT"
}

check "2026: generation 1 of each CA; a delivery on the birthday gives 5 years"
A=$(person 10000000001 1980-04-01)
deliver "$A" "$TMP/a.img"
full_5y "2026" 2031-04-01
ok ca show --json
json_expect "show" sign.generations.0.generation=1 sign.generations.0.issuing=true \
	sign.generations.0.roll_over_by=2031-03-31 auth.generations.0.live=1 warnings=[]
expect_eq "generations" "$(json_get sign.generations | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))')" 1

check "2028: a generation-1 certificate that outlives the rollover"
at 2028-06-01T10:00:00+09:00
G=$(person 10000000002 1985-06-01)
deliver "$G" "$TMP/g.img"
full_5y "2028" 2033-06-01
certs_of "$TMP/g.img" g
G_AUTH=$(json_get receipt.issued.1.serial)

check "2030-12: no warning yet; 2031-01-15: ca show warns: roll over by 2031-03-31"
at 2030-12-01T10:00:00+09:00
ok ca show --json
json_expect "no warning" warnings=[]
at 2031-01-15T10:00:00+09:00
ok ca show --json
json_expect "due" sign.generations.0.roll_over_by=2031-03-31
json_get sign.generations.0.warning | grep -q 'roll over by 2031-03-31 (in 76 days)' ||
	fail "no roll-over warning: $(json_get sign.generations.0.warning)"
ok ca show
grep -q '^warning: auth CA generation 1: roll over by 2031-03-31' "$TMP/stdout" || fail "text: $OUT"

check "2031-04-01 without a rollover: today's failure (cut short by the CA's expiry) and ca show says so"
at 2031-04-01T10:00:00+09:00
B=$(person 10000000003 1990-04-01)
expect_unchanged 2 "notAfter is after the CA certificate's notAfter" counter deliver --clerk "$CLERK" \
	--resident "$B" --out "$TMP/b.img"
ok ca show
grep -q "^warning: sign CA generation 1: a certificate issued today would be cut short by the CA's expiry on 2036-03-31" \
	"$TMP/stdout" || fail "no cut-short warning: $OUT"

check "rollover of both CAs: generation 2, same subject, new key; the link certificates"
ok ca rollover --type sign --json
json_expect "rollover" type=sign generation=2 previous=1 not_after=2041-03-31T23:59:59+09:00
ok ca rollover --type auth --json
json_expect "rollover" type=auth generation=2
export_cas
for t in sign auth; do
	expect_eq "$t subject" "$(openssl x509 -in "$TMP/ca/$t-ca.gen2.pem" -noout -subject)" \
		"$(openssl x509 -in "$TMP/ca/$t-ca.pem" -noout -subject)"
	k1=$(openssl x509 -in "$TMP/ca/$t-ca.pem" -noout -pubkey)
	k2=$(openssl x509 -in "$TMP/ca/$t-ca.gen2.pem" -noout -pubkey)
	[ "$k1" != "$k2" ] || fail "$t: generation 2 has generation 1's key"
	# OldWithNew certifies the old key under the new one; NewWithOld the
	# other way round (RFC 4210 4.4); the AKI names the signing key.
	expect_eq "$t OldWithNew key" "$(openssl x509 -in "$TMP/ca/$t-link-old-with-new.gen2.pem" -noout -pubkey)" "$k1"
	expect_eq "$t NewWithOld key" "$(openssl x509 -in "$TMP/ca/$t-link-new-with-old.gen2.pem" -noout -pubkey)" "$k2"
	openssl verify -partial_chain -check_ss_sig -attime "$(epoch "$JPKI_NOW")" \
		-CAfile "$TMP/ca/$t-ca.gen2.pem" "$TMP/ca/$t-link-old-with-new.gen2.pem" >/dev/null 2>&1 ||
		fail "$t OldWithNew is not signed by generation 2"
	openssl verify -partial_chain -attime "$(epoch "$JPKI_NOW")" \
		-CAfile "$TMP/ca/$t-ca.pem" "$TMP/ca/$t-link-new-with-old.gen2.pem" >/dev/null 2>&1 ||
		fail "$t NewWithOld is not signed by generation 1"
	ski2=$(openssl x509 -in "$TMP/ca/$t-ca.gen2.pem" -noout -ext subjectKeyIdentifier | sed -n 2p | tr -d ' ')
	aki=$(openssl x509 -in "$TMP/ca/$t-link-old-with-new.gen2.pem" -noout -ext authorityKeyIdentifier | sed -n 2p | tr -d ' ' | sed 's/^keyid://')
	expect_eq "$t OldWithNew AKI" "$aki" "$ski2"
done
if [ "${JPKI_TEST_PKCS11:-0}" = 1 ]; then
	# A token-backed directory rolls over inside its token: the record
	# names each generation's keys, and no key file is made.
	for k in sign-ca.gen2 sign-ocsp.gen2 auth-ca.gen2 auth-ocsp.gen2; do
		grep -q "^key $k = [0-9a-f]*$" "$DATA/ca/pkcs11" || fail "no $k in the token record: $(cat "$DATA/ca/pkcs11")"
	done
	! ls "$DATA"/ca/*.key >/dev/null 2>&1 || fail "key files in a token-backed directory: $(ls "$DATA"/ca/*.key)"
fi
ok ca show --json
json_expect "keys of generation 2" keys.2.key=sign-ca.gen2 keys.2.generation=2 keys.3.key=sign-ocsp.gen2 keys.6.key=auth-ca.gen2 keys.8.key=card-issuer
"$PYTHON" -c 'import json,sys
d = json.load(open(sys.argv[1]))
k = d["keys"]
assert len(k) == 9, len(k)
assert all(x["spki_sha256"] for x in k), k
assert len({x["spki_sha256"] for x in k}) == 9, "a key shown twice"' "$TMP/stdout" || fail "ca show keys: $OUT"
json_expect "after" warnings=[] sign.generations.1.issuing=true sign.generations.0.issuing=false \
	sign.generations.0.in_service=true sign.generations.1.roll_over_by=2036-03-31

check "deliveries give full 5-year certificates again, from generation 2, whose URLs name it"
deliver "$B" "$TMP/b.img"
full_5y "2031" 2036-04-01
certs_of "$TMP/b.img" b
B_AUTH=$(json_get receipt.issued.1.serial)
openssl x509 -in "$TMP/b-sign.pem" -noout -ext authorityInfoAccess,crlDistributionPoints >"$TMP/ext"
grep -q "CA Issuers - URI:$BASE/ca/sign.gen2.der" "$TMP/ext" || fail "caIssuers: $(cat "$TMP/ext")"
grep -q "URI:$BASE/crl/sign.gen2/[0-9]*.crl" "$TMP/ext" || fail "CDP: $(cat "$TMP/ext")"
grep -q "OCSP - URI:$BASE/ocsp/sign" "$TMP/ext" || fail "OCSP: $(cat "$TMP/ext")"
openssl x509 -in "$TMP/g-sign.pem" -noout -ext authorityInfoAccess | grep -q "URI:$BASE/ca/sign.der" ||
	fail "generation 1 keeps its URLs"

check "R9: a generation-1 certificate renewed from generation 2, for the full term"
counter renew --card "$TMP/a.img" --type both
json_expect "renewal" receipt.issued.0.not_after=2036-04-01T23:59:59+09:00 \
	receipt.issued.1.not_after=2036-04-01T23:59:59+09:00
certs_of "$TMP/a.img" a2
verifies "renewed, under generation 2" "$TMP/a2-sign.pem" "$TMP/ca/sign-ca.gen2.pem"
openssl x509 -inform DER -in "$TMP/a2.d/sign-ca.der" -out "$TMP/a2-sign-ca.pem" || fail "the card's CA certificate"
expect_eq "the card's CA certificate: generation 2's" "$(openssl x509 -in "$TMP/a2-sign-ca.pem" -noout -pubkey)" \
	"$(openssl x509 -in "$TMP/ca/sign-ca.gen2.pem" -noout -pubkey)"

check "relying parties: generation 1 under generation 2 (OldWithNew), generation 2 under generation 1 (NewWithOld)"
at 2032-06-01T10:00:00+09:00
for t in sign auth; do
	verifies "g $t: trust generation 2 + OldWithNew" "$TMP/g-$t.pem" "$TMP/ca/$t-ca.gen2.pem" \
		"$TMP/ca/$t-link-old-with-new.gen2.pem"
	does_not_verify "g $t: trust generation 2 alone" "$TMP/g-$t.pem" "$TMP/ca/$t-ca.gen2.pem"
	verifies "b $t: trust generation 1 + NewWithOld" "$TMP/b-$t.pem" "$TMP/ca/$t-ca.pem" \
		"$TMP/ca/$t-link-new-with-old.gen2.pem"
	does_not_verify "b $t: trust generation 1 alone" "$TMP/b-$t.pem" "$TMP/ca/$t-ca.pem"
	verifies "b $t: trust generation 2" "$TMP/b-$t.pem" "$TMP/ca/$t-ca.gen2.pem"
	# A link certificate is no shortcut around the right generation.
	does_not_verify "g $t: trust generation 2 + NewWithOld" "$TMP/g-$t.pem" "$TMP/ca/$t-ca.gen2.pem" \
		"$TMP/ca/$t-link-new-with-old.gen2.pem"
done

check "2032: responder certificates renewed; OCSP and CRLs answer for both generations"
ok ca renew-responders --json
json_expect "renewed" renewed.0.type=sign renewed.0.generation=1 renewed.0.not_after=2033-05-31T23:59:59+09:00
ok cert revoke "$G_AUTH" --reason keyCompromise
ok cert revoke "$B_AUTH" --reason affiliationChanged
ok crl generate --json
[ -f "$DATA/crl/sign/full.crl" ] && [ -f "$DATA/crl/auth.gen2/full.crl" ] || fail "CRL files per generation"
serve_at
export_cas
expect_eq "OCSP g sign (gen 1)" "$(ocsp_status "$TMP/g-sign.pem" "$TMP/ca/sign-ca.pem")" good
expect_eq "OCSP b sign (gen 2)" "$(ocsp_status "$TMP/b-sign.pem" "$TMP/ca/sign-ca.gen2.pem")" good
expect_eq "OCSP g auth (gen 1)" "$(ocsp_status "$TMP/g-auth.pem" "$TMP/ca/auth-ca.pem")" revoked
expect_eq "OCSP b auth (gen 2)" "$(ocsp_status "$TMP/b-auth.pem" "$TMP/ca/auth-ca.gen2.pem")" revoked
expect_eq "a generation-1 certificate asked of generation 2" \
	"$(ocsp_status "$TMP/g-sign.pem" "$TMP/ca/sign-ca.gen2.pem")" unknown
crl_verify "g sign" "$TMP/g-sign.pem" "$TMP/ca/sign-ca.pem" ok
crl_verify "g auth" "$TMP/g-auth.pem" "$TMP/ca/auth-ca.pem" revoked
crl_verify "b sign" "$TMP/b-sign.pem" "$TMP/ca/sign-ca.gen2.pem" ok
crl_verify "b auth" "$TMP/b-auth.pem" "$TMP/ca/auth-ca.gen2.pem" revoked
curl -sf "$BASE/ca/sign.gen2.der" | openssl x509 -inform DER -noout -pubkey >"$TMP/served" ||
	fail "no CA certificate at $BASE/ca/sign.gen2.der"
expect_eq "served generation 2" "$(cat "$TMP/served")" "$(openssl x509 -in "$TMP/ca/sign-ca.gen2.pem" -noout -pubkey)"
for path in /ca/sign.gen3.der /ca/sign.gen0.der /ca/sign.gen1.der /ca/sign.gen02.der /ca/sign.gen.der \
	/ca/sign.gen99999999999.der /crl/sign.gen3/full.crl /crl/sign.gen2/../../jpki.db /crl/sign.gen/full.crl; do
	code=$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "$BASE$path")
	expect_eq "GET $path" "$code" 404
done
stop_server

check "2035 (the failure of a directory made in 2030): deliveries and R8 issuance give 5 years"
at 2035-04-01T10:00:00+09:00
C=$(person 10000000004 2000-04-01)
deliver "$C" "$TMP/c.img"
full_5y "2035" 2040-04-01
D=$(person 10000000005 1995-04-01)
ok ca issue --resident "$D" --type sign --pubkey "$(pubkey d)" --out "$TMP/d-sign.pem" --json
json_expect "R8" not_after=2040-04-01T23:59:59+09:00
certs_of "$TMP/c.img" c

check "2036: second rollover; generation 1 retires when its last certificate has expired"
at 2036-03-01T10:00:00+09:00
ok ca rollover --type sign
ok ca rollover --type auth
E=$(person 10000000006 1970-03-01)
deliver "$E" "$TMP/e.img"
full_5y "2036" 2041-03-01
certs_of "$TMP/e.img" e
export_cas
ok ca show --json
json_expect "generation 1 retired" sign.generations.0.in_service=false sign.generations.1.in_service=true \
	sign.generations.2.issuing=true sign.generations.1.live=4
ok crl generate
grep -q 'sign generation 2 full CRL' "$TMP/stdout" && grep -q 'sign generation 3 full CRL' "$TMP/stdout" ||
	fail "CRLs of generations 2 and 3: $OUT"
grep -q '^sign full CRL' "$TMP/stdout" && fail "retired generation 1 still publishes: $OUT"
verifies "e (gen 3): trust generation 2 + NewWithOld" "$TMP/e-sign.pem" "$TMP/ca/sign-ca.gen2.pem" \
	"$TMP/ca/sign-link-new-with-old.gen3.pem"
verifies "c (gen 2): trust generation 3 + OldWithNew" "$TMP/c-sign.pem" "$TMP/ca/sign-ca.gen3.pem" \
	"$TMP/ca/sign-link-old-with-new.gen3.pem"
ok ca renew-responders
serve_at
expect_eq "OCSP c (gen 2)" "$(ocsp_status "$TMP/c-sign.pem" "$TMP/ca/sign-ca.gen2.pem")" good
expect_eq "OCSP e (gen 3)" "$(ocsp_status "$TMP/e-sign.pem" "$TMP/ca/sign-ca.gen3.pem")" good
crl_verify "c auth" "$TMP/c-auth.pem" "$TMP/ca/auth-ca.gen2.pem" ok
crl_verify "e auth" "$TMP/e-auth.pem" "$TMP/ca/auth-ca.gen3.pem" ok
stop_server

check "2041: a delivery just before the third rollover, which ca show asks for"
at 2041-01-20T10:00:00+09:00
H=$(person 10000000007 1975-01-20)
deliver "$H" "$TMP/h.img"
full_5y "2041" 2046-01-20
certs_of "$TMP/h.img" h
at 2041-02-01T10:00:00+09:00
ok ca show --json
json_get sign.generations.2.warning | grep -q 'roll over by 2041-02-28' || fail "no warning in 2041"
ok ca rollover --type sign
ok ca rollover --type auth

check "2046: full 5 years from generation 4; generations 3 and 4 answer for their live certificates"
at 2046-01-15T10:00:00+09:00
F=$(person 10000000008 1960-01-15)
deliver "$F" "$TMP/f.img"
full_5y "2046" 2051-01-15
certs_of "$TMP/f.img" f
export_cas
ok ca show --json
json_expect "2046" sign.generations.3.issuing=true sign.generations.2.in_service=true sign.generations.2.live=1 \
	sign.generations.1.in_service=false sign.generations.3.roll_over_by=2046-01-31
json_get sign.generations.3.warning | grep -q 'roll over by 2046-01-31 (in 17 days)' ||
	fail "no warning in 2046: $(json_get sign.generations.3.warning)"
verifies "h (gen 3): trust generation 4 + OldWithNew" "$TMP/h-auth.pem" "$TMP/ca/auth-ca.gen4.pem" \
	"$TMP/ca/auth-link-old-with-new.gen4.pem"
verifies "f (gen 4): trust generation 3 + NewWithOld" "$TMP/f-auth.pem" "$TMP/ca/auth-ca.gen3.pem" \
	"$TMP/ca/auth-link-new-with-old.gen4.pem"
ok ca renew-responders
ok crl generate
serve_at
expect_eq "OCSP h (gen 3)" "$(ocsp_status "$TMP/h-sign.pem" "$TMP/ca/sign-ca.gen3.pem")" good
expect_eq "OCSP f (gen 4)" "$(ocsp_status "$TMP/f-sign.pem" "$TMP/ca/sign-ca.gen4.pem")" good
crl_verify "h sign" "$TMP/h-sign.pem" "$TMP/ca/sign-ca.gen3.pem" ok
crl_verify "f sign" "$TMP/f-sign.pem" "$TMP/ca/sign-ca.gen4.pem" ok
stop_server
expect_audit_ok "after 20 years"
expect_eq "rollovers audited" "$(sql "SELECT COUNT(*) FROM audit WHERE action = 'ca.rollover'")" 6

done_ok
