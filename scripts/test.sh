#!/usr/bin/env bash
# Installs what the tests need and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
"$(dirname "$0")/install-deps.sh"
swift build --build-tests
swift test --skip-build
# Resource limits against a real gateway process: idle connections, 1 MiB bodies, slowloris,
# a slow reader, max_connections (scripts/limits.py; without --quick for the full counts).
python3 scripts/limits.py --quick --binary "$(swift build --show-bin-path)/portcullis"
# The C plugins under valgrind memcheck, driven through every ABI call (20000 entries keeps it short).
PLUGINS_MEMCHECK_ENTRIES=${PLUGINS_MEMCHECK_ENTRIES:-20000} scripts/plugins-memcheck.sh
# Each libFuzzer target for 60 s from its seed corpus (scripts/fuzz.sh; its own .build-fuzz).
scripts/fuzz.sh -t 60
