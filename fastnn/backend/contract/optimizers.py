"""Argument checks and constants of the optimizer kernels.

Shared by the compiled module (fastnn/backend/compiled/optimizers.pyx) and its NumPy twin
(fastnn/backend/reference/optimizers.py) so the checks and messages are identical; the
Keras-shaped classes in fastnn/optimizers.py use them too. Plain Python: importing
it never loads compiled code.
"""

import math

import numpy as np

from fastnn.backend.contract import args as _args

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


def adam_alpha(learning_rate, beta_1, beta_2, t):
    """alpha = learning_rate * sqrt(1 - beta_2^t) / (1 - beta_1^t), in double."""
    return learning_rate * math.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t)


def _check_vectors(func, arrays, writable=()):
    """Check 1-D C-contiguous float32/float64 arrays of one dtype, size, no overlap."""
    present = {k: a for k, a in arrays.items() if a is not None}
    for name, a in present.items():
        if not isinstance(a, np.ndarray):
            raise ValueError(
                f"{func} expected {name} to be a numpy.ndarray. "
                f"Received: type({name})={type(a).__name__}"
            )
    dtypes = {a.dtype for a in present.values()}
    if len(dtypes) != 1 or next(iter(dtypes)) not in (np.float32, np.float64):
        got = ", ".join(f"{k}.dtype={a.dtype}" for k, a in present.items())
        raise ValueError(
            f"{func} expected arrays of one dtype, float32 or float64. Received: {got}"
        )
    for name, a in present.items():
        if a.ndim != 1 or not a.flags.c_contiguous:
            raise ValueError(
                f"{func} expected {name} to be 1-D and C-contiguous. "
                f"Received: {name}.shape={a.shape}, "
                f"{name}.strides={a.strides}"
            )
        if name in writable and not a.flags.writeable:
            raise ValueError(
                f"{func} expected {name} to be writeable. Received: a read-only {name}"
            )
    sizes = {a.size for a in present.values()}
    if len(sizes) != 1:
        got = ", ".join(f"{k}.size={a.size}" for k, a in present.items())
        raise ValueError(f"{func} expected arrays of one size. Received: {got}")
    names = list(present)
    for i, x in enumerate(names):
        for y in names[i + 1 :]:
            if np.may_share_memory(present[x], present[y]):
                raise ValueError(
                    f"{func} expected {x} and {y} not to overlap. "
                    f"Received: {x} and {y} sharing memory"
                )
    return next(iter(dtypes))


def _check_real(func, name, value):
    """value as a finite float (bools are not real numbers here)."""
    return _args.real(func, name, value)


def _check_learning_rate(func, value):
    """value as a finite float >= 0."""
    value = _check_real(func, "learning_rate", value)
    if value < 0:
        raise ValueError(f"{func} expected learning_rate >= 0. Received: learning_rate={value!r}")
    return value


def _check_iterations(func, value):
    """value as an int >= 0 (bools are not integers here)."""
    return _args.integer(func, "iterations", value, 0)


def _check_hyper(kind, hyper):
    """Validated copy of `hyper` with Keras defaults filled in."""
    func = "Updater"
    if kind not in KINDS:
        raise ValueError(f"{func} expected kind in {list(KINDS)}. Received: kind={kind!r}")
    if not isinstance(hyper, dict):
        raise ValueError(
            f"{func} expected hyper to be a dict. Received: type(hyper)={type(hyper).__name__}"
        )
    unknown = sorted(set(hyper) - set(DEFAULT_HYPER))
    if unknown:
        raise ValueError(
            f"{func} expected hyper keys among {sorted(DEFAULT_HYPER)}. "
            f"Received: unknown keys {unknown}"
        )
    h = dict(DEFAULT_HYPER)
    h.update(hyper)
    for key in (
        "learning_rate",
        "momentum",
        "beta_1",
        "beta_2",
        "epsilon",
        "rho",
        "initial_accumulator_value",
    ):
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
        raise ValueError(
            f"{func} expected hyper['nesterov'] to be a bool. Received: {h['nesterov']!r}"
        )
    h["nesterov"] = bool(h["nesterov"])
    for key in ("weight_decay", "clipnorm", "global_clipnorm", "clipvalue"):
        if h[key] is not None:
            h[key] = _check_real(func, f"hyper[{key!r}]", h[key])
            ok = h[key] >= 0 if key == "weight_decay" else h[key] > 0
            if not ok:
                rule = ">= 0" if key == "weight_decay" else "> 0"
                raise ValueError(
                    f"{func} expected hyper[{key!r}] {rule} or None. Received: {h[key]!r}"
                )
    return h


