// Hamming distances between one query code and many stored codes (codes of `words` 64-bit
// words each, stored contiguously), and the fused distance + histogram scan the search runs
// per query: hidx_hamming_histogram and its segmented form, one call for all the probed
// partitions. Four kernels give identical distances: portable SWAR bit counting, the POPCNT
// instruction, AVX-512 VPOPCNTDQ and AVX2 nibble-table counting. Which of them a kernel id,
// and AUTO for a code length, means on this CPU comes from the dispatch table (cpu.c).

#include "cpu.h"

#include <stdlib.h>
#include <string.h>

/* ---------- Kernels ---------- */

static inline unsigned swar_popcount64(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (unsigned)((x * 0x0101010101010101ULL) >> 56);
}

void hidx_hamming_portable(const uint64_t *codes, size_t count, size_t words,
                           const uint64_t *q, uint16_t *out) {
    for (size_t i = 0; i < count; i++) {
        const uint64_t *c = codes + i * words;
        unsigned s = 0;
        for (size_t w = 0; w < words; w++) s += swar_popcount64(c[w] ^ q[w]);
        out[i] = (uint16_t)s;
    }
}

/* The compiler's popcount: the POPCNT instruction on x86-64 (hence the target attribute),
   the machine's own bit count elsewhere. 256-bit codes get an unrolled loop. */
HIDX_TARGET_POPCNT
void hidx_hamming_popcnt(const uint64_t *codes, size_t count, size_t words,
                         const uint64_t *q, uint16_t *out) {
    if (words == 4) {
        const uint64_t q0 = q[0], q1 = q[1], q2 = q[2], q3 = q[3];
        for (size_t i = 0; i < count; i++) {
            const uint64_t *c = codes + i * 4;
            out[i] = (uint16_t)(__builtin_popcountll(c[0] ^ q0) + __builtin_popcountll(c[1] ^ q1) +
                                __builtin_popcountll(c[2] ^ q2) + __builtin_popcountll(c[3] ^ q3));
        }
        return;
    }
    for (size_t i = 0; i < count; i++) {
        const uint64_t *c = codes + i * words;
        unsigned s = 0;
        for (size_t w = 0; w < words; w++) s += (unsigned)__builtin_popcountll(c[w] ^ q[w]);
        out[i] = (uint16_t)s;
    }
}

#if HIDX_X86
/* AVX-512: XOR and VPOPCNTQ on whole 512-bit registers, lanes summed per code. Code lengths
   it has no loop for, and the last codes of a 256-bit scan, go to the POPCNT kernel. */
