"""Dense, activation, dropout and BLAS kernels against their NumPy twins, and
float64 central-difference checks of the reference."""

import numpy as np
import pytest
from helpers import DTYPES, TOL, numeric_grad

from fastnn.backend.compiled import _blas, _parallel
from fastnn.backend.compiled import activations as c_act
from fastnn.backend.compiled import dense as c_dense
from fastnn.backend.compiled import dropout as c_drop
from fastnn.backend.reference import activations as r_act
from fastnn.backend.reference import dense as r_dense
from fastnn.backend.reference import dropout as r_drop

ACTS = ["linear", "relu", "sigmoid", "tanh", "softmax", "leaky_relu", "elu"]
# (n, n_in, units): all-1 sizes first, then odd shapes, then a bigger one
SHAPES = [(1, 1, 1), (1, 3, 1), (2, 1, 4), (7, 5, 3), (33, 17, 9), (64, 300, 129), (0, 4, 3)]


def _data(rng, n, i, u, dt, bias=True):
    x = rng.standard_normal((n, i)).astype(dt)
    W = (rng.standard_normal((i, u)) / np.sqrt(max(i, 1))).astype(dt)
    b = rng.standard_normal(u).astype(dt) if bias else None
    return x, W, b


def _blas_parts_available():
    try:
        _parallel.configure(**_parallel.configure(product_mode="blas-parts"))
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("mode", ["auto", "blas-parts"])
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("shape", SHAPES)
def test_dense_twin(rng, mode, dt, act, shape):
    """auto, and every product cut in two on two threads with the layer's pointwise work
    per part (columns in blocks of 16 with their tails; rows for a softmax forward)."""
    if mode == "blas-parts" and not _blas_parts_available():
        pytest.skip("this BLAS cannot be held to one thread per call")
    x, W, b = _data(rng, *shape, dt)
    dy = rng.standard_normal((shape[0], shape[2])).astype(dt)
    dz = dy.copy()
    prev = _parallel.configure(product_mode=mode)
    try:
        yc = c_dense.dense_forward(x, W, b, act)
        gc = c_dense.dense_backward(x, W, yc, dz, act)  # dz: dy * act'(y) from here on
    finally:
        _parallel.configure(**prev)
    yr = r_dense.dense_forward(x, W, b, act)
    _assert_sums_close(yc, yr, abs(x) @ abs(W) + abs(b), shape[1], "y")
    gr = r_dense.dense_backward(x, W, yr, dy.copy(), act)
    bounds = (abs(dz) @ abs(W.T), abs(x.T) @ abs(dz), abs(dz).sum(axis=0))
    for name, a, b_, bound, k in zip(("dx", "dW", "db"), gc, gr, bounds, shape[::-1]):
        _assert_sums_close(a, b_, bound, k, name)


def _assert_sums_close(actual, expected, bound, k, name):
    """actual == expected up to TOL plus, in float32, the rounding of a k-term sum:
    4 sqrt(k) u sum|a_i b_i| (bound: that sum of magnitudes; u = 2**-24). The kernels
    and NumPy's BLAS add in different orders, so only this much agreement is owed."""
    tol = TOL[actual.dtype.type]
    allowed = tol["atol"] + tol["rtol"] * abs(expected)
    if actual.dtype == np.float32:
        allowed = allowed + 4 * np.sqrt(max(k, 1)) * 2.0**-24 * bound
    err = abs(actual.astype(np.float64) - expected)
    assert actual.shape == expected.shape and (err <= allowed).all(), (
        f"{name}: {int((err > allowed).sum())} of {err.size} values differ by more than "
        f"allowed (max excess {float((err - allowed).max()):.3g})"
    )


