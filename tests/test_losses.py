"""Loss kernels (compiled vs NumPy twin, gradients, hand-worked and Keras-documented
values, clipping, extreme logits, argument checks) and the fastnn.losses objects."""

import inspect
import math

import numpy as np
import pytest

import fastnn.backend.compiled.losses as compiled
import fastnn.backend.reference.losses as reference
from fastnn import losses

IMPLS = [pytest.param(compiled, id="compiled"), pytest.param(reference, id="reference")]
DTYPES = [np.float32, np.float64]
KINDS = list(reference.LOSS_KINDS)
LOGIT_KINDS = ("bce_logits", "cce_logits", "sparse_cce_logits")
SHAPES = [(1, 1), (1, 3), (2, 1), (3, 4), (7, 10), (64, 5)]


def _sweep_shapes(count=10, seed=1234):
    rng = np.random.default_rng(seed)
    return [(int(rng.integers(1, 50)), int(rng.integers(1, 20))) for _ in range(count)]


def make_case(kind, n, d, dtype, rng, weighted=False, interior=False):
    """Inputs for one loss kind. interior=True keeps away from clipping edges and
    kinks (for finite differences); otherwise edge values are mixed in."""
    if kind in ("mse", "mae"):
        t = rng.normal(size=(n, d))
        y = rng.normal(size=(n, d))
        if interior:  # keep |y - t| away from the kink of |.| at 0
            y = t + np.where(rng.random((n, d)) < 0.5, -1, 1) * rng.uniform(0.01, 1.0, (n, d))
        else:
            y.flat[::5] = t.flat[::5]  # exact zeros of y - t
    elif kind == "bce":
        t = rng.uniform(0, 1, (n, d))
        t.flat[::3] = np.round(t.flat[::3])
        y = rng.uniform(0.05, 0.95, (n, d))
        if not interior:
            edges = np.array([0.0, 1.0, 1e-9, 1 - 1e-9, 0.5, 2e-7])
            y.flat[::4] = edges[np.arange(y.flat[::4].size) % edges.size]
    elif kind in ("bce_logits",):
        t = rng.uniform(0, 1, (n, d))
        t.flat[::3] = np.round(t.flat[::3])
        y = rng.normal(scale=4.0, size=(n, d))
    elif kind in ("cce", "cce_logits"):
        if rng.random() < 0.5:
            t = np.eye(d)[rng.integers(0, d, n)]
        else:
            t = rng.dirichlet(np.ones(d), size=n)
        if kind == "cce":
            y = rng.uniform(0.1, 1.0, (n, d))
            if not interior and d > 1:
                y.flat[::6] = 0.0  # clipped after normalisation (never a whole row)
        else:
            y = rng.normal(scale=4.0, size=(n, d))
    else:  # sparse kinds: integer labels stored as floats
        t = rng.integers(0, d, n).astype(np.float64)
        if kind == "sparse_cce":
            y = rng.uniform(0.1, 1.0, (n, d))
            if not interior and d > 1:
                y.flat[::6] = 0.0
        else:
            y = rng.normal(scale=4.0, size=(n, d))
    w = rng.uniform(0.0, 2.0, n).astype(dtype) if weighted else None
    return y.astype(dtype), t.astype(dtype), w


