"""Argument checks shared by the compiled kernels' wrappers and their NumPy twins.

Kernels never validate inside nogil code; their Python entry points call these.
Messages say what was expected and what was received.
"""
import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def same_float_dtype(func, **arrays):
    """Return the one float dtype shared by all non-None arrays, or raise ValueError
    naming every dtype."""
    given = {k: v for k, v in arrays.items() if v is not None}
    dtypes = {k: np.asarray(v).dtype for k, v in given.items()}
    first = next(iter(dtypes.values()))
    if first not in FLOAT_DTYPES or any(d != first for d in dtypes.values()):
        listed = ", ".join(f"{k}.dtype={d}" for k, d in dtypes.items())
        raise ValueError(f"{func} expected arrays of one dtype, float32 or float64. "
                         f"Received: {listed}")
    return first


def shape(func, name, arr, expected):
    """Check arr.shape against expected (None entries match anything)."""
    got = np.shape(arr)
    if len(got) != len(expected) or any(e is not None and e != g for e, g in zip(expected, got)):
        want = "(" + ", ".join("?" if e is None else str(e) for e in expected) + ("," if len(expected) == 1 else "") + ")"
        raise ValueError(f"{func} expected {name} of shape {want}. Received: {name}.shape={got}")


def c_contiguous(func, **arrays):
    for k, v in arrays.items():
        if v is not None and not v.flags.c_contiguous:
            raise ValueError(f"{func} expected C-contiguous {k}. Received: a strided array "
                             f"with strides {v.strides}")


def dense_args(func, x, W, b, activation, activations):
    """Checks of the dense kernels' arguments; returns their common dtype."""
    dt = same_float_dtype(func, x=x, W=W, b=b)
    shape(func, "W", W, (None, None))
    shape(func, "x", x, (None, W.shape[0]))
    if b is not None:
        shape(func, "b", b, (W.shape[1],))
    if activation not in activations:
        raise ValueError(f"{func} got unknown activation {activation!r}; known: {sorted(activations)}")
    c_contiguous(func, x=x, W=W, b=b)
    return dt


def net_args(ops, metrics, dtype, max_metrics):
    """Checks of a Net's ops and metrics (both backends)."""
    if not ops:
        raise ValueError("Net expected at least one op. Received: ops=[]")
    if len(metrics) > max_metrics:
        raise ValueError(f"Net expected at most {max_metrics} metrics. Received: {len(metrics)}")
    for op in ops:
        if op.dtype != dtype:
            raise ValueError(f"Net expected ops of dtype {dtype}. Received: {op.dtype}")
    for a, b in zip(ops[:-1], ops[1:]):
        if a.out_size != b.in_size:
            raise ValueError(f"Net expected each op's input size to match the previous "
                             f"output size. Received: {a.out_size} -> {b.in_size}")
