// Hamming-scan and CRC-32C kernels with run-time CPU dispatch.
//
// The package may not use unsafeFlags, so every fast path is a separate function
// compiled for its instruction set through a per-function `target` attribute and
// chosen at run time after asking the CPU what it supports.

#include "hashidx_kernels.h"

#include <math.h>
#include <string.h>
#include <stdlib.h>
#include <pthread.h>

#if defined(__x86_64__) || defined(_M_X64)
#define HIDX_X86 1
#include <immintrin.h>
#include <cpuid.h>
#endif

/* ---------- CPU features ---------- */

#if HIDX_X86
static int cpu_has_popcnt(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    return (c & bit_POPCNT) != 0;
}

static int cpu_has_sse42(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    return (c & bit_SSE4_2) != 0;
}

/* Whether the OS saves every register state in `mask` (XCR0 bits), checked with XGETBV. */
static int os_saves(unsigned mask) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & bit_OSXSAVE)) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & mask) == mask;
}

/* XMM, YMM, opmask, ZMM_Hi256, Hi16_ZMM state enabled by the OS. */
static int os_saves_zmm(void) { return os_saves(0xE6); }

static int cpu_has_avx2(void) {
    unsigned a, b, c, d;
    if (!os_saves(0x6)) return 0;   /* XMM and YMM state */
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b & (1u << 5)) != 0;
}

static int cpu_has_avx512_vpopcntdq(void) {
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    int f = (b & (1u << 16)) != 0;        /* AVX512F */
    int vpop = (c & (1u << 14)) != 0;     /* AVX512_VPOPCNTDQ */
    return f && vpop && os_saves_zmm();
}
#endif

static int kernel_available_uncached(int kernel) {
    switch (kernel) {
    case HIDX_KERNEL_AUTO:
    case HIDX_KERNEL_PORTABLE:
        return 1;
    case HIDX_KERNEL_POPCNT:
#if HIDX_X86
        return cpu_has_popcnt();
#else
        return 1;
#endif
    case HIDX_KERNEL_AVX512:
#if HIDX_X86
        return cpu_has_avx512_vpopcntdq();
#else
        return 0;
#endif
    case HIDX_KERNEL_AVX2:
#if HIDX_X86
        return cpu_has_avx2() && cpu_has_popcnt();
#else
        return 0;
#endif
    default:
        return 0;
    }
}

/* CPUID is slow (a VM exit under virtualisation): ask once per kernel. */
int hidx_kernel_available(int kernel) {
    static int known[8];   /* 0: not asked yet, 1: no, 2: yes */
    if (kernel < 0 || kernel >= 8) return 0;
    int k = __atomic_load_n(&known[kernel], __ATOMIC_RELAXED);
    if (!k) {
        k = kernel_available_uncached(kernel) ? 2 : 1;
        __atomic_store_n(&known[kernel], k, __ATOMIC_RELAXED);
    }
    return k == 2;
}

int hidx_kernel_best(void) {
    static int best = 0;
    int cached = __atomic_load_n(&best, __ATOMIC_RELAXED);
    if (cached) return cached;
    int k = HIDX_KERNEL_PORTABLE;
    if (hidx_kernel_available(HIDX_KERNEL_POPCNT)) k = HIDX_KERNEL_POPCNT;
    if (hidx_kernel_available(HIDX_KERNEL_AVX512)) k = HIDX_KERNEL_AVX512;
    __atomic_store_n(&best, k, __ATOMIC_RELAXED);
    return k;
}

const char *hidx_kernel_name(int kernel) {
    switch (kernel) {
    case HIDX_KERNEL_PORTABLE: return "portable";
    case HIDX_KERNEL_POPCNT: return "popcnt";
    case HIDX_KERNEL_AVX512: return "avx512-vpopcntdq";
    case HIDX_KERNEL_AVX2: return "avx2";
    default: return hidx_kernel_name(hidx_kernel_best());
    }
}

/* ---------- Hamming distances ---------- */

static inline unsigned swar_popcount64(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (unsigned)((x * 0x0101010101010101ULL) >> 56);
}

static void hamming_portable(const uint64_t *codes, size_t count, size_t words,
                             const uint64_t *q, uint16_t *out) {
    for (size_t i = 0; i < count; i++) {
        const uint64_t *c = codes + i * words;
        unsigned s = 0;
        for (size_t w = 0; w < words; w++) s += swar_popcount64(c[w] ^ q[w]);
        out[i] = (uint16_t)s;
    }
}

