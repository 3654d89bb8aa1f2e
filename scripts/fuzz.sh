#!/bin/sh
# Runs every libFuzzer target in BUILD for SECONDS each, from its seed
# corpus (fuzz/corpus/<target>/), and fails on the first crash or leak.
set -eu
build=$1
seconds=$2
src=$(cd "$(dirname "$0")/.." && pwd)
found=0
for f in "$build"/fuzz_*; do
	[ -x "$f" ] || continue
	found=1
	name=$(basename "$f")
	work=$(mktemp -d)
	if [ -d "$src/fuzz/corpus/$name" ]; then
		cp -r "$src/fuzz/corpus/$name/." "$work/"
	fi
	echo "fuzz: $name for ${seconds}s"
	"$f" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=0 \
		"$work" >"$work.log" 2>&1 || { tail -60 "$work.log"; rm -rf "$work" "$work.log"; exit 1; }
	tail -1 "$work.log"
	rm -rf "$work" "$work.log"
done
[ "$found" = 1 ] || echo "fuzz: no targets built"