def _check_segments(segments, n):
    """int64 copy of the variable boundaries: [0, ..., n], non-decreasing."""
    func = "Updater"
    if segments is None:
        return np.array([0, n], dtype=np.int64)
    seg = np.asarray(segments)
    if seg.ndim != 1 or seg.size < 1 or seg.dtype.kind not in "iu":
        raise ValueError(
            f"{func} expected segments to be a 1-D integer array of variable "
            f"boundaries (n_vars + 1 entries). Received: "
            f"segments.shape={seg.shape}, segments.dtype={seg.dtype}"
        )
    seg = seg.astype(np.int64)
    if seg[0] != 0 or seg[seg.size - 1] != n or np.any(np.diff(seg) < 0):
        raise ValueError(
            f"{func} expected segments non-decreasing from 0 to params.size={n}. "
            f"Received: segments={seg.tolist() if seg.size <= 12 else seg}"
        )
    return seg


def _check_updater_args(kind, params, grads, segments, hyper):
    """The checked arguments of Updater(): (hyper with defaults, dtype, int64 segments)."""
    h = _check_hyper(kind, hyper)
    dtype = _check_vectors(
        "Updater", {"params": params, "grads": grads}, writable=("params", "grads")
    )
    seg = _check_segments(segments, params.size)
    return h, np.dtype(dtype), seg


def trainable_flags(trainable, nvar):
    """One uint8 flag per variable (all 1 for None) for Updater(trainable=...)."""
    if trainable is None:
        return np.ones(max(nvar, 1), np.uint8)
    flags = np.ascontiguousarray(np.asarray(trainable, dtype=bool), dtype=np.uint8)
    if flags.ndim != 1 or flags.size != nvar:
        raise ValueError(
            f"Updater expected trainable as {nvar} flags, one per variable. "
            f"Received: shape {flags.shape}"
        )
    return flags


def _make_slots(kind, h, n, dtype):
    """(slots, s0, s1): the slot arrays of rule `kind` by name, zeros (the Adagrad
    accumulator: initial_accumulator_value), and the first two of them (or None)."""
    names = {
        "sgd": ("momentum",) if h["momentum"] != 0 else (),
        "adagrad": ("accumulator",),
        "rmsprop": ("velocity", "momentum") if h["momentum"] > 0 else ("velocity",),
        "adam": ("m", "v"),
    }[kind]
    slots = {name: np.zeros(n, dtype) for name in names}
    if kind == "adagrad":
        slots["accumulator"].fill(h["initial_accumulator_value"])
    s0 = slots[names[0]] if names else None
    s1 = slots[names[1]] if len(names) > 1 else None
    return slots, s0, s1


# slots holding running averages of squares: negative values would make the update's
# square root NaN
_SQUARES = {("adagrad", "accumulator"), ("rmsprop", "velocity"), ("adam", "v")}


def check_slot_values(kind, name, value):
    # a restored state (a file, a user's dict) must be one an Updater could have reached
    if not np.isfinite(value).all():
        bad = int(np.flatnonzero(~np.isfinite(value))[0])
        raise ValueError(
            f"Updater.set_state expected finite values in slot {name!r}. Received: "
            f"{name}[{bad}]={value[bad]}"
        )
    if (kind, name) in _SQUARES and value.size and value.min() < 0:
        bad = int(np.argmin(value))
        raise ValueError(
            f"Updater.set_state expected slot {name!r} >= 0 (a running average of squares). "
            f"Received: {name}[{bad}]={value[bad]}"
        )


def _check_state(state, kind, slots):
    """Check a get_state() dict against an Updater of rule `kind` with these slots;
    returns (its slots, iterations as an int, learning_rate or None)."""
    if not isinstance(state, dict) or "slots" not in state or "iterations" not in state:
        raise ValueError(
            "Updater.set_state expected a dict with keys 'iterations' and "
            f"'slots'. Received: {type(state).__name__} "
            f"{sorted(state) if isinstance(state, dict) else ''}"
        )
    if "kind" in state and state["kind"] != kind:
        raise ValueError(
            f"Updater.set_state expected kind={kind!r}. Received: kind={state['kind']!r}"
        )
    given = state["slots"]
    if not isinstance(given, dict) or set(given) != set(slots):
        got = sorted(given) if isinstance(given, dict) else type(given).__name__
        raise ValueError(f"Updater.set_state expected slots {sorted(slots)}. Received: {got}")
    for name, mine in slots.items():
        value = given[name]
        if (
            not isinstance(value, np.ndarray)
            or value.shape != mine.shape
            or value.dtype != mine.dtype
        ):
            got = (
                f"shape={value.shape}, dtype={value.dtype}"
                if isinstance(value, np.ndarray)
                else f"type={type(value).__name__}"
            )
            raise ValueError(
                f"Updater.set_state expected slot {name!r} of shape "
                f"{mine.shape} and dtype {mine.dtype}. Received: {got}"
            )
        check_slot_values(kind, name, value)
    iterations = _check_iterations("Updater.set_state", state["iterations"])
    lr = state.get("learning_rate")
    if lr is not None:
        lr = _check_learning_rate("Updater.set_state", lr)
    return given, iterations, lr
