"""Twin of fastnn/backend/compiled/_op.pyx: base of the layer operations a Net chains."""

import numpy as np


class Op:
    def __init__(self, in_size, out_size, dtype, need_dx):
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"Op expected dtype float32 or float64. Received: dtype={dtype}")
        self.in_size = in_size
        self.out_size = out_size
        self.f64 = dtype == np.float64
        self.need_dx = need_dx
        self.cap = 0
        self.out = self.dx = None

    @property
    def dtype(self):
        return np.dtype(np.float64 if self.f64 else np.float32)

    def reserve(self, rows):
        """Grow the workspaces to hold `rows` samples; never shrinks."""
        if rows <= self.cap:
            return 0
        self.out = np.zeros((rows, self.out_size), dtype=self.dtype)
        if self.need_dx:
            self.dx = np.zeros((rows, self.in_size), dtype=self.dtype)
        self.cap = rows
        return 0

    def forward(self, x, n, training):
        raise NotImplementedError

    def backward(self, x, dy, n):
        raise NotImplementedError