#if HIDX_X86
__attribute__((target("popcnt")))
static void hamming_popcnt(const uint64_t *codes, size_t count, size_t words,
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

/* AVX-512: XOR and VPOPCNTQ on whole 512-bit registers, lanes summed per code. */
__attribute__((target("avx512f,avx512vpopcntdq,popcnt")))
static void hamming_avx512(const uint64_t *codes, size_t count, size_t words,
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
    if (i < count) hamming_popcnt(codes + i * words, count - i, words, q, out + i);
}
#endif

#if HIDX_X86
/* AVX2: popcount of each byte by two 16-entry table look-ups (low and high nibble), summed
   per 64-bit lane with SAD against zero. Four words (one 256-bit register) per step. */
__attribute__((target("avx2,popcnt")))
static void hamming_avx2(const uint64_t *codes, size_t count, size_t words,
                         const uint64_t *q, uint16_t *out) {
    if (words % 4 != 0) {
        hamming_popcnt(codes, count, words, q, out);
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

/* The kernel AUTO means for codes of `words` words. Measured (Benchmarks, 1M codes): without
   AVX-512, the AVX2 table kernel beats POPCNT from 512 bits on (2.3 vs 2.8 ms) but not at 256
   (1.7 vs 1.5 ms). */
static int resolve_kernel(size_t words) {
    int kernel = hidx_kernel_best();
    if (kernel == HIDX_KERNEL_POPCNT && words >= 8 && hidx_kernel_available(HIDX_KERNEL_AVX2)) kernel = HIDX_KERNEL_AVX2;
    return kernel;
}

void hidx_hamming_distances(int kernel, const uint64_t *codes, size_t count, size_t words,
                            const uint64_t *query, uint16_t *out) {
    if (kernel == HIDX_KERNEL_AUTO || !hidx_kernel_available(kernel)) kernel = resolve_kernel(words);
    switch (kernel) {
#if HIDX_X86
    case HIDX_KERNEL_AVX512:
        hamming_avx512(codes, count, words, query, out);
        return;
    case HIDX_KERNEL_AVX2:
        hamming_avx2(codes, count, words, query, out);
        return;
    case HIDX_KERNEL_POPCNT:
        hamming_popcnt(codes, count, words, query, out);
        return;
#else
    case HIDX_KERNEL_POPCNT: {
        for (size_t i = 0; i < count; i++) {
            const uint64_t *c = codes + i * words;
            unsigned s = 0;
            for (size_t w = 0; w < words; w++) s += (unsigned)__builtin_popcountll(c[w] ^ query[w]);
            out[i] = (uint16_t)s;
        }
        return;
    }
#endif
    default:
        hamming_portable(codes, count, words, query, out);
        return;
    }
}

/* ---------- CRC-32C ---------- */

static uint32_t crc_table[8][256];
static pthread_once_t crc_table_once = PTHREAD_ONCE_INIT;

static void crc_init_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : (c >> 1);
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = crc_table[0][i];
        for (int t = 1; t < 8; t++) {
            c = crc_table[0][c & 0xFF] ^ (c >> 8);
            crc_table[t][i] = c;
        }
    }
}

uint32_t hidx_crc32c_portable(uint32_t crc, const void *data, size_t length) {
    pthread_once(&crc_table_once, crc_init_table);
    const unsigned char *p = (const unsigned char *)data;
    uint32_t c = ~crc;
    while (length >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        v = __builtin_bswap64(v);
#endif
        v ^= c;
        c = crc_table[7][v & 0xFF] ^ crc_table[6][(v >> 8) & 0xFF] ^ crc_table[5][(v >> 16) & 0xFF] ^
            crc_table[4][(v >> 24) & 0xFF] ^ crc_table[3][(v >> 32) & 0xFF] ^ crc_table[2][(v >> 40) & 0xFF] ^
            crc_table[1][(v >> 48) & 0xFF] ^ crc_table[0][(v >> 56) & 0xFF];
        p += 8;
        length -= 8;
    }
    while (length--) c = crc_table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
    return ~c;
}

#if HIDX_X86
__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const void *data, size_t length) {
    const unsigned char *p = (const unsigned char *)data;
    uint64_t c = ~crc;
    while (length >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        length -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (length--) c32 = _mm_crc32_u8(c32, *p++);
    return ~c32;
}
#endif

uint32_t hidx_crc32c(uint32_t crc, const void *data, size_t length) {
#if HIDX_X86
    static int has = -1;
    int h = __atomic_load_n(&has, __ATOMIC_RELAXED);
    if (h < 0) {
        h = cpu_has_sse42();
        __atomic_store_n(&has, h, __ATOMIC_RELAXED);
    }
    if (h) return crc32c_sse42(crc, data, length);
#endif
    return hidx_crc32c_portable(crc, data, length);
}

/* ---------- Top-C selection helpers ---------- */

/* Adds `values` into four interleaved sub-histograms (stride `bins`), so that runs of equal
   values do not serialise on one counter. */
static void histogram4(const uint16_t *values, size_t count, uint32_t *sub, size_t bins) {
    size_t i = 0;
    for (; i + 4 <= count; i += 4) {
        sub[values[i]]++;
        sub[bins + values[i + 1]]++;
        sub[2 * bins + values[i + 2]]++;
        sub[3 * bins + values[i + 3]]++;
    }
    for (; i < count; i++) sub[values[i]]++;
}

void hidx_hamming_histogram_segments(int kernel, const uint64_t *codes, const size_t *starts,
                                     const size_t *counts, size_t segments, size_t words,
                                     const uint64_t *query, uint16_t *out, uint32_t *histogram) {
    const size_t bins = words * 64 + 1;
    uint32_t stack_sub[4 * 1025];
    uint32_t *sub = bins <= 1025 ? stack_sub : (uint32_t *)calloc(4 * bins, sizeof(uint32_t));
    if (!sub) {   /* out of memory: count directly */
        for (size_t s = 0; s < segments; s++) {
            hidx_hamming_distances(kernel, codes + starts[s] * words, counts[s], words, query, out);
            hidx_histogram_u16(out, counts[s], histogram);
            out += counts[s];
        }
        return;
    }
    if (kernel == HIDX_KERNEL_AUTO || !hidx_kernel_available(kernel)) kernel = resolve_kernel(words);
    memset(sub, 0, 4 * bins * sizeof(uint32_t));
    /* Chunks small enough that the distances are still in L1 when they are counted. */
    const size_t chunk = 512;
    for (size_t s = 0; s < segments; s++) {
        const uint64_t *c = codes + starts[s] * words;
        for (size_t start = 0; start < counts[s]; start += chunk) {
            size_t n = counts[s] - start < chunk ? counts[s] - start : chunk;
            hidx_hamming_distances(kernel, c + start * words, n, words, query, out + start);
            histogram4(out + start, n, sub, bins);
        }
        out += counts[s];
    }
    for (size_t b = 0; b < bins; b++) histogram[b] += sub[b] + sub[bins + b] + sub[2 * bins + b] + sub[3 * bins + b];
    if (sub != stack_sub) free(sub);
}

void hidx_hamming_histogram(int kernel, const uint64_t *codes, size_t count, size_t words,
                            const uint64_t *query, uint16_t *out, uint32_t *histogram) {
    const size_t start = 0;
    hidx_hamming_histogram_segments(kernel, codes, &start, &count, 1, words, query, out, histogram);
}

void hidx_histogram_u16(const uint16_t *values, size_t count, uint32_t *histogram) {
    for (size_t i = 0; i < count; i++) histogram[values[i]]++;
}

#if HIDX_X86
static int cpu_has_avx512bw(void) {
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b & (1u << 16)) != 0 && (b & (1u << 30)) != 0 && os_saves_zmm();
}

