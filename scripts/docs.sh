#!/usr/bin/env bash
# Builds the DocC documentation of the HashIdx library (the catalog
# Sources/HashIdx/HashIdx.docc and the doc comments) with the toolchain's docc, treating every
# DocC warning (an unresolved symbol or article link, a bad topic group) as an error. No
# package plugin: the package depends on nothing for its documentation.
#
#   bash scripts/docs.sh                        # builds HashIdx under .build-docs first
#   bash scripts/docs.sh --symbol-graphs DIR    # uses the symbol graphs a build already
#                                               # emitted into DIR (-emit-symbol-graph)
#
# The output, .build-docs/HashIdx, is a DocC archive laid out for static hosting: serve the
# folder and open /documentation/hashidx/, e.g.
#   python3 -m http.server --directory .build-docs/HashIdx 8000
#   → http://localhost:8000/documentation/hashidx/
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=.build-docs
out="$scratch/HashIdx"
emitted=""
while [ $# -gt 0 ]; do
    case "$1" in
        --symbol-graphs) emitted=$2; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "docs: unknown argument $1" >&2; exit 2 ;;
    esac
done
if [ -z "$emitted" ]; then
    bash scripts/ensure-deps.sh
    emitted="$scratch/emitted-symbol-graphs"
    mkdir -p "$emitted"
    swift build --scratch-path "$scratch" --target HashIdx \
        -Xswiftc -emit-symbol-graph -Xswiftc -emit-symbol-graph-dir -Xswiftc "$PWD/$emitted"
fi
# HashIdx's own graph and its extensions of other modules' types (HashIdx@Swift…), nothing else.
graphs="$scratch/symbol-graphs"
rm -rf "$graphs" && mkdir -p "$graphs"
cp "$emitted"/HashIdx.symbols.json "$graphs"/
find "$emitted" -maxdepth 1 -name 'HashIdx@*.symbols.json' -exec cp {} "$graphs"/ \;
rm -rf "$out"
docc convert Sources/HashIdx/HashIdx.docc --additional-symbol-graph-dir "$graphs" \
    --fallback-display-name HashIdx --fallback-bundle-identifier HashIdx \
    --warnings-as-errors --transform-for-static-hosting --output-path "$out" > "$scratch/docc.log" 2>&1 \
    || { cat "$scratch/docc.log" >&2; echo "docs: DocC failed (every warning is an error)" >&2; exit 1; }
grep -i "warning\|error" "$scratch/docc.log" >&2 || true
echo "docs: $out (serve it and open /documentation/hashidx/)" >&2
