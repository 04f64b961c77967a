#!/usr/bin/env bash
# Installs what the build needs, builds, and runs the gateway on gateway.yaml with the demo
# upstream behind it. Stop with Ctrl-C (both processes stop).
set -euo pipefail
cd "$(dirname "$0")/.."
"$(dirname "$0")/install-deps.sh"
swift build -c release --product portcullis
swift build -c release --product portcullis-demo
BIN=$(swift build -c release --show-bin-path)
"$BIN/portcullis" check --config gateway.yaml
"$BIN/portcullis-demo" --config gateway.yaml --listen 127.0.0.1:9000 &
demo=$!
trap 'kill $demo 2>/dev/null || true' EXIT
exec_status=0
"$BIN/portcullis" serve --config gateway.yaml || exec_status=$?
exit $exec_status
