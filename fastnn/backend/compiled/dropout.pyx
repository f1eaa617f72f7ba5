"""Dropout (C: csrc/kernels/dropout.c). Twin: fastnn/backend/reference/dropout.py.

Masks come from a counter-based stream: element k of the call that starts at
`counter` uses splitmix64(seed, counter + k), so a (seed, counter) pair saved
with the model resumes the exact same masks.
"""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport uint64_t
from libc.string cimport memcpy
from fastnn.backend.compiled._op cimport Op
from fastnn.backend.compiled._csrc cimport (
    dropout_mask_f32, dropout_mask_f64, mul_inplace_f32, mul_inplace_f64, mul_steps_inplace_f32,
    mul_steps_inplace_f64)

cnp.import_array()


def dropout_mask(Py_ssize_t n, double rate, uint64_t seed, uint64_t counter, dtype=np.float32):
    """Scale mask of n elements: 1/(1-rate) where kept, 0 where dropped."""
    mask = np.empty(n, dtype=dtype)
    cdef char *p = <char *>cnp.PyArray_DATA(<cnp.ndarray>mask)
    cdef bint f64 = mask.dtype == np.float64
    with nogil:
        if f64:
            dropout_mask_f64(<double *>p, n, rate, seed, counter)
        else:
            dropout_mask_f32(<float *>p, n, <float>rate, seed, counter)
    return mask


cdef class DropoutOp(Op):
    """A Dropout layer inside a compiled Net: in training y = x * mask, dx = dy * mask;
    at inference the input passes through untouched."""
    cdef public double rate
    cdef public uint64_t seed, counter
    cdef object mask_arr
    cdef char *mask

    def __init__(self, Py_ssize_t size, double rate, dtype, bint need_dx, uint64_t seed):
        Op.__init__(self, size, size, dtype, False)
        self.need_dx = need_dx
        self.rate, self.seed, self.counter = rate, seed, 0

    cdef int reserve(self, Py_ssize_t rows) except -1:
        if rows > self.cap:
            self.mask_arr = np.zeros((rows, self.in_size), dtype=self.dtype)
            self.mask = <char *>cnp.PyArray_DATA(<cnp.ndarray>self.mask_arr)
        return Op.reserve(self, rows)

    cdef char *forward(self, char *x, Py_ssize_t n, bint training) except NULL:
        if not training or self.rate == 0:
            return x
        cdef Py_ssize_t size = n * self.in_size
        with nogil:
            if self.f64:
                dropout_mask_f64(<double *>self.mask, size, self.rate, self.seed, self.counter)
                memcpy(self.out, x, size * 8)
                mul_inplace_f64(<double *>self.out, <double *>self.mask, size)
            else:
                dropout_mask_f32(<float *>self.mask, size, <float>self.rate, self.seed,
                                 self.counter)
                memcpy(self.out, x, size * 4)
                mul_inplace_f32(<float *>self.out, <float *>self.mask, size)
        self.counter += <uint64_t>size
        return self.out

    cdef char *backward(self, char *x, char *dy, Py_ssize_t n) except? NULL:
        cdef Py_ssize_t size = n * self.in_size
        if self.rate != 0:
            with nogil:
                if self.f64:
                    mul_inplace_f64(<double *>dy, <double *>self.mask, size)
                else:
                    mul_inplace_f32(<float *>dy, <float *>self.mask, size)
        return dy if self.need_dx else NULL


cdef class SpatialDropoutOp(Op):
    """SpatialDropout1D inside a compiled Net: samples (steps, f); in training one mask
    value per (sample, feature), the same at every step (y = x * mask[:, None, :]); at
    inference the input passes through. The stream advances by n * f per call."""
    cdef public double rate
    cdef public uint64_t seed, counter
    cdef readonly Py_ssize_t steps, features
    cdef object mask_arr
    cdef char *mask

    def __init__(self, Py_ssize_t steps, Py_ssize_t features, double rate, dtype, bint need_dx,
                 uint64_t seed):
        Op.__init__(self, steps * features, steps * features, dtype, need_dx)
        self.steps, self.features = steps, features
        self.rate, self.seed, self.counter = rate, seed, 0

    cdef int reserve(self, Py_ssize_t rows) except -1:
        if rows > self.cap:
            self.mask_arr = np.zeros((rows, self.features), dtype=self.dtype)
            self.mask = <char *>cnp.PyArray_DATA(<cnp.ndarray>self.mask_arr)
        return Op.reserve(self, rows)

    cdef char *forward(self, char *x, Py_ssize_t n, bint training) except NULL:
        if not training or self.rate == 0:
            return x
        cdef Py_ssize_t m = n * self.features
        with nogil:
            if self.f64:
                dropout_mask_f64(<double *>self.mask, m, self.rate, self.seed, self.counter)
                memcpy(self.out, x, n * self.in_size * 8)
                mul_steps_inplace_f64(<double *>self.out, <double *>self.mask, n, self.steps,
                                      self.features)
            else:
                dropout_mask_f32(<float *>self.mask, m, <float>self.rate, self.seed,
                                 self.counter)
                memcpy(self.out, x, n * self.in_size * 4)
                mul_steps_inplace_f32(<float *>self.out, <float *>self.mask, n, self.steps,
                                      self.features)
        self.counter += <uint64_t>m
        return self.out

    cdef char *backward(self, char *x, char *dy, Py_ssize_t n) except? NULL:
        if not self.need_dx:  # first in its Net (an RNN's input dropout): dy may be NULL
            return NULL
        if self.rate != 0:
            with nogil:
                if self.f64:
                    mul_steps_inplace_f64(<double *>dy, <double *>self.mask, n, self.steps,
                                          self.features)
                else:
                    mul_steps_inplace_f32(<float *>dy, <float *>self.mask, n, self.steps,
                                          self.features)
        return dy if self.need_dx else NULL

    def py_forward(self, x, training=True):
        """Forward of x (n, steps * f) (tests, direct use); returns a copy."""
        x = np.ascontiguousarray(x, self.dtype).reshape(len(x), self.in_size)
        self.reserve(len(x))
        cdef char *y = self.forward(<char *>cnp.PyArray_DATA(<cnp.ndarray>x), len(x), training)
        return np.frombuffer(<char[:len(x) * self.in_size * (8 if self.f64 else 4)]>y,
                             self.dtype).reshape(len(x), self.in_size).copy()
