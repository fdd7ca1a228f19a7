#!/usr/bin/env bash
# Installs what hashidx needs to build and is not part of Swift, through apt when missing:
# liblz4's headers (shard compression) and OpenBLAS (BLAS + LAPACK for training), plus
# pkg-config, which SwiftPM uses to find both.
set -euo pipefail
missing=()
command -v pkg-config > /dev/null || missing+=(pkg-config)
if [ ! -f /usr/include/lz4.h ] && ! pkg-config --exists liblz4 2>/dev/null; then missing+=(liblz4-dev); fi
if ! pkg-config --exists openblas 2>/dev/null; then missing+=(libopenblas-dev); fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}…" >&2
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2
fi
