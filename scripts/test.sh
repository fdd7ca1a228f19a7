#!/usr/bin/env bash
# Runs the whole test suite (installs liblz4-dev, libopenblas-dev and pkg-config first when
# missing), in two lanes at once so that both cores stay busy (a build takes both, a test
# run mostly one):
#
#   lane 1  the library's and the service's fast suites under ThreadSanitizer (.build-thread);
#           the Server package (.build under Server/): its XCTest suite, then the
#           hostile-client suite and the schemathesis contract run against `hashidx serve`
#           as a process (scripts/server-tests.sh; Server/Tests/Hostile);
#   lane 2  every suite of the root package under AddressSanitizer, optimised (.build-address): the
#           library's and the service's, the slow ones (all-bytes corruption) and the
#           command-line suite (processes: the CLI, SIGKILL during builds and commits), once;
#           every fuzz target for a short run (scripts/fuzz.sh --runs 3000); the example
#           package built and run (scripts/examples.sh); the DocC documentation from the symbol graphs the
#           example's build emitted, every warning an error (scripts/docs.sh); a scratch
#           package that depends on HashIdx, checked to resolve and compile nothing else
#           (scripts/check-dependent.sh); the C interface's test program and the Python
#           package's pytest suite (scripts/python-tests.sh: libHashIdxC release in .build,
#           the venv in .build-python); the distributed tests on a three-node Ray cluster
#           inside a network namespace of their own (scripts/ray-tests.sh).
#
# Each stage writes its log to .build-test-logs/STAGE.log; a failing stage's log is printed.
# At the end: the time of every stage and of the whole run.
# HASHIDX_TEST_QUICK=1 runs the root package's suites plainly, and nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh

if [ "${HASHIDX_TEST_QUICK:-0}" = 1 ]; then
    swift build --build-tests
    exec swift test --skip-build --disable-swift-testing
fi

logs=.build-test-logs
rm -rf "$logs" && mkdir -p "$logs"
started=$(date +%s)

# stage NAME COMMAND…: runs COMMAND with its output in $logs/NAME.log, records its time;
# on failure prints the log and returns non-zero.
stage() {
    local name=$1; shift
    local t0=$(date +%s)
    echo "== $name: started" >&2
    if "$@" > "$logs/$name.log" 2>&1; then
        local t=$(( $(date +%s) - t0 ))
        echo "$name $t" >> "$logs/times"
        echo "== $name: passed in ${t} s" >&2
    else
        local rc=$?
        echo "== $name: FAILED (exit $rc) after $(( $(date +%s) - t0 )) s; its log:" >&2
        cat "$logs/$name.log" >&2
        return $rc
    fi
}

# XCTest without LeakSanitizer: XCTest on Linux keeps every test case object, its teardown
# blocks and Foundation's Process/Bundle state until exit, which LSan reports as leaks that
# are not hashidx's. Leaks in the library are caught by the fuzz targets (libFuzzer checks
# every input for leaks).
export ASAN_OPTIONS=detect_leaks=0

# Scratch files — the tests' temporary directories, the fuzzer's inputs, the hostile suite's
# indexes — on tmpfs when the machine has one (and TMPDIR was not chosen). The suites rewrite
# thousands of small files and sync every commit; on this machine's ext4 disk a truncated and
# rewritten file is flushed on close, so the fuzz targets spent 90 of their 102 s waiting on
# the disk (12 s on tmpfs), and the syncs stalled the other lane. Durability across a power
# loss is not what the tests check: a SIGKILLed process leaves the page cache, as tmpfs is.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    TMPDIR=$(mktemp -d /dev/shm/hashidx-test.XXXXXX)
    export TMPDIR
    trap 'rm -rf "$TMPDIR"' EXIT
fi

