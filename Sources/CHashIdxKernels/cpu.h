// Private to the CHashIdxKernels target (it is not in include/, so Swift never sees it).
//
// What the CPU can run (hidx_cpu_features), the table of kernels chosen from that once per
// process (hidx_dispatch_table, filled in cpu.c), and the declarations of the kernels the
// table points at, which live in the file of their job (hamming.c, select.c, dot.c,
// planes.c, crc32c.c). Every public entry point reads the table and calls through it; no
// kernel asks the CPU anything itself.

#ifndef HASHIDX_CPU_H
#define HASHIDX_CPU_H

#include "hashidx_kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#define HIDX_X86 1
#include <immintrin.h>
#else
#define HIDX_X86 0
#endif

/* Kernels shared between the files of this target, not exported from it. */
#define HIDX_INTERNAL __attribute__((visibility("hidden")))

/* For code that is fast with the x86-64 POPCNT instruction and needs nothing special
   elsewhere (where __builtin_popcountll is already the machine's own popcount). */
#if HIDX_X86
#define HIDX_TARGET_POPCNT __attribute__((target("popcnt")))
#else
#define HIDX_TARGET_POPCNT
#endif

/* ---------- CPU features ---------- */

/* What this CPU and its OS can run, asked once per process (CPUID is a VM exit under
   virtualisation: far too slow to ask per call). Flags for instructions on YMM or ZMM
   registers already include the OS check (XGETBV) that the OS saves those registers.
   All zero off x86-64. */
typedef struct {
    int popcnt;            /* CPUID.1:ECX POPCNT */
    int sse42;             /* CPUID.1:ECX SSE4.2 (the CRC32 instruction) */
    int fma;               /* CPUID.1:ECX FMA (used only together with avx2) */
    int f16c;              /* CPUID.1:ECX F16C (used only together with avx2) */
    int os_ymm;            /* OSXSAVE, and XCR0 has XMM and YMM state (0x6) */
    int os_zmm;            /* OSXSAVE, and XCR0 has XMM, YMM, opmask, ZMM_Hi256, Hi16_ZMM (0xE6) */
    int avx2;              /* CPUID.7.0:EBX AVX2, and os_ymm */
    int avx512f;           /* CPUID.7.0:EBX AVX512F, and os_zmm */
    int avx512bw;          /* CPUID.7.0:EBX AVX512BW, and os_zmm */
    int avx512vpopcntdq;   /* CPUID.7.0:ECX AVX512_VPOPCNTDQ, and os_zmm */
} hidx_cpu_features;

/* ---------- Dispatch table ---------- */

typedef void (*hidx_hamming_fn)(const uint64_t *codes, size_t count, size_t words, const uint64_t *query,
                                uint16_t *out);
typedef uint32_t (*hidx_crc32c_fn)(uint32_t crc, const void *data, size_t length);
typedef size_t (*hidx_collect_below_fn)(const uint16_t *values, size_t count, uint16_t threshold,
                                        size_t at_threshold, uint32_t *out);
typedef float (*hidx_dot_f16_fn)(const float *a, const uint16_t *b, size_t n);
typedef void (*hidx_dot_transposed_fn)(const float *x, size_t nrows, size_t dim, const float *transposed,
                                       size_t stride, float *out);
typedef void (*hidx_plane_scores_fn)(const uint64_t *codes, size_t count, size_t words, const uint64_t *positive,
                                     const uint64_t *negative, int planes, int32_t *out);
typedef void (*hidx_plane_scores_4x4_fn)(const uint64_t *codes, size_t count, const uint64_t *positive,
                                         const uint64_t *negative, int32_t *out);

#define HIDX_KERNEL_COUNT 5       /* Hamming kernel ids 0 ..< 5, HIDX_KERNEL_AUTO to HIDX_KERNEL_AVX2 */
#define HIDX_DOT_PATH_COUNT 3     /* dot_transposed paths: 0 portable, 1 AVX2 + FMA, 2 AVX-512F */

