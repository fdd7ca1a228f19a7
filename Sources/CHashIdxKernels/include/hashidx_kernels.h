#ifndef HASHIDX_KERNELS_H
#define HASHIDX_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Hamming-scan kernels. `HIDX_KERNEL_AUTO` picks the fastest one the CPU offers.
enum {
    HIDX_KERNEL_AUTO = 0,
    HIDX_KERNEL_PORTABLE = 1,   /* SWAR bit counting, any CPU */
    HIDX_KERNEL_POPCNT = 2,     /* x86-64 POPCNT instruction, or the compiler's popcount elsewhere */
    HIDX_KERNEL_AVX512 = 3,     /* AVX-512F + VPOPCNTDQ */
    HIDX_KERNEL_AVX2 = 4,       /* AVX2 nibble-table popcount (Mula), codes of 4k words */
};

/// Whether `kernel` can run on this CPU.
int hidx_kernel_available(int kernel);

/// The kernel that HIDX_KERNEL_AUTO resolves to on this CPU for 256-bit codes (without
/// AVX-512, codes of 512 bits and more use AVX2 when the CPU has it).
int hidx_kernel_best(void);

/// A short name for a kernel ("portable", "popcnt", "avx512-vpopcntdq", "avx2").
const char *hidx_kernel_name(int kernel);

/// Hamming distances between `query` and `count` codes of `words` 64-bit words each,
/// stored contiguously at `codes`. Writes one distance per code to `out`.
/// Every kernel returns identical results. A kernel that is not available falls back to
/// the best available one.
void hidx_hamming_distances(int kernel, const uint64_t *codes, size_t count, size_t words,
                            const uint64_t *query, uint16_t *out);

/// `hidx_hamming_distances` followed by adding every distance to `histogram` (which has at
/// least `words * 64 + 1` entries), in one cache-friendly pass.
void hidx_hamming_histogram(int kernel, const uint64_t *codes, size_t count, size_t words,
                            const uint64_t *query, uint16_t *out, uint32_t *histogram);

/// `hidx_hamming_histogram` over several ranges of one code array: segment `s` is the
/// `counts[s]` codes from code number `starts[s]`; their distances are written one after the
/// other to `out`. One call per query instead of one per range keeps the per-call set-up
/// (the sub-histograms) off short ranges such as partitions.
void hidx_hamming_histogram_segments(int kernel, const uint64_t *codes, const size_t *starts,
                                     const size_t *counts, size_t segments, size_t words,
                                     const uint64_t *query, uint16_t *out, uint32_t *histogram);

/// `hidx_hamming_histogram_segments` counting only the scanned rows whose bit in `keep` is
/// set (bit `keep_first + i` for the `i`-th row this call scans, across its segments); the
/// others get 0xFFFF.
void hidx_hamming_histogram_segments_kept(int kernel, const uint64_t *codes, const size_t *starts,
                                          const size_t *counts, size_t segments, size_t words,
                                          const uint64_t *query, const uint64_t *keep, size_t keep_first,
                                          uint16_t *out, uint32_t *histogram);

/// `hidx_hamming_histogram_segments` leaving out the codes whose position is set in
/// `dropped` (bit `p % 64` of word `p / 64` is code number `p`: a shard's deleted rows); they
/// get 0xFFFF. Returns how many it left out.
size_t hidx_hamming_histogram_segments_dropping(int kernel, const uint64_t *codes, const size_t *starts,
                                                const size_t *counts, size_t segments, size_t words,
                                                const uint64_t *query, const uint64_t *dropped,
                                                uint16_t *out, uint32_t *histogram);

/// The set bits of the bitmap `bits` (bit `p % 64` of word `p / 64` is position `p`) among
/// positions `start ..< end`.
size_t hidx_bits_count(const uint64_t *bits, size_t start, size_t end);

/// Writes the positions of the set bits of `bits` in `start ..< end`, ascending, to `out`
/// (room for `hidx_bits_count` of them); returns how many.
size_t hidx_bits_positions(const uint64_t *bits, size_t start, size_t end, uint32_t *out);

/// Filtered search. Bit `i` of `out` (⌈count/64⌉ words) is set when `lo ≤ values[i] ≤ hi`
/// (`<` instead of `≤` on a side whose `*_strict` is non-zero); bits past `count` are zero.
void hidx_bits_f64_range(const double *values, size_t count, double lo, double hi, int lo_strict, int hi_strict,
                         uint64_t *out);

/// Hamming distance of the code at each of `count` listed positions (codes of `words` words)
/// to `query`, written to `out` in list order and counted into `histogram`.
void hidx_hamming_histogram_positions(const uint64_t *codes, const uint32_t *positions, size_t count, size_t words,
                                      const uint64_t *query, uint16_t *out, uint32_t *histogram);


/// Adds one to `histogram[v]` for every value `v` of `values` (histogram must be large enough).
void hidx_histogram_u16(const uint16_t *values, size_t count, uint32_t *histogram);

/// Writes to `out`, in ascending order, the index of every value below `threshold` and of the
/// first `at_threshold` values equal to it. Returns how many were written.
size_t hidx_collect_below(const uint16_t *values, size_t count, uint16_t threshold, size_t at_threshold,
                          uint32_t *out);

