"""Dense layer kernels: y = act(x @ W + b) and its backward (BLAS + C pointwise).
Twin: fastnn/backend/reference/dense.py. Pointwise C: csrc/kernels/activations_impl.inc.

Shapes: x (n, I), W (I, U), b (U,), y (n, U). Backward takes the forward output y
(activation derivatives come from it) and overwrites dy with dz = dy * act'.
"""
import numpy as np
cimport numpy as cnp
from cython cimport floating
from fastnn.backend.compiled._blas cimport gemm, product_range
from fastnn.backend.compiled._parallel cimport Product, dense_plan, run_parts
from fastnn.backend.compiled._op cimport Op
from fastnn.backend.compiled._csrc cimport (
    bias_act_forward_f32, bias_act_forward_f64, act_backward_f32, act_backward_f64,
    bias_grad_f32, bias_grad_f64, FASTNN_SOFTMAX)
from fastnn.backend.compiled.activations import ACTIVATIONS
from fastnn.backend.contract import args as _args
from fastnn.backend.contract.dense import dense_args as _dense_args

cnp.import_array()


# ---- how a product is computed --------------------------------------------------------
#
# _parallel.dense_plan decides, product by product: one BLAS call, the packing-free kernel
# on this thread, or parts on two threads, each with its share of the layer's pointwise
# work (bias + activation forward; activation derivative and bias gradient backward).
# _parallel.configure(product_mode=...) overrides it for tests and measurements.


cdef struct Job:
    Product P        # the product; parts cut its rows or its columns
    int step         # output values per range unit: 1 (rows) or a column block
    int rows, units, act
    bint pointwise   # backward: each part also runs act' and db on its columns
    void *bias       # forward: b; backward: db (NULL: none)
    const void *y    # backward: the forward output
    void *dz         # backward: dy, overwritten with dz = dy * act'(y)


cdef inline int _plan(Job *J, bint rows_only, Py_ssize_t min_rows) noexcept nogil:
    # after _product: 0 one BLAS call, 1 the kernel on this thread, p >= 2 parts (_run)
    return dense_plan(&J.P, rows_only, min_rows, &J.step)


cdef inline void _product(Product *P, bint f64, bint trans_a, bint trans_b, int m, int n,
                          int k, const void *a, int lda, const void *b, int ldb, void *c,
                          int ldc) noexcept nogil:
    # C (m, n) = op(A) @ op(B), row-major
    P.trans_a, P.trans_b, P.f64 = trans_a, trans_b, f64
    P.m, P.n, P.k, P.lda, P.ldb, P.ldc = m, n, k, lda, ldb, ldc
    P.alpha, P.beta, P.a, P.b, P.c = 1.0, 0.0, a, b, c


cdef inline void *_at(const void *p, Py_ssize_t i, bint f64) noexcept nogil:
    # &p[i] for a float or double array (NULL stays NULL)
    return NULL if p == NULL else <void *>(<char *>p + i * (8 if f64 else 4))


cdef inline void _bias_act(bint f64, void *z, const void *b, Py_ssize_t n, Py_ssize_t u,
                           Py_ssize_t ld, int act) noexcept nogil:
    if f64:
        bias_act_forward_f64(<double *>z, <const double *>b, n, u, ld, act)
    else:
        bias_act_forward_f32(<float *>z, <const float *>b, n, u, ld, act)


cdef inline void _act_backward(bint f64, void *dz, const void *y, Py_ssize_t n, Py_ssize_t u,
                               Py_ssize_t ld, int act) noexcept nogil:
    if f64:
        act_backward_f64(<double *>dz, <const double *>y, n, u, ld, act)
    else:
        act_backward_f32(<float *>dz, <const float *>y, n, u, ld, act)


cdef inline void _bias_grad(bint f64, void *db, const void *dz, Py_ssize_t n, Py_ssize_t u,
                            Py_ssize_t ld) noexcept nogil:
    if f64:
        bias_grad_f64(<double *>db, <const double *>dz, n, u, ld)
    else:
        bias_grad_f32(<float *>db, <const float *>dz, n, u, ld)


cdef inline void _span(const Job *J, Py_ssize_t *lo, Py_ssize_t *hi) noexcept nogil:
    # range units -> rows or columns of the output
    cdef Py_ssize_t side = J.P.m if J.P.by_rows else J.P.n
    lo[0] = lo[0] * J.step
    hi[0] = hi[0] * J.step if hi[0] * J.step < side else side


