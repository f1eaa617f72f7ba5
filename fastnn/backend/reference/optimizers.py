"""NumPy twin of fastnn/backend/compiled/optimizers.pyx (C: csrc/kernels/optimizers_impl.inc).

Same functions, class, attributes, docstrings and step order as the compiled module;
every element-wise step runs in the parameters' dtype in the order the C kernels use,
and gradient norms are accumulated in float64 in the same fixed order (eight lane sums,
a tail, a fixed combination), so the two agree to rounding (in practice bit for bit).
The Updater's apply() works on buffers allocated at construction (out= everywhere).
"""

import math

import numpy as np

from fastnn.backend.contract.optimizers import (  # noqa: F401  (KINDS, DEFAULT_HYPER: re-exported)
    DEFAULT_HYPER,
    KINDS,
    _check_iterations,
    _check_learning_rate,
    _check_real,
    _check_state,
    _check_updater_args,
    _check_vectors,
    _make_slots,
    adam_alpha,
)

# Argument checks and constants: one copy, shared with the compiled module.
from fastnn.backend.contract.optimizers import trainable_flags as _trainable_flags

_LANES = 8  # lane sums of sumsq (see csrc/kernels/optimizers_impl.inc)


def _clip_scale(norm, clipnorm):
    """Keras clip factor clipnorm / max(norm, clipnorm): exactly 1 when norm <= clipnorm."""
    return 1.0 if norm <= clipnorm else clipnorm / norm


# ---------------------------------------------------------------------------
# Element-wise steps on caller buffers (t1, t2: scratch of the parameters' dtype;
# x64, lanes: float64 scratch of sumsq). No allocation beyond NumPy scalars.


def _sumsq(g, x64, lanes):
    # lane_j = sequential sum over full blocks of g[8b + j]^2; tail; fixed combination
    n = g.size
    full = n - n % _LANES
    np.copyto(x64, g)
    with np.errstate(over="ignore"):  # an overflowing square makes the norm inf, as in C
        np.multiply(x64, x64, out=x64)
    if full:
        np.sum(x64[:full].reshape(-1, _LANES), axis=0, out=lanes)
    else:
        lanes.fill(0.0)
    tail = 0.0
    for k in range(full, n):
        tail += float(x64[k])
    s = [float(v) for v in lanes]
    return (((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))) + tail


def _decay(w, wd_lr, t2):
    # w_k = w - w * wd_lr (skipped when wd_lr == 0: the same values for finite w)
    if wd_lr != 0:
        np.multiply(w, wd_lr, out=t2)
        np.subtract(w, t2, out=w)


def _sgd_step(w, g, m, lr, mu, nesterov, gscale, wd_lr, t1, t2):
    dt = w.dtype.type
    lr, mu, gscale, wd_lr = dt(lr), dt(mu), dt(gscale), dt(wd_lr)
    np.multiply(g, gscale, out=t1)  # g_k = g * gscale
    np.multiply(t1, lr, out=t1)  # lg = lr * g_k
    _decay(w, wd_lr, t2)  # w_k = w - w * wd_lr
    if m is None:
        np.subtract(w, t1, out=w)  # w = w_k - lr * g_k
    elif not nesterov:
        np.multiply(m, mu, out=m)  # m = mu * m - lr * g_k
        np.subtract(m, t1, out=m)
        np.add(w, m, out=w)  # w = w_k + m
    else:
        np.multiply(m, mu, out=m)  # m = mu * m - lr * g_k
        np.subtract(m, t1, out=m)
        np.multiply(m, mu, out=t2)  # w = w_k + (mu * m - lr * g_k)
        np.subtract(t2, t1, out=t2)
        np.add(w, t2, out=w)


def _adagrad_step(w, g, a, lr, eps, gscale, wd_lr, t1, t2):
    dt = w.dtype.type
    lr, eps, gscale, wd_lr = dt(lr), dt(eps), dt(gscale), dt(wd_lr)
    np.multiply(g, gscale, out=t1)  # g_k = g * gscale
    np.multiply(t1, t1, out=t2)  # a = a + g_k^2
    np.add(a, t2, out=a)
    np.add(a, eps, out=t2)  # sqrt(a + eps)
    np.sqrt(t2, out=t2)
    np.multiply(t1, lr, out=t1)  # (lr * g_k) / sqrt(a + eps)
    np.divide(t1, t2, out=t1)
    _decay(w, wd_lr, t2)  # w_k = w - w * wd_lr
    np.subtract(w, t1, out=w)  # w = w_k - ...


