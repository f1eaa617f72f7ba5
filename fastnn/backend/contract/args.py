"""Argument validators shared by the compiled kernels' wrappers and their NumPy twins
(the module-specific checks built on them: contract/dense.py, network.py, recurrent.py).

Kernels never validate inside nogil code; their Python entry points call these.
Messages say what was expected and what was received.
"""

import math
import numbers

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
        raise ValueError(
            f"{func} expected arrays of one dtype, float32 or float64. Received: {listed}"
        )
    return first


def shape(func, name, arr, expected):
    """Check arr.shape against expected (None entries match anything)."""
    got = np.shape(arr)
    if len(got) != len(expected) or any(e is not None and e != g for e, g in zip(expected, got)):
        want = (
            "("
            + ", ".join("?" if e is None else str(e) for e in expected)
            + ("," if len(expected) == 1 else "")
            + ")"
        )
        raise ValueError(f"{func} expected {name} of shape {want}. Received: {name}.shape={got}")


def c_contiguous(func, **arrays):
    for k, v in arrays.items():
        if v is not None and not v.flags.c_contiguous:
            raise ValueError(
                f"{func} expected C-contiguous {k}. Received: a strided array "
                f"with strides {v.strides}"
            )


# ---- numbers: the one home of fastnn's scalar validators ------------------------------
# Used by the kernels' contracts and by the API above them (model, optimizers, callbacks,
# datasets), so every "expected ... Received: ..." about a number reads the same.


def integer(owner, name, value, minimum=0):
    """value as an int >= minimum; bools and floats are not integers here. owner (or
    None) names the function or class in the message."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Integral)
        or value < minimum
    ):
        what = {0: "a non-negative int", 1: "a positive int"}.get(
            minimum, f"an integer >= {minimum}"
        )
        prefix = f"{owner} " if owner else ""
        raise ValueError(f"{prefix}expected {name} as {what}. Received: {name}={value!r}")
    return int(value)


def real(
    owner, name, value, low=None, low_open=False, high=None, high_open=False, allow_none=False
):
    """value as a finite float within the given bounds (None when allow_none and value is
    None); bools are not real numbers here."""
    if value is None and allow_none:
        return None
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
    ):
        raise ValueError(
            f"{owner} expected {name} as a finite real number. Received: {name}={value!r}"
        )
    value = float(value)
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(
            f"{owner} expected {name} {'>' if low_open else '>='} {low}. Received: {name}={value!r}"
        )
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(
            f"{owner} expected {name} {'<' if high_open else '<='} {high}. "
            f"Received: {name}={value!r}"
        )
    return value