/* The kernels this process uses, chosen once from `cpu` (see dispatch_init in cpu.c). */
typedef struct {
    hidx_cpu_features cpu;

    /* Hamming scans. `hamming[k]` runs kernel id k; it is NULL for AUTO and for kernels this
       CPU lacks, which both resolve to hamming_auto (codes under 8 words) or
       hamming_auto_long (8 words and more). */
    int kernel_available[HIDX_KERNEL_COUNT];
    int hamming_auto;
    int hamming_auto_long;
    hidx_hamming_fn hamming[HIDX_KERNEL_COUNT];

    hidx_crc32c_fn crc32c;
    hidx_collect_below_fn collect_below;
    hidx_dot_f16_fn dot_f16;

    /* Dot products against transposed vectors: the best path, and the kernel of every path up
       to it (a path above it is lowered to it by the caller; entries above it are NULL). */
    int dot_transposed_path;
    hidx_dot_transposed_fn dot_transposed[HIDX_DOT_PATH_COUNT];

    /* Plane scores: `plane_scores_4x4` (NULL when the CPU lacks it) takes 256-bit codes with
       four planes; `plane_scores` takes every shape. */
    hidx_plane_scores_fn plane_scores;
    hidx_plane_scores_4x4_fn plane_scores_4x4;
} hidx_dispatch_table;

/* The table, filled on the first call (CPUID asked then, and never again). Thread-safe; after
   the first call it costs one atomic load. */
HIDX_INTERNAL const hidx_dispatch_table *hidx_dispatch(void);

/* ---------- Kernels behind the table (besides the public *_portable ones) ---------- */

/* hamming.c */
HIDX_INTERNAL void hidx_hamming_portable(const uint64_t *codes, size_t count, size_t words, const uint64_t *query,
                                         uint16_t *out);
HIDX_INTERNAL void hidx_hamming_popcnt(const uint64_t *codes, size_t count, size_t words, const uint64_t *query,
                                       uint16_t *out);
#if HIDX_X86
HIDX_INTERNAL void hidx_hamming_avx512(const uint64_t *codes, size_t count, size_t words, const uint64_t *query,
                                       uint16_t *out);
HIDX_INTERNAL void hidx_hamming_avx2(const uint64_t *codes, size_t count, size_t words, const uint64_t *query,
                                     uint16_t *out);
#endif

/* crc32c.c */
#if HIDX_X86
HIDX_INTERNAL uint32_t hidx_crc32c_sse42(uint32_t crc, const void *data, size_t length);
#endif

/* select.c */
#if HIDX_X86
HIDX_INTERNAL size_t hidx_collect_below_avx512(const uint16_t *values, size_t count, uint16_t threshold,
                                               size_t at_threshold, uint32_t *out);
#endif

/* dot.c */
HIDX_INTERNAL void hidx_dot_transposed_portable(const float *x, size_t nrows, size_t dim, const float *transposed,
                                                size_t stride, float *out);
#if HIDX_X86
HIDX_INTERNAL float hidx_dot_f16_f16c(const float *a, const uint16_t *b, size_t n);
HIDX_INTERNAL void hidx_dot_transposed_avx2(const float *x, size_t nrows, size_t dim, const float *transposed,
                                            size_t stride, float *out);
HIDX_INTERNAL void hidx_dot_transposed_avx512(const float *x, size_t nrows, size_t dim, const float *transposed,
                                              size_t stride, float *out);
#endif

/* planes.c */
#if HIDX_X86
HIDX_INTERNAL void hidx_plane_scores_popcnt(const uint64_t *codes, size_t count, size_t words,
                                            const uint64_t *positive, const uint64_t *negative, int planes,
                                            int32_t *out);
HIDX_INTERNAL void hidx_plane_scores_avx512_4x4(const uint64_t *codes, size_t count, const uint64_t *positive,
                                                const uint64_t *negative, int32_t *out);
#endif

#endif
