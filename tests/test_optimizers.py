"""Optimizers: Keras 3 update rules, compiled Updater vs its NumPy twin, clipping,
non-finite skips, state round trips and the Keras-shaped user classes."""

import inspect
import math
import tracemalloc

import numpy as np
import pytest

import fastnn.backend.compiled.optimizers as compiled
import fastnn.backend.reference.optimizers as reference
import fastnn.optimizers as fopt

BACKENDS = [pytest.param(compiled, id="compiled"), pytest.param(reference, id="reference")]
DTYPES = [pytest.param(np.float32, id="f32"), pytest.param(np.float64, id="f64")]
# An update against the float64 formula: float64 tight, float32 to a few float32 ulps
# of the accumulated trajectory. Compiled vs reference: the same operations in the
# same order (they agree bit for bit in practice).
ORACLE_TOL = {np.float32: dict(rtol=2e-6, atol=2e-7), np.float64: dict(rtol=1e-13, atol=1e-14)}
TWIN_TOL = {np.float32: dict(rtol=1e-6, atol=1e-7), np.float64: dict(rtol=1e-13, atol=1e-15)}


# ---------------------------------------------------------------------------
# Helpers


def _flat(variables, dtype):
    """Flat buffer + segments of a list of 1-D variables."""
    sizes = [v.size for v in variables]
    segments = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    flat = np.concatenate([np.asarray(v, np.float64) for v in variables] + [np.zeros(0)])
    return flat.astype(dtype), segments


def _grad_steps(sizes, steps, seed, scales=None):
    """Per-step lists of float64 gradients, variable i scaled by scales[i]."""
    rng = np.random.default_rng(seed)
    scales = scales or [1.0] * len(sizes)
    return [[rng.standard_normal(n) * s for n, s in zip(sizes, scales)] for _ in range(steps)]


def keras_oracle(kind, variables, grad_steps, hyper, coef_dtype=np.float64):
    """The Keras 3 rules written out in float64, one variable at a time.

    Returns (variables, slots) after len(grad_steps) steps. Clipping follows
    keras/src/optimizers/base_optimizer.py (one of clipnorm, global_clipnorm, clipvalue);
    weight decay is w - w * wd * lr, before the update. The float32 kernels receive
    beta_1, beta_2 and rho as float32 (csrc/include/fastnn_kernels.h), so the moment
    coefficients 1 - beta are those of the float32 values when coef_dtype is float32
    (1 - float32(0.999) is 1.3e-5 away from 0.001); Adam's alpha stays in double.
    """
    h = dict(reference.DEFAULT_HYPER)
    h.update(hyper)
    lr, mu, eps = h["learning_rate"], h["momentum"], h["epsilon"]
    b1k, b2k, rhok = (float(coef_dtype(h[k])) for k in ("beta_1", "beta_2", "rho"))
    ws = [np.array(v, np.float64) for v in variables]
    names = {
        "sgd": ["momentum"] if mu != 0 else [],
        "adagrad": ["accumulator"],
        "rmsprop": ["velocity"] + (["momentum"] if mu > 0 else []),
        "adam": ["m", "v"],
    }
    slots = {k: [np.zeros_like(w) for w in ws] for k in names[kind]}
    if kind == "adagrad":
        slots["accumulator"] = [np.full_like(w, h["initial_accumulator_value"]) for w in ws]
    for t, grads in enumerate(grad_steps, start=1):
        gs = [np.array(g, np.float64) for g in grads]
        if h["clipnorm"]:
            c = h["clipnorm"]
            gs = [g * c / max(np.sqrt(np.sum(g * g)), c) for g in gs]
        elif h["global_clipnorm"]:
            c = h["global_clipnorm"]
            norm = np.sqrt(sum(np.sum(g * g) for g in gs))
            gs = [g * (c * min(1.0 / norm, 1.0 / c)) for g in gs]
        elif h["clipvalue"]:
            gs = [np.clip(g, -h["clipvalue"], h["clipvalue"]) for g in gs]
        if h["weight_decay"] is not None:
            ws = [w - w * h["weight_decay"] * lr for w in ws]
        for i, (w, g) in enumerate(zip(ws, gs)):
            if kind == "sgd":
                if mu != 0:
                    m = slots["momentum"][i] = mu * slots["momentum"][i] - lr * g
                    ws[i] = w + (mu * m - lr * g if h["nesterov"] else m)
                else:
                    ws[i] = w - lr * g
            elif kind == "adagrad":
                a = slots["accumulator"][i] = slots["accumulator"][i] + g * g
                ws[i] = w - lr * g / np.sqrt(a + eps)
            elif kind == "rmsprop":
                v = slots["velocity"][i] = rhok * slots["velocity"][i] + (1 - rhok) * g * g
                inc = lr * g / np.sqrt(v + eps)
                if mu > 0:
                    m = slots["momentum"][i] = mu * slots["momentum"][i] + inc
                    ws[i] = w - m
                else:
                    ws[i] = w - inc
            else:
                b1, b2 = h["beta_1"], h["beta_2"]
                alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
                m = slots["m"][i] = slots["m"][i] + (g - slots["m"][i]) * (1 - b1k)
                v = slots["v"][i] = slots["v"][i] + (g * g - slots["v"][i]) * (1 - b2k)
                ws[i] = w - m * alpha / (np.sqrt(v) + eps)
    return ws, slots


