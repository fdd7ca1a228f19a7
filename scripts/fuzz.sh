#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ (one per file reader) and runs each of them.
#
#   bash scripts/fuzz.sh                      # every target, 1,000,000 executions each
#   bash scripts/fuzz.sh --runs 2000 npy shard
#   bash scripts/fuzz.sh --build-only
#
# Targets: npy fvecs fbin ids groundtruth manifest shard deletions writelog attributes filter request.
# The library (and HashIdxService, for the request target) is compiled once
# with -sanitize=fuzzer,address and -D HASHIDX_FUZZING (checksums always match, files are
# read into exact-size allocations: see Sources/HashIdx/Storage/Checksum.swift and Platform/MappedFile.swift),
# then linked into one libFuzzer binary per target (swiftc -parse-as-library; SwiftPM's
# executables do not link libFuzzer's main). Each run starts from the committed seed corpus
# Fuzz/corpus/TARGET and adds what it finds to .build-fuzz/corpus/TARGET. A crash, hang
# (> 10 s), leak, allocation over 2 GB or sanitizer report fails the run; libFuzzer writes the
# input to .build-fuzz/artifacts/TARGET/. Output: one line per target with its executions.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/.build-fuzz
RUNS=1000000
BUILD_ONLY=0
JOBS=2
# Code generation threads of the whole-module compiles.
THREADS=$(nproc 2>/dev/null || echo 2)
TARGETS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=$2; shift 2 ;;
        --jobs) JOBS=$2; shift 2 ;;
        --build-only) BUILD_ONLY=1; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) TARGETS+=("$1"); shift ;;
    esac
done
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(npy fvecs fbin ids groundtruth manifest shard deletions writelog attributes filter request)

mkdir -p "$OUT/modules/CHashIdxKernels" "$OUT/lib"
# OpenBLAS (training): where pkg-config says its header and library are.
BLAS_CFLAGS="-Xcc $(pkg-config --cflags-only-I openblas | sed 's/ *$//')"
BLAS_LIBS="$(pkg-config --libs-only-L openblas) -lopenblas"
cat > "$OUT/modules/CHashIdxKernels/module.modulemap" <<MAP
module CHashIdxKernels {
    header "$ROOT/Sources/CHashIdxKernels/include/hashidx_kernels.h"
    export *
}
MAP

