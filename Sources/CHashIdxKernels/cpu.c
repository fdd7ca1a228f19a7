// CPU feature detection and kernel dispatch for every kernel of CHashIdxKernels.
//
// The package may not use unsafeFlags, so the target is compiled for the baseline CPU and
// every fast path is a separate function compiled for its instruction set through a
// per-function `target` attribute (in the file of its job). Which of them may run is decided
// here, once per process: detect_cpu asks CPUID and XGETBV (a VM exit under virtualisation,
// far too slow to ask per call), and dispatch_init fills one table of function pointers from
// the answer, the way hnswlib picks a distance function once per space. Every public entry
// point then calls through hidx_dispatch(); hidx_kernel_available/best/name report from it.

#include "cpu.h"

#include <pthread.h>

#if HIDX_X86
#include <cpuid.h>
#endif

/* ---------- CPU features ---------- */

static hidx_cpu_features detect_cpu(void) {
    hidx_cpu_features f = {0};
#if HIDX_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    f.popcnt = (c & bit_POPCNT) != 0;
    f.sse42 = (c & bit_SSE4_2) != 0;
    f.fma = (c & bit_FMA) != 0;
    f.f16c = (c & bit_F16C) != 0;
    /* Whether the OS saves the wide registers across context switches: XCR0, read with XGETBV
       (which exists only when the OS has set OSXSAVE). */
    if (c & bit_OSXSAVE) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        (void)hi;
        f.os_ymm = (lo & 0x6) == 0x6;     /* XMM, YMM */
        f.os_zmm = (lo & 0xE6) == 0xE6;   /* XMM, YMM, opmask, ZMM_Hi256, Hi16_ZMM */
    }
    if (__get_cpuid_max(0, 0) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        f.avx2 = (b & (1u << 5)) != 0 && f.os_ymm;
        f.avx512f = (b & (1u << 16)) != 0 && f.os_zmm;
        f.avx512bw = (b & (1u << 30)) != 0 && f.os_zmm;
        f.avx512vpopcntdq = (c & (1u << 14)) != 0 && f.os_zmm;
    }
#endif
    return f;
}

/* ---------- Dispatch table ---------- */

static hidx_dispatch_table table;
static const hidx_dispatch_table *published;   /* &table once it is filled */
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void dispatch_init(void) {
    hidx_dispatch_table *t = &table;
    const hidx_cpu_features f = detect_cpu();
    t->cpu = f;

    /* Hamming kernels (the ids of the public enum). POPCNT means the compiler's popcount off
       x86-64, so it is always there. */
    int *available = t->kernel_available;
    available[HIDX_KERNEL_AUTO] = 1;
    available[HIDX_KERNEL_PORTABLE] = 1;
    available[HIDX_KERNEL_POPCNT] = HIDX_X86 ? f.popcnt : 1;
    available[HIDX_KERNEL_AVX512] = f.avx512f && f.avx512vpopcntdq;
    available[HIDX_KERNEL_AVX2] = f.avx2 && f.popcnt;

    t->hamming[HIDX_KERNEL_PORTABLE] = hidx_hamming_portable;
    if (available[HIDX_KERNEL_POPCNT]) t->hamming[HIDX_KERNEL_POPCNT] = hidx_hamming_popcnt;
#if HIDX_X86
    if (available[HIDX_KERNEL_AVX512]) t->hamming[HIDX_KERNEL_AVX512] = hidx_hamming_avx512;
    if (available[HIDX_KERNEL_AVX2]) t->hamming[HIDX_KERNEL_AVX2] = hidx_hamming_avx2;
#endif

    /* AUTO: AVX-512 over POPCNT over portable. Without AVX-512, the AVX2 table kernel beats
       POPCNT from 512 bits on but not at 256 (Benchmarks, 1M codes: 2.3 vs 2.8 ms at 512 bits,
       1.7 vs 1.5 ms at 256), so codes of 8 words and more use it where the CPU has it. */
    t->hamming_auto = available[HIDX_KERNEL_AVX512] ? HIDX_KERNEL_AVX512
                    : available[HIDX_KERNEL_POPCNT] ? HIDX_KERNEL_POPCNT
                    : HIDX_KERNEL_PORTABLE;
    t->hamming_auto_long = t->hamming_auto == HIDX_KERNEL_POPCNT && available[HIDX_KERNEL_AVX2]
                         ? HIDX_KERNEL_AVX2 : t->hamming_auto;

    /* One fast path each, portable otherwise. */
    t->crc32c = hidx_crc32c_portable;
    t->collect_below = hidx_collect_below_portable;
    t->dot_f16 = hidx_dot_f16_portable;
    t->plane_scores = hidx_plane_scores_portable;
    t->plane_scores_4x4 = NULL;
#if HIDX_X86
    if (f.sse42) t->crc32c = hidx_crc32c_sse42;
    if (f.avx512f && f.avx512bw) t->collect_below = hidx_collect_below_avx512;
    if (f.f16c && f.fma && f.avx2) t->dot_f16 = hidx_dot_f16_f16c;
    if (available[HIDX_KERNEL_POPCNT]) t->plane_scores = hidx_plane_scores_popcnt;
    if (available[HIDX_KERNEL_AVX512]) t->plane_scores_4x4 = hidx_plane_scores_avx512_4x4;
#endif

    /* Dot products against transposed vectors, by path (all paths give identical bits). */
    t->dot_transposed_path = f.avx512f ? 2 : (f.avx2 && f.fma) ? 1 : 0;
    t->dot_transposed[0] = hidx_dot_transposed_portable;
#if HIDX_X86
    if (t->dot_transposed_path >= 1) t->dot_transposed[1] = hidx_dot_transposed_avx2;
    if (t->dot_transposed_path >= 2) t->dot_transposed[2] = hidx_dot_transposed_avx512;
#endif

    __atomic_store_n(&published, t, __ATOMIC_RELEASE);
}

const hidx_dispatch_table *hidx_dispatch(void) {
    /* Once filled: one acquire load. Before: pthread_once runs dispatch_init exactly once and
       makes every other first caller wait for it. */
    const hidx_dispatch_table *t = __atomic_load_n(&published, __ATOMIC_ACQUIRE);
    if (__builtin_expect(t != NULL, 1)) return t;
    pthread_once(&table_once, dispatch_init);
    return &table;
}

/* ---------- Kernel ids (public) ---------- */

int hidx_kernel_available(int kernel) {
    if (kernel < 0 || kernel >= HIDX_KERNEL_COUNT) return 0;
    return hidx_dispatch()->kernel_available[kernel];
}

int hidx_kernel_best(void) {
    return hidx_dispatch()->hamming_auto;
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
