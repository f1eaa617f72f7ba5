"""Dense layer kernels: y = act(x @ W + b) and its backward (BLAS + C pointwise).
Twin: fastnn/reference/dense.py. Pointwise C: csrc/activations_impl.inc.

Shapes: x (n, I), W (I, U), b (U,), y (n, U). Backward takes the forward output y
(activation derivatives come from it) and overwrites dy with dz = dy * act'.
"""
import numpy as np
cimport numpy as cnp
from cython cimport floating
from fastnn._kernels._blas cimport gemm, blas_threads, small_gemm_macs, run_parts
from fastnn._kernels._op cimport Op
from fastnn._kernels._csrc cimport (
    bias_act_forward_f32, bias_act_forward_f64, act_backward_f32, act_backward_f64,
    bias_grad_f32, bias_grad_f64, fastnn_step_gemm_available, fastnn_step_gemm_f32,
    fastnn_step_gemm_tn_f32, fastnn_step_gemm_suits)
from fastnn._kernels.activations import ACTIVATIONS
from fastnn import _checks

cnp.import_array()


# ---- how a float32 product is computed --------------------------------------------------
#
# Below BLAS's threaded size (_blas.small_gemm_macs), x @ W and x.T @ dz go through the
# packing-free kernel of csrc/stepgemm.c (AVX2 or AVX-512 CPUs): BLAS packs both operands
# at every call, which is most of the work at these sizes. From _SPLIT_MIN multiply-adds on they
# are also cut into parts (rows of the output) run on two threads (csrc/threads.c), the
# forward with its bias + activation. The 784-64-64-10 B=32 training step (1.6M
# multiply-adds in each of its two big products; Net.train_step, five fresh processes
# per mode, interleaved): BLAS 150-164 us, the kernel on one thread 111-115 us, "auto"
# (the two big products split) 86-103 us. float64, other CPUs, bigger products and, on
# AVX2 CPUs, shapes where BLAS's packing pays (fastnn_step_gemm_suits): BLAS (bigger
# ones on BLAS's own threads).

cdef enum:
    MODE_AUTO = 0
    MODE_BLAS = 1     # every product through BLAS
    MODE_KERNEL = 2   # every float32 product through the kernel, on one thread
    MODE_SPLIT = 3    # every float32 product through the kernel, cut into parts

_MODES = {"auto": MODE_AUTO, "blas": MODE_BLAS, "kernel": MODE_KERNEL, "split": MODE_SPLIT}
cdef bint _has_kernel = fastnn_step_gemm_available()
cdef int _mode = MODE_AUTO if _has_kernel else MODE_BLAS
# 2**18 multiply-adds take ~5 us on one core; below that a fork/join (~1-2 us when the
# helper is awake, far more when it must be woken) eats the gain.
cdef long long _SPLIT_MIN = 1 << 18
# Two parts: the calling thread claims the first, so from step to step each core
# computes the same half of dW and then updates that half (optimizers.pyx), in its cache.
cdef int _MAX_PARTS = 2

STEP_KERNEL = bool(_has_kernel)  # this CPU can run csrc/stepgemm.c


def set_product_mode(mode):
    """How float32 Dense products run: "auto" (the default: see above), "blas", "kernel"
    (the packing-free kernel on one thread) or "split" (the kernel, cut into parts on two
    threads). Returns the previous mode. For tests and measurements."""
    global _mode
    if mode not in _MODES:
        raise ValueError(f"set_product_mode expected one of {sorted(_MODES)}. "
                         f"Received: {mode!r}")
    if _MODES[mode] in (MODE_KERNEL, MODE_SPLIT) and not _has_kernel:
        raise ValueError(f"set_product_mode expected 'auto' or 'blas' on this CPU (the kernel "
                         f"needs AVX2 or AVX-512). Received: {mode!r}")
    prev = {v: k for k, v in _MODES.items()}[_mode]
    _mode = _MODES[mode]
    return prev


cdef int _plan(long long macs, Py_ssize_t m, Py_ssize_t n,
               Py_ssize_t min_part) noexcept nogil:
    # 0: BLAS; 1: the kernel on this thread; p >= 2: the kernel in p parts of the m
    # output rows (result m x n), each part at least min_part rows
    cdef Py_ssize_t p = m // min_part
    if _mode == MODE_BLAS or (_mode == MODE_AUTO and (
            macs >= small_gemm_macs() or not fastnn_step_gemm_suits(m, n))):
        return 0
    if p < 2 or _mode == MODE_KERNEL or (
            _mode == MODE_AUTO and (macs < _SPLIT_MIN or blas_threads() < 2)):
        return 1
    return <int>(_MAX_PARTS if p > _MAX_PARTS else p)


