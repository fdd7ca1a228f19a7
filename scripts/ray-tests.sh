#!/usr/bin/env bash
# The distributed tests (python/tests_ray) on a real multi-node Ray cluster — a head and two
# worker nodes, each its own raylet and object store — inside a network namespace of their
# own (`unshare --net`, loopback up): every node takes 127.0.0.1 and no byte leaves loopback.
# The venv (.build-python/venv-ray) holds Ray 2.60 (python/tests_ray/requirements.txt) and the
# package installed from python/ (libHashIdxC built in release, SwiftPM's .build).
# Needs root or unprivileged user namespaces (unshare --net --map-root-user otherwise).
# Usage: bash scripts/ray-tests.sh [pytest arguments…]
#        bash scripts/ray-tests.sh --prepare     # only make the venv ready (Ray, pinned)
set -euo pipefail
cd "$(dirname "$0")/.."
prepare=0
if [ "${1:-}" = --prepare ]; then prepare=1; shift; fi
venv=$PWD/.build-python/venv-ray
if ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "$venv"
    python3 -m venv "$venv"
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
"$venv/bin/python" -m pip install -q -r python/tests_ray/requirements.txt
if [ $prepare = 1 ]; then echo "ray-tests: $venv ready" >&2; exit 0; fi
bash scripts/ensure-deps.sh
"$venv/bin/python" -m pip install -q ./python
namespace=(unshare --net)
[ "$(id -u)" = 0 ] || namespace=(unshare --net --map-root-user)
# Ray's state and logs in a scratch folder of this run; no usage reporting.
# (A short path: Ray's Unix sockets live under it, and socket paths stop at 107 bytes.)
export RAY_TMPDIR="/tmp/hxray.$$" RAY_USAGE_STATS_ENABLED=0 HASHIDX_RAY_NETNS=1
mkdir -p "$RAY_TMPDIR"
trap 'rm -rf "$RAY_TMPDIR"' EXIT
cd .build-python
"${namespace[@]}" bash -c 'ip link set lo up && exec "$0" -m pytest -q -p no:cacheprovider ../python/tests_ray "$@"' \
    "$venv/bin/python" -W ignore::DeprecationWarning "$@" </dev/null
