// Kernels of filtered search: a numeric attribute column compared with a range, written as a
// bitmap; and Hamming distances of the codes at a list of positions (the rows a selective
// filter leaves), with their histogram. (The scan that counts only the rows a bitmap keeps is
// hidx_hamming_histogram_segments_kept, in hamming.c.)

#include "cpu.h"

/* ---------- Numeric ranges ---------- */

static void range_portable(const double *values, size_t count, double lo, double hi, int lo_strict, int hi_strict,
                           uint64_t *out) {
    size_t words = (count + 63) / 64;
    for (size_t w = 0; w < words; w++) {
        size_t base = w * 64, n = count - base < 64 ? count - base : 64;
        uint64_t bits = 0;
        const double *v = values + base;
        for (size_t i = 0; i < n; i++) {
            int above = lo_strict ? v[i] > lo : v[i] >= lo;
            int below = hi_strict ? v[i] < hi : v[i] <= hi;
            bits |= (uint64_t)(above & below) << i;
        }
        out[w] = bits;
    }
}

#if HIDX_X86
/* AVX-512: eight comparisons per instruction straight into a mask register; the last
   partial word with masked loads. One loop per pair of predicates (they are immediates). */
#define RANGE_AVX512(name, LO, HI)                                                              \
    __attribute__((target("avx512f")))                                                          \
    static void name(const double *values, size_t count, __m512d l, __m512d h, uint64_t *out) { \
        size_t words = (count + 63) / 64;                                                       \
        for (size_t w = 0; w < words; w++) {                                                    \
            uint64_t bits = 0;                                                                  \
            size_t base = w * 64, n = count - base < 64 ? count - base : 64;                    \
            for (size_t j = 0; j * 8 < n; j++) {                                                \
                size_t left = n - j * 8;                                                        \
                __mmask8 load = left >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << left) - 1);      \
                __m512d v = _mm512_maskz_loadu_pd(load, values + base + j * 8);                 \
                __mmask8 m = _mm512_mask_cmp_pd_mask(load, v, l, LO) & _mm512_cmp_pd_mask(v, h, HI); \
                bits |= (uint64_t)(uint8_t)m << (j * 8);                                        \
            }                                                                                   \
            out[w] = bits;                                                                      \
        }                                                                                       \
    }
RANGE_AVX512(range_avx512_ge_le, _CMP_GE_OQ, _CMP_LE_OQ)
RANGE_AVX512(range_avx512_gt_le, _CMP_GT_OQ, _CMP_LE_OQ)
RANGE_AVX512(range_avx512_ge_lt, _CMP_GE_OQ, _CMP_LT_OQ)
RANGE_AVX512(range_avx512_gt_lt, _CMP_GT_OQ, _CMP_LT_OQ)

__attribute__((target("avx512f")))
static void range_avx512(const double *values, size_t count, double lo, double hi, int lo_strict, int hi_strict,
                         uint64_t *out) {
    const __m512d l = _mm512_set1_pd(lo), h = _mm512_set1_pd(hi);
    if (!lo_strict && !hi_strict) range_avx512_ge_le(values, count, l, h, out);
    else if (lo_strict && !hi_strict) range_avx512_gt_le(values, count, l, h, out);
    else if (!lo_strict) range_avx512_ge_lt(values, count, l, h, out);
    else range_avx512_gt_lt(values, count, l, h, out);
}

/* AVX2: four comparisons per instruction, gathered by movemask. */
__attribute__((target("avx2")))
static void range_avx2(const double *values, size_t count, double lo, double hi, int lo_strict, int hi_strict,
                       uint64_t *out) {
    const __m256d l = _mm256_set1_pd(lo), h = _mm256_set1_pd(hi);
    size_t full = count / 64;
    for (size_t w = 0; w < full; w++) {
        uint64_t bits = 0;
        for (int j = 0; j < 16; j++) {
            __m256d v = _mm256_loadu_pd(values + w * 64 + j * 4);
            __m256d a = lo_strict ? _mm256_cmp_pd(v, l, _CMP_GT_OQ) : _mm256_cmp_pd(v, l, _CMP_GE_OQ);
            __m256d b = hi_strict ? _mm256_cmp_pd(v, h, _CMP_LT_OQ) : _mm256_cmp_pd(v, h, _CMP_LE_OQ);
            bits |= (uint64_t)_mm256_movemask_pd(_mm256_and_pd(a, b)) << (j * 4);
        }
        out[w] = bits;
    }
    if (count % 64) range_portable(values + full * 64, count % 64, lo, hi, lo_strict, hi_strict, out + full);
}
#endif