__attribute__((target("avx512f,avx512vpopcntdq,popcnt")))
void hidx_hamming_avx512(const uint64_t *codes, size_t count, size_t words,
                         const uint64_t *q, uint16_t *out) {
    size_t i = 0;
    if (words == 4) {
        /* Two 256-bit codes per register, eight codes per round: popcount every word,
           then add each code's four word counts with two unpack/shuffle steps. */
        const __m512i qq = _mm512_set_epi64((long long)q[3], (long long)q[2], (long long)q[1], (long long)q[0],
                                            (long long)q[3], (long long)q[2], (long long)q[1], (long long)q[0]);
        const __m512i order = _mm512_set_epi64(7, 5, 6, 4, 3, 1, 2, 0);
        for (; i + 8 <= count; i += 8) {
            const uint64_t *c = codes + i * 4;
            __m512i p0 = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512((const void *)(c + 0)), qq));
            __m512i p1 = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512((const void *)(c + 8)), qq));
            __m512i p2 = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512((const void *)(c + 16)), qq));
            __m512i p3 = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512((const void *)(c + 24)), qq));
            /* a: per 128-bit lane, [pair sum of p0, pair sum of p1]; b likewise for p2, p3. */
            __m512i a = _mm512_add_epi64(_mm512_unpacklo_epi64(p0, p1), _mm512_unpackhi_epi64(p0, p1));
            __m512i b = _mm512_add_epi64(_mm512_unpacklo_epi64(p2, p3), _mm512_unpackhi_epi64(p2, p3));
            /* Add 128-bit lanes 0+1 and 2+3: codes in order 0,2,1,3,4,6,5,7. */
            __m512i x = _mm512_shuffle_i64x2(a, b, _MM_SHUFFLE(2, 0, 2, 0));
            __m512i y = _mm512_shuffle_i64x2(a, b, _MM_SHUFFLE(3, 1, 3, 1));
            __m512i sum = _mm512_permutexvar_epi64(order, _mm512_add_epi64(x, y));
            _mm_storeu_si128((__m128i *)(out + i), _mm512_cvtepi64_epi16(sum));
        }
        if (i < count) {
            /* The last 1–7 codes: the same round on masked loads (no fault past the end; the
               lanes left out hold the query's own popcounts, and are not stored). In an index
               of many shards a partition's rows of one shard are a few dozen codes, and a
               scalar tail per segment cost as much as the vector rounds. */
            const uint64_t *c = codes + i * 4;
            const size_t left = (count - i) * 4;   /* 4 … 28 words */
            #define WORD_MASK(from) ((__mmask8)(left <= (from) ? 0 : left >= (from) + 8 ? 0xFF : (1u << (left - (from))) - 1))
            __m512i p0 = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_maskz_loadu_epi64(WORD_MASK(0), c + 0), qq));
            __m512i p1 = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_maskz_loadu_epi64(WORD_MASK(8), c + 8), qq));
            __m512i p2 = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_maskz_loadu_epi64(WORD_MASK(16), c + 16), qq));
            __m512i p3 = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_maskz_loadu_epi64(WORD_MASK(24), c + 24), qq));
            #undef WORD_MASK
            __m512i a = _mm512_add_epi64(_mm512_unpacklo_epi64(p0, p1), _mm512_unpackhi_epi64(p0, p1));
            __m512i b = _mm512_add_epi64(_mm512_unpacklo_epi64(p2, p3), _mm512_unpackhi_epi64(p2, p3));
            __m512i x = _mm512_shuffle_i64x2(a, b, _MM_SHUFFLE(2, 0, 2, 0));
            __m512i y = _mm512_shuffle_i64x2(a, b, _MM_SHUFFLE(3, 1, 3, 1));
            __m512i sum = _mm512_permutexvar_epi64(order, _mm512_add_epi64(x, y));
            uint16_t last[8];
            _mm_storeu_si128((__m128i *)last, _mm512_cvtepi64_epi16(sum));
            memcpy(out + i, last, (count - i) * sizeof(uint16_t));
            i = count;
        }
    } else if (words == 1) {
        /* Eight 64-bit codes per register; the last ones on a masked load. */
        const __m512i qq = _mm512_set1_epi64((long long)q[0]);
        for (; i < count; i += 8) {
            const size_t n = count - i < 8 ? count - i : 8;
            const __m512i v = _mm512_maskz_loadu_epi64((__mmask8)((1u << n) - 1), codes + i);
            const __m128i d = _mm512_cvtepi64_epi16(_mm512_popcnt_epi64(_mm512_xor_si512(v, qq)));
            if (n == 8) _mm_storeu_si128((__m128i *)(out + i), d);
            else {
                uint16_t last[8];
                _mm_storeu_si128((__m128i *)last, d);
                memcpy(out + i, last, n * sizeof(uint16_t));
            }
        }
    } else if (words % 8 == 0) {
        for (; i < count; i++) {
            const uint64_t *c = codes + i * words;
            __m512i acc = _mm512_setzero_si512();
            for (size_t w = 0; w < words; w += 8) {
                __m512i v = _mm512_xor_si512(_mm512_loadu_si512((const void *)(c + w)),
                                             _mm512_loadu_si512((const void *)(q + w)));
                acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(v));
            }
            out[i] = (uint16_t)_mm512_reduce_add_epi64(acc);
        }
    }
    if (i < count) hidx_hamming_popcnt(codes + i * words, count - i, words, q, out + i);
}

/* AVX2: popcount of each byte by two 16-entry table look-ups (low and high nibble), summed
   per 64-bit lane with SAD against zero. Four words (one 256-bit register) per step; other
   code lengths go to the POPCNT kernel. */
__attribute__((target("avx2,popcnt")))
void hidx_hamming_avx2(const uint64_t *codes, size_t count, size_t words,
                       const uint64_t *q, uint16_t *out) {
    if (words % 4 != 0) {
        hidx_hamming_popcnt(codes, count, words, q, out);
        return;
    }
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low = _mm256_set1_epi8(0x0F);
    const __m256i zero = _mm256_setzero_si256();
    for (size_t i = 0; i < count; i++) {
        const uint64_t *c = codes + i * words;
        __m256i acc = zero;
        for (size_t w = 0; w < words; w += 4) {
            __m256i v = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(c + w)),
                                         _mm256_loadu_si256((const __m256i *)(q + w)));
            __m256i cnt = _mm256_add_epi8(_mm256_shuffle_epi8(lut, _mm256_and_si256(v, low)),
                                          _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(v, 4), low)));
            acc = _mm256_add_epi64(acc, _mm256_sad_epu8(cnt, zero));
        }
        __m128i s = _mm_add_epi64(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
        s = _mm_add_epi64(s, _mm_unpackhi_epi64(s, s));
        out[i] = (uint16_t)_mm_cvtsi128_si64(s);
    }
}
#endif

