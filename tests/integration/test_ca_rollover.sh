#!/usr/bin/env bash
# test_ca_rollover.sh: `jpki ca rollover` around the edges.  A data
# directory made before CA generations (tests/data/datadir-v3: store schema
# 3, its files and keys) opens as generation 1 of both CAs, re-keys nothing
# and keeps its URLs, CRLs and revocations; bad usage and a missing CA key
# are refused in one line with nothing changed; a rollover killed before it
# is recorded never happened (the CA goes on issuing from generation 1) and
# the next one cleans up after it.  GnuTLS certtool follows the link
# certificates as openssl does.  (The 20-year journey is
# interop/test_ca_generations.sh.)  In the suite's PostgreSQL run the
# fixture (a SQLite dump: schema 3 exists only as SQLite) is upgraded on
# SQLite, then copied to a PostgreSQL database with `jpki store copy`, and
# everything after runs there.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter_lib.sh"
FIXTURE=$(cd "$(dirname "$0")/../data/datadir-v3" && pwd)

# generations: every (ca.gen) of the store, space-separated.
generations() {
	sql 'SELECT ca, gen FROM ca_generations ORDER BY ca, gen' | tr '|' . | paste -sd' ' -
}

# ca_files: a listing of <data>/ca with each file's SHA-256.
ca_files() {
	(cd "$DATA/ca" && sha256sum -- * | sort -k2)
}

