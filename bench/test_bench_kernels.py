"""Every kernel on its own: compiled (fastnn.backend.compiled) against its NumPy twin
(fastnn.backend.reference), same function, same float32 inputs, a small and a large shape.

Run it from a folder other than the repository root, so that the installed package
is imported rather than the uncompiled source tree (for an in-place build, put the
repository on PYTHONPATH instead):

    python -m pytest <repository>/bench/test_bench_kernels.py --benchmark-only

It takes about a minute here. Useful extras: ``-k dense`` (a subset),
``--benchmark-json=kernels.json`` (every measurement, with the thread pools and the
folder fastnn came from in ``machine_info``), ``--benchmark-columns=min,median,iqr,rounds``.

Method:

* One benchmark group per (kernel, variant, shape), holding the ``compiled`` and the
  ``reference`` timing side by side; read the ratio of the two, not absolute times
  (bench/README.md, "Threads").
* Every BLAS / OpenMP pool is limited to 2 threads for the session (bench/conftest.py).
* Before anything is timed, the two engines run on copies of the same inputs and must
  agree (float32 tolerances; dropout masks bit for bit), so a broken kernel fails
  instead of being timed.
* Kernels that work in place on their input (bias + activation forward, activation
  backward) get a fresh copy of the input before every timed call, outside the timed
  region (``benchmark.pedantic`` with a setup). Dense backward overwrites dy with
  dy * relu'(y), which is idempotent, and the optimizers apply one more update per
  call, as in training; those are timed call after call.
* The low-level functions are timed as they are: where a function allocates its
  outputs (dense_backward's dW, db, dx; dropout_mask's mask) both engines do; the
  NumPy twins also allocate their temporaries, which is part of what is compared.
"""

import functools
import importlib
import math
import time
import zlib

import numpy as np
import pytest

from fastnn import backend as _backend

_backend.import_compiled()  # fail loudly (with build instructions) when not built

ENGINES = ("compiled", "reference")
_PACKAGE = {"compiled": "fastnn.backend.compiled", "reference": "fastnn.backend.reference"}

MAX_TIME = 0.5  # seconds of timed rounds per benchmark (pytest-benchmark's max_time)
MIN_ROUNDS = 5
MAX_PEDANTIC_ROUNDS = 2000

# float32 agreement: pointwise kernels as in the twin tests; GEMM results against a
# scale (a sum over k terms rounds differently in the two BLAS builds)
POINTWISE = dict(rtol=2e-5, atol_scale=1e-6)
GEMM = dict(rtol=1e-4, atol_scale=1e-5)


def kernels(engine, module):
    return importlib.import_module(f"{_PACKAGE[engine]}.{module}")


def cases(kernel, items):
    """One pytest param per (label, value) in items, each in its own benchmark group
    named after the kernel and the label."""
    return [
        pytest.param(
            value,
            id=label,
            marks=pytest.mark.benchmark(
                group=f"{kernel} {label}", max_time=MAX_TIME, min_rounds=MIN_ROUNDS
            ),
        )
        for label, value in items
    ]


engines = pytest.mark.parametrize("engine", ENGINES)


# --------------------------------------------------------------------------- data


def _readonly(*arrays):
    for a in arrays:
        a.flags.writeable = False
    return arrays if len(arrays) > 1 else arrays[0]


@functools.cache
def _normal(shape, scale=1.0, tag=""):
    rng = np.random.default_rng([zlib.crc32(tag.encode()), *shape])
    return _readonly(rng.standard_normal(shape, dtype=np.float32) * np.float32(scale))


def _copy(a):
    return np.array(a, dtype=np.float32, order="C", copy=True)


# --------------------------------------------------------------------------- agreement

_AGREED = set()


def _assert_close(what, got, want, rtol, atol_scale):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (
        f"{what}: compiled gave {got.dtype}{got.shape}, reference {want.dtype}{want.shape}"
    )
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    np.testing.assert_allclose(
        got,
        want,
        rtol=rtol,
        atol=atol_scale * scale,
        err_msg=f"{what}: compiled and reference disagree",
    )


