#!/usr/bin/env bash
# The hostile-client tests of `hashidx serve` (Server/Tests/Hostile/README.md): a pytest suite that
# runs the server as a real process on 127.0.0.1 and attacks it (tokens on every spelling of
# every route, deep filters and JSON, slow clients, oversized and malformed requests,
# amplification, ids as bytes), and a schemathesis run of docs/openapi.json against it.
#
#   bash scripts/server-tests.sh [path/to/hashidx] [pytest arguments…]
#   bash scripts/server-tests.sh --prepare      # only make the Python venv ready
#
# The binary defaults to Server/.build/debug/hashidx, which runs hashidx-serve from the same
# folder (build both first: swift build --package-path Server && swift build --package-path
# Server --product hashidx). Python packages
# live in .build/venv-server-tests, installed from Server/Tests/Hostile/requirements.txt (exact
# versions) only when one of them is missing or at another version. Needs no stdin and no
# network beyond loopback once the packages are installed.
set -euo pipefail
cd "$(dirname "$0")/.."

prepare=0
if [ "${1:-}" = --prepare ]; then prepare=1; shift; fi
bin="${1:-Server/.build/debug/hashidx}"
[ $# -gt 0 ] && shift
if [ $prepare = 0 ] && [ ! -x "$bin" ]; then
    echo "server-tests: no executable hashidx at $bin (run swift build --package-path Server --product hashidx, or pass its path)" >&2
    exit 2
fi

venv=.build/venv-server-tests
req=Server/Tests/Hostile/requirements.txt
if ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    echo "== creating $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
fi
# name==version, lower case, '_' as '-': what the file pins, and what the venv has.
normalize() { { grep -v '^[[:space:]]*#' || true; } | sed '/^[[:space:]]*$/d' | tr 'A-Z_' 'a-z-' | sort -u; }
want=$(normalize <"$req")
have=$(PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip freeze 2>/dev/null | normalize)
missing=$(comm -23 <(echo "$want") <(echo "$have"))
if [ -n "$missing" ]; then
    echo "== installing into $venv: $(echo "$missing" | tr '\n' ' ')" >&2
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 "$venv/bin/python" -m pip install -q -r "$req"
fi

if [ $prepare = 1 ]; then echo "server-tests: $venv ready" >&2; exit 0; fi
HASHIDX_BIN="$(realpath "$bin")" exec "$venv/bin/python" -m pytest -q Server/Tests/Hostile "$@" </dev/null