cdef void _forward_part(void *ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    # rows or columns [lo, hi) of y = act(x @ W + b)
    cdef const Job *J = <const Job *>ctx
    _span(J, &lo, &hi)
    product_range(<void *>&J.P, lo, hi)  # the product is only read
    if J.P.by_rows:
        _bias_act(J.P.f64, _at(J.P.c, lo * J.units, J.P.f64), J.bias, hi - lo, J.units,
                  J.units, J.act)
    else:
        _bias_act(J.P.f64, _at(J.P.c, lo, J.P.f64), _at(J.bias, lo, J.P.f64), J.rows, hi - lo,
                  J.units, J.act)


cdef void _backward_part(void *ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    # rows or columns [lo, hi) of a backward product (dW = x.T @ dz or dx = dz @ W.T);
    # for dW cut by columns with J.pointwise, those columns of dz = dy * act'(y) and db
    # first
    cdef const Job *J = <const Job *>ctx
    _span(J, &lo, &hi)
    if J.pointwise:
        _act_backward(J.P.f64, _at(J.dz, lo, J.P.f64), _at(J.y, lo, J.P.f64), J.rows, hi - lo,
                      J.units, J.act)
        if J.bias != NULL:
            _bias_grad(J.P.f64, _at(J.bias, lo, J.P.f64), _at(J.dz, lo, J.P.f64), J.rows,
                       hi - lo, J.units)
    product_range(<void *>&J.P, lo, hi)  # the product is only read


cdef inline void _run(void (*fn)(void *, Py_ssize_t, Py_ssize_t) noexcept nogil, Job *J,
                      int how) noexcept nogil:
    cdef Py_ssize_t side = J.P.m if J.P.by_rows else (J.P.n + J.step - 1) // J.step
    if how == 1:
        fn(J, 0, side)
    else:
        run_parts(fn, J, side, how)


cdef inline void _forward(const floating *x, const floating *w, const floating *b, floating *y,
                          int rows, int n_in, int units, int act) noexcept nogil:
    # y = act(x @ W + b): one GEMM, then bias + activation fused, in place (per part)
    cdef Job J
    _product(&J.P, floating is double, False, False, rows, units, n_in, x, n_in, w, units, y,
             units)
    cdef int how = _plan(&J, act == FASTNN_SOFTMAX, 8)
    if how:
        J.rows, J.units, J.act, J.bias = rows, units, act, <void *>b
        _run(_forward_part, &J, how)
        return
    gemm(False, False, rows, units, n_in, <floating>1, x, n_in, w, units, <floating>0, y, units)
    _bias_act(floating is double, y, b, rows, units, units, act)


cdef inline void _backward(const floating *x, const floating *w, const floating *y, floating *dz,
                           floating *dw, floating *db, floating *dx,
                           int rows, int n_in, int units, int act) noexcept nogil:
    # 1. dz = dy * act'(y), in place   2. dW = x.T @ dz   3. db = sum over rows of dz
    # (1 and 3 per column part when dW is cut by columns)   4. dx = dz @ W.T (not for
    # layer 1)
    cdef Job J
    cdef bint f64 = floating is double
    _product(&J.P, f64, True, False, n_in, units, rows, x, n_in, dz, units, dw, units)
    cdef int how = _plan(&J, False, 16)
    J.rows, J.units, J.act, J.bias, J.y, J.dz = rows, units, act, db, y, dz
    J.pointwise = how != 0 and not J.P.by_rows and act != FASTNN_SOFTMAX
    if not J.pointwise:
        _act_backward(f64, dz, y, rows, units, units, act)
    if how:
        _run(_backward_part, &J, how)
    else:
        gemm(True, False, n_in, units, rows, <floating>1, x, n_in, dz, units, <floating>0, dw,
             units)
    if db != NULL and not J.pointwise:
        _bias_grad(f64, db, dz, rows, units, units)
    if dx == NULL:
        return
    _product(&J.P, f64, False, True, rows, n_in, units, dz, units, w, units, dx, n_in)
    how = _plan(&J, False, 16)
    J.pointwise = False
    if how:
        _run(_backward_part, &J, how)
    else:
        gemm(False, True, rows, n_in, units, <floating>1, dz, units, w, units, <floating>0, dx,
             n_in)


cdef inline char *_ptr(a):
    return NULL if a is None else <char *>cnp.PyArray_DATA(<cnp.ndarray>a)


def _check(func, x, W, b, activation):
    return _dense_args(func, x, W, b, activation, ACTIVATIONS)


def dense_forward(x, W, b, activation, out=None):
    """y = act(x @ W + b); returns y (written into out when given)."""
    dt = _check("dense_forward", x, W, b, activation)
    if out is None:
        out = np.empty((x.shape[0], W.shape[1]), dtype=dt)
    _args.same_float_dtype("dense_forward", x=x, out=out)
    _args.shape("dense_forward", "out", out, (x.shape[0], W.shape[1]))
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
    _args.same_float_dtype("dense_backward", x=x, W=W, y=y, dy=dy)
    _args.shape("dense_backward", "y", y, (x.shape[0], W.shape[1]))
    _args.shape("dense_backward", "dy", dy, (x.shape[0], W.shape[1]))
    _args.c_contiguous("dense_backward", y=y, dy=dy)
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
        _args.same_float_dtype("DenseOp", W=W, b=b, dW=dW, db=db)
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
