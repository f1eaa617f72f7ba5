"""Validation and one-time casting of user arrays at the Python boundary.

Every check runs before anything touches the model, so bad input never changes
weights. Messages name the argument, what was expected and what was received.
"""

import math
import warnings

import numpy as np

from fastnn import backend as _backend


def as_float_array(a, name, dtype):
    """a as a C-contiguous array of the model dtype, cast once when needed."""
    if a is None:
        raise ValueError(f"expected {name} as an array. Received: None")
    if not isinstance(a, np.ndarray):
        try:
            a = np.asarray(a)
        except (ValueError, TypeError) as exc:
            raise TypeError(
                f"expected {name} as an array of numbers. Received: {type(a).__name__} "
                f"that NumPy cannot convert ({exc})"
            ) from None
    if a.dtype.kind not in "biuf":
        raise TypeError(
            f"expected {name} with a numeric or bool dtype. Received: {name}.dtype={a.dtype}"
        )
    if a.dtype != dtype or not a.flags.c_contiguous:
        with np.errstate(over="ignore"):  # values too large for dtype: check_finite says so
            a = np.ascontiguousarray(a, dtype=dtype)
    return a


def _shape_text(sample_shape):
    """'(n, 3)' for samples of shape (3,); '(n,)' for scalars."""
    return "(n" + "".join(f", {s}" for s in sample_shape) + ("," if not sample_shape else "") + ")"


def check_finite(a, name):
    """ValueError naming the first NaN or infinity of a (one C pass, no allocation)."""
    i = _backend.kernels("checks").first_nonfinite(a)
    if i >= 0:
        idx = tuple(int(j) for j in np.unravel_index(i, a.shape))
        raise ValueError(f"expected finite values in {name}. Received: {a[idx]} at index {idx}")


def check_labels(y, n_classes):
    """ValueError naming the first value of y that is not a class label in [0, n_classes)."""
    i = _backend.kernels("checks").first_bad_label(y, n_classes)
    if i >= 0:
        idx = tuple(int(j) for j in np.unravel_index(i, y.shape))
        raise ValueError(
            f"expected y of integer class labels in [0, {n_classes - 1}] (the model "
            f"has {n_classes} outputs). Received: y{list(idx)}={y[idx]:g}"
        )


def check_features(a, name, shape):
    """a has shape (n,) + shape."""
    if a.ndim != len(shape) + 1 or tuple(a.shape[1:]) != tuple(shape):
        want = "(n, " + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"expected {name} of shape {want}. Received: {name}.shape={a.shape}")


def check_lengths(**arrays):
    lengths = {k: len(v) for k, v in arrays.items() if v is not None}
    listed = ", ".join(f"len({k})={n}" for k, n in lengths.items())
    if len(set(lengths.values())) > 1:
        raise ValueError(f"expected arrays with the same number of samples. Received: {listed}")
    if 0 in lengths.values():
        raise ValueError(f"expected at least one sample. Received: {listed}")


def prepare_targets(y, dtype, out_shape, sparse, n_classes):
    """Targets as the flat float array the Net reads: (n,) + out_shape for dense
    targets, (n,) + out_shape[:-1] of integer labels for sparse ones."""
    y = as_float_array(y, "y", dtype)
    if sparse:
        want = tuple(out_shape[:-1])
        if y.ndim == len(want) + 2 and y.shape[1:] == want + (1,):
            y = y.reshape(y.shape[:-1])
        if y.ndim != len(want) + 1 or tuple(y.shape[1:]) != want:
            hint = ""
            if y.ndim == len(want) + 2 and y.shape[-1] == n_classes:
                hint = (
                    " (one-hot targets need loss='categorical_crossentropy'; or pass the "
                    "class indices, y.argmax(axis=-1))"
                )
            raise ValueError(
                f"expected y of integer class labels of shape {_shape_text(want)} "
                f"for a sparse categorical loss. Received: y.shape={y.shape}{hint}"
            )
        check_labels(y, n_classes)
        return y
    want = tuple(out_shape)
    if y.ndim == len(want) and want[-1] == 1 and tuple(y.shape[1:]) == want[:-1]:
        y = y.reshape(y.shape + (1,))
    if y.ndim != len(want) + 1 or tuple(y.shape[1:]) != want:
        hint = ""
        labels_like = y.ndim == len(want) or (y.ndim == len(want) + 1 and y.shape[-1] == 1)
        if want[-1] > 1 and labels_like and tuple(y.shape[1 : len(want)]) == want[:-1]:
            hint = (
                " (integer class labels need loss='sparse_categorical_crossentropy', or "
                "one-hot encode them with fastnn.preprocessing.to_categorical)"
            )
        raise ValueError(
            f"expected y of shape {_shape_text(want)} to match the model "
            f"output. Received: y.shape={y.shape}{hint}"
        )
    check_finite(y, "y")
    return y