def _rmsprop_step(w, g, v, m, lr, rho, mu, eps, gscale, wd_lr, t1, t2):
    dt = w.dtype.type
    lr, rho, mu, eps, gscale, wd_lr = dt(lr), dt(rho), dt(mu), dt(eps), dt(gscale), dt(wd_lr)
    c = dt(1) - rho  # c = 1 - rho, in the parameters' dtype
    np.multiply(g, gscale, out=t1)  # g_k = g * gscale
    np.multiply(v, rho, out=v)  # v = rho * v + c * g_k^2
    np.multiply(t1, t1, out=t2)
    np.multiply(t2, c, out=t2)
    np.add(v, t2, out=v)
    np.add(v, eps, out=t2)  # inc = (lr * g_k) / sqrt(v + eps)
    np.sqrt(t2, out=t2)
    np.multiply(t1, lr, out=t1)
    np.divide(t1, t2, out=t1)
    if m is not None:
        np.multiply(m, mu, out=m)  # m = mu * m + inc
        np.add(m, t1, out=m)
        _decay(w, wd_lr, t2)  # w = w_k - m
        np.subtract(w, m, out=w)
    else:
        _decay(w, wd_lr, t2)  # w = w_k - inc
        np.subtract(w, t1, out=w)


def _adam_step(w, g, m, v, alpha, b1, b2, eps, gscale, wd_lr, t1, t2):
    dt = w.dtype.type
    alpha, b1, b2, eps, gscale, wd_lr = (dt(alpha), dt(b1), dt(b2), dt(eps), dt(gscale), dt(wd_lr))
    c1 = dt(1) - b1  # c1 = 1 - b1, c2 = 1 - b2 in the parameters' dtype
    c2 = dt(1) - b2
    big = np.finfo(w.dtype).max  # saturation, as in C: g_k^2 and m clamped to it
    np.multiply(g, gscale, out=t1)  # g_k = g * gscale
    with np.errstate(over="ignore"):
        np.subtract(t1, m, out=t2)  # m = m + (g_k - m) * c1
        np.multiply(t2, c1, out=t2)
        np.add(m, t2, out=m)
        np.clip(m, -big, big, out=m)
        np.multiply(t1, t1, out=t2)  # v = v + (min(g_k^2, big) - v) * c2
    np.minimum(t2, big, out=t2)
    np.subtract(t2, v, out=t2)
    np.multiply(t2, c2, out=t2)
    np.add(v, t2, out=v)
    np.sqrt(v, out=t2)  # (alpha * m) / (sqrt(v) + eps)
    np.add(t2, eps, out=t2)
    np.multiply(m, alpha, out=t1)
    np.divide(t1, t2, out=t1)
    _decay(w, wd_lr, t2)  # w = w_k - ...
    np.subtract(w, t1, out=w)


# ---------------------------------------------------------------------------
# Low-level functions: one update of a whole array, in place.


def sumsq(g):
    """Sum of g**2 accumulated in float64 in a fixed order; returns a float."""
    _check_vectors("sumsq", {"g": g})
    return _sumsq(g, np.empty(g.size, np.float64), np.empty(_LANES, np.float64))


def clip_values(g, limit):
    """g = clip(g, -limit, limit) in place (NaN stays NaN); returns g."""
    _check_vectors("clip_values", {"g": g}, writable=("g",))
    limit = g.dtype.type(_check_real("clip_values", "limit", limit))
    np.clip(g, -limit, limit, out=g)
    return g


def sgd_update(w, g, m, lr, momentum, nesterov, gscale=1.0, wd_lr=0.0):
    """Keras SGD step in place; m=None: plain SGD. Returns w.

    w -= w * wd_lr; then m = momentum * m - lr * g * gscale and w += m
    (nesterov: w += momentum * m - lr * g * gscale), or w -= lr * g * gscale without m.
    """
    _check_vectors("sgd_update", {"w": w, "g": g, "m": m}, writable=("w", "m"))
    t1, t2 = np.empty_like(w), np.empty_like(w)
    _sgd_step(w, g, m, lr, momentum, bool(nesterov), gscale, wd_lr, t1, t2)
    return w


