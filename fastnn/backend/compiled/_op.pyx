"""Base class of compiled layer operations (see _op.pxd). Twin: reference/_op.py."""
import numpy as np
cimport numpy as cnp

from fastnn.backend.contract.sequence import as_mask as _as_mask, mask_error as _mask_error

cnp.import_array()


cdef class Op:
    def __init__(self, Py_ssize_t in_size, Py_ssize_t out_size, dtype, bint need_dx):
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"Op expected dtype float32 or float64. Received: dtype={dtype}")
        self.in_size = in_size
        self.out_size = out_size
        self.f64 = dtype == np.float64
        self.need_dx = need_dx
        self.cap = 0
        self.mask_steps = 0
        self.mask_src = None
        self.own_mask = None

    @property
    def dtype(self):
        return np.dtype(np.float64 if self.f64 else np.float32)

    cdef int reserve(self, Py_ssize_t rows) except -1:
        """Grow the workspaces to hold `rows` samples; never shrinks."""
        if rows <= self.cap:
            return 0
        self.out_arr = np.zeros((rows, self.out_size), dtype=self.dtype)
        self.out = <char *>cnp.PyArray_DATA(<cnp.ndarray>self.out_arr)
        if self.mask_steps:
            self.out_mask_arr = np.ones((rows, self.mask_steps), dtype=np.uint8)
            self.out_mask = <unsigned char *>cnp.PyArray_DATA(<cnp.ndarray>self.out_mask_arr)
        if self.need_dx:
            self.dx_arr = np.zeros((rows, self.in_size), dtype=self.dtype)
            self.dx = <char *>cnp.PyArray_DATA(<cnp.ndarray>self.dx_arr)
        self.cap = rows
        return 0

    cdef const unsigned char *input_mask(self, Py_ssize_t n, Py_ssize_t steps) except? NULL:
        if self.mask_src is not None:
            if self.mask_src.mask_steps != steps or self.mask_src.cap < n:
                raise _mask_error(self, self.mask_src.mask_steps, steps)
            return self.mask_src.out_mask
        if self.own_mask is None:
            return NULL
        if self.own_mask.shape[0] != n or self.own_mask.shape[1] != steps:
            raise ValueError(f"{type(self).__name__} expected a mask of shape ({n}, {steps}). "
                             f"Received: {self.own_mask.shape}")
        return <unsigned char *>cnp.PyArray_DATA(<cnp.ndarray>self.own_mask)

    def set_input_mask(self, mask):
        """Direct calls and tests: the (n, steps) mask of the next forward's input (True or
        nonzero keeps a step), or None for no mask. A Net's mask_src takes precedence."""
        self.own_mask = _as_mask(mask)

    def output_mask(self, Py_ssize_t n):
        """Producers: a copy of the (n, steps) mask the last forward wrote (bool)."""
        if not self.mask_steps or n > self.cap:
            return None
        return self.out_mask_arr[:n].astype(bool)

    cdef char *forward(self, char *x, Py_ssize_t n, bint training) except NULL:
        raise NotImplementedError

    cdef char *backward(self, char *x, char *dy, Py_ssize_t n) except? NULL:
        raise NotImplementedError
