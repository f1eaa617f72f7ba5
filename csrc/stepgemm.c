/* The per-timestep product of the recurrent loops, without BLAS's packing.
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
 * The micro-kernel holds a 4-row x 64-column block of C in 16 AVX-512 registers and
 * adds one broadcast A value times four vectors of a P row per FMA (column tails:
 * masked vectors; row tail: 1-row blocks). It is compiled for AVX-512 only and used
 * only on CPUs that have it (fastnn_step_gemm_available); elsewhere the caller uses
 * BLAS. Rounding differs from BLAS in the summation order only (sequential in k,
 * fused multiply-adds), within the tolerances of the twin tests. */
#include "fastnn_kernels.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) \
    && !defined(FASTNN_NO_CLONES)
#include <immintrin.h>

#define SG_TARGET __attribute__((target("avx512f,fma")))
#define SG_INLINE static inline __attribute__((always_inline))

int fastnn_step_gemm_available(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
}

/* One block: MR rows (1..4) x NV vectors (1..4) of 16 columns; `last` masks the
 * final vector's columns. Constant MR and NV at each call site unroll it fully.
 * A's element (r, q) is a[r * lda + q * acs] (acs 1: A as stored; lda 1: A^T). */
SG_INLINE SG_TARGET void sg_block(int MR, int NV, const float *a, ptrdiff_t lda, ptrdiff_t acs,
                                  const float *p, ptrdiff_t ldp, float *c, ptrdiff_t ldc,
                                  ptrdiff_t k, __mmask16 last, int beta)
{
    __m512 acc[4][4];
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < NV; v++)
            acc[r][v] = _mm512_setzero_ps();
    for (ptrdiff_t q = 0; q < k; q++) {
        __m512 pv[4];
        for (int v = 0; v < NV; v++)
            pv[v] = _mm512_maskz_loadu_ps(v == NV - 1 ? last : (__mmask16)0xFFFF,
                                          p + q * ldp + 16 * v);
        for (int r = 0; r < MR; r++) {
            __m512 av = _mm512_set1_ps(a[r * lda + q * acs]);
            for (int v = 0; v < NV; v++)
                acc[r][v] = _mm512_fmadd_ps(av, pv[v], acc[r][v]);
        }
    }
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < NV; v++) {
            __mmask16 mask = v == NV - 1 ? last : (__mmask16)0xFFFF;
            float *cv = c + r * ldc + 16 * v;
            __m512 out = acc[r][v];
            if (beta)
                out = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, cv), out);
            _mm512_mask_storeu_ps(cv, mask, out);
        }
}

/* All row blocks of one column block of NV vectors. */
SG_INLINE SG_TARGET void sg_columns(int NV, const float *a, ptrdiff_t lda, ptrdiff_t acs,
                                    const float *p, ptrdiff_t ldp, float *c, ptrdiff_t ldc,
                                    ptrdiff_t m, ptrdiff_t k, __mmask16 last, int beta)
{
    ptrdiff_t i = 0;
    for (; i + 4 <= m; i += 4)
        sg_block(4, NV, a + i * lda, lda, acs, p, ldp, c + i * ldc, ldc, k, last, beta);
    for (; i < m; i++)
        sg_block(1, NV, a + i * lda, lda, acs, p, ldp, c + i * ldc, ldc, k, last, beta);
}

/* k is taken in chunks of SG_KC rows of P: a 64-column block of a chunk (32 KB) stays in
 * L1 while every 4-row block of A passes over it; the first chunk applies beta, the
 * others add to C. */
#define SG_KC 128

SG_INLINE SG_TARGET void sg_chunk(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a,
                                  ptrdiff_t lda, ptrdiff_t acs, const float *p, ptrdiff_t ldp,
                                  int beta, float *c, ptrdiff_t ldc)
{
    for (ptrdiff_t j = 0; j < n; j += 64) {
        ptrdiff_t w = n - j < 64 ? n - j : 64;     /* columns in this block */
        int nv = (int)((w + 15) / 16);
        int tail = (int)(w - 16 * (nv - 1));      /* columns in the last vector */
        __mmask16 last = (__mmask16)(tail == 16 ? 0xFFFF : (1u << tail) - 1);
        switch (nv) {
        case 4: sg_columns(4, a, lda, acs, p + j, ldp, c + j, ldc, m, k, last, beta); break;
        case 3: sg_columns(3, a, lda, acs, p + j, ldp, c + j, ldc, m, k, last, beta); break;
        case 2: sg_columns(2, a, lda, acs, p + j, ldp, c + j, ldc, m, k, last, beta); break;
        default: sg_columns(1, a, lda, acs, p + j, ldp, c + j, ldc, m, k, last, beta); break;
        }
    }
}

/* acs: A's column stride. Each entry point below inlines its own copy with acs fixed. */
SG_INLINE SG_TARGET void sg_gemm(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a,
                                 ptrdiff_t lda, ptrdiff_t acs, const float *p, ptrdiff_t ldp,
                                 int beta, float *c, ptrdiff_t ldc)
{
    ptrdiff_t q = 0;
    do {
        ptrdiff_t kc = k - q < SG_KC ? k - q : SG_KC;
        sg_chunk(m, n, kc, a + q * acs, lda, acs, p + q * ldp, ldp, q ? 1 : beta, c, ldc);
        q += kc;
    } while (q < k);
}

SG_TARGET void fastnn_step_gemm_f32(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a,
                                    ptrdiff_t lda, const float *p, ptrdiff_t ldp, int beta,
                                    float *c, ptrdiff_t ldc)
{
    sg_gemm(m, n, k, a, lda, 1, p, ldp, beta, c, ldc);
}

/* A^T (m x k) is A (k x m, row stride lda) read down its columns: the four rows of a
 * block are four neighbouring elements of one row of A, one cache line. */
SG_TARGET void fastnn_step_gemm_tn_f32(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a,
                                       ptrdiff_t lda, const float *p, ptrdiff_t ldp, int beta,
                                       float *c, ptrdiff_t ldc)
{
    sg_gemm(m, n, k, a, 1, lda, p, ldp, beta, c, ldc);
}

#else

int fastnn_step_gemm_available(void) { return 0; }

/* Never called when unavailable (the caller uses BLAS); plain loops keep the symbols
 * defined and correct all the same. A's element (i, q) is a[i * ars + q * acs]. */
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

void fastnn_step_gemm_f32(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                          const float *p, ptrdiff_t ldp, int beta, float *c, ptrdiff_t ldc)
{
    sg_plain(m, n, k, a, lda, 1, p, ldp, beta, c, ldc);
}

void fastnn_step_gemm_tn_f32(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a,
                             ptrdiff_t lda, const float *p, ptrdiff_t ldp, int beta, float *c,
                             ptrdiff_t ldc)
{
    sg_plain(m, n, k, a, 1, lda, p, ldp, beta, c, ldc);
}

#endif
