# The GEMM shim (see _blas.pxd), and its Python entry for tests of the row-major translation.
import numpy as np
from cython cimport floating
from fastnn.backend.compiled._parallel cimport step_level

cdef extern from "fastnn_kernels.h" nogil:
    void fastnn_step_gemm_f32(int level, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                              const float *a, Py_ssize_t lda, const float *p, Py_ssize_t ldp,
                              int beta, float *c, Py_ssize_t ldc)
    void fastnn_step_gemm_tn_f32(int level, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                                 const float *a, Py_ssize_t lda, const float *p,
                                 Py_ssize_t ldp, int beta, float *c, Py_ssize_t ldc)


cdef void step_gemm(bint tn, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const float *a,
                    Py_ssize_t lda, const float *p, Py_ssize_t ldp, bint beta, float *c,
                    Py_ssize_t ldc) noexcept nogil:
    if tn:
        fastnn_step_gemm_tn_f32(step_level(), m, n, k, a, lda, p, ldp, beta, c, ldc)
    else:
        fastnn_step_gemm_f32(step_level(), m, n, k, a, lda, p, ldp, beta, c, ldc)


cdef void _product_range_t(const Product *P, floating *kind_of, Py_ssize_t lo,
                           Py_ssize_t hi) noexcept nogil:
    # kind_of: only picks the fused type
    cdef const floating *a = <const floating *>P.a
    cdef const floating *b = <const floating *>P.b
    cdef floating *c = <floating *>P.c
    cdef Py_ssize_t m, n
    if P.by_rows:
        m, n = hi - lo, P.n
        a, c = a + (lo if P.trans_a else lo * P.lda), c + lo * P.ldc
    else:
        m, n = P.m, hi - lo
        b, c = b + (lo * P.ldb if P.trans_b else lo), c + lo
    if floating is float:
        if P.kernel:
            step_gemm(P.trans_a, m, n, P.k, a, P.lda, b, P.ldb, P.beta != 0, c, P.ldc)
            return
    gemm_one_thread(P.trans_a, P.trans_b, <int>m, <int>n, P.k, <floating>P.alpha, a, P.lda, b,
                    P.ldb, <floating>P.beta, c, P.ldc)


cdef void product_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    cdef const Product *P = <const Product *>ctx
    if P.f64:
        _product_range_t(P, <double *>NULL, lo, hi)
    else:
        _product_range_t(P, <float *>NULL, lo, hi)


def gemm_rowmajor(floating[:, ::1] a, floating[:, ::1] b, floating[:, ::1] c,
                  bint trans_a=False, bint trans_b=False, double alpha=1.0, double beta=0.0):
    """c = alpha * op(a) @ op(b) + beta * c, in place, through scipy's BLAS."""
    cdef int m = a.shape[1] if trans_a else a.shape[0]
    cdef int k = a.shape[0] if trans_a else a.shape[1]
    cdef int kb = b.shape[1] if trans_b else b.shape[0]
    cdef int n = b.shape[0] if trans_b else b.shape[1]
    if kb != k or c.shape[0] != m or c.shape[1] != n:
        raise ValueError(
            f"gemm_rowmajor expected op(a) (m, k), op(b) (k, n), c (m, n). Received: "
            f"a.shape={(a.shape[0], a.shape[1])}, b.shape={(b.shape[0], b.shape[1])}, "
            f"c.shape={(c.shape[0], c.shape[1])}, trans_a={trans_a}, trans_b={trans_b}")
    with nogil:
        # an empty operand (either axis 0) has no element to point at: NULL, never read
        gemm(trans_a, trans_b, m, n, k, <floating>alpha,
             &a[0, 0] if a.shape[0] and a.shape[1] else NULL, a.shape[1],
             &b[0, 0] if b.shape[0] and b.shape[1] else NULL, b.shape[1], <floating>beta,
             &c[0, 0] if c.shape[0] and c.shape[1] else NULL, c.shape[1])
    return np.asarray(c)