/* 32 values per compare; only the (rare) lanes at or below the threshold are looked at. */
__attribute__((target("avx512f,avx512bw,bmi")))
static size_t collect_below_avx512(const uint16_t *values, size_t count, uint16_t threshold, size_t at_threshold,
                                   uint32_t *out) {
    size_t n = 0, i = 0;
    const __m512i t = _mm512_set1_epi16((short)threshold);
    for (; i + 32 <= count; i += 32) {
        uint32_t m = _mm512_cmple_epu16_mask(_mm512_loadu_si512((const void *)(values + i)), t);
        while (m) {
            size_t j = i + (size_t)__builtin_ctz(m);
            m &= m - 1;
            if (values[j] < threshold) {
                out[n++] = (uint32_t)j;
            } else if (at_threshold > 0) {
                out[n++] = (uint32_t)j;
                at_threshold--;
            }
        }
    }
    for (; i < count; i++) {
        uint16_t v = values[i];
        if (v < threshold) {
            out[n++] = (uint32_t)i;
        } else if (v == threshold && at_threshold > 0) {
            out[n++] = (uint32_t)i;
            at_threshold--;
        }
    }
    return n;
}
#endif

size_t hidx_collect_below(const uint16_t *values, size_t count, uint16_t threshold, size_t at_threshold,
                          uint32_t *out) {
#if HIDX_X86
    static int has = -1;
    int h = __atomic_load_n(&has, __ATOMIC_RELAXED);
    if (h < 0) {
        h = cpu_has_avx512bw();
        __atomic_store_n(&has, h, __ATOMIC_RELAXED);
    }
    if (h) return collect_below_avx512(values, count, threshold, at_threshold, out);
#endif
    return hidx_collect_below_portable(values, count, threshold, at_threshold, out);
}

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
        for (size_t j = i; j < i + 32; j++) {
            uint16_t v = values[j];
            if (v < threshold) {
                out[n++] = (uint32_t)j;
            } else if (v == threshold && at_threshold > 0) {
                out[n++] = (uint32_t)j;
                at_threshold--;
            }
        }
    }
    for (; i < count; i++) {
        uint16_t v = values[i];
        if (v < threshold) {
            out[n++] = (uint32_t)i;
        } else if (v == threshold && at_threshold > 0) {
            out[n++] = (uint32_t)i;
            at_threshold--;
        }
    }
    return n;
}

