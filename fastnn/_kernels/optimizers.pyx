"""Optimizer updates over flat parameter buffers (C: csrc/optimizers_impl.inc).
Twin: fastnn/reference/optimizers.py.

The Updater keeps raw pointers to the parameters, gradients, slots and its own small
workspaces from construction on, so apply() is one call that releases the GIL for the
whole step (norms, clipping, weight decay and update) and allocates nothing.
"""
import math
import numbers

import numpy as np
cimport numpy as cnp
from libc.math cimport sqrt, pow, isfinite, NAN
from libc.stdint cimport int64_t
from fastnn._kernels._csrc cimport (
    sumsq_f32, sumsq_f64, clip_values_f32, clip_values_f64, sgd_update_f32, sgd_update_f64,
    adagrad_update_f32, adagrad_update_f64, rmsprop_update_f32, rmsprop_update_f64,
    adam_update_f32, adam_update_f64)

cnp.import_array()

KINDS = ("sgd", "adagrad", "rmsprop", "adam")

# Keras 3 defaults; an Updater fills in any key its `hyper` dict leaves out.
DEFAULT_HYPER = {
    "learning_rate": 0.001,
    "momentum": 0.0,
    "nesterov": False,
    "beta_1": 0.9,
    "beta_2": 0.999,
    "epsilon": 1e-7,
    "rho": 0.9,
    "initial_accumulator_value": 0.1,
    "weight_decay": None,
    "clipnorm": None,
    "global_clipnorm": None,
    "clipvalue": None,
}

_LANES = 8  # lane sums of sumsq (see csrc/optimizers_impl.inc)


# ---------------------------------------------------------------------------
# Argument checks (the same text in the compiled module)


def _check_vectors(func, arrays, writable=()):
    """Check 1-D C-contiguous float32/float64 arrays of one dtype, size, no overlap."""
    present = {k: a for k, a in arrays.items() if a is not None}
    for name, a in present.items():
        if not isinstance(a, np.ndarray):
            raise ValueError(f"{func} expected {name} to be a numpy.ndarray. "
                             f"Received: type({name})={type(a).__name__}")
    dtypes = {a.dtype for a in present.values()}
    if len(dtypes) != 1 or next(iter(dtypes)) not in (np.float32, np.float64):
        got = ", ".join(f"{k}.dtype={a.dtype}" for k, a in present.items())
        raise ValueError(f"{func} expected arrays of one dtype, float32 or float64. "
                         f"Received: {got}")
    for name, a in present.items():
        if a.ndim != 1 or not a.flags.c_contiguous:
            raise ValueError(f"{func} expected {name} to be 1-D and C-contiguous. "
                             f"Received: {name}.shape={a.shape}, "
                             f"{name}.strides={a.strides}")
        if name in writable and not a.flags.writeable:
            raise ValueError(f"{func} expected {name} to be writeable. "
                             f"Received: a read-only {name}")
    sizes = {a.size for a in present.values()}
    if len(sizes) != 1:
        got = ", ".join(f"{k}.size={a.size}" for k, a in present.items())
        raise ValueError(f"{func} expected arrays of one size. Received: {got}")
    names = list(present)
    for i, x in enumerate(names):
        for y in names[i + 1:]:
            if np.may_share_memory(present[x], present[y]):
                raise ValueError(f"{func} expected {x} and {y} not to overlap. "
                                 f"Received: {x} and {y} sharing memory")
    return next(iter(dtypes))


def _check_real(func, name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{func} expected {name} to be a real number. "
                         f"Received: {name}={value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{func} expected {name} to be finite. Received: {name}={value!r}")
    return value


