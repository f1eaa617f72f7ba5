"""NumPy twin of fastnn/backend/compiled/sequence.pyx (C: csrc/kernels/sequence.c):
RepeatVector and global average / max pooling over the steps of a sequence. Sums are
taken in float64 over the steps in ascending order, as the C loops do."""

import numpy as np

from fastnn.backend.contract import args as _args
from fastnn.backend.contract import sequence as _c
from fastnn.backend.reference._op import Op


def _steps_last(x, n, steps, feats, channels_first):
    # a (n, feats, steps) view of the samples, whatever their data format
    a = x[:n].reshape((n, feats, steps) if channels_first else (n, steps, feats))
    return a if channels_first else a.transpose(0, 2, 1)


def _ordered_sum(a):
    # sum over the last axis in float64, steps ascending (not NumPy's pairwise order)
    s = np.zeros(a.shape[:-1])
    for t in range(a.shape[-1]):
        s += a[..., t]
    return s


def _pool_forward(x, n, steps, feats, channels_first, kind, y):
    a = _steps_last(x, n, steps, feats, channels_first)
    if kind == "max":
        y[:n] = a.max(axis=-1)
    else:
        y[:n] = _ordered_sum(a) / steps


def _pool_backward(x, y, dy, n, steps, feats, channels_first, kind, dx):
    a = _steps_last(x, n, steps, feats, channels_first)
    g = _steps_last(dx, n, steps, feats, channels_first)  # a view: writes go into dx
    if kind == "max":
        hit = a == y[:n, :, None]
        share = (dy[:n].astype(np.float64) / hit.sum(axis=-1)).astype(dx.dtype)
        g[...] = np.where(hit, share[:, :, None], 0)
    else:
        g[...] = (dy[:n].astype(np.float64) / steps).astype(dx.dtype)[:, :, None]


def repeat_forward(x, reps):
    """(n, reps, f): every row of x (n, f) repeated reps times."""
    _c.repeat_args("repeat_forward", x, reps)
    return np.repeat(x[:, None, :], reps, axis=1)


def repeat_backward(dy):
    """dx (n, f): dy (n, reps, f) summed over its reps copies."""
    _args.same_float_dtype("repeat_backward", dy=dy)
    _args.shape("repeat_backward", "dy", dy, (None, None, None))
    _args.c_contiguous("repeat_backward", dy=dy)
    return _ordered_sum(dy.transpose(0, 2, 1)).astype(dy.dtype)


def pool_forward(x, kind, data_format="channels_last"):
    """y (n, feats): the mean ("avg") or maximum ("max") over the steps of x."""
    dt, steps, feats, _, _ = _c.pool_args("pool_forward", x, kind, data_format)
    y = np.empty((x.shape[0], feats), dt)
    _pool_forward(x, x.shape[0], steps, feats, data_format == "channels_first", kind, y)
    return y


def pool_backward(x, y, dy, kind, data_format="channels_last"):
    """dx (x's shape) from dy (n, feats); y is pool_forward's output."""
    dt, steps, feats, _, _ = _c.pool_args("pool_backward", x, kind, data_format)
    _args.same_float_dtype("pool_backward", x=x, y=y, dy=dy)
    for name, a in (("y", y), ("dy", dy)):
        _args.shape("pool_backward", name, a, (x.shape[0], feats))
    _args.c_contiguous("pool_backward", y=y, dy=dy)
    dx = np.empty_like(x)
    cf = data_format == "channels_first"
    _pool_backward(x, y, dy, x.shape[0], steps, feats, cf, kind, dx)
    return dx


class RepeatVectorOp(Op):
    """RepeatVector in a Net: (n, f) -> (n, reps * f); backward sums the copies."""

    def __init__(self, features, reps, dtype, need_dx):
        Op.__init__(self, features, reps * features, dtype, need_dx)
        self.features, self.reps = features, reps

    def forward(self, x, n, training):
        out = self.out[:n].reshape(n, self.reps, self.features)
        out[...] = x[:n].reshape(n, 1, self.features)
        return self.out[:n]

    def backward(self, x, dy, n):
        if not self.need_dx:
            return None
        d = dy[:n].reshape(n, self.reps, self.features).transpose(0, 2, 1)
        self.dx[:n] = _ordered_sum(d)
        return self.dx[:n]


class GlobalPoolOp(Op):
    """GlobalAveragePooling1D / GlobalMaxPooling1D in a Net: (n, steps * feats) ->
    (n, feats); kind "avg" or "max", channels_first: samples are (feats, steps)."""

    def __init__(self, kind, steps, feats, channels_first, dtype, need_dx):
        fmt = "channels_first" if channels_first else "channels_last"
        shape_ = (feats, steps) if channels_first else (steps, feats)
        steps, feats, _, _ = _c.layout("GlobalPoolOp", shape_, fmt)
        if kind not in _c.POOLS:
            raise ValueError(f"GlobalPoolOp expected kind in {_c.POOLS}. Received: {kind!r}")
        Op.__init__(self, steps * feats, feats, dtype, need_dx)
        self.kind, self.steps, self.feats, self.cf = kind, steps, feats, bool(channels_first)

    def forward(self, x, n, training):
        _pool_forward(x, n, self.steps, self.feats, self.cf, self.kind, self.out)
        return self.out[:n]

    def backward(self, x, dy, n):
        if not self.need_dx:
            return None
        _pool_backward(x, self.out, dy, n, self.steps, self.feats, self.cf, self.kind, self.dx)
        return self.dx[:n]
