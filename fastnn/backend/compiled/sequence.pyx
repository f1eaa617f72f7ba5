"""RepeatVector and global average / max pooling over the steps of a sequence
(C: csrc/kernels/sequence.c). Twin: fastnn/backend/reference/sequence.py.

Functions:
  repeat_forward(x (n, f), reps) -> (n, reps, f);  repeat_backward(dy (n, reps, f)) -> dx
  pool_forward(x, kind, data_format, mask=None) -> y (n, feats)
  pool_backward(x, y, dy, kind, data_format, mask=None) -> dx (x's shape)
  masking_forward(x (n, steps, f), mask_value) -> (out, mask (n, steps) bool)
  masking_backward(dy (n, steps, f), mask) -> dx
x of a pooling call is (n, steps, feats) (channels_last) or (n, feats, steps)
(channels_first); kind "avg" or "max" (the gradient of a max is shared equally by the
steps that hold it, as a reduce_max's is in TensorFlow and JAX). A mask (n, steps) makes
"avg" the mean over the unmasked steps ("max" ignores masks, as Keras' GlobalMaxPooling1D).
Masking: a step whose features all equal mask_value is masked and its output zero.
Ops (for a Net): RepeatVectorOp, GlobalPoolOp, MaskingOp.
"""
import numpy as np
cimport numpy as cnp
from fastnn.backend.compiled._op cimport Op
from fastnn.backend.compiled._csrc cimport (
    repeat_forward_f32, repeat_forward_f64, repeat_backward_f32, repeat_backward_f64,
    avg_pool_forward_f32, avg_pool_forward_f64, avg_pool_backward_f32, avg_pool_backward_f64,
    max_pool_forward_f32, max_pool_forward_f64, max_pool_backward_f32, max_pool_backward_f64,
    masking_forward_f32, masking_forward_f64, masking_backward_f32, masking_backward_f64)
from fastnn.backend.contract import args as _args
from fastnn.backend.contract import sequence as _c

cnp.import_array()


cdef inline char *_ptr(a):
    return <char *>cnp.PyArray_DATA(<cnp.ndarray>a)


cdef void _repeat(bint f64, bint backward, const char *a, Py_ssize_t n, Py_ssize_t f,
                  Py_ssize_t reps, char *b) noexcept nogil:
    # forward: a = x (n, f), b = out (n, reps, f); backward: a = dy, b = dx
    if backward:
        if f64:
            repeat_backward_f64(<const double *>a, n, f, reps, <double *>b)
        else:
            repeat_backward_f32(<const float *>a, n, f, reps, <float *>b)
    elif f64:
        repeat_forward_f64(<const double *>a, n, f, reps, <double *>b)
    else:
        repeat_forward_f32(<const float *>a, n, f, reps, <float *>b)


cdef struct Pool:
    bint f64, is_max
    Py_ssize_t steps, feats, s_step, s_feat


cdef void _pool_forward(const Pool *P, const char *x, const unsigned char *m, Py_ssize_t n,
                        char *y) noexcept nogil:
    if P.is_max:
        if P.f64:
            max_pool_forward_f64(<const double *>x, n, P.steps, P.feats, P.s_step, P.s_feat,
                                 <double *>y)
        else:
            max_pool_forward_f32(<const float *>x, n, P.steps, P.feats, P.s_step, P.s_feat,
                                 <float *>y)
    elif P.f64:
        avg_pool_forward_f64(<const double *>x, m, n, P.steps, P.feats, P.s_step, P.s_feat,
                             <double *>y)
    else:
        avg_pool_forward_f32(<const float *>x, m, n, P.steps, P.feats, P.s_step, P.s_feat,
                             <float *>y)


cdef void _pool_backward(const Pool *P, const char *x, const char *y, const char *dy,
                         const unsigned char *m, Py_ssize_t n, char *dx) noexcept nogil:
    if P.is_max:
        if P.f64:
            max_pool_backward_f64(<const double *>x, <const double *>y, <const double *>dy, n,
                                  P.steps, P.feats, P.s_step, P.s_feat, <double *>dx)
        else:
            max_pool_backward_f32(<const float *>x, <const float *>y, <const float *>dy, n,
                                  P.steps, P.feats, P.s_step, P.s_feat, <float *>dx)
    elif P.f64:
        avg_pool_backward_f64(<const double *>dy, m, n, P.steps, P.feats, P.s_step, P.s_feat,
                              <double *>dx)
    else:
        avg_pool_backward_f32(<const float *>dy, m, n, P.steps, P.feats, P.s_step, P.s_feat,
                              <float *>dx)


