# lib.sh: what the integration tests share.  Source it after
# `set -euo pipefail`; it gives each test a private data directory, a way to
# run `jpki` and look at its exit status, stdout and stderr, a JSON reader,
# store snapshots, individual numbers with a valid check digit, and cached
# RSA public keys for `jpki ca issue`.
#
# Environment: JPKI (the jpki binary, required), JPKI_SHARED (the reference
# files the tests read, default tests/data/shared),
# JPKI_BUILD (default: the directory holding $JPKI).

: "${JPKI:?set JPKI to the jpki binary}"
: "${JPKI_SHARED:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../data/shared" && pwd)}"
: "${JPKI_BUILD:=$(dirname "$JPKI")}"
export JPKI JPKI_SHARED JPKI_BUILD

TEST_NAME=$(basename "$0" .sh)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/jpki-${TEST_NAME}.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
DATA=$TMP/data
export JPKI_DATA=$DATA
# Every test runs at a fixed instant unless it says otherwise, so expected
# dates can be written out: 2026-04-01 10:00 JST, whatever the caller's
# environment says.
export JPKI_NOW=2026-04-01T10:00:00+09:00

CHECKS=0

# The JSON reader's interpreter, resolved once: a version-manager shim in
# front of python3 costs a few hundred milliseconds a call.
PYTHON=
if command -v python3 >/dev/null 2>&1; then
	PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true)
fi

# check DESCRIPTION: announce what the next lines verify.
check() {
	CHECKS=$((CHECKS + 1))
	printf '%s: check %d: %s\n' "$TEST_NAME" "$CHECKS" "$*"
}

# fail REASON: stop the test loudly.
fail() {
	printf '%s: FAIL: %s\n' "$TEST_NAME" "$*" >&2
	if [ -s "$TMP/stderr" ]; then
		printf '%s:   last stderr: %s\n' "$TEST_NAME" "$(head -c 600 "$TMP/stderr")" >&2
	fi
	exit 1
}

# done_ok: the last line of a passing test.
done_ok() {
	printf '%s: ok (%d checks)\n' "$TEST_NAME" "$CHECKS"
}

# run CMD...: run a command, keep its status in $RC, its output in
# $TMP/stdout and $TMP/stderr (also $OUT and $ERR).  Never fails itself.
run() {
	RC=0
	"$@" >"$TMP/stdout" 2>"$TMP/stderr" || RC=$?
	OUT=$(cat "$TMP/stdout")
	ERR=$(cat "$TMP/stderr")
}

# jpki ARGS...: run the binary under test (see run).
jpki() {
	run "$JPKI" "$@"
}

# ok ARGS...: run jpki and fail unless it exits 0.
ok() {
	jpki "$@"
	[ "$RC" -eq 0 ] || fail "jpki $* exited $RC, expected 0"
}

# expect_status N ARGS...: run jpki and fail unless it exits N.
expect_status() {
	local want=$1
	shift
	jpki "$@"
	[ "$RC" -eq "$want" ] || fail "jpki $* exited $RC, expected $want"
}

# expect_one_error_line PATTERN: stderr is exactly one line and matches
# the extended regular expression PATTERN.
expect_one_error_line() {
	local lines
	lines=$(grep -c '' "$TMP/stderr" || true)
	[ "$lines" -eq 1 ] || fail "expected one line on stderr, got $lines: $ERR"
	grep -Eq -- "$1" "$TMP/stderr" || fail "stderr '$ERR' does not match /$1/"
	printf '%s:   stderr: %s\n' "$TEST_NAME" "$ERR"
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# json_get PATH [FILE]: print the value at PATH (dot-separated keys and
# array indexes: "sign.serial", "0.id"; "" for the whole document) of the
# JSON in FILE (default: the last command's stdout).  Strings print bare,
# null prints "null", booleans "true"/"false", objects and arrays as
# compact JSON with sorted keys.  Uses python3 when present, else a
# line-based reader that handles top-level keys of pretty-printed output.
json_get() {
	local path=$1 file=${2:-$TMP/stdout}
	if [ -n "$PYTHON" ]; then
		"$PYTHON" - "$file" get "$path" <<<"$JSON_PY"
	else
		case $path in
		*.* | "") fail "json_get '$path' needs python3" ;;
		esac
		sed -n "s/^  \"$path\": \"\{0,1\}\([^\"]*\)\"\{0,1\},\{0,1\}\$/\1/p" "$file" | head -n 1
	fi
}

