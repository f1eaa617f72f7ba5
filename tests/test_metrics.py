"""Metric kernels (compiled vs NumPy twin vs plain Python definitions, Keras
documented examples) and fastnn.metrics.resolve."""

import numpy as np
import pytest

import fastnn.backend.compiled.losses as compiled
import fastnn.backend.reference.losses as reference
from fastnn import losses, metrics

IMPLS = [pytest.param(compiled, id="compiled"), pytest.param(reference, id="reference")]
DTYPES = [np.float32, np.float64]
KINDS = list(reference.METRIC_KINDS)
SHAPES = [(1, 1), (1, 3), (2, 1), (3, 4), (7, 10), (64, 5)]


def make_case(kind, n, d, dtype, rng, weighted):
    if kind == "binary_accuracy":
        y = rng.uniform(0, 1, (n, d))
        y.flat[::5] = 0.5  # exactly at the threshold: counts as negative
        t = (rng.random((n, d)) < 0.5).astype(np.float64)
        t.flat[1::4] = rng.uniform(0, 1, t.flat[1::4].size)  # soft targets too
    elif kind == "categorical_accuracy":
        y = np.round(rng.uniform(0, 1, (n, d)), 1)  # ties happen: the first maximum wins
        t = np.eye(d)[rng.integers(0, d, n)]
    elif kind == "sparse_categorical_accuracy":
        y = np.round(rng.uniform(0, 1, (n, d)), 1)
        t = rng.integers(0, max(d, 2), n).astype(np.float64)
    else:
        y = rng.normal(size=(n, d))
        t = rng.normal(size=(n, d))
    w = rng.uniform(0, 2, n).astype(dtype) if weighted else None
    return y.astype(dtype), t.astype(dtype), w


def plain_metric(kind, y, t, w):
    """The definitions, one sample at a time in plain Python."""
    total = 0.0
    n, d = y.shape
    for i in range(n):
        row, target = [float(v) for v in y[i]], t[i]
        if kind == "binary_accuracy":
            m = sum((row[j] > 0.5) == (float(target[j]) > 0.5) for j in range(d)) / d
        elif kind == "categorical_accuracy":
            trow = [float(v) for v in target]
            m = float(row.index(max(row)) == trow.index(max(trow)))
        elif kind == "sparse_categorical_accuracy":
            label = float(target)
            pred = float(row[0] > 0.5) if d == 1 else float(row.index(max(row)))
            m = float(pred == label)
        elif kind == "mse":
            m = sum((row[j] - float(target[j])) ** 2 for j in range(d)) / d
        else:
            m = sum(abs(row[j] - float(target[j])) for j in range(d)) / d
        total += (1.0 if w is None else float(w[i])) * m
    return total


def _check(kind, n, d, dtype, seed, weighted):
    rng = np.random.default_rng(seed)
    y, t, w = make_case(kind, n, d, dtype, rng, weighted)
    vc = compiled.metric_sum(kind, y, t, w)
    vr = reference.metric_sum(kind, y, t, w)
    assert isinstance(vc, float) and isinstance(vr, float)
    expected = plain_metric(kind, y, t, w)
    assert vc == pytest.approx(vr, rel=1e-12, abs=1e-12)
    assert vr == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("shape", SHAPES, ids=[f"{n}x{d}" for n, d in SHAPES])
