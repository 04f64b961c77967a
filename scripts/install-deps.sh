#!/usr/bin/env bash
# Debian packages the build and the tests need (run as root, or with sudo available).
set -euo pipefail
# gcc and g++ provide `cc` and `c++`: tests compile plugins as a plugin author would.
# valgrind checks the C plugins (scripts/plugins-memcheck.sh); e2fsprogs has chattr (read-only SQLite test).
packages=(libsqlite3-dev libhiredis-dev redis-server gcc g++ curl openssl valgrind e2fsprogs python3)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
((${#missing[@]} == 0)) && exit 0
SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO=sudo
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "${missing[@]}"
