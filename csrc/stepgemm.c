/* The packing-free product of small float32 matrices (recurrent steps, small dense layers).
 *
 *   C (m x n) = beta * C + A (m x k) @ P (k x n), row-major, beta 0 or 1, float32
 *   (fastnn_step_gemm_f32), and C = beta * C + A^T @ P with A stored (k x m)
 *   (fastnn_step_gemm_tn_f32: the weight gradient x^T @ dz of a dense layer).
 *
 * Why: inside a time loop the same right-hand matrix (U, or U^T in backward) is
 * multiplied 2T times by a small block of rows. OpenBLAS repacks both operands at
 * every call; a profile of the LSTM(128) F=32 T=100 B=64 training step showed the
 * packing routines (sgemm_itcopy / incopy / otcopy) at 29% of all samples against
 * 41% in the multiply kernel itself. P is read here in place, row by row, so its
 * block stays in cache across the whole row loop and nothing is copied.
 *
 * The body (stepgemm_impl.inc) is compiled twice and picked at run time:
 *   AVX-512: blocks of 4 rows x 64 columns, 16 of the 32 zmm registers accumulate;
 *   AVX2 + FMA: blocks of 6 rows x 16 columns, 12 of the 16 ymm registers accumulate
 *     (two P vectors and one broadcast take three more), the shape of OpenBLAS's own
 *     Haswell kernel.
 * Column tails are masked vectors, row tails one smaller block. Other CPUs: the caller
 * uses BLAS (fastnn_step_gemm_available() == 0). FASTNN_STEP_GEMM=avx2 in the
 * environment caps the choice at AVX2 (to test that path on an AVX-512 CPU), =off turns
 * the kernel off. Rounding differs from BLAS in the summation order only (sequential in
 * k, fused multiply-adds), within the tolerances of the twin tests. */
#include <stdlib.h>
#include <string.h>
#include "fastnn_kernels.h"

/* A's element (i, q) is a[i * ars + q * acs]. Used where no vector body is compiled, and
 * kept correct all the same: the callers never reach it (available() is 0 there). */
static void sg_plain(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t ars,
                     ptrdiff_t acs, const float *p, ptrdiff_t ldp, int beta, float *c,
                     ptrdiff_t ldc)
{
    for (ptrdiff_t i = 0; i < m; i++)
        for (ptrdiff_t j = 0; j < n; j++) {
            float s = 0;
            for (ptrdiff_t q = 0; q < k; q++)
                s += a[i * ars + q * acs] * p[q * ldp + j];
            c[i * ldc + j] = beta ? c[i * ldc + j] + s : s;
        }
}

static void sg_plain_nn(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                        const float *p, ptrdiff_t ldp, int beta, float *c, ptrdiff_t ldc)
{
    sg_plain(m, n, k, a, lda, 1, p, ldp, beta, c, ldc);
}

static void sg_plain_tn(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                        const float *p, ptrdiff_t ldp, int beta, float *c, ptrdiff_t ldc)
{
    sg_plain(m, n, k, a, 1, lda, p, ldp, beta, c, ldc);
}

#if defined(__GNUC__) && defined(__x86_64__) && !defined(FASTNN_NO_CLONES)
#define SG_VECTOR 1
#include <immintrin.h>
#define SG_INLINE static inline __attribute__((always_inline))
/* 128 rows of P: a column block of a chunk is 32 KB (AVX-512, 64 columns) or 8 KB (AVX2,
 * 16 columns), inside L1 in both. SG_MC rows of A at a time: every column block walks
 * the same MC x KC block of A (128 KB), which stays in L2. */
#define SG_KC 128
#ifndef SG_MC
#define SG_MC 256
#endif

/* ---- AVX-512 ---- */
#define SG_(name) name##_avx512
#define SG_TGT __attribute__((target("avx512f,fma")))
#define SG_V __m512
#define SG_M __mmask16
#define SG_VW 16
#define SG_MR 4
#define SG_NV 4
#define SG_ZERO() _mm512_setzero_ps()
#define SG_SET1(x) _mm512_set1_ps(x)
#define SG_FMA(a, b, acc) _mm512_fmadd_ps(a, b, acc)
#define SG_ADD(a, b) _mm512_add_ps(a, b)
#define SG_LOAD(p) _mm512_loadu_ps(p)
#define SG_LOADM(p, m) _mm512_maskz_loadu_ps(m, p)
#define SG_STORE(p, v) _mm512_storeu_ps(p, v)
#define SG_STOREM(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define SG_MASK(t) ((__mmask16)((t) >= 16 ? 0xFFFFu : (1u << (t)) - 1u))
#include "stepgemm_impl.inc"
#undef SG_
#undef SG_TGT
#undef SG_V
#undef SG_M
#undef SG_VW
#undef SG_MR
#undef SG_NV
#undef SG_ZERO
#undef SG_SET1
#undef SG_FMA
#undef SG_ADD
#undef SG_LOAD
#undef SG_LOADM
#undef SG_STORE
#undef SG_STOREM
#undef SG_MASK