# json_expect WHAT PATH=VALUE...: the last command's JSON has each value
# (formatted as json_get prints it); one reader run for all of them.
json_expect() {
	local what=$1 kv got
	shift
	if [ -n "$PYTHON" ]; then
		got=$("$PYTHON" - "$TMP/stdout" expect "$@" <<<"$JSON_PY") ||
			fail "$what: $got"
	else
		for kv in "$@"; do
			expect_eq "$what ${kv%%=*}" "$(json_get "${kv%%=*}")" "${kv#*=}"
		done
	fi
}

JSON_PY='
import json, sys
file, mode, args = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(file, encoding="utf-8") as f:
    doc = json.load(f)
def get(path):
    v = doc
    for k in path.split(".") if path else []:
        if isinstance(v, list) and k.isdigit() and int(k) < len(v):
            v = v[int(k)]
        elif isinstance(v, dict) and k in v:
            v = v[k]
        else:
            raise KeyError("no \"%s\" in the JSON" % path)
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return str(v)
try:
    if mode == "get":
        print(get(args[0]))
    else:
        bad = []
        for kv in args:
            path, want = kv.split("=", 1)
            got = get(path)
            if got != want:
                bad.append("%s: got %r, want %r" % (path, got, want))
        if bad:
            print("; ".join(bad))
            sys.exit(1)
except KeyError as e:
    print(("json_get: %s: " % file if mode == "get" else "") + e.args[0],
          file=sys.stderr if mode == "get" else sys.stdout)
    sys.exit(1)
'

# json_len [FILE]: the length of the JSON array in FILE (default stdout).
json_len() {
	local file=${1:-$TMP/stdout}
	if [ -n "$PYTHON" ]; then
		"$PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1], encoding="utf-8"))))' "$file"
	else
		grep -c '^  {' "$file" || true
	fi
}

# individual_number ELEVEN_DIGITS: append the check digit of the My Number
# Act's ordinance (weights 2..7,2..6 from the right; 11 - sum mod 11, and
# 0 for remainders 0 and 1).  Written here independently of src/rules.
individual_number() {
	local d=$1 sum=0 n p q r
	for n in $(seq 1 11); do
		p=${d:$((11 - n)):1}
		if [ "$n" -le 6 ]; then q=$((n + 1)); else q=$((n - 5)); fi
		sum=$((sum + p * q))
	done
	r=$((sum % 11))
	if [ "$r" -le 1 ]; then echo "${d}0"; else echo "${d}$((11 - r))"; fi
}

# wrong_check_digit NUMBER: the same number with a wrong check digit.
wrong_check_digit() {
	local n=$1 last=${1:11:1}
	echo "${n:0:11}$(((last + 1) % 10))"
}

# pubkey NAME: path of a cached RSA-2048 public key (PEM SubjectPublicKeyInfo),
# made with openssl the first time it is asked for.
pubkey() {
	local k=$TMP/keys/$1
	if [ ! -f "$k.pub.pem" ]; then
		mkdir -p "$TMP/keys"
		openssl genrsa -out "$k.key.pem" 2048 2>/dev/null || fail "openssl genrsa failed"
		openssl rsa -in "$k.key.pem" -pubout -out "$k.pub.pem" 2>/dev/null || fail "openssl rsa -pubout failed"
	fi
	echo "$k.pub.pem"
}

