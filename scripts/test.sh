#!/usr/bin/env bash
# Runs the whole test suite (installs liblz4-dev and libopenblas-dev first when missing):
#   1. every fuzz target for a short run (scripts/fuzz.sh --runs 3000; Fuzz/README.md),
#   2. the DocC documentation, every warning an error (scripts/docs.sh),
#   3. the example package, built and run (scripts/examples.sh),
#   4. the XCTest suite under ThreadSanitizer (build folder .build-thread), without the suites
#      that mostly run processes and the all-bytes corruption suite,
#   5. the XCTest suite under AddressSanitizer (build folder .build-address), without the
#      suites that mostly run processes,
#   6. the XCTest suite as built normally,
#   7. the hostile-client suite and the schemathesis contract run against `hashidx serve` as
#      a process (scripts/server-tests.sh; Tests/Hostile), with the binary step 6 built.
# HASHIDX_TEST_QUICK=1 runs step 6 only (for a quick local check).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
if [ "${HASHIDX_TEST_QUICK:-0}" != 1 ]; then
    bash scripts/fuzz.sh --runs 3000
    bash scripts/docs.sh
    bash scripts/examples.sh
    # LeakSanitizer is off for the XCTest run: XCTest on Linux keeps every test case
    # object, its teardown blocks and Foundation's Process/Bundle state until exit, which
    # LSan reports as leaks that are not hashidx's. Leaks in the library are caught by the
    # fuzz targets above (libFuzzer checks every input for leaks).
    # The suites that mostly start and kill processes (CLI runs, SIGKILL during builds, the
    # server as a process) run once, plainly (step 6): under a sanitizer they took 330 s of
    # TSan's 805 (CrashSafetyTests alone 275 s) and check no code path the in-process suites
    # do not. TSan skips the all-bytes corruption suite too (single-threaded reads: ASan's job).
    processes="CrashSafetyTests|CLITests|ServeProcessTests"
    for sanitizer in thread address; do
        skip="$processes"
        [ "$sanitizer" = thread ] && skip="$skip|HardeningTests"
        echo "== XCTest suite under --sanitize=$sanitizer (without $skip)" >&2
        swift build --build-tests --sanitize="$sanitizer" --scratch-path ".build-$sanitizer"
        ASAN_OPTIONS=detect_leaks=0 \
            swift test --skip-build --disable-swift-testing --sanitize="$sanitizer" --scratch-path ".build-$sanitizer" \
                --skip "^HashIdx(Server)?Tests\\.($skip)"
    done
    echo "== XCTest suite" >&2
fi
swift build --build-tests
swift test --skip-build --disable-swift-testing
if [ "${HASHIDX_TEST_QUICK:-0}" != 1 ]; then
    echo "== hostile clients and the contract, against hashidx serve" >&2
    bash scripts/server-tests.sh "$(swift build --show-bin-path)/hashidx"
fi