/* ---------- Dispatch ---------- */

/* The kernel that `kernel` means for codes of `words` words: itself where this CPU has it;
   for AUTO, and for a kernel the CPU lacks, the table's choice for that code length. */
static hidx_hamming_fn hamming_kernel(int kernel, size_t words) {
    const hidx_dispatch_table *d = hidx_dispatch();
    if (kernel <= HIDX_KERNEL_AUTO || kernel >= HIDX_KERNEL_COUNT || !d->kernel_available[kernel])
        kernel = words >= 8 ? d->hamming_auto_long : d->hamming_auto;
    return d->hamming[kernel];
}

void hidx_hamming_distances(int kernel, const uint64_t *codes, size_t count, size_t words,
                            const uint64_t *query, uint16_t *out) {
    hamming_kernel(kernel, words)(codes, count, words, query, out);
}

/* ---------- Distances and histogram in one pass ---------- */

/* Adds `values` into four interleaved sub-histograms (`stride` apart), so that runs of equal
   values do not serialise on one counter. */
static void histogram4(const uint16_t *values, size_t count, uint32_t *sub, size_t stride) {
    size_t i = 0;
    for (; i + 4 <= count; i += 4) {
        sub[values[i]]++;
        sub[stride + values[i + 1]]++;
        sub[2 * stride + values[i + 2]]++;
        sub[3 * stride + values[i + 3]]++;
    }
    for (; i < count; i++) sub[values[i]]++;
}

/* Counts the distances of the scanned rows `at ..< at + count` whose bit in `keep` is set
   into the four sub-histograms (`stride` apart, each with a trash slot at `bins`); the others
   become 0xFFFF (left out of the selection). Two branch-free passes: with a filter keeping
   half the rows at random, a branch would mispredict on every other row. The first marks the
   rows left out; the second is histogram4's, with 0xFFFF clamped into the trash slots. */
static void histogram_kept(uint16_t *values, size_t count, const uint64_t *keep, size_t at, uint32_t *sub,
                           size_t bins, size_t stride) {
    for (size_t base = 0; base < count; base += 64) {
        /* The 64 keep bits of rows base ..< base + 64, aligned once per 64 rows. */
        size_t g = at + base, shift = g & 63;
        uint64_t bits = keep[g >> 6] >> shift;
        size_t n = count - base < 64 ? count - base : 64;
        if (shift != 0 && shift + n > 64) bits |= keep[(g >> 6) + 1] << (64 - shift);
        for (size_t j = 0; j < n; j++) values[base + j] |= (uint16_t)(((bits >> j) & 1) - 1);
    }
    size_t i = 0;
#define CLAMP(v) ((v) < bins ? (v) : bins)
    for (; i + 4 <= count; i += 4) {
        sub[CLAMP(values[i])]++;
        sub[stride + CLAMP(values[i + 1])]++;
        sub[2 * stride + CLAMP(values[i + 2])]++;
        sub[3 * stride + CLAMP(values[i + 3])]++;
    }
    for (; i < count; i++) sub[CLAMP(values[i])]++;
#undef CLAMP
}

/* Takes the rows `values[0 ..< count]` (positions `start ..< start + count`) whose bit is set
   in `dropped` back out of sub-histogram 0 (where histogram4 counted them, or another: only
   the sum of the four is read) and makes them 0xFFFF. Returns how many. Deleted rows are a
   minority (the merge policy rewrites a shard once a fifth of it is), so walking their bits
   costs less than masking every row. */
static size_t uncount_dropped(uint16_t *values, size_t count, const uint64_t *dropped, size_t start, uint32_t *sub) {
    if (count == 0) return 0;
    size_t end = start + count, first = start >> 6, last = (end - 1) >> 6, n = 0;
    for (size_t w = first; w <= last; w++) {
        uint64_t v = dropped[w];
        if (w == first) v &= ~0ULL << (start & 63);
        if (w == last && (end & 63) != 0) v &= (1ULL << (end & 63)) - 1;
        while (v) {
            size_t i = (w << 6) + (size_t)__builtin_ctzll(v) - start;
            sub[values[i]]--;
            values[i] = 0xFFFF;
            n++;
            v &= v - 1;
        }
    }
    return n;
}