cdef Pool _pool(bint f64, kind, steps, feats, s_step, s_feat):
    cdef Pool P
    P.f64, P.is_max = f64, kind == "max"
    P.steps, P.feats, P.s_step, P.s_feat = steps, feats, s_step, s_feat
    return P


# ---- functions -----------------------------------------------------------------------

def repeat_forward(x, reps):
    """(n, reps, f): every row of x (n, f) repeated reps times."""
    dt = _c.repeat_args("repeat_forward", x, reps)
    out = np.empty((x.shape[0], reps, x.shape[1]), dt)
    _repeat(dt == np.float64, False, _ptr(x), x.shape[0], x.shape[1], reps, _ptr(out))
    return out


def repeat_backward(dy):
    """dx (n, f): dy (n, reps, f) summed over its reps copies."""
    _args.same_float_dtype("repeat_backward", dy=dy)
    _args.shape("repeat_backward", "dy", dy, (None, None, None))
    _args.c_contiguous("repeat_backward", dy=dy)
    n, reps, f = dy.shape
    dx = np.empty((n, f), dy.dtype)
    _repeat(dy.dtype == np.float64, True, _ptr(dy), n, f, reps, _ptr(dx))
    return dx


cdef inline const unsigned char *_mask_ptr(m):
    return NULL if m is None else <const unsigned char *>cnp.PyArray_DATA(<cnp.ndarray>m)


def pool_forward(x, kind, data_format="channels_last", mask=None):
    """y (n, feats): the mean ("avg") or maximum ("max") over the steps of x; with a mask
    (n, steps) the mean is over the unmasked steps."""
    dt, steps, feats, s_step, s_feat = _c.pool_args("pool_forward", x, kind, data_format)
    m = _c.pool_mask("pool_forward", mask, kind, x.shape[0], steps)
    cdef Pool P = _pool(dt == np.float64, kind, steps, feats, s_step, s_feat)
    y = np.empty((x.shape[0], feats), dt)
    _pool_forward(&P, _ptr(x), _mask_ptr(m), x.shape[0], _ptr(y))
    return y


def pool_backward(x, y, dy, kind, data_format="channels_last", mask=None):
    """dx (x's shape) from dy (n, feats); y is pool_forward's output."""
    dt, steps, feats, s_step, s_feat = _c.pool_args("pool_backward", x, kind, data_format)
    _args.same_float_dtype("pool_backward", x=x, y=y, dy=dy)
    for name, a in (("y", y), ("dy", dy)):
        _args.shape("pool_backward", name, a, (x.shape[0], feats))
    _args.c_contiguous("pool_backward", y=y, dy=dy)
    m = _c.pool_mask("pool_backward", mask, kind, x.shape[0], steps)
    cdef Pool P = _pool(dt == np.float64, kind, steps, feats, s_step, s_feat)
    dx = np.empty_like(x)
    _pool_backward(&P, _ptr(x), _ptr(y), _ptr(dy), _mask_ptr(m), x.shape[0], _ptr(dx))
    return dx


cdef void _masking(bint f64, bint backward, const char *a, double value,
                   unsigned char *m, Py_ssize_t rows, Py_ssize_t f, char *b) noexcept nogil:
    # forward: a = x, b = out, m written; backward: a = dy, b = dx, m read
    if backward:
        if f64:
            masking_backward_f64(<const double *>a, m, rows, f, <double *>b)
        else:
            masking_backward_f32(<const float *>a, m, rows, f, <float *>b)
    elif f64:
        masking_forward_f64(<const double *>a, rows, f, value, m, <double *>b)
    else:
        masking_forward_f32(<const float *>a, rows, f, <float>value, m, <float *>b)


def masking_forward(x, mask_value=0.0):
    """(out, mask): mask (n, steps) = any(x != mask_value) over the last axis of x
    (n, steps, f); out = x at the unmasked steps, 0 at the masked ones."""
    dt, value = _c.masking_args("masking_forward", x, mask_value)
    out = np.empty_like(x)
    m = np.empty(x.shape[:2], np.uint8)
    _masking(dt == np.float64, False, _ptr(x), value, <unsigned char *>_ptr(m),
             x.shape[0] * x.shape[1], x.shape[2], _ptr(out))
    return out, m.astype(bool)


def masking_backward(dy, mask):
    """dx: dy at the unmasked steps, 0 at the masked ones (dy (n, steps, f))."""
    dt, _ = _c.masking_args("masking_backward", dy, 0.0)
    m = _c.pool_mask("masking_backward", mask, "avg", dy.shape[0], dy.shape[1])
    dx = np.empty_like(dy)
    _masking(dt == np.float64, True, _ptr(dy), 0.0, <unsigned char *>_ptr(m),
             dy.shape[0] * dy.shape[1], dy.shape[2], _ptr(dx))
    return dx


