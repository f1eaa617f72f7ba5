# The GEMM shim: the only place that calls BLAS, row-major over scipy's Fortran BLAS, and
# the entry to the small-product kernel of csrc/kernels/stepgemm.c.
#
# Row-major C = alpha * op(A) @ op(B) + beta * C is the column-major product
# C^T = op(B)^T @ op(A)^T, so B goes first and the transpose flags swap roles.
# Leading dimensions are the stored row lengths, which lets callers pass strided
# row blocks (a batch-first time slice x[:, t, :] has ld = T*F) without copies.
# Calls with a zero dimension are skipped: the BLAS error handler fires on them.
# When a product runs on one thread or in parts is decided in _parallel.
from cython cimport floating
from scipy.linalg.cython_blas cimport sgemm, dgemm
from fastnn.backend.compiled._parallel cimport Product, single_thread_begin, single_thread_end

# Rows [lo, hi) of P's C (P.by_rows) or its columns [lo, hi), on one BLAS thread or through
# the kernel (P.kernel); its signature is a fastnn_range_fn, for _parallel.run_parts.
cdef void product_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil
# c (m, n) = beta * c + a (m, k) @ p (k, n) (tn: a^T with a stored (k, m)) through the
# small-product kernel; only where _parallel.step_level() > 0.
cdef void step_gemm(bint tn, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const float *a,
                    Py_ssize_t lda, const float *p, Py_ssize_t ldp, bint beta, float *c,
                    Py_ssize_t ldc) noexcept nogil


cdef inline void gemm(bint trans_a, bint trans_b, int m, int n, int k, floating alpha,
                      const floating *a, int lda, const floating *b, int ldb,
                      floating beta, floating *c, int ldc) noexcept nogil:
    _gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, <long long>m * n * k)


cdef inline void gemm_one_thread(bint trans_a, bint trans_b, int m, int n, int k,
                                 floating alpha, const floating *a, int lda, const floating *b,
                                 int ldb, floating beta, floating *c, int ldc) noexcept nogil:
    # for callers that run their own threads: BLAS stays on one, whatever the size
    _gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 0)


cdef inline void _gemm(bint trans_a, bint trans_b, int m, int n, int k, floating alpha,
                       const floating *a, int lda, const floating *b, int ldb,
                       floating beta, floating *c, int ldc, long long size) noexcept nogil:
    # size: the multiply-adds single_thread_begin judges (0: always one thread)
    cdef char ta = b'T' if trans_b else b'N'
    cdef char tb = b'T' if trans_a else b'N'
    if m <= 0 or n <= 0:
        return
    if k <= 0:
        # op(A) @ op(B) is an all-zero (m, n) block: C = beta * C, without BLAS.
        _scale_rows(m, n, beta, c, ldc)
        return
    cdef int entered = single_thread_begin(size)
    if floating is float:
        sgemm(&ta, &tb, &n, &m, &k, &alpha, <float *>b, &ldb, <float *>a, &lda, &beta, c, &ldc)
    else:
        dgemm(&ta, &tb, &n, &m, &k, &alpha, <double *>b, &ldb, <double *>a, &lda, &beta, c, &ldc)
    single_thread_end(entered)


cdef inline void _scale_rows(int m, int n, floating beta, floating *c, int ldc) noexcept nogil:
    cdef int i, j
    for i in range(m):
        for j in range(n):
            c[i * ldc + j] = 0 if beta == 0 else beta * c[i * ldc + j]