def adagrad_update(w, g, a, lr, epsilon, gscale=1.0, wd_lr=0.0):
    """Keras Adagrad step in place: a += g^2; w -= lr * g / sqrt(a + epsilon). Returns w."""
    _check_vectors("adagrad_update", {"w": w, "g": g, "a": a}, writable=("w", "a"))
    t1, t2 = np.empty_like(w), np.empty_like(w)
    _adagrad_step(w, g, a, lr, epsilon, gscale, wd_lr, t1, t2)
    return w


def rmsprop_update(w, g, v, m, lr, rho, momentum, epsilon, gscale=1.0, wd_lr=0.0):
    """Keras RMSprop step in place; m=None: no momentum. Returns w.

    v = rho * v + (1 - rho) * g^2; inc = lr * g / sqrt(v + epsilon);
    w -= inc, or with momentum m = momentum * m + inc; w -= m.
    """
    _check_vectors("rmsprop_update", {"w": w, "g": g, "v": v, "m": m}, writable=("w", "v", "m"))
    t1, t2 = np.empty_like(w), np.empty_like(w)
    _rmsprop_step(w, g, v, m, lr, rho, momentum, epsilon, gscale, wd_lr, t1, t2)
    return w


def adam_update(w, g, m, v, alpha, beta_1, beta_2, epsilon, gscale=1.0, wd_lr=0.0):
    """Keras Adam step in place with alpha from adam_alpha(). Returns w.

    m += (g - m) * (1 - beta_1); v += (g^2 - v) * (1 - beta_2);
    w -= alpha * m / (sqrt(v) + epsilon). g^2 and m saturate at the dtype's largest
    finite value, so a finite gradient whose square overflows never makes v inf.
    """
    _check_vectors("adam_update", {"w": w, "g": g, "m": m, "v": v}, writable=("w", "m", "v"))
    t1, t2 = np.empty_like(w), np.empty_like(w)
    _adam_step(w, g, m, v, alpha, beta_1, beta_2, epsilon, gscale, wd_lr, t1, t2)
    return w


# ---------------------------------------------------------------------------
# Updater


class _Block:
    """Views of one contiguous run of parameters into every buffer of an Updater."""

    __slots__ = ("w", "g", "s0", "s1", "t1", "t2", "x64")

    def __init__(self, lo, hi, w, g, s0, s1, t1, t2, x64):
        self.w, self.g, self.t1, self.t2 = w[lo:hi], g[lo:hi], t1[lo:hi], t2[lo:hi]
        self.s0 = None if s0 is None else s0[lo:hi]
        self.s1 = None if s1 is None else s1[lo:hi]
        self.x64 = None if x64 is None else x64[lo:hi]