def close(actual, expected, dtype, what=""):
    """Twin comparison: float64 to ~1e-11; float32 outputs (rounded from double) to
    about one unit in the last place."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    if dtype == np.float64:
        np.testing.assert_allclose(actual, expected, rtol=1e-11, atol=1e-13 * scale, err_msg=what)
    else:
        np.testing.assert_allclose(actual, expected, rtol=3e-7, atol=1e-7 * scale, err_msg=what)


def run(impl, kind, y, t, w, with_grad=True, with_probs=True):
    g = np.full_like(y, np.nan) if with_grad else None
    p = np.full_like(y, -7.0) if with_probs else None
    v = impl.loss_value_and_grad(kind, y, t, w, grad=g, probs=p)
    return v, g, p


# ---------------------------------------------------------------------------
# tables and enums


def test_kind_tables_match_header_and_twin():
    assert (
        compiled.LOSS_KINDS
        == reference.LOSS_KINDS
        == {
            "mse": 0,
            "mae": 1,
            "bce": 2,
            "bce_logits": 3,
            "cce": 4,
            "cce_logits": 5,
            "sparse_cce": 6,
            "sparse_cce_logits": 7,
        }
    )
    assert (
        compiled.METRIC_KINDS
        == reference.METRIC_KINDS
        == {
            "binary_accuracy": 0,
            "categorical_accuracy": 1,
            "sparse_categorical_accuracy": 2,
            "mse": 3,
            "mae": 4,
        }
    )
    assert compiled.EPSILON == reference.EPSILON == 1e-7


def test_signatures_and_docstrings_match_twin():
    for name in ("loss_value_and_grad", "metric_sum"):
        ref_fn = getattr(reference, name)
        doc_c = getattr(compiled, name).__doc__
        # embedsignature puts the signature on the first line of the compiled docstring
        signature, _, body = doc_c.partition("\n\n")
        assert signature == f"{name}{inspect.signature(ref_fn)}"
        assert inspect.cleandoc(body) == inspect.cleandoc(ref_fn.__doc__)


# ---------------------------------------------------------------------------
# compiled vs reference


def _twin_check(kind, n, d, dtype, seed, weighted):
    rng = np.random.default_rng(seed)
    y, t, w = make_case(kind, n, d, dtype, rng, weighted)
    vc, gc, pc = run(compiled, kind, y, t, w)
    vr, gr, pr = run(reference, kind, y, t, w)
    assert isinstance(vc, float) and isinstance(vr, float)
    assert math.isfinite(vc)
    close(vc, vr, np.float64 if dtype == np.float64 else np.float32, f"{kind} value")
    assert gc.dtype == dtype and np.all(np.isfinite(gc))
    close(gc, gr, dtype, f"{kind} grad")
    if kind in LOGIT_KINDS:
        close(pc, pr, dtype, f"{kind} probs")
        assert np.all((pc >= 0) & (pc <= 1))
    else:  # probs is left untouched by the probability kinds
        assert np.all(pc == -7.0) and np.all(pr == -7.0)
    # the value does not depend on whether a gradient is asked for
    assert compiled.loss_value_and_grad(kind, y, t, w) == vc
    assert reference.loss_value_and_grad(kind, y, t, w) == vr


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("shape", SHAPES, ids=[f"{n}x{d}" for n, d in SHAPES])
@pytest.mark.parametrize("kind", KINDS)
def test_compiled_matches_reference_table(kind, shape, weighted, dtype):
    _twin_check(
        kind, *shape, dtype, seed=KINDS.index(kind) * 100 + SHAPES.index(shape), weighted=weighted
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("kind", KINDS)
def test_compiled_matches_reference_sweep(kind, dtype):
    for i, (n, d) in enumerate(_sweep_shapes()):
        _twin_check(kind, n, d, dtype, seed=100 + i, weighted=bool(i % 2))


@pytest.mark.parametrize("impl", IMPLS)
def test_sparse_labels_as_column(impl):
    rng = np.random.default_rng(3)
    for kind in ("sparse_cce", "sparse_cce_logits"):
        y, t, w = make_case(kind, 6, 4, np.float64, rng, weighted=True)
        v1, g1, _ = run(impl, kind, y, t, w)
        v2, g2, _ = run(impl, kind, y, t.reshape(6, 1).copy(), w)
        assert v1 == v2 and np.array_equal(g1, g2)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("kind", KINDS)
def test_empty_batch_is_zero(impl, kind):
    y = np.zeros((0, 3))
    t = np.zeros((0,)) if kind.startswith("sparse") else np.zeros((0, 3))
    assert impl.loss_value_and_grad(kind, y, t, grad=np.zeros((0, 3))) == 0.0


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("kind", KINDS)
def test_weights_scale_and_select(impl, kind):
    """Weights multiply each sample's loss and gradient; the mean is still over n."""
    rng = np.random.default_rng(11)
    y, t, _ = make_case(kind, 5, 3, np.float64, rng)
    ones = np.ones(5)
    v1, g1, _ = run(impl, kind, y, t, None)
    v_ones, g_ones, _ = run(impl, kind, y, t, ones)
    assert v_ones == pytest.approx(v1, rel=1e-14) and np.allclose(g_ones, g1, rtol=1e-14, atol=0)
    w = np.array([0.0, 2.0, 0.0, 0.0, 0.0])
    vw, gw, _ = run(impl, kind, y, t, w)
    single, gs, _ = run(impl, kind, y[1:2].copy(), t[1:2].copy(), None)
    assert vw == pytest.approx(2.0 * single / 5, rel=1e-13)
    np.testing.assert_allclose(gw[1], 2.0 * gs[0] / 5, rtol=1e-13, atol=1e-300)
    assert np.all(gw[[0, 2, 3, 4]] == 0)


