#!/usr/bin/env bash
# Installs what hashidx needs to build and is not part of Swift: liblz4's headers.
set -euo pipefail
if [ ! -f /usr/include/lz4.h ] && ! pkg-config --exists liblz4 2>/dev/null; then
    echo "installing liblz4-dev…" >&2
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq liblz4-dev pkg-config >&2
fi
