"""Embedding: rows of a (V, D) table picked by index, and the gradient rows added back
(C: csrc/kernels/embedding.c). Twin: fastnn/backend/reference/embedding.py.

Functions (idx: any integer or float array of indices, truncated toward zero as Keras'
cast does; table (V, D)):
  embedding_forward(idx, table) -> out (*idx.shape, D)
  embedding_backward(idx, dout, rows) -> dtable (rows, D)
Op (for a Net): EmbeddingOp. The backward adds each gradient row straight into the
table's view of the model's flat gradient buffer (zeroed first): no (V, D) temporary.
"""
import numpy as np
cimport numpy as cnp
from libc.string cimport memset
from fastnn.backend.compiled._op cimport Op
from fastnn.backend.compiled._csrc cimport (
    embedding_first_bad_index_f32, embedding_first_bad_index_f64, embedding_forward_f32,
    embedding_forward_f64, embedding_backward_f32, embedding_backward_f64, embedding_mask_f32,
    embedding_mask_f64)
from fastnn.backend.contract import args as _args
from fastnn.backend.contract import embedding as _c

cnp.import_array()


cdef inline char *_ptr(a):
    return NULL if a is None else <char *>cnp.PyArray_DATA(<cnp.ndarray>a)


cdef Py_ssize_t _first_bad(bint f64, const char *idx, Py_ssize_t n, Py_ssize_t v) noexcept nogil:
    if f64:
        return embedding_first_bad_index_f64(<const double *>idx, n, v)
    return embedding_first_bad_index_f32(<const float *>idx, n, v)


cdef void _forward(bint f64, const char *idx, Py_ssize_t n, const char *table, Py_ssize_t d,
                   char *out) noexcept nogil:
    if f64:
        embedding_forward_f64(<const double *>idx, n, <const double *>table, d, <double *>out)
    else:
        embedding_forward_f32(<const float *>idx, n, <const float *>table, d, <float *>out)


cdef void _backward(bint f64, const char *idx, Py_ssize_t n, const char *dy, Py_ssize_t v,
                    Py_ssize_t d, char *dtable) noexcept nogil:
    # 1. dtable = 0   2. dtable[idx[k]] += dy[k]
    memset(dtable, 0, v * d * (8 if f64 else 4))
    if f64:
        embedding_backward_f64(<const double *>idx, n, <const double *>dy, d, <double *>dtable)
    else:
        embedding_backward_f32(<const float *>idx, n, <const float *>dy, d, <float *>dtable)


def embedding_forward(idx, table):
    """out = table[trunc(idx)], shape (*idx.shape, D); an index outside [0, V) raises."""
    dt, V, D = _c.table_args("embedding_forward", table)
    a = _c.index_array("embedding_forward", idx, dt)
    out = np.empty(a.shape + (D,), dt)
    cdef Py_ssize_t k = _first_bad(dt == np.float64, _ptr(a), a.size, V)
    if k >= 0:
        raise _c.bad_index_error("embedding_forward", idx, k, V)
    _forward(dt == np.float64, _ptr(a), a.size, _ptr(table), D, _ptr(out))
    return out


def embedding_backward(idx, dout, Py_ssize_t rows):
    """dtable (rows, D): the sum of dout's rows per index (zero for unused rows)."""
    dout = np.asarray(dout)
    _args.same_float_dtype("embedding_backward", dout=dout)
    a = _c.index_array("embedding_backward", idx, dout.dtype)
    _args.shape("embedding_backward", "dout", dout, a.shape + (None,))
    dout = np.ascontiguousarray(dout)
    D = dout.shape[dout.ndim - 1]  # (wraparound is off in compiled modules)
    dtable = np.empty((rows, D), dout.dtype)
    cdef bint f64 = dout.dtype == np.float64
    cdef Py_ssize_t k = _first_bad(f64, _ptr(a), a.size, rows)
    if k >= 0:
        raise _c.bad_index_error("embedding_backward", idx, k, rows)
    _backward(f64, _ptr(a), a.size, _ptr(dout), rows, D, _ptr(dtable))
    return dtable


cdef class EmbeddingOp(Op):
    """An Embedding layer inside a compiled Net. Input: (n, L) indices as floating values
    (L indices per sample); output (n, L*D). Forward checks every index before it reads
    the table (so a bad batch raises before anything is updated); backward writes the
    table's gradient. The indices have no gradient: dx (when asked for) is zero.
    name: the layer's, for its errors. mask_zero: forward also writes the (n, L) mask
    (index != 0) that the next ops read (Keras' Embedding(mask_zero=True))."""
    cdef readonly Py_ssize_t rows, dim, length
    cdef readonly bint mask_zero
    cdef readonly object name        # the layer's, for errors
    cdef object _keep
    cdef char *table
    cdef char *dtable

    def __init__(self, table, dtable, Py_ssize_t length, bint need_dx, name="Embedding",
                 bint mask_zero=False):
        dt, V, D = _c.table_args("EmbeddingOp", table, dtable)
        if length < 1:
            raise ValueError(f"EmbeddingOp expected length >= 1. Received: {length}")
        Op.__init__(self, length, length * D, dt, need_dx)
        self.rows, self.dim, self.length, self.name = V, D, length, name
        self._keep = (table, dtable)
        self.table, self.dtable = _ptr(table), _ptr(dtable)
        self.mask_zero = mask_zero
        self.mask_steps = length if mask_zero else 0

    cdef char *forward(self, char *x, Py_ssize_t n, bint training) except NULL:
        cdef Py_ssize_t m = n * self.length
        cdef Py_ssize_t k
        with nogil:
            k = _first_bad(self.f64, x, m, self.rows)
            if k < 0:
                _forward(self.f64, x, m, self.table, self.dim, self.out)
                if self.mask_zero:
                    if self.f64:
                        embedding_mask_f64(<const double *>x, m, self.out_mask)
                    else:
                        embedding_mask_f32(<const float *>x, m, self.out_mask)
        if k >= 0:
            idx = np.frombuffer(<char[:m * (8 if self.f64 else 4)]>x, self.dtype)
            raise _c.bad_index_error(self.name, idx.reshape(n, self.length), k, self.rows)
        return self.out

    cdef char *backward(self, char *x, char *dy, Py_ssize_t n) except? NULL:
        with nogil:
            _backward(self.f64, x, n * self.length, dy, self.rows, self.dim, self.dtable)
            if self.need_dx:
                memset(self.dx, 0, n * self.length * (8 if self.f64 else 4))
        return self.dx if self.need_dx else NULL

    def py_forward(self, x):
        """Forward of x (n, L); returns a copy of the (n, L*D) output."""
        x = self._py_arg(x)
        n = x.shape[0]
        self.reserve(n)
        self.forward(_ptr(x), n, True)
        return self.out_arr[:n].copy()

    def py_backward(self, x, dy):
        """Backward for input x (n, L) from dy (n, L*D); the table gradient goes into
        dtable. Returns a copy of dx (zeros) or None."""
        x = self._py_arg(x)
        dy = np.ascontiguousarray(dy, self.dtype).reshape(x.shape[0], self.out_size)
        if self.backward(_ptr(x), _ptr(dy), x.shape[0]) == NULL:
            return None
        return self.dx_arr[:x.shape[0]].copy()

    def _py_arg(self, x):
        x = np.ascontiguousarray(x, self.dtype)
        return x.reshape(x.shape[0], self.in_size)