# ---------------------------------------------------------------------------
# gradient checks (float64, central differences on the reference)


def numeric_grad(kind, y, t, w, h=1e-6):
    g = np.zeros_like(y)
    for idx in np.ndindex(*y.shape):
        yp, ym = y.copy(), y.copy()
        yp[idx] += h
        ym[idx] -= h
        fp = reference.loss_value_and_grad(kind, yp, t, w)
        fm = reference.loss_value_and_grad(kind, ym, t, w)
        g[idx] = (fp - fm) / (2 * h)
    return g


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("shape", [(1, 1), (1, 3), (4, 3), (3, 5)], ids=str)
@pytest.mark.parametrize("kind", KINDS)
def test_reference_gradient_central_difference(kind, shape, weighted):
    rng = np.random.default_rng(7 + shape[0] * 10 + shape[1])
    y, t, w = make_case(kind, *shape, np.float64, rng, weighted, interior=True)
    g = np.empty_like(y)
    reference.loss_value_and_grad(kind, y, t, w, grad=g)
    num = numeric_grad(kind, y, t, w)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8)
    # a test that could not fail would be a defect: the gradient is not all zero
    # (except where the loss is flat: one-class probabilities normalise to 1)
    if not (kind in ("cce", "sparse_cce", "cce_logits", "sparse_cce_logits") and shape[1] == 1):
        assert np.max(np.abs(g)) > 1e-4


@pytest.mark.parametrize("kind", ["cce_logits"])
def test_cce_logits_gradient_with_targets_not_summing_to_one(kind):
    """dL/dz = p * sum(t) - t exactly (= p - t only for normalised targets)."""
    rng = np.random.default_rng(5)
    z = rng.normal(size=(4, 3))
    t = rng.uniform(0, 2, (4, 3))
    g = np.empty_like(z)
    reference.loss_value_and_grad(kind, z, t, grad=g)
    np.testing.assert_allclose(g, numeric_grad(kind, z, t, None), rtol=1e-6, atol=1e-8)
    gc = np.empty_like(z)
    compiled.loss_value_and_grad(kind, z, t, grad=gc)
    np.testing.assert_allclose(gc, g, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("impl", IMPLS)
def test_cce_gradient_is_scale_invariant(impl):
    """CCE normalises rows first, so moving y along itself changes nothing: g . y = 0."""
    rng = np.random.default_rng(8)
    y = rng.uniform(0.1, 1.0, (5, 4))
    t = np.eye(4)[rng.integers(0, 4, 5)]
    g = np.empty_like(y)
    v = impl.loss_value_and_grad("cce", y, t, grad=g)
    np.testing.assert_allclose(np.sum(g * y, axis=1), 0.0, atol=1e-15)
    assert impl.loss_value_and_grad("cce", 3.0 * y, t) == pytest.approx(v, rel=1e-14)


# ---------------------------------------------------------------------------
# hand-worked values (expected numbers written out)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("impl", IMPLS)
def test_mse_mae_hand_worked(impl, dtype):
    y = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=dtype)
    t = np.array([[0.0, 2.0], [5.0, 4.0]], dtype=dtype)
    v, g, _ = run(impl, "mse", y, t, None, with_probs=False)
    assert v == 1.25  # ((1 + 0) / 2 + (4 + 0) / 2) / 2
    assert g.tolist() == [[0.5, 0.0], [-1.0, 0.0]]  # 2 (y - t) / (n d)
    v, g, _ = run(impl, "mae", y, t, None, with_probs=False)
    assert v == 0.75  # ((1 + 0) / 2 + (2 + 0) / 2) / 2
    assert g.tolist() == [[0.25, 0.0], [-0.25, 0.0]]  # sign(y - t) / (n d), sign(0) = 0
    w = np.array([2.0, 0.5], dtype=dtype)
    assert impl.loss_value_and_grad("mse", y, t, w) == 1.0  # (2 * 0.5 + 0.5 * 2) / 2
    assert impl.loss_value_and_grad("mae", y, t, w) == 0.75  # (2 * 0.5 + 0.5 * 1) / 2


