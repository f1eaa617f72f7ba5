"""NumPy twin of fastnn/backend/compiled/embedding.pyx (C: csrc/kernels/embedding.c).

Indices travel as floating values and are truncated toward zero (Keras' cast to int).
The backward's np.add.at adds the rows of a repeated index in input order, as the C
loop does, so the two agree bit for bit.
"""

import numpy as np

from fastnn.backend.contract import args as _args
from fastnn.backend.contract import embedding as _c
from fastnn.backend.reference._op import Op


def _first_bad(idx, rows):
    with np.errstate(invalid="ignore"):
        i = np.trunc(idx.reshape(-1).astype(np.float64))
        bad = np.flatnonzero(~((i >= 0) & (i < rows)))
    return int(bad[0]) if bad.size else -1


def _forward(idx, table, out):
    out[...] = table[idx.reshape(-1).astype(np.intp)].reshape(out.shape)


def _backward(idx, dy, dtable):
    # 1. dtable = 0   2. dtable[idx[k]] += dy[k]
    dtable[...] = 0
    np.add.at(dtable, idx.reshape(-1).astype(np.intp), dy.reshape(-1, dtable.shape[1]))


def embedding_forward(idx, table):
    """out = table[trunc(idx)], shape (*idx.shape, D); an index outside [0, V) raises."""
    dt, V, D = _c.table_args("embedding_forward", table)
    a = _c.index_array("embedding_forward", idx, dt)
    k = _first_bad(a, V)
    if k >= 0:
        raise _c.bad_index_error("embedding_forward", idx, k, V)
    out = np.empty(a.shape + (D,), dt)
    _forward(a, table, out)
    return out


def embedding_backward(idx, dout, rows):
    """dtable (rows, D): the sum of dout's rows per index (zero for unused rows)."""
    dout = np.asarray(dout)
    _args.same_float_dtype("embedding_backward", dout=dout)
    a = _c.index_array("embedding_backward", idx, dout.dtype)
    _args.shape("embedding_backward", "dout", dout, a.shape + (None,))
    dtable = np.empty((rows, dout.shape[-1]), dout.dtype)
    k = _first_bad(a, rows)
    if k >= 0:
        raise _c.bad_index_error("embedding_backward", idx, k, rows)
    _backward(a, dout, dtable)
    return dtable


class EmbeddingOp(Op):
    """An Embedding layer inside a Net. Input: (n, L) indices as floating values (L
    indices per sample); output (n, L*D). Forward checks every index before it reads
    the table (so a bad batch raises before anything is updated); backward writes the
    table's gradient. The indices have no gradient: dx (when asked for) is zero.
    name: the layer's, for its errors. mask_zero: forward also writes the (n, L) mask
    (index != 0) that the next ops read (Keras' Embedding(mask_zero=True))."""

    def __init__(self, table, dtable, length, need_dx, name="Embedding", mask_zero=False):
        dt, V, D = _c.table_args("EmbeddingOp", table, dtable)
        if length < 1:
            raise ValueError(f"EmbeddingOp expected length >= 1. Received: {length}")
        Op.__init__(self, length, length * D, dt, need_dx)
        self.rows, self.dim, self.length, self.name = V, D, length, name
        self.table, self.dtable = table, dtable
        self.mask_zero = bool(mask_zero)
        self.mask_steps = length if mask_zero else 0

    def forward(self, x, n, training):
        idx = x[:n].reshape(n, self.length)
        k = _first_bad(idx, self.rows)
        if k >= 0:
            raise _c.bad_index_error(self.name, idx, k, self.rows)
        _forward(idx, self.table, self.out[:n])
        if self.mask_zero:
            self.out_mask[:n] = idx != 0
        return self.out[:n]

    def backward(self, x, dy, n):
        _backward(x[:n], dy[:n], self.dtable)
        if self.need_dx:
            self.dx[:n] = 0
        return self.dx[:n] if self.need_dx else None

    def py_forward(self, x):
        """Forward of x (n, L); returns a copy of the (n, L*D) output."""
        x = self._py_arg(x)
        self.reserve(x.shape[0])
        return self.forward(x, x.shape[0], True).copy()

    def py_backward(self, x, dy):
        """Backward for input x (n, L) from dy (n, L*D); the table gradient goes into
        dtable. Returns a copy of dx (zeros) or None."""
        x = self._py_arg(x)
        dy = np.ascontiguousarray(dy, self.dtype).reshape(x.shape[0], self.out_size)
        dx = self.backward(x, dy, x.shape[0])
        return None if dx is None else dx.copy()

    def _py_arg(self, x):
        x = np.ascontiguousarray(x, self.dtype)
        return x.reshape(x.shape[0], self.in_size)