/* ---------- Half precision ---------- */

static inline float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F;
    uint32_t mant = h & 0x3FF;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {
            /* Subnormal: normalise. */
            int e = -1;
            do { e++; mant <<= 1; } while (!(mant & 0x400));
            mant &= 0x3FF;
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | (mant << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7F800000u | (mant << 13);
    } else {
        bits = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline uint16_t float_to_half(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t absx = x & 0x7FFFFFFFu;
    if (absx >= 0x7F800000u) { /* inf or NaN */
        return (uint16_t)(sign | 0x7C00 | (absx > 0x7F800000u ? 0x200 : 0));
    }
    if (absx >= 0x477FF000u) return (uint16_t)(sign | 0x7C00); /* rounds to >= 65520: inf */
    if (absx < 0x38800000u) { /* below the smallest normal half: subnormal or zero */
        if (absx < 0x33000000u) return (uint16_t)sign; /* < 2^-25: rounds to zero */
        uint32_t e = absx >> 23;
        uint32_t m = (absx & 0x7FFFFF) | 0x800000;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t v = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (v & 1))) v++;
        return (uint16_t)(sign | v);
    }
    uint32_t v = ((absx >> 13) - (112u << 10));
    uint32_t rem = absx & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (v & 1))) v++;
    return (uint16_t)(sign | v);
}

void hidx_float_to_half(const float *in, uint16_t *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = float_to_half(in[i]);
}

void hidx_half_to_float(const uint16_t *in, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = half_to_float(in[i]);
}

float hidx_dot_f16_portable(const float *a, const uint16_t *b, size_t n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * half_to_float(b[i]);
        s1 += a[i + 1] * half_to_float(b[i + 1]);
        s2 += a[i + 2] * half_to_float(b[i + 2]);
        s3 += a[i + 3] * half_to_float(b[i + 3]);
    }
    for (; i < n; i++) s0 += a[i] * half_to_float(b[i]);
    return (s0 + s1) + (s2 + s3);
}

#if HIDX_X86
static int cpu_has_f16c_avx2_fma(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    return (c & bit_F16C) != 0 && (c & bit_FMA) != 0 && cpu_has_avx2();
}

__attribute__((target("avx2,fma,f16c")))
static float dot_f16_f16c(const float *a, const uint16_t *b, size_t n) {
    __m256 acc = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 vb = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + i)));
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), vb, acc);
    }
    __m128 lo = _mm256_castps256_ps128(acc), hi = _mm256_extractf128_ps(acc, 1);
    __m128 s = _mm_add_ps(lo, hi);
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    float total = _mm_cvtss_f32(s);
    for (; i < n; i++) total += a[i] * half_to_float(b[i]);
    return total;
}
#endif

