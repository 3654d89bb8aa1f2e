#!/bin/bash
# The `make run` walk-through (scripts/demo.sh) runs end to end, twice on
# the same data directory (a second `make run` reuses it), and leaves an
# intact audit chain.
set -euo pipefail
: "${JPKI:?}" "${JPKI_SOURCE:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for run in 1 2; do
	sh "$JPKI_SOURCE/scripts/demo.sh" "$JPKI" "$work/demo" >"$work/out" 2>&1 ||
		{ tail -30 "$work/out"; echo "FAIL: demo run $run exited non-zero"; exit 1; }
	grep -q "Verified OK" "$work/out" || { echo "FAIL: run $run: signature not verified"; exit 1; }
	grep -q "audit chain intact" "$work/out" || { echo "FAIL: run $run: audit"; exit 1; }
	grep -q "clerk: demo-clerk / counter-demo-1" "$work/out" &&
		"$JPKI" --data "$work/demo" clerk list | grep -q "^demo-supervisor *supervisor *active" ||
		{ echo "FAIL: run $run: no demo clerks for the web UI"; exit 1; }
	grep -q "error 23 at 0 depth lookup: certificate revoked" "$work/out" ||
		{ echo "FAIL: run $run: the CRL does not revoke the moved holder's certificate"; exit 1; }
done
echo "ok: demo ran twice"
