#!/usr/bin/env bash
# test_audit_checkpoint.sh: an insider who can write the database cannot
# rewrite the audit log unseen once a checkpoint is out (issue 9 item 4).
# `jpki audit checkpoint` signs the chain head in-process (no signer
# configured); then, each on a copy of the store with the append-only
# triggers dropped as an insider would: deleting the newest entries,
# editing one and recomputing every hash after it, and revoking a
# certificate in the store without an audit entry are each named by
# `jpki audit verify` (exit 1), which says "intact" before.  On SQLite
# and PostgreSQL (the good store kept as a file, or as a database made from
# the store's as a template, and put back before each tampering).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

init_data
id=$(add_resident "$(individual_number 12345678901)" "山田 太郎" "東京都清瀬市中里五丁目842番地" 1980-12-31 male)
id2=$(add_resident "$(individual_number 12345678902)" "山田 花子" "東京都清瀬市中里五丁目842番地" 1982-03-03 female)
serial=$(issue "$id" sign "$TMP/sign.pem")
issue "$id" auth "$TMP/auth.pem" >/dev/null
issue "$id2" auth "$TMP/auth2.pem" >/dev/null

check "a checkpoint signs the chain head; verify checks against it and cross-checks the store"
ok audit checkpoint --json
json_expect "checkpoint" new=true
head=$(db_sql "SELECT max(seq) FROM audit")
grep -q "^openjpki-checkpoint-v1 seq=$head " "$DATA/signer/checkpoints" || fail "no checkpoint of entry $head: $(cat "$DATA/signer/checkpoints")"
[ -f "$DATA/signer/checkpoint-key.pem" ] || fail "no checkpoint-key.pem beside the checkpoints"
ok audit checkpoint --json
json_expect "nothing new: no second checkpoint" new=false
expect_eq "checkpoints" "$(grep -c '' "$DATA/signer/checkpoints")" 1
ok audit verify --json
json_expect "verify" ok=true checkpoints=1 checkpoint_seq="$head" certificates=3 revocations=0
ok cert revoke "$serial" --reason keyCompromise
ok audit checkpoint
ok audit verify --json
json_expect "after a revocation" ok=true checkpoints=2 revocations=1
# The good store, to put back before each tampering.
if on_postgresql; then
	PG_URL=$(db_url)
	PG_BASE=${PG_URL%/*}
	PG_DB=${PG_URL##*/}
	PG_GOOD="${PG_DB}_good"
	psql -X -q -v ON_ERROR_STOP=1 "$PG_BASE/postgres" \
		-c "CREATE DATABASE \"$PG_GOOD\" TEMPLATE \"$PG_DB\"" >/dev/null ||
		fail "cannot keep a copy of $PG_URL"
else
	cp "$DATA/jpki.db" "$TMP/good.db"
fi
# restore_good: the store as it was before any tampering.
restore_good() {
	if on_postgresql; then
		psql -X -q -v ON_ERROR_STOP=1 "$PG_BASE/postgres" \
			-c "DROP DATABASE \"$PG_DB\"" \
			-c "CREATE DATABASE \"$PG_DB\" TEMPLATE \"$PG_GOOD\"" >/dev/null ||
			fail "cannot put $PG_URL back"
	else
		cp "$TMP/good.db" "$DATA/jpki.db"
		rm -f "$DATA/jpki.db-wal" "$DATA/jpki.db-shm"
	fi
}
# No checkpoint at all: what verify could tell before.
mkdir "$TMP/none"
: >"$TMP/none/checkpoints"
cp "$DATA/signer/checkpoint-key.pem" "$TMP/none/"

# tamper SQL...: run SQL on the good store with the triggers dropped.
tamper() {
	restore_good
	db_sql "$(audit_guard_drop_sql) $1" >/dev/null || fail "SQL: $1"
}

check "deleting the newest entries is detected (the chain alone still verifies)"
tamper "DELETE FROM audit WHERE seq > $((head - 2));
	UPDATE certificates SET status = 1, reason = NULL, revoked_at = NULL;
	DELETE FROM revocations;
	DELETE FROM certificates WHERE serial NOT IN
	    (SELECT subject FROM audit WHERE action = 'cert.issue');"
ok audit verify --checkpoint "$TMP/none/checkpoints"
expect_status 1 audit verify
expect_one_error_line "covers entry [0-9]+, but the log ends at entry $((head - 2)): entries were deleted"

