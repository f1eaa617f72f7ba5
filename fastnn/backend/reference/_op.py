"""Twin of fastnn/backend/compiled/_op.pyx: base of the layer operations a Net chains."""

import numpy as np

from fastnn.backend.contract.sequence import as_mask as _as_mask
from fastnn.backend.contract.sequence import mask_error as _mask_error


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
        # masks (Keras masking), batch-first (rows, steps) uint8, 0 = masked step:
        self.mask_steps = 0  # producers: steps of the mask their forward writes into out_mask
        self.out_mask = None
        self.mask_src = None  # consumers: the op whose mask they read (a Net sets it)
        self.own_mask = None  # or one given by set_input_mask (direct calls)

    @property
    def dtype(self):
        return np.dtype(np.float64 if self.f64 else np.float32)

    def reserve(self, rows):
        """Grow the workspaces to hold `rows` samples; never shrinks."""
        if rows <= self.cap:
            return 0
        self.out = np.zeros((rows, self.out_size), dtype=self.dtype)
        if self.mask_steps:
            self.out_mask = np.ones((rows, self.mask_steps), dtype=np.uint8)
        if self.need_dx:
            self.dx = np.zeros((rows, self.in_size), dtype=self.dtype)
        self.cap = rows
        return 0

    def input_mask(self, n, steps):
        """The (n, steps) mask of this op's input, or None (none)."""
        src = self.mask_src
        if src is not None:
            if src.mask_steps != steps or src.cap < n:
                raise _mask_error(self, src.mask_steps, steps)
            return src.out_mask[:n]
        if self.own_mask is None:
            return None
        if self.own_mask.shape != (n, steps):
            raise ValueError(
                f"{type(self).__name__} expected a mask of shape ({n}, {steps}). "
                f"Received: {self.own_mask.shape}"
            )
        return self.own_mask

    def set_input_mask(self, mask):
        """Direct calls and tests: the (n, steps) mask of the next forward's input (True or
        nonzero keeps a step), or None for no mask. A Net's mask_src takes precedence."""
        self.own_mask = _as_mask(mask)

    def output_mask(self, n):
        """Producers: a copy of the (n, steps) mask the last forward wrote (bool)."""
        if not self.mask_steps or n > self.cap:
            return None
        return self.out_mask[:n].astype(bool)

    def forward(self, x, n, training):
        raise NotImplementedError

    def backward(self, x, dy, n):
        raise NotImplementedError
