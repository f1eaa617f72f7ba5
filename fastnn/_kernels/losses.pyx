"""Losses and metrics, compiled: thin checks around csrc/losses.c.

Twin: fastnn/reference/losses.py (same names, signatures, return values and
checks). All arithmetic is done in double whatever the input dtype (the C widens
every load); gradients and probabilities are rounded to the input dtype when
stored.

Reduction is Keras' "sum_over_batch_size": value = sum_i w_i * loss_i / n.
"""
import numpy as np

cimport numpy as cnp
from libc.math cimport floor

from fastnn._kernels._csrc cimport (
    FASTNN_LOSS_BCE,
    FASTNN_LOSS_BCE_LOGITS,
    FASTNN_LOSS_CCE,
    FASTNN_LOSS_CCE_LOGITS,
    FASTNN_LOSS_MAE,
    FASTNN_LOSS_MSE,
    FASTNN_LOSS_SPARSE_CCE,
    FASTNN_LOSS_SPARSE_CCE_LOGITS,
    FASTNN_METRIC_BINARY_ACCURACY,
    FASTNN_METRIC_CATEGORICAL_ACCURACY,
    FASTNN_METRIC_MAE,
    FASTNN_METRIC_MSE,
    FASTNN_METRIC_SPARSE_ACCURACY,
    loss_f32,
    loss_f64,
    metric_f32,
    metric_f64,
)

cnp.import_array()

# name -> value of enum fastnn_loss / enum fastnn_metric in csrc/fastnn_kernels.h
LOSS_KINDS = {
    "mse": FASTNN_LOSS_MSE,
    "mae": FASTNN_LOSS_MAE,
    "bce": FASTNN_LOSS_BCE,
    "bce_logits": FASTNN_LOSS_BCE_LOGITS,
    "cce": FASTNN_LOSS_CCE,
    "cce_logits": FASTNN_LOSS_CCE_LOGITS,
    "sparse_cce": FASTNN_LOSS_SPARSE_CCE,
    "sparse_cce_logits": FASTNN_LOSS_SPARSE_CCE_LOGITS,
}
METRIC_KINDS = {
    "binary_accuracy": FASTNN_METRIC_BINARY_ACCURACY,
    "categorical_accuracy": FASTNN_METRIC_CATEGORICAL_ACCURACY,
    "sparse_categorical_accuracy": FASTNN_METRIC_SPARSE_ACCURACY,
    "mse": FASTNN_METRIC_MSE,
    "mae": FASTNN_METRIC_MAE,
}

EPSILON = 1e-7  # Keras' backend.epsilon(): probabilities are clipped to [EPSILON, 1 - EPSILON]

_SPARSE_LOSSES = ("sparse_cce", "sparse_cce_logits")


# ---------------------------------------------------------------------------
# argument checks (identical in the reference twin)


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
        raise ValueError(f"{fname} expected grad and probs not to overlap. Received: overlapping arrays")
    return n, d


ctypedef fused real:
    float
    double


cdef Py_ssize_t _first_bad_label(const real *t, Py_ssize_t n, Py_ssize_t d) noexcept nogil:
    """Index of the first label that is not an integer in [0, d), or -1."""
    cdef Py_ssize_t i
    cdef double v
    for i in range(n):
        v = t[i]
        if not (v >= 0 and v < d and v == floor(v)):
            return i
    return -1


def _check_labels(fname, y_true, d):
    """Sparse targets must be integer class labels in [0, d)."""
    cdef cnp.ndarray t = y_true
    cdef Py_ssize_t n = t.size, i
    if t.dtype == np.float32:
        i = _first_bad_label[float](<const float *>cnp.PyArray_DATA(<cnp.ndarray>t), n, d)
    else:
        i = _first_bad_label[double](<const double *>cnp.PyArray_DATA(<cnp.ndarray>t), n, d)
    if i >= 0:
        raise ValueError(
            f"{fname} expected y_true class labels as integers in [0, {d}). "
            f"Received: y_true[{i}]={float(y_true.reshape(-1)[i])}"
        )


