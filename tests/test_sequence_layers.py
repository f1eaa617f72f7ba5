"""RepeatVector and global average / max pooling: the compiled kernels against their
NumPy twin (float32 and float64, both data formats), float64 central differences,
PyTorch's reductions (skipped without torch), and the layers' Keras shapes and
arguments (keras/src/layers/reshaping/repeat_vector_test.py,
keras/src/layers/pooling/global_average_pooling_test.py)."""

import numpy as np
import pytest
from helpers import DTYPES, TOL, numeric_grad, train_on_both_backends

import fastnn
from fastnn.backend.compiled import sequence as c_seq
from fastnn.backend.reference import sequence as r_seq
from fastnn.layers import (
    LSTM,
    Dense,
    GlobalAveragePooling1D,
    GlobalMaxPool1D,
    GlobalMaxPooling1D,
    Input,
    RepeatVector,
)

MODULES = [c_seq, r_seq]
SHAPES = [(1, 1, 1), (2, 1, 3), (3, 5, 1), (4, 7, 6), (0, 3, 2)]
FORMATS = ["channels_last", "channels_first"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,reps,f", SHAPES)
def test_repeat_twin(rng, dtype, n, reps, f):
    x = rng.standard_normal((n, f)).astype(dtype)
    dy = rng.standard_normal((n, reps, f)).astype(dtype)
    outs = [m.repeat_forward(x, reps) for m in MODULES]
    np.testing.assert_array_equal(outs[0], np.repeat(x[:, None], reps, axis=1))
    np.testing.assert_array_equal(outs[0], outs[1])
    dxs = [m.repeat_backward(dy) for m in MODULES]
    np.testing.assert_allclose(dxs[0], dxs[1], **TOL[dtype])
    np.testing.assert_allclose(dxs[0], dy.sum(axis=1), **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["avg", "max"])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("n,steps,feats", SHAPES)
def test_pool_twin(rng, dtype, kind, fmt, n, steps, feats):
    shape = (n, steps, feats) if fmt == "channels_last" else (n, feats, steps)
    x = rng.standard_normal(shape).astype(dtype)
    if steps > 2 and n:
        x.reshape(n, -1)[0, :2] = 5.0  # ties at the maximum in the first sample
    axis = 1 if fmt == "channels_last" else 2
    ys = [m.pool_forward(x, kind, fmt) for m in MODULES]
    expected = x.max(axis=axis) if kind == "max" else x.astype(np.float64).mean(axis=axis)
    np.testing.assert_allclose(ys[0], expected, **TOL[dtype])
    np.testing.assert_allclose(ys[0], ys[1], **TOL[dtype])
    dy = rng.standard_normal(ys[0].shape).astype(dtype)
    dxs = [m.pool_backward(x, ys[0], dy, kind, fmt) for m in MODULES]
    np.testing.assert_allclose(dxs[0], dxs[1], **TOL[dtype])


@pytest.mark.parametrize("kind", ["avg", "max"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_pool_central_differences(rng, kind, fmt):
    x = rng.standard_normal((3, 4, 5))
    R = rng.standard_normal((3, 5 if fmt == "channels_last" else 4))
    for m in MODULES:

        def f(m=m):
            return float(np.sum(np.sin(m.pool_forward(x, kind, fmt)) * R))

        y = m.pool_forward(x, kind, fmt)
        analytic = m.pool_backward(x, y, np.cos(y) * R, kind, fmt)
        np.testing.assert_allclose(analytic, numeric_grad(f, x), rtol=1e-6, atol=1e-8)


def test_repeat_central_differences(rng):
    x = rng.standard_normal((2, 3))
    R = rng.standard_normal((2, 4, 3))
    for m in MODULES:

        def f(m=m):
            return float(np.sum(np.tanh(m.repeat_forward(x, 4)) * R))

        up = (1 - np.tanh(m.repeat_forward(x, 4)) ** 2) * R
        np.testing.assert_allclose(m.repeat_backward(up), numeric_grad(f, x), rtol=1e-7)


def test_max_pool_ties_share_the_gradient_like_torch_amax(rng):
    torch = pytest.importorskip("torch")
    x = np.array([[[1.0, 2.0], [3.0, 2.0], [3.0, 0.0]]])  # steps 1 and 2 tie at 3
    t = torch.tensor(x, requires_grad=True)
    t.amax(dim=1).sum().backward()  # amax spreads the gradient evenly over ties
    for m in MODULES:
        y = m.pool_forward(x, "max")
        dx = m.pool_backward(x, y, np.ones_like(y), "max")
        np.testing.assert_allclose(dx, t.grad.numpy(), rtol=1e-12)
        np.testing.assert_array_equal(dx[0, :, 0], [0.0, 0.5, 0.5])


def test_matches_pytorch_mean_and_amax(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((4, 6, 3))
    dy = rng.standard_normal((4, 3))
    for kind, fn in (("avg", lambda t: t.mean(dim=1)), ("max", lambda t: t.amax(dim=1))):
        t = torch.tensor(x, requires_grad=True)
        out = fn(t)
        out.backward(torch.tensor(dy))
        for m in MODULES:
            y = m.pool_forward(x, kind)
            np.testing.assert_allclose(y, out.detach().numpy(), rtol=1e-12)
            np.testing.assert_allclose(m.pool_backward(x, y, dy, kind), t.grad.numpy(), rtol=1e-12)


# ---- the layers ---------------------------------------------------------------------


def test_repeat_vector_layer(backend):
    # keras/src/layers/reshaping/repeat_vector_test.py::test_repeat_vector
    model = fastnn.Sequential([Input(shape=(2,)), RepeatVector(3)])
    out = model.predict(np.array([[1.0, 2.0], [3.0, 4.0]]), verbose=0)
    np.testing.assert_array_equal(out, [[[1, 2]] * 3, [[3, 4]] * 3])
    with pytest.raises(TypeError, match="n as an int"):
        RepeatVector(2.0)
    with pytest.raises(ValueError, match="positive"):
        RepeatVector(0)
    with pytest.raises(ValueError, match=r"samples of shape \(features,\)"):
        fastnn.Sequential([Input(shape=(2, 3)), RepeatVector(3)]).build()
    assert RepeatVector.from_config(RepeatVector(4, name="r").get_config()).n == 4


@pytest.mark.parametrize(
    "fmt,keepdims,out_shape",
    [
        ("channels_last", False, (5,)),
        ("channels_last", True, (1, 5)),
        ("channels_first", False, (4,)),
        ("channels_first", True, (4, 1)),
    ],
)
def test_pooling_layer_shapes(fmt, keepdims, out_shape):
    # keras/src/layers/pooling/global_average_pooling_test.py (1D shapes)
    for cls in (GlobalAveragePooling1D, GlobalMaxPooling1D):
        model = fastnn.Sequential([Input(shape=(4, 5)), cls(data_format=fmt, keepdims=keepdims)])
        x = np.arange(40, dtype=np.float32).reshape(2, 4, 5)
        out = model.predict(x, verbose=0)
        assert out.shape == (2,) + out_shape
        axis = 1 if fmt == "channels_last" else 2
        ref = x.mean(axis=axis) if cls is GlobalAveragePooling1D else x.max(axis=axis)
        np.testing.assert_allclose(out.reshape(2, -1), ref, rtol=1e-6)
    assert GlobalMaxPool1D is GlobalMaxPooling1D
    with pytest.raises(ValueError, match="data_format"):
        GlobalAveragePooling1D(data_format="channels_middle")


def test_encoder_repeat_decoder_trains_the_same_on_both_backends(rng):
    x = rng.standard_normal((32, 5, 3))
    y = rng.standard_normal((32, 4, 2))
    a, b = train_on_both_backends(
        lambda: [LSTM(6), RepeatVector(4), LSTM(5, return_sequences=True), Dense(2)],
        x,
        y,
        seed=5,
        epochs=2,
        batch_size=8,
    )
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-9, atol=1e-12)


def test_pooling_model_gradients_match_central_differences(rng):
    """A float64 GlobalMaxPooling1D + GlobalAveragePooling1D model: the trained step
    equals the step computed from central differences of the loss (SGD, lr 1)."""
    x = rng.standard_normal((6, 7, 3))
    y = rng.standard_normal((6, 1))
    for pool in (GlobalAveragePooling1D(), GlobalMaxPooling1D()):
        model = fastnn.Sequential(
            [Input(shape=(7, 3)), Dense(4, activation="tanh"), pool, Dense(1)], dtype="float64"
        )
        model.compile(fastnn.optimizers.SGD(learning_rate=1.0), "mse")
        w0 = [w.copy() for w in model.get_weights()]

        def loss(model=model):
            return float(model.evaluate(x, y, verbose=0))

        numeric = []
        for k in range(len(w0)):
            ws = [w.copy() for w in w0]

            def f(k=k, ws=ws, model=model):
                model.set_weights(ws)
                return loss()

            numeric.append(numeric_grad(f, ws[k]))
        model.set_weights(w0)
        model.train_on_batch(x, y)
        for a, b, g in zip(model.get_weights(), w0, numeric):
            np.testing.assert_allclose(b - a, g, rtol=1e-5, atol=1e-8)


def test_time_distributed_dense_is_dense_on_every_step(backend, rng):
    from fastnn.layers import Dropout, SimpleRNN, TimeDistributed

    x = rng.standard_normal((16, 5, 3)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (16, 5))]
    models = []
    for wrap in (True, False):
        fastnn.utils.set_random_seed(9)
        head = Dense(4, activation="softmax")
        model = fastnn.Sequential(
            [
                Input(shape=(5, 3)),
                LSTM(6, return_sequences=True),
                TimeDistributed(head) if wrap else head,
            ]
        )
        model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
        model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
        models.append(model)
    assert models[0].layers[-1].output_shape == (5, 4)
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(models[0].predict(x, verbose=0), models[1].predict(x, verbose=0))
    clone = TimeDistributed.from_config(models[0].layers[-1].get_config())
    assert isinstance(clone.layer, Dense) and clone.layer.units == 4
    assert TimeDistributed(Dropout(0.5)).layer.rate == 0.5
    with pytest.raises(ValueError, match="TimeDistributed expected its layer"):
        TimeDistributed.from_config({"layer": {"class_name": "LSTM", "config": {"units": 2}}})
    with pytest.raises(NotImplementedError, match=r"TimeDistributed\(SimpleRNN\)"):
        TimeDistributed(SimpleRNN(3))
    with pytest.raises(ValueError, match="sequences"):
        fastnn.Sequential([Input(shape=(3,)), TimeDistributed(Dense(2))]).build()


def test_time_distributed_saves_and_loads(tmp_path, rng):
    from fastnn.layers import TimeDistributed

    model = fastnn.Sequential([Input(shape=(4, 2)), TimeDistributed(Dense(3, activation="relu"))])
    x = rng.standard_normal((3, 4, 2)).astype(np.float32)
    before = model.predict(x, verbose=0)
    model.save(tmp_path / "td.fastnn")
    np.testing.assert_array_equal(
        fastnn.load_model(tmp_path / "td.fastnn").predict(x, verbose=0), before
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_spatial_dropout_drops_whole_channels_twin_exact(rng, dtype):
    from fastnn.backend.compiled import dropout as c_drop
    from fastnn.backend.reference import dropout as r_drop

    n, steps, f, rate = 6, 5, 8, 0.4
    x = rng.standard_normal((n, steps * f)).astype(dtype) + 10.0  # no zeros of its own
    ys = [
        m.SpatialDropoutOp(steps, f, rate, dtype, True, 1234).py_forward(x)
        for m in (c_drop, r_drop)
    ]
    np.testing.assert_array_equal(ys[0], ys[1])
    y = ys[0].reshape(n, steps, f)
    dropped = (y == 0).all(axis=1)  # a channel is dropped at every step or at none
    assert dropped.any() and not dropped.all()
    np.testing.assert_array_equal((y == 0).any(axis=1), dropped)
    kept = ~dropped[:, None, :].repeat(steps, axis=1)
    np.testing.assert_allclose(y[kept], x.reshape(n, steps, f)[kept] / (1 - rate), rtol=1e-6)
    op = c_drop.SpatialDropoutOp(steps, f, rate, dtype, True, 1234)
    np.testing.assert_array_equal(op.py_forward(x, training=False), x)


def test_spatial_dropout_layer_trains_the_same_on_both_backends(rng):
    from fastnn.layers import SpatialDropout1D

    x = rng.standard_normal((24, 6, 4))
    y = rng.standard_normal((24, 1))
    a, b = train_on_both_backends(
        lambda: [Input(shape=(6, 4)), SpatialDropout1D(0.3), LSTM(5), Dense(1)],
        x,
        y,
        seed=2,
        epochs=3,
        batch_size=8,
    )
    da, db = a.get_random_state()["dropout"], b.get_random_state()["dropout"]
    assert list(da.values()) == list(db.values())
    assert list(da.values())[0][1] == 3 * 24 * 4  # one draw per sample and channel
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-10, atol=1e-12)
    model = fastnn.Sequential([Input(shape=(6, 4)), SpatialDropout1D(0.5)])
    np.testing.assert_array_equal(
        model.predict(x, verbose=0), x.astype(np.float32)
    )  # inference: identity
    with pytest.raises(ValueError, match="sequences"):
        fastnn.Sequential([Input(shape=(4,)), SpatialDropout1D(0.5)]).build()


def test_automatic_names_follow_keras():
    from fastnn.layers import SimpleRNN, SpatialDropout1D
    from fastnn.layers.base import _snake_case

    assert [
        _snake_case(c.__name__) for c in (GlobalAveragePooling1D, SpatialDropout1D, SimpleRNN, LSTM)
    ] == [
        "global_average_pooling1d",
        "spatial_dropout1d",
        "simple_rnn",
        "lstm",
    ]
    assert _snake_case("InputLayer") == "input_layer"
