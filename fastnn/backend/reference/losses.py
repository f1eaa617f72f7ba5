"""Losses and metrics in plain NumPy: the twin of fastnn/backend/compiled/losses.pyx.

Same function names, signatures, return values and checks as the compiled module
(which calls csrc/kernels/losses.c); the step comments carry the same formulas. All
arithmetic is done in float64 whatever the input dtype (as the C widens every
load to double); gradients and probabilities are rounded to the input dtype when
stored. Never imports compiled code.

Reduction is Keras' "sum_over_batch_size": value = sum_i w_i * loss_i / n.
"""

import numpy as np

# Argument checks and constants: one copy, shared with the compiled module.
from fastnn.backend.contract.losses import (  # noqa: F401  (EPSILON: re-exported)
    EPSILON,
    _bad_label,
    _check_loss_args,
    _check_metric_args,
)

# name -> value of enum fastnn_loss / enum fastnn_metric in csrc/include/fastnn_kernels.h
LOSS_KINDS = {
    "mse": 0,
    "mae": 1,
    "bce": 2,
    "bce_logits": 3,
    "cce": 4,
    "cce_logits": 5,
    "sparse_cce": 6,
    "sparse_cce_logits": 7,
}
METRIC_KINDS = {
    "binary_accuracy": 0,
    "categorical_accuracy": 1,
    "sparse_categorical_accuracy": 2,
    "mse": 3,
    "mae": 4,
}


def _check_labels(fname, y_true, d):
    """Sparse targets must be integer class labels in [0, d)."""
    t = y_true.reshape(-1)
    bad = np.flatnonzero(~((t >= 0) & (t < d) & (t == np.floor(t))))
    if bad.size:
        i = int(bad[0])
        raise _bad_label(fname, d, i, t[i])


# ---------------------------------------------------------------------------
# the kinds: each returns (loss_i per sample, gradient or None, probabilities or None)
# with w (n,) float64 and n the batch size; gradients carry c = w_i / n (/ d).


def _sigmoid(z):
    # e = exp(-|z|); z >= 0: 1 / (1 + e), else e / (1 + e)
    e = np.exp(-np.abs(z))
    s = 1.0 / (1.0 + e)
    return np.where(z >= 0.0, s, e * s)


def _mse(y, t, w, n, want_grad):
    # loss_i = (1/d) sum_j (y_ij - t_ij)^2;  dL/dy_ij = 2 (y_ij - t_ij) w_i / (n d)
    d = y.shape[1]
    e = y - t
    loss = np.sum(e * e, axis=1) / d
    g = (2.0 * w / (n * d))[:, None] * e if want_grad else None
    return loss, g, None


def _mae(y, t, w, n, want_grad):
    # loss_i = (1/d) sum_j |y_ij - t_ij|;  dL/dy_ij = sign(y_ij - t_ij) w_i / (n d), sign(0) = 0
    d = y.shape[1]
    e = y - t
    loss = np.sum(np.abs(e), axis=1) / d
    g = (w / (n * d))[:, None] * np.sign(e) if want_grad else None
    return loss, g, None


def _clip_bounds(dtype):
    # Keras clips at epsilon and 1 - epsilon in the tensor's dtype (clip_lo / clip_hi in
    # losses_impl.inc): float32's upper bound is 0.99999988
    return float(dtype.type(EPSILON)), float(dtype.type(1.0 - EPSILON))


def _bce(y, t, w, n, want_grad, lo, hi):
    # q = clip(y, eps, 1 - eps); loss_i = -(1/d) sum_j [t log q + (1 - t) log(1 - q)]
    # dL/dy = (q - t) / (q (1 - q)) w_i / (n d) where y was not clipped, 0 where it was
    d = y.shape[1]
    q = np.clip(y, lo, hi)
    loss = -np.sum(t * np.log(q) + (1.0 - t) * np.log(1.0 - q), axis=1) / d
    g = None
    if want_grad:
        live = (y >= lo) & (y <= hi)
        g = np.where(live, (w / (n * d))[:, None] * (q - t) / (q * (1.0 - q)), 0.0)
    return loss, g, None


def _bce_logits(z, t, w, n, want_grad):
    # per element softplus(z) - t z = max(z, 0) - t z + log1p(exp(-|z|)); loss_i = its mean
    # p = sigmoid(z);  dL/dz = (p - t) w_i / (n d)
    d = z.shape[1]
    softplus = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
    loss = np.sum(softplus - t * z, axis=1) / d
    p = _sigmoid(z)
    g = (w / (n * d))[:, None] * (p - t) if want_grad else None
    return loss, g, p