def agree_once(key, run, rtol, atol_scale, exact=False):
    """run(engine) -> dict name -> array or float, computed on fresh copies of the
    shared inputs. Compares the engines once per key (both engines' benchmarks ask)."""
    if key in _AGREED:
        return
    got, want = run("compiled"), run("reference")
    assert got.keys() == want.keys()
    for name in want:
        what = f"{key} {name}"
        if exact:
            np.testing.assert_array_equal(
                got[name], want[name], err_msg=f"{what}: compiled and reference differ"
            )
        elif isinstance(want[name], float):
            assert math.isclose(got[name], want[name], rel_tol=1e-6, abs_tol=1e-12), (
                f"{what}: compiled {got[name]!r} != reference {want[name]!r}"
            )
        else:
            _assert_close(what, got[name], want[name], rtol, atol_scale)
    _AGREED.add(key)


def run_timed(benchmark, target, engine, **info):
    """Warm up, then time target() call after call."""
    for _ in range(2):
        target()
    benchmark.extra_info.update(engine=engine, **info)
    benchmark(target)


def run_timed_fresh(benchmark, target, source, work, engine, **info):
    """Time target(work) with work restored from source before every call, outside
    the timed region."""

    def setup():
        np.copyto(work, source)
        return (work,), {}

    t0 = time.perf_counter()
    for _ in range(3):
        setup()
        target(work)
    per_call = max((time.perf_counter() - t0) / 3, 1e-7)
    rounds = int(min(MAX_PEDANTIC_ROUNDS, max(MIN_ROUNDS, MAX_TIME / per_call)))
    benchmark.extra_info.update(engine=engine, **info)
    benchmark.pedantic(target, setup=setup, rounds=rounds, warmup_rounds=1)


# --------------------------------------------------------------------------- dense

DENSE_SHAPES = [("32x784->64", (32, 784, 64)), ("1024x1024->2048", (1024, 1024, 2048))]


@functools.cache
def _dense_data(n, n_in, units):
    x = _normal((n, n_in), tag="x")
    W = _normal((n_in, units), math.sqrt(2.0 / (n_in + units)), tag="W")
    b = _normal((units,), 0.1, tag="b")
    y = _readonly(kernels("reference", "dense").dense_forward(x, W, b, "relu"))
    dy = _normal((n, units), tag="dy")
    return x, W, b, y, dy


@engines
@pytest.mark.parametrize("shape", cases("dense_forward relu", DENSE_SHAPES))
def test_dense_forward(benchmark, engine, shape):
    n, n_in, units = shape
    x, W, b, _, _ = _dense_data(*shape)

    def run(eng):
        out = np.empty((n, units), np.float32)
        kernels(eng, "dense").dense_forward(x, W, b, "relu", out=out)
        return {"y": out}

    agree_once(("dense_forward", shape), run, **GEMM)
    fn = kernels(engine, "dense").dense_forward
    out = np.empty((n, units), np.float32)
    run_timed(
        benchmark,
        lambda: fn(x, W, b, "relu", out=out),
        engine,
        shape=list(shape),
        gemm_flop=2 * n * n_in * units,
    )


@engines
@pytest.mark.parametrize("shape", cases("dense_backward relu", DENSE_SHAPES))
def test_dense_backward(benchmark, engine, shape):
    n, n_in, units = shape
    x, W, _, y, dy0 = _dense_data(*shape)

    def run(eng):
        dy = _copy(dy0)
        dx, dW, db = kernels(eng, "dense").dense_backward(x, W, y, dy, "relu")
        return {"dz": dy, "dx": dx, "dW": dW, "db": db}

    agree_once(("dense_backward", shape), run, **GEMM)
    fn = kernels(engine, "dense").dense_backward
    dy = _copy(dy0)  # becomes dy * relu'(y) at the first call; the same at every call
    run_timed(
        benchmark,
        lambda: fn(x, W, y, dy, "relu"),
        engine,
        shape=list(shape),
        gemm_flop=2 * 2 * n * n_in * units,
    )


# --------------------------------------------------------------------------- activations

ACT_SHAPES = [("32x64", (32, 64)), ("1024x2048", (1024, 2048))]
ACTIVATIONS = ("relu", "sigmoid", "tanh", "softmax")
ACT_CASES = [(f"{act} {label}", (act, shape)) for act in ACTIVATIONS for label, shape in ACT_SHAPES]


