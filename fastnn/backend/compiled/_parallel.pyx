# Scheduling policy and runtime of the compiled kernels (declarations and contracts in
# _parallel.pxd). The figures behind each threshold: bench/RESULTS.md, "Scheduling policy".
from scipy.linalg.cython_blas cimport sgemm as _sgemm

cdef extern from "fastnn_runtime.h" nogil:
    int fastnn_run_parts(fastnn_range_fn fn, void *ctx, Py_ssize_t n, int parts)
    void *fastnn_find_blas_symbol(void *sgemm_ptr, const char *name)
    void fastnn_one_thread_enter(int (*set_threads)(int) noexcept nogil)
    void fastnn_one_thread_leave(int (*set_threads)(int) noexcept nogil)
    int fastnn_step_level()
    int fastnn_step_gemm_suits(Py_ssize_t m, Py_ssize_t n)

ctypedef int (*local_threads_t)(int) noexcept nogil
ctypedef int (*get_threads_t)() noexcept nogil

# ---- the runtime ---------------------------------------------------------------------

cdef local_threads_t _local_threads = <local_threads_t>fastnn_find_blas_symbol(
    <void *>_sgemm, "openblas_set_num_threads_local")
cdef get_threads_t _get_threads = <get_threads_t>fastnn_find_blas_symbol(
    <void *>_sgemm, "openblas_get_num_threads")
cdef int _level = fastnn_step_level()
# Small products run on one BLAS thread: OpenBLAS's threads wait for a core at every call,
# which made small products collapse on a busy machine. From _small_gemm multiply-adds on,
# BLAS's threads pay (a 64x128x512 product is 2**22).
cdef long long _small_gemm = 1 << 23

HAS_LOCAL_THREADS = _local_threads != NULL
# The instruction set of the small-product kernel on this CPU, or None (BLAS instead).
STEP_KERNEL_ISA = {2: "avx512", 1: "avx2"}.get(_level)


cdef int run_parts(fastnn_range_fn fn, void *ctx, Py_ssize_t n, int parts) noexcept nogil:
    return fastnn_run_parts(fn, ctx, n, parts)


cdef int single_thread_begin(long long macs) noexcept nogil:
    if _local_threads == NULL or macs >= _small_gemm:
        return 0
    fastnn_one_thread_enter(_local_threads)
    return 1


cdef void single_thread_end(int entered) noexcept nogil:
    if entered:
        fastnn_one_thread_leave(_local_threads)


cdef int blas_threads() noexcept nogil:
    return _get_threads() if _get_threads != NULL else 0


cdef long long small_gemm_macs() noexcept nogil:
    return _small_gemm


cdef bint can_hold_one_thread() noexcept nogil:
    return _local_threads != NULL


cdef int step_level() noexcept nogil:
    return _level


def blas_thread_count():
    """Threads scipy's BLAS uses for a large product, as the kernels see it (0: the BLAS
    cannot say)."""
    return blas_threads()


# ---- the policy ----------------------------------------------------------------------
#
# Dense products (dense_plan). Small float32 ones go through the packing-free kernel (BLAS
# packs both operands at every call, most of the work at these sizes), cut into two row
# parts from _DENSE_SPLIT_MIN multiply-adds (below, a fork/join eats the gain). Big ones,
# when BLAS may use two threads: two halves of the output's columns (rows for a softmax
# forward), each on one BLAS thread, so that no BLAS thread is left spinning beside the
# pointwise work between products.
cdef enum:
    MODE_AUTO = 0
    MODE_BLAS = 1        # every product: one BLAS call (BLAS picks its threads)
    MODE_KERNEL = 2      # every float32 product through the kernel, on one thread
    MODE_SPLIT = 3       # every float32 product through the kernel, cut into parts
    MODE_BLAS_PARTS = 4  # every product in two parts, each on one BLAS thread
PRODUCT_MODES = {"auto": MODE_AUTO, "blas": MODE_BLAS, "kernel": MODE_KERNEL,
                 "split": MODE_SPLIT, "blas-parts": MODE_BLAS_PARTS}
cdef int _mode = MODE_AUTO
cdef long long _DENSE_SPLIT_MIN = 1 << 18
# Two parts: the calling thread claims the first, so from step to step each core computes
# the same half of dW and then updates that half (update_parts), in its cache.
cdef int _DENSE_MAX_PARTS = 2
# Column parts start at multiples of 16 values (a 64-byte line of float32), so the two
# threads never write the same cache line of the output.
cdef int COL_BLOCK = 16

