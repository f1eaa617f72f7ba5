"""Bidirectional: two recurrent ops over the same input, one per direction, and the merge
of their outputs (C: csrc/kernels/bidirectional.c). Twin: fastnn/backend/reference/bidirectional.py.

Functions (for tests):
  merge_forward(yf, yb, mode, flip) -> out
  merge_backward(dy, yf, yb, mode, flip) -> (dyf, dyb)
yf, yb (n, steps, h), yb in the backward op's processing order (flip: reversed in time,
for sequence outputs, as Keras flips it); mode "concat", "sum", "mul" or "ave".
Op (for a Net): BidirectionalOp.

The two directions share nothing but their input, so when two threads are allowed they
run at once, one per thread (run_parts with two parts, each a solo call: its loop and
products stay on that thread); otherwise one after the other, each with the whole
scheduling policy of a single op. Both orders write the same buffers in the same way.
Measured on a training step of Bidirectional(LSTM(H)) (2 threads, median of 9 x 10
steps): at once / one after the other = 0.61 for B=8 T=100 H=32 (loops too small to
split), 0.91 for B=16 T=200 H=256, and 1.03 (parity, within noise) for B=32-128
H=64-128, where each direction's loop already splits over the batch.
"""
import numpy as np
cimport numpy as cnp
from fastnn.backend.compiled._op cimport Op
from fastnn.backend.compiled._parallel cimport blas_threads, run_parts
from fastnn.backend.compiled._csrc cimport (
    bidir_merge_forward_f32, bidir_merge_forward_f64, bidir_merge_backward_f32,
    bidir_merge_backward_f64, bidir_add_f32, bidir_add_f64)
from fastnn.backend.compiled.recurrent cimport OpCall, run_call, _RecurrentOp
from fastnn.backend.contract import bidirectional as _c

cnp.import_array()


cdef inline char *_ptr(a):
    return <char *>cnp.PyArray_DATA(<cnp.ndarray>a)


cdef struct Merge:
    int mode, flip, f64
    Py_ssize_t steps, h


cdef void _merge_forward(const Merge *M, const char *yf, const char *yb, Py_ssize_t n,
                         char *out) noexcept nogil:
    if M.f64:
        bidir_merge_forward_f64(M.mode, <const double *>yf, <const double *>yb, n, M.steps,
                                M.h, M.flip, <double *>out)
    else:
        bidir_merge_forward_f32(M.mode, <const float *>yf, <const float *>yb, n, M.steps, M.h,
                                M.flip, <float *>out)


cdef void _merge_backward(const Merge *M, const char *dy, const char *yf, const char *yb,
                          Py_ssize_t n, char *dyf, char *dyb) noexcept nogil:
    if M.f64:
        bidir_merge_backward_f64(M.mode, <const double *>dy, <const double *>yf,
                                 <const double *>yb, n, M.steps, M.h, M.flip, <double *>dyf,
                                 <double *>dyb)
    else:
        bidir_merge_backward_f32(M.mode, <const float *>dy, <const float *>yf,
                                 <const float *>yb, n, M.steps, M.h, M.flip, <float *>dyf,
                                 <float *>dyb)


cdef Merge _merge(int mode, bint flip, bint f64, Py_ssize_t steps, Py_ssize_t h):
    cdef Merge M
    M.mode, M.flip, M.f64, M.steps, M.h = mode, flip, f64, steps, h
    return M


def merge_forward(yf, yb, mode, bint flip):
    """The merged output of the two directions' outputs yf, yb (n, steps, h)."""
    dt, code, width = _c.merge_args("merge_forward", yf, yb, mode)
    n, steps, h = yf.shape
    out = np.empty((n, steps, width), dt)
    cdef Merge M = _merge(code, flip, dt == np.float64, steps, h)
    _merge_forward(&M, _ptr(yf), _ptr(yb), n, _ptr(out))
    return out


def merge_backward(dy, yf, yb, mode, bint flip):
    """(dyf, dyb): the gradients of yf and yb (yb's order) from that of the merge."""
    dt, code, _ = _c.merge_args("merge_backward", yf, yb, mode, dy)
    n, steps, h = yf.shape
    dyf, dyb = np.empty_like(yf), np.empty_like(yb)
    cdef Merge M = _merge(code, flip, dt == np.float64, steps, h)
    _merge_backward(&M, _ptr(dy), _ptr(yf), _ptr(yb), n, _ptr(dyf), _ptr(dyb))
    return dyf, dyb