/// The portable path of `hidx_collect_below` (for tests; the fast path uses AVX-512BW).
size_t hidx_collect_below_portable(const uint16_t *values, size_t count, uint16_t threshold, size_t at_threshold,
                                   uint32_t *out);

/// Dot product of `n` floats with `n` IEEE half-precision values (stored as uint16), in
/// single precision. Uses F16C + AVX2 + FMA where the CPU has them; every path rounds each
/// half to float exactly, so results differ only by summation order.
float hidx_dot_f16(const float *a, const uint16_t *b, size_t n);

/// The portable path of hidx_dot_f16 (for tests).
float hidx_dot_f16_portable(const float *a, const uint16_t *b, size_t n);

/// Converts `n` floats to half precision (round to nearest even; overflow to infinity).
void hidx_float_to_half(const float *in, uint16_t *out, size_t n);

/// Converts `n` half-precision values to float (exact).
void hidx_half_to_float(const uint16_t *in, float *out, size_t n);

/// Dot products of the `nrows` rows of `x` (row-major, `dim` floats each) with vectors stored
/// transposed: vector `c` is column `c` of `transposed` (`dim` rows of `stride` floats;
/// `stride` a multiple of 64, unused columns zero). Writes `out[r * stride + c]` for every
/// column. Each product is the chain `acc = fma(t[i][c], x[r][i], acc)` for i = 0, 1, …, so
/// every path (AVX-512F, AVX2 + FMA, portable `fmaf`) gives bit-identical results.
void hidx_dot_transposed(const float *x, size_t nrows, size_t dim, const float *transposed, size_t stride,
                         float *out);

/// The path `hidx_dot_transposed` uses here: 2 AVX-512F, 1 AVX2 + FMA, 0 portable.
int hidx_dot_transposed_path(void);

/// `hidx_dot_transposed` on a given path (lowered to what the CPU has; for tests).
void hidx_dot_transposed_with(int path, const float *x, size_t nrows, size_t dim, const float *transposed,
                              size_t stride, float *out);

/// `hidx_plane_score` of each of `count` codes stored contiguously at `codes` (`words` words
/// each), written to `out`. Uses AVX-512 VPOPCNTDQ for 256-bit codes and four planes, the
/// POPCNT instruction otherwise where the CPU has it; every path gives the same scores.
void hidx_plane_scores(const uint64_t *codes, size_t count, size_t words, const uint64_t *positive,
                       const uint64_t *negative, int planes, int32_t *out);

/// The portable path of `hidx_plane_scores` (for tests).
void hidx_plane_scores_portable(const uint64_t *codes, size_t count, size_t words, const uint64_t *positive,
                                const uint64_t *negative, int planes, int32_t *out);

/// Writes to `out`, ascending, the indices of the `keep` largest of `values[0..<count]`
/// (ties at the cut: the lower indices; -0.0 ranks below +0.0). Radix select on the floats'
/// bits: three counting passes and one collecting pass, no sorting. Returns how many were
/// written (`min(keep, count)`).
size_t hidx_select_largest_f32(const float *values, size_t count, size_t keep, uint32_t *out);

/// CRC-32C (Castagnoli), as in iSCSI, ext4 and LevelDB. `crc` is the running value
/// (0 for a fresh checksum); returns the updated value.
uint32_t hidx_crc32c(uint32_t crc, const void *data, size_t length);

/// CRC-32C with the portable table-driven code only (for tests).
uint32_t hidx_crc32c_portable(uint32_t crc, const void *data, size_t length);

#ifdef __cplusplus
}
#endif

#endif

#ifndef HASHIDX_PLANES_H
#define HASHIDX_PLANES_H
/// Asymmetric score of one code against a query given as bit planes: plane k of the
/// positive (negative) magnitudes holds bit k of the quantised |y_j| for the bits j where the
/// query's projection y_j is positive (negative). Returns Σ_k 2^k (popcount(P_k & code) −
/// popcount(N_k & code)), proportional to Σ_j y_j · code_j: higher is more similar.
static inline int32_t hidx_plane_score(const uint64_t *code, size_t words, const uint64_t *positive,
                                       const uint64_t *negative, int planes) {
    int32_t total = 0;
    for (int k = 0; k < planes; k++) {
        int32_t s = 0;
        for (size_t w = 0; w < words; w++) {
            s += __builtin_popcountll(positive[k * words + w] & code[w]);
            s -= __builtin_popcountll(negative[k * words + w] & code[w]);
        }
        total += s * (1 << k);   /* (a shift of a negative s would be undefined) */
    }
    return total;
}
#endif

#ifndef HASHIDX_ATOMICS_H
#define HASHIDX_ATOMICS_H
/// Atomically ORs `bits` into `*word` (relaxed-release). Used for once-per-block marks.
static inline void hidx_atomic_or_u64(uint64_t *word, uint64_t bits) {
    __atomic_fetch_or(word, bits, __ATOMIC_RELEASE);
}
/// Atomically loads `*word` (acquire).
static inline uint64_t hidx_atomic_load_u64(const uint64_t *word) {
    return __atomic_load_n(word, __ATOMIC_ACQUIRE);
}
#endif
