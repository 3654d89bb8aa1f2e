#!/usr/bin/env bash
# test_ca_profile.sh: our two CA certificates have the profile of the real
# J-LIS CA certificates (reference/jpki-ca/*.pem, generations 2015 and 2023),
# compared field by field through tests/tools/cert_profile: extension OIDs
# in the same order with the same criticality, subject and issuer RDN types,
# order and string types (C is a PrintableString), sha256WithRSAEncryption,
# RSA-2048 with e = 65537, notAfter at 14:59:59Z (23:59:59 JST), 10 years.
# Also: the delegated OCSP responder certificates (RFC 6960 4.2.2.2).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PROFILE=$JPKI_BUILD/cert_profile
[ -x "$PROFILE" ] || fail "$PROFILE is missing (build target cert_profile)"
REF=$JPKI_SHARED/reference/jpki-ca
ls "$REF"/sign_ca_*.pem "$REF"/auth_ca_*.pem >/dev/null 2>&1 ||
	fail "no reference CA certificates in $REF"

# Run at the real clock's time of day so that a notAfter at 14:59:59Z is
# not an accident of a fixed JPKI_NOW.
unset JPKI_NOW

check "jpki init creates the data directory; CA keys are mode 0600"
init_data
for k in "$DATA"/ca/*.key; do
	mode=$(stat -c %a "$k")
	[ "$mode" = 600 ] || fail "$k has mode $mode, want 600"
done

check "jpki init refuses a data directory that is already initialised, and changes nothing in it"
( cd "$DATA" && sha256sum config ca/* ) >"$TMP/before.sums"
db_snapshot "$TMP/before.sql"
expect_status 1 init --data "$DATA"
expect_one_error_line 'already'
( cd "$DATA" && sha256sum config ca/* ) >"$TMP/after.sums"
cmp -s "$TMP/before.sums" "$TMP/after.sums" || fail "a refused init changed the config or the CA files"
expect_store_unchanged "$TMP/before.sql" "a refused init"

check "jpki init with a bad municipality or key size refuses (exit 2) and creates nothing"
expect_status 2 init --data "$TMP/bad1" --municipality 999999
expect_one_error_line 'municipality'
[ ! -e "$TMP/bad1" ] || fail "a refused init left $TMP/bad1 behind"
expect_status 2 init --data "$TMP/bad2" --key-bits 1024
expect_one_error_line 'bits'
[ ! -e "$TMP/bad2" ] || fail "a refused init left $TMP/bad2 behind"

check "jpki ca export writes the four certificates as PEM"
ok ca export --out "$TMP/export" --json
for f in sign-ca auth-ca sign-ocsp auth-ocsp; do
	openssl x509 -in "$TMP/export/$f.pem" -noout 2>/dev/null ||
		fail "$TMP/export/$f.pem is not a PEM certificate"
done

profile() {
	"$PROFILE" "$1" >"$2" || fail "cert_profile $1 failed"
}

# compare OURS REF WHAT: every profile line must be equal, except the
# attributes inside the SubjectAltName DirName, which are checked apart
# (the real DirName has two OUs of J-LIS's own service names after C and O).
compare() {
	local ours=$1 ref=$2 what=$3
	profile "$ours" "$TMP/ours.profile"
	profile "$ref" "$TMP/ref.profile"
	if ! diff <(grep -v '^san 0 dirName [0-9]' "$TMP/ref.profile") \
		<(grep -v '^san 0 dirName [0-9]' "$TMP/ours.profile") >"$TMP/diff"; then
		cat "$TMP/diff" >&2
		fail "$what: profile differs from $(basename "$ref") (< real, > ours)"
	fi
	# docs/profile.md: SubjectAltName DirName C=JP (PrintableString),
	# O=<service name> (UTF8String) first, as in the real certificates.
	expect_eq "$what: SubjectAltName DirName starts C, O" \
		"$(grep '^san 0 dirName [01] ' "$TMP/ours.profile" | tr '\n' ';')" \
		"$(grep '^san 0 dirName [01] ' "$TMP/ref.profile" | tr '\n' ';')"
	if ! cmp -s <(grep '^san 0 dirName [0-9]' "$TMP/ref.profile") \
		<(grep '^san 0 dirName [0-9]' "$TMP/ours.profile"); then
		echo "$TEST_NAME: note: $what: SubjectAltName DirName has" \
			"$(grep -c '^san 0 dirName [0-9]' "$TMP/ours.profile") attributes," \
			"the real one $(grep -c '^san 0 dirName [0-9]' "$TMP/ref.profile")" \
			"(docs/profile.md: the service OUs are optional)"
	fi
}

for kind in sign auth; do
	for ref in "$REF/${kind}_ca_"*.pem; do
		check "$kind CA matches $(basename "$ref") field by field"
		compare "$TMP/export/$kind-ca.pem" "$ref" "$kind CA"
	done
	check "$kind CA: the items the acceptance names, each stated"
	p=$TMP/ours.profile
	grep -qx 'signature RSA-SHA256 params=NULL' "$p" || fail "$kind CA: not sha256WithRSAEncryption"
	grep -qx 'key rsaEncryption bits=2048 e=65537' "$p" || fail "$kind CA: not RSA-2048, e=65537"
	grep -qx 'subject 0 2.5.4.6 PRINTABLESTRING' "$p" || fail "$kind CA: C is not a PrintableString"
	grep -qx 'validity notAfter-utc-time 14:59:59Z' "$p" || fail "$kind CA: notAfter is not 14:59:59Z (23:59:59 JST)"
	grep -qx 'validity-years 10' "$p" || fail "$kind CA: not valid 10 years"
	grep -qx 'ext 2.5.29.15 critical=1 keyUsage' "$p" || fail "$kind CA: KeyUsage not critical"
	grep -qx 'ext 2.5.29.19 critical=1 basicConstraints' "$p" || fail "$kind CA: BasicConstraints not critical"
	grep -qx 'self-signed 1' "$p" || fail "$kind CA: not self-signed"
done

check "the tool sees a difference when there is one (a CA cert against an OCSP cert)"
profile "$TMP/export/sign-ca.pem" "$TMP/a"
profile "$TMP/export/sign-ocsp.pem" "$TMP/b"
if cmp -s "$TMP/a" "$TMP/b"; then fail "cert_profile prints the same for a CA and a responder"; fi

check "jpki ca show --json agrees with the exported certificates"
ok ca show --json
for kind in sign auth; do
	want=$(openssl x509 -in "$TMP/export/$kind-ca.pem" -noout -serial | sed 's/^serial=//')
	expect_eq "$kind CA serial in ca show" "$(json_get "$kind.serial")" "$want"
	want=$(openssl x509 -in "$TMP/export/$kind-ocsp.pem" -noout -serial | sed 's/^serial=//')
	expect_eq "$kind OCSP serial in ca show" "$(json_get "$kind.ocsp_responder.serial")" "$want"
done

for kind in sign auth; do
	check "$kind OCSP responder: openssl verify -purpose ocsphelper, EKU OCSPSigning, ocsp-nocheck (RFC 6960 4.2.2.2)"
	openssl verify -purpose ocsphelper -CAfile "$TMP/export/$kind-ca.pem" \
		"$TMP/export/$kind-ocsp.pem" >"$TMP/verify" 2>&1 ||
		fail "$kind OCSP responder: openssl verify: $(cat "$TMP/verify")"
	profile "$TMP/export/$kind-ocsp.pem" "$TMP/ocsp.profile"
	p=$TMP/ocsp.profile
	grep -qx 'eku 0 1.3.6.1.5.5.7.3.9' "$p" || fail "$kind OCSP: no id-kp-OCSPSigning"
	[ "$(grep -c '^eku ' "$p")" -eq 1 ] || fail "$kind OCSP: EKU has more than OCSPSigning"
	grep -q '^ext 1.3.6.1.5.5.7.48.1.5 critical=0' "$p" || fail "$kind OCSP: no id-pkix-ocsp-nocheck"
	grep -qx 'ocsp-nocheck null=1' "$p" || fail "$kind OCSP: ocsp-nocheck is not NULL"
	grep -qx 'keyusage digitalSignature' "$p" || fail "$kind OCSP: KeyUsage is not digitalSignature"
	grep -qx 'key rsaEncryption bits=2048 e=65537' "$p" || fail "$kind OCSP: not RSA-2048"
	grep -qx 'aki keyid=1 issuer=0 serial=0' "$p" || fail "$kind OCSP: no AKI keyIdentifier"
	aki=$(openssl x509 -in "$TMP/export/$kind-ocsp.pem" -noout -ext authorityKeyIdentifier | sed -n '2p' | tr -d ' ' | sed 's/^keyid://')
	ski=$(openssl x509 -in "$TMP/export/$kind-ca.pem" -noout -ext subjectKeyIdentifier | sed -n '2p' | tr -d ' ')
	[ -n "$ski" ] || fail "$kind CA: no SubjectKeyIdentifier"
	expect_eq "$kind OCSP: AKI is the CA's SKI" "$aki" "$ski"
done

check "a responder does not verify under the other CA"
if openssl verify -purpose ocsphelper -CAfile "$TMP/export/auth-ca.pem" \
	"$TMP/export/sign-ocsp.pem" >/dev/null 2>&1; then
	fail "the signing CA's responder verifies under the authentication CA"
fi

done_ok
