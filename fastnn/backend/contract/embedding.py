"""Argument checks and errors of the embedding kernels, shared by
fastnn/backend/compiled/embedding.pyx and its NumPy twin fastnn/backend/reference/embedding.py
so both raise the same errors."""

import numpy as np

from fastnn.backend.contract.args import c_contiguous, same_float_dtype, shape

# float32 holds every integer below 2**24 exactly: a larger float32 vocabulary would
# read some indices as their neighbours
FLOAT32_MAX_ROWS = 2**24


def table_args(func, table, dtable=None):
    """A (V, D) table (and its gradient of the same shape); returns (dtype, V, D)."""
    dt = same_float_dtype(func, table=table, dtable=dtable)
    shape(func, "table", table, (None, None))
    V, D = table.shape
    if V < 1 or D < 1:
        raise ValueError(
            f"{func} expected a table (V, D) with V, D >= 1. Received: table.shape={table.shape}"
        )
    if dt == np.float32 and V > FLOAT32_MAX_ROWS:
        raise ValueError(
            f"{func} expected at most 2**24 rows in a float32 table (indices travel as "
            f"float32 values, exact only up to 2**24). Received: {V} rows; use float64"
        )
    if dtable is not None:
        shape(func, "dtable", dtable, (V, D))
    c_contiguous(func, table=table, dtable=dtable)
    return dt, V, D


def index_array(func, idx, dtype):
    """Indices given to a function-level call: any real array, as a C-contiguous array of
    the table's dtype (the kernels read them as floating values)."""
    idx = np.asarray(idx)
    if idx.dtype.kind not in "biuf":
        raise TypeError(f"{func} expected integer indices. Received: dtype {idx.dtype}")
    return np.ascontiguousarray(idx, dtype=dtype)


def bad_index_error(func, idx, k, rows):
    """The error for the k-th (flat position) index of idx, which is not a row."""
    v = float(np.asarray(idx).reshape(-1)[k])
    value = str(int(v)) if v.is_integer() else repr(v)
    pos = tuple(int(i) for i in np.unravel_index(k, np.shape(idx))) if np.ndim(idx) else ()
    return ValueError(
        f"{func} expected indices in [0, {rows}) (input_dim={rows}). Received: "
        f"{value} at position {pos}; nothing was updated"
    )