def _check_hyper(kind, hyper):
    """Validated copy of `hyper` with Keras defaults filled in."""
    func = "Updater"
    if kind not in KINDS:
        raise ValueError(f"{func} expected kind in {list(KINDS)}. Received: kind={kind!r}")
    if not isinstance(hyper, dict):
        raise ValueError(f"{func} expected hyper to be a dict. "
                         f"Received: type(hyper)={type(hyper).__name__}")
    unknown = sorted(set(hyper) - set(DEFAULT_HYPER))
    if unknown:
        raise ValueError(f"{func} expected hyper keys among {sorted(DEFAULT_HYPER)}. "
                         f"Received: unknown keys {unknown}")
    h = dict(DEFAULT_HYPER)
    h.update(hyper)
    for key in ("learning_rate", "momentum", "beta_1", "beta_2", "epsilon", "rho",
                "initial_accumulator_value"):
        h[key] = _check_real(func, f"hyper[{key!r}]", h[key])
    checks = (
        ("learning_rate", h["learning_rate"] >= 0, ">= 0"),
        ("momentum", 0 <= h["momentum"] < 1, "in [0, 1)"),
        ("beta_1", 0 < h["beta_1"] < 1, "in (0, 1)"),
        ("beta_2", 0 < h["beta_2"] < 1, "in (0, 1)"),
        ("epsilon", h["epsilon"] > 0, "> 0"),
        ("rho", 0 <= h["rho"] < 1, "in [0, 1)"),
        ("initial_accumulator_value", h["initial_accumulator_value"] >= 0, ">= 0"),
    )
    for key, ok, rule in checks:
        if not ok:
            raise ValueError(f"{func} expected hyper[{key!r}] {rule}. Received: {h[key]!r}")
    if not isinstance(h["nesterov"], (bool, np.bool_)):
        raise ValueError(f"{func} expected hyper['nesterov'] to be a bool. "
                         f"Received: {h['nesterov']!r}")
    h["nesterov"] = bool(h["nesterov"])
    for key in ("weight_decay", "clipnorm", "global_clipnorm", "clipvalue"):
        if h[key] is not None:
            h[key] = _check_real(func, f"hyper[{key!r}]", h[key])
            ok = h[key] >= 0 if key == "weight_decay" else h[key] > 0
            if not ok:
                rule = ">= 0" if key == "weight_decay" else "> 0"
                raise ValueError(f"{func} expected hyper[{key!r}] {rule} or None. "
                                 f"Received: {h[key]!r}")
    return h


def _check_segments(segments, n):
    """int64 copy of the variable boundaries: [0, ..., n], non-decreasing."""
    func = "Updater"
    if segments is None:
        return np.array([0, n], dtype=np.int64)
    seg = np.asarray(segments)
    if seg.ndim != 1 or seg.size < 1 or seg.dtype.kind not in "iu":
        raise ValueError(f"{func} expected segments to be a 1-D integer array of variable "
                         f"boundaries (n_vars + 1 entries). Received: "
                         f"segments.shape={seg.shape}, segments.dtype={seg.dtype}")
    seg = seg.astype(np.int64)
    if seg[0] != 0 or seg[seg.size - 1] != n or np.any(np.diff(seg) < 0):
        raise ValueError(f"{func} expected segments non-decreasing from 0 to params.size={n}. "
                         f"Received: segments={seg.tolist() if seg.size <= 12 else seg}")
    return seg


def adam_alpha(learning_rate, beta_1, beta_2, t):
    """alpha = learning_rate * sqrt(1 - beta_2^t) / (1 - beta_1^t), in double."""
    return learning_rate * math.sqrt(1.0 - beta_2 ** t) / (1.0 - beta_1 ** t)


cdef inline char *_data(object a):
    """Data pointer of an ndarray (None -> NULL)."""
    if a is None:
        return NULL
    return <char *>cnp.PyArray_DATA(<cnp.ndarray>a)


cdef inline double _clip_factor(double norm, double clipnorm) noexcept nogil:
    # Keras clip factor clipnorm / max(norm, clipnorm): exactly 1 when norm <= clipnorm
    return 1.0 if norm <= clipnorm else clipnorm / norm


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
    dt = _check_vectors("sgd_update", {"w": w, "g": g, "m": m}, writable=("w", "m"))
    cdef bint f32 = dt == np.float32
    cdef char *pw = _data(w)
    cdef char *pg = _data(g)
    cdef char *pm = _data(m)
    cdef Py_ssize_t n = w.size
    cdef double a = lr, mu = momentum, gs = gscale, wd = wd_lr
    cdef int nest = bool(nesterov)
    with nogil:
        if f32:
            sgd_update_f32(<float *>pw, <float *>pg, <float *>pm, n, <float>a, <float>mu, nest,
                           <float>gs, <float>wd)
        else:
            sgd_update_f64(<double *>pw, <double *>pg, <double *>pm, n, a, mu, nest, gs, wd)
    return w


