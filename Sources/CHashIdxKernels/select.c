// Selection over per-code scores, the steps of a query after the scan: a histogram of
// 16-bit distances (to find the cut-off distance of the top C), the collection of the
// indices below that cut-off (AVX-512BW or portable, same indices in the same order), and a
// radix select of the largest floats (probed partitions, shortlist), without sorting.

#include "cpu.h"

#include <string.h>

/* ---------- Histogram ---------- */

void hidx_histogram_u16(const uint16_t *values, size_t count, uint32_t *histogram) {
    for (size_t i = 0; i < count; i++) histogram[values[i]]++;
}

/* ---------- Collect below a threshold ---------- */

/* The rule of hidx_collect_below for one value, shared by every loop below: index `i` is
   taken when `v` is below the threshold, or equal to it while `*at_threshold` equal values are
   still wanted. */
static inline void collect_one(uint16_t v, size_t i, uint16_t threshold, size_t *at_threshold,
                               uint32_t *out, size_t *n) {
    if (v < threshold) {
        out[(*n)++] = (uint32_t)i;
    } else if (v == threshold && *at_threshold > 0) {
        out[(*n)++] = (uint32_t)i;
        (*at_threshold)--;
    }
}

#if HIDX_X86
/* AVX-512BW: 32 values per compare; only the (rare) lanes at or below the threshold are
   looked at, in index order. */
__attribute__((target("avx512f,avx512bw,bmi")))
size_t hidx_collect_below_avx512(const uint16_t *values, size_t count, uint16_t threshold, size_t at_threshold,
                                 uint32_t *out) {
    size_t n = 0, i = 0;
    const __m512i t = _mm512_set1_epi16((short)threshold);
    for (; i + 32 <= count; i += 32) {
        uint32_t m = _mm512_cmple_epu16_mask(_mm512_loadu_si512((const void *)(values + i)), t);
        while (m) {
            size_t j = i + (size_t)__builtin_ctz(m);
            m &= m - 1;
            collect_one(values[j], j, threshold, &at_threshold, out, &n);
        }
    }
    for (; i < count; i++) collect_one(values[i], i, threshold, &at_threshold, out, &n);
    return n;
}
#endif

size_t hidx_collect_below_portable(const uint16_t *values, size_t count, uint16_t threshold, size_t at_threshold,
                                   uint32_t *out) {
    size_t n = 0;
    size_t i = 0;
    /* Most values are above the threshold: skip 32 at a time when their minimum is
       (the compiler vectorises the minimum). */
    for (; i + 32 <= count; i += 32) {
        uint16_t m = values[i];
        for (size_t j = 1; j < 32; j++) m = values[i + j] < m ? values[i + j] : m;
        if (m > threshold) continue;
        for (size_t j = i; j < i + 32; j++) collect_one(values[j], j, threshold, &at_threshold, out, &n);
    }
    for (; i < count; i++) collect_one(values[i], i, threshold, &at_threshold, out, &n);
    return n;
}

size_t hidx_collect_below(const uint16_t *values, size_t count, uint16_t threshold, size_t at_threshold,
                          uint32_t *out) {
    return hidx_dispatch()->collect_below(values, count, threshold, at_threshold, out);
}

/* ---------- Top-n selection of floats ---------- */

/* A float's bits as an unsigned key with the same order (negative values flipped). */
static inline uint32_t float_key(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

/* Up to this keep the heap is cheaper than three radix rounds, whatever the count; beyond
   it the entries that sift through the heap cost more. Measured (gcc -O2, random floats,
   µs per call, heap / radix): 8 of 490 1.06 / 2.38, 32 of 1,249 4.9 / 5.3, 16 of 6,325
   12.1 / 22.9; 64 of 490 5.5 / 2.5, 128 of 1,249 14.9 / 6.1, 200 of 400 8.8 / 2.6. */
#define SMALL_SELECT_KEEP 32
static uint32_t kth_largest_key(const float *values, size_t count, size_t keep);
static void radix_threshold(const float *values, size_t count, uint32_t *threshold, size_t *wanted);

size_t hidx_select_largest_f32(const float *values, size_t count, size_t keep, uint32_t *out) {
    if (keep >= count) {
        for (size_t i = 0; i < count; i++) out[i] = (uint32_t)i;
        return count;
    }
    if (keep == 0) return 0;
    uint32_t prefix = 0;
    size_t need = keep;   /* how many of the values equal to the threshold are still wanted */
    if (keep <= SMALL_SELECT_KEEP) {
        /* Few wanted: the keep-th largest key by a min-heap of the keep largest keys seen
           (one compare per value, a short sift for each that enters), where the radix
           rounds' 2,048-bin histograms would cost more. */
        prefix = kth_largest_key(values, count, keep);
        for (size_t i = 0; i < count; i++) if (float_key(values[i]) > prefix) need--;
    } else {
        radix_threshold(values, count, &prefix, &need);
    }
    /* `prefix` is now the threshold key; `need` values equal to it are taken, the lowest
       indices first, with every value above it. */
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        uint32_t k = float_key(values[i]);
        if (k > prefix) {
            out[n++] = (uint32_t)i;
        } else if (k == prefix && need > 0) {
            out[n++] = (uint32_t)i;
            need--;
        }
    }
    return n;
}

/* keep is 1...SMALL_SELECT_KEEP and below count. */
static uint32_t kth_largest_key(const float *values, size_t count, size_t keep) {
    uint32_t heap[SMALL_SELECT_KEEP];
    for (size_t i = 0; i < keep; i++) {   /* the first keep keys, sifted up */
        uint32_t k = float_key(values[i]);
        size_t j = i;
        while (j > 0 && heap[(j - 1) / 2] > k) { heap[j] = heap[(j - 1) / 2]; j = (j - 1) / 2; }
        heap[j] = k;
    }
    for (size_t i = keep; i < count; i++) {
        uint32_t k = float_key(values[i]);
        if (k <= heap[0]) continue;
        size_t j = 0;   /* replace the root, sift down */
        for (;;) {
            size_t c = 2 * j + 1;
            if (c >= keep) break;
            if (c + 1 < keep && heap[c + 1] < heap[c]) c++;
            if (heap[c] >= k) break;
            heap[j] = heap[c];
            j = c;
        }
        heap[j] = k;
    }
    return heap[0];
}

static void radix_threshold(const float *values, size_t count, uint32_t *threshold, size_t *wanted) {
    /* Radix select from the top bits down: the key of the keep-th largest value, 11, 11
       and 10 bits at a time, each round counting only the values that share the prefix. */
    uint32_t hist[2048];
    uint32_t prefix = 0, prefix_mask = 0;
    size_t need = *wanted;   /* how many of the values matching the prefix are still wanted */
    static const int shifts[3] = {21, 10, 0};
    static const uint32_t widths[3] = {2047, 2047, 1023};
    for (int round = 0; round < 3; round++) {
        const int shift = shifts[round];
        const uint32_t width = widths[round];
        memset(hist, 0, sizeof hist);
        for (size_t i = 0; i < count; i++) {
            uint32_t k = float_key(values[i]);
            if ((k & prefix_mask) == prefix) hist[(k >> shift) & width]++;
        }
        uint32_t bin = width;
        while (hist[bin] < need) { need -= hist[bin]; bin--; }
        prefix |= bin << shift;
        prefix_mask |= width << shift;
    }
    *threshold = prefix;
    *wanted = need;
}
