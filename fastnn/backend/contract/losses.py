"""Argument checks and constants of the loss and metric kernels.

Shared by the compiled module (fastnn/backend/compiled/losses.pyx) and its NumPy twin
(fastnn/backend/reference/losses.py) so the checks and messages are identical. The kind
tables (LOSS_KINDS, METRIC_KINDS) stay in each twin: the compiled one takes its
values from the C enums. Plain Python: importing it never loads compiled code.
"""

import numpy as np

EPSILON = 1e-7  # Keras' backend.epsilon(): probabilities are clipped to [EPSILON, 1 - EPSILON]

_SPARSE_LOSSES = ("sparse_cce", "sparse_cce_logits")


def _kind_code(kind, table, what):
    if isinstance(kind, str) and kind in table:
        return table[kind]
    raise ValueError(f"Unknown {what} kind {kind!r}. Known kinds: {', '.join(table)}")


def _validate(fname, y_pred, y_true, sparse, sample_weight, outputs):
    """Checks types, the common float dtype, shapes, layout; returns (n, d)."""
    named = [("y_pred", y_pred), ("y_true", y_true)]
    if sample_weight is not None:
        named.append(("sample_weight", sample_weight))
    named += [(name, a) for name, a in outputs if a is not None]
    for name, a in named:
        if not isinstance(a, np.ndarray):
            raise TypeError(
                f"{fname} expected a NumPy array for {name}. "
                f"Received: {name} of type {type(a).__name__}"
            )
    if len({a.dtype for _, a in named}) != 1 or y_pred.dtype not in (np.float32, np.float64):
        got = ", ".join(f"{name}.dtype={a.dtype}" for name, a in named)
        raise ValueError(
            f"{fname} expected arrays of one float dtype (float32 or float64). Received: {got}"
        )
    if y_pred.ndim != 2 or y_pred.shape[1] < 1:
        raise ValueError(
            f"{fname} expected y_pred with shape (n, d), d >= 1. "
            f"Received: y_pred.shape={y_pred.shape}"
        )
    n, d = y_pred.shape
    if sparse:
        if y_true.shape != (n,) and y_true.shape != (n, 1):
            raise ValueError(
                f"{fname} expected y_true (class labels) with shape ({n},) or ({n}, 1). "
                f"Received: y_true.shape={y_true.shape}"
            )
    elif y_true.shape != (n, d):
        raise ValueError(
            f"{fname} expected y_true with shape {(n, d)} (that of y_pred). "
            f"Received: y_true.shape={y_true.shape}"
        )
    if sample_weight is not None and sample_weight.shape != (n,):
        raise ValueError(
            f"{fname} expected sample_weight with shape ({n},). "
            f"Received: sample_weight.shape={sample_weight.shape}"
        )
    for name, a in outputs:
        if a is not None and a.shape != (n, d):
            raise ValueError(
                f"{fname} expected {name} with shape {(n, d)} (that of y_pred). "
                f"Received: {name}.shape={a.shape}"
            )
    for name, a in named:
        if not (a.flags.c_contiguous and a.flags.aligned):
            raise ValueError(
                f"{fname} expected C-contiguous aligned arrays. "
                f"Received: {name} with strides {a.strides}"
            )
    written = [(name, a) for name, a in outputs if a is not None]
    for name, a in written:
        if not a.flags.writeable:
            raise ValueError(f"{fname} expected a writeable {name}. Received: a read-only {name}")
    if len(written) == 2 and np.may_share_memory(written[0][1], written[1][1]):
        raise ValueError(
            f"{fname} expected grad and probs not to overlap. Received: overlapping arrays"
        )
    return n, d


def _check_loss_args(table, kind, y_pred, y_true, sample_weight, grad, probs):
    """Checks of loss_value_and_grad() (kind against `table`, the twin's LOSS_KINDS)
    except the sparse labels' values; returns (code, sparse, n, d)."""
    code = _kind_code(kind, table, "loss")
    sparse = kind in _SPARSE_LOSSES
    n, d = _validate(
        "loss_value_and_grad",
        y_pred,
        y_true,
        sparse,
        sample_weight,
        (("grad", grad), ("probs", probs)),
    )
    return code, sparse, n, d


def _check_metric_args(table, kind, y_pred, y_true, sample_weight):
    """Checks of metric_sum() (kind against `table`, the twin's METRIC_KINDS);
    returns (code, sparse, n, d)."""
    code = _kind_code(kind, table, "metric")
    sparse = kind == "sparse_categorical_accuracy"
    n, d = _validate("metric_sum", y_pred, y_true, sparse, sample_weight, ())
    return code, sparse, n, d


def _bad_label(fname, d, i, value):
    """The error for y_true[i] = value, not an integer class label in [0, d)."""
    return ValueError(
        f"{fname} expected y_true class labels as integers in [0, {d}). "
        f"Received: y_true[{i}]={float(value)}"
    )