def adagrad_update(w, g, a, lr, epsilon, gscale=1.0, wd_lr=0.0):
    """Keras Adagrad step in place: a += g^2; w -= lr * g / sqrt(a + epsilon). Returns w."""
    dt = _check_vectors("adagrad_update", {"w": w, "g": g, "a": a}, writable=("w", "a"))
    cdef bint f32 = dt == np.float32
    cdef char *pw = _data(w)
    cdef char *pg = _data(g)
    cdef char *pa = _data(a)
    cdef Py_ssize_t n = w.size
    cdef double r = lr, eps = epsilon, gs = gscale, wd = wd_lr
    with nogil:
        if f32:
            adagrad_update_f32(<float *>pw, <float *>pg, <float *>pa, n, <float>r, <float>eps,
                               <float>gs, <float>wd)
        else:
            adagrad_update_f64(<double *>pw, <double *>pg, <double *>pa, n, r, eps, gs, wd)
    return w


def rmsprop_update(w, g, v, m, lr, rho, momentum, epsilon, gscale=1.0, wd_lr=0.0):
    """Keras RMSprop step in place; m=None: no momentum. Returns w.

    v = rho * v + (1 - rho) * g^2; inc = lr * g / sqrt(v + epsilon);
    w -= inc, or with momentum m = momentum * m + inc; w -= m.
    """
    dt = _check_vectors("rmsprop_update", {"w": w, "g": g, "v": v, "m": m},
                        writable=("w", "v", "m"))
    cdef bint f32 = dt == np.float32
    cdef char *pw = _data(w)
    cdef char *pg = _data(g)
    cdef char *pv = _data(v)
    cdef char *pm = _data(m)
    cdef Py_ssize_t n = w.size
    cdef double r = lr, rh = rho, mu = momentum, eps = epsilon, gs = gscale, wd = wd_lr
    with nogil:
        if f32:
            rmsprop_update_f32(<float *>pw, <float *>pg, <float *>pv, <float *>pm, n, <float>r,
                               <float>rh, <float>mu, <float>eps, <float>gs, <float>wd)
        else:
            rmsprop_update_f64(<double *>pw, <double *>pg, <double *>pv, <double *>pm, n, r,
                               rh, mu, eps, gs, wd)
    return w


def adam_update(w, g, m, v, alpha, beta_1, beta_2, epsilon, gscale=1.0, wd_lr=0.0):
    """Keras Adam step in place with alpha from adam_alpha(). Returns w.

    m += (g - m) * (1 - beta_1); v += (g^2 - v) * (1 - beta_2);
    w -= alpha * m / (sqrt(v) + epsilon).
    """
    dt = _check_vectors("adam_update", {"w": w, "g": g, "m": m, "v": v},
                        writable=("w", "m", "v"))
    cdef bint f32 = dt == np.float32
    cdef char *pw = _data(w)
    cdef char *pg = _data(g)
    cdef char *pm = _data(m)
    cdef char *pv = _data(v)
    cdef Py_ssize_t n = w.size
    cdef double al = alpha, b1 = beta_1, b2 = beta_2, eps = epsilon, gs = gscale, wd = wd_lr
    with nogil:
        if f32:
            adam_update_f32(<float *>pw, <float *>pg, <float *>pm, <float *>pv, n, <float>al,
                            <float>b1, <float>b2, <float>eps, <float>gs, <float>wd)
        else:
            adam_update_f64(<double *>pw, <double *>pg, <double *>pm, <double *>pv, n, al, b1,
                            b2, eps, gs, wd)
    return w


# ---------------------------------------------------------------------------
# Updater

cdef enum:
    _SGD = 0
    _ADAGRAD = 1
    _RMSPROP = 2
    _ADAM = 3


