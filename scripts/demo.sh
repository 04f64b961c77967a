#!/usr/bin/env bash
# Installs what the build needs, builds, and runs the gateway on gateway.yaml with the demo
# upstream behind it. Stop with Ctrl-C (both processes stop).
set -euo pipefail
cd "$(dirname "$0")/.."
"$(dirname "$0")/install-deps.sh"
for product in portcullis portcullis-demo portcullis_memory portcullis_redis portcullis_sqlite; do
    swift build -c release --product "$product"
done
BIN=$(swift build -c release --show-bin-path)
mkdir -p data  # gateway.yaml keeps its SQLite blocklist in data/revoked.db
"$BIN/portcullis" check --config gateway.yaml
"$BIN/portcullis-demo" --config gateway.yaml --listen 127.0.0.1:9000 &
demo=$!
trap 'kill $demo 2>/dev/null || true' EXIT
exec_status=0
"$BIN/portcullis" serve --config gateway.yaml || exec_status=$?
exit $exec_status