class Updater:
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

    def __init__(self, kind, params, grads, segments, hyper, trainable=None):
        h, dtype, seg = _check_updater_args(kind, params, grads, segments, hyper)
        self._train = _trainable_flags(trainable, seg.size - 1) != 0
        self._frozen = not self._train.all()
        n = params.size
        self._kind, self._hyper, self._dtype = kind, h, dtype
        self._params, self._grads, self._segments = params, grads, seg
        self._lr = h["learning_rate"]
        self._iterations = 0
        self._last_norm = math.nan
        self._slots, s0, s1 = _make_slots(kind, h, n, dtype)
        # workspaces of apply(): element-wise scratch and the float64 norm scratch
        t1, t2 = np.empty(n, dtype), np.empty(n, dtype)
        norms = h["clipnorm"] is not None or h["global_clipnorm"] is not None
        x64 = np.empty(n, np.float64) if norms else None
        self._lanes = np.empty(_LANES, np.float64)
        self._whole = _Block(0, n, params, grads, s0, s1, t1, t2, x64)
        self._blocks = [
            _Block(int(seg[i]), int(seg[i + 1]), params, grads, s0, s1, t1, t2, x64)
            for i in range(seg.size - 1)
        ]
        self._ss = [0.0] * len(self._blocks)  # squared norm of each variable
        self._scale = [1.0] * len(self._blocks)  # its clip factor

    def _trained(self):
        # the blocks of the trainable variables
        return [b for b, on in zip(self._blocks, self._train) if on]

    def _update(self, b, gscale, wd_lr, alpha):
        h = self._hyper
        if self._kind == "sgd":
            _sgd_step(
                b.w, b.g, b.s0, self._lr, h["momentum"], h["nesterov"], gscale, wd_lr, b.t1, b.t2
            )
        elif self._kind == "adagrad":
            _adagrad_step(b.w, b.g, b.s0, self._lr, h["epsilon"], gscale, wd_lr, b.t1, b.t2)
        elif self._kind == "rmsprop":
            _rmsprop_step(
                b.w,
                b.g,
                b.s0,
                b.s1,
                self._lr,
                h["rho"],
                h["momentum"],
                h["epsilon"],
                gscale,
                wd_lr,
                b.t1,
                b.t2,
            )
        else:
            _adam_step(
                b.w,
                b.g,
                b.s0,
                b.s1,
                alpha,
                h["beta_1"],
                h["beta_2"],
                h["epsilon"],
                gscale,
                wd_lr,
                b.t1,
                b.t2,
            )

    def apply(self):
        """One update of all parameters from the current gradients.

        Returns 0 after an update (iterations is incremented), or 1 when a gradient
        is not finite (checked through the norm when clipping computes one): the step
        is skipped and parameters, slots and iterations are left untouched (clipvalue
        may have clipped grads).
        """
        h = self._hyper
        clipnorm, gclip = h["clipnorm"], h["global_clipnorm"]
        # 1. clipvalue: grads clipped in place
        if h["clipvalue"] is not None:
            limit = self._grads.dtype.type(h["clipvalue"])
            for b in self._trained() if self._frozen else [self._whole]:
                np.clip(b.g, -limit, limit, out=b.g)
        # 2. squared norms in float64: per variable (clipnorm, or frozen variables to leave
        #    out) or over all parameters
        if clipnorm is not None or (gclip is not None and self._frozen):
            total = 0.0
            for i, b in enumerate(self._blocks):
                self._ss[i] = _sumsq(b.g, b.x64, self._lanes) if self._train[i] else 0.0
                total += self._ss[i]
        elif gclip is not None:
            total = _sumsq(self._whole.g, self._whole.x64, self._lanes)
        else:
            total = None
        # 3. a non-finite gradient skips the step: the norm tells when one was computed,
        #    else one pass over the gradients
        if total is not None:
            norm = math.sqrt(total)
            self._last_norm = norm
            if not math.isfinite(norm):
                return 1
        else:
            self._last_norm = math.nan
            # in blocks, like the C pass: no temporary of the gradients' size
            for b in self._trained() if self._frozen else [self._whole]:
                g = b.g
                if not all(np.isfinite(g[k : k + 8192]).all() for k in range(0, g.size, 8192)):
                    return 1
        # 4. clip factors: clipnorm / max(norm_i, clipnorm) per variable, then
        #    global_clipnorm / max(norm, global_clipnorm) on the (clipped) total
        gscale = 1.0
        if clipnorm is not None:
            gtotal = 0.0
            for i, ss in enumerate(self._ss):
                s = _clip_scale(math.sqrt(ss), clipnorm)
                gtotal += (s * s) * ss
                self._scale[i] = s
            if gclip is not None:
                gscale = _clip_scale(math.sqrt(gtotal), gclip)
        elif gclip is not None:
            gscale = _clip_scale(norm, gclip)
        # 5. the update (weight decay fused), adam's alpha in double
        wd = h["weight_decay"]
        wd_lr = 0.0 if wd is None else wd * self._lr
        alpha = 0.0
        if self._kind == "adam":
            alpha = adam_alpha(self._lr, h["beta_1"], h["beta_2"], self._iterations + 1)
        if clipnorm is not None or self._frozen:
            for b, s, on in zip(self._blocks, self._scale, self._train):
                if b.w.size and on:
                    self._update(b, s * gscale, wd_lr, alpha)
        elif self._whole.w.size:
            self._update(self._whole, gscale, wd_lr, alpha)
        self._iterations += 1
        return 0

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
        return {
            "kind": self._kind,
            "iterations": self._iterations,
            "learning_rate": self._lr,
            "slots": {k: v.copy() for k, v in self._slots.items()},
        }

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
        return (
            f"Updater(kind={self._kind!r}, size={self._params.size}, "
            f"dtype={self._dtype.name}, iterations={self._iterations})"
        )