# Keys in a PKCS#11 token.  With JPKI_TEST_PKCS11=1 (the *_pkcs11 ctest
# entries) init_args makes a fresh SoftHSM2 token in $TMP (its own
# SOFTHSM2_CONF, so no system token is touched), exports its user PIN as
# JPKI_HSM_PIN for every later jpki, and sets INIT_ARGS to what makes
# `jpki init` keep every key there; without it INIT_ARGS is empty (files).
HSM_MODULE=${JPKI_HSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
HSM_TOKEN=jpki-test
INIT_ARGS=()
init_args() {
	INIT_ARGS=()
	[ "${JPKI_TEST_PKCS11:-0}" = 1 ] || return 0
	command -v softhsm2-util >/dev/null 2>&1 || fail "softhsm2-util (softhsm2) is needed"
	[ -f "$HSM_MODULE" ] || fail "no PKCS#11 module $HSM_MODULE (softhsm2)"
	mkdir -p "$TMP/softhsm/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$TMP/softhsm/tokens" >"$TMP/softhsm/softhsm2.conf"
	export SOFTHSM2_CONF=$TMP/softhsm/softhsm2.conf
	export JPKI_HSM_PIN=31415926
	softhsm2-util --init-token --free --label "$HSM_TOKEN" --pin "$JPKI_HSM_PIN" \
		--so-pin 27182818 >/dev/null || fail "softhsm2-util --init-token failed"
	INIT_ARGS=(--pkcs11 "$HSM_MODULE" --token "$HSM_TOKEN")
}

# expect_keys_in_token: after a PKCS#11 init, no private key is in the data
# directory (no key file, no PEM private key in any file), the data
# directory records the token, and the token itself says each of the five
# keys is sensitive and was never extractable (p11_probe reads the private
# exponent and must be refused; pkcs11-tool, where present, agrees).
expect_keys_in_token() {
	[ "${JPKI_TEST_PKCS11:-0}" = 1 ] || return 0
	local f n
	[ -f "$DATA/ca/pkcs11" ] || fail "no $DATA/ca/pkcs11 record"
	for f in "$DATA"/ca/*; do
		case $(basename "$f") in
		*.pem | pkcs11) ;;
		*) fail "a file other than certificates and the token record in $DATA/ca: $f" ;;
		esac
	done
	! grep -rlq 'PRIVATE KEY' "$DATA" || fail "a PEM private key in $DATA: $(grep -rl 'PRIVATE KEY' "$DATA")"
	"$JPKI_BUILD/p11_probe" "$HSM_MODULE" "$HSM_TOKEN" >"$TMP/probe.out" 2>&1 ||
		fail "the token gives a key out, or cannot be asked: $(cat "$TMP/probe.out")"
	n=$(grep -c ' kept-in$' "$TMP/probe.out")
	[ "$n" -eq 5 ] || fail "expected the 5 keys in the token, found $n: $(cat "$TMP/probe.out")"
	for f in $(sed -n 's/^key [a-z-]* = //p' "$DATA/ca/pkcs11"); do
		grep -q "^$f openjpki " "$TMP/probe.out" || fail "recorded key id $f is not in the token"
	done
	if command -v pkcs11-tool >/dev/null 2>&1; then
		pkcs11-tool --module "$HSM_MODULE" --token-label "$HSM_TOKEN" --login \
			--pin "$JPKI_HSM_PIN" --list-objects --type privkey >"$TMP/p11tool.out" 2>&1 ||
			fail "pkcs11-tool --list-objects: $(cat "$TMP/p11tool.out")"
		n=$(grep -c 'Access: *sensitive, always sensitive, never extractable' "$TMP/p11tool.out" || true)
		[ "$n" -eq 5 ] || fail "pkcs11-tool shows $n never-extractable keys, expected 5: $(cat "$TMP/p11tool.out")"
	fi
}

# init_data: `jpki init` into $DATA (keys in a fresh token with
# JPKI_TEST_PKCS11=1).
init_data() {
	init_args
	ok init --data "$DATA" "${INIT_ARGS[@]}"
	[ -f "$DATA/config" ] || fail "jpki init made no $DATA/config"
	if [ "$(db_url)" = sqlite:jpki.db ]; then
		[ -f "$DATA/jpki.db" ] || fail "jpki init made no $DATA/jpki.db"
	fi
	expect_keys_in_token
}

# The store's database as a data directory's config names it (DIR,
# default $DATA).
db_url() {
	sed -n 's/^database = //p' "${1:-$DATA}/config"
}

# on_postgresql [DIR]: true when the store is on PostgreSQL (the suite's
# PostgreSQL run, JPKI_TEST_PG).
on_postgresql() {
	case $(db_url "${1:-$DATA}") in postgres*) return 0 ;; *) return 1 ;; esac
}

# db_sql SQL [DIR]: run SQL on the store of DIR (default $DATA), SQLite or
# PostgreSQL; rows as a|b|c, as sqlite3 prints them.
db_sql() {
	local dir=${2:-$DATA} url
	url=$(db_url "$dir")
	case $url in
	postgres*) psql -X -q -At -F'|' -v ON_ERROR_STOP=1 "$url" -c "$1" ;;
	sqlite:/*) sqlite3 "${url#sqlite:}" "$1" ;;
	*) sqlite3 "$dir/${url#sqlite:}" "$1" ;;
	esac
}

# add_resident NUMBER "SURNAME GIVEN" ADDRESS BIRTH GENDER: add and print
# the new id (from --json).
add_resident() {
	ok resident add --number "$1" --name "$2" --address "$3" --birth "$4" --gender "$5" --json
	json_get id
}

# issue ID sign|auth OUT [extra args]: issue for a cached key and print the
# serial reported by --json.  The key is per resident and type.
issue() {
	local id=$1 type=$2 out=$3
	shift 3
	ok ca issue --resident "$id" --type "$type" --pubkey "$(pubkey "r$id-$type")" --out "$out" --json "$@"
	json_get serial
}

# copy_datadir SRC DST: a copy of a data directory with a store of its own
# (on PostgreSQL a new database made from SRC's as a template; nothing
# may be connected to it then).
copy_datadir() {
	local src=$1 dst=$2 url name base
	cp -a "$src" "$dst"
	if on_postgresql "$src"; then
		url=$(db_url "$src")
		base=${url%/*}
		name="t_copy_$(date +%s%N)_$$"
		psql -X -q -v ON_ERROR_STOP=1 "$base/postgres" \
		    -c "CREATE DATABASE \"$name\" TEMPLATE \"${url##*/}\"" >/dev/null ||
			fail "cannot copy the database $url"
		sed -i "s|^database = .*|database = $base/$name|" "$dst/config"
	fi
}