/* ---- AVX2 + FMA ---- */
#define SG_(name) name##_avx2
#define SG_TGT __attribute__((target("avx2,fma")))
#define SG_V __m256
#define SG_M __m256i
#define SG_VW 8
#define SG_MR 6
#define SG_NV 2
#define SG_ZERO() _mm256_setzero_ps()
#define SG_SET1(x) _mm256_set1_ps(x)
#define SG_FMA(a, b, acc) _mm256_fmadd_ps(a, b, acc)
#define SG_ADD(a, b) _mm256_add_ps(a, b)
#define SG_LOAD(p) _mm256_loadu_ps(p)
#define SG_LOADM(p, m) _mm256_maskload_ps(p, m)
#define SG_STORE(p, v) _mm256_storeu_ps(p, v)
#define SG_STOREM(p, m, v) _mm256_maskstore_ps(p, m, v)
#define SG_MASK(t) _mm256_cmpgt_epi32(_mm256_set1_epi32(t), \
                                      _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#include "stepgemm_impl.inc"
#endif

/* 2: AVX-512, 1: AVX2 + FMA, 0: neither (or turned off). Decided once per process (per
 * extension module: each links its own copy); threads that race here compute and store
 * the same value. */
static int sg_level = -1;

static int sg_select(void)
{
    int level = 0;
#ifdef SG_VECTOR
    const char *cap = getenv("FASTNN_STEP_GEMM");
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        level = 2;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        level = 1;
    if (cap != NULL && strcmp(cap, "off") == 0)
        level = 0;
    else if (cap != NULL && strcmp(cap, "avx2") == 0 && level > 1)
        level = 1;
#endif
    __atomic_store_n(&sg_level, level, __ATOMIC_RELEASE);
    return level;
}

int fastnn_step_gemm_available(void)
{
    int level = __atomic_load_n(&sg_level, __ATOMIC_ACQUIRE);
    return level >= 0 ? level : sg_select();
}

/* Whether the kernel beats BLAS on a product with an m x n result, on this CPU. AVX-512:
 * at every size the callers send it (below BLAS's threaded size; recurrent steps).
 * AVX2: where BLAS's packing is not paid back, a result with a side of at most 64 and
 * at most 1024 columns, or of at most 2^14 values. Measured on a Zen 3 CPU, one thread,
 * GFLOP/s kernel vs BLAS (calls from Python, medians): 32x128 @ 128x512 49 vs 35;
 * 64x128 @ 128x512 56 vs 47; 64x512 @ 512x2048 46 vs 55; (6400x128)^T @ 6400x512 49
 * vs 62; (3200x100)^T @ 3200x100 60 vs 44. */
int fastnn_step_gemm_suits(ptrdiff_t m, ptrdiff_t n)
{
    switch (fastnn_step_gemm_available()) {
    case 2: return 1;
    case 1: return ((m <= 64 || n <= 64) && n <= 1024) || m * n <= 16384;
    default: return 0;
    }
}

/* The body this CPU runs; tn: multiply by A^T. */
static void sg_run(int tn, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                   const float *p, ptrdiff_t ldp, int beta, float *c, ptrdiff_t ldc)
{
#ifdef SG_VECTOR
    switch (fastnn_step_gemm_available()) {
    case 2: (tn ? sg_tn_avx512 : sg_nn_avx512)(m, n, k, a, lda, p, ldp, beta, c, ldc); return;
    case 1: (tn ? sg_tn_avx2 : sg_nn_avx2)(m, n, k, a, lda, p, ldp, beta, c, ldc); return;
    default: break;
    }
#endif
    (tn ? sg_plain_tn : sg_plain_nn)(m, n, k, a, lda, p, ldp, beta, c, ldc);
}

void fastnn_step_gemm_f32(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                          const float *p, ptrdiff_t ldp, int beta, float *c, ptrdiff_t ldc)
{
    sg_run(0, m, n, k, a, lda, p, ldp, beta, c, ldc);
}

void fastnn_step_gemm_tn_f32(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a,
                             ptrdiff_t lda, const float *p, ptrdiff_t ldp, int beta, float *c,
                             ptrdiff_t ldc)
{
    sg_run(1, m, n, k, a, lda, p, ldp, beta, c, ldc);
}