cdef struct Job:
    const float *x
    const float *w
    const float *b
    const float *dz
    float *y
    float *dw
    int n_in, units, rows, act


cdef void _forward_rows(void *ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    # rows [lo, hi) of y = act(x @ W + b)
    cdef const Job *J = <const Job *>ctx
    cdef float *y = J.y + lo * J.units
    fastnn_step_gemm_f32(hi - lo, J.units, J.n_in, J.x + lo * J.n_in, J.n_in, J.w, J.units, 0,
                         y, J.units)
    bias_act_forward_f32(y, J.b, hi - lo, J.units, J.act)


cdef void _dw_rows(void *ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    # rows [lo, hi) of dW = x.T @ dz: input features lo..hi-1
    cdef const Job *J = <const Job *>ctx
    fastnn_step_gemm_tn_f32(hi - lo, J.units, J.rows, J.x + lo, J.n_in, J.dz, J.units, 0,
                            J.dw + lo * J.units, J.units)


cdef inline void _run(void (*fn)(void *, Py_ssize_t, Py_ssize_t) noexcept nogil, Job *J,
                      Py_ssize_t side, int how) noexcept nogil:
    if how == 1:
        fn(J, 0, side)
    else:
        run_parts(fn, J, side, how)


cdef inline void _forward(const floating *x, const floating *w, const floating *b, floating *y,
                          int rows, int n_in, int units, int act) noexcept nogil:
    # 1. z = x @ W (one GEMM)   2. y = act(z + b), fused, in place
    cdef Job J
    cdef int how
    if floating is float:
        how = _plan(<long long>rows * n_in * units, rows, units, 8)
        if how:
            J.x, J.w, J.b, J.y, J.n_in, J.units, J.act = x, w, b, y, n_in, units, act
            _run(_forward_rows, &J, rows, how)
            return
    gemm(False, False, rows, units, n_in, <floating>1, x, n_in, w, units, <floating>0, y, units)
    if floating is float:
        bias_act_forward_f32(y, b, rows, units, act)
    else:
        bias_act_forward_f64(y, b, rows, units, act)


cdef inline void _backward(const floating *x, const floating *w, const floating *y, floating *dz,
                           floating *dw, floating *db, floating *dx,
                           int rows, int n_in, int units, int act) noexcept nogil:
    # 1. dz = dy * act'(y), in place
    if floating is float:
        act_backward_f32(dz, y, rows, units, act)
    else:
        act_backward_f64(dz, y, rows, units, act)
    # 2. dW = x.T @ dz   3. db = sum over rows of dz   4. dx = dz @ W.T (skipped for layer 1)
    cdef Job J
    cdef int how = 0
    if floating is float:
        how = _plan(<long long>rows * n_in * units, n_in, units, 16)
        if how:
            J.x, J.dz, J.dw, J.n_in, J.units, J.rows = x, dz, dw, n_in, units, rows
            _run(_dw_rows, &J, n_in, how)
    if not how:
        gemm(True, False, n_in, units, rows, <floating>1, x, n_in, dz, units, <floating>0, dw,
             units)
    if db != NULL:
        if floating is float:
            bias_grad_f32(db, dz, rows, units)
        else:
            bias_grad_f64(db, dz, rows, units)
    if dx != NULL:
        gemm(False, True, rows, n_in, units, <floating>1, dz, units, w, units, <floating>0, dx, n_in)


cdef inline char *_ptr(a):
    return NULL if a is None else <char *>cnp.PyArray_DATA(<cnp.ndarray>a)


def _check(func, x, W, b, activation):
    return _checks.dense_args(func, x, W, b, activation, ACTIVATIONS)


def dense_forward(x, W, b, activation, out=None):
    """y = act(x @ W + b); returns y (written into out when given)."""
    dt = _check("dense_forward", x, W, b, activation)
    if out is None:
        out = np.empty((x.shape[0], W.shape[1]), dtype=dt)
    _checks.same_float_dtype("dense_forward", x=x, out=out)
    _checks.shape("dense_forward", "out", out, (x.shape[0], W.shape[1]))
    cdef char *px = _ptr(x)
    cdef char *pw = _ptr(W)
    cdef char *pb = _ptr(b)
    cdef char *py = _ptr(out)
    cdef int rows = x.shape[0], n_in = W.shape[0], units = W.shape[1]
    cdef int act = ACTIVATIONS[activation]
    cdef bint f64 = dt == np.float64
    with nogil:
        if f64:
            _forward(<double *>px, <double *>pw, <double *>pb, <double *>py, rows, n_in, units, act)
        else:
            _forward(<float *>px, <float *>pw, <float *>pb, <float *>py, rows, n_in, units, act)
    return out


def dense_backward(x, W, y, dy, activation, use_bias=True, need_dx=True):
    """Backward of dense_forward. dy is overwritten with dz = dy * act'(y).
    Returns (dx, dW, db); dx is None when need_dx is False, db None without bias."""
    dt = _check("dense_backward", x, W, None, activation)
    _checks.same_float_dtype("dense_backward", x=x, W=W, y=y, dy=dy)
    _checks.shape("dense_backward", "y", y, (x.shape[0], W.shape[1]))
    _checks.shape("dense_backward", "dy", dy, (x.shape[0], W.shape[1]))
    _checks.c_contiguous("dense_backward", y=y, dy=dy)
    dW = np.empty_like(W)
    db = np.empty(W.shape[1], dtype=dt) if use_bias else None
    dx = np.empty_like(x) if need_dx else None
    cdef char *px = _ptr(x)
    cdef char *pw = _ptr(W)
    cdef char *py = _ptr(y)
    cdef char *pdz = _ptr(dy)
    cdef char *pdw = _ptr(dW)
    cdef char *pdb = _ptr(db)
    cdef char *pdx = _ptr(dx)
    cdef int rows = x.shape[0], n_in = W.shape[0], units = W.shape[1]
    cdef int act = ACTIVATIONS[activation]
    cdef bint f64 = dt == np.float64
    with nogil:
        if f64:
            _backward(<double *>px, <double *>pw, <double *>py, <double *>pdz, <double *>pdw,
                      <double *>pdb, <double *>pdx, rows, n_in, units, act)
        else:
            _backward(<float *>px, <float *>pw, <float *>py, <float *>pdz, <float *>pdw,
                      <float *>pdb, <float *>pdx, rows, n_in, units, act)
    return dx, dW, db


cdef class DenseOp(Op):
    """A Dense layer inside a compiled Net. W, b, dW, db are views into the model's
    flat parameter / gradient buffers (b, db None without bias). `steps` > 1 applies
    the layer to each of `steps` timesteps of a sequence sample (rows = n * steps)."""
    cdef char *w
    cdef char *b
    cdef char *dw
    cdef char *db
    cdef int n_in, units, act, steps
    cdef object _keep  # the arrays the raw pointers point into

    def __init__(self, W, b, dW, db, activation, bint need_dx, int steps=1):
        _check("DenseOp", np.empty((0, W.shape[0]), W.dtype), W, b, activation)
        _checks.same_float_dtype("DenseOp", W=W, b=b, dW=dW, db=db)
        Op.__init__(self, W.shape[0] * steps, W.shape[1] * steps, W.dtype, need_dx)
        self.n_in, self.units, self.steps = W.shape[0], W.shape[1], steps
        self.act = ACTIVATIONS[activation]
        self._keep = (W, b, dW, db)
        self.w, self.b, self.dw, self.db = _ptr(W), _ptr(b), _ptr(dW), _ptr(db)

    cdef char *forward(self, char *x, Py_ssize_t n, bint training) except NULL:
        cdef int rows = n * self.steps
        with nogil:
            if self.f64:
                _forward(<double *>x, <double *>self.w, <double *>self.b, <double *>self.out,
                         rows, self.n_in, self.units, self.act)
            else:
                _forward(<float *>x, <float *>self.w, <float *>self.b, <float *>self.out,
                         rows, self.n_in, self.units, self.act)
        return self.out

    cdef char *backward(self, char *x, char *dy, Py_ssize_t n) except? NULL:
        cdef int rows = n * self.steps
        cdef char *dx = self.dx if self.need_dx else NULL
        with nogil:
            if self.f64:
                _backward(<double *>x, <double *>self.w, <double *>self.out, <double *>dy,
                          <double *>self.dw, <double *>self.db, <double *>dx,
                          rows, self.n_in, self.units, self.act)
            else:
                _backward(<float *>x, <float *>self.w, <float *>self.out, <float *>dy,
                          <float *>self.dw, <float *>self.db, <float *>dx,
                          rows, self.n_in, self.units, self.act)
        return dx
