"""Optimizer updates over flat parameter buffers (C: csrc/kernels/optimizers_impl.inc).
Twin: fastnn/backend/reference/optimizers.py.

The Updater keeps raw pointers to the parameters, gradients, slots and its own small
workspaces from construction on, so apply() is one call that releases the GIL for the
whole step (norms, clipping, weight decay and update) and allocates nothing.
"""
import numpy as np
cimport numpy as cnp
from libc.math cimport sqrt, pow, isfinite, NAN
from libc.stdint cimport int64_t
from fastnn.backend.compiled._csrc cimport (
    sumsq_f32, sumsq_f64, clip_values_f32, clip_values_f64, sgd_update_f32, sgd_update_f64,
    adagrad_update_f32, adagrad_update_f64, rmsprop_update_f32, rmsprop_update_f64,
    adam_update_f32, adam_update_f64, first_nonfinite_f32, first_nonfinite_f64)
from fastnn.backend.compiled._parallel cimport run_parts, update_parts

# Argument checks and constants: one copy, shared with the NumPy twin.
# re-exported: the twin has the same names
from fastnn.backend.contract.optimizers import DEFAULT_HYPER, KINDS, adam_alpha  # no-cython-lint
from fastnn.backend.contract.optimizers import trainable_flags as _c_trainable_flags
from fastnn.backend.contract.optimizers import (
    _check_iterations, _check_learning_rate, _check_real, _check_state, _check_updater_args,
    _check_vectors, _make_slots)

cnp.import_array()

_LANES = 8  # lane sums of sumsq (see csrc/kernels/optimizers_impl.inc)

cdef enum:
    _SGD = 0
    _ADAGRAD = 1
    _RMSPROP = 2
    _ADAM = 3


cdef inline char *_data(object a):
    """Data pointer of an ndarray (None -> NULL)."""
    if a is None:
        return NULL
    return <char *>cnp.PyArray_DATA(<cnp.ndarray>a)


cdef inline double _clip_factor(double norm, double clipnorm) noexcept nogil:
    # Keras clip factor clipnorm / max(norm, clipnorm): exactly 1 when norm <= clipnorm
    return 1.0 if norm <= clipnorm else clipnorm / norm


cdef inline void _kernel(int rule, bint f32, char *w, char *g, char *s0, char *s1,
                         Py_ssize_t n, double lr, double rho, double mu, bint nesterov,
                         double b1, double b2, double eps, double gscale,
                         double wd_lr) noexcept nogil:
    # one update of n parameters by `rule` in float or double (lr: alpha for Adam);
    # s0, s1: the rule's slots in Updater order (NULL when absent)
    if f32:
        if rule == _SGD:
            sgd_update_f32(<float *>w, <float *>g, <float *>s0, n, <float>lr, <float>mu,
                           nesterov, <float>gscale, <float>wd_lr)
        elif rule == _ADAGRAD:
            adagrad_update_f32(<float *>w, <float *>g, <float *>s0, n, <float>lr, <float>eps,
                               <float>gscale, <float>wd_lr)
        elif rule == _RMSPROP:
            rmsprop_update_f32(<float *>w, <float *>g, <float *>s0, <float *>s1, n, <float>lr,
                               <float>rho, <float>mu, <float>eps, <float>gscale, <float>wd_lr)
        else:
            adam_update_f32(<float *>w, <float *>g, <float *>s0, <float *>s1, n, <float>lr,
                            <float>b1, <float>b2, <float>eps, <float>gscale, <float>wd_lr)
    else:
        if rule == _SGD:
            sgd_update_f64(<double *>w, <double *>g, <double *>s0, n, lr, mu, nesterov,
                           gscale, wd_lr)
        elif rule == _ADAGRAD:
            adagrad_update_f64(<double *>w, <double *>g, <double *>s0, n, lr, eps, gscale,
                               wd_lr)
        elif rule == _RMSPROP:
            rmsprop_update_f64(<double *>w, <double *>g, <double *>s0, <double *>s1, n, lr,
                               rho, mu, eps, gscale, wd_lr)
        else:
            adam_update_f64(<double *>w, <double *>g, <double *>s0, <double *>s1, n, lr, b1,
                            b2, eps, gscale, wd_lr)