cdef void _run_one(void *ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    # part p of two runs direction p's call
    cdef OpCall *calls = <OpCall *>ctx
    cdef Py_ssize_t p
    for p in range(lo, hi):
        run_call(&calls[p])


cdef void _run_both(OpCall *calls, bint together) noexcept nogil:
    if together:
        calls[0].solo = calls[1].solo = True
        run_parts(_run_one, calls, 2, 2)
    else:
        run_call(&calls[0])
        run_call(&calls[1])


cdef class BidirectionalOp(Op):
    """A Bidirectional layer in a Net: ops fwd and bwd (go_backwards) over the same input
    (n, T*F); output their merge, (n, [T,] 2H) for concat, else (n, [T,] H). Backward
    splits dy by the merge, runs both directions' BPTT and sums their dx. The ops' masks
    (mask_src) are the caller's to set, the same for both. together: run the directions
    at once when two threads are allowed (False: one after the other)."""
    cdef readonly _RecurrentOp fwd, bwd
    cdef readonly object merge_mode
    cdef public bint together
    cdef Merge M
    cdef object dyf_arr, dyb_arr
    cdef char *dyf
    cdef char *dyb

    def __init__(self, _RecurrentOp fwd, _RecurrentOp bwd, merge_mode):
        code, H, steps = _c.op_args("BidirectionalOp", fwd, bwd, merge_mode)
        width = 2 * H if merge_mode == "concat" else H
        Op.__init__(self, fwd.in_size, steps * width, fwd.dtype, fwd.need_dx)
        self.fwd, self.bwd, self.merge_mode = fwd, bwd, merge_mode
        self.together = True
        self.M = _merge(code, fwd.return_sequences, self.f64, steps, H)

    cdef int reserve(self, Py_ssize_t rows) except -1:
        if rows <= self.cap:
            return 0
        self.fwd.reserve(rows)
        self.bwd.reserve(rows)
        # each array and its pointer together: a MemoryError between two allocations must
        # not leave a pointer into a freed array (growth is all-or-nothing per buffer)
        self.dyf_arr = np.zeros((rows, self.fwd.out_size), self.dtype)
        self.dyf = _ptr(self.dyf_arr)
        self.dyb_arr = np.zeros((rows, self.fwd.out_size), self.dtype)
        self.dyb = _ptr(self.dyb_arr)
        return Op.reserve(self, rows)

    cdef bint _together(self):
        return self.together and blas_threads() >= 2

    cdef char *forward(self, char *x, Py_ssize_t n, bint training) except NULL:
        cdef OpCall calls[2]
        self.reserve(n)
        self.fwd.draw_masks(n, training)
        self.bwd.draw_masks(n, training)
        self.fwd.fill_forward(x, n, &calls[0])
        self.bwd.fill_forward(x, n, &calls[1])
        cdef bint together = self._together()
        with nogil:
            _run_both(calls, together)
            _merge_forward(&self.M, self.fwd.out, self.bwd.out, n, self.out)
        self.fwd.end_forward(n)
        self.bwd.end_forward(n)
        return self.out

    cdef char *backward(self, char *x, char *dy, Py_ssize_t n) except? NULL:
        cdef OpCall calls[2]
        with nogil:
            _merge_backward(&self.M, dy, self.fwd.out, self.bwd.out, n, self.dyf, self.dyb)
        seq = self.fwd.return_sequences
        self.fwd.fill_backward(self.dyf if seq else NULL, NULL if seq else self.dyf, NULL, n,
                               &calls[0])
        self.bwd.fill_backward(self.dyb if seq else NULL, NULL if seq else self.dyb, NULL, n,
                               &calls[1])
        cdef bint together = self._together()
        cdef Py_ssize_t size = n * self.in_size
        with nogil:
            _run_both(calls, together)
            if self.need_dx:
                if self.f64:
                    bidir_add_f64(<double *>calls[0].dx, <const double *>calls[1].dx, size)
                else:
                    bidir_add_f32(<float *>calls[0].dx, <const float *>calls[1].dx, size)
        self.fwd.end_backward(n)
        self.bwd.end_backward(n)
        return <char *>calls[0].dx if self.need_dx else NULL

    def py_forward(self, x, training=True):
        """Forward of x (n, T, F) or (n, T*F); returns a copy of the output."""
        x = _c.op_input(self, x)
        self.reserve(x.shape[0])
        self.forward(_ptr(x), x.shape[0], training)
        return self.out_arr[:x.shape[0]].copy()

    def py_backward(self, dy):
        """Backward of the last forward from dy (n, out_size); returns a copy of dx (or
        None without need_dx)."""
        n = self.fwd.last_rows()
        dy = _c.op_grad(self, dy, n)
        cdef char *dx = self.backward(NULL, _ptr(dy), n)
        if dx == NULL:
            return None
        return np.frombuffer(<char[:n * self.in_size * (8 if self.f64 else 4)]>dx,
                             self.dtype).reshape(n, self.in_size).copy()