float hidx_dot_f16(const float *a, const uint16_t *b, size_t n) {
#if HIDX_X86
    static int has = -1;
    int h = __atomic_load_n(&has, __ATOMIC_RELAXED);
    if (h < 0) {
        h = cpu_has_f16c_avx2_fma();
        __atomic_store_n(&has, h, __ATOMIC_RELAXED);
    }
    if (h) return dot_f16_f16c(a, b, n);
#endif
    return hidx_dot_f16_portable(a, b, n);
}

/* ---------- Dot products against transposed vectors (partition centroids) ---------- */

/* Every path computes out[r][c] as the chain acc = fma(t[i][c], x[r][i], acc) for i = 0, 1, …
   from acc = 0, so every CPU gets bit-identical scores (and so the same partitions). */

static void dot_transposed_portable(const float *x, size_t nrows, size_t dim, const float *t, size_t stride,
                                    float *out) {
    for (size_t r = 0; r < nrows; r++) {
        const float *xr = x + r * dim;
        float *o = out + r * stride;
        for (size_t c = 0; c < stride; c += 8) {
            float a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            for (size_t i = 0; i < dim; i++) {
                const float *ti = t + i * stride + c;
                for (int j = 0; j < 8; j++) a[j] = fmaf(ti[j], xr[i], a[j]);
            }
            memcpy(o + c, a, sizeof a);
        }
    }
}

#if HIDX_X86
static int cpu_has_avx2_fma(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    return (c & bit_FMA) != 0 && cpu_has_avx2();
}

static int cpu_has_avx512f(void) {
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b & (1u << 16)) != 0 && os_saves_zmm();
}

/* Four rows × 32 columns per step (8 accumulators), then single rows × 64 columns. */
__attribute__((target("avx512f")))
static void dot_transposed_avx512(const float *x, size_t nrows, size_t dim, const float *t, size_t stride,
                                  float *out) {
    size_t r = 0;
    for (; r + 4 <= nrows; r += 4) {
        const float *x0 = x + r * dim, *x1 = x0 + dim, *x2 = x1 + dim, *x3 = x2 + dim;
        for (size_t c = 0; c < stride; c += 32) {
            __m512 a00 = _mm512_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
            for (size_t i = 0; i < dim; i++) {
                const float *ti = t + i * stride + c;
                __m512 t0 = _mm512_loadu_ps(ti), t1 = _mm512_loadu_ps(ti + 16);
                __m512 b = _mm512_set1_ps(x0[i]);
                a00 = _mm512_fmadd_ps(t0, b, a00); a01 = _mm512_fmadd_ps(t1, b, a01);
                b = _mm512_set1_ps(x1[i]);
                a10 = _mm512_fmadd_ps(t0, b, a10); a11 = _mm512_fmadd_ps(t1, b, a11);
                b = _mm512_set1_ps(x2[i]);
                a20 = _mm512_fmadd_ps(t0, b, a20); a21 = _mm512_fmadd_ps(t1, b, a21);
                b = _mm512_set1_ps(x3[i]);
                a30 = _mm512_fmadd_ps(t0, b, a30); a31 = _mm512_fmadd_ps(t1, b, a31);
            }
            float *o = out + r * stride + c;
            _mm512_storeu_ps(o, a00); _mm512_storeu_ps(o + 16, a01);
            _mm512_storeu_ps(o + stride, a10); _mm512_storeu_ps(o + stride + 16, a11);
            _mm512_storeu_ps(o + 2 * stride, a20); _mm512_storeu_ps(o + 2 * stride + 16, a21);
            _mm512_storeu_ps(o + 3 * stride, a30); _mm512_storeu_ps(o + 3 * stride + 16, a31);
        }
    }
    for (; r < nrows; r++) {
        const float *xr = x + r * dim;
        for (size_t c = 0; c < stride; c += 64) {
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (size_t i = 0; i < dim; i++) {
                const float *ti = t + i * stride + c;
                __m512 b = _mm512_set1_ps(xr[i]);
                a0 = _mm512_fmadd_ps(_mm512_loadu_ps(ti), b, a0);
                a1 = _mm512_fmadd_ps(_mm512_loadu_ps(ti + 16), b, a1);
                a2 = _mm512_fmadd_ps(_mm512_loadu_ps(ti + 32), b, a2);
                a3 = _mm512_fmadd_ps(_mm512_loadu_ps(ti + 48), b, a3);
            }
            float *o = out + r * stride + c;
            _mm512_storeu_ps(o, a0); _mm512_storeu_ps(o + 16, a1);
            _mm512_storeu_ps(o + 32, a2); _mm512_storeu_ps(o + 48, a3);
        }
    }
}

