"""Argument checks of the Bidirectional merge and op, shared by
fastnn/backend/compiled/bidirectional.pyx and its NumPy twin
fastnn/backend/reference/bidirectional.py so both raise the same errors."""

from fastnn.backend.contract.args import c_contiguous, same_float_dtype, shape
from fastnn.backend.contract.sequence import op_grad as op_grad_rows
from fastnn.backend.contract.sequence import op_input  # noqa: F401  (re-exported)

# the merge modes of Keras' Bidirectional with a single output, as the C kernels number them
MERGE_MODES = {"concat": 0, "sum": 1, "mul": 2, "ave": 3}


def merge_mode(func, mode):
    """The kernels' number of a merge mode name."""
    if mode not in MERGE_MODES:
        raise ValueError(f"{func} expected merge_mode in {sorted(MERGE_MODES)}. Received: {mode!r}")
    return MERGE_MODES[mode]


def merge_args(func, yf, yb, mode, dy=None):
    """yf, yb (n, steps, h) of one dtype (dy: the merged output's shape); returns
    (dtype, kernel mode, merged width)."""
    code = merge_mode(func, mode)
    arrays = {"yf": yf, "yb": yb} if dy is None else {"yf": yf, "yb": yb, "dy": dy}
    dt = same_float_dtype(func, **arrays)
    shape(func, "yf", yf, (None, None, None))
    shape(func, "yb", yb, yf.shape)
    width = 2 * yf.shape[2] if mode == "concat" else yf.shape[2]
    if dy is not None:
        shape(func, "dy", dy, yf.shape[:2] + (width,))
    c_contiguous(func, **arrays)
    return dt, code, width


def op_args(func, fwd, bwd, mode):
    """The two directions' ops must agree on everything but their direction; returns
    (kernel mode, units, steps of the output: T with return_sequences, else 1)."""
    code = merge_mode(func, mode)
    same = ("timesteps", "features", "units", "return_sequences", "dtype", "need_dx", "kind")
    for a in same:
        if getattr(fwd, a) != getattr(bwd, a):
            raise ValueError(
                f"{func} expected the two directions' ops to have the same {a}. Received: "
                f"{getattr(fwd, a)!r} (forward) and {getattr(bwd, a)!r} (backward)"
            )
    if fwd.go_backwards == bwd.go_backwards:
        raise ValueError(
            f"{func} expected ops of opposite go_backwards. Received: {fwd.go_backwards} for both"
        )
    steps = fwd.timesteps if fwd.return_sequences else 1
    return code, fwd.units, steps


def op_grad(op, dy, n):
    """py_backward's dy: (n, out_size) for the last forward's n rows."""
    dy = op_grad_rows(op, dy)
    if dy.shape[0] != n:
        raise ValueError(
            f"{type(op).__name__} expected dy for the last forward's {n} rows. "
            f"Received: {dy.shape[0]} rows"
        )
    return dy