# ---- ops -----------------------------------------------------------------------------

cdef class RepeatVectorOp(Op):
    """RepeatVector in a Net: (n, f) -> (n, reps * f); backward sums the copies."""
    cdef readonly Py_ssize_t features, reps

    def __init__(self, Py_ssize_t features, Py_ssize_t reps, dtype, bint need_dx):
        Op.__init__(self, features, reps * features, dtype, need_dx)
        self.features, self.reps = features, reps

    cdef char *forward(self, char *x, Py_ssize_t n, bint training) except NULL:
        with nogil:
            _repeat(self.f64, False, x, n, self.features, self.reps, self.out)
        return self.out

    cdef char *backward(self, char *x, char *dy, Py_ssize_t n) except? NULL:
        if not self.need_dx:
            return NULL
        with nogil:
            _repeat(self.f64, True, dy, n, self.features, self.reps, self.dx)
        return self.dx


cdef class _PyOp(Op):
    """Python entry points of the ops below, for tests and direct use."""

    def py_forward(self, x, training=True):
        """Forward of x (n, in_size); returns a copy of the output (tests, direct use)."""
        x = _c.op_input(self, x)
        self.reserve(x.shape[0])
        self.forward(_ptr(x), x.shape[0], training)
        return self.out_arr[:x.shape[0]].copy()

    def py_backward(self, x, dy):
        """Backward of the last forward; returns a copy of dx."""
        x, dy = _c.op_input(self, x), _c.op_grad(self, dy)
        self.backward(_ptr(x), _ptr(dy), x.shape[0])
        return self.dx_arr[:x.shape[0]].copy()


cdef class GlobalPoolOp(_PyOp):
    """GlobalAveragePooling1D / GlobalMaxPooling1D in a Net: (n, steps * feats) ->
    (n, feats); kind "avg" or "max", channels_first: samples are (feats, steps)."""
    cdef Pool P
    cdef readonly object kind

    def __init__(self, kind, Py_ssize_t steps, Py_ssize_t feats, bint channels_first, dtype,
                 bint need_dx):
        fmt = "channels_first" if channels_first else "channels_last"
        shape_ = (feats, steps) if channels_first else (steps, feats)
        steps, feats, s_step, s_feat = _c.layout("GlobalPoolOp", shape_, fmt)
        if kind not in _c.POOLS:
            raise ValueError(f"GlobalPoolOp expected kind in {_c.POOLS}. Received: {kind!r}")
        Op.__init__(self, steps * feats, feats, dtype, need_dx)
        self.kind = kind
        self.P = _pool(self.f64, kind, steps, feats, s_step, s_feat)

    cdef char *forward(self, char *x, Py_ssize_t n, bint training) except NULL:
        cdef const unsigned char *m = self._mask(n)
        with nogil:
            _pool_forward(&self.P, x, m, n, self.out)
        return self.out

    cdef char *backward(self, char *x, char *dy, Py_ssize_t n) except? NULL:
        if not self.need_dx:
            return NULL
        cdef const unsigned char *m = self._mask(n)
        with nogil:
            _pool_backward(&self.P, x, self.out, dy, m, n, self.dx)
        return self.dx

    cdef const unsigned char *_mask(self, Py_ssize_t n) except? NULL:
        # average pooling honours a mask; max pooling ignores it (as Keras)
        return NULL if self.P.is_max else self.input_mask(n, self.P.steps)


cdef class MaskingOp(_PyOp):
    """Masking in a Net: (n, steps * f) -> the same, zero at the masked steps (every
    feature equal to mask_value); writes the (n, steps) mask the next ops read."""
    cdef readonly Py_ssize_t steps, features
    cdef readonly double mask_value

    def __init__(self, Py_ssize_t steps, Py_ssize_t features, double mask_value, dtype,
                 bint need_dx):
        Op.__init__(self, steps * features, steps * features, dtype, need_dx)
        self.steps, self.features, self.mask_value = steps, features, mask_value
        self.mask_steps = steps

    cdef char *forward(self, char *x, Py_ssize_t n, bint training) except NULL:
        with nogil:
            _masking(self.f64, False, x, self.mask_value, self.out_mask, n * self.steps,
                     self.features, self.out)
        return self.out

    cdef char *backward(self, char *x, char *dy, Py_ssize_t n) except? NULL:
        if not self.need_dx:
            return NULL
        with nogil:
            _masking(self.f64, True, dy, 0.0, self.out_mask, n * self.steps, self.features,
                     self.dx)
        return self.dx