/* Four rows × 16 columns per step (8 accumulators), then single rows × 32 columns. */
__attribute__((target("avx2,fma")))
static void dot_transposed_avx2(const float *x, size_t nrows, size_t dim, const float *t, size_t stride,
                                float *out) {
    size_t r = 0;
    for (; r + 4 <= nrows; r += 4) {
        const float *x0 = x + r * dim, *x1 = x0 + dim, *x2 = x1 + dim, *x3 = x2 + dim;
        for (size_t c = 0; c < stride; c += 16) {
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
            for (size_t i = 0; i < dim; i++) {
                const float *ti = t + i * stride + c;
                __m256 t0 = _mm256_loadu_ps(ti), t1 = _mm256_loadu_ps(ti + 8);
                __m256 b = _mm256_set1_ps(x0[i]);
                a00 = _mm256_fmadd_ps(t0, b, a00); a01 = _mm256_fmadd_ps(t1, b, a01);
                b = _mm256_set1_ps(x1[i]);
                a10 = _mm256_fmadd_ps(t0, b, a10); a11 = _mm256_fmadd_ps(t1, b, a11);
                b = _mm256_set1_ps(x2[i]);
                a20 = _mm256_fmadd_ps(t0, b, a20); a21 = _mm256_fmadd_ps(t1, b, a21);
                b = _mm256_set1_ps(x3[i]);
                a30 = _mm256_fmadd_ps(t0, b, a30); a31 = _mm256_fmadd_ps(t1, b, a31);
            }
            float *o = out + r * stride + c;
            _mm256_storeu_ps(o, a00); _mm256_storeu_ps(o + 8, a01);
            _mm256_storeu_ps(o + stride, a10); _mm256_storeu_ps(o + stride + 8, a11);
            _mm256_storeu_ps(o + 2 * stride, a20); _mm256_storeu_ps(o + 2 * stride + 8, a21);
            _mm256_storeu_ps(o + 3 * stride, a30); _mm256_storeu_ps(o + 3 * stride + 8, a31);
        }
    }
    for (; r < nrows; r++) {
        const float *xr = x + r * dim;
        for (size_t c = 0; c < stride; c += 32) {
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (size_t i = 0; i < dim; i++) {
                const float *ti = t + i * stride + c;
                __m256 b = _mm256_set1_ps(xr[i]);
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(ti), b, a0);
                a1 = _mm256_fmadd_ps(_mm256_loadu_ps(ti + 8), b, a1);
                a2 = _mm256_fmadd_ps(_mm256_loadu_ps(ti + 16), b, a2);
                a3 = _mm256_fmadd_ps(_mm256_loadu_ps(ti + 24), b, a3);
            }
            float *o = out + r * stride + c;
            _mm256_storeu_ps(o, a0); _mm256_storeu_ps(o + 8, a1);
            _mm256_storeu_ps(o + 16, a2); _mm256_storeu_ps(o + 24, a3);
        }
    }
}
#endif

int hidx_dot_transposed_path(void) {
#if HIDX_X86
    static int path = -1;
    int p = __atomic_load_n(&path, __ATOMIC_RELAXED);
    if (p < 0) {
        p = cpu_has_avx512f() ? 2 : cpu_has_avx2_fma() ? 1 : 0;
        __atomic_store_n(&path, p, __ATOMIC_RELAXED);
    }
    return p;
#else
    return 0;
#endif
}

void hidx_dot_transposed_with(int path, const float *x, size_t nrows, size_t dim, const float *transposed,
                              size_t stride, float *out) {
#if HIDX_X86
    if (path > hidx_dot_transposed_path()) path = hidx_dot_transposed_path();
    if (path == 2) { dot_transposed_avx512(x, nrows, dim, transposed, stride, out); return; }
    if (path == 1) { dot_transposed_avx2(x, nrows, dim, transposed, stride, out); return; }
#else
    (void)path;
#endif
    dot_transposed_portable(x, nrows, dim, transposed, stride, out);
}

