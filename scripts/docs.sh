#!/usr/bin/env bash
# Builds the DocC documentation of the HashIdx library (the catalog
# Sources/HashIdx/HashIdx.docc and the doc comments) with swift-docc-plugin, treating every
# DocC warning (an unresolved symbol or article link, a bad topic group) as an error.
# Build folder and output under .build-docs, apart from the main .build.
#
# The output, .build-docs/HashIdx, is a DocC archive laid out for static hosting: serve the
# folder and open /documentation/hashidx/, e.g.
#   python3 -m http.server --directory .build-docs/HashIdx 8000
#   → http://localhost:8000/documentation/hashidx/
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
scratch=.build-docs
out="$scratch/HashIdx"
swift package --scratch-path "$scratch" --allow-writing-to-directory "$scratch" \
    generate-documentation --target HashIdx --warnings-as-errors --output-path "$out"
echo "docs: $out (serve it and open /documentation/hashidx/)" >&2
