#!/bin/sh
# deps.sh: make sure the Debian packages that build and test buzon are there.
#
# Run by `make run` and `make check` before anything else, so it must be fast
# when nothing is missing (one dpkg-query call). As root it installs what is
# missing (apt-get update once, then one apt-get install); otherwise it prints
# the missing package names, one per line, and the command to run, and fails.
#
#   scripts/deps.sh            check (and install as root)
#   scripts/deps.sh --list     print every package this project needs
set -eu

# To build: the compilers (clang also for the fuzz targets, whose libFuzzer
# runtime is libclang-rt-dev), and the libraries in the Makefile's PKGS.
BUILD_PACKAGES="gcc clang libclang-rt-dev make pkg-config libssl-dev libsqlite3-dev
libcrypt-dev zlib1g-dev libpq-dev libidn-dev"
# To test: the real clients the integration tests drive (fetchmail: the
# POP3 download client of test_pop3_fetchmail), pgrep/ps, and Dovecot's IMAP
# server (dovecot-imapd: the reference test_imap_dovecot compares buzon with),
# GNU gsasl (the SCRAM-SHA-256(-PLUS) client of test_auth), PostgreSQL's
# server (postgresql: initdb and postgres, which tests/integration/pgserver.py
# starts on a temporary folder for the postgres store's tests; its pg_trgm
# extension, which the store needs, is in the same package).
TEST_PACKAGES="python3 curl openssl isync neomutt swaks procps fetchmail dovecot-imapd gsasl
postgresql"

ALL_PACKAGES=$(echo $BUILD_PACKAGES $TEST_PACKAGES)

if [ "${1:-}" = "--list" ]; then
	for p in $ALL_PACKAGES; do echo "$p"; done
	exit 0
fi

# One dpkg-query for all: a package that is not installed prints another
# status or nothing at all (dpkg-query then fails, which is fine here).
missing=""
status=$(dpkg-query -W -f='${Package} ${Status}\n' $ALL_PACKAGES 2>/dev/null || true)
for p in $ALL_PACKAGES; do
	if ! printf '%s\n' "$status" | grep -q "^$p install ok installed$"; then
		missing="$missing $p"
	fi
done
missing=$(echo $missing)

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	echo "deps.sh: installing:$(printf ' %s' $missing)" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends $missing
	exit 0
fi

echo "deps.sh: these Debian packages are missing:" >&2
for p in $missing; do echo "$p"; done
echo "install them with:" >&2
echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends $missing" >&2
exit 1