cdef inline void *_data(object a):
    """Data pointer of a checked ndarray, or NULL for None."""
    if a is None:
        return NULL
    return cnp.PyArray_DATA(<cnp.ndarray>a)


# ---------------------------------------------------------------------------


def loss_value_and_grad(kind, y_pred, y_true, sample_weight=None, grad=None, probs=None):
    """Loss value (Keras "sum_over_batch_size" mean) and, optionally, its gradient.

    kind: a key of LOSS_KINDS. "mse", "mae", "bce" (mean over the d outputs),
        "cce" (sum over the d classes) read probabilities and clip them like Keras
        (epsilon 1e-7; "cce" first divides each row by its sum); the "*_logits"
        kinds read logits and are exact (log-sum-exp / stable softplus).
        "sparse_*" kinds read integer class labels (stored as floats) as y_true.
    y_pred: (n, d) predictions (probabilities or logits, see kind).
    y_true: (n, d) targets; (n,) or (n, 1) class labels for the sparse kinds.
    sample_weight: optional (n,) weights w_i: value = sum_i w_i loss_i / n.
    grad: optional (n, d) output, receives d value / d y_pred (logits for the
        "*_logits" kinds).
    probs: optional (n, d) output, receives the sigmoid or softmax of the logits
        for the "*_logits" kinds; left untouched by the other kinds.
    All arrays are C-contiguous and share one dtype, float32 or float64.
    Returns the loss value as a Python float (computed in double).
    """
    cdef int code = _kind_code(kind, LOSS_KINDS, "loss")
    sparse = kind in _SPARSE_LOSSES
    n, d = _validate(
        "loss_value_and_grad", y_pred, y_true, sparse, sample_weight,
        (("grad", grad), ("probs", probs)),
    )
    if sparse:
        _check_labels("loss_value_and_grad", y_true, d)
    cdef Py_ssize_t cn = n, cd = d
    cdef void *y = _data(y_pred)
    cdef void *t = _data(y_true)
    cdef void *w = _data(sample_weight)
    cdef void *g = _data(grad)
    cdef void *p = _data(probs)
    cdef double value
    if y_pred.dtype == np.float32:
        with nogil:
            value = loss_f32(code, <const float *>y, <const float *>t, <const float *>w,
                             <float *>g, <float *>p, cn, cd)
    else:
        with nogil:
            value = loss_f64(code, <const double *>y, <const double *>t, <const double *>w,
                             <double *>g, <double *>p, cn, cd)
    return value


def metric_sum(kind, y_pred, y_true, sample_weight=None):
    """Weighted SUM over samples of a per-sample metric (the caller divides).

    kind: a key of METRIC_KINDS.
      "binary_accuracy": mean over d of (y_pred > 0.5) == (y_true > 0.5);
      "categorical_accuracy": argmax y_pred == argmax y_true (first maximum wins);
      "sparse_categorical_accuracy": argmax y_pred == label, and when d == 1,
        (y_pred > 0.5) == label;
      "mse", "mae": mean over d of the squared / absolute error.
    y_pred: (n, d). y_true: (n, d); (n,) or (n, 1) labels for the sparse kind.
    sample_weight: optional (n,) weights. Returns sum_i w_i m_i as a Python float.
    All arrays are C-contiguous and share one dtype, float32 or float64.
    """
    cdef int code = _kind_code(kind, METRIC_KINDS, "metric")
    sparse = kind == "sparse_categorical_accuracy"
    n, d = _validate("metric_sum", y_pred, y_true, sparse, sample_weight, ())
    cdef Py_ssize_t cn = n, cd = d, td = 1 if sparse else d
    cdef void *y = _data(y_pred)
    cdef void *t = _data(y_true)
    cdef void *w = _data(sample_weight)
    cdef double value
    if y_pred.dtype == np.float32:
        with nogil:
            value = metric_f32(code, <const float *>y, <const float *>t, <const float *>w,
                               cn, cd, td)
    else:
        with nogil:
            value = metric_f64(code, <const double *>y, <const double *>t, <const double *>w,
                               cn, cd, td)
    return value
