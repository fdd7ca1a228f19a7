#!/usr/bin/env bash
# Recall and speed of hashidx on GloVe-50 (390,000 base vectors, 10,000 queries), the data
# set of ../shared/datasets/glove50.py, at the default settings and a candidate sweep.
#
#   Benchmarks/glove50.sh [DATA_DIR] [QUERIES]
#
# DATA_DIR (default .build/glove50) receives base.npy, queries.npy and gt.npy if it does
# not hold them yet (needs python3 with numpy). QUERIES (default 10000) limits the queries.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-.build/glove50}
QUERIES=${2:-10000}
if [ ! -f "$DATA/gt.npy" ]; then
    python3 ../shared/datasets/glove50.py "$DATA"
fi
bash scripts/ensure-deps.sh
swift build -c release --product hashidx
BIN=.build/release/hashidx
INDEX=.build/glove50.hidx
/usr/bin/time -f "build: %e s wall, %M KB peak RSS" $BIN build "$DATA/base.npy" -o "$INDEX"
$BIN info "$INDEX"
$BIN eval "$INDEX" --queries "$DATA/queries.npy" --ground-truth "$DATA/gt.npy" --k 10 \
    --limit "$QUERIES" --probes 32,64,128,256 --candidates 100,200,500
