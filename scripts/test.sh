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
