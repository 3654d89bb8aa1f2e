#!/usr/bin/env bash
# test_cli_usage.sh: the CLI as a newcomer types it (issue 8, item 9).
#   - the commands README.md's "Using it" prints run, in order, as printed;
#     every other `jpki` line in a code block of README.md, docs/*.md and
#     the manual pages parses (its options, values and arguments, by
#     appending --help, which the parser honours only after checking them);
#     the line the demo ends with (jpki --data DIR ...) works;
#   - --data DIR, --data=DIR and --json go before the command or after it;
#   - options are strict: a valued option twice, an empty --data, a number
#     out of range, a group without its subcommand: one line, exit 2,
#     nothing written;
#   - a command that fails leaves no --out file (and an existing one as it
#     was), and no temporary beside it;
#   - card certs --out DIR creates DIR as ca export --out DIR does;
#   - the manual pages render without warnings; the bash completion offers
#     what the binary accepts; cmake --install (make install) installs all.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
: "${JPKI_SOURCE:=$(cd "$(dirname "$0")/../.." && pwd)}"

export JPKI_SIGN_PASSWORD=DEMO2026 JPKI_AUTH_PIN=1234 JPKI_CARDINFO_PIN=5678
export JPKI_CLERK_PASSWORD=readme-clerk-1

# expect_usage PATTERN ARGS...: exit 2, one line on stderr matching PATTERN,
# nothing on stdout.
expect_usage() {
	local pattern=$1
	shift
	expect_status 2 "$@"
	expect_one_error_line "$pattern"
	[ -z "$OUT" ] || fail "jpki $*: printed on stdout: $OUT"
}

