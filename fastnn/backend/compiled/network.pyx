"""A whole training step as one compiled call. Twin: fastnn/backend/reference/network.py.

A Net chains the Ops of a model's layers (forward, fused loss + gradient,
backward in reverse, one optimizer update). Small networks are all overhead
(a 20-32-16-1 step is 0.2 MFLOP), so the step never goes
back to Python per layer: Ops are cdef classes called through their vtables,
pointers are kept raw, workspaces are reused. The model validates user input;
the checks here only guard memory safety.
"""
import numpy as np
cimport numpy as cnp
from libc.math cimport isfinite
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy
from fastnn.backend.compiled._op cimport Op
from fastnn.backend.compiled._csrc cimport (
    loss_f32, loss_f64, metric_f32, metric_f64, bias_act_forward_f32, bias_act_forward_f64,
    loss_mask_weights_f32, loss_mask_weights_f64)
from fastnn.backend.compiled.activations import ACTIVATIONS
from fastnn.backend.compiled.losses import LOSS_KINDS, METRIC_KINDS
from fastnn.backend.contract.network import array_error, check_loss_mask, empty_batch_error
from fastnn.backend.contract.network import net_args as _net_args

cnp.import_array()

cdef enum:
    MAX_METRICS = 8


cdef inline Py_ssize_t _rows(x):
    # the batch size of an array argument (0 for anything else: _arg then rejects it)
    return cnp.PyArray_DIM(x, 0) if cnp.PyArray_Check(x) and cnp.PyArray_NDIM(x) else 0


cdef inline char *_weights(sw):
    # the checked sample weights' data, or NULL
    return NULL if sw is None else <char *>cnp.PyArray_DATA(<cnp.ndarray>sw)