@pytest.mark.parametrize("mode", ["blas", "kernel", "split", "blas-parts"])
@pytest.mark.parametrize(
    "shape",
    [(1, 1, 1), (3, 5, 17), (33, 129, 65), (64, 300, 129), (0, 4, 3), (5, 0, 3), (130, 784, 64)],
)
def test_dense_product_modes_match_float64(rng, mode, shape):
    """Every way a float32 product can run (BLAS, the packing-free kernel on one thread,
    the kernel in parts on two threads, two parts each on one BLAS thread) against the
    float64 product: row and column tails, k beyond one 128-row chunk, empty operands."""
    if mode in ("kernel", "split") and not _parallel.STEP_KERNEL_ISA:
        pytest.skip("the packing-free kernel needs AVX2 or AVX-512")
    if mode == "blas-parts" and not _blas_parts_available():
        pytest.skip("this BLAS cannot be held to one thread per call")
    n, n_in, units = shape
    x, W, b = _data(rng, n, n_in, units, np.float32)
    dy = rng.standard_normal((n, units)).astype(np.float32)
    x64, W64, dy64 = x.astype(np.float64), W.astype(np.float64), dy.astype(np.float64)
    prev = _parallel.configure(product_mode=mode)
    try:
        y = c_dense.dense_forward(x, W, b, "linear")
        dx, dW, db = c_dense.dense_backward(x, W, y, dy.copy(), "linear")
    finally:
        _parallel.configure(**prev)
    _assert_sums_close(y, x64 @ W64 + b, abs(x64) @ abs(W64) + abs(b), n_in, "y")
    _assert_sums_close(dW, x64.T @ dy64, abs(x64.T) @ abs(dy64), n, "dW")
    _assert_sums_close(dx, dy64 @ W64.T, abs(dy64) @ abs(W64.T), units, "dx")


def test_configure_rejects_unknown_product_modes():
    with pytest.raises(ValueError, match="configure expected product_mode one of"):
        _parallel.configure(product_mode="fast")
    assert _parallel.configure(product_mode="auto")["product_mode"] == "auto"


@pytest.mark.parametrize("dt", DTYPES)
def test_dense_twin_random_sweep(dt):
    rng = np.random.default_rng(7)
    for _ in range(25):
        n, i, u = rng.integers(1, 40, 3)
        act = ACTS[rng.integers(len(ACTS))]
        use_bias = bool(rng.integers(2))
        x, W, b = _data(rng, n, i, u, dt, use_bias)
        yc, yr = c_dense.dense_forward(x, W, b, act), r_dense.dense_forward(x, W, b, act)
        _assert_sums_close(yc, yr, abs(x) @ abs(W) + (0 if b is None else abs(b)), i, "y")
        dy = rng.standard_normal(yc.shape).astype(dt)
        gc = c_dense.dense_backward(x, W, yc, dy.copy(), act, use_bias=use_bias, need_dx=False)
        gr = r_dense.dense_backward(x, W, yr, dy.copy(), act, use_bias=use_bias, need_dx=False)
        assert gc[0] is None and gr[0] is None
        assert (gc[2] is None) == (not use_bias)
        for a, b_ in zip(gc[1:], gr[1:]):
            if a is not None:
                _assert_sums_close(
                    a, b_, abs(x.T) @ abs(dy) if a.ndim == 2 else abs(dy).sum(0), n, "dW/db"
                )


@pytest.mark.parametrize("act", ACTS)
def test_reference_dense_central_differences(rng, act):
    """float64 central differences of L = sum(dy * dense(x)) against the backward."""
    x, W, b = _data(rng, 4, 3, 5, np.float64)
    if act in ("relu", "leaky_relu", "elu"):
        x += np.sign(x) * 0.05  # stay away from the kink at 0
    dy = rng.standard_normal((4, 5))

    def loss():
        return float((dy * r_dense.dense_forward(x, W, b, act)).sum())

    y = r_dense.dense_forward(x, W, b, act)
    dx, dW, db = r_dense.dense_backward(x, W, y, dy.copy(), act)
    for name, analytic, arr in (("dx", dx, x), ("dW", dW, W), ("db", db, b)):
        np.testing.assert_allclose(
            analytic, numeric_grad(loss, arr), rtol=1e-6, atol=1e-8, err_msg=name
        )


