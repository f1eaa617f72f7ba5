"""NumPy twin of fastnn/backend/compiled/dense.pyx: y = act(x @ W + b) and its backward.

Shapes: x (n, I), W (I, U), b (U,), y (n, U). Backward takes the forward output y
(activation derivatives come from it) and overwrites dy with dz = dy * act'.
"""

import numpy as np

from fastnn.backend.contract import args as _args
from fastnn.backend.contract.dense import dense_args as _dense_args
from fastnn.backend.reference._op import Op
from fastnn.backend.reference.activations import (
    ACTIVATIONS,
    act_backward,
    bias_act_forward,
    bias_grad,
)


def _forward(x, w, b, y, activation):
    # 1. z = x @ W (one GEMM)   2. y = act(z + b), fused, in place
    np.matmul(x, w, out=y)
    bias_act_forward(y, b, activation)


def _backward(x, w, y, dz, dw, db, dx, activation):
    # 1. dz = dy * act'(y), in place
    act_backward(dz, y, activation)
    # 2. dW = x.T @ dz   3. db = sum over rows of dz   4. dx = dz @ W.T (skipped for layer 1)
    np.matmul(x.T, dz, out=dw)
    if db is not None:
        bias_grad(dz, db)
    if dx is not None:
        np.matmul(dz, w.T, out=dx)


def _check(func, x, W, b, activation):
    return _dense_args(func, x, W, b, activation, ACTIVATIONS)


def dense_forward(x, W, b, activation, out=None):
    """y = act(x @ W + b); returns y (written into out when given)."""
    dt = _check("dense_forward", x, W, b, activation)
    if out is None:
        out = np.empty((x.shape[0], W.shape[1]), dtype=dt)
    _args.same_float_dtype("dense_forward", x=x, out=out)
    _args.shape("dense_forward", "out", out, (x.shape[0], W.shape[1]))
    _forward(x, W, b, out, activation)
    return out


def dense_backward(x, W, y, dy, activation, use_bias=True, need_dx=True):
    """Backward of dense_forward. dy is overwritten with dz = dy * act'(y).
    Returns (dx, dW, db); dx is None when need_dx is False, db None without bias."""
    dt = _check("dense_backward", x, W, None, activation)
    _args.same_float_dtype("dense_backward", x=x, W=W, y=y, dy=dy)
    _args.shape("dense_backward", "y", y, (x.shape[0], W.shape[1]))
    _args.shape("dense_backward", "dy", dy, (x.shape[0], W.shape[1]))
    _args.c_contiguous("dense_backward", y=y, dy=dy)
    dW = np.empty_like(W)
    db = np.empty(W.shape[1], dtype=dt) if use_bias else None
    dx = np.empty_like(x) if need_dx else None
    _backward(x, W, y, dy, dW, db, dx, activation)
    return dx, dW, db


class DenseOp(Op):
    """A Dense layer inside a Net. W, b, dW, db are views into the model's flat
    parameter / gradient buffers (b, db None without bias). `steps` > 1 applies
    the layer to each of `steps` timesteps of a sequence sample (rows = n * steps)."""

    def __init__(self, W, b, dW, db, activation, need_dx, steps=1):
        _check("DenseOp", np.empty((0, W.shape[0]), W.dtype), W, b, activation)
        _args.same_float_dtype("DenseOp", W=W, b=b, dW=dW, db=db)
        Op.__init__(self, W.shape[0] * steps, W.shape[1] * steps, W.dtype, need_dx)
        self.n_in, self.units, self.steps = W.shape[0], W.shape[1], steps
        self.activation = activation
        self.w, self.b, self.dw, self.db = W, b, dW, db

    def forward(self, x, n, training):
        rows = n * self.steps
        y = self.out[:n].reshape(rows, self.units)
        _forward(x[:n].reshape(rows, self.n_in), self.w, self.b, y, self.activation)
        return self.out[:n]

    def backward(self, x, dy, n):
        rows = n * self.steps
        dx = self.dx[:n].reshape(rows, self.n_in) if self.need_dx else None
        _backward(
            x[:n].reshape(rows, self.n_in),
            self.w,
            self.out[:n].reshape(rows, self.units),
            dy[:n].reshape(rows, self.units),
            self.dw,
            self.db,
            dx,
            self.activation,
        )
        return self.dx[:n] if self.need_dx else None