@pytest.mark.parametrize("kind", KINDS)
def test_metric_twins_and_definition_table(kind, shape, weighted, dtype):
    _check(
        kind, *shape, dtype, seed=KINDS.index(kind) * 100 + SHAPES.index(shape), weighted=weighted
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("kind", KINDS)
def test_metric_twins_and_definition_sweep(kind, dtype):
    rng = np.random.default_rng(99)
    for i in range(10):
        n, d = int(rng.integers(1, 50)), int(rng.integers(1, 20))
        _check(kind, n, d, dtype, seed=500 + i, weighted=bool(i % 2))


@pytest.mark.parametrize("impl", IMPLS)
def test_accuracy_hand_worked(impl):
    y = np.array([[0.7, 0.2], [0.4, 0.9]])
    t = np.array([[1.0, 0.0], [1.0, 1.0]])
    assert impl.metric_sum("binary_accuracy", y, t) == 1.5  # 2/2 + 1/2
    assert impl.metric_sum("binary_accuracy", y, t, np.array([1.0, 2.0])) == 2.0
    # ties: the first maximum wins, in predictions and in targets
    y3 = np.array([[0.5, 0.5, 0.0]])
    assert impl.metric_sum("categorical_accuracy", y3, np.array([[1.0, 0.0, 0.0]])) == 1.0
    assert impl.metric_sum("categorical_accuracy", y3, np.array([[0.0, 1.0, 0.0]])) == 0.0
    assert (
        impl.metric_sum(
            "categorical_accuracy", np.array([[0.0, 1.0, 0.0]]), np.array([[0.0, 0.5, 0.5]])
        )
        == 1.0
    )
    assert impl.metric_sum("sparse_categorical_accuracy", y3, np.array([0.0])) == 1.0
    assert impl.metric_sum("sparse_categorical_accuracy", y3, np.array([1.0])) == 0.0
    # one output unit: threshold at 0.5 (0.5 itself is negative)
    y1 = np.array([[0.7], [0.2], [0.5]])
    assert impl.metric_sum("sparse_categorical_accuracy", y1, np.array([1.0, 0.0, 1.0])) == 2.0
    assert (
        impl.metric_sum("sparse_categorical_accuracy", y1, np.array([[1.0], [1.0], [0.0]])) == 2.0
    )
    # mse / mae: mean over outputs, summed over samples
    e = np.array([[1.0, 3.0], [0.0, -2.0]])
    assert impl.metric_sum("mse", e, np.zeros((2, 2))) == 7.0  # (1 + 9) / 2 + (0 + 4) / 2
    assert impl.metric_sum("mae", e, np.zeros((2, 2))) == 3.0  # (1 + 3) / 2 + (0 + 2) / 2
    assert impl.metric_sum("mae", e, np.zeros((2, 2)), np.array([0.5, 0.0])) == 1.0
    assert impl.metric_sum("mse", np.zeros((0, 2)), np.zeros((0, 2))) == 0.0


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("impl", IMPLS)
def test_keras_documented_accuracy_examples(impl, dtype):
    """The examples of keras.metrics.*Accuracy (weighted mean = weighted sum / sum of weights)."""
    a = lambda *v: np.array(v, dtype=dtype)  # noqa: E731
    y_true, y_pred = a([1], [1], [0], [0]), a([0.98], [1], [0], [0.6])
    assert impl.metric_sum("binary_accuracy", y_pred, y_true) / 4 == 0.75
    w = a(1, 0, 0, 1)
    assert impl.metric_sum("binary_accuracy", y_pred, y_true, w) / w.sum() == 0.5
    y_pred = a([0.1, 0.9, 0.8], [0.05, 0.95, 0])
    w = a(0.7, 0.3)
    assert impl.metric_sum("categorical_accuracy", y_pred, a([0, 0, 1], [0, 1, 0])) / 2 == 0.5
    assert impl.metric_sum("categorical_accuracy", y_pred, a([0, 0, 1], [0, 1, 0]), w) / float(
        w.sum()
    ) == pytest.approx(0.3, rel=1e-6)
    assert impl.metric_sum("sparse_categorical_accuracy", y_pred, a([2], [1])) / 2 == 0.5
    assert impl.metric_sum("sparse_categorical_accuracy", y_pred, a(2, 1), w) / float(
        w.sum()
    ) == pytest.approx(0.3, rel=1e-6)


def test_metric_argument_errors_match_twin():
    y = np.zeros((4, 3))

    def errors(fn):
        out = []
        for impl in (compiled, reference):
            with pytest.raises(ValueError) as err:
                fn(impl)
            out.append(str(err.value))
        assert out[0] == out[1]
        return out[0]

    msg = errors(lambda m: m.metric_sum("sparse_categorical_accuracy", y, np.zeros((4, 3))))
    assert "(4,) or (4, 1)" in msg and "y_true.shape=(4, 3)" in msg
    msg = errors(lambda m: m.metric_sum("categorical_accuracy", y, np.zeros(4)))
    assert "(4, 3)" in msg and "y_true.shape=(4,)" in msg
    msg = errors(lambda m: m.metric_sum("mse", y, y, np.ones((4, 1))))
    assert "sample_weight.shape=(4, 1)" in msg
    msg = errors(lambda m: m.metric_sum("mse", y.astype(np.float32), y, np.ones(4, np.float32)))
    assert "y_pred.dtype=float32" in msg and "y_true.dtype=float64" in msg
    assert "sample_weight.dtype=float32" in msg
    msg = errors(lambda m: m.metric_sum("accuracy", y, y))
    assert "'accuracy'" in msg and "binary_accuracy" in msg


# ---------------------------------------------------------------------------
# resolve


@pytest.mark.parametrize(
    "ident,loss,expected",
    [
        ("accuracy", "binary_crossentropy", ("accuracy", "binary_accuracy")),
        ("accuracy", "categorical_crossentropy", ("accuracy", "categorical_accuracy")),
        (
            "accuracy",
            "sparse_categorical_crossentropy",
            ("accuracy", "sparse_categorical_accuracy"),
        ),
        ("acc", "sparse_categorical_crossentropy", ("acc", "sparse_categorical_accuracy")),
        ("acc", losses.BinaryCrossentropy(from_logits=True), ("acc", "binary_accuracy")),
        ("Accuracy", losses.CategoricalCrossentropy(), ("Accuracy", "categorical_accuracy")),
        ("accuracy", "mse", ("accuracy", "categorical_accuracy")),
        ("accuracy", None, ("accuracy", "categorical_accuracy")),
        ("binary_accuracy", "mse", ("binary_accuracy", "binary_accuracy")),
        ("BinaryAccuracy", None, ("BinaryAccuracy", "binary_accuracy")),
        (
            "categorical_accuracy",
            "sparse_categorical_crossentropy",
            ("categorical_accuracy", "categorical_accuracy"),
        ),
        (
            "sparse_categorical_accuracy",
            None,
            ("sparse_categorical_accuracy", "sparse_categorical_accuracy"),
        ),
        ("mse", None, ("mse", "mse")),
        ("MSE", None, ("MSE", "mse")),
        ("mean_squared_error", None, ("mean_squared_error", "mse")),
        ("mae", "mse", ("mae", "mae")),
        ("mean_absolute_error", None, ("mean_absolute_error", "mae")),
        ("MeanAbsoluteError", None, ("MeanAbsoluteError", "mae")),
    ],
)
def test_resolve(ident, loss, expected):
    assert metrics.resolve(ident, loss) == expected
    assert expected[1] in compiled.METRIC_KINDS


def test_resolve_accuracy_with_one_output_is_binary():
    # Keras 3 picks binary accuracy for a single output unit whatever the loss
    assert metrics.resolve("accuracy", "mse", output_dim=1) == ("accuracy", "binary_accuracy")
    assert metrics.resolve("accuracy", "categorical_crossentropy", output_dim=3) == (
        "accuracy",
        "categorical_accuracy",
    )
    assert (
        metrics.accuracy_kind(losses.SparseCategoricalCrossentropy(), 10)
        == "sparse_categorical_accuracy"
    )


def test_resolve_config_dicts():
    assert metrics.resolve({"class_name": "BinaryAccuracy", "config": {}}) == (
        "binary_accuracy",
        "binary_accuracy",
    )
    assert metrics.resolve({"class_name": "MeanSquaredError", "config": {"name": "my_mse"}}) == (
        "my_mse",
        "mse",
    )


def test_resolve_refuses_config_it_would_drop():
    # a Keras config the kernels do not honour is refused, not silently dropped
    cfg = {"name": "acc7", "dtype": "float32", "threshold": 0.5}
    assert metrics.resolve({"class_name": "BinaryAccuracy", "config": cfg}) == (
        "acc7",
        "binary_accuracy",
    )
    with pytest.raises(NotImplementedError, match=r"BinaryAccuracy\(threshold=0.7\)"):
        metrics.resolve({"class_name": "BinaryAccuracy", "config": {"threshold": 0.7}})
    with pytest.raises(NotImplementedError, match="MeanSquaredError"):
        metrics.resolve({"class_name": "MeanSquaredError", "config": {"foo": 1}})


@pytest.mark.parametrize("bad", ["accuracyy", "auc", "Mse", None, 3, {"class_name": "AUC"}])
def test_resolve_unknown_lists_names(bad):
    with pytest.raises(ValueError) as err:
        metrics.resolve(bad, "mse")
    msg = str(err.value)
    assert repr(bad) in msg
    for name in (
        "accuracy",
        "binary_accuracy",
        "categorical_accuracy",
        "sparse_categorical_accuracy",
        "mse",
        "mae",
        "mean_squared_error",
        "mean_absolute_error",
    ):
        assert name in msg


def test_resolve_rejects_unknown_loss():
    with pytest.raises(ValueError, match="loss identifier"):
        metrics.resolve("accuracy", "hinge")
