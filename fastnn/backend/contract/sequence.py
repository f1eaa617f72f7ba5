"""Argument checks of the sequence kernels (RepeatVector, global pooling), shared by
fastnn/backend/compiled/sequence.pyx and its NumPy twin fastnn/backend/reference/sequence.py
so both raise the same errors."""

import numpy as np

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


# ---- masks (Keras masking) ------------------------------------------------------------
# A mask is a batch-first (n, steps) array of bytes, 0 = a masked step. An op that makes
# one (Embedding(mask_zero=True), Masking) writes it in its forward; the ops that read it
# (recurrent layers, average pooling) find it through their mask_src, or, called
# directly, through set_input_mask.


def as_mask(mask):
    """The (n, steps) uint8 C-ordered copy a mask is kept as (None stays None)."""
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"expected a mask of shape (n, steps). Received: shape {m.shape}")
    if m.dtype != np.bool_ and not np.issubdtype(m.dtype, np.number):
        raise TypeError(f"expected a boolean or numeric mask. Received: dtype {m.dtype}")
    return np.ascontiguousarray(m != 0, dtype=np.uint8)


def mask_error(op, got_steps, steps):
    """The error when the mask an op is wired to does not fit its input."""
    return ValueError(
        f"{type(op).__name__} expected an input mask of {steps} steps. Received: a mask of "
        f"{got_steps} steps"
    )


def pool_mask(func, mask, kind, n, steps):
    """The uint8 mask a pooling (or masking backward) call reads, checked against its
    input's n and steps; None for none or for "max" pooling (Keras' ignores masks)."""
    m = as_mask(mask)
    if m is None or kind == "max":
        return None
    if m.shape != (n, steps):
        raise ValueError(f"{func} expected a mask of shape ({n}, {steps}). Received: {m.shape}")
    return m


def masking_args(func, x, mask_value):
    """x (n, steps, f) float, C-contiguous; returns (dtype, mask_value as a float)."""
    dt = same_float_dtype(func, x=x)
    shape(func, "x", x, (None, None, None))
    c_contiguous(func, x=x)
    try:
        value = float(mask_value)
    except (TypeError, ValueError):
        msg = f"{func} expected mask_value as a number. Received: {mask_value!r}"
        raise TypeError(msg) from None
    return dt, value


def _per_sample(op, a, size, name):
    a = np.asarray(a)
    if a.ndim < 1 or int(np.prod(a.shape[1:])) != size:
        raise ValueError(
            f"{type(op).__name__} expected {size} values per sample. "
            f"Received: {name}.shape={a.shape}"
        )
    return np.ascontiguousarray(a, op.dtype).reshape(len(a), size)


def op_input(op, x):
    """py_forward's input: (n, in_size) C-contiguous in the op's dtype."""
    return _per_sample(op, x, op.in_size, "x")


def op_grad(op, dy):
    """py_backward's dy: (n, out_size) C-contiguous in the op's dtype."""
    return _per_sample(op, dy, op.out_size, "dy")