# Recurrent loops (loop_kernel, loop_split). Their per-step products go through the kernel;
# a loop of _split_min_macs multiply-adds or more (a fork/join costs tens of microseconds)
# runs as parts of the batch, each part claimed by whichever thread is free. Letting BLAS
# thread each step's product instead makes its threads meet 2T times per step. Without the
# kernel the parts would call BLAS at once, whose one-thread setting is process-wide, so
# such loops do not split.
cdef enum:
    SPLIT_NEVER = 0
    SPLIT_AUTO = 1
    SPLIT_ALWAYS = 2
    _MIN_PART_ROWS = 4
    _MAX_PARTS = 4
BATCH_SPLITS = {"never": SPLIT_NEVER, "auto": SPLIT_AUTO, "always": SPLIT_ALWAYS}
cdef bint _step_kernel = _level > 0
cdef int _split_mode = SPLIT_AUTO
cdef long long _split_min_macs = 1 << 23

# Optimizer updates (update_parts): from 2**15 parameters the two halves save more than a
# fork/join costs; the non-finite scan reads one array, not four, and splits from 2**18.
cdef Py_ssize_t _UPDATE_SPLIT_MIN = 1 << 15
cdef Py_ssize_t _SCAN_SPLIT_MIN = 1 << 18


cdef int dense_plan(Product *P, bint rows_only, Py_ssize_t min_rows, int *step) noexcept nogil:
    cdef long long macs = <long long>P.m * P.n * P.k
    cdef bint kernel_ok = _level > 0 and not P.f64 and not P.trans_b
    cdef Py_ssize_t p = P.m // min_rows
    P.kernel, P.by_rows, step[0] = False, True, 1
    if _mode == MODE_BLAS:
        return 0
    if _mode == MODE_BLAS_PARTS or (_mode == MODE_AUTO and macs >= _small_gemm):
        if _mode == MODE_AUTO and not (blas_threads() == 2 and can_hold_one_thread()):
            return 0
        if not rows_only and P.n > COL_BLOCK:
            P.by_rows, step[0] = False, COL_BLOCK
        return 2
    if not kernel_ok or (_mode == MODE_AUTO and not fastnn_step_gemm_suits(P.m, P.n)):
        return 0
    P.kernel = True
    if p < 2 or _mode == MODE_KERNEL or (
            _mode == MODE_AUTO and (macs < _DENSE_SPLIT_MIN or blas_threads() < 2)):
        return 1
    return <int>(_DENSE_MAX_PARTS if p > _DENSE_MAX_PARTS else p)


cdef bint loop_kernel(bint can_kernel, bint f64, Py_ssize_t n, Py_ssize_t kh) noexcept nogil:
    # can_kernel: the operands the kernel needs are at hand (backward: U^T space)
    return can_kernel and _step_kernel and not f64 and fastnn_step_gemm_suits(n, kh)


cdef bint loop_split(bint kernel, Py_ssize_t n, Py_ssize_t T, Py_ssize_t H,
                     Py_ssize_t kh) noexcept nogil:
    if _split_mode == SPLIT_NEVER or n < 2:
        return False
    if _split_mode == SPLIT_ALWAYS:
        return True
    return (blas_threads() >= 2 and kernel and n >= 2 * _MIN_PART_ROWS
            and <long long>T * n * H * kh >= _split_min_macs)


cdef inline int _parts(Py_ssize_t n, Py_ssize_t min_size) noexcept nogil:
    # up to _MAX_PARTS parts of at least min_size each, and always at least two: four
    # rather than two halves, so that when the machine takes a core away for a while the
    # thread still running takes over more of the work
    cdef Py_ssize_t p = n // min_size if min_size > 0 else n
    return <int>(2 if p < 2 else (_MAX_PARTS if p > _MAX_PARTS else p))


cdef int loop_parts(Py_ssize_t n) noexcept nogil:
    return _parts(n, _MIN_PART_ROWS)


cdef int op_product_plan(Product *P, bint two) noexcept nogil:
    # When an op's loops split, its big products are cut into parts as well (of 64 rows or
    # columns or more), rather than left to BLAS's threads, which keep spinning on the
    # second core after a product and there halve the speed of the loop's second thread.
    cdef long long macs = <long long>P.m * P.n * P.k
    P.by_rows = P.m >= P.n
    P.kernel = (not P.f64 and _step_kernel and not P.trans_b and P.alpha == 1
                and (P.beta == 0 or P.beta == 1) and fastnn_step_gemm_suits(P.m, P.n))
    if two and (P.kernel or can_hold_one_thread()) and macs >= _small_gemm:
        return _parts(P.m if P.by_rows else P.n, 64)
    if P.kernel and (macs < _small_gemm or blas_threads() < 2):
        return 1
    return 0


