"""NumPy twin of fastnn/backend/compiled/network.pyx: a whole training step.

A Net chains the Ops of a model's layers (forward, fused loss + gradient,
backward in reverse, one optimizer update). The model validates user input;
the checks here only mirror the compiled Net's memory-safety guards.
"""

import math

import numpy as np

from fastnn.backend.contract.network import array_error, check_loss_mask, empty_batch_error
from fastnn.backend.contract.network import net_args as _net_args
from fastnn.backend.reference.activations import ACTIVATIONS, bias_act_forward
from fastnn.backend.reference.losses import (
    LOSS_KINDS,
    METRIC_KINDS,
    loss_mask_weights,
    loss_value_and_grad,
    metric_sum,
)

MAX_METRICS = 8
_LOSS_NAMES = {v: k for k, v in LOSS_KINDS.items()}
_METRIC_NAMES = {v: k for k, v in METRIC_KINDS.items()}


class Net:
    def __init__(
        self,
        ops,
        loss,
        out_activation,
        out_steps,
        updater,
        metrics=(),
        target_cols=None,
        dtype=np.float32,
        loss_mask=None,
    ):
        """ops: Op objects in layer order. loss: a LOSS_KINDS name (the *_logits kinds
        take the last op's output as logits). out_activation: applied by predict() to
        the last op's output (the activation a fused loss took over; "linear" else).
        out_steps: rows per sample of the output (timesteps of a sequence output).
        updater: object with apply() -> 0 updated / 1 skipped, or None (no training).
        metrics: METRIC_KINDS names. target_cols: target values per output row
        (1 for sparse labels; default the output units). loss_mask: the op whose
        (n, out_steps) mask the output carries, or None; the loss and the metrics then
        weigh the unmasked rows only, as Keras' apply_mask does."""
        dtype = np.dtype(dtype)
        check_loss_mask(loss_mask, out_steps)
        self.loss_mask = loss_mask
        self.metric_weight = 0.0
        _net_args(ops, metrics, dtype, MAX_METRICS)
        self.ops = list(ops)
        self.n_ops = len(ops)
        self.f64 = dtype == np.float64
        self.loss = _LOSS_NAMES[LOSS_KINDS[loss]]
        self.out_act = _checked_activation(out_activation)
        self.in_size = ops[0].in_size
        self.out_size = ops[-1].out_size
        self.out_steps = out_steps
        self.units = self.out_size // out_steps
        self.target_cols = self.units if target_cols is None else target_cols
        self.updater = updater
        self.metrics = [_METRIC_NAMES[METRIC_KINDS[m]] for m in metrics]
        self.metric_sums = np.zeros(len(metrics))
        self.acts = [None] * (self.n_ops + 1)
        self.skipped = False
        self.cap = 0

    @property
    def dtype(self):
        return np.dtype(np.float64 if self.f64 else np.float32)

    def reserve(self, rows):
        """Size every workspace for `rows` samples (grows, never shrinks)."""
        if rows <= self.cap:
            return
        for op in self.ops:
            op.reserve(rows)
        self.grad = np.zeros((rows * self.out_steps, self.units), dtype=self.dtype)
        self.probs = np.zeros((rows * self.out_steps, self.units), dtype=self.dtype)
        if self.loss_mask is not None:
            self.wl = np.zeros(rows * self.out_steps, dtype=self.dtype)
            self.wm = np.zeros(rows * self.out_steps, dtype=self.dtype)
        self.cap = rows

    def _arg(self, a, size, name):
        # Mirrors the compiled guard: dtype, C order and element count.
        if (
            not isinstance(a, np.ndarray)
            or a.dtype != self.dtype
            or not a.flags.c_contiguous
            or a.size != size
        ):
            raise array_error(name, self.dtype, size, a)
        return a

    def _forward(self, x, n, training):
        if n <= 0:
            raise empty_batch_error(n)
        self.acts[0] = self._arg(x, n * self.in_size, "x").reshape(n, self.in_size)
        self.reserve(n)
        for i in range(self.n_ops):
            self.acts[i + 1] = self.ops[i].forward(self.acts[i], n, training)
        return self.acts[self.n_ops]

    def _loss(self, y, sw, n, with_grad):
        rows = n * self.out_steps
        t = self._arg(y, rows * self.target_cols, "y").reshape(rows, self.target_cols)
        w = None if sw is None else self._arg(sw, rows, "sample_weight").reshape(rows)
        out = self.acts[self.n_ops][:n].reshape(rows, self.units)
        g = self.grad[:rows] if with_grad else None
        wl = w  # the loss's per-row weights
        if self.loss_mask is not None:
            # a masked output: the loss over the unmasked rows, the metrics weighing them
            m = self.loss_mask.out_mask[:n].reshape(rows)
            wl, w = self.wl[:rows], self.wm[:rows]
            self.metric_weight = loss_mask_weights(m, None if sw is None else sw, wl, w)
        else:
            self.metric_weight = rows if w is None else float(np.sum(w, dtype=np.float64))
        loss = loss_value_and_grad(self.loss, out, t, wl, grad=g, probs=self.probs[:rows])
        if self.metrics:
            # fused kinds wrote the activated output into probs; others: the output is it
            out = self.probs[:rows] if self._fused_output() else out
            for k, m in enumerate(self.metrics):
                self.metric_sums[k] = metric_sum(m, out, t, w)
        return loss

    def _fused_output(self):
        return self.out_act != "linear"

    def train_step(self, x, y, sample_weight=None):
        """Forward, loss and gradient, backward, one optimizer update. Returns the loss.
        A non-finite loss stops before backward: no update, skipped = True."""
        n = x.shape[0] if isinstance(x, np.ndarray) and x.ndim else 0
        self._forward(x, n, True)
        loss = self._loss(y, sample_weight, n, True)
        self.skipped = not math.isfinite(loss)
        if self.skipped:
            return loss
        dy = self.grad.reshape(self.cap, self.out_size)
        for i in range(self.n_ops - 1, -1, -1):
            dy = self.ops[i].backward(self.acts[i], dy, n)
        if self.updater is not None:
            self.skipped = self.updater.apply() != 0
        return loss

    def test_step(self, x, y, sample_weight=None):
        """Forward at inference and the loss (metrics into metric_sums). Returns the loss."""
        n = x.shape[0] if isinstance(x, np.ndarray) and x.ndim else 0
        self._forward(x, n, False)
        return self._loss(y, sample_weight, n, False)

    def predict(self, x, out):
        """Forward at inference; writes the (n, out_size) output into `out`, applying
        the output activation a fused loss took over. Returns out."""
        n = x.shape[0] if isinstance(x, np.ndarray) and x.ndim else 0
        res = self._forward(x, n, False)
        o = self._arg(out, n * self.out_size, "out")
        flat = o.reshape(n * self.out_steps, self.units)
        flat[...] = res[:n].reshape(n * self.out_steps, self.units)
        bias_act_forward(flat, None, self.out_act)
        return out


def _checked_activation(name):
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; known: {sorted(ACTIVATIONS)}")
    return name