def test_hand_worked_dense():
    """Constant weights, numbers worked by hand: x=[1,2], W=0.5, b=[0.1,-2]."""
    x = np.array([[1.0, 2.0]])
    W = np.full((2, 2), 0.5)
    b = np.array([0.1, -2.0])
    # z = [1.5+0.1, 1.5-2] = [1.6, -0.5]; relu -> [1.6, 0]
    for mod in (c_dense, r_dense):
        y = mod.dense_forward(x, W, b, "relu")
        np.testing.assert_allclose(y, [[1.6, 0.0]], rtol=1e-15)
        # dy = [1, 1] -> dz = [1, 0]; dW = x.T dz = [[1,0],[2,0]]; db = [1,0]; dx = dz W.T = [.5,.5]
        dx, dW, db = mod.dense_backward(x, W, y, np.ones((1, 2)), "relu")
        np.testing.assert_allclose(dW, [[1, 0], [2, 0]])
        np.testing.assert_allclose(db, [1, 0])
        np.testing.assert_allclose(dx, [[0.5, 0.5]])
        s = mod.dense_forward(x, W, b, "sigmoid")
        np.testing.assert_allclose(s, 1 / (1 + np.exp(-np.array([[1.6, -0.5]]))), rtol=1e-15)


@pytest.mark.parametrize("dt", DTYPES)
def test_activation_extremes_are_finite(dt):
    z = np.array([[-1e4, -100.0, -1e-8, 0.0, 1e-8, 100.0, 1e4]], dtype=dt)
    for act in ACTS:
        y = c_act.bias_act_forward(z.copy(), None, act)
        assert np.isfinite(y).all(), act
        np.testing.assert_allclose(
            y,
            r_act.bias_act_forward(z.copy(), None, act),
            rtol=TOL[dt]["rtol"],
            atol=1e-30 if act != "softmax" else 1e-7,
        )


def test_float32_sigmoid_accuracy():
    """The vectorisable float32 exp keeps sigmoid within 2 float32 ulps of float64 math."""
    z = np.linspace(-80, 80, 200001).astype(np.float32)
    y = c_act.bias_act_forward(z.reshape(1, -1).copy(), None, "sigmoid").ravel()
    ref = 1 / (1 + np.exp(-z.astype(np.float64)))
    assert (np.abs(y - ref) / ref).max() < 2.4e-7


@pytest.mark.parametrize("dt", DTYPES)
def test_bias_grad_and_act_backward_twins(rng, dt):
    dz = rng.standard_normal((300, 257)).astype(dt)  # > 256 columns: two stack chunks
    np.testing.assert_allclose(c_act.bias_grad(dz), r_act.bias_grad(dz), **TOL[dt])
    y = rng.uniform(0.01, 0.99, (300, 257)).astype(dt)
    for act in ACTS:
        np.testing.assert_allclose(
            c_act.act_backward(dz.copy(), y, act), r_act.act_backward(dz.copy(), y, act), **TOL[dt]
        )


@pytest.mark.parametrize("dt", DTYPES)
def test_dropout_mask_twin(dt):
    for rate, seed, counter in ((0.0, 1, 0), (0.3, 5, 7), (0.5, 2**63, 2**40), (0.9, 0, 1)):
        mc = c_drop.dropout_mask(5000, rate, seed, counter, dt)
        mr = r_drop.dropout_mask(5000, rate, seed, counter, dt)
        np.testing.assert_array_equal(mc, mr)
        kept = mc != 0
        assert abs(kept.mean() - (1 - rate)) < 0.03
        np.testing.assert_allclose(mc[kept], 1 / (1 - rate), rtol=1e-6)
    # counter-based: the stream from counter c, shifted by k, equals the stream from c + k
    a = c_drop.dropout_mask(100, 0.5, 9, 10, dt)
    b = c_drop.dropout_mask(90, 0.5, 9, 20, dt)
    np.testing.assert_array_equal(a[10:], b)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_gemm_rowmajor(rng, dt, ta, tb):
    for m, n, k in ((1, 1, 1), (3, 5, 4), (17, 9, 33), (2, 3, 0)):
        a = rng.standard_normal((k, m) if ta else (m, k)).astype(dt)
        b = rng.standard_normal((n, k) if tb else (k, n)).astype(dt)
        c = rng.standard_normal((m, n)).astype(dt)
        want = 2.0 * (a.T if ta else a) @ (b.T if tb else b) + 0.5 * c
        got = _blas.gemm_rowmajor(a, b, c.copy(), ta, tb, alpha=2.0, beta=0.5)
        np.testing.assert_allclose(got, want, rtol=1e-5 if dt == np.float32 else 1e-12, atol=1e-5)


