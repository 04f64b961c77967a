#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/, see Fuzz/README.md) with AddressSanitizer and runs each
# for a while, starting from its committed seed corpus.
#
#   scripts/fuzz.sh [-t SECONDS] [--no-build] [TARGET...]
#
# TARGET is FuzzJWT, FuzzConfig, FuzzPath, FuzzRequestHead or FuzzUpstreamResponse (default: all, one after the
# other); SECONDS defaults to 60 per target. New inputs go to a scratch corpus outside git
# ($FUZZ_WORK/corpus/TARGET, default .build-fuzz/work), crashing inputs to
# $FUZZ_WORK/crashes/TARGET/. Prints per target the executions and coverage; exits non-zero
# if any target found a crash, a hang (over 10 s for one input), a leak or ran out of memory.
# --no-build runs what the last build made (for running targets side by side).
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(FuzzJWT FuzzConfig FuzzPath FuzzRequestHead FuzzUpstreamResponse)
seconds=60
build=1
targets=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        -t) seconds="$2"; shift 2 ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        Fuzz*) targets+=("$1"); shift ;;
        *) echo "unknown argument: $1 (see $0 --help)" >&2; exit 1 ;;
    esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")

scratch=.build-fuzz
work="${FUZZ_WORK:-$scratch/work}"
# PORTCULLIS_FUZZ adds the targets to Package.swift; the sanitizer flags apply to every Swift
# module, so the Portcullis code (and Yams, NIO) is instrumented for coverage. A separate
# scratch path keeps this build apart from the ordinary one.
export PORTCULLIS_FUZZ=1
if [[ $build == 1 ]]; then
    for target in "${targets[@]}"; do
        swift build --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address --product "$target"
    done
fi
bin="$(swift build --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address --show-bin-path)"

dictionary() {
    case "$1" in
        FuzzJWT) echo Fuzz/Dictionaries/jwt.dict ;;
        FuzzConfig) echo Fuzz/Dictionaries/yaml.dict ;;
        FuzzRequestHead | FuzzUpstreamResponse | FuzzPath) echo Fuzz/Dictionaries/http.dict ;;
    esac
}

# libFuzzer reports a failed precondition itself; Swift's own backtracer would only slow that
# down (and trips AddressSanitizer while reading the stack).
export SWIFT_BACKTRACE=enable=no
# Leaks are checked (libFuzzer's -detect_leaks is on), except the fixtures' (Fuzz/lsan.supp).
export LSAN_OPTIONS="suppressions=$PWD/Fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

failed=()
for target in "${targets[@]}"; do
    corpus="$work/corpus/$target"
    crashes="$work/crashes/$target"
    log="$work/logs/$target.log"
    mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
    echo "== $target: ${seconds}s"
    status=0
    # The scratch corpus comes first: libFuzzer adds new inputs to the first directory only.
    "$bin/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -dict="$(dictionary "$target")" -artifact_prefix="$crashes/" \
        "$corpus" "Fuzz/Corpus/$target" >"$log" 2>&1 || status=$?
    last="$(grep -E '^#[0-9]+' "$log" | tail -1 || true)"
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    echo "$target: ${runs:-?} executions; last status: ${last:-none}"
    if [[ $status != 0 ]]; then
        failed+=("$target")
        grep -E '(==[0-9]+==ERROR|^SUMMARY|Fatal error|Precondition failed|^ALARM)' "$log" | head -5 || true
        echo "$target FAILED (exit $status): log $log, input(s):" $(grep -o 'Test unit written to .*' "$log" | sed 's/Test unit written to //')
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzzing found problems in: ${failed[*]}" >&2
    exit 1
fi
