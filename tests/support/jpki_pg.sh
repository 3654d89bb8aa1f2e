#!/bin/sh
# jpki_pg.sh: the jpki the tests run when the suite runs on PostgreSQL.
# Every `jpki init` gets a fresh, empty database of the test cluster
# (JPKI_TEST_PG: the directory pg_cluster.sh started it in) through
# JPKI_DATABASE, as an operator's would; every other command is the real
# binary (JPKI_REAL), exec'd, so its process is jpki itself.
: "${JPKI_REAL:?set JPKI_REAL to the jpki binary}"
: "${JPKI_TEST_PG:?set JPKI_TEST_PG to the test cluster directory}"

cmd=
skip=0
for a in "$@"; do
	if [ "$skip" = 1 ]; then skip=0; continue; fi
	case $a in
	--data) skip=1 ;;
	-*) ;;
	*) cmd=$a; break ;;
	esac
done
if [ "$cmd" = init ] && [ -z "${JPKI_DATABASE_KEEP:-}" ]; then
	name="t_$(date +%s%N)_$$"
	JPKI_DATABASE=$(sh "$(dirname "$0")/pg_cluster.sh" createdb "$JPKI_TEST_PG" "$name") ||
		{ echo "jpki_pg.sh: cannot create database $name" >&2; exit 1; }
	export JPKI_DATABASE
fi
exec "$JPKI_REAL" "$@"