# The slow suites and tests run once, under AddressSanitizer, not under ThreadSanitizer: the
# command-line target (processes; under TSan they took 330 of its 805 s), the all-bytes
# corruption suite (single-threaded reads of damaged files: ASan's business), the catalog's
# 2,400-operation model test (111 s under TSan; one writer thread) and the recall test on
# the shipped GloVe words (51 s; one search thread). Each says so in its doc comment. The
# threads of the library and the service are TSan's in the other suites (eight searching
# threads against one, readers during 100 commits, group commit from 40 tasks, …).
slow="HashIdxCommandLineTests\\.|HashIdxTests\\.HardeningTests/"
slow="$slow|HashIdxTests\\.CatalogTests/testRandomOperationsAgreeWithAModelOfTheCatalog"
slow="$slow|HashIdxTests\\.IndexTests/testRecallOnShippedGloVe"

lane1() {
    stage tsan-build swift build --build-tests --sanitize=thread --scratch-path .build-thread
    stage tsan-tests swift test --skip-build --disable-swift-testing --sanitize=thread --scratch-path .build-thread \
        --skip "^($slow)"
    # The Server package, and the root package's hashidx built beside its hashidx-serve.
    stage server-build swift build --build-tests --package-path Server
    stage server-cli swift build --package-path Server --product hashidx
    stage server-tests swift test --skip-build --disable-swift-testing --package-path Server
    # `hashidx serve` as users run it: hashidx hands over to the hashidx-serve beside it.
    while [ ! -f "$logs/hostile-venv.rc" ]; do sleep 1; done
    [ "$(cat "$logs/hostile-venv.rc")" = 0 ] || return 1
    stage hostile-suite bash scripts/server-tests.sh "$(swift build --package-path Server --show-bin-path)/hashidx"
}

lane2() {
    # Optimised (-O; the library has no assert() that -O would drop,
    # and Swift's bounds and overflow checks stay): every suite ran in 593 s at -Onone, 60 s
    # at -O, for 40 s more of build.
    stage asan-build swift build -c release -Xswiftc -enable-testing --build-tests --sanitize=address --scratch-path .build-address
    stage asan-tests swift test -c release --skip-build --disable-swift-testing --sanitize=address --scratch-path .build-address
    stage fuzz bash scripts/fuzz.sh --runs 3000
    stage example bash scripts/examples.sh --symbol-graphs .build-examples/symbol-graphs
    stage docs bash scripts/docs.sh --symbol-graphs .build-examples/symbol-graphs
    # A package of a user's that depends on HashIdx: by the version this commit is tagged
    # with (the tag of CHANGELOG.md's newest release, when the clone has it), else by path.
    # (In this lane, which ends ~2.5 minutes before lane 1 without it.)
    stage dependent bash scripts/check-dependent.sh --version-if-tagged
    # The C interface (its test program, plainly and under ASan + UBSan) and the Python
    # package installed as the README says, with its pytest suite (scripts/python-tests.sh).
    stage python bash scripts/python-tests.sh
    # The distributed tests on a three-node Ray cluster in a network namespace of their own
    # (scripts/ray-tests.sh; its venv made ready beside the lanes from the start).
    while [ ! -f "$logs/ray-venv.rc" ]; do sleep 1; done
    [ "$(cat "$logs/ray-venv.rc")" = 0 ] || return 1
    stage ray bash scripts/ray-tests.sh
}

# The hostile suite's Python venv, made ready beside the lanes from the start (mostly waiting
# on PyPI); lane 1 waits for it before the suite.
{ rc=0; stage hostile-venv bash scripts/server-tests.sh --prepare || rc=$?; echo $rc > "$logs/hostile-venv.rc"; } &
{ rc=0; stage ray-venv bash scripts/ray-tests.sh --prepare || rc=$?; echo $rc > "$logs/ray-venv.rc"; } &
lane1 & pid1=$!
lane2 & pid2=$!
status=0
wait $pid1 || status=1
wait $pid2 || status=1
wait

echo >&2
echo "stage times (s), two lanes at once:" >&2
[ -f "$logs/times" ] && while read -r name t; do printf '  %-16s %5d\n' "$name" "$t" >&2; done < "$logs/times"
echo "total: $(( $(date +%s) - started )) s" >&2
[ $status = 0 ] && echo "all tests passed" >&2 || echo "FAILED" >&2
exit $status