def _run(backend, kind, variables, grad_steps, hyper, dtype):
    """Run an Updater of `backend` over the steps; returns (updater, params)."""
    params, segments = _flat(variables, dtype)
    grads = np.zeros_like(params)
    up = backend.Updater(kind, params, grads, segments, hyper)
    for step in grad_steps:
        grads[...] = np.concatenate([np.asarray(g, np.float64) for g in step] + [np.zeros(0)])
        assert up.apply() == 0
    return up, params


def _doc(obj):
    """Docstring without the signature line the compiled module embeds."""
    doc = inspect.getdoc(obj) or ""
    first, _, rest = doc.partition("\n")
    name = getattr(obj, "__name__", "")
    if name and first.startswith(name + "(") or first.startswith("Updater."):
        doc = rest
    return inspect.cleandoc(doc)


# ---------------------------------------------------------------------------
# Each rule against the Keras formula written out, several steps

SIZES = [3, 1, 0, 7, 12]  # includes a size-1 and a size-0 variable
SCALES = [3.0, 0.01, 1.0, 0.05, 2.0]  # some variables above clipnorm, some below

RULES = [
    ("sgd", {}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("adagrad", {}),
    ("adagrad", {"initial_accumulator_value": 0.5, "epsilon": 1e-3}),
    ("rmsprop", {}),
    ("rmsprop", {"rho": 0.7, "momentum": 0.8}),
    ("adam", {}),
    ("adam", {"beta_1": 0.5, "beta_2": 0.8, "epsilon": 1e-3}),
    ("sgd", {"momentum": 0.9, "weight_decay": 0.1}),
    ("adagrad", {"weight_decay": 0.2}),
    ("rmsprop", {"momentum": 0.5, "weight_decay": 0.1}),
    ("adam", {"weight_decay": 0.05}),
    ("sgd", {"clipnorm": 0.5}),
    ("adam", {"clipnorm": 0.5}),
    ("rmsprop", {"clipnorm": 0.2}),
    ("sgd", {"momentum": 0.5, "global_clipnorm": 0.7}),
    ("adam", {"global_clipnorm": 0.7}),
    ("adagrad", {"global_clipnorm": 100.0}),  # above the norm: no clipping
    ("sgd", {"clipvalue": 0.3}),
    ("rmsprop", {"clipvalue": 0.3}),
    ("adam", {"clipvalue": 0.3, "weight_decay": 0.01}),
]


@pytest.mark.parametrize(
    "kind,hyper", RULES, ids=[f"{k}-{'-'.join(h) or 'plain'}" for k, h in RULES]
)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_rule_matches_keras_formula(backend, dtype, kind, hyper):
    hyper = dict(hyper, learning_rate=0.05)
    rng = np.random.default_rng(7)
    variables = [rng.standard_normal(n) for n in SIZES]
    if dtype == np.float32:  # start from values both precisions represent exactly
        variables = [v.astype(np.float32).astype(np.float64) for v in variables]
    steps = _grad_steps(SIZES, 5, seed=8, scales=SCALES)
    if dtype == np.float32:
        steps = [[g.astype(np.float32).astype(np.float64) for g in s] for s in steps]
    up, params = _run(backend, kind, variables, steps, hyper, dtype)
    want, want_slots = keras_oracle(kind, variables, steps, hyper, coef_dtype=dtype)
    np.testing.assert_allclose(params, np.concatenate(want), **ORACLE_TOL[dtype])
    assert set(up.slots) == set(want_slots)
    for name, arr in up.slots.items():
        np.testing.assert_allclose(arr, np.concatenate(want_slots[name]), **ORACLE_TOL[dtype])
    assert up.iterations == 5
    # the case actually moved the parameters
    assert not np.allclose(params, np.concatenate(variables))


@pytest.mark.parametrize("backend", BACKENDS)
def test_clipnorm_is_per_variable_and_global_clipnorm_is_global(backend):
    # one step of plain SGD with lr 1 exposes the clipped gradient: w1 - w0 = -g_clipped
    g = [np.array([3.0, 4.0]), np.array([0.3, 0.4]), np.array([])]
    for hyper, want in [
        ({"clipnorm": 1.0}, [np.array([0.6, 0.8]), np.array([0.3, 0.4])]),
        (
            {"global_clipnorm": 1.0},
            [np.array([3.0, 4.0]) / math.sqrt(25.25), np.array([0.3, 0.4]) / math.sqrt(25.25)],
        ),
        ({"clipvalue": 0.35}, [np.array([0.35, 0.35]), np.array([0.3, 0.35])]),
    ]:
        up, params = _run(
            backend,
            "sgd",
            [np.zeros(2), np.zeros(2), np.zeros(0)],
            [g],
            dict(hyper, learning_rate=1.0),
            np.float64,
        )
        np.testing.assert_allclose(-params, np.concatenate(want), rtol=1e-14, atol=1e-16)
        if "clipvalue" in hyper:  # no norm computed
            assert math.isnan(up.last_grad_norm)
        else:  # the norm before clipping
            assert up.last_grad_norm == pytest.approx(math.sqrt(25.25), rel=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_combined_clipping_order(backend):
    # Updater-level combination (the user classes allow one at a time, as Keras):
    # clipvalue first, then clipnorm per variable, then global_clipnorm on the result.
    g = np.array([5.0, -1.0, 0.1, 0.2])
    params = np.zeros(4)
    grads = g.copy()
    up = backend.Updater(
        "sgd",
        params,
        grads,
        np.array([0, 2, 4]),
        {"learning_rate": 1.0, "clipvalue": 2.0, "clipnorm": 1.5, "global_clipnorm": 1.0},
    )
    assert up.apply() == 0
    v = np.clip(g, -2.0, 2.0)
    a, b = v[:2], v[2:]
    a = a * 1.5 / max(np.linalg.norm(a), 1.5)
    b = b * 1.5 / max(np.linalg.norm(b), 1.5)
    both = np.concatenate([a, b])
    both *= 1.0 / max(np.linalg.norm(both), 1.0)
    np.testing.assert_allclose(-params, both, rtol=1e-14)
    np.testing.assert_array_equal(grads, v)  # clipvalue works in place on grads
    assert up.last_grad_norm == pytest.approx(np.linalg.norm(v), rel=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_adam_alpha_uses_iterations_plus_one(backend):
    g = np.array([0.5, -2.0, 1e-3])
    params = np.ones(3)
    up = backend.Updater("adam", params, g.copy(), None, {"learning_rate": 0.1})
    up.iterations = 9  # next step is t = 10
    up.apply()
    b1, b2, eps = 0.9, 0.999, 1e-7
    alpha = 0.1 * math.sqrt(1 - b2**10) / (1 - b1**10)
    assert backend.adam_alpha(0.1, b1, b2, 10) == alpha
    m, v = (1 - b1) * g, (1 - b2) * g * g
    np.testing.assert_allclose(params, 1 - alpha * m / (np.sqrt(v) + eps), rtol=1e-15)
    assert up.iterations == 10


@pytest.mark.parametrize("backend", BACKENDS)
def test_learning_rate_change_takes_effect(backend):
    params = np.zeros(3, np.float32)
    grads = np.array([1.0, 2.0, -4.0], np.float32)
    up = backend.Updater("sgd", params, grads, None, {"learning_rate": 0.5})
    up.apply()
    up.learning_rate = 0.25
    assert up.learning_rate == 0.25 and up.hyper["learning_rate"] == 0.25
    up.apply()
    np.testing.assert_array_equal(params, -0.75 * grads)
    with pytest.raises(ValueError, match="expected learning_rate >= 0. Received"):
        up.learning_rate = -1.0
    with pytest.raises(ValueError, match="finite"):
        up.learning_rate = math.inf
    with pytest.raises(ValueError, match="iterations as a non-negative int"):
        up.iterations = -1


# ---------------------------------------------------------------------------
# Compiled vs reference on the same inputs

SHAPES = [[1], [1, 0, 3], [0, 5], [17, 1, 64], [8, 9, 1000, 3], [0], []]
TWIN_RULES = [
    ("sgd", {}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("adagrad", {}),
    ("rmsprop", {}),
    ("rmsprop", {"momentum": 0.6}),
    ("adam", {}),
    ("adam", {"weight_decay": 0.04, "clipnorm": 0.8}),
    ("sgd", {"momentum": 0.3, "weight_decay": 0.1, "global_clipnorm": 1.0}),
    ("rmsprop", {"clipvalue": 0.5, "clipnorm": 2.0, "global_clipnorm": 3.0}),
    ("adagrad", {"weight_decay": 0.3, "clipvalue": 0.2}),
]


@pytest.mark.parametrize("sizes", SHAPES, ids=lambda s: "x".join(map(str, s)) or "none")
@pytest.mark.parametrize(
    "kind,hyper", TWIN_RULES, ids=[f"{k}-{'-'.join(h) or 'plain'}" for k, h in TWIN_RULES]
)
@pytest.mark.parametrize("dtype", DTYPES)
def test_compiled_matches_reference(dtype, kind, hyper, sizes):
    rng = np.random.default_rng(len(sizes) * 31 + sum(sizes))
    variables = [rng.standard_normal(n) for n in sizes]
    steps = _grad_steps(sizes, 4, seed=5, scales=[2.0 ** (i % 5 - 2) for i in range(len(sizes))])
    hyper = dict(hyper, learning_rate=0.03)
    a, pa = _run(compiled, kind, variables, steps, hyper, dtype)
    b, pb = _run(reference, kind, variables, steps, hyper, dtype)
    np.testing.assert_allclose(pa, pb, **TWIN_TOL[dtype])
    assert set(a.slots) == set(b.slots)
    for name in a.slots:
        assert a.slots[name].dtype == dtype
        np.testing.assert_allclose(a.slots[name], b.slots[name], **TWIN_TOL[dtype])
    assert a.iterations == b.iterations == 4
    if "clipnorm" in hyper or "global_clipnorm" in hyper:
        assert a.last_grad_norm == pytest.approx(b.last_grad_norm, rel=1e-14, abs=1e-300)
    else:
        assert math.isnan(a.last_grad_norm) and math.isnan(b.last_grad_norm)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 1000, 4099])
def test_sumsq_fixed_order_in_double(dtype, n):
    rng = np.random.default_rng(n)
    g = (rng.standard_normal(n) * 10.0 ** rng.integers(-3, 4, n)).astype(dtype)
    exact = math.fsum(float(x) * float(x) for x in g.astype(np.float64))
    a, b = compiled.sumsq(g), reference.sumsq(g)
    assert a == pytest.approx(exact, rel=1e-14, abs=0)
    assert a == pytest.approx(b, rel=1e-15, abs=0)
    assert a == compiled.sumsq(g.copy())  # reproducible


@pytest.mark.parametrize("dtype", DTYPES)
def test_clip_values_twins_keep_nan(dtype):
    g = np.array([-3.0, -0.5, 0.0, 0.5, 3.0, np.nan, np.inf, -np.inf], dtype)
    want = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, np.nan, 1.0, -1.0], dtype)
    for mod in (compiled, reference):
        out = mod.clip_values(g.copy(), 1.0)
        np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [0, 1, 5, 33])
