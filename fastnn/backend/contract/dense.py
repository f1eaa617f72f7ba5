"""Argument checks of the dense kernels, shared by fastnn/backend/compiled/dense.pyx and its
NumPy twin fastnn/backend/reference/dense.py so both raise the same errors."""

from fastnn.backend.contract.args import c_contiguous, same_float_dtype, shape


def dense_args(func, x, W, b, activation, activations):
    """Checks of the dense kernels' arguments; returns their common dtype."""
    dt = same_float_dtype(func, x=x, W=W, b=b)
    shape(func, "W", W, (None, None))
    shape(func, "x", x, (None, W.shape[0]))
    if b is not None:
        shape(func, "b", b, (W.shape[1],))
    if activation not in activations:
        raise ValueError(
            f"{func} got unknown activation {activation!r}; known: {sorted(activations)}"
        )
    c_contiguous(func, x=x, W=W, b=b)
    return dt
