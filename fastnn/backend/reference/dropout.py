"""NumPy twin of fastnn/backend/compiled/dropout.pyx (C: csrc/kernels/dropout.c).

Masks come from a counter-based stream: element k of the call that starts at
`counter` uses splitmix64(seed, counter + k), so a (seed, counter) pair saved
with the model resumes the exact same masks.
"""

import numpy as np

from fastnn.backend.reference._op import Op

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _uniform24(seed, counter, n):
    # uint64 arithmetic wraps modulo 2^64 exactly like the C code.
    with np.errstate(over="ignore"):
        k = np.arange(n, dtype=np.uint64) + np.uint64(counter) + np.uint64(1)
        z = np.uint64(seed) + k * _GAMMA
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        z ^= z >> np.uint64(31)
    return (z >> np.uint64(40)).astype(np.float64) * (1.0 / 16777216.0)


def dropout_mask(n, rate, seed, counter, dtype=np.float32):
    """Scale mask of n elements: 1/(1-rate) where kept, 0 where dropped."""
    dtype = np.dtype(dtype)
    rate_t = float(dtype.type(rate))  # the C f32 kernel works with the float32 rate
    keep = dtype.type(1.0 / (1.0 - rate_t))
    return np.where(_uniform24(seed, counter, n) >= rate_t, keep, dtype.type(0)).astype(dtype)


class DropoutOp(Op):
    """A Dropout layer inside a Net: in training y = x * mask, dx = dy * mask;
    at inference the input passes through untouched."""

    def __init__(self, size, rate, dtype, need_dx, seed):
        Op.__init__(self, size, size, dtype, False)
        self.need_dx = need_dx
        self.rate, self.seed, self.counter = rate, seed, 0
        self.mask = None

    def reserve(self, rows):
        if rows > self.cap:
            self.mask = np.zeros((rows, self.in_size), dtype=self.dtype)
        return Op.reserve(self, rows)

    def forward(self, x, n, training):
        if not training or self.rate == 0:
            return x[:n]
        size = n * self.in_size
        self.mask[:n] = dropout_mask(size, self.rate, self.seed, self.counter, self.dtype).reshape(
            n, self.in_size
        )
        np.multiply(x[:n], self.mask[:n], out=self.out[:n])
        self.counter += size
        return self.out[:n]

    def backward(self, x, dy, n):
        if self.rate != 0:
            dy[:n] *= self.mask[:n]
        return dy[:n] if self.need_dx else None


class SpatialDropoutOp(Op):
    """SpatialDropout1D inside a Net: samples (steps, f); in training one mask value per
    (sample, feature), the same at every step (y = x * mask[:, None, :]); at inference
    the input passes through. The stream advances by n * f per call."""

    def __init__(self, steps, features, rate, dtype, need_dx, seed):
        Op.__init__(self, steps * features, steps * features, dtype, need_dx)
        self.steps, self.features = steps, features
        self.rate, self.seed, self.counter = rate, seed, 0
        self.mask = None

    def reserve(self, rows):
        if rows > self.cap:
            self.mask = np.zeros((rows, self.features), dtype=self.dtype)
        return Op.reserve(self, rows)

    def _steps(self, a, n):
        return a[:n].reshape(n, self.steps, self.features)

    def forward(self, x, n, training):
        if not training or self.rate == 0:
            return x[:n]
        m = n * self.features
        self.mask[:n] = dropout_mask(m, self.rate, self.seed, self.counter, self.dtype).reshape(
            n, self.features
        )
        np.multiply(self._steps(x, n), self.mask[:n, None, :], out=self._steps(self.out, n))
        self.counter += m
        return self.out[:n]

    def backward(self, x, dy, n):
        if not self.need_dx:  # first in its Net (an RNN's input dropout): dy may be None
            return None
        if self.rate != 0:
            self._steps(dy, n)[...] *= self.mask[:n, None, :]
        return dy[:n] if self.need_dx else None

    def py_forward(self, x, training=True):
        """Forward of x (n, steps * f) (tests, direct use); returns a copy."""
        x = np.ascontiguousarray(x, self.dtype).reshape(len(x), self.in_size)
        self.reserve(len(x))
        return self.forward(x, len(x), training).copy()
