#!/usr/bin/env bash
# Builds and runs every example package under Examples/ (Examples/README.md): each must
# build and run to the end (an example checks what it prints and exits non-zero when
# something is off). Build folder: .build-examples (apart from the main .build).
#
#   bash scripts/examples.sh
#   bash scripts/examples.sh --symbol-graphs DIR   # the build also emits the symbol graphs of
#                                                  # every module it compiles into DIR
#                                                  # (scripts/docs.sh --symbol-graphs DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
flags=()
while [ $# -gt 0 ]; do
    case "$1" in
        --symbol-graphs)
            mkdir -p "$2"
            flags=(-Xswiftc -emit-symbol-graph -Xswiftc -emit-symbol-graph-dir -Xswiftc "$(cd "$2" && pwd)")
            shift 2 ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "examples: unknown argument $1" >&2; exit 2 ;;
    esac
done
bash scripts/ensure-deps.sh
scratch=.build-examples
for example in CatalogService; do
    echo "== Examples/$example: build" >&2
    swift build --package-path "Examples/$example" --scratch-path "$scratch" ${flags[@]+"${flags[@]}"}
    echo "== Examples/$example: run" >&2
    "$scratch/debug/$example"
done
echo "examples: all built and ran" >&2
