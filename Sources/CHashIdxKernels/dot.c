// Float kernels: IEEE half-precision conversion (exact to float, round to nearest even from
// float), the dot product of floats with halves (F16C + AVX2 + FMA or portable; each half is
// converted exactly, so paths differ only in summation order), and the dot products of many
// rows with vectors stored transposed (the partition centroids), where the AVX-512F, AVX2 +
// FMA and portable fmaf paths compute the same FMA chain and so give bit-identical results.

#include "cpu.h"

#include <math.h>
#include <string.h>

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

/* ---------- Dot product of floats with halves ---------- */

/* Four running sums, added pairwise at the end. */
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
/* F16C converts eight halves per instruction; one FMA accumulator of eight floats. */
__attribute__((target("avx2,fma,f16c")))
float hidx_dot_f16_f16c(const float *a, const uint16_t *b, size_t n) {
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
    return hidx_dispatch()->dot_f16(a, b, n);
}

/* ---------- Dot products against transposed vectors (partition centroids) ---------- */

/* Every path computes out[r][c] as the chain acc = fma(t[i][c], x[r][i], acc) for i = 0, 1, …
   from acc = 0, so every CPU gets bit-identical scores (and so the same partitions). The two
   vector kernels have the same shape on purpose, at their register widths: four rows at a
   time sharing each load of the transposed vectors (8 accumulators), then single rows. */

/* Eight columns at a time with fmaf (a correctly rounded fused multiply-add, like the
   vector instructions). */
void hidx_dot_transposed_portable(const float *x, size_t nrows, size_t dim, const float *t, size_t stride,
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
/* AVX-512F: four rows × 32 columns per step (8 accumulators), then single rows × 64 columns. */
__attribute__((target("avx512f")))
void hidx_dot_transposed_avx512(const float *x, size_t nrows, size_t dim, const float *t, size_t stride,
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

/* AVX2 + FMA: four rows × 16 columns per step (8 accumulators), then single rows × 32 columns. */
__attribute__((target("avx2,fma")))
void hidx_dot_transposed_avx2(const float *x, size_t nrows, size_t dim, const float *t, size_t stride,
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
    return hidx_dispatch()->dot_transposed_path;
}

void hidx_dot_transposed_with(int path, const float *x, size_t nrows, size_t dim, const float *transposed,
                              size_t stride, float *out) {
    const hidx_dispatch_table *d = hidx_dispatch();
    if (path > d->dot_transposed_path) path = d->dot_transposed_path;
    if (path < 0) path = 0;
    d->dot_transposed[path](x, nrows, dim, transposed, stride, out);
}

void hidx_dot_transposed(const float *x, size_t nrows, size_t dim, const float *transposed, size_t stride,
                         float *out) {
    hidx_dot_transposed_with(hidx_dot_transposed_path(), x, nrows, dim, transposed, stride, out);
}