@pytest.mark.parametrize("impl", IMPLS)
def test_cce_of_a_known_softmax(impl):
    # softmax([0, ln 2, ln 5]) = [1, 2, 5] / 8; label 2: loss = -ln(5/8)
    z = np.log(np.array([[1.0, 2.0, 5.0]]))
    for kind, t in (
        ("cce_logits", np.array([[0.0, 0.0, 1.0]])),
        ("sparse_cce_logits", np.array([2.0])),
    ):
        v, g, p = run(impl, kind, z, t, None)
        assert v == pytest.approx(0.4700036292457356, rel=1e-15)
        np.testing.assert_allclose(p, [[0.125, 0.25, 0.625]], rtol=1e-15)
        np.testing.assert_allclose(g, [[0.125, 0.25, -0.375]], rtol=1e-14)
    # the same probabilities given directly (no fusion): unclipped, same loss
    probs = np.array([[0.125, 0.25, 0.625]])
    v, g, _ = run(impl, "cce", probs, np.array([[0.0, 0.0, 1.0]]), None, with_probs=False)
    assert v == pytest.approx(0.4700036292457356, rel=1e-15)
    # dL/dy_k = (1 - [k == 2] / r_2) / s with s = 1, r_2 = 0.625
    np.testing.assert_allclose(g, [[1.0, 1.0, 1.0 - 1.6]], rtol=1e-14)
    assert impl.loss_value_and_grad("sparse_cce", probs, np.array([2.0])) == pytest.approx(
        0.4700036292457356, rel=1e-15
    )


@pytest.mark.parametrize("impl", IMPLS)
def test_bce_hand_worked(impl):
    y = np.array([[0.8, 0.4]])
    t = np.array([[1.0, 0.0]])
    v, g, _ = run(impl, "bce", y, t, None, with_probs=False)
    assert v == pytest.approx(0.3669845875401002, rel=1e-15)  # (-ln 0.8 - ln 0.6) / 2
    # (q - t) / (q (1 - q)) / (n d): -0.2 / 0.16 / 2, 0.4 / 0.24 / 2
    np.testing.assert_allclose(g, [[-0.625, 0.8333333333333334]], rtol=1e-14)
    z = np.zeros((1, 2))
    v, g, p = run(impl, "bce_logits", z, t, None)
    assert v == pytest.approx(0.6931471805599453, rel=1e-15)  # ln 2 for both targets
    assert p.tolist() == [[0.5, 0.5]]
    assert g.tolist() == [[-0.25, 0.25]]  # (p - t) / (n d)


# ---------------------------------------------------------------------------
# extreme logits and clipping


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("impl", IMPLS)
def test_extreme_logits_are_exact(impl, dtype):
    z = np.array([[1e4, -1e4, 0.0]], dtype=dtype)
    for kind, t in (
        ("cce_logits", np.array([[0.0, 1.0, 0.0]], dtype=dtype)),
        ("sparse_cce_logits", np.array([1.0], dtype=dtype)),
    ):
        v, g, p = run(impl, kind, z, t, None)
        assert v == 2e4  # (m - z_1) + log(1 + e^-1e4 + e^-2e4) = 2e4 exactly
        assert p.tolist() == [[1.0, 0.0, 0.0]]
        assert g.tolist() == [[1.0, -1.0, 0.0]]
        assert (
            impl.loss_value_and_grad(
                kind,
                z,
                np.array([[1.0, 0.0, 0.0]], dtype=dtype)
                if kind == "cce_logits"
                else np.array([0.0], dtype=dtype),
            )
            == 0.0
        )
    zb = np.array([[1e4, -1e4]], dtype=dtype)
    v, g, p = run(impl, "bce_logits", zb, np.array([[0.0, 1.0]], dtype=dtype), None)
    assert v == 1e4  # each element costs 1e4
    assert p.tolist() == [[1.0, 0.0]]
    assert g.tolist() == [[0.5, -0.5]]
    assert impl.loss_value_and_grad("bce_logits", zb, np.array([[1.0, 0.0]], dtype=dtype)) == 0.0


@pytest.mark.parametrize("impl", IMPLS)
def test_bce_clips_like_keras(impl):
    y = np.array([[0.0, 1.0, 1.0, 1e-9]])
    t = np.array([[1.0, 0.0, 1.0, 1.0]])
    v, g, _ = run(impl, "bce", y, t, None, with_probs=False)
    # q = [1e-7, 1 - 1e-7, 1 - 1e-7, 1e-7]: -ln q, -ln(1 - q), -ln q, -ln q (1 - q rounds in double)
    expected = (16.11809565095832 * 2 - math.log(1.0 - (1.0 - 1e-7)) + 1.0000000494736474e-07) / 4
    assert v == pytest.approx(expected, rel=1e-12)
    assert g.tolist() == [[0.0, 0.0, 0.0, 0.0]]  # zero through clipped entries
    # at the clip boundary itself the gradient still flows
    g2 = np.empty((1, 1))
    impl.loss_value_and_grad("bce", np.array([[1e-7]]), np.array([[1.0]]), grad=g2)
    assert g2[0, 0] == pytest.approx(-1e7, rel=1e-9)  # (q - t) / (q (1 - q)) at q = 1e-7
    impl.loss_value_and_grad("bce", np.array([[1.0 - 1e-7]]), np.array([[0.0]]), grad=g2)
    assert g2[0, 0] == pytest.approx(1e7, rel=1e-8)  # the upper boundary 1 - 1e-7