void hidx_bits_f64_range(const double *values, size_t count, double lo, double hi, int lo_strict, int hi_strict,
                         uint64_t *out) {
#if HIDX_X86
    const hidx_dispatch_table *d = hidx_dispatch();
    if (d->cpu.avx512f) { range_avx512(values, count, lo, hi, lo_strict, hi_strict, out); return; }
    if (d->cpu.avx2) { range_avx2(values, count, lo, hi, lo_strict, hi_strict, out); return; }
#endif
    range_portable(values, count, lo, hi, lo_strict, hi_strict, out);
}

/* ---------- Hamming distances at listed positions ---------- */

static inline unsigned popcount_swar(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (unsigned)((x * 0x0101010101010101ULL) >> 56);
}

static void positions_portable(const uint64_t *codes, const uint32_t *positions, size_t count, size_t words,
                               const uint64_t *query, uint16_t *out, uint32_t *histogram) {
    for (size_t i = 0; i < count; i++) {
        const uint64_t *c = codes + (size_t)positions[i] * words;
        unsigned s = 0;
        for (size_t w = 0; w < words; w++) s += popcount_swar(c[w] ^ query[w]);
        out[i] = (uint16_t)s;
        histogram[s]++;
    }
}

HIDX_TARGET_POPCNT
static void positions_popcnt(const uint64_t *codes, const uint32_t *positions, size_t count, size_t words,
                             const uint64_t *query, uint16_t *out, uint32_t *histogram) {
    if (words == 4) {
        const uint64_t q0 = query[0], q1 = query[1], q2 = query[2], q3 = query[3];
        for (size_t i = 0; i < count; i++) {
            if (i + 8 < count) __builtin_prefetch(codes + (size_t)positions[i + 8] * 4);
            const uint64_t *c = codes + (size_t)positions[i] * 4;
            unsigned s = (unsigned)(__builtin_popcountll(c[0] ^ q0) + __builtin_popcountll(c[1] ^ q1) +
                                    __builtin_popcountll(c[2] ^ q2) + __builtin_popcountll(c[3] ^ q3));
            out[i] = (uint16_t)s;
            histogram[s]++;
        }
        return;
    }
    for (size_t i = 0; i < count; i++) {
        if (i + 8 < count) __builtin_prefetch(codes + (size_t)positions[i + 8] * words);
        const uint64_t *c = codes + (size_t)positions[i] * words;
        unsigned s = 0;
        for (size_t w = 0; w < words; w++) s += (unsigned)__builtin_popcountll(c[w] ^ query[w]);
        out[i] = (uint16_t)s;
        histogram[s]++;
    }
}

void hidx_hamming_histogram_positions(const uint64_t *codes, const uint32_t *positions, size_t count, size_t words,
                                      const uint64_t *query, uint16_t *out, uint32_t *histogram) {
#if HIDX_X86
    if (hidx_dispatch()->cpu.popcnt) {
        positions_popcnt(codes, positions, count, words, query, out, histogram);
        return;
    }
    positions_portable(codes, positions, count, words, query, out, histogram);
#else
    positions_popcnt(codes, positions, count, words, query, out, histogram);
    (void)positions_portable;
#endif
}

/* ---------- Bitmaps of positions ---------- */

/* Word `w` of `bits` with the bits outside [start, end) cleared. */
static inline uint64_t word_in_range(const uint64_t *bits, size_t w, size_t start, size_t end) {
    uint64_t v = bits[w];
    if (w == start / 64) v &= ~0ULL << (start % 64);
    if (w == (end - 1) / 64 && end % 64 != 0) v &= (1ULL << (end % 64)) - 1;
    return v;
}

HIDX_TARGET_POPCNT
static size_t count_popcnt(const uint64_t *bits, size_t start, size_t end) {
    size_t n = 0;
    for (size_t w = start / 64; w <= (end - 1) / 64; w++) n += (size_t)__builtin_popcountll(word_in_range(bits, w, start, end));
    return n;
}

static size_t count_portable(const uint64_t *bits, size_t start, size_t end) {
    size_t n = 0;
    for (size_t w = start / 64; w <= (end - 1) / 64; w++) n += popcount_swar(word_in_range(bits, w, start, end));
    return n;
}

size_t hidx_bits_count(const uint64_t *bits, size_t start, size_t end) {
    if (end <= start) return 0;
#if HIDX_X86
    if (hidx_dispatch()->cpu.popcnt) return count_popcnt(bits, start, end);
    return count_portable(bits, start, end);
#else
    (void)count_portable;
    return count_popcnt(bits, start, end);
#endif
}

size_t hidx_bits_positions(const uint64_t *bits, size_t start, size_t end, uint32_t *out) {
    if (end <= start) return 0;
    size_t k = 0;
    for (size_t w = start / 64; w <= (end - 1) / 64; w++) {
        uint64_t v = word_in_range(bits, w, start, end);
        while (v) {
            out[k++] = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(v));
            v &= v - 1;
        }
    }
    return k;
}