@functools.cache
def _act_data(act, shape):
    z = _normal(shape, 2.0, tag="z")
    b = _normal((shape[1],), 0.5, tag="bias")
    y = _copy(z)
    kernels("reference", "activations").bias_act_forward(y, b, act)
    dy = _normal(shape, tag="dy")
    return z, b, _readonly(y), dy


@engines
@pytest.mark.parametrize("case", cases("bias_act_forward", ACT_CASES))
def test_bias_act_forward(benchmark, engine, case):
    act, shape = case
    z0, b, _, _ = _act_data(act, shape)

    def run(eng):
        z = _copy(z0)
        kernels(eng, "activations").bias_act_forward(z, b, act)
        return {"y": z}

    agree_once(("bias_act_forward", act, shape), run, **POINTWISE)
    fn = kernels(engine, "activations").bias_act_forward
    run_timed_fresh(
        benchmark, lambda z: fn(z, b, act), z0, _copy(z0), engine, shape=list(shape), activation=act
    )


@engines
@pytest.mark.parametrize("case", cases("act_backward", ACT_CASES))
def test_act_backward(benchmark, engine, case):
    act, shape = case
    _, _, y, dy0 = _act_data(act, shape)

    def run(eng):
        dz = _copy(dy0)
        kernels(eng, "activations").act_backward(dz, y, act)
        return {"dz": dz}

    agree_once(("act_backward", act, shape), run, **POINTWISE)
    fn = kernels(engine, "activations").act_backward
    run_timed_fresh(
        benchmark,
        lambda dz: fn(dz, y, act),
        dy0,
        _copy(dy0),
        engine,
        shape=list(shape),
        activation=act,
    )


@engines
@pytest.mark.parametrize("shape", cases("bias_grad", ACT_SHAPES))
def test_bias_grad(benchmark, engine, shape):
    dz = _normal(shape, tag="dz")

    def run(eng):
        db = np.empty(shape[1], np.float32)
        kernels(eng, "activations").bias_grad(dz, db)
        return {"db": db}

    agree_once(("bias_grad", shape), run, **POINTWISE)
    fn = kernels(engine, "activations").bias_grad
    db = np.empty(shape[1], np.float32)
    run_timed(benchmark, lambda: fn(dz, db), engine, shape=list(shape))


# --------------------------------------------------------------------------- losses

LOSS_KINDS = (
    "mse",
    "mae",
    "bce",
    "bce_logits",
    "cce",
    "cce_logits",
    "sparse_cce",
    "sparse_cce_logits",
)
LOSS_SHAPES = [("256x10", (256, 10)), ("4096x1000", (4096, 1000))]
LOSS_CASES = [
    (f"{kind} {label}", (kind, shape)) for kind in LOSS_KINDS for label, shape in LOSS_SHAPES
]


@functools.cache
def _loss_data(kind, shape):
    n, d = shape
    rng = np.random.default_rng([n, d, LOSS_KINDS.index(kind)])
    logits = rng.standard_normal(shape).astype(np.float32) * np.float32(2)
    labels = rng.integers(0, d, size=n)
    if kind in ("mse", "mae"):
        y_pred, y_true = logits, rng.standard_normal(shape).astype(np.float32)
    elif kind == "bce":  # probabilities away from the clipping bounds
        y_pred = rng.uniform(0.01, 0.99, shape).astype(np.float32)
        y_true = (rng.random(shape) < 0.5).astype(np.float32)
    elif kind == "bce_logits":
        y_pred, y_true = logits, (rng.random(shape) < 0.5).astype(np.float32)
    elif kind.startswith("sparse"):
        y_true = labels.astype(np.float32)
        y_pred = logits if kind.endswith("logits") else _softmax(logits)
    else:  # cce, cce_logits: one-hot targets
        y_true = np.zeros(shape, np.float32)
        y_true[np.arange(n), labels] = 1
        y_pred = logits if kind.endswith("logits") else _softmax(logits)
    return _readonly(np.ascontiguousarray(y_pred), np.ascontiguousarray(y_true))


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


