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


def _count(m, n, steps):
    # the unmasked steps of each row (all of them without a mask), as float64 (n, 1)
    if m is None:
        return np.full((n, 1), float(steps))
    return (m[:n] != 0).sum(axis=1, dtype=np.float64)[:, None]


def _pool_forward(x, m, n, steps, feats, channels_first, kind, y):
    a = _steps_last(x, n, steps, feats, channels_first)
    if kind == "max":
        y[:n] = a.max(axis=-1)
    else:
        if m is not None:
            a = np.where(m[:n, None, :] != 0, a, 0)
        with np.errstate(invalid="ignore", divide="ignore"):  # 0/0: NaN, as Keras
            y[:n] = _ordered_sum(a) / _count(m, n, steps)


def _pool_backward(x, y, dy, m, n, steps, feats, channels_first, kind, dx):
    a = _steps_last(x, n, steps, feats, channels_first)
    g = _steps_last(dx, n, steps, feats, channels_first)  # a view: writes go into dx
    if kind == "max":
        hit = a == y[:n, :, None]
        share = (dy[:n].astype(np.float64) / hit.sum(axis=-1)).astype(dx.dtype)
        g[...] = np.where(hit, share[:, :, None], 0)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            share = (dy[:n].astype(np.float64) / _count(m, n, steps)).astype(dx.dtype)
        g[...] = share[:, :, None]
        if m is not None:
            g[...] = np.where(m[:n, None, :] != 0, g, 0)


def _masking(x, value, m, out):
    # x, out (rows, f); m (rows,) written
    keep = (x != x.dtype.type(value)).any(axis=1)
    m[...] = keep
    out[...] = np.where(keep[:, None], x, 0)


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


def pool_forward(x, kind, data_format="channels_last", mask=None):
    """y (n, feats): the mean ("avg") or maximum ("max") over the steps of x; with a mask
    (n, steps) the mean is over the unmasked steps."""
    dt, steps, feats, _, _ = _c.pool_args("pool_forward", x, kind, data_format)
    m = _c.pool_mask("pool_forward", mask, kind, x.shape[0], steps)
    y = np.empty((x.shape[0], feats), dt)
    _pool_forward(x, m, x.shape[0], steps, feats, data_format == "channels_first", kind, y)
    return y


def pool_backward(x, y, dy, kind, data_format="channels_last", mask=None):
    """dx (x's shape) from dy (n, feats); y is pool_forward's output."""
    dt, steps, feats, _, _ = _c.pool_args("pool_backward", x, kind, data_format)
    _args.same_float_dtype("pool_backward", x=x, y=y, dy=dy)
    for name, a in (("y", y), ("dy", dy)):
        _args.shape("pool_backward", name, a, (x.shape[0], feats))
    _args.c_contiguous("pool_backward", y=y, dy=dy)
    m = _c.pool_mask("pool_backward", mask, kind, x.shape[0], steps)
    dx = np.empty_like(x)
    cf = data_format == "channels_first"
    _pool_backward(x, y, dy, m, x.shape[0], steps, feats, cf, kind, dx)
    return dx


def masking_forward(x, mask_value=0.0):
    """(out, mask): mask (n, steps) = any(x != mask_value) over the last axis of x
    (n, steps, f); out = x at the unmasked steps, 0 at the masked ones."""
    _, value = _c.masking_args("masking_forward", x, mask_value)
    n, steps, f = x.shape
    out = np.empty_like(x)
    m = np.empty(n * steps, np.uint8)
    _masking(x.reshape(n * steps, f), value, m, out.reshape(n * steps, f))
    return out, m.reshape(n, steps).astype(bool)


def masking_backward(dy, mask):
    """dx: dy at the unmasked steps, 0 at the masked ones (dy (n, steps, f))."""
    _c.masking_args("masking_backward", dy, 0.0)
    m = _c.pool_mask("masking_backward", mask, "avg", dy.shape[0], dy.shape[1])
    return np.where(m[:, :, None] != 0, dy, 0).astype(dy.dtype)


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


class _PyOp(Op):
    """Python entry points of the ops below, for tests and direct use."""

    def py_forward(self, x, training=True):
        """Forward of x (n, in_size); returns a copy of the output (tests, direct use)."""
        x = _c.op_input(self, x)
        self.reserve(len(x))
        return self.forward(x, len(x), training).copy()

    def py_backward(self, x, dy):
        """Backward of the last forward; returns a copy of dx."""
        x, dy = _c.op_input(self, x), _c.op_grad(self, dy)
        return self.backward(x, dy, len(x)).copy()


class GlobalPoolOp(_PyOp):
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
        m = self._mask(n)
        _pool_forward(x, m, n, self.steps, self.feats, self.cf, self.kind, self.out)
        return self.out[:n]

    def backward(self, x, dy, n):
        if not self.need_dx:
            return None
        m = self._mask(n)
        _pool_backward(x, self.out, dy, m, n, self.steps, self.feats, self.cf, self.kind, self.dx)
        return self.dx[:n]

    def _mask(self, n):
        # average pooling honours a mask; max pooling ignores it (as Keras)
        return None if self.kind == "max" else self.input_mask(n, self.steps)


class MaskingOp(_PyOp):
    """Masking in a Net: (n, steps * f) -> the same, zero at the masked steps (every
    feature equal to mask_value); writes the (n, steps) mask the next ops read."""

    def __init__(self, steps, features, mask_value, dtype, need_dx):
        Op.__init__(self, steps * features, steps * features, dtype, need_dx)
        self.steps, self.features, self.mask_value = steps, features, float(mask_value)
        self.mask_steps = steps

    def forward(self, x, n, training):
        rows = n * self.steps
        m = self.out_mask[:n].reshape(rows)
        _masking(
            x[:n].reshape(rows, self.features),
            self.mask_value,
            m,
            self.out[:n].reshape(rows, self.features),
        )
        return self.out[:n]

    def backward(self, x, dy, n):
        if not self.need_dx:
            return None
        keep = self.out_mask[:n].reshape(n * self.steps, 1) != 0
        d = dy[:n].reshape(n * self.steps, self.features)
        self.dx[:n] = np.where(keep, d, 0).reshape(n, self.in_size)
        return self.dx[:n]