def _cce(y, t, w, n, want_grad, lo, hi):
    # s = sum_j y_j, r = y / s, q = clip(r, eps, 1 - eps); loss_i = -sum_j t_j log q_j
    # a_j = -t_j / r_j where r_j is not clipped (else 0):
    # dL/dy_k = (a_k - sum_j a_j r_j) / s w_i / n
    s = np.sum(y, axis=1, keepdims=True)
    r = y / s
    q = np.clip(r, lo, hi)
    loss = -np.sum(t * np.log(q), axis=1)
    g = None
    if want_grad:
        live = (r >= lo) & (r <= hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(live, -t / r, 0.0)
        dot = -np.sum(np.where(live, t, 0.0), axis=1, keepdims=True)  # sum_j a_j r_j
        g = (w / n)[:, None] * (a - dot) / s
    return loss, g, None


def _cce_logits(z, t, w, n, want_grad):
    # m = max_j z_j, S = sum_j exp(z_j - m); loss_i = sum_j t_j ((m - z_j) + log S)
    # p = exp(z - m) / S;  dL/dz_k = (p_k sum_j t_j - t_k) w_i / n
    m = np.max(z, axis=1, keepdims=True)
    e = np.exp(z - m)
    S = np.sum(e, axis=1, keepdims=True)
    st = np.sum(t, axis=1, keepdims=True)
    loss = np.sum(t * (m - z), axis=1) + st[:, 0] * np.log(S[:, 0])
    p = e * (1.0 / S)
    g = (w / n)[:, None] * (p * st - t) if want_grad else None
    return loss, g, p


def _one_hot(labels, d):
    t = np.zeros((labels.shape[0], d))
    t[np.arange(labels.shape[0]), labels] = 1.0
    return t


def _sparse_cce(y, t, w, n, want_grad, lo, hi):
    # the CCE above with t = one_hot(k): loss_i = -log clip(r_k)
    # unclipped: dL/dy_j = (1 - [j == k] / r_k) / s w_i / n; clipped r_k: 0
    k = t[:, 0].astype(np.intp)
    rows = np.arange(y.shape[0])
    s = np.sum(y, axis=1)
    r = y[rows, k] / s
    loss = -np.log(np.clip(r, lo, hi))
    g = None
    if want_grad:
        live = (r >= lo) & (r <= hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = (w / n)[:, None] * (1.0 - _one_hot(k, y.shape[1]) / r[:, None]) / s[:, None]
        g = np.where(live[:, None], g, 0.0)
    return loss, g, None


def _sparse_cce_logits(z, t, w, n, want_grad):
    # loss_i = (m - z_k) + log S;  p = exp(z - m) / S;  dL/dz_j = (p_j - [j == k]) w_i / n
    k = t[:, 0].astype(np.intp)
    rows = np.arange(z.shape[0])
    m = np.max(z, axis=1, keepdims=True)
    e = np.exp(z - m)
    S = np.sum(e, axis=1, keepdims=True)
    loss = (m[:, 0] - z[rows, k]) + np.log(S[:, 0])
    p = e * (1.0 / S)
    g = (w / n)[:, None] * (p - _one_hot(k, z.shape[1])) if want_grad else None
    return loss, g, p


_LOSSES = {
    "mse": _mse,
    "mae": _mae,
    "bce": _bce,
    "bce_logits": _bce_logits,
    "cce": _cce,
    "cce_logits": _cce_logits,
    "sparse_cce": _sparse_cce,
    "sparse_cce_logits": _sparse_cce_logits,
}


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
    _, sparse, n, d = _check_loss_args(LOSS_KINDS, kind, y_pred, y_true, sample_weight, grad, probs)
    if sparse:
        _check_labels("loss_value_and_grad", y_true, d)
    if n == 0:
        return 0.0
    y = y_pred.astype(np.float64)
    t = y_true.astype(np.float64).reshape(n, -1)
    w = np.ones(n) if sample_weight is None else sample_weight.astype(np.float64)
    fn = _LOSSES[kind]
    if fn in (_bce, _cce, _sparse_cce):
        loss, g, p = fn(y, t, w, n, grad is not None, *_clip_bounds(y_pred.dtype))
    else:
        loss, g, p = fn(y, t, w, n, grad is not None)
    # value = sum_i w_i loss_i / n
    value = float(np.sum(w * loss) / n)
    if grad is not None:
        grad[...] = g
    if probs is not None and p is not None:
        probs[...] = p
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
    _, sparse, n, d = _check_metric_args(METRIC_KINDS, kind, y_pred, y_true, sample_weight)
    if n == 0:
        return 0.0
    w = np.ones(n) if sample_weight is None else sample_weight.astype(np.float64)
    if kind == "binary_accuracy":
        # m_i = (1/d) sum_j [(y_ij > 0.5) == (t_ij > 0.5)]
        m = np.sum((y_pred > 0.5) == (y_true > 0.5), axis=1) / d
    elif kind == "categorical_accuracy":
        # m_i = [argmax_j y_ij == argmax_j t_ij]
        m = (np.argmax(y_pred, axis=1) == np.argmax(y_true, axis=1)).astype(np.float64)
    elif kind == "sparse_categorical_accuracy":
        # m_i = [argmax_j y_ij == t_i]   (d == 1: [(y_i > 0.5) == t_i])
        labels = y_true.reshape(n).astype(np.float64)
        if d == 1:
            pred = (y_pred[:, 0] > 0.5).astype(np.float64)
        else:
            pred = np.argmax(y_pred, axis=1).astype(np.float64)
        m = (pred == labels).astype(np.float64)
    else:
        # m_i = (1/d) sum_j (y_ij - t_ij)^2  or  |y_ij - t_ij|
        e = y_pred.astype(np.float64) - y_true.astype(np.float64)
        m = np.sum(e * e if kind == "mse" else np.abs(e), axis=1) / d
    return float(np.sum(w * m))


def loss_mask_weights(m, sw, wl, wm):
    """Twin of loss_mask_weights in losses_impl.inc: a masked output's per-row weights
    (Keras' apply_mask). wm = sw (1) on unmasked rows, 0 on masked ones, for the metrics;
    wl = wm * rows / valid for the loss (0 when every row is masked). Returns sum(wm)."""
    keep = m != 0
    valid = int(np.count_nonzero(keep))
    wm[...] = np.where(keep, 1 if sw is None else sw, 0)
    scale = len(m) / valid if valid else 0.0
    wl[...] = wm.astype(np.float64) * scale
    return float(np.sum(wm, dtype=np.float64))
