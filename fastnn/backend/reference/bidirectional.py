"""NumPy twin of fastnn/backend/compiled/bidirectional.pyx (C: csrc/kernels/bidirectional.c):
the merge of a Bidirectional layer's two directions, and the op that runs them (here one
after the other; the compiled op may run them at once, with the same results)."""

import numpy as np

from fastnn.backend.contract import bidirectional as _c
from fastnn.backend.reference._op import Op


def _aligned(yb, flip):
    # the backward direction's output in input order
    return yb[:, ::-1] if flip else yb


def _merge_forward(mode, yf, yb, flip, out):
    b = _aligned(yb, flip)
    if mode == "concat":
        h = yf.shape[2]
        out[:, :, :h], out[:, :, h:] = yf, b
    elif mode == "sum":
        out[...] = yf + b
    elif mode == "mul":
        out[...] = yf * b
    else:
        out[...] = (yf + b) / 2


def _merge_backward(mode, dy, yf, yb, flip, dyf, dyb):
    db = _aligned(dyb, flip)  # a view: writes land in dyb, in yb's order
    b = _aligned(yb, flip)
    if mode == "concat":
        h = yf.shape[2]
        dyf[...], db[...] = dy[:, :, :h], dy[:, :, h:]
    elif mode == "sum":
        dyf[...], db[...] = dy, dy
    elif mode == "mul":
        dyf[...], db[...] = dy * b, dy * yf
    else:
        dyf[...], db[...] = dy / 2, dy / 2


def merge_forward(yf, yb, mode, flip):
    """The merged output of the two directions' outputs yf, yb (n, steps, h)."""
    dt, _, width = _c.merge_args("merge_forward", yf, yb, mode)
    out = np.empty(yf.shape[:2] + (width,), dt)
    _merge_forward(mode, yf, yb, flip, out)
    return out


def merge_backward(dy, yf, yb, mode, flip):
    """(dyf, dyb): the gradients of yf and yb (yb's order) from that of the merge."""
    _c.merge_args("merge_backward", yf, yb, mode, dy)
    dyf, dyb = np.empty_like(yf), np.empty_like(yb)
    _merge_backward(mode, dy, yf, yb, flip, dyf, dyb)
    return dyf, dyb


class BidirectionalOp(Op):
    """A Bidirectional layer in a Net: ops fwd and bwd (go_backwards) over the same input
    (n, T*F); output their merge, (n, [T,] 2H) for concat, else (n, [T,] H). Backward
    splits dy by the merge, runs both directions' BPTT and sums their dx. The ops' masks
    (mask_src) are the caller's to set, the same for both. together: kept for the
    compiled op's interface (the twin runs the directions one after the other)."""

    def __init__(self, fwd, bwd, merge_mode):
        _, H, steps = _c.op_args("BidirectionalOp", fwd, bwd, merge_mode)
        width = 2 * H if merge_mode == "concat" else H
        Op.__init__(self, fwd.in_size, steps * width, fwd.dtype, fwd.need_dx)
        self.fwd, self.bwd, self.merge_mode = fwd, bwd, merge_mode
        self.together = True
        self.steps, self.units = steps, H

    def reserve(self, rows):
        if rows <= self.cap:
            return 0
        self.fwd.reserve(rows)
        self.bwd.reserve(rows)
        self.dyf = np.zeros((rows, self.fwd.out_size), self.dtype)
        self.dyb = np.zeros((rows, self.fwd.out_size), self.dtype)
        return Op.reserve(self, rows)

    def _shaped(self, a, n):
        return a[:n].reshape(n, self.steps, -1)

    def forward(self, x, n, training):
        self.reserve(n)
        yf = self.fwd.forward(x, n, training)
        yb = self.bwd.forward(x, n, training)
        flip = self.fwd.return_sequences
        _merge_forward(
            self.merge_mode,
            self._shaped(yf, n),
            self._shaped(yb, n),
            flip,
            self._shaped(self.out, n),
        )
        return self.out[:n]

    def backward(self, x, dy, n):
        yf, yb = self._shaped(self.fwd.out, n), self._shaped(self.bwd.out, n)
        dyf, dyb = self._shaped(self.dyf, n), self._shaped(self.dyb, n)
        flip = self.fwd.return_sequences
        _merge_backward(self.merge_mode, self._shaped(dy, n), yf, yb, flip, dyf, dyb)
        dxf = self.fwd.backward(x, self.dyf[:n], n)
        dxb = self.bwd.backward(x, self.dyb[:n], n)
        if not self.need_dx:
            return None
        dxf += dxb
        return dxf

    def py_forward(self, x, training=True):
        """Forward of x (n, T, F) or (n, T*F); returns a copy of the output."""
        x = _c.op_input(self, x)
        self.reserve(len(x))
        return self.forward(x, len(x), training).copy()

    def py_backward(self, dy):
        """Backward of the last forward from dy (n, out_size); returns a copy of dx (or
        None without need_dx)."""
        n = self.fwd.last_rows()
        dx = self.backward(None, _c.op_grad(self, dy, n), n)
        return None if dx is None else dx.copy()
