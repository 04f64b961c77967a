#!/usr/bin/env bash
# Builds and runs every test under a sanitizer, each in its own scratch folder so the normal
# .build is left alone:
#
#   scripts/sanitize.sh address   # ASan + LeakSanitizer, in .build-asan
#   scripts/sanitize.sh thread    # TSan, in .build-tsan
#
# The plugins are built with the same sanitizer (SwiftPM passes it to the C targets too) and
# the tests dlopen them from the scratch folder. Reports from dependencies and known false
# positives are suppressed in scripts/sanitizers/*.supp, each entry with the reason; a report
# that is not suppressed fails the run. Extra arguments go to `swift test` (e.g. --filter).
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: scripts/sanitize.sh address|thread [swift test arguments]}
shift
suppressions="$PWD/scripts/sanitizers"
case $kind in
address)
    scratch=.build-asan
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
    export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$suppressions/lsan.supp:print_suppressions=0}
    ;;
thread)
    scratch=.build-tsan
    export TSAN_OPTIONS=${TSAN_OPTIONS:-suppressions=$suppressions/tsan.supp:print_suppressions=0}
    ;;
*)
    echo "unknown sanitizer '$kind' (address or thread)" >&2
    exit 2
    ;;
esac
"$(dirname "$0")/install-deps.sh"
swift build --build-tests --sanitize="$kind" --scratch-path "$scratch"
# SANITIZE_GATE=reports fails only on a sanitizer report or a test process that did not finish,
# not on a failed test: under the sanitizers everything runs several times slower, and tests with
# 1 s upstream timeouts then fail on time alone. The log keeps every test result either way.
if [[ ${SANITIZE_GATE:-tests} == reports ]]; then
    log="$scratch/sanitize-$kind.log"
    swift test --skip-build --sanitize="$kind" --scratch-path "$scratch" "$@" 2>&1 | tee "$log" || true
    if grep -q -E "(WARNING|ERROR): (Address|Leak|Thread)Sanitizer" "$log"; then
        echo "sanitize.sh: $kind sanitizer reports in $log" >&2
        exit 1
    fi
    if ! grep -q -E "Test run with [0-9]+ tests? .*(passed|failed)" "$log"; then
        echo "sanitize.sh: the $kind test run did not finish (no closing summary in $log)" >&2
        exit 1
    fi
    echo "sanitize.sh: no $kind sanitizer report ($(grep -c '✘ Test .* failed' "$log" || true) tests failed, not gated)"
else
    swift test --skip-build --sanitize="$kind" --scratch-path "$scratch" "$@"
fi
