"""Argument checks of the sequence kernels (RepeatVector, global pooling), shared by
fastnn/backend/compiled/sequence.pyx and its NumPy twin fastnn/backend/reference/sequence.py
so both raise the same errors."""

from fastnn.backend.contract.args import c_contiguous, integer, same_float_dtype, shape

POOLS = ("avg", "max")
DATA_FORMATS = ("channels_last", "channels_first")


def repeat_args(func, x, reps):
    """x (n, f) and a positive repeat count; returns the dtype."""
    dt = same_float_dtype(func, x=x)
    shape(func, "x", x, (None, None))
    integer(func, "n", reps, minimum=1)
    c_contiguous(func, x=x)
    return dt


def pool_args(func, x, kind, data_format):
    """x (n, steps, feats) (channels_last) or (n, feats, steps) (channels_first); returns
    (dtype, steps, feats, s_step, s_feat): where element (t, f) of a sample sits."""
    dt = same_float_dtype(func, x=x)
    shape(func, "x", x, (None, None, None))
    if kind not in POOLS:
        raise ValueError(f"{func} expected kind in {POOLS}. Received: {kind!r}")
    c_contiguous(func, x=x)
    return (dt, *layout(func, x.shape[1:], data_format))


def layout(func, sample_shape, data_format):
    """(steps, feats, s_step, s_feat) of a (steps, feats) or (feats, steps) sample."""
    if data_format not in DATA_FORMATS:
        raise ValueError(
            f"{func} expected data_format in {DATA_FORMATS}. Received: {data_format!r}"
        )
    a, b = sample_shape
    if a < 1 or b < 1:
        raise ValueError(
            f"{func} expected at least one step and one feature. Received: {sample_shape}"
        )
    if data_format == "channels_last":
        return a, b, b, 1
    return b, a, 1, b
