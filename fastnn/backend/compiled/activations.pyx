"""Fused bias + activation kernels (C: csrc/kernels/activations_impl.inc).
Twin: fastnn/backend/reference/activations.py."""
import numpy as np
from cython cimport floating
from libc.string cimport memcpy
from fastnn.backend.compiled._op cimport Op
from fastnn.backend.compiled._csrc cimport (
    bias_act_forward_f32, bias_act_forward_f64, act_backward_f32, act_backward_f64,
    bias_grad_f32, bias_grad_f64)

ACTIVATIONS = {"linear": 0, "relu": 1, "sigmoid": 2, "tanh": 3, "softmax": 4,
               "leaky_relu": 5, "elu": 6}
LEAKY_SLOPE = 0.2  # Keras 3 default negative slope
ELU_ALPHA = 1.0


cdef int _code(activation) except -1:
    try:
        return ACTIVATIONS[activation]
    except KeyError:
        raise ValueError(f"unknown activation {activation!r}; known: {sorted(ACTIVATIONS)}")


def bias_act_forward(floating[:, ::1] z, const floating[::1] b, activation):
    """z = act(z + b) in place (b may be None); returns z. z: (n, u), b: (u,)."""
    cdef int act = _code(activation)
    cdef const floating *bp = NULL
    if b is not None:
        if b.shape[0] != z.shape[1]:
            raise ValueError(f"bias_act_forward expected b of shape ({z.shape[1]},). "
                             f"Received: b.shape=({b.shape[0]},)")
        bp = &b[0] if b.shape[0] else NULL
    if z.shape[0] and z.shape[1]:
        with nogil:
            if floating is float:
                bias_act_forward_f32(&z[0, 0], bp, z.shape[0], z.shape[1], z.shape[1], act)
            else:
                bias_act_forward_f64(&z[0, 0], bp, z.shape[0], z.shape[1], z.shape[1], act)
    return np.asarray(z)


def act_backward(floating[:, ::1] dz, const floating[:, ::1] y, activation):
    """dz = dy * act'(.) in place, from the forward output y; returns dz."""
    cdef int act = _code(activation)
    if dz.shape[0] != y.shape[0] or dz.shape[1] != y.shape[1]:
        raise ValueError(f"act_backward expected dz and y of one shape. Received: "
                         f"dz.shape={(dz.shape[0], dz.shape[1])}, "
                         f"y.shape={(y.shape[0], y.shape[1])}")
    if dz.shape[0] and dz.shape[1]:
        with nogil:
            if floating is float:
                act_backward_f32(&dz[0, 0], &y[0, 0], dz.shape[0], dz.shape[1], dz.shape[1], act)
            else:
                act_backward_f64(&dz[0, 0], &y[0, 0], dz.shape[0], dz.shape[1], dz.shape[1], act)
    return np.asarray(dz)


def bias_grad(const floating[:, ::1] dz, db=None):
    """db = column sums of dz (accumulated in float64); returns db."""
    if db is None:
        db = np.empty(dz.shape[1], dtype=np.float32 if floating is float else np.float64)
    cdef floating[::1] out = db
    if out.shape[0] != dz.shape[1]:
        raise ValueError(f"bias_grad expected db of shape ({dz.shape[1]},). "
                         f"Received: db.shape=({out.shape[0]},)")
    if out.shape[0]:
        with nogil:
            if floating is float:
                bias_grad_f32(&out[0], &dz[0, 0] if dz.shape[0] else NULL, dz.shape[0],
                              out.shape[0], out.shape[0])
            else:
                bias_grad_f64(&out[0], &dz[0, 0] if dz.shape[0] else NULL, dz.shape[0],
                              out.shape[0], out.shape[0])
    return db


cdef class ActivationOp(Op):
    """An Activation layer inside a compiled Net: y = act(x) per row of `units`
    features (rows = n * steps for sequences). Backward works in place on dy."""
    cdef int act, units, steps

    def __init__(self, Py_ssize_t units, activation, dtype, bint need_dx, int steps=1):
        Op.__init__(self, units * steps, units * steps, dtype, False)
        self.need_dx = need_dx
        self.act, self.units, self.steps = _code(activation), units, steps

    cdef char *forward(self, char *x, Py_ssize_t n, bint training) except NULL:
        cdef Py_ssize_t rows = n * self.steps
        cdef size_t itemsize = 8 if self.f64 else 4
        with nogil:
            memcpy(self.out, x, rows * self.units * itemsize)
            if self.f64:
                bias_act_forward_f64(<double *>self.out, NULL, rows, self.units, self.units,
                                     self.act)
            else:
                bias_act_forward_f32(<float *>self.out, NULL, rows, self.units, self.units,
                                     self.act)
        return self.out

    cdef char *backward(self, char *x, char *dy, Py_ssize_t n) except? NULL:
        cdef Py_ssize_t rows = n * self.steps
        with nogil:
            if self.f64:
                act_backward_f64(<double *>dy, <double *>self.out, rows, self.units, self.units,
                                 self.act)
            else:
                act_backward_f32(<float *>dy, <float *>self.out, rows, self.units, self.units,
                                 self.act)
        return dy if self.need_dx else NULL
