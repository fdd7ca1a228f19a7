#!/usr/bin/env bash
# The main job on the data shipped in Data/: build an index over the 20,000 most frequent
# GloVe words and show the nearest neighbours of a few of them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
swift build -c release --product hashidx
BIN=.build/release/hashidx
$BIN build Data/glove-20k.npy --ids Data/glove-20k.txt -o .build/glove-20k.hidx
$BIN info .build/glove-20k.hidx
for word in king paris computer; do
    echo
    $BIN query .build/glove-20k.hidx --id "$word" --k 8
done