# The SQL that drops the audit table's append-only guard (a trigger), as an
# insider with write access to the database would: UPDATE and DELETE.
audit_guard_drop_sql() {
	if on_postgresql; then
		echo "DROP TRIGGER audit_append_only_change ON audit;"
	else
		echo "DROP TRIGGER audit_append_only_update; DROP TRIGGER audit_append_only_delete;"
	fi
}

# db_integrity [DIR]: "ok" when the database's own structural check passes
# (SQLite's integrity_check; PostgreSQL checks its pages as it reads them,
# so a full read of every table stands in for it there).
db_integrity() {
	local dir=${1:-$DATA} t
	if on_postgresql "$dir"; then
		for t in certificates revocations audit cards residents receipts card_images; do
			db_sql "SELECT COUNT(*) FROM $t" "$dir" >/dev/null || { echo "reading $t failed"; return 0; }
		done
		echo ok
	else
		db_sql 'PRAGMA integrity_check' "$dir"
	fi
}

# db_hex COLUMN: the SQL for a blob column as lowercase hex, in the
# store's dialect.
db_hex() {
	if on_postgresql; then echo "encode($1, 'hex')"; else echo "lower(hex($1))"; fi
}

# store_holds STRING...: true when any STRING is anywhere in the store: the
# SQLite files byte for byte (free pages and the WAL included), or a full
# dump of the PostgreSQL database.
store_holds() {
	local files=() s
	if on_postgresql; then
		db_snapshot "$TMP/holds.sql"
		files=("$TMP/holds.sql")
	else
		for s in "$DATA/jpki.db" "$DATA/jpki.db-wal"; do [ -f "$s" ] && files+=("$s"); done
	fi
	for s in "$@"; do
		grep -aq -- "$s" "${files[@]}" && return 0
	done
	return 1
}

