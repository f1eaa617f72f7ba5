# Scheduling of the compiled kernels: every threading decision (when a product, a time loop
# or an update is cut into parts, when BLAS is held to one thread, when the small-product
# kernel runs) and the process-wide runtime it drives (csrc/include/fastnn_runtime.h).
# The C runtime is compiled into this module alone, so its state exists once per process;
# the other modules reach it through these functions. configure() in _parallel.pyx is the
# one switch of the policy. See docs/architecture.md, "Threads".

cdef extern from "fastnn_runtime.h" nogil:
    ctypedef void (*fastnn_range_fn)(void *ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil

# A product cut into parts: _blas.product_range(&P, lo, hi) computes rows [lo, hi) of C
# (by_rows) or its columns [lo, hi), on one BLAS thread, or through the small-product kernel
# of csrc/kernels/stepgemm.c when `kernel` (float32; alpha 1, beta 0 or 1, B as stored).
cdef struct Product:
    bint trans_a, trans_b, f64, by_rows, kernel
    int m, n, k, lda, ldb, ldc
    double alpha, beta
    const void *a
    const void *b
    void *c

# ---- the runtime ----
# fn(ctx, lo, hi) over `parts` ranges of [0, n) on the caller and the one helper thread.
cdef int run_parts(fastnn_range_fn fn, void *ctx, Py_ssize_t n, int parts) noexcept nogil
# Small products run on one BLAS thread: single_thread_begin(macs) returns what to hand to
# single_thread_end afterwards.
cdef int single_thread_begin(long long macs) noexcept nogil
cdef void single_thread_end(int entered) noexcept nogil
# Threads the BLAS would use for a large product (threadpoolctl / set_num_threads limits
# included), or 0 when the BLAS cannot say (not OpenBLAS).
cdef int blas_threads() noexcept nogil
# The size (multiply-adds) from which products use BLAS's threads.
cdef long long small_gemm_macs() noexcept nogil
# Whether BLAS can be held to one thread (OpenBLAS 0.3.27+).
cdef bint can_hold_one_thread() noexcept nogil
# The small-product kernel's body on this CPU (2 AVX-512, 1 AVX2, 0 none: use BLAS).
cdef int step_level() noexcept nogil

# ---- the policy ----
# A Dense product, after its fields are set: sets P.kernel, P.by_rows and step[0] (output
# values per range unit: 1 for rows, COL_BLOCK for columns). Returns 0: one BLAS call;
# 1: the kernel on this thread; p >= 2: p parts on two threads (row parts of >= min_rows).
cdef int dense_plan(Product *P, bint rows_only, Py_ssize_t min_rows, int *step) noexcept nogil
# A recurrent time loop: whether its per-step products use the kernel, and whether it
# runs as parts of the batch (loop_parts of them) on two threads.
cdef bint loop_kernel(bint can_kernel, bint f64, Py_ssize_t n, Py_ssize_t kh) noexcept nogil
cdef bint loop_split(bint kernel, Py_ssize_t n, Py_ssize_t T, Py_ssize_t H,
                     Py_ssize_t kh) noexcept nogil
cdef int loop_parts(Py_ssize_t n) noexcept nogil
# A big product of a recurrent op (input projection, dW, dU, dx), after its fields are set;
# two: the op's loops split. Sets P.kernel and P.by_rows. Returns 0: one BLAS call; 1: the
# kernel on this thread; p >= 2: p parts on two threads.
cdef int op_product_plan(Product *P, bint two) noexcept nogil
# An optimizer update (or its non-finite scan, scan=True) of n values: 1 or 2 parts.
cdef int update_parts(Py_ssize_t n, bint scan) noexcept nogil
# Whether a recurrent op should keep a U^T workspace for the kernel (its dtype float32).
cdef bint step_kernel_enabled() noexcept nogil