@pytest.mark.parametrize("impl", IMPLS)
def test_cce_normalises_then_clips_like_keras(impl):
    t = np.array([[0.0, 1.0]])
    # rows are divided by their sum first: [2, 6] -> [0.25, 0.75]
    assert impl.loss_value_and_grad("cce", np.array([[2.0, 6.0]]), t) == pytest.approx(
        0.2876820724517809, rel=1e-15
    )
    assert impl.loss_value_and_grad(
        "sparse_cce", np.array([[2.0, 6.0]]), np.array([1.0])
    ) == pytest.approx(0.2876820724517809, rel=1e-15)
    # a zero probability for the true class is clipped to 1e-7, with zero gradient
    for kind, tt in (("cce", t), ("sparse_cce", np.array([1.0]))):
        v, g, _ = run(impl, kind, np.array([[1.0, 0.0]]), tt, None, with_probs=False)
        assert v == pytest.approx(16.11809565095832, rel=1e-14)
        assert g.tolist() == [[0.0, 0.0]]


# ---------------------------------------------------------------------------
# the formulas Keras documents, written out independently


def _keras_formula(kind, y, t):
    """Per-sample losses as the Keras documentation states them (float64)."""
    eps = 1e-7
    if kind == "mse":
        return np.mean(np.square(t - y), axis=-1)
    if kind == "mae":
        return np.mean(np.abs(t - y), axis=-1)
    if kind == "bce":
        p = np.clip(y, eps, 1 - eps)
        return -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p), axis=-1)
    if kind == "bce_logits":
        return np.mean(np.maximum(y, 0) - y * t + np.log(1 + np.exp(-np.abs(y))), axis=-1)
    if kind == "cce":
        p = np.clip(y / y.sum(-1, keepdims=True), eps, 1 - eps)
        return -np.sum(t * np.log(p), axis=-1)
    if kind == "cce_logits":
        zs = y - y.max(-1, keepdims=True)
        return -np.sum(t * (zs - np.log(np.exp(zs).sum(-1, keepdims=True))), axis=-1)
    onehot = np.eye(y.shape[1])[t.astype(int)]
    return _keras_formula(kind[len("sparse_") :], y, onehot)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("kind", KINDS)
def test_value_matches_keras_documented_formula(impl, kind):
    rng = np.random.default_rng(21)
    for n, d in [(1, 1), (5, 3), (16, 7)]:
        y, t, w = make_case(kind, n, d, np.float64, rng, weighted=True)
        per_sample = _keras_formula(kind, y, t)
        assert impl.loss_value_and_grad(kind, y, t) == pytest.approx(np.mean(per_sample), rel=1e-12)
        assert impl.loss_value_and_grad(kind, y, t, w) == pytest.approx(
            np.sum(w * per_sample) / n, rel=1e-12
        )


