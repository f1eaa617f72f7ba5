"""Dense layer kernels: y = act(x @ W + b) and its backward (BLAS + C pointwise).
Twin: fastnn/reference/dense.py. Pointwise C: csrc/activations_impl.inc.

Shapes: x (n, I), W (I, U), b (U,), y (n, U). Backward takes the forward output y
(activation derivatives come from it) and overwrites dy with dz = dy * act'.
"""
import numpy as np
cimport numpy as cnp
from cython cimport floating
from fastnn._kernels._blas cimport gemm
from fastnn._kernels._op cimport Op
from fastnn._kernels._csrc cimport (
    bias_act_forward_f32, bias_act_forward_f64, act_backward_f32, act_backward_f64,
    bias_grad_f32, bias_grad_f64)
from fastnn._kernels.activations import ACTIVATIONS
from fastnn import _checks

cnp.import_array()


cdef inline void _forward(const floating *x, const floating *w, const floating *b, floating *y,
                          int rows, int n_in, int units, int act) noexcept nogil:
    # 1. z = x @ W (one GEMM)   2. y = act(z + b), fused, in place
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
    gemm(True, False, n_in, units, rows, <floating>1, x, n_in, dz, units, <floating>0, dw, units)
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
