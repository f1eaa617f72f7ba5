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
 * Column tails are masked vectors, row tails one smaller block. The caller passes the
 * body to run (`level`, chosen once per process by csrc/runtime/cpu.c): this file keeps
 * no state. Other CPUs: the caller uses BLAS (level 0). Rounding differs from BLAS in the
 * summation order only (sequential in
 * k, fused multiply-adds), within the tolerances of the twin tests. */
#include "fastnn_kernels.h"

/* A's element (i, q) is a[i * ars + q * acs]. Used where no vector body is compiled, and
 * kept correct all the same: the callers never reach it (their level is 0 there). */
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

#ifdef FASTNN_STEP_GEMM_VECTOR
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

/* The body for `level` (fastnn_step_level() of csrc/runtime/cpu.c); tn: multiply by A^T. */
static void sg_run(int level, int tn, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a,
                   ptrdiff_t lda,
                   const float *p, ptrdiff_t ldp, int beta, float *c, ptrdiff_t ldc)
{
#ifdef SG_VECTOR
    switch (level) {
    case 2: (tn ? sg_tn_avx512 : sg_nn_avx512)(m, n, k, a, lda, p, ldp, beta, c, ldc); return;
    case 1: (tn ? sg_tn_avx2 : sg_nn_avx2)(m, n, k, a, lda, p, ldp, beta, c, ldc); return;
    default: break;
    }
#endif
    (tn ? sg_plain_tn : sg_plain_nn)(m, n, k, a, lda, p, ldp, beta, c, ldc);
}

void fastnn_step_gemm_f32(int level, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a,
                          ptrdiff_t lda,
                          const float *p, ptrdiff_t ldp, int beta, float *c, ptrdiff_t ldc)
{
    sg_run(level, 0, m, n, k, a, lda, p, ldp, beta, c, ldc);
}

void fastnn_step_gemm_tn_f32(int level, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a,
                             ptrdiff_t lda, const float *p, ptrdiff_t ldp, int beta, float *c,
                             ptrdiff_t ldc)
{
    sg_run(level, 1, m, n, k, a, lda, p, ldp, beta, c, ldc);
}