cdef class Updater:
    """One optimizer step over a model's flat parameter and gradient buffers.

    kind: "sgd", "adagrad", "rmsprop" or "adam" (Keras 3 update rules).
    params, grads: 1-D C-contiguous float32 or float64 arrays of one dtype and size
        (layers hold views into them); updated / clipped in place by apply().
    segments: int64 variable boundaries [0, ..., params.size] (n_vars + 1 entries),
        used by the per-variable clipnorm; None means one variable.
    hyper: dict with keys among learning_rate, momentum, nesterov, beta_1, beta_2,
        epsilon, rho, initial_accumulator_value, weight_decay, clipnorm,
        global_clipnorm, clipvalue (None = off); missing keys take Keras defaults.

    Slots are allocated once here. apply() clips (clipvalue, then clipnorm per
    variable, then global_clipnorm), skips the step when a computed gradient norm is
    not finite, applies decoupled weight decay and updates every parameter in one pass.
    """
    # Python-side state: validated hyperparameters, and references that keep every
    # buffer behind the raw pointers below alive.
    cdef object _kind, _hyper, _dtype, _params, _grads, _segments, _slots, _work
    # nogil-side state
    cdef int _rule
    cdef bint _f32, _nesterov, _clipvalue_on, _clipnorm_on, _gclip_on
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

    def __init__(self, kind, params, grads, segments, hyper):
        h = _check_hyper(kind, hyper)
        dtype = _check_vectors("Updater", {"params": params, "grads": grads},
                               writable=("params", "grads"))
        n = params.size
        seg = _check_segments(segments, n)
        self._kind = kind
        self._hyper = h
        self._dtype = np.dtype(dtype)
        self._params, self._grads, self._segments = params, grads, seg
        self._lr = h["learning_rate"]
        self._iterations = 0
        self._last_norm = NAN
        # slots: zeros (Adagrad accumulator: initial_accumulator_value)
        names = {"sgd": ("momentum",) if h["momentum"] != 0 else (),
                 "adagrad": ("accumulator",),
                 "rmsprop": ("velocity", "momentum") if h["momentum"] > 0 else ("velocity",),
                 "adam": ("m", "v")}[kind]
        self._slots = {name: np.zeros(n, dtype) for name in names}
        if kind == "adagrad":
            self._slots["accumulator"].fill(h["initial_accumulator_value"])
        s0 = self._slots[names[0]] if names else None
        s1 = self._slots[names[1]] if len(names) > 1 else None
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
        # one kernel call over parameters [lo, lo + cnt)
        cdef Py_ssize_t off = lo * self._itemsize
        cdef char *w = self._w + off
        cdef char *g = self._g + off
        cdef char *s0 = NULL if self._s0 == NULL else self._s0 + off
        cdef char *s1 = NULL if self._s1 == NULL else self._s1 + off
        if self._f32:
            if self._rule == _SGD:
                sgd_update_f32(<float *>w, <float *>g, <float *>s0, cnt, <float>self._lr,
                               <float>self._mu, self._nesterov, <float>gscale, <float>wd_lr)
            elif self._rule == _ADAGRAD:
                adagrad_update_f32(<float *>w, <float *>g, <float *>s0, cnt, <float>self._lr,
                                   <float>self._eps, <float>gscale, <float>wd_lr)
            elif self._rule == _RMSPROP:
                rmsprop_update_f32(<float *>w, <float *>g, <float *>s0, <float *>s1, cnt,
                                   <float>self._lr, <float>self._rho, <float>self._mu,
                                   <float>self._eps, <float>gscale, <float>wd_lr)
            else:
                adam_update_f32(<float *>w, <float *>g, <float *>s0, <float *>s1, cnt,
                                <float>alpha, <float>self._b1, <float>self._b2,
                                <float>self._eps, <float>gscale, <float>wd_lr)
        else:
            if self._rule == _SGD:
                sgd_update_f64(<double *>w, <double *>g, <double *>s0, cnt, self._lr, self._mu,
                               self._nesterov, gscale, wd_lr)
            elif self._rule == _ADAGRAD:
                adagrad_update_f64(<double *>w, <double *>g, <double *>s0, cnt, self._lr,
                                   self._eps, gscale, wd_lr)
            elif self._rule == _RMSPROP:
                rmsprop_update_f64(<double *>w, <double *>g, <double *>s0, <double *>s1, cnt,
                                   self._lr, self._rho, self._mu, self._eps, gscale, wd_lr)
            else:
                adam_update_f64(<double *>w, <double *>g, <double *>s0, <double *>s1, cnt,
                                alpha, self._b1, self._b2, self._eps, gscale, wd_lr)

    cdef int _apply(self) noexcept nogil:
        cdef Py_ssize_t i, lo, hi
        cdef double total = 0.0, gtotal = 0.0, norm = NAN, ss, s, gscale = 1.0
        cdef double wd_lr, alpha = 0.0, t
        cdef bint norms = self._clipnorm_on or self._gclip_on
        # 1. clipvalue: grads clipped in place
        if self._clipvalue_on:
            if self._f32:
                clip_values_f32(<float *>self._g, self._n, <float>self._clipvalue)
            else:
                clip_values_f64(<double *>self._g, self._n, self._clipvalue)
        # 2. squared norms in float64: per variable (clipnorm) or over all parameters
        if self._clipnorm_on:
            for i in range(self._nvar):
                lo = self._seg[i]
                hi = self._seg[i + 1]
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
        # 3. a non-finite norm skips the step
        if norms:
            norm = sqrt(total)
            self._last_norm = norm
            if not isfinite(norm):
                return 1
        else:
            self._last_norm = NAN
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
        if self._clipnorm_on:
            for i in range(self._nvar):
                lo = self._seg[i]
                hi = self._seg[i + 1]
                if hi > lo:
                    self._update(lo, hi - lo, self._scale[i] * gscale, wd_lr, alpha)
        elif self._n:
            self._update(0, self._n, gscale, wd_lr, alpha)
        self._iterations += 1
        return 0

    def apply(self):
        """One update of all parameters from the current gradients.

        Returns 0 after an update (iterations is incremented), or 1 when a gradient
        norm computed for clipping is not finite: the step is skipped and parameters,
        slots and iterations are left untouched (clipvalue may have clipped grads).
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
        value = _check_real("Updater", "learning_rate", value)
        if value < 0:
            raise ValueError(f"Updater expected learning_rate >= 0. "
                             f"Received: learning_rate={value!r}")
        self._lr = value

    @property
    def iterations(self):
        """Number of updates applied (skipped steps do not count); Adam's t - 1."""
        return self._iterations

    @iterations.setter
    def iterations(self, value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) \
                or value < 0:
            raise ValueError(f"Updater expected iterations to be an integer >= 0. "
                             f"Received: iterations={value!r}")
        self._iterations = int(value)

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
        if not isinstance(state, dict) or "slots" not in state or "iterations" not in state:
            raise ValueError("Updater.set_state expected a dict with keys 'iterations' and "
                             f"'slots'. Received: {type(state).__name__} "
                             f"{sorted(state) if isinstance(state, dict) else ''}")
        if "kind" in state and state["kind"] != self._kind:
            raise ValueError(f"Updater.set_state expected kind={self._kind!r}. "
                             f"Received: kind={state['kind']!r}")
        slots = state["slots"]
        if not isinstance(slots, dict) or set(slots) != set(self._slots):
            got = sorted(slots) if isinstance(slots, dict) else type(slots).__name__
            raise ValueError(f"Updater.set_state expected slots {sorted(self._slots)}. "
                             f"Received: {got}")
        for name, mine in self._slots.items():
            value = slots[name]
            if not isinstance(value, np.ndarray) or value.shape != mine.shape \
                    or value.dtype != mine.dtype:
                got = (f"shape={value.shape}, dtype={value.dtype}"
                       if isinstance(value, np.ndarray) else f"type={type(value).__name__}")
                raise ValueError(f"Updater.set_state expected slot {name!r} of shape "
                                 f"{mine.shape} and dtype {mine.dtype}. Received: {got}")
        iterations = state["iterations"]
        if isinstance(iterations, (bool, np.bool_)) \
                or not isinstance(iterations, numbers.Integral) or iterations < 0:
            raise ValueError("Updater.set_state expected iterations to be an integer >= 0. "
                             f"Received: iterations={iterations!r}")
        lr = state.get("learning_rate")
        if lr is not None:
            lr = _check_real("Updater.set_state", "learning_rate", lr)
            if lr < 0:
                raise ValueError("Updater.set_state expected learning_rate >= 0. "
                                 f"Received: learning_rate={lr!r}")
        for name, mine in self._slots.items():
            np.copyto(mine, slots[name])
        self._iterations = int(iterations)
        if lr is not None:
            self._lr = lr

    def __repr__(self):
        return (f"Updater(kind={self._kind!r}, size={self._params.size}, "
                f"dtype={self._dtype.name}, iterations={self._iterations})")
