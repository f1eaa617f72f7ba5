"""Recurrent layers through the Keras-shaped API: Sequential training, the
layer-level call with initial states and its backward, stateful layers,
sequence-to-sequence heads, and learning tasks that need memory."""

import numpy as np
import pytest
from helpers import numeric_grad

import fastnn
from fastnn.datasets import load_digits, make_adding_problem, train_test_split
from fastnn.layers import GRU, LSTM, Dense, SimpleRNN

LAYERS = [SimpleRNN, LSTM, GRU]


def test_classic_tutorial_runs_unchanged():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 12, 3)).astype(np.float32)
    y = (x[:, :, 0].sum(axis=1) > 0).astype(np.float32)
    model = fastnn.Sequential(
        [SimpleRNN(100, activation="relu", input_shape=(12, 3)), Dense(1, activation="sigmoid")]
    )
    model.compile("adam", "binary_crossentropy", ["accuracy"])
    hist = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert hist.history["accuracy"][-1] > 0.9


@pytest.mark.parametrize("cls", LAYERS)
def test_weights_layout_and_counts(cls):
    m = fastnn.Sequential([cls(5, input_shape=(4, 3))])
    m.build()
    shapes = [w.shape for w in m.get_weights()]
    g = {SimpleRNN: 1, LSTM: 4, GRU: 3}[cls]
    want = [(3, 5 * g), (5, 5 * g), (5 * g,)] + ([(15,)] if cls is GRU else [])
    assert shapes == want
    if cls is LSTM:  # unit_forget_bias: the forget block starts at 1
        np.testing.assert_array_equal(m.get_weights()[2], [0] * 5 + [1] * 5 + [0] * 10)


