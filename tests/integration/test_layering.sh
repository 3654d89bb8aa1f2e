#!/usr/bin/env bash
# test_layering.sh: a module includes only itself and the modules
# CMakeLists.txt lets it link (DEPS_<module>), so the picture in
# docs/architecture.md stays true: card includes nothing of store, pki and
# rules do no I/O of the store or the card, no module reaches up.  (The
# linker catches calls; this catches a header-only use, a type or macro.)
set -euo pipefail
: "${JPKI_SOURCE:?set JPKI_SOURCE to the source tree}"
cd "$JPKI_SOURCE"

failures=0
modules=$(sed -n 's/^set(MODULES \(.*\))$/\1/p' CMakeLists.txt)
[ -n "$modules" ] || { echo "test_layering: FAIL: no MODULES in CMakeLists.txt"; exit 1; }
for m in $modules; do
	allowed=" $m $(sed -n "s/^set(DEPS_$m \(.*\))$/\1/p" CMakeLists.txt | tr -d '"') "
	for f in src/"$m"/*.[ch] src/"$m"/*.def; do
		[ -e "$f" ] || continue
		while IFS= read -r inc; do
			case "$allowed" in
			*" $inc "*) ;;
			*) echo "test_layering: FAIL: $f includes $inc/, which $m may not use (DEPS_$m:$allowed)"
			   failures=$((failures + 1)) ;;
			esac
		done < <(sed -n 's/^#include "\([a-z]*\)\/.*/\1/p' "$f" | sort -u)
	done
done
# The two the structure issue named.
if grep -l '#include "store/' src/card/* >/dev/null 2>&1; then
	echo "test_layering: FAIL: the card module includes the store"; failures=$((failures + 1))
fi
if grep -l '#include "card/' src/ca/* >/dev/null 2>&1; then
	echo "test_layering: FAIL: the ca module includes the card"; failures=$((failures + 1))
fi
# The public responder never gains issuance power: `jpki serve` (server)
# reaches neither the counter nor the counter's web UI, and the web UI,
# which issues, shares no code path with the responder.
if grep -l -e '#include "counter/' -e '#include "webui/' src/server/* >/dev/null 2>&1; then
	echo "test_layering: FAIL: the public server includes the counter or its web UI"
	failures=$((failures + 1))
fi
if grep -l '#include "server/' src/webui/* >/dev/null 2>&1; then
	echo "test_layering: FAIL: the web UI includes the public server"
	failures=$((failures + 1))
fi
[ "$failures" -eq 0 ] || exit 1
echo "test_layering: ok ($(echo $modules | wc -w) modules)"