@engines
@pytest.mark.parametrize("case", cases("loss_value_and_grad", LOSS_CASES))
def test_loss_value_and_grad(benchmark, engine, case):
    kind, shape = case
    y_pred, y_true = _loss_data(kind, shape)

    def run(eng):
        grad = np.empty(shape, np.float32)
        value = kernels(eng, "losses").loss_value_and_grad(kind, y_pred, y_true, grad=grad)
        return {"value": float(value), "grad": grad}

    agree_once(("loss_value_and_grad", kind, shape), run, **POINTWISE)
    fn = kernels(engine, "losses").loss_value_and_grad
    grad = np.empty(shape, np.float32)
    run_timed(
        benchmark, lambda: fn(kind, y_pred, y_true, grad=grad), engine, shape=list(shape), kind=kind
    )


# --------------------------------------------------------------------------- optimizers

OPT_SIZES = [("10K", 10_000), ("6M", 6_000_000)]
LR = 1e-3
OPTIMIZERS = {
    # name: (function, slots, hyperparameters after the slots); Keras 3 defaults
    "adam": ("adam_update", ("m", "v"), None),  # alpha from adam_alpha, see _opt_args
    "sgd_momentum": ("sgd_update", ("m",), (LR, 0.9, False)),
    "rmsprop": ("rmsprop_update", ("v", None), (LR, 0.9, 0.0, 1e-7)),
    "adagrad": ("adagrad_update", ("a",), (LR, 1e-7)),
}
OPT_CASES = [(f"{name} {label}", (name, size)) for name in OPTIMIZERS for label, size in OPT_SIZES]


def _opt_args(name, engine):
    if name == "adam":
        opt = kernels(engine, "optimizers")
        return (opt.adam_alpha(LR, 0.9, 0.999, 1), 0.9, 0.999, 1e-7)
    return OPTIMIZERS[name][2]


@functools.cache
def _opt_data(size):
    return _normal((size,), 0.05, tag="w0"), _normal((size,), 0.01, tag="g")


def _opt_state(name, size):
    w0, _ = _opt_data(size)
    slots = []
    for slot in OPTIMIZERS[name][1]:
        if slot is None:
            slots.append(None)  # RMSprop without momentum
        elif slot == "a":
            slots.append(np.full(size, 0.1, np.float32))  # initial_accumulator_value
        else:
            slots.append(np.zeros(size, np.float32))
    return _copy(w0), slots


@engines
@pytest.mark.parametrize("case", cases("optimizer_update", OPT_CASES))
def test_optimizer_update(benchmark, engine, case):
    name, size = case
    func = OPTIMIZERS[name][0]
    _, g = _opt_data(size)

    def run(eng):
        w, slots = _opt_state(name, size)
        fn, args = getattr(kernels(eng, "optimizers"), func), _opt_args(name, eng)
        for _ in range(3):
            fn(w, g, *slots, *args)
        out = {"w": w}
        out.update({f"slot{i}": s for i, s in enumerate(slots) if s is not None})
        return out

    agree_once(("optimizer_update", name, size), run, **POINTWISE)
    fn, args = getattr(kernels(engine, "optimizers"), func), _opt_args(name, engine)
    w, slots = _opt_state(name, size)
    run_timed(benchmark, lambda: fn(w, g, *slots, *args), engine, size=size, function=func)


# --------------------------------------------------------------------------- dropout

DROPOUT_SIZES = [("32x64", 32 * 64), ("1024x2048", 1024 * 2048)]
RATE, SEED = 0.5, 20240917


@engines
@pytest.mark.parametrize("n", cases("dropout_mask rate=0.5", DROPOUT_SIZES))
def test_dropout_mask(benchmark, engine, n):
    def run(eng):
        mask = kernels(eng, "dropout").dropout_mask(n, RATE, SEED, 12345, np.float32)
        return {"mask": mask}

    agree_once(("dropout_mask", n), run, exact=True, **POINTWISE)
    fn = kernels(engine, "dropout").dropout_mask
    run_timed(benchmark, lambda: fn(n, RATE, SEED, 0, np.float32), engine, size=n)
