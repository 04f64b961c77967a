#!/usr/bin/env bash
# Runs the package benchmarks (Benchmarks/PortcullisBenchmarks) in release; arguments go to
# the benchmark plugin (`scripts/benchmarks.sh --filter 'Route.*'`, `... help`).
#
# PORTCULLIS_BENCHMARKS=1 adds ordo-one/benchmark and the benchmark target to Package.swift;
# without it neither exists. The benchmark plugin builds only the benchmark executable, so the
# memory plugin it dlopens (libportcullis_memory.so, next to the executable) is built first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PORTCULLIS_BENCHMARKS=1
for plugin in memory sqlite redis; do swift build -c release --product "portcullis_$plugin"; done
exec swift package benchmark "$@"
