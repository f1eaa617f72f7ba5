# The GEMM shim's helpers, and its Python entry for tests of the row-major translation.
import numpy as np
from cython cimport floating
from scipy.linalg.cython_blas cimport sgemm as _sgemm
from fastnn._kernels._csrc cimport fastnn_step_gemm_f32, fastnn_step_gemm_tn_f32

cdef extern from *:
    """
    #ifndef _GNU_SOURCE
    #define _GNU_SOURCE
    #endif
    #if defined(__linux__) || defined(__APPLE__)
    #include <dlfcn.h>
    #include <pthread.h>
    #include <stdio.h>
    /* A symbol (openblas_set_num_threads_local, openblas_get_num_threads) of the
     * library that holds scipy's sgemm; NULL when that BLAS is not an OpenBLAS that
     * has it (the first needs 0.3.27 or newer). */
    static void *fastnn_find_blas_symbol(void *sgemm_ptr, const char *name) {
        Dl_info info;
        void *handle, *sym;
        char prefixed[128];
        if (!dladdr(sgemm_ptr, &info) || !info.dli_fname) return NULL;
        handle = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
        if (!handle) return NULL;
        sym = dlsym(handle, name);
        /* scipy's own OpenBLAS build prefixes most of its symbols with "scipy_" */
        if (!sym && snprintf(prefixed, sizeof prefixed, "scipy_%s", name) < (int)sizeof prefixed)
            sym = dlsym(handle, prefixed);
        return sym;
    }
    /* Despite its name, openblas_set_num_threads_local sets OpenBLAS's process-wide
     * thread count (0.3.30: a call from one thread changes what another sees), so
     * the switch to one thread is shared: the first small product to start sets 1
     * and keeps the old count, the last to finish puts it back. Without the count,
     * two threads interleaving their saves and restores could leave BLAS on one
     * thread for good. */
    static pthread_mutex_t fastnn_threads_lock = PTHREAD_MUTEX_INITIALIZER;
    static int fastnn_small_depth = 0, fastnn_saved_threads = 0;
    static void fastnn_one_thread_enter(int (*set_threads)(int)) {
        pthread_mutex_lock(&fastnn_threads_lock);
        if (fastnn_small_depth++ == 0) fastnn_saved_threads = set_threads(1);
        pthread_mutex_unlock(&fastnn_threads_lock);
    }
    static void fastnn_one_thread_leave(int (*set_threads)(int)) {
        pthread_mutex_lock(&fastnn_threads_lock);
        if (--fastnn_small_depth == 0) set_threads(fastnn_saved_threads);
        pthread_mutex_unlock(&fastnn_threads_lock);
    }
    #else
    static void *fastnn_find_blas_symbol(void *sgemm_ptr, const char *name) {
        (void)sgemm_ptr; (void)name; return NULL;
    }
    /* never called: no symbol is found on these platforms */
    static void fastnn_one_thread_enter(int (*set_threads)(int)) { (void)set_threads; }
    static void fastnn_one_thread_leave(int (*set_threads)(int)) { (void)set_threads; }
    #endif
    """
    void *fastnn_find_blas_symbol(void *sgemm_ptr, const char *name)
    void fastnn_one_thread_enter(int (*set_threads)(int) noexcept nogil) nogil
    void fastnn_one_thread_leave(int (*set_threads)(int) noexcept nogil) nogil

cdef extern from "fastnn_threads.h" nogil:
    int fastnn_run_parts(fastnn_range_fn fn, void *ctx, Py_ssize_t n, int parts)


cdef int run_parts(fastnn_range_fn fn, void *ctx, Py_ssize_t n, int parts) noexcept nogil:
    return fastnn_run_parts(fn, ctx, n, parts)


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
            if P.trans_a:
                fastnn_step_gemm_tn_f32(m, n, P.k, a, P.lda, b, P.ldb, P.beta != 0, c, P.ldc)
            else:
                fastnn_step_gemm_f32(m, n, P.k, a, P.lda, b, P.ldb, P.beta != 0, c, P.ldc)
            return
    gemm_one_thread(P.trans_a, P.trans_b, <int>m, <int>n, P.k, <floating>P.alpha, a, P.lda, b,
                    P.ldb, <floating>P.beta, c, P.ldc)


cdef void product_range(void *ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    cdef const Product *P = <const Product *>ctx
    if P.f64:
        _product_range_t(P, <double *>NULL, lo, hi)
    else:
        _product_range_t(P, <float *>NULL, lo, hi)


ctypedef int (*local_threads_t)(int) noexcept nogil
ctypedef int (*get_threads_t)() noexcept nogil

# Small products run on one BLAS thread (see fastnn_one_thread_enter above for how the
# switch is shared between threads). Measured on 2 cores: a 64x128x512 sgemm (one LSTM(128)
# timestep at batch 64) took 0.09-0.11 ms on 1 thread and 5-7 ms on 2 while another
# process was busy: OpenBLAS's threads wait for a core at every call; the LSTM(128)
# T=100 B=64 training step went from 157 ms (2 threads) to 58 ms (1 thread).
cdef local_threads_t _local_threads = <local_threads_t>fastnn_find_blas_symbol(
    <void *>_sgemm, "openblas_set_num_threads_local")
cdef get_threads_t _get_threads = <get_threads_t>fastnn_find_blas_symbol(
    <void *>_sgemm, "openblas_get_num_threads")
cdef long long _small_gemm = 1 << 23

HAS_LOCAL_THREADS = _local_threads != NULL


def blas_thread_count():
    """Threads scipy's BLAS uses for a large product, as the kernels see it (0: the
    BLAS cannot say)."""
    return blas_threads()


def set_single_thread_below(long long macs):
    """Run products of fewer than `macs` multiply-adds on one BLAS thread (0: never).
    Returns the previous limit. Default 2**23 (a 64x128x512 product is 2**22)."""
    global _small_gemm
    prev, _small_gemm = _small_gemm, macs
    return prev


cdef int single_thread_begin(long long macs) noexcept nogil:
    if _local_threads == NULL or macs >= _small_gemm:
        return 0
    fastnn_one_thread_enter(_local_threads)
    return 1


cdef void single_thread_end(int entered) noexcept nogil:
    if entered:
        fastnn_one_thread_leave(_local_threads)


cdef long long small_gemm_macs() noexcept nogil:
    return _small_gemm


cdef bint can_hold_one_thread() noexcept nogil:
    return _local_threads != NULL


cdef int blas_threads() noexcept nogil:
    return _get_threads() if _get_threads != NULL else 0


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
