#!/bin/sh
# Installs the Debian packages openjpki needs to build, test and run.
# Idempotent: does nothing when everything is already present.
# Usage: scripts/install-deps.sh [build|test|all]   (default: all)
set -eu

build_pkgs="build-essential cmake pkg-config libssl-dev libsqlite3-dev libjansson-dev
libmicrohttpd-dev libsodium-dev libpcsclite-dev libpq-dev openssl sqlite3
libcairo2-dev libpango1.0-dev fonts-noto-cjk libqpdf-dev"
test_pkgs="clang libclang-rt-14-dev gnutls-bin pcscd vsmartcard-vpcd opensc opensc-pkcs11
pcsc-tools procps poppler-utils python3 groff-base curl prometheus libnss3-tools qpdf"

case "${1:-all}" in
build) want="$build_pkgs" ;;
test|all) want="$build_pkgs $test_pkgs" ;;
*) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
echo "install-deps: installing:$missing" >&2
$SUDO apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
