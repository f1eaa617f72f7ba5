"""Argument validators shared by the compiled kernels' wrappers and their NumPy twins
(the module-specific checks built on them: contract/dense.py, network.py, recurrent.py).

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