void hidx_dot_transposed(const float *x, size_t nrows, size_t dim, const float *transposed, size_t stride,
                         float *out) {
    hidx_dot_transposed_with(hidx_dot_transposed_path(), x, nrows, dim, transposed, stride, out);
}

/* ---------- Asymmetric bit-plane scores, many codes at once ---------- */

static void plane_scores_portable(const uint64_t *codes, size_t count, size_t words, const uint64_t *positive,
                                  const uint64_t *negative, int planes, int32_t *out) {
    for (size_t i = 0; i < count; i++) out[i] = hidx_plane_score(codes + i * words, words, positive, negative, planes);
}

#if HIDX_X86
__attribute__((target("popcnt")))
static void plane_scores_popcnt(const uint64_t *codes, size_t count, size_t words, const uint64_t *positive,
                                const uint64_t *negative, int planes, int32_t *out) {
    for (size_t i = 0; i < count; i++) out[i] = hidx_plane_score(codes + i * words, words, positive, negative, planes);
}

/* 256-bit codes, four planes: planes 0–1 and 2–3 of each sign fill two registers; the code is
   broadcast to both halves, and each lane's count is shifted by its plane number. */
__attribute__((target("avx512f,avx512vpopcntdq")))
static void plane_scores_avx512_4x4(const uint64_t *codes, size_t count, const uint64_t *positive,
                                    const uint64_t *negative, int32_t *out) {
    const __m512i p01 = _mm512_loadu_si512((const void *)positive), p23 = _mm512_loadu_si512((const void *)(positive + 8));
    const __m512i n01 = _mm512_loadu_si512((const void *)negative), n23 = _mm512_loadu_si512((const void *)(negative + 8));
    const __m512i s01 = _mm512_set_epi64(1, 1, 1, 1, 0, 0, 0, 0), s23 = _mm512_set_epi64(3, 3, 3, 3, 2, 2, 2, 2);
    for (size_t i = 0; i < count; i++) {
        const __m512i c = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(codes + 4 * i)));
        __m512i a = _mm512_sub_epi64(_mm512_popcnt_epi64(_mm512_and_si512(p01, c)), _mm512_popcnt_epi64(_mm512_and_si512(n01, c)));
        __m512i b = _mm512_sub_epi64(_mm512_popcnt_epi64(_mm512_and_si512(p23, c)), _mm512_popcnt_epi64(_mm512_and_si512(n23, c)));
        __m512i sum = _mm512_add_epi64(_mm512_sllv_epi64(a, s01), _mm512_sllv_epi64(b, s23));
        out[i] = (int32_t)_mm512_reduce_add_epi64(sum);
    }
}
#endif

void hidx_plane_scores(const uint64_t *codes, size_t count, size_t words, const uint64_t *positive,
                       const uint64_t *negative, int planes, int32_t *out) {
#if HIDX_X86
    if (words == 4 && planes == 4 && hidx_kernel_available(HIDX_KERNEL_AVX512)) {
        plane_scores_avx512_4x4(codes, count, positive, negative, out);
        return;
    }
    if (hidx_kernel_available(HIDX_KERNEL_POPCNT)) {
        plane_scores_popcnt(codes, count, words, positive, negative, planes, out);
        return;
    }
#endif
    plane_scores_portable(codes, count, words, positive, negative, planes, out);
}

void hidx_plane_scores_portable(const uint64_t *codes, size_t count, size_t words, const uint64_t *positive,
                                const uint64_t *negative, int planes, int32_t *out) {
    plane_scores_portable(codes, count, words, positive, negative, planes, out);
}

/* ---------- Top-n selection of floats ---------- */

/* A float's bits as an unsigned key with the same order (negative values flipped). */
static inline uint32_t float_key(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

size_t hidx_select_largest_f32(const float *values, size_t count, size_t keep, uint32_t *out) {
    if (keep >= count) {
        for (size_t i = 0; i < count; i++) out[i] = (uint32_t)i;
        return count;
    }
    if (keep == 0) return 0;
    /* Radix select from the top bits down: the key of the keep-th largest value, 11, 11
       and 10 bits at a time, each round counting only the values that share the prefix. */
    uint32_t hist[2048];
    uint32_t prefix = 0, prefix_mask = 0;
    size_t need = keep;   /* how many of the values matching the prefix are still wanted */
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
