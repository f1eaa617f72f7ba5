"""RNN dropout=... (Keras 3.15 semantics with recurrent_dropout=0 and implementation=2:
one scaled mask per
(sample, feature) of the input, the same at every step, in training only): the same
training as SpatialDropout1D in front of the layer, on both backends, reproducible under
the seed, and inert at inference."""

import numpy as np
import pytest

import fastnn
from fastnn.layers import (
    GRU,
    LSTM,
    Dense,
    Embedding,
    Input,
    SimpleRNN,
    SpatialDropout1D,
)


def _fit(layers, x, y, seed=3, epochs=2):
    fastnn.utils.set_random_seed(seed)
    model = fastnn.Sequential(layers(), dtype="float64")
    model.compile("adam", "mse")
    model.fit(x, y, epochs=epochs, batch_size=8, shuffle=False, verbose=0)
    return model


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_dropout_is_spatial_dropout_of_the_input(backend, cls):
    """Keras' RNN input dropout draws one mask per sequence and feature and reuses it at
    every step: exactly SpatialDropout1D(rate) in front of the layer, so both models train
    to the same weights (the mask streams follow the layer order, the same here)."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((24, 6, 4)), rng.standard_normal((24, 1))
    a = _fit(lambda: [Input((6, 4)), cls(5, dropout=0.4), Dense(1)], x, y)
    b = _fit(lambda: [Input((6, 4)), SpatialDropout1D(0.4), cls(5), Dense(1)], x, y)
    c = _fit(lambda: [Input((6, 4)), cls(5), Dense(1)], x, y)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-12, atol=1e-13)
    assert not np.allclose(a.get_weights()[0], c.get_weights()[0])  # dropout did something
    # inference: no dropout, the same outputs every time
    np.testing.assert_array_equal(a.predict(x, verbose=0), a.predict(x, verbose=0))


def test_dropout_trains_the_same_on_both_backends_and_under_the_seed():
    rng = np.random.default_rng(1)
    x = rng.integers(1, 30, (16, 7)).astype(float)
    x[:5, 4:] = 0
    y = rng.standard_normal((16, 1))

    def layers():
        return [Input((7,)), Embedding(30, 4, mask_zero=True), LSTM(5, dropout=0.3), Dense(1)]

    runs = []
    for name in ("compiled", "numpy", "compiled"):
        fastnn.set_backend(name)
        try:
            runs.append(_fit(layers, x, y, seed=9))
        finally:
            fastnn.set_backend("compiled")
    for w0, w1, w2 in zip(*(r.get_weights() for r in runs)):
        np.testing.assert_allclose(w0, w1, rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(w0, w2)


def test_dropout_arguments_follow_keras():
    assert LSTM(3, dropout=1.5).dropout == 1.0  # clamped, as Keras; 1.0 then drops nothing
    assert LSTM(3, dropout=-1).dropout == 0.0
    cfg = GRU(3, dropout=0.25, seed=4).get_config()
    assert cfg["dropout"] == 0.25 and cfg["recurrent_dropout"] == 0.0 and cfg["seed"] == 4
    assert GRU.from_config(cfg).dropout == 0.25
    assert LSTM(3, recurrent_dropout=0.2).recurrent_dropout == 0.2  # test_recurrent_dropout.py
    with pytest.raises(ValueError, match="dropout as a float"):
        LSTM(3, dropout="0.2")
    layer = LSTM(3, dropout=0.5)
    x = np.ones((2, 4, 2), np.float32)
    assert layer(x).shape == (2, 3)  # inference: no dropout
    with pytest.raises(NotImplementedError, match="training=True"):
        layer(x, training=True)