check "a data directory from before generations: the first read-write command upgrades it"
mkdir -p "$DATA/cards"
cp -r "$FIXTURE/ca" "$FIXTURE/config" "$FIXTURE/issuer-master.key" "$DATA/"
chmod 600 "$DATA"/ca/*.key "$DATA/issuer-master.key"
sqlite3 "$DATA/jpki.db" <"$FIXTURE/jpki.sql"
expect_eq "old schema" "$(sql 'PRAGMA user_version')" 3
ca_files >"$TMP/ca.before"
at 2026-06-01T10:00:00+09:00
ok crl generate
[ -f "$DATA/crl/sign/full.crl" ] && [ -f "$DATA/crl/auth/full.crl" ] || fail "generation 1's CRLs: $OUT"
[ -d "$DATA/crl/sign.gen2" ] && fail "a CRL directory for a generation that does not exist"
ca_files >"$TMP/ca.after"
cmp -s "$TMP/ca.before" "$TMP/ca.after" || fail "keys or certificates changed: $(diff "$TMP/ca.before" "$TMP/ca.after")"
expect_eq "certificates of generation 1" "$(sql 'SELECT COUNT(*) FROM certificates WHERE gen = 1')" 2
expect_eq "revocations of generation 1" "$(sql 'SELECT COUNT(*) FROM revocations WHERE gen = 1')" 1
expect_eq "generations" "$(generations)" "1.1 2.1"
ok ca show --json
json_expect "show" sign.generations.0.generation=1 sign.generations.0.issuing=true sign.generations.0.live=1 \
	auth.generations.0.live=0 sign.generations.0.in_service=true warnings=[]
openssl crl -inform DER -in "$DATA/crl/auth/full.crl" -out "$TMP/auth.crl"
openssl verify -attime "$(epoch "$JPKI_NOW")" -crl_check -CAfile "$DATA/ca/auth-ca.pem" -CRLfile "$TMP/auth.crl" \
	"$FIXTURE/auth-cert-revoked.pem" >"$TMP/v" 2>&1 && fail "the old revocation is not in the CRL"
grep -q 'certificate revoked' "$TMP/v" || fail "auth CRL: $(cat "$TMP/v")"
expect_audit_ok "upgraded"
if [ -n "${JPKI_TEST_PG:-}" ]; then
	echo "PostgreSQL run: the schema-3 upgrade above ran on SQLite (the fixture is a SQLite dump); the store is copied to PostgreSQL for the rest"
	dst=$(sh "$JPKI_SOURCE/tests/support/pg_cluster.sh" createdb "$JPKI_TEST_PG" "rollover_$(date +%s%N)")
	ok store copy --from "sqlite:$DATA/jpki.db" --to "$dst" --json
	json_expect "copy" verified=true
	expect_eq "generations copied" "$(json_get tables.ca_generations)" 2
	sed -i "s|^database = .*|database = $dst|" "$DATA/config"
	on_postgresql || fail "the data directory is not on PostgreSQL: $(db_url)"
	expect_eq "generations on PostgreSQL" "$(generations)" "1.1 2.1"
	expect_eq "revocations of generation 1" "$(sql 'SELECT COUNT(*) FROM revocations WHERE gen = 1')" 1
fi

check "bad usage: one line, exit 2, nothing changed"
expect_unchanged 2 '^jpki: usage: rollover needs --type sign\|auth$' ca rollover
expect_unchanged 2 '^jpki: usage: --type: sign or auth$' ca rollover --type both
ca_files >"$TMP/ca.after"
cmp -s "$TMP/ca.before" "$TMP/ca.after" || fail "files changed by a refusal"

check "without the CA key of generation 1 a rollover is refused before anything is made"
mv "$DATA/ca/sign-ca.key" "$TMP/sign-ca.key"
expect_unchanged 3 'sign-ca.key' ca rollover --type sign
mv "$TMP/sign-ca.key" "$DATA/ca/sign-ca.key"
ca_files >"$TMP/ca.after"
cmp -s "$TMP/ca.before" "$TMP/ca.after" || fail "files changed by a refused rollover"

check "a rollover killed before it is recorded never happened; the next one cleans up"
if grep -qa JPKI_ROLLOVER_CRASH "${JPKI_REAL:-$JPKI}"; then
	JPKI_ROLLOVER_CRASH=before-record expect_status 137 ca rollover --type sign
	[ -f "$DATA/ca/sign-ca.gen2.key" ] && [ -f "$DATA/ca/sign-ca.gen2.pem" ] ||
		fail "the killed rollover wrote no files (the hook is in the wrong place)"
	expect_eq "nothing recorded" "$(sql 'SELECT MAX(gen) FROM ca_generations WHERE ca = 1')" 1
	ok ca show --json
	json_expect "still generation 1" sign.generations.0.issuing=true
	expect_eq "one generation" "$(json_get sign.generations | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))')" 1
	id=$(add_resident "$(individual_number 20000000001)" "山田 一郎" "東京都清瀬市中里五丁目842番地" 1990-06-01 male)
	ok ca issue --resident "$id" --type sign --pubkey "$(pubkey a)" --out "$TMP/a.pem"
	openssl verify -attime "$(epoch "$JPKI_NOW")" -CAfile "$DATA/ca/sign-ca.pem" "$TMP/a.pem" >/dev/null ||
		fail "issued after the killed rollover, not by generation 1"
	cp "$DATA/ca/sign-ca.gen2.pem" "$TMP/leftover.pem"
fi
ok ca rollover --type sign --json
json_expect "rollover" generation=2 previous=1
[ -f "$TMP/leftover.pem" ] && cmp -s "$TMP/leftover.pem" "$DATA/ca/sign-ca.gen2.pem" &&
	fail "the leftover certificate was kept"
expect_eq "the new key is the new certificate's" \
	"$(openssl pkey -in "$DATA/ca/sign-ca.gen2.key" -pubout)" \
	"$(openssl x509 -in "$DATA/ca/sign-ca.gen2.pem" -noout -pubkey)"
ca_files >"$TMP/ca.after"
grep -v '\.gen2\.' "$TMP/ca.after" | cmp -s "$TMP/ca.before" - ||
	fail "generation 1's files changed: $(diff "$TMP/ca.before" "$TMP/ca.after")"
[ "$(stat -c %a "$DATA/ca/sign-ca.gen2.key")" = 600 ] || fail "key mode $(stat -c %a "$DATA/ca/sign-ca.gen2.key")"
expect_eq "audited" "$(sql "SELECT subject FROM audit WHERE action = 'ca.rollover'"):$(sql "SELECT detail FROM audit WHERE action = 'ca.rollover'" |
	"$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["generation"])')" sign:2
expect_audit_ok "rolled over"

check "the authentication CA rolls over on its own"
ok ca rollover --type auth
expect_eq "generations" "$(generations)" "1.1 1.2 2.1 2.2"

check "the upgraded directory issues from generation 2, and generation 1 still answers for its own"
id=$(add_resident "$(individual_number 20000000002)" "山田 次郎" "東京都清瀬市中里五丁目842番地" 1990-06-01 male)
ok ca issue --resident "$id" --type auth --pubkey "$(pubkey b)" --out "$TMP/b.pem"
openssl verify -attime "$(epoch "$JPKI_NOW")" -CAfile "$DATA/ca/auth-ca.gen2.pem" "$TMP/b.pem" >/dev/null ||
	fail "not issued by generation 2"
ok cert show "$(openssl x509 -in "$TMP/b.pem" -noout -serial | sed 's/^serial=//')" --json
json_expect "cert show" generation=2
ok cert show "$(openssl x509 -in "$FIXTURE/sign-cert.pem" -noout -serial | sed 's/^serial=//')" --json
json_expect "cert show" generation=1
openssl ocsp -issuer "$DATA/ca/sign-ca.pem" -cert "$FIXTURE/sign-cert.pem" -reqout "$TMP/q.der" >/dev/null 2>&1 ||
	fail "openssl ocsp -reqout"
ok ocsp respond --in "$TMP/q.der" --out "$TMP/r.der" --json
json_expect "generation 1's responder" status=successful responses.0.status=good
ok crl generate --type sign --full
grep -q '^sign full CRL' "$TMP/stdout" && grep -q '^sign generation 2 full CRL' "$TMP/stdout" ||
	fail "both generations publish: $OUT"

check "GnuTLS certtool follows the link certificates both ways (at the real time: a directory of its own)"
command -v certtool >/dev/null 2>&1 || fail "certtool (gnutls-bin) is needed"
DATA=$TMP/now
export JPKI_DATA=$DATA
at "$(date -d '-60 days' +%Y-%m-%dT%H:%M:%S%:z)"
ok init --data "$DATA"
P=$(add_resident "$(individual_number 10000000009)" "山田 太郎" "東京都清瀬市中里五丁目842番地" 1980-01-01 male)
ok ca issue --resident "$P" --type sign --pubkey "$(pubkey p)" --out "$TMP/p-sign.pem"
at "$(date -d '-30 days' +%Y-%m-%dT%H:%M:%S%:z)"
ok ca rollover --type sign
Q=$(add_resident "$(individual_number 10000000010)" "山田 花子" "東京都清瀬市中里五丁目842番地" 1980-01-01 female)
ok ca issue --resident "$Q" --type sign --pubkey "$(pubkey q)" --out "$TMP/q-sign.pem"
rm -rf "$TMP/ca"
ok ca export --out "$TMP/ca"
cat "$TMP/p-sign.pem" "$TMP/ca/sign-link-old-with-new.gen2.pem" >"$TMP/p-chain.pem"
cat "$TMP/q-sign.pem" "$TMP/ca/sign-link-new-with-old.gen2.pem" >"$TMP/q-chain.pem"
certtool --verify --load-ca-certificate "$TMP/ca/sign-ca.gen2.pem" --infile "$TMP/p-chain.pem" \
	>"$TMP/ct" 2>&1 || fail "certtool, generation 1 under 2: $(tail -3 "$TMP/ct")"
grep -q 'Chain verification output: Verified' "$TMP/ct" || fail "certtool: $(tail -3 "$TMP/ct")"
certtool --verify --load-ca-certificate "$TMP/ca/sign-ca.pem" --infile "$TMP/q-chain.pem" \
	>"$TMP/ct" 2>&1 || fail "certtool, generation 2 under 1: $(tail -3 "$TMP/ct")"
grep -q 'Chain verification output: Verified' "$TMP/ct" || fail "certtool: $(tail -3 "$TMP/ct")"
if certtool --verify --load-ca-certificate "$TMP/ca/sign-ca.gen2.pem" --infile "$TMP/p-sign.pem" \
	>"$TMP/ct" 2>&1; then fail "certtool verifies generation 1 under 2 without the link"; fi
done_ok
