"""NumPy twin of fastnn/backend/compiled/activations.pyx (C: csrc/kernels/activations_impl.inc)."""

import numpy as np

from fastnn.backend.reference._op import Op

ACTIVATIONS = {
    "linear": 0,
    "relu": 1,
    "sigmoid": 2,
    "tanh": 3,
    "softmax": 4,
    "leaky_relu": 5,
    "elu": 6,
}
LEAKY_SLOPE = 0.2  # Keras 3 default negative slope
ELU_ALPHA = 1.0


def _sigmoid(z):
    # exp(-|z|) never overflows; the negative branch avoids 1 - s cancellation.
    e = np.exp(-np.abs(z))
    s = 1.0 / (1.0 + e)
    return np.where(z >= 0, s, e * s).astype(z.dtype, copy=False)


def bias_act_forward(z, b, activation):
    """z = act(z + b) in place (b may be None); returns z. z: (n, u), b: (u,)."""
    if b is not None:
        z += b
    if activation == "relu":
        np.maximum(z, 0, out=z)
    elif activation == "sigmoid":
        z[...] = _sigmoid(z)
    elif activation == "tanh":
        np.tanh(z, out=z)
    elif activation == "leaky_relu":
        z[...] = np.where(z > 0, z, z.dtype.type(LEAKY_SLOPE) * z)
    elif activation == "elu":
        z[...] = np.where(z > 0, z, np.expm1(np.minimum(z, 0)))
    elif activation == "softmax":
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True, dtype=np.float64).astype(z.dtype)
    elif activation != "linear":
        raise ValueError(f"unknown activation {activation!r}; known: {sorted(ACTIVATIONS)}")
    return z


def act_backward(dz, y, activation):
    """dz = dy * act'(.) in place, from the forward output y; returns dz."""
    if activation == "relu":
        dz *= y > 0
    elif activation == "sigmoid":
        dz *= y * (1 - y)
    elif activation == "tanh":
        dz *= 1 - y * y
    elif activation == "leaky_relu":
        dz *= np.where(y > 0, 1, LEAKY_SLOPE).astype(dz.dtype)
    elif activation == "elu":
        dz *= np.where(y > 0, 1, y + 1).astype(dz.dtype)
    elif activation == "softmax":
        dot = np.einsum("ij,ij->i", dz.astype(np.float64), y).astype(dz.dtype)
        dz[...] = y * (dz - dot[:, None])
    elif activation != "linear":
        raise ValueError(f"unknown activation {activation!r}; known: {sorted(ACTIVATIONS)}")
    return dz


def bias_grad(dz, db=None):
    """db = column sums of dz (accumulated in float64); returns db."""
    s = dz.sum(axis=0, dtype=np.float64)
    if db is None:
        return s.astype(dz.dtype)
    db[...] = s
    return db


class ActivationOp(Op):
    """An Activation layer inside a Net: y = act(x) per row of `units`
    features (rows = n * steps for sequences). Backward works in place on dy."""

    def __init__(self, units, activation, dtype, need_dx, steps=1):
        Op.__init__(self, units * steps, units * steps, dtype, False)
        self.need_dx = need_dx
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; known: {sorted(ACTIVATIONS)}")
        self.activation, self.units, self.steps = activation, units, steps

    def forward(self, x, n, training):
        rows = n * self.steps
        y = self.out[:n].reshape(rows, self.units)
        y[...] = x[:n].reshape(rows, self.units)
        bias_act_forward(y, None, self.activation)
        return self.out[:n]

    def backward(self, x, dy, n):
        rows = n * self.steps
        act_backward(
            dy[:n].reshape(rows, self.units),
            self.out[:n].reshape(rows, self.units),
            self.activation,
        )
        return dy[:n] if self.need_dx else None
