"""Base class of compiled layer operations (see _op.pxd). Twin: reference/_op.py."""
import numpy as np
cimport numpy as cnp

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

    @property
    def dtype(self):
        return np.dtype(np.float64 if self.f64 else np.float32)

    cdef int reserve(self, Py_ssize_t rows) except -1:
        """Grow the workspaces to hold `rows` samples; never shrinks."""
        if rows <= self.cap:
            return 0
        self.out_arr = np.zeros((rows, self.out_size), dtype=self.dtype)
        self.out = <char *>cnp.PyArray_DATA(<cnp.ndarray>self.out_arr)
        if self.need_dx:
            self.dx_arr = np.zeros((rows, self.in_size), dtype=self.dtype)
            self.dx = <char *>cnp.PyArray_DATA(<cnp.ndarray>self.dx_arr)
        self.cap = rows
        return 0

    cdef char *forward(self, char *x, Py_ssize_t n, bint training) except NULL:
        raise NotImplementedError

    cdef char *backward(self, char *x, char *dy, Py_ssize_t n) except? NULL:
        raise NotImplementedError