def prepare_weights(sample_weight, class_weight, y_labels, n, dtype, steps):
    """Per-row weights (n * steps,) or None. class_weight maps class -> weight and
    is looked up from the integer labels (or argmax of one-hot / 0.5 threshold)."""
    w = None
    if sample_weight is not None:
        w = as_float_array(sample_weight, "sample_weight", dtype)
        if w.ndim != 1 or len(w) != n:
            raise ValueError(
                f"expected sample_weight of shape ({n},). Received: sample_weight.shape={w.shape}"
            )
        check_finite(w, "sample_weight")
        neg = np.flatnonzero(w < 0)
        if neg.size:
            raise ValueError(
                f"expected non-negative sample_weight values. Received: "
                f"sample_weight[{int(neg[0])}]={w[neg[0]]:g}"
            )
    if class_weight is not None:
        if not isinstance(class_weight, dict):
            raise TypeError(
                f"expected class_weight as a dict {{class: weight}}. Received: "
                f"{type(class_weight).__name__}"
            )
        for k, v in class_weight.items():
            if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 0:
                raise ValueError(
                    f"expected class_weight keys as non-negative int class "
                    f"indices. Received: key {k!r}"
                )
            if (
                isinstance(v, (bool, np.bool_))
                or not isinstance(v, (int, float, np.integer, np.floating))
                or not np.isfinite(v)
                or v < 0
            ):
                raise ValueError(
                    f"expected class_weight values as finite non-negative "
                    f"numbers. Received: class_weight[{k!r}]={v!r}"
                )
        labels = y_labels
        table = np.ones(max(int(k) for k in class_weight) + 1 if class_weight else 1)
        for k, v in class_weight.items():
            table[int(k)] = float(v)
        if labels.size and labels.max() >= len(table):
            table = np.concatenate([table, np.ones(int(labels.max()) + 1 - len(table))])
        cw = table[labels.astype(np.int64)].reshape(n, -1).mean(axis=1).astype(dtype)
        w = cw if w is None else (w * cw).astype(dtype)
    if w is not None and steps > 1:
        w = np.ascontiguousarray(np.repeat(w, steps))
    return w


# ---- a model's inputs (Sequential._prepare and friends) -------------------------------


def shape_fits(declared, shape):
    """Whether a sample shape fits a declared one (None entries match any size)."""
    return len(declared) == len(shape) and all(d is None or d == s for d, s in zip(declared, shape))


def input_shape_for(model, x):
    """The sample shape the model reads: its built or declared input shape, else
    (a model still to be built on its first data) the shape of x's samples."""
    declared = model.input_shape
    if declared is not None and None in declared:
        # a free dimension (input_shape=(None, F)): the data fixes it
        if x.ndim == len(declared) + 1 and shape_fits(declared, x.shape[1:]):
            return tuple(x.shape[1:])
        return tuple(declared)  # check_x then says what was expected
    if model.built:
        return tuple(model._layers[0].input_shape)
    if declared is not None:
        return tuple(declared)
    if x.ndim < 2:
        raise ValueError(
            f"Sequential expected x with a batch axis, shape (n, features...). "
            f"Received: x.shape={x.shape}"
        )
    return tuple(x.shape[1:])


def output_shape_for(model, input_shape):
    if model.built:
        return tuple(model.layers[-1].output_shape)
    return model._layer_shapes(input_shape)[-1][2]


def _check_binary_targets(loss, y):
    # binary cross-entropy reads targets as probabilities: others train without an error
    # (in Keras too) on a loss that is no cross-entropy and can go negative; say so
    from fastnn.losses import BinaryCrossentropy

    if isinstance(loss, BinaryCrossentropy) and y.size:
        lo, hi = float(y.min()), float(y.max())
        if lo < 0 or hi > 1:
            warnings.warn(
                f"binary_crossentropy expected targets in [0, 1] (0/1 labels or "
                f"probabilities). Received: targets from {lo:g} to {hi:g}; for more than "
                "two classes use sparse_categorical_crossentropy",
                UserWarning,
                stacklevel=4,
            )


