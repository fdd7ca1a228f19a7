/* Issue 24, item 2: the cost per code of scoring every probed row asymmetrically (a 4-plane
   weighted Hamming distance, sum_k 2^k popcount((code ^ query) & plane_k)) against the plain
   Hamming scan, both AVX-512 VPOPCNTDQ on 256-bit codes held in cache (20,000 codes, as GloVe-50
   at 64 probes). Build and run: cc -O2 -o /tmp/ws Benchmarks/scan/weighted_scan.c && /tmp/ws
   (needs a CPU with AVX-512 VPOPCNTDQ and BITALG). Results: Benchmarks/results/scan-experiments.md. */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
__attribute__((target("avx512f,avx512vpopcntdq,avx512bw")))
void ham(const uint64_t*c,size_t n,const uint64_t*q,uint16_t*out){
  const __m512i qq=_mm512_set_epi64(q[3],q[2],q[1],q[0],q[3],q[2],q[1],q[0]);
  const __m512i order=_mm512_set_epi64(7,5,6,4,3,1,2,0);
  for(size_t i=0;i+8<=n;i+=8){const uint64_t*x=c+i*4;
    __m512i p0=_mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(x),qq));
    __m512i p1=_mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(x+8),qq));
    __m512i p2=_mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(x+16),qq));
    __m512i p3=_mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(x+24),qq));
    __m512i a=_mm512_add_epi64(_mm512_unpacklo_epi64(p0,p1),_mm512_unpackhi_epi64(p0,p1));
    __m512i b=_mm512_add_epi64(_mm512_unpacklo_epi64(p2,p3),_mm512_unpackhi_epi64(p2,p3));
    __m512i X=_mm512_shuffle_i64x2(a,b,_MM_SHUFFLE(2,0,2,0));
    __m512i Y=_mm512_shuffle_i64x2(a,b,_MM_SHUFFLE(3,1,3,1));
    __m512i s=_mm512_permutexvar_epi64(order,_mm512_add_epi64(X,Y));
    _mm_storeu_si128((__m128i*)(out+i),_mm512_cvtepi64_epi16(s));}
}
/* weighted: d = sum_k 2^k popcnt((c^q)&M_k). Trick: popcount per byte-level? use vpopcntq on and'ed */
__attribute__((target("avx512f,avx512vpopcntdq,avx512bw")))
void wham(const uint64_t*c,size_t n,const uint64_t*q,const uint64_t*M,uint16_t*out){
  const __m512i qq=_mm512_set_epi64(q[3],q[2],q[1],q[0],q[3],q[2],q[1],q[0]);
  __m512i m[4];for(int k=0;k<4;k++)m[k]=_mm512_broadcast_i64x4(_mm256_loadu_si256((const void*)(M+4*k)));
  const __m512i order=_mm512_set_epi64(7,5,6,4,3,1,2,0);
  for(size_t i=0;i+8<=n;i+=8){const uint64_t*x=c+i*4; __m512i p[4];
    for(int j=0;j<4;j++){__m512i v=_mm512_xor_si512(_mm512_loadu_si512(x+8*j),qq);
      __m512i s=_mm512_popcnt_epi64(_mm512_and_si512(v,m[0]));
      s=_mm512_add_epi64(s,_mm512_slli_epi64(_mm512_popcnt_epi64(_mm512_and_si512(v,m[1])),1));
      s=_mm512_add_epi64(s,_mm512_slli_epi64(_mm512_popcnt_epi64(_mm512_and_si512(v,m[2])),2));
      s=_mm512_add_epi64(s,_mm512_slli_epi64(_mm512_popcnt_epi64(_mm512_and_si512(v,m[3])),3));
      p[j]=s;}
    __m512i a=_mm512_add_epi64(_mm512_unpacklo_epi64(p[0],p[1]),_mm512_unpackhi_epi64(p[0],p[1]));
    __m512i b=_mm512_add_epi64(_mm512_unpacklo_epi64(p[2],p[3]),_mm512_unpackhi_epi64(p[2],p[3]));
    __m512i X=_mm512_shuffle_i64x2(a,b,_MM_SHUFFLE(2,0,2,0));
    __m512i Y=_mm512_shuffle_i64x2(a,b,_MM_SHUFFLE(3,1,3,1));
    __m512i s=_mm512_permutexvar_epi64(order,_mm512_add_epi64(X,Y));
    _mm_storeu_si128((__m128i*)(out+i),_mm512_cvtepi64_epi16(s));}
}
/* byte-level: popcount bytes with vpopcntb? use avx512bitalg vpopcntb and weights via maddubs */
__attribute__((target("avx512f,avx512vpopcntdq,avx512bw,avx512bitalg")))
void wham_b(const uint64_t*c,size_t n,const uint64_t*q,const uint64_t*M,uint16_t*out){
  const __m512i qq=_mm512_set_epi64(q[3],q[2],q[1],q[0],q[3],q[2],q[1],q[0]);
  __m512i m[4];for(int k=0;k<4;k++)m[k]=_mm512_broadcast_i64x4(_mm256_loadu_si256((const void*)(M+4*k)));
  const __m512i order=_mm512_set_epi64(7,5,6,4,3,1,2,0);
  for(size_t i=0;i+8<=n;i+=8){const uint64_t*x=c+i*4; __m512i p[4];
    for(int j=0;j<4;j++){__m512i v=_mm512_xor_si512(_mm512_loadu_si512(x+8*j),qq);
      __m512i s=_mm512_popcnt_epi8(_mm512_and_si512(v,m[0]));
      s=_mm512_add_epi8(s,_mm512_add_epi8(_mm512_popcnt_epi8(_mm512_and_si512(v,m[1])),_mm512_popcnt_epi8(_mm512_and_si512(v,m[1]))));
      __m512i t=_mm512_popcnt_epi8(_mm512_and_si512(v,m[2]));
      t=_mm512_add_epi8(t,_mm512_add_epi8(_mm512_popcnt_epi8(_mm512_and_si512(v,m[3])),_mm512_popcnt_epi8(_mm512_and_si512(v,m[3]))));
      s=_mm512_add_epi8(s,_mm512_add_epi8(_mm512_add_epi8(t,t),_mm512_add_epi8(t,t)));
      p[j]=_mm512_sad_epu8(s,_mm512_setzero_si512());}
    __m512i a=_mm512_add_epi64(_mm512_unpacklo_epi64(p[0],p[1]),_mm512_unpackhi_epi64(p[0],p[1]));
    __m512i b=_mm512_add_epi64(_mm512_unpacklo_epi64(p[2],p[3]),_mm512_unpackhi_epi64(p[2],p[3]));
    __m512i X=_mm512_shuffle_i64x2(a,b,_MM_SHUFFLE(2,0,2,0));
    __m512i Y=_mm512_shuffle_i64x2(a,b,_MM_SHUFFLE(3,1,3,1));
    __m512i s=_mm512_permutexvar_epi64(order,_mm512_add_epi64(X,Y));
    _mm_storeu_si128((__m128i*)(out+i),_mm512_cvtepi64_epi16(s));}
}
int main(){size_t n=20000;uint64_t*c=aligned_alloc(64,n*32);for(size_t i=0;i<n*4;i++)c[i]=((uint64_t)rand()<<33)^((uint64_t)rand()<<11)^rand();
 uint64_t q[4]={1,2,3,4},M[16];for(int i=0;i<16;i++)M[i]=((uint64_t)rand()<<33)^rand();uint16_t*o=malloc(n*2);
 for(int r=0;r<3;r++){double t=now();for(int k=0;k<1000;k++)ham(c,n,q,o);double a=now()-t;t=now();for(int k=0;k<1000;k++)wham(c,n,q,M,o);double b=now()-t;
 t=now();for(int k=0;k<1000;k++)wham_b(c,n,q,M,o);double d=now()-t;
 printf("ham %.3f ns/code  wham %.3f  wham_b %.3f\n",a/n/1000*1e9,b/n/1000*1e9,d/n/1000*1e9);}
}