def test_loss_objects_reproduce_keras_docstring_examples():
    y_true = [[0.0, 1.0], [0.0, 0.0]]
    y_pred = [[1.0, 1.0], [1.0, 0.0]]
    assert losses.MeanSquaredError()(y_true, y_pred) == 0.5
    assert losses.MeanAbsoluteError()(y_true, y_pred) == 0.5
    assert losses.MeanSquaredError()(y_true, y_pred, sample_weight=[0.7, 0.3]) == pytest.approx(
        0.25
    )
    bce = losses.BinaryCrossentropy()
    assert bce([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]) == pytest.approx(0.815, abs=5e-4)
    bce_logits = losses.BinaryCrossentropy(from_logits=True)
    assert bce_logits([0, 1, 0, 0], [-18.6, 0.51, 2.94, -12.8]) == pytest.approx(0.865, abs=1e-3)
    cce = losses.CategoricalCrossentropy()
    y_p = [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
    assert cce([[0, 1, 0], [0, 0, 1]], y_p) == pytest.approx(1.177, abs=5e-4)
    assert cce([[0, 1, 0], [0, 0, 1]], y_p, sample_weight=[0.3, 0.7]) == pytest.approx(
        0.814, abs=5e-4
    )
    scce = losses.SparseCategoricalCrossentropy()
    assert scce([1, 2], y_p) == pytest.approx(1.177, abs=5e-4)
    assert scce([[1], [2]], y_p) == pytest.approx(1.177, abs=5e-4)


# ---------------------------------------------------------------------------
# loss objects


def test_get_identifiers():
    cases = {
        "mse": losses.MeanSquaredError,
        "mean_squared_error": losses.MeanSquaredError,
        "MSE": losses.MeanSquaredError,
        "MeanSquaredError": losses.MeanSquaredError,
        "mae": losses.MeanAbsoluteError,
        "mean_absolute_error": losses.MeanAbsoluteError,
        "MeanAbsoluteError": losses.MeanAbsoluteError,
        "binary_crossentropy": losses.BinaryCrossentropy,
        "bce": losses.BinaryCrossentropy,
        "BinaryCrossentropy": losses.BinaryCrossentropy,
        "categorical_crossentropy": losses.CategoricalCrossentropy,
        "CategoricalCrossentropy": losses.CategoricalCrossentropy,
        "sparse_categorical_crossentropy": losses.SparseCategoricalCrossentropy,
        "SparseCategoricalCrossentropy": losses.SparseCategoricalCrossentropy,
    }
    for ident, cls in cases.items():
        obj = losses.get(ident)
        assert type(obj) is cls and obj.from_logits is False
    inst = losses.BinaryCrossentropy(from_logits=True)
    assert losses.get(inst) is inst
    assert type(losses.get(losses.MeanAbsoluteError)) is losses.MeanAbsoluteError
    assert losses.get(None) is None
    obj = losses.get({"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}})
    assert type(obj) is losses.CategoricalCrossentropy and obj.from_logits is True


@pytest.mark.parametrize("bad", ["msee", "Mse", "hinge", 3, {"class_name": "Hinge", "config": {}}])
def test_get_unknown_lists_known_names(bad):
    with pytest.raises(ValueError) as err:
        losses.get(bad)
    msg = str(err.value)
    if isinstance(bad, dict):
        assert "Hinge" in msg and "SparseCategoricalCrossentropy" in msg
    else:
        assert repr(bad) in msg
        for name in (
            "mse",
            "mean_absolute_error",
            "binary_crossentropy",
            "categorical_crossentropy",
            "sparse_categorical_crossentropy",
        ):
            assert name in msg


@pytest.mark.parametrize("cls", list(losses.ALL_CLASSES.values()), ids=list(losses.ALL_CLASSES))
def test_config_round_trip(cls):
    obj = (
        cls(name="custom")
        if cls in (losses.MeanSquaredError, losses.MeanAbsoluteError)
        else cls(from_logits=True, name="custom")
    )
    config = obj.get_config()
    assert config["name"] == "custom" and config["reduction"] == "sum_over_batch_size"
    again = cls.from_config(config)
    assert type(again) is cls and again.get_config() == config
    back = losses.get(losses.serialize(obj))
    assert type(back) is cls and back.get_config() == config
    assert back.from_logits == obj.from_logits


def test_default_names_and_targets_kind():
    assert losses.MeanSquaredError().name == "mean_squared_error"
    assert losses.BinaryCrossentropy().name == "binary_crossentropy"
    assert losses.SparseCategoricalCrossentropy().name == "sparse_categorical_crossentropy"
    assert losses.SparseCategoricalCrossentropy().targets_kind == "sparse"
    assert losses.SparseCategoricalCrossentropy().sparse_targets is True
    for cls in (
        losses.MeanSquaredError,
        losses.MeanAbsoluteError,
        losses.BinaryCrossentropy,
        losses.CategoricalCrossentropy,
    ):
        assert cls().targets_kind == "dense" and cls().sparse_targets is False


def test_unsupported_keras_options_raise():
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="sum")
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.BinaryCrossentropy(label_smoothing=0.1)
    with pytest.raises(ValueError, match="axis"):
        losses.CategoricalCrossentropy(axis=1)
    with pytest.raises(ValueError, match="ignore_class"):
        losses.SparseCategoricalCrossentropy(ignore_class=0)


FUSION_TABLE = [
    # (loss, last activation, expected kind, fused)
    (losses.CategoricalCrossentropy(), "softmax", "cce_logits", True),
    (losses.CategoricalCrossentropy(), "linear", "cce", False),
    (losses.CategoricalCrossentropy(), None, "cce", False),
    (losses.CategoricalCrossentropy(), "sigmoid", "cce", False),
    (losses.CategoricalCrossentropy(from_logits=True), "linear", "cce_logits", False),
    (losses.CategoricalCrossentropy(from_logits=True), "softmax", "cce_logits", False),
    (losses.SparseCategoricalCrossentropy(), "softmax", "sparse_cce_logits", True),
    (losses.SparseCategoricalCrossentropy(), "relu", "sparse_cce", False),
    (losses.SparseCategoricalCrossentropy(from_logits=True), None, "sparse_cce_logits", False),
    (losses.BinaryCrossentropy(), "sigmoid", "bce_logits", True),
    (losses.BinaryCrossentropy(), "softmax", "bce", False),
    (losses.BinaryCrossentropy(), "tanh", "bce", False),
    (losses.BinaryCrossentropy(from_logits=True), None, "bce_logits", False),
    (losses.MeanSquaredError(), "sigmoid", "mse", False),
    (losses.MeanSquaredError(), "softmax", "mse", False),
    (losses.MeanAbsoluteError(), None, "mae", False),
]


@pytest.mark.parametrize(
    "loss,act,kind,fused",
    FUSION_TABLE,
    ids=[f"{type(l).__name__}-{l.from_logits}-{a}" for l, a, _, _ in FUSION_TABLE],
)
def test_kernel_kind_fusion_rule(loss, act, kind, fused):
    assert loss.kernel_kind(act) == (kind, fused)
    assert kind in compiled.LOSS_KINDS


def test_kernel_kind_accepts_functions_and_case():
    def softmax(x):
        return x

    assert losses.CategoricalCrossentropy().kernel_kind(softmax) == ("cce_logits", True)
    assert losses.BinaryCrossentropy().kernel_kind("Sigmoid") == ("bce_logits", True)


def test_fused_kind_equals_unfused_on_activated_output():
    """The fused loss on logits equals the probability loss on softmax(logits) (away from
    clipping)."""
    rng = np.random.default_rng(4)
    z = rng.normal(size=(6, 4))
    t = rng.integers(0, 4, 6).astype(np.float64)
    p = np.empty_like(z)
    v_fused = compiled.loss_value_and_grad("sparse_cce_logits", z, t, probs=p)
    assert compiled.loss_value_and_grad("sparse_cce", p, t) == pytest.approx(v_fused, rel=1e-12)
    zb = rng.normal(size=(6, 2))
    tb = rng.uniform(0, 1, (6, 2))
    pb = np.empty_like(zb)
    v_fused = compiled.loss_value_and_grad("bce_logits", zb, tb, probs=pb)
    assert compiled.loss_value_and_grad("bce", pb, tb) == pytest.approx(v_fused, rel=1e-12)


def test_call_shapes_like_keras():
    mse = losses.MeanSquaredError()
    # (n,) targets against (n, 1) predictions are expanded
    assert mse([1.0, 2.0], [[1.0], [4.0]]) == 2.0
    # sequences: (N, T, d) with per-sample weights (N,) broadcast over T; mean over N*T
    y = np.arange(12, dtype=float).reshape(2, 3, 2)
    t = np.zeros_like(y)
    per_row = (y**2).mean(-1).reshape(6)
    w = np.array([1.0, 3.0])
    assert mse(t, y, sample_weight=w) == pytest.approx(np.sum(np.repeat(w, 3) * per_row) / 6)
    scce = losses.SparseCategoricalCrossentropy(from_logits=True)
    z = np.log(np.array([[[1.0, 2.0, 5.0]], [[5.0, 2.0, 1.0]]]))  # (2, 1, 3)
    assert scce([[2], [0]], z) == pytest.approx(0.4700036292457356)
    with pytest.raises(ValueError, match=r"y_true.shape=\(3,\)"):
        mse([1.0, 2.0, 3.0], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="sample_weight"):
        mse([[1.0], [2.0]], [[1.0], [2.0]], sample_weight=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"integers in \[0, 3\)"):
        scce([[3], [0]], z)


# ---------------------------------------------------------------------------
# argument checks (both twins raise the same errors)


def _errors(fn):
    """The error type and message of fn for each implementation."""
    out = []
    for impl in (compiled, reference):
        with pytest.raises((ValueError, TypeError)) as err:
            fn(impl)
        out.append((err.type, str(err.value)))
    assert out[0] == out[1]
    return out[0][1]


def test_dtype_errors_name_every_dtype():
    y = np.zeros((2, 3), np.float32)
    t = np.zeros((2, 3), np.float64)
    w = np.ones(2, np.float32)
    msg = _errors(
        lambda m: m.loss_value_and_grad("mse", y, t, w, grad=np.zeros((2, 3), np.float16))
    )
    for part in (
        "y_pred.dtype=float32",
        "y_true.dtype=float64",
        "sample_weight.dtype=float32",
        "grad.dtype=float16",
        "float32 or float64",
    ):
        assert part in msg
    msg = _errors(lambda m: m.loss_value_and_grad("mse", y.astype(np.int32), t.astype(np.int32)))
    assert "y_pred.dtype=int32" in msg and "y_true.dtype=int32" in msg
    msg = _errors(lambda m: m.metric_sum("mae", y, t))
    assert "y_pred.dtype=float32" in msg and "y_true.dtype=float64" in msg


def test_shape_errors_say_expected_and_received():
    y = np.zeros((4, 3))
    msg = _errors(lambda m: m.loss_value_and_grad("mse", y, np.zeros((4, 2))))
    assert "(4, 3)" in msg and "y_true.shape=(4, 2)" in msg
    msg = _errors(lambda m: m.loss_value_and_grad("mse", np.zeros(3), np.zeros(3)))
    assert "y_pred.shape=(3,)" in msg
    msg = _errors(lambda m: m.loss_value_and_grad("mse", np.zeros((4, 0)), np.zeros((4, 0))))
    assert "d >= 1" in msg
    msg = _errors(lambda m: m.loss_value_and_grad("sparse_cce", y, np.zeros((4, 3))))
    assert "(4,) or (4, 1)" in msg and "y_true.shape=(4, 3)" in msg
    msg = _errors(lambda m: m.loss_value_and_grad("mse", y, y, np.ones(3)))
    assert "sample_weight" in msg and "(4,)" in msg and "sample_weight.shape=(3,)" in msg
    msg = _errors(lambda m: m.loss_value_and_grad("mse", y, y, grad=np.zeros((3, 4))))
    assert "grad.shape=(3, 4)" in msg
    msg = _errors(lambda m: m.loss_value_and_grad("cce_logits", y, y, probs=np.zeros((4, 1))))
    assert "probs.shape=(4, 1)" in msg


def test_layout_and_writeability_errors():
    y = np.zeros((4, 6))
    msg = _errors(lambda m: m.loss_value_and_grad("mse", y[:, ::2], y[:, ::2]))
    assert "C-contiguous" in msg and "y_pred" in msg
    ro = np.zeros((4, 6))
    ro.flags.writeable = False
    msg = _errors(lambda m: m.loss_value_and_grad("mse", y, y, grad=ro))
    assert "read-only grad" in msg
    # read-only inputs are fine
    assert (
        compiled.loss_value_and_grad("mse", ro, ro)
        == reference.loss_value_and_grad("mse", ro, ro)
        == 0.0
    )
    g = np.zeros((4, 6))
    msg = _errors(lambda m: m.loss_value_and_grad("cce_logits", y, y, grad=g, probs=g))
    assert "overlap" in msg
    msg = _errors(lambda m: m.loss_value_and_grad("mse", [[0.0]], y))
    assert "NumPy array for y_pred" in msg and "list" in msg


def test_kind_and_label_errors():
    y = np.zeros((3, 4))
    msg = _errors(lambda m: m.loss_value_and_grad("hinge", y, y))
    assert "'hinge'" in msg and all(k in msg for k in KINDS)
    msg = _errors(lambda m: m.metric_sum("auc", y, y))
    assert "'auc'" in msg and "sparse_categorical_accuracy" in msg
    for bad, shown in (
        (np.array([0.0, 4.0, 1.0]), "y_true[1]=4.0"),
        (np.array([0.0, 1.0, -1.0]), "y_true[2]=-1.0"),
        (np.array([0.5, 1.0, 1.0]), "y_true[0]=0.5"),
        (np.array([0.0, np.nan, 1.0]), "y_true[1]=nan"),
    ):
        for kind in ("sparse_cce", "sparse_cce_logits"):
            msg = _errors(lambda m, kind=kind, bad=bad: m.loss_value_and_grad(kind, y, bad))
            assert "[0, 4)" in msg and shown in msg