def prepare(model, x, y=None, sample_weight=None, class_weight=None, input_shape=None):
    """Validated arrays (x, y, w) of the model dtype: x checked against the input
    shape (input_shape, else the model's), y against the output shape, the weights
    per output row. Checks only: neither builds nor changes the model."""
    x = as_float_array(x, "x", model.dtype)
    shape = input_shape if input_shape is not None else input_shape_for(model, x)
    check_x(model, x, shape)
    if y is None:
        return x, None, None
    out_shape = output_shape_for(model, shape)
    sparse = model._targets_sparse()
    y = prepare_targets(y, model.dtype, out_shape, sparse, out_shape[-1])
    check_lengths(x=x, y=y)
    _check_binary_targets(model.loss, y)
    steps = math.prod(out_shape[:-1]) if len(out_shape) > 1 else 1
    labels = None
    if class_weight is not None:
        labels = y if sparse else (y.argmax(-1) if out_shape[-1] > 1 else (y > 0.5))
    w = prepare_weights(sample_weight, class_weight, labels, len(x), model.dtype, steps)
    return x, y, w


def check_x(model, x, shape):
    """x has the model's sample shape (the batch axis first) and finite values."""
    shape = tuple(shape)
    if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != shape:
        first = type(model.layers[0]).__name__ if model.layers else "Sequential"
        if x.ndim == len(shape) + 1 and x.shape[1:-1] == shape[:-1]:
            raise ValueError(
                f"{first} expected input with last dimension {shape[-1]}. "
                f"Received: x.shape={x.shape}"
            )
        want = "(n, " + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise ValueError(
            f"{first} expected input of shape {want}: {len(shape) + 1} "
            f"dimensions, the batch axis first. Received: x.shape={x.shape}"
        )
    check_finite(x, "x")


def fast_ok(model, x, y):
    """x and y are C-contiguous arrays of the model dtype with the exact shapes
    the Net reads (y may also hold integer class labels for a sparse loss)."""
    return (
        type(x) is np.ndarray
        and type(y) is np.ndarray
        and x.dtype == model.dtype
        and (y.dtype == model.dtype or (model._sparse and y.dtype.kind in "iu"))
        and x.flags.c_contiguous
        and y.flags.c_contiguous
        and x.shape[1:] == model._x_shape
        and y.shape[1:] == model._y_shape
        and len(x) == len(y)
        and len(x) > 0
    )


def labels_as_floats(model, y):
    """Integer labels copied into a float buffer of the model dtype (what the Net
    reads), kept for the next call: a steady-state step allocates no array. Exact
    below 2**24; a label beyond that still rounds to a value >= the class count,
    which check_labels rejects."""
    buf = model._label_buf
    if buf is None or len(buf) < len(y) or buf.dtype != model.dtype or buf.shape[1:] != y.shape[1:]:
        buf = model._label_buf = np.empty(y.shape, model.dtype)
    out = buf[: len(y)]
    np.copyto(out, y, casting="unsafe")
    return out


def checked_weights(targets, weights, dtype):
    """The given arrays cast to `dtype`, after checking them against the weight views
    `targets` (count, shapes, numbers, finiteness): Sequential.set_weights and
    Layer.set_weights check everything before they write anything."""
    if isinstance(weights, np.ndarray) or not hasattr(weights, "__iter__"):
        raise TypeError(
            f"set_weights expected a list of {len(targets)} arrays (as returned "
            f"by get_weights()). Received: {type(weights).__name__}"
        )
    weights = list(weights)
    if len(weights) != len(targets):
        raise ValueError(
            f"set_weights expected a list of {len(targets)} arrays. Received: {len(weights)}"
        )
    arrays = []
    for i, (t, w) in enumerate(zip(targets, weights)):
        try:
            a = np.asarray(w)
        except (ValueError, TypeError):
            raise TypeError(
                f"set_weights expected weights[{i}] as an array of numbers. "
                f"Received: {type(w).__name__} that NumPy cannot convert"
            ) from None
        if a.shape != t.shape:
            raise ValueError(
                f"set_weights expected weights[{i}] of shape {t.shape}. "
                f"Received: weights[{i}].shape={a.shape}"
            )
        if a.dtype.kind not in "biuf":
            raise TypeError(
                f"set_weights expected weights[{i}] of a real number dtype. "
                f"Received: weights[{i}].dtype={a.dtype}"
            )
        with np.errstate(over="ignore"):  # reported below as non-finite
            a = a.astype(dtype)
        bad = np.flatnonzero(~np.isfinite(a))
        if bad.size:
            idx = tuple(int(j) for j in np.unravel_index(bad[0], a.shape))
            raise ValueError(
                f"set_weights expected finite values in weights[{i}] (in the "
                f"model dtype {dtype}). Received: {a[idx]} at index {idx}"
            )
        arrays.append(a)
    return arrays
