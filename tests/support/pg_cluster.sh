#!/bin/sh
# pg_cluster.sh: a throwaway PostgreSQL cluster for the tests, on a free
# loopback port, in a directory of its own, as an unprivileged user.
#
#   pg_cluster.sh start DIR   initdb (once) and start; prints the server's
#                             base URL (postgresql://jpki@127.0.0.1:PORT/)
#                             and keeps it in DIR/url
#   pg_cluster.sh stop DIR    stop it and remove DIR
#   pg_cluster.sh halt DIR    stop it as a crash would (-m immediate),
#                             keeping DIR: `start DIR` starts it again, on
#                             the same port, so its URLs still reach it
#   pg_cluster.sh createdb DIR NAME
#                             a fresh, empty database; prints its URL
#   pg_cluster.sh standby DIR PRIMARY
#                             a hot standby of the cluster started in
#                             PRIMARY (pg_basebackup -R, streaming), on
#                             another free loopback port; prints its base
#                             URL and keeps it in DIR/url; `stop DIR` ends it
#
# PostgreSQL refuses to run as root: as root the cluster runs as the
# `postgres` user the Debian package makes (or `nobody`).  Trust
# authentication, listening on 127.0.0.1 only; nothing outside DIR is
# touched, so a system cluster already running is left alone.
set -eu

usage="usage: pg_cluster.sh start|stop|halt|createdb|standby DIR [NAME|PRIMARY]"
cmd=${1:?$usage}
dir=${2:?$usage}

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] && [ -x "$bindir/initdb" ] ||
	{ echo "pg_cluster: no PostgreSQL server (Debian package postgresql)" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
	if id postgres >/dev/null 2>&1; then runas=postgres; else runas=nobody; fi
	as() { runuser -u "$runas" -- "$@"; }
else
	runas=$(id -un)
	as() { "$@"; }
fi

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# run_cluster OPTIONS: start the cluster in $dir/data on a free loopback
# port (the one it had, if it ran before) with OPTIONS; its URL into
# $dir/url and on stdout.
run_cluster() {
	port=
	if [ -f "$dir/url" ]; then
		port=$(sed -n 's|^postgresql://[^:]*:\([0-9]*\)/$|\1|p' "$dir/url")
	fi
	[ -n "$port" ] || port=$(free_port)
	as "$bindir/pg_ctl" -D "$dir/data" -w -t 60 -l "$dir/data/server.log" \
	    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir/sock -c max_connections=300 -c shared_buffers=64MB $1" \
	    start >/dev/null ||
		{ cat "$dir/data/server.log" >&2; exit 1; }
	echo "postgresql://jpki@127.0.0.1:$port/" >"$dir/url"
	cat "$dir/url"
}

case "$cmd" in
start)
	mkdir -p "$dir"
	chmod 0755 "$dir"
	if [ -f "$dir/url" ] && as "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		cat "$dir/url"
		exit 0
	fi
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		rm -rf "$dir/data"
		mkdir -p "$dir/data" "$dir/sock"
		chown "$runas" "$dir/data" "$dir/sock" 2>/dev/null || true
		as "$bindir/initdb" -D "$dir/data" -U jpki --auth=trust \
		    --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; exit 1; }
	fi
	# fsync off: the tests kill clients, never this server or the machine,
	# and a throwaway cluster need not survive a power cut.
	run_cluster "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	;;
standby)
	primary=${3:?$usage}
	purl=$(cat "$primary/url")
	pport=${purl##*:}
	pport=${pport%/}
	mkdir -p "$dir/sock"
	chmod 0755 "$dir"
	chown "$runas" "$dir" "$dir/sock" 2>/dev/null || true
	rm -rf "$dir/data"
	# A base backup of the primary that starts as its standby (-R writes
	# primary_conninfo and standby.signal), the WAL streamed alongside.
	as "$bindir/pg_basebackup" -h 127.0.0.1 -p "$pport" -U jpki -D "$dir/data" \
	    -R -X stream -c fast >"$dir/basebackup.log" 2>&1 ||
		{ cat "$dir/basebackup.log" >&2; exit 1; }
	# full_page_writes stays on: a standby replaying WAL needs it on its
	# primary only, but a restartpoint on a standby refuses it off.
	run_cluster "-c fsync=off -c hot_standby=on"
	;;
stop)
	if [ -d "$dir/data" ]; then
		as "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	;;
halt)
	as "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
	;;
createdb)
	name=${3:?usage: pg_cluster.sh createdb DIR NAME}
	base=$(cat "$dir/url")
	"$bindir/psql" -X -q -v ON_ERROR_STOP=1 "${base}postgres" \
	    -c "CREATE DATABASE \"$name\"" >/dev/null
	echo "${base}$name"
	;;
*)
	echo "$usage" >&2
	exit 2
	;;
esac