@pytest.mark.parametrize("mod", [c_dense, r_dense])
def test_dense_kernel_errors(mod):
    x = np.zeros((2, 3), np.float32)
    W = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"x.dtype=float32, W.dtype=float64"):
        mod.dense_forward(x, W.astype(np.float64), None, "relu")
    with pytest.raises(
        ValueError, match=r"expected x of shape \(\?, 3\). Received: x.shape=\(2, 4\)"
    ):
        mod.dense_forward(np.zeros((2, 4), np.float32), W, None, "relu")
    with pytest.raises(ValueError, match="unknown activation"):
        mod.dense_forward(x, W, None, "swish")
    with pytest.raises(ValueError, match="C-contiguous"):
        mod.dense_forward(np.zeros((3, 2), np.float32).T, W, None, "relu")


def test_float32_tanh_accuracy():
    """The vectorisable float32 tanh stays within 3 ulps of float64 tanh, keeps
    tiny inputs exact in relative terms, and propagates NaN and infinities."""
    z = np.concatenate(
        [
            np.linspace(-20, 20, 200001),
            np.geomspace(1e-30, 1, 5000),
            -np.geomspace(1e-30, 1, 5000),
            [0.0, 88.0, -88.0],
        ]
    ).astype(np.float32)
    y = c_act.bias_act_forward(z.reshape(1, -1).copy(), None, "tanh").ravel()
    ref = np.tanh(z.astype(np.float64))
    ulp = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    assert (np.abs(y - ref) / ulp).max() <= 3
    special = np.array([[np.nan, np.inf, -np.inf]], np.float32)
    out = c_act.bias_act_forward(special, None, "tanh")
    assert np.isnan(out[0, 0]) and out[0, 1] == 1 and out[0, 2] == -1


_ISA_SCRIPT = """
import numpy as np
from fastnn.backend.compiled import _parallel, dense
print(_parallel.STEP_KERNEL_ISA)
rng = np.random.default_rng(0)
for mode in (["kernel", "split"] if _parallel.STEP_KERNEL_ISA else []):
    _parallel.configure(product_mode=mode)
    for n, k, u in [(1, 1, 1), (7, 5, 3), (13, 129, 25), (130, 784, 64)]:
        x = rng.standard_normal((n, k)).astype(np.float32)
        W = rng.standard_normal((k, u)).astype(np.float32)
        dy = rng.standard_normal((n, u)).astype(np.float32)
        y = dense.dense_forward(x, W, None, "linear")
        _, dW, _ = dense.dense_backward(x, W, y, dy.copy(), "linear", use_bias=False)
        for got, a, b in ((y, x, W), (dW, x.T, dy)):
            a, b = a.astype(np.float64), b.astype(np.float64)
            bound = 4 * np.sqrt(a.shape[1]) * 2.0**-24 * (abs(a) @ abs(b)) + 1e-6
            assert (abs(got - a @ b) <= bound).all(), (mode, n, k, u)
print("ok")
"""


@pytest.mark.slow
@pytest.mark.parametrize("cap", ["off", "avx2"])
def test_step_kernel_instruction_set_can_be_capped(cap):
    """FASTNN_STEP_GEMM=off sends every product to BLAS; =avx2 runs the AVX2 body even on
    an AVX-512 CPU (so that body is tested on every machine that has AVX2), and its
    products agree with float64 ones (row tails 1..5, column tails, k beyond a chunk)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "FASTNN_STEP_GEMM": cap}
    r = subprocess.run(
        [sys.executable, "-c", _ISA_SCRIPT], capture_output=True, text=True, env=env, timeout=300
    )
    assert r.returncode == 0, r.stderr
    isa, status = r.stdout.split()
    assert status == "ok"
    if cap == "off":
        assert isa == "None"
    else:
        assert isa in ("avx2", "None")
        if _parallel.STEP_KERNEL_ISA:  # this CPU has AVX2 at least
            assert isa == "avx2"