def test_low_level_updates_twins(dtype, n):
    rng = np.random.default_rng(n + 100)

    def arrays(k):
        return [rng.standard_normal(n).astype(dtype) for _ in range(k)]

    w, g, m, v = arrays(4)
    v = np.abs(v)
    calls = [
        (
            "sgd_update",
            lambda mod, a: mod.sgd_update(a[0], a[1], None, 0.1, 0.0, False, 0.7, 0.01),
            2,
        ),
        ("sgd_update", lambda mod, a: mod.sgd_update(a[0], a[1], a[2], 0.1, 0.9, False), 3),
        (
            "sgd_update",
            lambda mod, a: mod.sgd_update(a[0], a[1], a[2], 0.1, 0.9, True, 0.5, 0.02),
            3,
        ),
        (
            "adagrad_update",
            lambda mod, a: mod.adagrad_update(a[0], a[1], a[3], 0.1, 1e-7, 0.9, 0.01),
            4,
        ),
        (
            "rmsprop_update",
            lambda mod, a: mod.rmsprop_update(a[0], a[1], a[3], None, 0.01, 0.9, 0.0, 1e-7),
            4,
        ),
        (
            "rmsprop_update",
            lambda mod, a: mod.rmsprop_update(
                a[0], a[1], a[3], a[2], 0.01, 0.9, 0.5, 1e-7, 0.3, 0.001
            ),
            4,
        ),
        (
            "adam_update",
            lambda mod, a: mod.adam_update(
                a[0], a[1], a[2], a[3], 0.003, 0.9, 0.999, 1e-7, 1.5, 0.02
            ),
            4,
        ),
    ]
    for name, call, _k in calls:
        res = []
        for mod in (compiled, reference):
            a = [x.copy() for x in (w, g, m, v)]
            out = call(mod, a)
            assert out is a[0]
            res.append(a)
        for x, y in zip(*res):
            np.testing.assert_allclose(x, y, **TWIN_TOL[dtype], err_msg=name)
        assert n == 0 or not np.array_equal(res[0][0], w), name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_saturates_overflowing_squares_like_its_twin(dtype):
    # finite gradients whose squares overflow: v must stay finite (no inf - inf = NaN
    # on the next step) and the compiled kernel must agree with the twin bit for bit
    big = np.finfo(dtype).max
    g = np.array([big, -big, np.sqrt(big) * 4, 1.0, -3.0], dtype)
    res = []
    for mod in (compiled, reference):
        w = np.ones(5, dtype)
        m = np.array([-big, big, 0.0, 0.5, 0.0], dtype)
        v = np.zeros(5, dtype)
        for _ in range(3):
            mod.adam_update(w, g, m, v, 0.001, 0.9, 0.999, 1e-7)
            assert np.isfinite(w).all() and np.isfinite(m).all() and np.isfinite(v).all()
        res.append((w, m, v))
    for x, y in zip(*res):
        np.testing.assert_array_equal(x, y)
    assert res[0][2][0] > big / 1000  # 3 steps of c2 * big: saturated, not inf