static size_t histogram_segments(int kernel, const uint64_t *codes, const size_t *starts, const size_t *counts,
                                 size_t segments, size_t words, const uint64_t *query, const uint64_t *keep,
                                 size_t keep_first, const uint64_t *dropped, uint16_t *out, uint32_t *histogram);

void hidx_hamming_histogram_segments(int kernel, const uint64_t *codes, const size_t *starts,
                                     const size_t *counts, size_t segments, size_t words,
                                     const uint64_t *query, uint16_t *out, uint32_t *histogram) {
    histogram_segments(kernel, codes, starts, counts, segments, words, query, NULL, 0, NULL, out, histogram);
}

void hidx_hamming_histogram_segments_kept(int kernel, const uint64_t *codes, const size_t *starts,
                                          const size_t *counts, size_t segments, size_t words,
                                          const uint64_t *query, const uint64_t *keep, size_t keep_first,
                                          uint16_t *out, uint32_t *histogram) {
    histogram_segments(kernel, codes, starts, counts, segments, words, query, keep, keep_first, NULL, out, histogram);
}

size_t hidx_hamming_histogram_segments_dropping(int kernel, const uint64_t *codes, const size_t *starts,
                                                const size_t *counts, size_t segments, size_t words,
                                                const uint64_t *query, const uint64_t *dropped,
                                                uint16_t *out, uint32_t *histogram) {
    return histogram_segments(kernel, codes, starts, counts, segments, words, query, NULL, 0, dropped, out, histogram);
}

/* `keep` (by scan order) or `dropped` (by code position), or neither. Returns the rows left
   out of the histogram. */
static size_t histogram_segments(int kernel, const uint64_t *codes, const size_t *starts, const size_t *counts,
                                 size_t segments, size_t words, const uint64_t *query, const uint64_t *keep,
                                 size_t keep_first, const uint64_t *dropped, uint16_t *out, uint32_t *histogram) {
    const hidx_hamming_fn scan = hamming_kernel(kernel, words);
    const size_t bins = words * 64 + 1;
    const size_t stride = bins + 1;   /* each sub-histogram ends in the kept scan's trash slot */
    uint32_t stack_sub[4 * 1026];
    uint32_t *sub = bins <= 1025 ? stack_sub : (uint32_t *)calloc(4 * stride, sizeof(uint32_t));
    size_t left_out = 0;
    if (!sub) {   /* out of memory: count directly */
        size_t at = keep_first;
        for (size_t s = 0; s < segments; s++) {
            scan(codes + starts[s] * words, counts[s], words, query, out);
            if (keep || dropped) {   /* (no trash bin here: count with a branch) */
                for (size_t i = 0; i < counts[s]; i++) {
                    size_t g = keep ? at + i : starts[s] + i;
                    int in = keep ? (int)((keep[g >> 6] >> (g & 63)) & 1) : !((dropped[g >> 6] >> (g & 63)) & 1);
                    if (in) histogram[out[i]]++; else { out[i] = 0xFFFF; left_out++; }
                }
            }
            else hidx_histogram_u16(out, counts[s], histogram);
            out += counts[s];
            at += counts[s];
        }
        return left_out;
    }
    memset(sub, 0, 4 * stride * sizeof(uint32_t));
    /* Chunks small enough that the distances are still in L1 when they are counted. */
    const size_t chunk = 512;
    size_t at = keep_first;
    for (size_t s = 0; s < segments; s++) {
        const uint64_t *c = codes + starts[s] * words;
        for (size_t start = 0; start < counts[s]; start += chunk) {
            size_t n = counts[s] - start < chunk ? counts[s] - start : chunk;
            scan(c + start * words, n, words, query, out + start);
            if (keep) histogram_kept(out + start, n, keep, at + start, sub, bins, stride);
            else {
                histogram4(out + start, n, sub, stride);
                if (dropped) left_out += uncount_dropped(out + start, n, dropped, starts[s] + start, sub);
            }
        }
        out += counts[s];
        at += counts[s];
    }
    for (size_t b = 0; b < bins; b++) histogram[b] += sub[b] + sub[stride + b] + sub[2 * stride + b] + sub[3 * stride + b];
    if (sub != stack_sub) free(sub);
    return left_out;
}

void hidx_hamming_histogram(int kernel, const uint64_t *codes, size_t count, size_t words,
                            const uint64_t *query, uint16_t *out, uint32_t *histogram) {
    const size_t start = 0;
    hidx_hamming_histogram_segments(kernel, codes, &start, &count, 1, words, query, out, histogram);
}
