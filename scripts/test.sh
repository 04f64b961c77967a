#!/usr/bin/env bash
# Installs what the tests need and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
"$(dirname "$0")/install-deps.sh"
swift build --build-tests
mkdir -p .build
swift test --skip-build 2>&1 | tee .build/test.log
# SwiftNIO only logs a task scheduled on an event loop that was already shut down (a shutdown
# done in the wrong order); later versions crash on it, so it fails the run here.
if grep -q "Cannot schedule tasks on an EventLoop that has already shut down" .build/test.log; then
    echo "test.sh: a task was scheduled on an event loop already shut down (see .build/test.log)" >&2
    exit 1
fi
# Resource limits against a real gateway process: idle connections, 1 MiB bodies, slowloris,
# a slow reader, max_connections (scripts/limits.py; without --quick for the full counts).
python3 scripts/limits.py --quick --binary "$(swift build --show-bin-path)/portcullis"
# The C plugins under valgrind memcheck, driven through every ABI call (20000 entries keeps it short).
PLUGINS_MEMCHECK_ENTRIES=${PLUGINS_MEMCHECK_ENTRIES:-20000} scripts/plugins-memcheck.sh
# Each libFuzzer target for 60 s from its seed corpus (scripts/fuzz.sh; its own .build-fuzz).
scripts/fuzz.sh -t 60
# The whole suite under AddressSanitizer (with LeakSanitizer) and ThreadSanitizer, each in its
# own build folder. One test at a time: in parallel on 2 cores the sanitizers slow the tests
# with 1 s upstream timeouts past them.
scripts/sanitize.sh address --no-parallel
scripts/sanitize.sh thread --no-parallel