# The library, once (rebuilt only when a source is newer than it).
# The Swift libraries are compiled without optimisation: on this 2-core machine the whole
# stage (build, 11 links, 3,000 runs of each target) took 142 s at -Onone against 248 s at
# -O, nearly all of it compiling; a short run finds what it finds either way (bounds and
# overflow checks are on at both levels). For long fuzzing sessions, SWIFT_OPT=-O.
SWIFT_OPT=${SWIFT_OPT:--Onone}
LIB=$OUT/lib/libHashIdx.a
if [ ! -f "$LIB" ] || [ -n "$(find Sources/HashIdx Sources/CHashIdxKernels -newer "$LIB" -type f | head -1)" ]; then
    echo "fuzz: building the library with -sanitize=fuzzer,address" >&2
    rm -f "$OUT"/lib/kernels-*.o
    for c in Sources/CHashIdxKernels/*.c; do
        clang -c -O2 -g -fsanitize=address,fuzzer-no-link -I Sources/CHashIdxKernels/include \
            "$c" -o "$OUT/lib/kernels-$(basename "$c" .c).o"
    done
    (cd "$OUT/lib" && swiftc -parse-as-library -module-name HashIdx -emit-module -emit-library -static \
        "$SWIFT_OPT" -g -num-threads "$THREADS" -enable-testing -sanitize=fuzzer,address -D HASHIDX_FUZZING -package-name hashidx \
        -I "$OUT/modules" -I "$ROOT/Sources/CLZ4" -I "$ROOT/Sources/COpenBLAS" $BLAS_CFLAGS \
        $(find "$ROOT/Sources/HashIdx" -name "*.swift" | sort) -o "$LIB")
fi
# The service layer (request decoding), above the library.
SERVICE_LIB=$OUT/lib/libHashIdxService.a
if [ ! -f "$SERVICE_LIB" ] || [ "$LIB" -nt "$SERVICE_LIB" ] || [ -n "$(find Sources/HashIdxService -newer "$SERVICE_LIB" -type f | head -1)" ]; then
    echo "fuzz: building HashIdxService with -sanitize=fuzzer,address" >&2
    (cd "$OUT/lib" && swiftc -parse-as-library -module-name HashIdxService -emit-module -emit-library -static \
        "$SWIFT_OPT" -g -num-threads "$THREADS" -sanitize=fuzzer,address -package-name hashidx \
        -I "$OUT/lib" -I "$OUT/modules" -I "$ROOT/Sources/CLZ4" -I "$ROOT/Sources/COpenBLAS" $BLAS_CFLAGS \
        $(find "$ROOT/Sources/HashIdxService" -name "*.swift" | sort) -o "$SERVICE_LIB")
fi

for t in "${TARGETS[@]}"; do
    [ -f "Fuzz/Targets/$t.swift" ] || { echo "fuzz: no target '$t' (Fuzz/Targets/$t.swift)" >&2; exit 2; }
    BIN=$OUT/fuzz-$t
    if [ ! -f "$BIN" ] || [ "$LIB" -nt "$BIN" ] || [ "$SERVICE_LIB" -nt "$BIN" ] || [ "Fuzz/Targets/$t.swift" -nt "$BIN" ] || [ Fuzz/Support/Harness.swift -nt "$BIN" ]; then
        echo "fuzz: linking $t" >&2
        # (gold warns about every ASan helper symbol; the log is shown only on failure.)
        swiftc -parse-as-library -module-name "Fuzz_$t" -O -g -sanitize=fuzzer,address \
            -I "$OUT/lib" -I "$OUT/modules" -I "$ROOT/Sources/CLZ4" -I "$ROOT/Sources/COpenBLAS" $BLAS_CFLAGS \
            Fuzz/Support/Harness.swift "Fuzz/Targets/$t.swift" "$SERVICE_LIB" "$LIB" "$OUT"/lib/kernels-*.o -llz4 $BLAS_LIBS -o "$BIN" \
            > "$OUT/link-$t.log" 2>&1 || { grep -v 'Cannot export local symbol' "$OUT/link-$t.log" >&2; exit 1; }
    fi
done
[ $BUILD_ONLY = 1 ] && exit 0

# Inputs are written to files (the readers under test read files): on tmpfs when there is
# one, since a disk flushes each truncated-and-rewritten file (102 s → 12 s for the 11 targets
# at 3,000 runs on this machine).
scratch_base=${TMPDIR:-}
if [ -z "$scratch_base" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then scratch_base=/dev/shm; fi
SCRATCH=$(mktemp -d "${scratch_base:-/tmp}/hashidx-fuzz.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
run_one() {
    local t=$1
    mkdir -p "$OUT/corpus/$t" "$OUT/artifacts/$t"
    local dict=()
    [ -f "Fuzz/dictionaries/$t.dict" ] && dict=(-dict="Fuzz/dictionaries/$t.dict")
    local log=$OUT/$t.log
    if SWIFT_BACKTRACE=enable=no HASHIDX_FUZZ_SCRATCH=$SCRATCH/$t "$OUT/fuzz-$t" -runs="$RUNS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t/" "${dict[@]}" "$OUT/corpus/$t" "Fuzz/corpus/$t" > "$log" 2>&1; then
        echo "fuzz $t: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') executions, no failure ($(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | grep -o '[0-9]*$') MB peak)"
    else
        echo "fuzz $t: FAILED, see $log and $OUT/artifacts/$t/" >&2
        tail -40 "$log" >&2
        return 1
    fi
}
export -f run_one
export OUT RUNS SCRATCH
printf '%s\n' "${TARGETS[@]}" | xargs -P "$JOBS" -I{} bash -c 'run_one {}'