# A big enough update runs in two halves on two threads (_parallel.update_parts): it reads
# and writes each value's parameter, gradient and slots once, so it is bound by memory
# traffic, which each core's own cache serves. Two halves, not more parts: the calling
# thread claims the first, so from step to step each core updates the same half, the one
# whose gradient rows it computed when dense.pyx cut a mid-sized dW by rows. Cut at
# multiples of _BLOCK values (one cache line of float32 / two of float64), so no line is
# shared.
cdef Py_ssize_t _BLOCK = 16


cdef struct Part:
    int rule
    bint f32, nesterov
    char *w
    char *g
    char *s0
    char *s1
    Py_ssize_t n, itemsize
    double lr, rho, mu, b1, b2, eps, gscale, wd_lr


cdef void _update_blocks(void *ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    # values [lo * _BLOCK, hi * _BLOCK) of a Part (the last block may be short)
    cdef const Part *P = <const Part *>ctx
    cdef Py_ssize_t first = lo * _BLOCK, end = hi * _BLOCK
    if end > P.n:
        end = P.n
    cdef Py_ssize_t off = first * P.itemsize
    _kernel(P.rule, P.f32, P.w + off, P.g + off, NULL if P.s0 == NULL else P.s0 + off,
            NULL if P.s1 == NULL else P.s1 + off, end - first, P.lr, P.rho, P.mu, P.nesterov,
            P.b1, P.b2, P.eps, P.gscale, P.wd_lr)


cdef struct Scan:
    char *g
    bint f32
    Py_ssize_t itemsize, n
    bint bad[2]   # one flag per half: the half starting at block 0 writes bad[0]


cdef void _scan_blocks(void *ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    # values [lo * _BLOCK, hi * _BLOCK) of the gradients: any NaN or infinity?
    cdef Scan *S = <Scan *>ctx
    cdef Py_ssize_t first = lo * _BLOCK, end = hi * _BLOCK
    if end > S.n:
        end = S.n
    cdef char *g = S.g + first * S.itemsize
    if S.f32:
        S.bad[lo != 0] = first_nonfinite_f32(<float *>g, end - first) >= 0
    else:
        S.bad[lo != 0] = first_nonfinite_f64(<double *>g, end - first) >= 0


def _update_array(int rule, func, arrays, writable, s0, s1, lr, rho=0.0, mu=0.0,
                  nesterov=False, b1=0.0, b2=0.0, eps=0.0, gscale=1.0, wd_lr=0.0):
    # the low-level functions: check `arrays` (w, g and the slots s0, s1), then one
    # update of the whole arrays in place; returns w
    w, g = arrays["w"], arrays["g"]
    dt = _check_vectors(func, arrays, writable=writable)
    cdef bint f32 = dt == np.float32
    cdef char *pw = _data(w)
    cdef char *pg = _data(g)
    cdef char *p0 = _data(s0)
    cdef char *p1 = _data(s1)
    cdef Py_ssize_t n = w.size
    cdef double r = lr, rh = rho, m = mu, c1 = b1, c2 = b2, e = eps, gs = gscale, wd = wd_lr
    cdef bint nest = bool(nesterov)
    with nogil:
        _kernel(rule, f32, pw, pg, p0, p1, n, r, rh, m, nest, c1, c2, e, gs, wd)
    return w


# ---------------------------------------------------------------------------
# Low-level functions: one update of a whole array, in place.


def sumsq(g):
    """Sum of g**2 accumulated in float64 in a fixed order; returns a float."""
    dt = _check_vectors("sumsq", {"g": g})
    cdef bint f32 = dt == np.float32
    cdef char *pg = _data(g)
    cdef Py_ssize_t n = g.size
    cdef double s
    with nogil:
        s = sumsq_f32(<float *>pg, n) if f32 else sumsq_f64(<double *>pg, n)
    return s


def clip_values(g, limit):
    """g = clip(g, -limit, limit) in place (NaN stays NaN); returns g."""
    dt = _check_vectors("clip_values", {"g": g}, writable=("g",))
    cdef double lim = _check_real("clip_values", "limit", limit)
    cdef bint f32 = dt == np.float32
    cdef char *pg = _data(g)
    cdef Py_ssize_t n = g.size
    with nogil:
        if f32:
            clip_values_f32(<float *>pg, n, <float>lim)
        else:
            clip_values_f64(<double *>pg, n, lim)
    return g


def sgd_update(w, g, m, lr, momentum, nesterov, gscale=1.0, wd_lr=0.0):
    """Keras SGD step in place; m=None: plain SGD. Returns w.

    w -= w * wd_lr; then m = momentum * m - lr * g * gscale and w += m
    (nesterov: w += momentum * m - lr * g * gscale), or w -= lr * g * gscale without m.
    """
    return _update_array(_SGD, "sgd_update", {"w": w, "g": g, "m": m}, ("w", "m"), m, None,
                         lr, mu=momentum, nesterov=nesterov, gscale=gscale, wd_lr=wd_lr)


def adagrad_update(w, g, a, lr, epsilon, gscale=1.0, wd_lr=0.0):
    """Keras Adagrad step in place: a += g^2; w -= lr * g / sqrt(a + epsilon). Returns w."""
    return _update_array(_ADAGRAD, "adagrad_update", {"w": w, "g": g, "a": a}, ("w", "a"), a,
                         None, lr, eps=epsilon, gscale=gscale, wd_lr=wd_lr)


def rmsprop_update(w, g, v, m, lr, rho, momentum, epsilon, gscale=1.0, wd_lr=0.0):
    """Keras RMSprop step in place; m=None: no momentum. Returns w.

    v = rho * v + (1 - rho) * g^2; inc = lr * g / sqrt(v + epsilon);
    w -= inc, or with momentum m = momentum * m + inc; w -= m.
    """
    return _update_array(_RMSPROP, "rmsprop_update", {"w": w, "g": g, "v": v, "m": m},
                         ("w", "v", "m"), v, m, lr, rho=rho, mu=momentum, eps=epsilon,
                         gscale=gscale, wd_lr=wd_lr)


def adam_update(w, g, m, v, alpha, beta_1, beta_2, epsilon, gscale=1.0, wd_lr=0.0):
    """Keras Adam step in place with alpha from adam_alpha(). Returns w.

    m += (g - m) * (1 - beta_1); v += (g^2 - v) * (1 - beta_2);
    w -= alpha * m / (sqrt(v) + epsilon). g^2 and m saturate at the dtype's largest
    finite value, so a finite gradient whose square overflows never makes v inf.
    """
    return _update_array(_ADAM, "adam_update", {"w": w, "g": g, "m": m, "v": v},
                         ("w", "m", "v"), m, v, alpha, b1=beta_1, b2=beta_2, eps=epsilon,
                         gscale=gscale, wd_lr=wd_lr)


# ---------------------------------------------------------------------------
# Updater


cdef class Updater:
    """One optimizer step over a model's flat parameter and gradient buffers.

    kind: "sgd", "adagrad", "rmsprop" or "adam" (Keras 3 update rules).
    params, grads: 1-D C-contiguous float32 or float64 arrays of one dtype and size
        (layers hold views into them); updated / clipped in place by apply().
    segments: int64 variable boundaries [0, ..., params.size] (n_vars + 1 entries),
        used by the per-variable clipnorm; None means one variable.
    trainable: one flag per variable, or None (all trainable). A frozen variable is
        left alone: not clipped, not counted in any norm or non-finite check, not
        updated or decayed, its slots untouched (Keras: trainable=False).
    hyper: dict with keys among learning_rate, momentum, nesterov, beta_1, beta_2,
        epsilon, rho, initial_accumulator_value, weight_decay, clipnorm,
        global_clipnorm, clipvalue (None = off); missing keys take Keras defaults.

    Slots are allocated once here. apply() clips (clipvalue, then clipnorm per
    variable, then global_clipnorm), skips the step when a gradient is not finite,
    applies decoupled weight decay and updates every parameter in one pass.
    """
    # Python-side state: validated hyperparameters, and references that keep every
    # buffer behind the raw pointers below alive.
    cdef object _kind, _hyper, _dtype, _params, _grads, _segments, _slots, _work, _train
    # nogil-side state
    cdef int _rule
    cdef bint _f32, _nesterov, _clipvalue_on, _clipnorm_on, _gclip_on, _frozen
    cdef const unsigned char *_trainable
    cdef char *_w
    cdef char *_g
    cdef char *_s0
    cdef char *_s1
    cdef Py_ssize_t _n, _nvar, _itemsize
    cdef const int64_t *_seg
    cdef double *_ss
    cdef double *_scale
    cdef double _lr, _mu, _b1, _b2, _eps, _rho, _wd, _clipnorm, _gclip, _clipvalue
    cdef long long _iterations
    cdef double _last_norm

    def __init__(self, kind, params, grads, segments, hyper, trainable=None):
        h, dtype, seg = _check_updater_args(kind, params, grads, segments, hyper)
        self._train = _c_trainable_flags(trainable, seg.size - 1)
        self._trainable = <const unsigned char *>_data(self._train)
        self._frozen = not self._train.all()
        n = params.size
        self._kind, self._hyper, self._dtype = kind, h, dtype
        self._params, self._grads, self._segments = params, grads, seg
        self._lr = h["learning_rate"]
        self._iterations = 0
        self._last_norm = NAN
        self._slots, s0, s1 = _make_slots(kind, h, n, dtype)
        # workspaces of apply(): per-variable squared norms and clip factors
        nvar = seg.size - 1
        ss, scale = np.zeros(max(nvar, 1), np.float64), np.ones(max(nvar, 1), np.float64)
        self._work = (ss, scale)
        # raw pointers and C copies of the hyperparameters
        self._rule = {"sgd": _SGD, "adagrad": _ADAGRAD, "rmsprop": _RMSPROP, "adam": _ADAM}[kind]
        self._f32 = self._dtype == np.float32
        self._itemsize = self._dtype.itemsize
        self._n, self._nvar = n, nvar
        self._w, self._g, self._s0, self._s1 = _data(params), _data(grads), _data(s0), _data(s1)
        self._seg = <const int64_t *>_data(seg)
        self._ss, self._scale = <double *>_data(ss), <double *>_data(scale)
        self._mu, self._nesterov = h["momentum"], h["nesterov"]
        self._b1, self._b2, self._eps, self._rho = h["beta_1"], h["beta_2"], h["epsilon"], h["rho"]
        self._wd = 0.0 if h["weight_decay"] is None else h["weight_decay"]
        self._clipvalue_on = h["clipvalue"] is not None
        self._clipvalue = h["clipvalue"] if self._clipvalue_on else 0.0
        self._clipnorm_on = h["clipnorm"] is not None
        self._clipnorm = h["clipnorm"] if self._clipnorm_on else 0.0
        self._gclip_on = h["global_clipnorm"] is not None
        self._gclip = h["global_clipnorm"] if self._gclip_on else 0.0

    cdef void _update(self, Py_ssize_t lo, Py_ssize_t cnt, double gscale, double wd_lr,
                      double alpha) noexcept nogil:
        # one update of parameters [lo, lo + cnt), in two halves on two threads when big
        cdef Py_ssize_t off = lo * self._itemsize
        cdef Part P
        P.rule, P.f32, P.nesterov, P.n, P.itemsize = (
            self._rule, self._f32, self._nesterov, cnt, self._itemsize)
        P.w, P.g = self._w + off, self._g + off
        P.s0 = NULL if self._s0 == NULL else self._s0 + off
        P.s1 = NULL if self._s1 == NULL else self._s1 + off
        P.lr = alpha if self._rule == _ADAM else self._lr
        P.rho, P.mu, P.b1, P.b2, P.eps = self._rho, self._mu, self._b1, self._b2, self._eps
        P.gscale, P.wd_lr = gscale, wd_lr
        cdef Py_ssize_t blocks = (cnt + _BLOCK - 1) // _BLOCK
        if update_parts(cnt, False) == 2:
            run_parts(_update_blocks, &P, blocks, 2)
        else:
            _update_blocks(&P, 0, blocks)

    cdef bint _all_finite(self) noexcept nogil:
        # the gradients hold no NaN or infinity; in two halves on two threads when big
        # enough (_parallel.update_parts)
        cdef Scan S
        S.g, S.f32, S.itemsize, S.n, S.bad[0], S.bad[1] = (
            self._g, self._f32, self._itemsize, self._n, False, False)
        cdef Py_ssize_t blocks = (self._n + _BLOCK - 1) // _BLOCK
        if update_parts(self._n, True) == 2:
            run_parts(_scan_blocks, &S, blocks, 2)
        else:
            _scan_blocks(&S, 0, blocks)
        return not (S.bad[0] or S.bad[1])

    cdef int _apply(self) noexcept nogil:
        cdef Py_ssize_t i, lo, hi
        cdef double total = 0.0, gtotal = 0.0, norm = NAN, ss, s, gscale = 1.0
        cdef double wd_lr, alpha = 0.0, t
        cdef bint norms = self._clipnorm_on or self._gclip_on
        # 1. clipvalue: grads clipped in place
        if self._clipvalue_on:
            for i in range(self._nvar if self._frozen else 1):
                lo = self._seg[i] if self._frozen else 0
                hi = self._seg[i + 1] if self._frozen else self._n
                if not self._trainable[i]:
                    continue
                if self._f32:
                    clip_values_f32(<float *>self._g + lo, hi - lo, <float>self._clipvalue)
                else:
                    clip_values_f64(<double *>self._g + lo, hi - lo, self._clipvalue)
        # 2. squared norms in float64: per variable (clipnorm, or frozen variables to leave
        #    out) or over all parameters
        if self._clipnorm_on or (self._gclip_on and self._frozen):
            for i in range(self._nvar):
                lo = self._seg[i]
                hi = self._seg[i + 1]
                if not self._trainable[i]:
                    self._ss[i] = 0
                    continue
                if self._f32:
                    ss = sumsq_f32(<float *>self._g + lo, hi - lo)
                else:
                    ss = sumsq_f64(<double *>self._g + lo, hi - lo)
                self._ss[i] = ss
                total += ss
        elif self._gclip_on:
            if self._f32:
                total = sumsq_f32(<float *>self._g, self._n)
            else:
                total = sumsq_f64(<double *>self._g, self._n)
        # 3. a non-finite gradient skips the step: the norm tells when one was computed,
        #    else one exponent-bit pass over the gradients
        if norms:
            norm = sqrt(total)
            self._last_norm = norm
            if not isfinite(norm):
                return 1
        else:
            self._last_norm = NAN
            if self._frozen:
                for i in range(self._nvar):
                    lo = self._seg[i]
                    hi = self._seg[i + 1]
                    if self._trainable[i] and (
                            (self._f32 and first_nonfinite_f32(<float *>self._g + lo, hi - lo) >= 0)
                            or (not self._f32
                                and first_nonfinite_f64(<double *>self._g + lo, hi - lo) >= 0)):
                        return 1
            elif not self._all_finite():
                return 1
        # 4. clip factors: clipnorm / max(norm_i, clipnorm) per variable, then
        #    global_clipnorm / max(norm, global_clipnorm) on the (clipped) total
        if self._clipnorm_on:
            for i in range(self._nvar):
                ss = self._ss[i]
                s = _clip_factor(sqrt(ss), self._clipnorm)
                gtotal += (s * s) * ss
                self._scale[i] = s
            if self._gclip_on:
                gscale = _clip_factor(sqrt(gtotal), self._gclip)
        elif self._gclip_on:
            gscale = _clip_factor(norm, self._gclip)
        # 5. the update (weight decay fused), adam's alpha in double
        wd_lr = self._wd * self._lr
        if self._rule == _ADAM:
            t = <double>(self._iterations + 1)
            alpha = self._lr * sqrt(1.0 - pow(self._b2, t)) / (1.0 - pow(self._b1, t))
        #    variable by variable (scale: 1 without clipnorm), so that a big variable's
        #    halves are its dW halves
        for i in range(self._nvar):
            lo = self._seg[i]
            hi = self._seg[i + 1]
            if hi > lo and self._trainable[i]:
                self._update(lo, hi - lo, self._scale[i] * gscale, wd_lr, alpha)
        self._iterations += 1
        return 0

    def apply(self):
        """One update of all parameters from the current gradients.

        Returns 0 after an update (iterations is incremented), or 1 when a gradient
        is not finite (checked through the norm when clipping computes one): the step
        is skipped and parameters, slots and iterations are left untouched (clipvalue
        may have clipped grads).
        """
        cdef int rc
        with nogil:
            rc = self._apply()
        return rc

    @property
    def kind(self):
        """The update rule: "sgd", "adagrad", "rmsprop" or "adam"."""
        return self._kind

    @property
    def dtype(self):
        """numpy dtype of the parameters, gradients and slots."""
        return self._dtype

    @property
    def hyper(self):
        """A copy of the hyperparameters in use (learning_rate: the current one)."""
        h = dict(self._hyper)
        h["learning_rate"] = self._lr
        return h

    @property
    def learning_rate(self):
        """Learning rate used by the next apply() (a finite float >= 0)."""
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value):
        self._lr = _check_learning_rate("Updater", value)

    @property
    def iterations(self):
        """Number of updates applied (skipped steps do not count); Adam's t - 1."""
        return self._iterations

    @iterations.setter
    def iterations(self, value):
        self._iterations = _check_iterations("Updater", value)

    @property
    def last_grad_norm(self):
        """Global L2 norm of the gradients seen by the last apply() (after clipvalue,
        before norm clipping); nan when that call computed no norm (neither clipnorm
        nor global_clipnorm set)."""
        return self._last_norm

    @property
    def slots(self):
        """dict slot name -> the slot ndarray itself ("momentum", "accumulator",
        "velocity", "m", "v"; only those the rule uses)."""
        return dict(self._slots)

    def get_state(self):
        """{"kind", "iterations", "learning_rate", "slots": {name: copy}} for saving."""
        return {"kind": self._kind, "iterations": self._iterations,
                "learning_rate": self._lr,
                "slots": {k: v.copy() for k, v in self._slots.items()}}

    def set_state(self, state):
        """Restore a get_state() dict: checks everything first, then copies into the
        existing slot arrays and sets iterations (and learning_rate when present)."""
        slots, iterations, lr = _check_state(state, self._kind, self._slots)
        for name, mine in self._slots.items():
            np.copyto(mine, slots[name])
        self._iterations = iterations
        if lr is not None:
            self._lr = lr

    def __repr__(self):
        return (f"Updater(kind={self._kind!r}, size={self._params.size}, "
                f"dtype={self._dtype.name}, iterations={self._iterations})")