# md_jpki_lines FILE...: the `jpki ...` lines in the code blocks of
# Markdown files, continuation lines joined, comments dropped.
md_jpki_lines() {
	awk '
	FNR == 1 { fence = 0; line = "" }
	/^ *```/ { fence = !fence; next }
	!fence { next }
	line == "" && $0 !~ /^ *jpki / { next }
	{
		s = $0
		sub(/^ +/, "", s)
		if (line != "")
			s = " " s
		line = line s
		if (line ~ /\\$/) { sub(/ *\\$/, "", line); next }
		sub(/[ \t]+#.*$/, "", line)
		print line
		line = ""
	}' "$@"
}

# as_words LINE: the shell words of LINE in WORDS (the line is our own
# documentation; lines with expansions are not given here).
as_words() {
	eval "WORDS=($1)"
}

# The commands run where a user would: in a directory of their own.
WORK=$TMP/work
mkdir "$WORK"
cd "$WORK"

# ---- README: "Using it", as printed -------------------------------------
check "README.md 'Using it': every command, in order, as printed"
sed -n '/^## Using it/,/^## /p' "$JPKI_SOURCE/README.md" >"$TMP/using.md"
md_jpki_lines "$TMP/using.md" >"$TMP/readme.lines"
[ "$(grep -c '' "$TMP/readme.lines")" -ge 20 ] || fail "README 'Using it' has too few jpki lines"
N2=$(individual_number 31415926507)
N3=$(individual_number 31415926514)
printf 'number,name,address,birth,gender\n%s,佐藤 花子,東京都清瀬市竹丘一丁目17番1号,1992-02-29,female\n%s,鈴木 一郎,東京都清瀬市松山三丁目1番27号,1955-04-01,male\n' \
	"$N2" "$N3" >residents.csv
cp "$(pubkey readme-sign)" card-sign.pub.pem
printf '%%PDF-1.4 a document to sign\n' >doc.pdf
SERIAL=""
while IFS= read -r line; do
	want=0
	case $line in
	*"..."* | *"…"*) continue ;;     # a placeholder, not a command
	"jpki serve "* | "jpki counter serve "* | "jpki card attach "*)
		# They run until stopped: the line parses, that is all.
		as_words "$line"
		expect_status 0 "${WORDS[@]:1}" --help
		continue ;;
	"jpki cert show 6C81"* | "jpki cert revoke 6C81"*)
		[ -n "$SERIAL" ] || fail "README: no certificate issued before '$line'"
		line=${line//6C810229210385855548F6C2F99FFAC9/$SERIAL} ;;
	"jpki ocsp respond "*)
		"$JPKI" ca export --out "$TMP/readme-cas" >/dev/null
		openssl ocsp -issuer "$TMP/readme-cas/sign-ca.pem" -cert sign.pem \
			-reqout q.der >/dev/null 2>&1 || fail "openssl ocsp -reqout" ;;
	"jpki counter renew "*) want=1 ;;      # R9: not yet 3 months before expiry
	"jpki counter reset-pin --card card.img "*) want=1 ;;  # that card was reported lost
	esac
	as_words "$line"
	[ "${WORDS[0]}" = jpki ] || fail "README line does not start with jpki: $line"
	jpki "${WORDS[@]:1}"
	[ "$RC" -eq "$want" ] || fail "README: '$line' exited $RC, expected $want"
	printf '%s:   %s -> %d\n' "$TEST_NAME" "$line" "$RC"
	case $line in
	"jpki ca issue "*)
		SERIAL=$(openssl x509 -in sign.pem -noout -serial | sed 's/^serial=//')
		;;
	esac
done <"$TMP/readme.lines"
[ -f sign.pem ] && [ -f r.der ] && [ -f card.img ] && [ -f new.img ] && [ -f doc.sig ] ||
	fail "README commands did not write their files"
[ -f cas/sign-ca.pem ] && [ -f notices/notices.csv ] || fail "README: no cas/ or notices/"
openssl ocsp -respin r.der -resp_text -noverify 2>/dev/null | grep -q 'Cert Status: revoked' ||
	fail "README: the OCSP answer about the revoked certificate does not say revoked"
expect_audit_ok "after the README session"

check "every other jpki line in a code block of README.md, docs/*.md and the manual pages parses"
md_jpki_lines "$JPKI_SOURCE/README.md" "$JPKI_SOURCE"/docs/*.md "$JPKI_SOURCE"/docs/man/*.md >"$TMP/doc.lines"
n=0
while IFS= read -r line; do
	case $line in
	*"..."* | *"…"* | *'$'* | *'`'* | *'<'* | *'>'* | *'|'*) continue ;;
	esac
	line=${line% &}                         # started in the background
	line=${line//[/}                        # optional parts: given
	line=${line//]/}
	as_words "$line"
	jpki "${WORDS[@]:1}" --help
	[ "$RC" -eq 0 ] || fail "documented '$line' does not parse: $ERR"
	n=$((n + 1))
done <"$TMP/doc.lines"
[ "$n" -ge 40 ] || fail "only $n documented lines checked"
printf '%s:   %d documented lines parse\n' "$TEST_NAME" "$n"

check "the line the demo ends with works: jpki --data DIR ..."
hint=$(grep -o '\$jpki --data \$JPKI_DATA [a-z -]*' "$JPKI_SOURCE/scripts/demo.sh" | head -n 1)
[ -n "$hint" ] || fail "scripts/demo.sh no longer suggests \$jpki --data DIR ..."
hint=${hint/\$jpki/jpki}
as_words "${hint/\$JPKI_DATA/$DATA}"
ok "${WORDS[@]:1}"
[ -n "$OUT" ] || fail "'$hint' printed nothing"

# ---- common options before the command ------------------------------------
check "--data DIR, --data=DIR and --json before the command are those after it"
ok resident list --json --data "$DATA"
after=$OUT
JPKI_DATA=/nonexistent ok --data "$DATA" --json resident list
expect_eq "jpki --data DIR --json resident list" "$OUT" "$after"
JPKI_DATA=/nonexistent ok --data="$DATA" resident list --json
expect_eq "jpki --data=DIR resident list --json" "$OUT" "$after"
JPKI_DATA=/nonexistent ok --json resident list --data="$DATA"
expect_eq "jpki --json resident list --data=DIR" "$OUT" "$after"
ok --json ca show
json_get sign.serial >/dev/null || fail "jpki --json ca show: no JSON"
ok --data "$TMP/d2" init --municipality 132217
[ -f "$TMP/d2/config" ] || fail "jpki --data DIR init made nothing in DIR"
ok help ca
grep -q 'jpki ca issue' "$TMP/stdout" || fail "jpki help ca: $OUT"

# ---- strict options -------------------------------------------------------
check "strict options: one line, exit 2, nothing on stdout, nothing changed"
db_snapshot "$TMP/before.sql"
ls -A "$WORK" >"$TMP/files.before"
expect_usage '^jpki: usage: --out: given twice' ca export --out a --out b
expect_usage '^jpki: usage: --out: given twice' ocsp respond --in q.der --out=x1.der --out x2.der
expect_usage '^jpki: usage: --actor: given twice \(also as --clerk\)' cert revoke "$SERIAL" \
	--reason keyCompromise --clerk a --actor b
expect_usage '^jpki: usage: --data: given twice' --data "$DATA" audit verify --data "$DATA"
expect_usage '^jpki: usage: --data: empty' --data "" audit verify
expect_usage '^jpki: usage: --data: empty' audit verify --data=
expect_usage '^jpki: usage: --out: empty' card certs --card card.img --out ""
expect_usage '^jpki: usage: --limit: must be 1 or more, not 0' audit list --limit 0
expect_usage '^jpki: usage: --limit: must be 1 or more, not -3' audit list --limit=-3
expect_usage '^jpki: usage: --limit: not a number' audit list --limit ten
expect_usage '^jpki: usage: --after: must be 0 or more' audit list --after -1
expect_usage '^jpki: usage: --resident: must be 1 or more' ca issue --resident 0 --type sign \
	--pubkey card-sign.pub.pem --out x.pem
expect_usage '^jpki: usage: --shard: must be 0 to 65535' crl generate --shard 70000
expect_usage '^jpki: usage: --key-bits: must be 1 or more' --data d3 init --key-bits 0
expect_usage '^jpki: usage: --json takes no value' ca show --json=yes
expect_usage '^jpki: usage: --out needs a value' ca export --out
expect_usage "^jpki: usage: ca show: unknown option '--bogus'" ca show --bogus
expect_usage "^jpki: usage: ca show: unknown option '-x'" ca show -x
expect_usage "^jpki: usage: ca show: unexpected argument 'extra'" ca show extra
expect_usage "^jpki: usage: jpki: unknown option '--bogus'" --bogus ca show
expect_usage '^jpki: usage: --data needs a value' --data
expect_usage '^jpki: usage: serve takes no --json' --json serve
expect_usage "^jpki: usage: unknown command 'frobnicate'" frobnicate
expect_usage '^jpki: usage: jpki \[--data DIR\] \[--json\] <command>' --json
expect_usage '^jpki: usage: jpki \[--data DIR\] \[--json\] <command>'
expect_store_unchanged "$TMP/before.sql" "strict options"
ls -A "$WORK" >"$TMP/files.after"
cmp -s "$TMP/files.before" "$TMP/files.after" || fail "strict options: files appeared: $(diff "$TMP/files.before" "$TMP/files.after")"

check "a group without its subcommand prints one usage line naming them (exit 2); an unknown one is named"
groups=$("$JPKI" --help | awk '/^commands:/ { c = 1; next } c && /^  [a-z]/ { print $1 }')
expect_eq "groups in jpki --help" "$(echo $groups)" "init resident ca cert crl ocsp serve signer signer-tls sign verify login kiosk rp audit store card counter clerk"
subs_of() {     # the subcommands jpki --help lists under a group
	"$JPKI" --help | awk -v g="$1" '$1 == g { c = 1; next } c && /^    / { print; next } { c = 0 }' | xargs
}
for g in $groups; do
	subs=$(subs_of "$g")
	[ -n "$subs" ] || continue
	expect_usage "^jpki: usage: jpki $g ${subs// /\\|} \\[options\\] \\(jpki $g --help\\)$" "$g"
	expect_usage "^jpki: usage: jpki $g " "$g" --json
	expect_usage "^jpki: usage: $g: unknown (subcommand|procedure) 'frob'" "$g" frob
	expect_status 0 "$g" --help
	for s in $subs; do
		expect_status 0 "$g" "$s" --help
	done
done

# ---- output files ----------------------------------------------------------
check "a command that fails leaves no --out file, an existing one as it was, and no temporary"
mkdir "$TMP/out"
printf 'garbage' >"$TMP/garbage.der"
printf 'keep me\n' >"$TMP/out/kept"
# no_out STATUS FILE ARGS...: exit STATUS, one line, FILE absent, out/ as it was.
no_out() {
	local want=$1 file=$2
	shift 2
	ls -A "$TMP/out" >"$TMP/out.before"
	expect_status "$want" "$@"
	expect_one_error_line '^jpki: '
	[ ! -e "$file" ] || fail "jpki $* (exit $RC) left $file"
	ls -A "$TMP/out" >"$TMP/out.after"
	cmp -s "$TMP/out.before" "$TMP/out.after" ||
		fail "jpki $*: $(diff "$TMP/out.before" "$TMP/out.after" | tr '\n' ' ')"
}
no_out 2 "$TMP/out/r.der" ocsp respond --in "$TMP/garbage.der" --out "$TMP/out/r.der"
no_out 2 "$TMP/out/r.der" ocsp respond --in "$TMP/no-such.der" --out "$TMP/out/r.der"
no_out 2 "$TMP/out/x.pem" ca issue --resident 999 --type sign --pubkey card-sign.pub.pem --out "$TMP/out/x.pem"
no_out 2 "$TMP/out/cas" ca export --out "$TMP/out/cas/deeper"
no_out 2 "$TMP/out/n.img" card new --out "$TMP/out/n.img" --kind bogus
JPKI_SIGN_PASSWORD=WRONG999 no_out 1 "$TMP/out/doc.sig" card sign --card new.img --type sign \
	--in doc.pdf --out "$TMP/out/doc.sig"
JPKI_SIGN_PASSWORD=WRONG999 no_out 1 "$TMP/out/certs" card certs --card new.img --sign --out "$TMP/out/certs"
no_out 2 "$TMP/out/certs" card certs --card "$TMP/no-such.img" --out "$TMP/out/certs"
no_out 1 "$TMP/out/c.img" counter deliver --resident 1 --out "$TMP/out/c.img" --clerk suzuki
no_out 2 "$TMP/out/form.pdf" counter proxy-apply --resident 999 --purpose issue \
	--proxy-name "代理 人" --proxy-id-type driving-licence --proxy-id-number 1 \
	--out "$TMP/out/form.pdf" --clerk suzuki
no_out 2 "$TMP/out/notices" counter notices --within 0m --out "$TMP/out/notices" --clerk suzuki
no_out 2 "$TMP/out/crl" crl generate --type both --out "$TMP/out/crl"
cp r.der "$TMP/out/r.der"
no_out 2 "$TMP/out/nothing" ocsp respond --in "$TMP/garbage.der" --out "$TMP/out/r.der"
cmp -s r.der "$TMP/out/r.der" || fail "a failed ocsp respond changed the existing --out file"
cp sign.pem "$TMP/out/x.pem"
no_out 2 "$TMP/out/nothing" ca issue --resident 999 --type sign --pubkey card-sign.pub.pem --out "$TMP/out/x.pem"
cmp -s sign.pem "$TMP/out/x.pem" || fail "a refused ca issue changed the existing --out file"

check "a command that succeeds writes its file whole: ocsp respond, ca issue, card sign"
ok ocsp respond --in q.der --out "$TMP/out/r2.der"
openssl ocsp -respin "$TMP/out/r2.der" -resp_text -noverify 2>/dev/null | grep -q 'Cert Status: revoked' ||
	fail "ocsp respond --out: not the whole response"
ok ca issue --resident 2 --type auth --pubkey "$(pubkey r2-auth)" --out "$TMP/out/r2-auth.pem"
openssl x509 -in "$TMP/out/r2-auth.pem" -noout || fail "ca issue --out: not a certificate"
ok card sign --card new.img --type auth --in doc.pdf --out "$TMP/out/doc.sig"
expect_eq "signature size" "$(stat -c %s "$TMP/out/doc.sig")" 256
if ls -A "$TMP/out" | grep -q '\.[[:alnum:]]\{6\}$'; then
	fail "a temporary was left in out/: $(ls -A "$TMP/out" | xargs)"
fi

check "card certs --out DIR creates DIR, as ca export --out DIR does"
ok ca export --out "$TMP/new-cas"
[ -f "$TMP/new-cas/sign-ca.pem" ] || fail "ca export did not create its directory"
ok card certs --card new.img --out "$TMP/new-certs" --json
for f in auth.der auth-ca.der sign-ca.der; do
	[ -s "$TMP/new-certs/$f" ] || fail "card certs did not write $f into the new directory"
done
openssl verify -CAfile "$TMP/new-cas/auth-ca.pem" \
	<(openssl x509 -inform DER -in "$TMP/new-certs/auth.der") >/dev/null ||
	fail "the card's authentication certificate does not verify under the exported CA"
ok card certs --card new.img --sign --out "$TMP/new-certs"
[ -s "$TMP/new-certs/sign.der" ] || fail "card certs --sign into an existing directory"
no_out 2 "$TMP/out/x/y" card certs --card new.img --out "$TMP/out/x/y"

# ---- manual pages ---------------------------------------------------------
check "a manual page per command group, rendering without warnings in 80 columns"
MAN=$JPKI_BUILD/man
for g in "" $groups; do
	page=$MAN/jpki${g:+-$g}.1
	[ -s "$page" ] || fail "no manual page $page"
	if command -v groff >/dev/null 2>&1; then
		warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
		[ -z "$warnings" ] || fail "$page: groff: $warnings"
		if command -v man >/dev/null 2>&1; then
			MANWIDTH=80 man -l "$page" >"$TMP/page.txt" 2>"$TMP/man.err" ||
				fail "man -l $page failed: $(cat "$TMP/man.err")"
		else
			groff -man -Tascii -rLL=80n -P-cbou "$page" >"$TMP/page.txt" 2>"$TMP/man.err"
		fi
		[ ! -s "$TMP/man.err" ] || fail "man -l $page: $(cat "$TMP/man.err")"
		wide=$(awk 'length > 80' "$TMP/page.txt")
		[ -z "$wide" ] || fail "$page: wider than 80 columns: $wide"
		grep -q "^NAME" "$TMP/page.txt" && grep -q "^SYNOPSIS" "$TMP/page.txt" ||
			fail "$page: no NAME or SYNOPSIS"
	fi
done
command -v groff >/dev/null 2>&1 || printf '%s:   groff is not installed: pages not rendered\n' "$TEST_NAME"

# ---- bash completion --------------------------------------------------------
check "bash completion: the groups, subcommands and options the binary has"
COMPLETION=$JPKI_SOURCE/scripts/completion.bash
# shellcheck source=../../scripts/completion.bash
. "$COMPLETION"
# complete_words WORDS...: the completions of the last word, sorted, as
# bash would offer them after TAB.
complete_words() {
	(
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMPREPLY=()
		_jpki
		printf '%s\n' "${COMPREPLY[@]}" | sort | xargs
	)
}
expect_eq "groups" "$(complete_words jpki "")" "$(echo $groups help | xargs -n1 | sort | xargs)"
expect_eq "options before the command" "$(complete_words jpki --)" "--data --help --json"
for g in $groups; do
	subs=$(subs_of "$g")
	if [ -n "$subs" ]; then
		expect_eq "$g subcommands" "$(complete_words jpki "$g" "")" "$(echo $subs | xargs -n1 | sort | xargs)"
	else
		subs=-
	fi
	offered_in_group=""
	for s in $subs; do
		cmd=("$g")
		[ "$s" = - ] || cmd+=("$s")
		offered=$(complete_words jpki "${cmd[@]}" --)
		offered_in_group+=" $offered"
		for o in $offered; do
			[ "$o" = --help ] && continue
			# A flag alone, a valued option with a value: the parser takes
			# it, then honours --help.
			if [[ $_jpki_flags == *" $o "* ]]; then
				expect_status 0 "${cmd[@]}" "$o" --help
			else
				expect_status 0 "${cmd[@]}" "$o=1" --help
			fi
			grep -q -- "\`$o\`" "$JPKI_SOURCE/docs/man/jpki-$g.1.md" ||
				[ "$o" = --data ] || [ "$o" = --json ] ||
				fail "completion offers $o for jpki ${cmd[*]}, jpki-$g(1) does not mention it"
		done
	done
	# The other way round: what the usage text names, the completion offers.
	for o in $("$JPKI" "$g" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
		case " $offered_in_group " in
		*" $o "*) ;;
		*) fail "jpki $g --help names $o; the completion never offers it" ;;
		esac
	done
done
expect_eq "values of --type for counter reset-pin" \
	"$(complete_words jpki counter reset-pin --type "")" "auth cardinfo sign"
expect_eq "--reason k" "$(complete_words jpki cert revoke X --reason k)" "keyCompromise"
expect_eq "an option given is not offered again" \
	"$(complete_words jpki --data d ca export --out x --)" "--help --json"
expect_eq "--data=DIR before the command" "$(complete_words jpki --data = d ca "")" "export issue renew-responders rollover show"
mkdir -p "$TMP/compdir/sub"
expect_eq "directories for --out of ca export" \
	"$(complete_words jpki ca export --out "$TMP/compdir/s")" "$TMP/compdir/sub"

# ---- make install ---------------------------------------------------------
check "cmake --install (make install) installs jpki, the manual pages and the completion"
cmake --install "$JPKI_BUILD" --prefix "$TMP/inst" >/dev/null || fail "cmake --install failed"
[ -x "$TMP/inst/bin/jpki" ] || fail "no bin/jpki installed"
for g in "" $groups; do
	[ -s "$TMP/inst/share/man/man1/jpki${g:+-$g}.1" ] || fail "no man1/jpki${g:+-$g}.1 installed"
done
cmp -s "$TMP/inst/share/bash-completion/completions/jpki" "$COMPLETION" ||
	fail "the completion is not installed as share/bash-completion/completions/jpki"
"$TMP/inst/bin/jpki" --help >/dev/null || fail "the installed jpki does not run"
if command -v man >/dev/null 2>&1; then
	MANPATH=$TMP/inst/share/man man -w jpki-counter >/dev/null 2>&1 ||
		fail "man does not find the installed jpki-counter(1)"
fi
make -n --no-print-directory -C "$JPKI_SOURCE" install PREFIX="$TMP/inst2" 2>/dev/null | grep -Eq "cmake --install build(-release)? --prefix $TMP/inst2" ||
	fail "make install does not wrap cmake --install"

done_ok