cdef int update_parts(Py_ssize_t n, bint scan) noexcept nogil:
    if n >= (_SCAN_SPLIT_MIN if scan else _UPDATE_SPLIT_MIN) and blas_threads() >= 2:
        return 2
    return 1


cdef bint step_kernel_enabled() noexcept nogil:
    return _step_kernel


# ---- the one switch ------------------------------------------------------------------

def settings():
    """The current scheduling settings, as configure() takes them."""
    return {
        "product_mode": {v: k for k, v in PRODUCT_MODES.items()}[_mode],
        "step_kernel": bool(_step_kernel),
        "batch_split": {v: k for k, v in BATCH_SPLITS.items()}[_split_mode],
        "batch_split_min_macs": int(_split_min_macs),
        "single_thread_below": int(_small_gemm),
    }


def configure(product_mode=None, step_kernel=None, batch_split=None,
              batch_split_min_macs=None, single_thread_below=None):
    """Change how the compiled kernels use threads; for tests and measurements. Every
    argument left None keeps its setting; all are checked before any changes. Returns the
    previous settings (a dict that configure(**previous) restores).

    product_mode: how Dense products run: "auto" (the default), "blas" (one BLAS call
        each), "kernel" (float32: the packing-free kernel on one thread), "split"
        (float32: the kernel, cut into parts on two threads) or "blas-parts" (two parts
        on two threads, each on one BLAS thread).
    step_kernel: whether recurrent loops and their big products use the packing-free
        kernel (default: True where the CPU has it, STEP_KERNEL_ISA).
    batch_split: how recurrent time loops use two cores: "auto" (default), "never" or
        "always" (any batch of two or more rows).
    batch_split_min_macs: the smallest loop, in multiply-adds T*n*H*kH, that "auto"
        splits (default 2**23).
    single_thread_below: products of fewer multiply-adds run on one BLAS thread (0:
        never; default 2**23).
    """
    global _mode, _step_kernel, _split_mode, _split_min_macs, _small_gemm
    if product_mode is not None:
        if product_mode not in PRODUCT_MODES:
            raise ValueError(f"configure expected product_mode one of {sorted(PRODUCT_MODES)}."
                             f" Received: {product_mode!r}")
        if PRODUCT_MODES[product_mode] in (MODE_KERNEL, MODE_SPLIT) and _level == 0:
            raise ValueError(f"configure expected product_mode 'auto', 'blas' or 'blas-parts' "
                             f"on this CPU (the kernel needs AVX2 or AVX-512). "
                             f"Received: {product_mode!r}")
        if PRODUCT_MODES[product_mode] == MODE_BLAS_PARTS and not can_hold_one_thread():
            raise ValueError(f"configure expected product_mode 'auto', 'blas', 'kernel' or "
                             f"'split' with this BLAS (it cannot be held to one thread per "
                             f"call). Received: {product_mode!r}")
    if step_kernel is not None:
        if not isinstance(step_kernel, bool):
            raise ValueError(f"configure expected step_kernel True or False. "
                             f"Received: {step_kernel!r}")
        if step_kernel and _level == 0:
            raise ValueError("configure expected step_kernel=False on this CPU (the kernel "
                             "needs AVX2 or AVX-512). Received: True")
    if batch_split is not None and batch_split not in BATCH_SPLITS:
        raise ValueError(f"configure expected batch_split 'auto', 'never' or 'always'. "
                         f"Received: {batch_split!r}")
    for name, value in (("batch_split_min_macs", batch_split_min_macs),
                        ("single_thread_below", single_thread_below)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 0):
            raise ValueError(f"configure expected {name} a non-negative int. "
                             f"Received: {value!r}")
    prev = settings()
    if product_mode is not None:
        _mode = PRODUCT_MODES[product_mode]
    if step_kernel is not None:
        _step_kernel = step_kernel
    if batch_split is not None:
        _split_mode = BATCH_SPLITS[batch_split]
    if batch_split_min_macs is not None:
        _split_min_macs = batch_split_min_macs
    if single_thread_below is not None:
        _small_gemm = single_thread_below
    return prev
