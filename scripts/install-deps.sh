#!/bin/sh
# Installs the Debian packages openjpki needs to build, test and run.
# Idempotent: does nothing when everything is already present.
# Usage: scripts/install-deps.sh [build|test|bench|all]   (default: all)
set -eu

build_pkgs="build-essential cmake pkg-config libssl-dev libsqlite3-dev libjansson-dev
libmicrohttpd-dev libsodium-dev libpcsclite-dev libpq-dev openssl sqlite3
libcairo2-dev libpango1.0-dev fonts-noto-cjk libopenjp2-7-dev
libp11-kit-dev libseccomp-dev libqpdf-dev"
test_pkgs="clang libclang-rt-14-dev gnutls-bin pcscd vsmartcard-vpcd opensc opensc-pkcs11
pcsc-tools procps poppler-utils python3 groff-base curl prometheus
libopenjp2-tools
softhsm2
postgresql xxd
nodejs npm chromium
libnss3-tools qpdf"
bench_pkgs="golang-cfssl"

case "${1:-all}" in
build) want="$build_pkgs" ;;
test) want="$build_pkgs $test_pkgs" ;;
bench) want="$build_pkgs $bench_pkgs" ;;
all) want="$build_pkgs $test_pkgs $bench_pkgs" ;;
*) echo "usage: $0 [build|test|bench|all]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	# A node with its own npm (e.g. NodeSource's nodejs package bundles it)
	# needs no Debian npm, which would conflict with it.
	if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then
		continue
	fi
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		SUDO=sudo
	else
		SUDO=
	fi
	echo "install-deps: installing:$missing" >&2
	$SUDO apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
fi

# The browser tests' driver (playwright-core, pinned in
# tests/browser/package-lock.json) from the npm registry; it drives
# Debian's chromium, so no browser is downloaded.
case "${1:-all}" in
test|all)
	browser=$(cd "$(dirname "$0")/../tests/browser" && pwd)
	if [ ! -f "$browser/node_modules/.package-lock.json" ] ||
	    ! cmp -s "$browser/package-lock.json" "$browser/node_modules/.lock-installed"; then
		echo "install-deps: npm ci in tests/browser" >&2
		(cd "$browser" && npm ci --no-audit --no-fund >/dev/null &&
		    cp package-lock.json node_modules/.lock-installed)
	fi ;;
esac