cdef class Net:
    cdef list ops
    cdef Py_ssize_t n_ops
    cdef bint f64
    cdef int loss_kind, out_act
    cdef readonly Py_ssize_t in_size, out_size, out_steps, units, target_cols, cap
    cdef object grad_arr, probs_arr
    cdef char *grad
    cdef char *probs
    cdef char **acts          # acts[i] = input of op i, acts[n_ops] = output
    cdef readonly object updater
    cdef int metric_kinds[MAX_METRICS]
    cdef int n_metrics
    cdef readonly object metric_sums   # weighted sums of each metric on the last batch
    cdef readonly bint skipped         # last train_step made no update (non-finite)
    cdef readonly double metric_weight  # sum of the weights behind metric_sums
    cdef readonly Op loss_mask         # the op whose mask the output carries, or None
    cdef object wl_arr, wm_arr
    cdef char *wl                      # with loss_mask: the loss's per-row weights
    cdef char *wm                      # and the metrics'

    def __cinit__(self, *args, **kwargs):
        self.acts = NULL

    def __dealloc__(self):
        free(self.acts)

    def __init__(self, ops, loss, out_activation, Py_ssize_t out_steps, updater,
                 metrics=(), target_cols=None, dtype=np.float32, loss_mask=None):
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
        for op in ops:
            <Op?>op  # compiled ops only: their cdef methods are called through the vtable
        _net_args(ops, metrics, dtype, MAX_METRICS)
        self.ops = list(ops)
        self.n_ops = len(ops)
        self.f64 = dtype == np.float64
        self.loss_kind = LOSS_KINDS[loss]
        self.out_act = ACTIVATIONS[out_activation]
        self.in_size = (<Op>ops[0]).in_size
        self.out_size = (<Op>ops[len(ops) - 1]).out_size
        self.out_steps = out_steps
        self.units = self.out_size // out_steps
        self.target_cols = self.units if target_cols is None else target_cols
        self.updater = updater
        self.n_metrics = len(metrics)
        for i, m in enumerate(metrics):
            self.metric_kinds[i] = METRIC_KINDS[m]
        self.metric_sums = np.zeros(len(metrics))
        self.acts = <char **>malloc((self.n_ops + 1) * sizeof(char *))
        if self.acts == NULL:
            raise MemoryError()
        self.cap = 0

    @property
    def dtype(self):
        return np.dtype(np.float64 if self.f64 else np.float32)

    def reserve(self, Py_ssize_t rows):
        """Size every workspace for `rows` samples (grows, never shrinks)."""
        if rows <= self.cap:
            return
        for op in self.ops:
            (<Op>op).reserve(rows)
        # each array and its pointer together: a MemoryError between two allocations must
        # not leave a pointer into a freed array (the Net then goes on at its old size)
        self.grad_arr = np.zeros((rows * self.out_steps, self.units), dtype=self.dtype)
        self.grad = <char *>cnp.PyArray_DATA(<cnp.ndarray>self.grad_arr)
        self.probs_arr = np.zeros((rows * self.out_steps, self.units), dtype=self.dtype)
        self.probs = <char *>cnp.PyArray_DATA(<cnp.ndarray>self.probs_arr)
        if self.loss_mask is not None:
            self.wl_arr = np.zeros(rows * self.out_steps, dtype=self.dtype)
            self.wl = <char *>cnp.PyArray_DATA(<cnp.ndarray>self.wl_arr)
            self.wm_arr = np.zeros(rows * self.out_steps, dtype=self.dtype)
            self.wm = <char *>cnp.PyArray_DATA(<cnp.ndarray>self.wm_arr)
        self.cap = rows

    cdef char *_arg(self, a, Py_ssize_t size, name) except NULL:
        # Memory-safety guard only: dtype, C order and element count.
        cdef int want = cnp.NPY_FLOAT64 if self.f64 else cnp.NPY_FLOAT32
        if (not cnp.PyArray_Check(a) or cnp.PyArray_TYPE(a) != want
                or not cnp.PyArray_IS_C_CONTIGUOUS(a) or cnp.PyArray_SIZE(a) != size):
            raise array_error(name, self.dtype, size, a)
        return <char *>cnp.PyArray_DATA(<cnp.ndarray>a)

    cdef char *_forward(self, x, Py_ssize_t n, bint training) except NULL:
        if n <= 0:
            raise empty_batch_error(n)
        self.acts[0] = self._arg(x, n * self.in_size, "x")
        self.reserve(n)
        cdef Py_ssize_t i
        for i in range(self.n_ops):
            self.acts[i + 1] = (<Op>self.ops[i]).forward(self.acts[i], n, training)
        return self.acts[self.n_ops]

    cdef double _loss(self, y, sw, Py_ssize_t n, bint with_grad) except? -1:
        cdef Py_ssize_t rows = n * self.out_steps
        cdef char *t = self._arg(y, rows * self.target_cols, "y")
        cdef char *w = NULL if sw is None else self._arg(sw, rows, "sample_weight")
        cdef char *out = self.acts[self.n_ops]
        cdef char *g = self.grad if with_grad else NULL
        cdef double loss
        cdef Py_ssize_t k
        cdef char *wl = w      # the loss's per-row weights
        cdef const unsigned char *m
        cdef char *s
        if self.loss_mask is not None:
            # a masked output: the loss over the unmasked rows, the metrics weighing them
            m = self.loss_mask.out_mask
            s = _weights(sw)
            wl, w = self.wl, self.wm
            with nogil:
                if self.f64:
                    self.metric_weight = loss_mask_weights_f64(m, <double *>s, <double *>wl,
                                                               <double *>w, rows)
                else:
                    self.metric_weight = loss_mask_weights_f32(m, <float *>s, <float *>wl,
                                                               <float *>w, rows)
        elif sw is not None:
            self.metric_weight = float(np.sum(sw, dtype=np.float64))
        else:
            self.metric_weight = rows
        with nogil:
            if self.f64:
                loss = loss_f64(self.loss_kind, <double *>out, <double *>t, <double *>wl,
                                <double *>g, <double *>self.probs, rows, self.units)
            else:
                loss = loss_f32(self.loss_kind, <float *>out, <float *>t, <float *>wl,
                                <float *>g, <float *>self.probs, rows, self.units)
        if self.n_metrics:
            # fused kinds wrote the activated output into probs; others: the output is it
            out = self.probs if self._fused_output() else out
            for k in range(self.n_metrics):
                if self.f64:
                    self.metric_sums[k] = metric_f64(
                        self.metric_kinds[k], <double *>out, <double *>t, <double *>w, rows,
                        self.units, self.target_cols)
                else:
                    self.metric_sums[k] = metric_f32(self.metric_kinds[k], <float *>out, <float *>t,
                                                     <float *>w, rows, self.units, self.target_cols)
        return loss

    cdef bint _fused_output(self):
        return self.out_act != ACTIVATIONS["linear"]

    def train_step(self, x, y, sample_weight=None):
        """Forward, loss and gradient, backward, one optimizer update. Returns the loss.
        A non-finite loss stops before backward: no update, skipped = True."""
        cdef Py_ssize_t n = _rows(x)
        cdef Py_ssize_t i
        self._forward(x, n, True)
        cdef double loss = self._loss(y, sample_weight, n, True)
        self.skipped = not isfinite(loss)
        if self.skipped:
            return loss
        cdef char *dy = self.grad
        for i in range(self.n_ops - 1, -1, -1):
            dy = (<Op>self.ops[i]).backward(self.acts[i], dy, n)
        if self.updater is not None:
            self.skipped = self.updater.apply() != 0
        return loss

    def test_step(self, x, y, sample_weight=None):
        """Forward at inference and the loss (metrics into metric_sums). Returns the loss."""
        cdef Py_ssize_t n = _rows(x)
        self._forward(x, n, False)
        return self._loss(y, sample_weight, n, False)

    def predict(self, x, out):
        """Forward at inference; writes the (n, out_size) output into `out`, applying
        the output activation a fused loss took over. Returns out."""
        cdef Py_ssize_t n = _rows(x)
        cdef char *res = self._forward(x, n, False)
        cdef char *o = self._arg(out, n * self.out_size, "out")
        cdef Py_ssize_t rows = n * self.out_steps
        cdef size_t nbytes = n * self.out_size * (8 if self.f64 else 4)
        with nogil:
            memcpy(o, res, nbytes)
            if self.f64:
                bias_act_forward_f64(<double *>o, NULL, rows, self.units, self.units, self.out_act)
            else:
                bias_act_forward_f32(<float *>o, NULL, rows, self.units, self.units, self.out_act)
        return out
