#!/usr/bin/env bash
# Runs the whole test suite (installs liblz4-dev first when it is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
swift build --build-tests
swift test --skip-build --disable-swift-testing
