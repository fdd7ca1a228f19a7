#!/usr/bin/env bash
# Builds and runs every example package under Examples/ (Examples/README.md): each must
# build and run to the end (an example checks what it prints and exits non-zero when
# something is off). Build folder: .build-examples (apart from the main .build).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
scratch=.build-examples
for example in CatalogService; do
    echo "== Examples/$example: build" >&2
    swift build --package-path "Examples/$example" --scratch-path "$scratch"
    echo "== Examples/$example: run" >&2
    "$scratch/debug/$example"
done
echo "examples: all built and ran" >&2
