# The only place that touches BLAS: row-major GEMM over scipy's Fortran BLAS.
#
# Row-major C = alpha * op(A) @ op(B) + beta * C is the column-major product
# C^T = op(B)^T @ op(A)^T, so B goes first and the transpose flags swap roles.
# Leading dimensions are the stored row lengths, which lets callers pass strided
# row blocks (a batch-first time slice x[:, t, :] has ld = T*F) without copies.
# Calls with a zero dimension are skipped: the BLAS error handler fires on them.
from cython cimport floating
from scipy.linalg.cython_blas cimport sgemm, dgemm

# Small products run on one BLAS thread (see _blas.pyx): single_thread_begin(macs)
# returns what to hand to single_thread_end afterwards.
cdef int single_thread_begin(long long macs) noexcept nogil
cdef void single_thread_end(int entered) noexcept nogil
# Threads the BLAS would use for a large product (threadpoolctl / set_num_threads
# limits included), or 0 when the BLAS cannot say (not OpenBLAS).
cdef int blas_threads() noexcept nogil
# The size (multiply-adds) from which products use BLAS's threads (set_single_thread_below).
cdef long long small_gemm_macs() noexcept nogil
# Whether BLAS can be held to one thread (gemm_one_thread; OpenBLAS 0.3.27+).
cdef bint can_hold_one_thread() noexcept nogil

# A product cut into parts: product_range(&P, lo, hi) computes rows [lo, hi) of C (by_rows)
# or its columns [lo, hi), on one BLAS thread, or through the step kernel of csrc/stepgemm.c
# when `kernel` (float32; alpha 1, beta 0 or 1, B as stored). Run its ranges with run_parts
# (its signature is a fastnn_range_fn) or call it for the whole of C.
cdef struct Product:
    bint trans_a, trans_b, f64, by_rows, kernel
    int m, n, k, lda, ldb, ldc
    double alpha, beta
    const void *a
    const void *b
    void *c

cdef void product_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil

cdef extern from "fastnn_threads.h" nogil:
    ctypedef void (*fastnn_range_fn)(void *ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil
# fn(ctx, lo, hi) over `parts` ranges of [0, n) on the caller and the process's one helper
# thread (csrc/fastnn_threads.h). Every module calls it here, so that one helper is shared.
cdef int run_parts(fastnn_range_fn fn, void *ctx, Py_ssize_t n, int parts) noexcept nogil


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