@pytest.mark.parametrize("cls", LAYERS)
def test_layer_call_with_states_and_backward_central_differences(cls, backend):
    """Direct call with initial_state and return_state, and its backward: every
    gradient (input, parameters, initial states) against float64 central differences."""
    rng = np.random.default_rng(1)
    n, T, F, H = 2, 4, 3, 3
    fastnn.set_seed(3)
    layer = cls(H, return_sequences=True, return_state=True)
    x = rng.standard_normal((n, T, F))
    states = [rng.standard_normal((n, H)) for _ in range(2 if cls is LSTM else 1)]
    out, *final = layer(x, initial_state=states)
    assert out.shape == (n, T, H) and all(s.shape == (n, H) for s in final)
    np.testing.assert_allclose(out[:, -1], final[0], rtol=1e-12)
    dy = rng.standard_normal(out.shape)
    dfin = [rng.standard_normal((n, H)) for _ in final]

    def loss():
        o, *f = layer(x, initial_state=states)
        return float((dy * o).sum() + sum((d * s).sum() for d, s in zip(dfin, f)))

    loss()
    dx, dstates = layer.backward(dy, dfin)
    grads = [g.copy() for g in layer.grads]
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-6, atol=1e-8)
    for w, g in zip(layer.weights, grads):
        np.testing.assert_allclose(g, numeric_grad(loss, w), rtol=1e-6, atol=1e-8)
    for s, ds in zip(states, dstates):
        np.testing.assert_allclose(ds, numeric_grad(loss, s), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("cls", LAYERS)
def test_stateful_layer_carries_state_between_batches(cls):
    """Two halves through a stateful layer equal the whole sequence at once."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 10, 2)).astype(np.float64)
    fastnn.set_seed(5)
    whole = fastnn.Sequential([cls(4, input_shape=(10, 2), return_sequences=True)], dtype="float64")
    halves = fastnn.Sequential(
        [cls(4, input_shape=(5, 2), return_sequences=True, stateful=True)], dtype="float64"
    )
    whole.build(), halves.build()
    halves.set_weights(whole.get_weights())
    full = whole.predict(x)
    a = halves.predict(x[:, :5], batch_size=3)
    b = halves.predict(x[:, 5:], batch_size=3)
    np.testing.assert_allclose(np.concatenate([a, b], axis=1), full, rtol=1e-12)
    halves.reset_states()
    np.testing.assert_allclose(halves.predict(x[:, :5], batch_size=3), a, rtol=1e-12)


def test_stacked_layers_and_sequence_to_sequence_dense():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((32, 6, 2)).astype(np.float32)
    y = np.cumsum(x[:, :, :1], axis=1)  # running sum per timestep
    fastnn.set_seed(0)
    m = fastnn.Sequential(
        [
            GRU(16, return_sequences=True, input_shape=(6, 2)),
            LSTM(16, return_sequences=True),
            Dense(1),
        ]
    )
    m.compile(fastnn.optimizers.Adam(0.01), "mse")
    assert m.predict(x).shape == (32, 6, 1)
    before = m.evaluate(x, y, verbose=0)
    m.fit(x, y, epochs=60, batch_size=8, verbose=0)
    assert m.evaluate(x, y, verbose=0) < 0.2 * before


def test_go_backwards_reads_the_sequence_reversed():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 7, 3))
    fastnn.set_seed(1)
    a = fastnn.Sequential([LSTM(4, input_shape=(7, 3), go_backwards=True)], dtype="float64")
    b = fastnn.Sequential([LSTM(4, input_shape=(7, 3))], dtype="float64")
    a.build(), b.build()
    b.set_weights(a.get_weights())
    np.testing.assert_allclose(a.predict(x), b.predict(x[:, ::-1]), rtol=1e-12)


def test_clipnorm_trains_recurrent_models_and_bad_input_errors():
    m = fastnn.Sequential([SimpleRNN(4, input_shape=(5, 2)), Dense(1)])
    m.compile(fastnn.optimizers.SGD(0.1, clipnorm=0.5), "mse")
    x = np.ones((4, 5, 2), np.float32)
    m.train_on_batch(x, np.ones((4, 1), np.float32))
    assert m.optimizer.iterations == 1
    with pytest.raises(ValueError, match=r"expected input of shape \(n, 5, 2\)"):
        m.train_on_batch(np.ones((4, 6, 2), np.float32), np.ones((4, 1), np.float32))
    with pytest.raises(ValueError, match="timesteps, features"):
        fastnn.Sequential([LSTM(3, input_shape=(5,))]).build()
    with pytest.raises(ValueError, match="return_state=True is for calling the layer"):
        fastnn.Sequential([GRU(3, input_shape=(5, 2), return_state=True)]).predict(x)


@pytest.mark.slow
@pytest.mark.parametrize("cls,budget_ok", [(LSTM, True), (GRU, True), (SimpleRNN, False)])
def test_adding_problem_t100(cls, budget_ok):
    """The adding problem at T=100 (predicting the mean gives MSE ~0.167): LSTM and
    GRU reach test MSE < 0.01; a SimpleRNN with the same budget stays above 0.05."""
    x, y = make_adding_problem(4000, timesteps=100, seed=0)
    xt, yt = make_adding_problem(500, timesteps=100, seed=1)
    fastnn.set_seed(0)
    m = fastnn.Sequential([cls(32, input_shape=(100, 2)), Dense(1)])
    m.compile(fastnn.optimizers.Adam(0.01, clipnorm=1.0), "mse")
    m.fit(x, y, epochs=20, batch_size=32, verbose=0, seed=0)
    mse = m.evaluate(xt, yt, verbose=0)
    if budget_ok:
        assert mse < 0.01, f"{cls.__name__}: test MSE {mse:.4f}"
    else:
        assert mse > 0.05, f"{cls.__name__}: test MSE {mse:.4f}"


@pytest.mark.parametrize("cls", LAYERS)
def test_digits_read_row_by_row(cls):
    x, y = load_digits(return_images=True)
    x = x / 16.0
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, seed=0)
    fastnn.set_seed(0)
    m = fastnn.Sequential([cls(64, input_shape=(8, 8)), Dense(10, activation="softmax")])
    m.compile(fastnn.optimizers.Adam(0.01), "sparse_categorical_crossentropy", ["accuracy"])
    m.fit(x_tr, y_tr, epochs=20, batch_size=32, verbose=0, seed=0)
    assert m.evaluate(x_te, y_te, verbose=0)[1] >= 0.9


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_stateful_direct_calls_carry_state_and_expose_it(cls, rng):
    """Keras: a stateful layer called directly continues from its last state;
    layer.states shows it; reset_states() forgets it; a bare array is initial_state."""
    x = rng.standard_normal((3, 6, 2))
    whole = cls(4, return_sequences=True, dtype="float64")
    full = whole(x)
    half = cls(4, return_sequences=True, stateful=True)
    half._build_standalone((3, 2), np.float64)
    half.weights = [w.copy() for w in whole.weights]
    half.grads = [np.zeros_like(w) for w in half.weights]
    assert half.states is None
    first, second = half(x[:, :3]), half(x[:, 3:])
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), full, rtol=1e-12)
    np.testing.assert_allclose(half.states[0], full[:, -1], rtol=1e-12)
    assert len(half.states) == (2 if cls is LSTM else 1)
    half.reset_states()
    assert half.states is None
    np.testing.assert_allclose(half(x[:, :3]), first, rtol=1e-12)
    h0 = rng.standard_normal((3, 4))
    plain = cls(4, return_sequences=True, dtype="float64")
    plain._build_standalone((6, 2), np.float64)
    if cls is LSTM:  # as in Keras, a bare array is one state; an LSTM needs [h0, c0]
        with pytest.raises(ValueError, match="list of 2 arrays"):
            plain(x, initial_state=h0)
    else:
        np.testing.assert_array_equal(plain(x, initial_state=h0), plain(x, initial_state=[h0]))


def test_batch_shape_spellings():
    import fastnn

    a = fastnn.Input(batch_shape=(8, 5, 3))
    b = LSTM(4, batch_input_shape=(8, 5, 3), stateful=True)
    c = LSTM(4, input_shape=(5, 3), batch_size=8)
    assert a.input_shape_arg == b.input_shape_arg == c.input_shape_arg == (5, 3)
    assert a.batch_size == b.batch_size == c.batch_size == 8
    assert LSTM(4, batch_input_shape=(None, 5, 3)).batch_size is None
    assert LSTM.from_config(c.get_config()).batch_size == 8
    with pytest.raises(ValueError, match="batch_size as a positive int"):
        LSTM(4, batch_size=0)
    with pytest.raises(ValueError, match="not both"):
        fastnn.Input(shape=(3,), batch_shape=(2, 3))
    model = fastnn.Sequential([fastnn.Input(batch_shape=(8, 5, 3)), LSTM(4, stateful=True)])
    model.compile("sgd", "mse")
    model.train_on_batch(np.zeros((8, 5, 3), np.float32), np.zeros((8, 4), np.float32))
    assert model.layers[0].states[0].shape == (8, 4)
