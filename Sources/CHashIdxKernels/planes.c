// Asymmetric scores of many codes at once against one query given as bit planes (see
// hidx_plane_score in the public header): the re-ranking step of a query, one call for the
// whole shortlist. AVX-512 VPOPCNTDQ scores 256-bit codes with four planes in one register
// pair; every other shape uses the header's scorer, compiled with or without POPCNT. All
// paths give the same scores.

#include "cpu.h"

/* The portable and POPCNT paths have the same body on purpose: both call the header's
   hidx_plane_score. Its __builtin_popcountll compiles to the POPCNT instruction inside a
   function with target("popcnt"), and to a bit-twiddling sequence without it (the x86-64
   baseline has no POPCNT), so the attribute is the whole difference between the two. */
void hidx_plane_scores_portable(const uint64_t *codes, size_t count, size_t words, const uint64_t *positive,
                                const uint64_t *negative, int planes, int32_t *out) {
    for (size_t i = 0; i < count; i++) out[i] = hidx_plane_score(codes + i * words, words, positive, negative, planes);
}

#if HIDX_X86
__attribute__((target("popcnt")))
void hidx_plane_scores_popcnt(const uint64_t *codes, size_t count, size_t words, const uint64_t *positive,
                              const uint64_t *negative, int planes, int32_t *out) {
    for (size_t i = 0; i < count; i++) out[i] = hidx_plane_score(codes + i * words, words, positive, negative, planes);
}

/* 256-bit codes, four planes: planes 0–1 and 2–3 of each sign fill two registers; the code is
   broadcast to both halves, and each lane's count is shifted by its plane number. */
__attribute__((target("avx512f,avx512vpopcntdq")))
void hidx_plane_scores_avx512_4x4(const uint64_t *codes, size_t count, const uint64_t *positive,
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

/* The 4×4 kernel where the CPU has it and the shape fits; otherwise POPCNT or portable. */
void hidx_plane_scores(const uint64_t *codes, size_t count, size_t words, const uint64_t *positive,
                       const uint64_t *negative, int planes, int32_t *out) {
    const hidx_dispatch_table *d = hidx_dispatch();
    if (words == 4 && planes == 4 && d->plane_scores_4x4) {
        d->plane_scores_4x4(codes, count, positive, negative, out);
        return;
    }
    d->plane_scores(codes, count, words, positive, negative, planes, out);
}