check "editing an entry and recomputing the chain after it is detected"
tamper ""
# Rewrite entry 4's actor and every hash from there on, per docs/audit.md:
# the rows read and written back through sqlite3's module, or psql.
if on_postgresql; then where=$(db_url); else where=$DATA/jpki.db; fi
"$PYTHON" - "$where" <<'PY' || fail "rewriting the chain failed"
import csv, hashlib, io, sqlite3, struct, subprocess, sys
where = sys.argv[1]
pg = where.startswith("postgres")
query = "SELECT seq, at, actor, action, subject, detail FROM audit ORDER BY seq"
if pg:
    out = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", where,
                          "-c", "COPY (%s) TO STDOUT WITH (FORMAT csv)" % query],
                         check=True, capture_output=True).stdout.decode()
    rows = [(int(r[0]), int(r[1]), r[2], r[3], r[4], r[5])
            for r in csv.reader(io.StringIO(out))]
else:
    db = sqlite3.connect(where)
    rows = db.execute(query).fetchall()
def lit(s):
    return "'" + s.replace("'", "''") + "'"
updates = []
prev = b"\0" * 32
for seq, at, actor, action, subject, detail in rows:
    if seq == 4:
        actor = "someone-else"
    h = hashlib.sha256(b"openjpki-audit-v1\0" + prev + struct.pack(">qq", seq, at))
    for f in (actor, action, subject, detail):
        b = f.encode()
        h.update(struct.pack(">I", len(b)) + b)
    updates.append((actor, prev, h.digest(), seq))
    prev = h.digest()
if pg:
    sql = "BEGIN;\n" + "".join(
        "UPDATE audit SET actor = %s, prev_hash = decode('%s', 'hex'), "
        "hash = decode('%s', 'hex') WHERE seq = %d;\n"
        % (lit(a), p.hex(), h.hex(), s) for a, p, h, s in updates) + "COMMIT;\n"
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", where],
                   input=sql.encode(), check=True, capture_output=True)
else:
    db.executemany("UPDATE audit SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                   updates)
    db.commit()
PY
run "$JPKI" audit verify --checkpoint "$TMP/none/checkpoints"
[ "$RC" -eq 0 ] || fail "the recomputed chain should verify on its own (the insider's point): $ERR"
expect_status 1 audit verify
expect_one_error_line "audit entry [0-9]+ differs from the checkpoint signed .*: the log up to it was rewritten"

check "revoking in the store behind the CA's back is detected"
tamper "UPDATE certificates SET status = 2, reason = 1, revoked_at = 1 WHERE ca = 2 AND status = 1;"
expect_status 1 audit verify
expect_one_error_line "certificate [0-9A-F]+ \(auth\) is revoked in the store, but no audit entry records its revocation"
tamper "INSERT INTO revocations(ca, shard, serial, revoked_at, reason, gen) SELECT ca, crl_shard, serial, 1, 1, gen FROM certificates WHERE ca = 2 LIMIT 1;"
expect_status 1 audit verify
expect_one_error_line "revocation of [0-9A-F]+ is in the store \(and its CRLs\), but no audit entry records it"

check "a certificate slipped into the store, or one removed, is detected"
tamper "INSERT INTO certificates(serial, ca, resident_id, card_id, status, reason, not_before, not_after, issued_at, revoked_at, crl_shard, replaces, der, gen) SELECT 'ABCDEF0123', ca, resident_id, card_id, status, reason, not_before, not_after, issued_at, revoked_at, crl_shard, replaces, der, gen FROM certificates LIMIT 1;"
expect_status 1 audit verify
expect_one_error_line "certificate ABCDEF0123 \(sign|auth\) is in the store, but no audit entry records its issuance"

check "a checkpoint file edited off-site, or signed by another key, is refused"
restore_good
ok audit verify
sed "s/ seq=$head / seq=$((head - 1)) /" "$DATA/signer/checkpoints" >"$TMP/edited"
expect_status 1 audit verify --checkpoint "$TMP/edited" --checkpoint-key "$DATA/signer/checkpoint-key.pem"
expect_one_error_line "edited:1: the checkpoint's signature does not verify with the audit key"
openssl genrsa 2048 2>/dev/null | openssl rsa -pubout -out "$TMP/other.pem" 2>/dev/null
expect_status 1 audit verify --checkpoint "$DATA/signer/checkpoints" --checkpoint-key "$TMP/other.pem"
expect_one_error_line "does not verify with the audit key"
expect_audit_ok "the good store"
if on_postgresql; then
	psql -X -q "$PG_BASE/postgres" -c "DROP DATABASE \"$PG_GOOD\"" >/dev/null || true
fi

done_ok