# ---------------------------------------------------------------------------
# Non-finite gradient norms skip the step


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("clip", ["clipnorm", "global_clipnorm"])
@pytest.mark.parametrize("kind", ["sgd", "adam", "rmsprop", "adagrad"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_non_finite_norm_skips_update(backend, dtype, kind, clip, bad):
    rng = np.random.default_rng(3)
    params = rng.standard_normal(10).astype(dtype)
    grads = rng.standard_normal(10).astype(dtype)
    hyper = {"learning_rate": 0.1, clip: 1.0, "weight_decay": 0.1}
    if kind in ("sgd", "rmsprop"):
        hyper["momentum"] = 0.5
    up = backend.Updater(kind, params, grads, np.array([0, 4, 10]), hyper)
    assert up.apply() == 0
    before = params.copy(), {k: v.copy() for k, v in up.slots.items()}
    grads[6] = bad
    assert up.apply() == 1
    assert not math.isfinite(up.last_grad_norm)
    np.testing.assert_array_equal(params, before[0])
    for k, v in up.slots.items():
        np.testing.assert_array_equal(v, before[1][k])
    assert up.iterations == 1
    grads[6] = 0.5
    assert up.apply() == 0
    assert up.iterations == 2 and math.isfinite(up.last_grad_norm)
    assert not np.array_equal(params, before[0])


@pytest.mark.parametrize("where", [0, 149_999, 150_000, 300_010])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_non_finite_gradient_without_clipping_skips_update(backend, dtype, where):
    """Without norm clipping a separate scan finds the bad value; 300,011 values are
    enough for the compiled scan to run in two halves: a value in either half, at its
    first or last position, is found."""
    rng = np.random.default_rng(5)
    params = rng.standard_normal(300_011).astype(dtype)
    grads = rng.standard_normal(300_011).astype(dtype)
    up = backend.Updater("adam", params, grads, None, {"learning_rate": 0.1})
    before = params.copy()
    grads[where] = np.nan
    assert up.apply() == 1
    np.testing.assert_array_equal(params, before)
    assert up.iterations == 0
    grads[where] = np.inf
    assert up.apply() == 1
    grads[where] = 0.5
    assert up.apply() == 0 and up.iterations == 1
    assert not np.array_equal(params, before)


@pytest.mark.parametrize("backend", BACKENDS)
def test_overflowing_float64_norm_skips(backend):
    params = np.ones(4)
    grads = np.full(4, 1e200)  # finite entries, squared norm overflows
    up = backend.Updater("sgd", params, grads, None, {"global_clipnorm": 1.0})
    assert up.apply() == 1
    assert up.last_grad_norm == math.inf
    np.testing.assert_array_equal(params, 1.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_parameter_buffer(backend):
    params, grads = np.zeros(0, np.float32), np.zeros(0, np.float32)
    up = backend.Updater("adam", params, grads, np.array([0]), {"global_clipnorm": 1.0})
    assert up.apply() == 0
    assert up.iterations == 1 and up.last_grad_norm == 0.0
    assert {k: v.shape for k, v in up.slots.items()} == {"m": (0,), "v": (0,)}


# ---------------------------------------------------------------------------
# Slots, state


@pytest.mark.parametrize("backend", BACKENDS)
def test_slots_per_kind(backend):
    def slots(kind, **hyper):
        p, g = np.zeros(5, np.float32), np.zeros(5, np.float32)
        up = backend.Updater(kind, p, g, None, hyper)
        return {k: (v.dtype, v.shape, float(v[0])) for k, v in up.slots.items()}

    f32 = np.dtype(np.float32)
    assert slots("sgd") == {}
    assert slots("sgd", momentum=0.5) == {"momentum": (f32, (5,), 0.0)}
    assert slots("adagrad", initial_accumulator_value=0.25) == {"accumulator": (f32, (5,), 0.25)}
    assert slots("rmsprop") == {"velocity": (f32, (5,), 0.0)}
    assert slots("rmsprop", momentum=0.1) == {
        "velocity": (f32, (5,), 0.0),
        "momentum": (f32, (5,), 0.0),
    }
    assert slots("adam") == {"m": (f32, (5,), 0.0), "v": (f32, (5,), 0.0)}


@pytest.mark.parametrize(
    "kind,hyper",
    [("sgd", {"momentum": 0.9}), ("adagrad", {}), ("rmsprop", {"momentum": 0.5}), ("adam", {})],
)
@pytest.mark.parametrize("target", BACKENDS)
@pytest.mark.parametrize("source", BACKENDS)
def test_state_round_trip(source, target, kind, hyper):
    rng = np.random.default_rng(11)
    p0 = rng.standard_normal(20)
    steps = [rng.standard_normal(20) for _ in range(6)]
    hyper = dict(hyper, learning_rate=0.02)

    pa, ga = p0.copy(), np.zeros(20)
    a = source.Updater(kind, pa, ga, np.array([0, 5, 20]), hyper)
    for g in steps[:3]:
        ga[...] = g
        a.apply()
    a.learning_rate = 0.01
    state = a.get_state()
    assert state["iterations"] == 3 and state["learning_rate"] == 0.01
    assert state["kind"] == kind
    for name, arr in state["slots"].items():  # copies, not the live slots
        assert arr is not a.slots[name] and np.array_equal(arr, a.slots[name])

    pb, gb = pa.copy(), np.zeros(20)
    b = target.Updater(kind, pb, gb, np.array([0, 5, 20]), hyper)
    live = b.slots
    b.set_state(state)
    for name in live:  # copied into the existing arrays
        assert b.slots[name] is live[name]
        np.testing.assert_array_equal(live[name], state["slots"][name])
    assert b.iterations == 3 and b.learning_rate == 0.01
    for name in state["slots"]:
        state["slots"][name][...] = 123.0  # the state holds copies
    for g in steps[3:]:
        ga[...] = g
        gb[...] = g
        a.apply()
        b.apply()
    np.testing.assert_allclose(pb, pa, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_set_state_errors_leave_state_untouched(backend):
    params, grads = np.zeros(4, np.float32), np.ones(4, np.float32)
    up = backend.Updater("adam", params, grads, None, {})
    up.apply()
    good = up.get_state()
    bad_cases = [
        ({**good, "kind": "sgd"}, "expected kind='adam'"),
        ({**good, "slots": {"m": good["slots"]["m"]}}, r"expected slots \['m', 'v'\]"),
        (
            {**good, "slots": {**good["slots"], "v": np.zeros(5, np.float32)}},
            r"slot 'v' of shape \(4,\) and dtype float32. Received: shape=\(5,\)",
        ),
        (
            {**good, "slots": {**good["slots"], "m": np.zeros(4, np.float64)}},
            "dtype float32. Received: shape=.*dtype=float64",
        ),
        ({**good, "iterations": -1}, "iterations as a non-negative int"),
        (
            {
                **good,
                "slots": {**good["slots"], "v": np.full(4, 9, np.float32)},
                "learning_rate": -1.0,
            },
            "learning_rate >= 0",
        ),
        ({"slots": good["slots"]}, "expected a dict with keys 'iterations' and 'slots'"),
    ]
    for state, match in bad_cases:
        with pytest.raises(ValueError, match=match):
            up.set_state(state)
        assert up.iterations == 1 and up.learning_rate == 0.001
        np.testing.assert_array_equal(up.slots["v"], good["slots"]["v"])


# ---------------------------------------------------------------------------
# Allocation-free apply()


@pytest.mark.parametrize(
    "kind,hyper",
    [
        ("adam", {"clipnorm": 1.0, "weight_decay": 0.1}),
        ("adam", {"global_clipnorm": 1.0}),
        ("rmsprop", {"momentum": 0.5, "clipvalue": 0.1}),
        ("sgd", {"momentum": 0.9}),
        ("adagrad", {}),
    ],
)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_apply_allocates_no_arrays(backend, dtype, kind, hyper):
    n = 1 << 16
    params, grads = np.ones(n, dtype), np.full(n, 0.5, dtype)
    up = backend.Updater(kind, params, grads, np.array([0, 10, 1000, n]), hyper)
    up.apply()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        up.apply()
        up.apply()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    # no temporary of even an eighth of the buffer; the compiled step allocates nothing
    limit = 256 if backend is compiled else params.nbytes // 8
    assert peak < limit, peak


# ---------------------------------------------------------------------------
# Validation at the Updater boundary (identical messages in both twins)

_P32, _G32 = np.zeros(6, np.float32), np.zeros(6, np.float32)

UPDATER_ERRORS = [
    (
        lambda: ("adam", _P32, np.zeros(6, np.float64), None, {}),
        r"expected arrays of one dtype, float32 or float64. "
        r"Received: params.dtype=float32, grads.dtype=float64",
    ),
    (
        lambda: ("adam", np.zeros(6, np.int64), np.zeros(6, np.int64), None, {}),
        "Received: params.dtype=int64, grads.dtype=int64",
    ),
    (
        lambda: ("adam", _P32, np.zeros(5, np.float32), None, {}),
        r"one size. Received: params.size=6, grads.size=5",
    ),
    (
        lambda: ("adam", np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float32), None, {}),
        r"params to be 1-D and C-contiguous. Received: params.shape=\(2, 3\)",
    ),
    (
        lambda: ("adam", np.zeros(12, np.float32)[::2], _G32, None, {}),
        "params to be 1-D and C-contiguous",
    ),
    (lambda: ("adam", [0.0] * 6, _G32, None, {}), "params to be a numpy.ndarray"),
    (lambda: ("adam", _P32, _P32, None, {}), "params and grads not to overlap"),
    (
        lambda: ("adam", np.zeros(6, np.float32), _G32, np.array([0, 3]), {}),
        r"segments non-decreasing from 0 to params.size=6. Received: segments=\[0, 3\]",
    ),
    (
        lambda: ("adam", np.zeros(6, np.float32), _G32, np.array([1, 6]), {}),
        "non-decreasing from 0",
    ),
    (
        lambda: ("adam", np.zeros(6, np.float32), _G32, np.array([0, 4, 2, 6]), {}),
        "non-decreasing from 0",
    ),
    (
        lambda: ("adam", np.zeros(6, np.float32), _G32, np.array([0.0, 6.0]), {}),
        "segments to be a 1-D integer array",
    ),
    (
        lambda: ("adamw", np.zeros(6, np.float32), _G32, None, {}),
        r"expected kind in \['sgd', 'adagrad', 'rmsprop', 'adam'\]. Received: kind='adamw'",
    ),
    (
        lambda: ("adam", np.zeros(6, np.float32), _G32, None, {"lr": 0.1}),
        r"Received: unknown keys \['lr'\]",
    ),
    (
        lambda: ("adam", np.zeros(6, np.float32), _G32, None, {"beta_1": 1.0}),
        r"expected hyper\['beta_1'\] in \(0, 1\). Received: 1.0",
    ),
    (
        lambda: ("sgd", np.zeros(6, np.float32), _G32, None, {"momentum": -0.1}),
        r"hyper\['momentum'\] in \[0, 1\)",
    ),
    (
        lambda: ("sgd", np.zeros(6, np.float32), _G32, None, {"clipnorm": 0.0}),
        r"hyper\['clipnorm'\] > 0 or None. Received: 0.0",
    ),
    (
        lambda: ("sgd", np.zeros(6, np.float32), _G32, None, {"learning_rate": "0.1"}),
        r"hyper\['learning_rate'\] as a finite real number",
    ),
    (
        lambda: ("sgd", np.zeros(6, np.float32), _G32, None, {"nesterov": 1}),
        r"hyper\['nesterov'\] to be a bool",
    ),
]


@pytest.mark.parametrize("case", range(len(UPDATER_ERRORS)))
def test_updater_validation_messages(case):
    make, match = UPDATER_ERRORS[case]
    messages = []
    for backend in (compiled, reference):
        with pytest.raises(ValueError, match=match) as err:
            backend.Updater(*make())
        messages.append(str(err.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("backend", BACKENDS)
def test_updater_rejects_read_only_params(backend):
    p = np.zeros(3)
    p.flags.writeable = False
    with pytest.raises(ValueError, match="params to be writeable"):
        backend.Updater("sgd", p, np.zeros(3), None, {})


def test_low_level_dtype_mismatch_names_every_dtype():
    w, g = np.zeros(3, np.float32), np.zeros(3, np.float64)
    m = np.zeros(3, np.float32)
    for mod in (compiled, reference):
        with pytest.raises(ValueError, match="w.dtype=float32, g.dtype=float64, m.dtype=float32"):
            mod.sgd_update(w, g, m, 0.1, 0.9, False)


def test_twins_expose_the_same_api_and_docs():
    public = {n for n in dir(reference) if not n.startswith("_")} - {"math", "np", "numbers"}
    assert public <= set(dir(compiled))
    for name in (
        "sumsq",
        "clip_values",
        "sgd_update",
        "adagrad_update",
        "rmsprop_update",
        "adam_update",
        "adam_alpha",
    ):
        assert _doc(getattr(compiled, name)) == _doc(getattr(reference, name)), name
    assert compiled.DEFAULT_HYPER == reference.DEFAULT_HYPER
    assert compiled.KINDS == reference.KINDS
    attrs = {n for n in dir(reference.Updater) if not n.startswith("_")}
    assert attrs == {n for n in dir(compiled.Updater) if not n.startswith("_")}
    for name in attrs:
        assert _doc(getattr(compiled.Updater, name)) == _doc(getattr(reference.Updater, name))
    assert _doc(compiled.Updater) == _doc(reference.Updater)


# ---------------------------------------------------------------------------
# User classes


def test_defaults_match_keras():
    assert fopt.SGD().get_config() == {
        "name": "SGD",
        "learning_rate": 0.01,
        "weight_decay": None,
        "clipnorm": None,
        "global_clipnorm": None,
        "clipvalue": None,
        "momentum": 0.0,
        "nesterov": False,
    }
    a = fopt.Adagrad()
    assert (a.learning_rate, a.initial_accumulator_value, a.epsilon) == (0.001, 0.1, 1e-7)
    r = fopt.RMSprop()
    assert (r.learning_rate, r.rho, r.momentum, r.epsilon, r.centered) == (
        0.001,
        0.9,
        0.0,
        1e-7,
        False,
    )
    d = fopt.Adam()
    assert (d.learning_rate, d.beta_1, d.beta_2, d.epsilon, d.amsgrad) == (
        0.001,
        0.9,
        0.999,
        1e-7,
        False,
    )
    for cls in (fopt.SGD, fopt.Adagrad, fopt.RMSprop, fopt.Adam):
        assert "w = w" in cls.__doc__  # each documents its update formula


@pytest.mark.parametrize(
    "name,cls",
    [
        ("sgd", fopt.SGD),
        ("SGD", fopt.SGD),
        ("Adam", fopt.Adam),
        ("ADAGRAD", fopt.Adagrad),
        ("rmsprop", fopt.RMSprop),
        ("RMSprop", fopt.RMSprop),
    ],
)
def test_get_by_name(name, cls):
    opt = fopt.get(name)
    assert type(opt) is cls
    assert opt.get_config() == cls().get_config()


def test_get_instance_dict_and_round_trip():
    opt = fopt.Adam(learning_rate=0.01, beta_1=0.8, clipnorm=2.0, name="mine")
    assert fopt.get(opt) is opt
    again = fopt.get(fopt.serialize(opt))
    assert type(again) is fopt.Adam and again is not opt
    assert again.get_config() == opt.get_config()
    sgd = fopt.get({"class_name": "sgd", "config": {"learning_rate": 0.1, "momentum": 0.9}})
    assert (sgd.learning_rate, sgd.momentum) == (0.1, 0.9)
    assert type(fopt.get({"class_name": "RMSprop"})) is fopt.RMSprop
    # a Keras 3 config with its extra keys at their neutral values
    keras_cfg = {
        "name": "adam",
        "learning_rate": 0.002,
        "weight_decay": None,
        "clipnorm": None,
        "global_clipnorm": None,
        "clipvalue": None,
        "use_ema": False,
        "ema_momentum": 0.99,
        "ema_overwrite_frequency": None,
        "loss_scale_factor": None,
        "gradient_accumulation_steps": None,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-07,
        "amsgrad": False,
    }
    assert fopt.get({"class_name": "Adam", "config": keras_cfg}).learning_rate == 0.002
    with pytest.raises(ValueError, match="use_ema is not implemented"):
        fopt.Adam.from_config({**keras_cfg, "use_ema": True})
    for cls in (fopt.SGD, fopt.Adagrad, fopt.RMSprop, fopt.Adam):
        opt = cls(learning_rate=0.5, weight_decay=0.01)
        assert cls.from_config(opt.get_config()).get_config() == opt.get_config()


@pytest.mark.parametrize(
    "identifier,match",
    [
        (
            "adamw",
            r"Unknown optimizer: expected one of \['adagrad', 'adam', 'rmsprop', 'sgd'\]. "
            r"Received: 'adamw'",
        ),
        (
            {"class_name": "Nadam", "config": {}},
            r"class_name one of \['SGD', 'Adagrad', "
            r"'RMSprop', 'Adam'\]. Received: class_name='Nadam'",
        ),
        ({"config": {}}, "Received: class_name=None"),
        (None, "Could not interpret optimizer identifier"),
        (3, r"a name among \['adagrad', 'adam', 'rmsprop', 'sgd'\]"),
    ],
)
def test_get_errors(identifier, match):
    with pytest.raises(ValueError, match=match):
        fopt.get(identifier)


@pytest.mark.parametrize(
    "make,match",
    [
        (
            lambda: fopt.SGD(learning_rate=0.0),
            r"SGD expected learning_rate > 0. Received: "
            r"learning_rate=0.0",
        ),
        (lambda: fopt.Adam(learning_rate=-1e-3), "Adam expected learning_rate > 0"),
        (
            lambda: fopt.Adam(learning_rate=math.nan),
            "Adam expected learning_rate as a finite real number",
        ),
        (lambda: fopt.Adam(learning_rate="0.1"), "learning_rate as a finite real number"),
        (
            lambda: fopt.SGD(momentum=1.0),
            r"SGD expected momentum in \[0, 1\). Received: "
            r"momentum=1.0",
        ),
        (lambda: fopt.SGD(momentum=-0.5), r"momentum in \[0, 1\)"),
        (lambda: fopt.SGD(nesterov="yes"), "nesterov to be a bool"),
        (lambda: fopt.RMSprop(rho=1.0), r"RMSprop expected rho in \[0, 1\)"),
        (lambda: fopt.RMSprop(momentum=1.5), r"RMSprop expected momentum in \[0, 1\)"),
        (lambda: fopt.RMSprop(epsilon=0.0), "RMSprop expected epsilon > 0"),
        (lambda: fopt.Adam(beta_1=0.0), r"Adam expected beta_1 in \(0, 1\)"),
        (lambda: fopt.Adam(beta_2=1.0), r"Adam expected beta_2 in \(0, 1\). Received: beta_2=1.0"),
        (lambda: fopt.Adam(epsilon=-1.0), "Adam expected epsilon > 0"),
        (
            lambda: fopt.Adagrad(initial_accumulator_value=-0.1),
            "Adagrad expected initial_accumulator_value >= 0",
        ),
        (lambda: fopt.Adagrad(epsilon=0), "Adagrad expected epsilon > 0"),
        (lambda: fopt.SGD(weight_decay=-0.1), "SGD expected weight_decay >= 0 or None"),
        (lambda: fopt.SGD(clipnorm=0.0), "SGD expected clipnorm > 0 or None"),
        (lambda: fopt.Adam(clipvalue=-1.0), "Adam expected clipvalue > 0 or None"),
        (lambda: fopt.Adam(global_clipnorm=math.inf), "global_clipnorm as a finite real number"),
        (
            lambda: fopt.Adam(clipnorm=1.0, global_clipnorm=1.0),
            "Adam expected at most one of clipnorm, clipvalue and global_clipnorm to be set. "
            "Received: clipnorm=1.0, clipvalue=None, global_clipnorm=1.0",
        ),
        (lambda: fopt.SGD(clipnorm=1.0, clipvalue=0.5), "at most one of clipnorm"),
        (lambda: fopt.SGD(name=3), "name to be a str or None"),
        # unknown keyword: Keras 3's "Argument(s) not recognized" (ValueError)
        (lambda: fopt.SGD(lr=0.1), r"Argument\(s\) not recognized: \{'lr': 0.1\}"),
    ],
)
def test_hyperparameter_validation(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_not_implemented_variants_and_abstract_base():
    with pytest.raises(NotImplementedError, match=r"RMSprop\(centered=True\) is not implemented"):
        fopt.RMSprop(centered=True)
    with pytest.raises(NotImplementedError, match=r"Adam\(amsgrad=True\) is not implemented"):
        fopt.Adam(amsgrad=True)
    with pytest.raises(TypeError, match="Optimizer is abstract"):
        fopt.Optimizer(0.1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_build_forwards_learning_rate_and_iterations(backend):
    opt = fopt.SGD(learning_rate=0.5, momentum=0.9)
    assert opt.updater is None and opt.iterations == 0
    opt.learning_rate = 0.25
    params, grads = np.zeros(4, np.float32), np.ones(4, np.float32)
    up = opt.build(params, grads, np.array([0, 1, 4]), backend)
    assert isinstance(up, backend.Updater) and opt.updater is up
    assert up.kind == "sgd" and up.dtype == np.float32
    assert up.hyper["momentum"] == 0.9 and up.learning_rate == 0.25
    up.apply()
    assert opt.iterations == 1
    np.testing.assert_array_equal(params, -0.25)
    opt.learning_rate = 0.1
    assert up.learning_rate == 0.1 and opt.learning_rate == 0.1
    up.learning_rate = 0.05  # a change made on the updater is what the optimizer reports
    assert opt.learning_rate == 0.05
    with pytest.raises(ValueError, match="SGD expected learning_rate > 0"):
        opt.learning_rate = 0.0
    opt.iterations = 7
    assert up.iterations == 7
    with pytest.raises(ValueError, match="SGD.build expected a backend module"):
        opt.build(params, grads, None, np)


@pytest.mark.parametrize(
    "opt",
    [
        fopt.SGD(learning_rate=0.1),
        fopt.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
        fopt.Adagrad(learning_rate=0.5),
        fopt.RMSprop(learning_rate=0.02, momentum=0.5),
        fopt.Adam(learning_rate=0.05),
        fopt.Adam(learning_rate=0.05, weight_decay=1e-3, global_clipnorm=1.0),
        fopt.SGD(learning_rate=0.1, clipnorm=0.5),
    ],
    ids=repr,
)
@pytest.mark.parametrize("backend", BACKENDS)
def test_minimises_a_quadratic(backend, opt):
    # f(w) = 0.5 * sum(c * (w - t)^2) over three variables with different curvatures
    rng = np.random.default_rng(0)
    target = rng.standard_normal(13).astype(np.float32)
    curv = np.concatenate([np.full(5, 1.0), np.full(1, 0.5), np.full(7, 2.0)]).astype(np.float32)
    params, grads = np.zeros(13, np.float32), np.zeros(13, np.float32)
    up = fopt.get(fopt.serialize(opt)).build(params, grads, np.array([0, 5, 6, 13]), backend)

    def loss():
        return float(0.5 * np.sum(curv * (params - target) ** 2))

    start = loss()
    for _ in range(300):
        np.multiply(curv, params - target, out=grads)
        assert up.apply() == 0
    assert loss() < 1e-3 * start
