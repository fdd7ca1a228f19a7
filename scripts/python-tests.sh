#!/usr/bin/env bash
# The C interface and the Python package, as users get them:
#   1. libHashIdxC and the hashidx CLI, release (SwiftPM's default .build);
#   2. the C test program (Tests/C/c_api_test.c) built with cc against include/hashidx.h,
#      run plainly and under AddressSanitizer + UBSan (the test program instrumented; the
#      library is the release one users link);
#   3. a venv (.build-python/venv, from python/tests/requirements.txt), `pip install ./python`
#      as the README says (it builds the library again: a no-op after step 1);
#   4. pytest python/tests, the CLI beside it for the CLI-equality test.
# Usage: bash scripts/python-tests.sh [pytest arguments…]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh

swift build -c release --product HashIdxC
swift build -c release --product hashidx
bin=$(swift build -c release --show-bin-path)

out=.build-python
mkdir -p "$out"
cc -std=c11 -Wall -Wextra -Werror -O1 -I include Tests/C/c_api_test.c -L "$bin" -lHashIdxC -Wl,-rpath,"$bin" -lm \
    -o "$out/c_api_test"
"$out/c_api_test"
cc -std=c11 -Wall -Wextra -Werror -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -I include \
    Tests/C/c_api_test.c -L "$bin" -lHashIdxC -Wl,-rpath,"$bin" -lm -o "$out/c_api_test_asan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 "$out/c_api_test_asan"

venv=$PWD/$out/venv
if ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "$venv"
    python3 -m venv "$venv"
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
"$venv/bin/python" -m pip install -q -r python/tests/requirements.txt
"$venv/bin/python" -m pip install -q ./python
# From outside python/, so that `import hashidx` is the installed package.
cd "$out"
HASHIDX_CLI="$bin/hashidx" exec "$venv/bin/python" -m pytest -q -p no:cacheprovider ../python/tests "$@" </dev/null
