"""Losses and metrics, compiled: thin checks around csrc/kernels/losses.c.

Twin: fastnn/backend/reference/losses.py (same names, signatures, return values and
checks). All arithmetic is done in double whatever the input dtype (the C widens
every load); gradients and probabilities are rounded to the input dtype when
stored.

Reduction is Keras' "sum_over_batch_size": value = sum_i w_i * loss_i / n.
"""
import numpy as np

cimport numpy as cnp
from libc.math cimport floor

from fastnn.backend.compiled._csrc cimport (
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

# Argument checks and constants: one copy, shared with the NumPy twin.
from fastnn.backend.contract.losses import EPSILON  # no-cython-lint (re-exported)
from fastnn.backend.contract.losses import _bad_label, _check_loss_args, _check_metric_args

cnp.import_array()

# name -> value of enum fastnn_loss / enum fastnn_metric in csrc/include/fastnn_kernels.h
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
        raise _bad_label(fname, d, i, y_true.reshape(-1)[i])


cdef inline void *_data(object a):
    """Data pointer of a checked ndarray, or NULL for None."""
    if a is None:
        return NULL
    return cnp.PyArray_DATA(<cnp.ndarray>a)


cdef double _run(bint loss, int code, y_pred, y_true, sample_weight, grad, probs,
                 Py_ssize_t n, Py_ssize_t d, Py_ssize_t td):
    """One call of the C loss (loss=True) or metric kernel on checked arrays, in their
    dtype; td: y_true values per row of the metric kernel."""
    cdef const void *y = _data(y_pred)
    cdef const void *t = _data(y_true)
    cdef const void *w = _data(sample_weight)
    cdef void *g = _data(grad)
    cdef void *p = _data(probs)
    cdef bint f32 = y_pred.dtype == np.float32
    cdef double value
    with nogil:
        if loss and f32:
            value = loss_f32(code, <const float *>y, <const float *>t, <const float *>w,
                             <float *>g, <float *>p, n, d)
        elif loss:
            value = loss_f64(code, <const double *>y, <const double *>t, <const double *>w,
                             <double *>g, <double *>p, n, d)
        elif f32:
            value = metric_f32(code, <const float *>y, <const float *>t, <const float *>w,
                               n, d, td)
        else:
            value = metric_f64(code, <const double *>y, <const double *>t, <const double *>w,
                               n, d, td)
    return value


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
    code, sparse, n, d = _check_loss_args(LOSS_KINDS, kind, y_pred, y_true, sample_weight,
                                          grad, probs)
    if sparse:
        _check_labels("loss_value_and_grad", y_true, d)
    return _run(True, code, y_pred, y_true, sample_weight, grad, probs, n, d, d)


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
    code, sparse, n, d = _check_metric_args(METRIC_KINDS, kind, y_pred, y_true, sample_weight)
    return _run(False, code, y_pred, y_true, sample_weight, None, None, n, d, 1 if sparse else d)