# db_snapshot FILE: a textual dump of the whole store.  On PostgreSQL
# without the identity sequences' positions (a refused INSERT uses up a
# number there and changes no row).
db_snapshot() {
	local url
	url=$(db_url)
	case $url in
	postgres*)
		pg_dump --data-only --inserts --no-owner "$url" 2>"$TMP/pg_dump.err" |
			grep -v -e 'pg_catalog.setval' -e '^.restrict ' -e '^.unrestrict ' >"$1" ||
			fail "pg_dump failed: $(cat "$TMP/pg_dump.err")" ;;
	*) sqlite3 "$DATA/jpki.db" .dump >"$1" || fail "sqlite3 .dump failed" ;;
	esac
}

# expect_store_unchanged BEFORE WHAT: the store dumps as BEFORE did and the
# audit chain still verifies.
expect_store_unchanged() {
	local before=$1 what=$2
	db_snapshot "$TMP/after.sql"
	if ! cmp -s "$before" "$TMP/after.sql"; then
		diff "$before" "$TMP/after.sql" | head -n 20 >&2 || true
		fail "$what: the store changed"
	fi
	local rc=0
	"$JPKI" audit verify >/dev/null 2>"$TMP/audit.err" || rc=$?
	[ "$rc" -eq 0 ] || fail "$what: jpki audit verify exited $rc: $(cat "$TMP/audit.err")"
}

# expect_audit_ok WHAT
expect_audit_ok() {
	local rc=0
	"$JPKI" audit verify >"$TMP/audit.out" 2>"$TMP/audit.err" || rc=$?
	[ "$rc" -eq 0 ] || fail "$1: jpki audit verify exited $rc: $(cat "$TMP/audit.err")"
}

# epoch ISO8601: seconds since the epoch (GNU date).
epoch() {
	date -d "$1" +%s
}

# start_jpki PIDVAR READY COMMAND ARGS...: `jpki COMMAND ARGS...` in the
# background (a daemon: serve, signer), output in $TMP/COMMAND.out and
# $TMP/COMMAND.err, its pid in the variable PIDVAR; waits (at most 10 s)
# until a line of its output matches READY, and fails if it exits first or
# never says so.  serve_lib.sh and signer_lib.sh start theirs with it.
start_jpki() {
	local pidvar=$1 ready=$2 cmd=$3
	shift 2
	# Emptied here, before the daemon starts: the background job's own
	# redirection may run after the loop below has read the previous
	# run's ready line (and a request would then find no daemon).
	: >"$TMP/$cmd.out"
	: >"$TMP/$cmd.err"
	"$JPKI" "$@" >"$TMP/$cmd.out" 2>"$TMP/$cmd.err" &
	printf -v "$pidvar" '%s' "$!"
	for _ in $(seq 200); do
		grep -q "$ready" "$TMP/$cmd.out" 2>/dev/null && return 0
		kill -0 "${!pidvar}" 2>/dev/null || fail "jpki $cmd exited: $(cat "$TMP/$cmd.err")"
		sleep 0.05
	done
	fail "jpki $cmd did not start: $(cat "$TMP/$cmd.out" "$TMP/$cmd.err")"
}

# end_jpki PIDVAR SIGNAL: if the variable PIDVAR holds a daemon's pid (of
# start_jpki), sends it SIGNAL, waits for it to end whatever its exit
# status, and empties PIDVAR.
end_jpki() {
	local pidvar=$1
	if [ -n "${!pidvar}" ]; then
		kill -s "$2" "${!pidvar}" 2>/dev/null || true
		wait "${!pidvar}" 2>/dev/null || true
		printf -v "$pidvar" '%s' ''
	fi
}

command -v openssl >/dev/null 2>&1 || fail "openssl is needed"
[ -x "$JPKI" ] || fail "JPKI=$JPKI is not executable"
