"""input_shape=(None, F): a model that takes sequences of any length. A batch of another
length gets a Net for it over the same weights (the optimizer state, dropout streams and
stateful states carry on); a model whose weights depend on the length refuses it."""

import io

import numpy as np
import pytest

import fastnn
from fastnn.layers import GRU, LSTM, Dense, Embedding, Flatten, Input


def _model(T=None):
    return fastnn.Sequential(
        [Input((T, 3)), LSTM(4, return_sequences=True), GRU(5), Dense(1)], dtype="float64"
    )


def test_any_length_trains_and_predicts_with_the_same_weights(backend, tmp_path):
    rng = np.random.default_rng(0)
    fastnn.set_seed(0)
    model = _model()
    model.compile("adam", "mse")
    for step, T in enumerate((5, 9, 5, 1)):
        x, y = rng.standard_normal((8, T, 3)), rng.standard_normal((8, 1))
        model.train_on_batch(x, y)
        assert model._updater.iterations == step + 1  # Adam's state carried over
    model.fit(rng.standard_normal((16, 7, 3)), rng.standard_normal((16, 1)), epochs=1, verbose=0)
    # the same predictions as a fixed-length model with these weights
    x = rng.standard_normal((3, 6, 3))
    fixed = _model(6)
    fixed.build()
    fixed.set_weights(model.get_weights())
    np.testing.assert_allclose(model.predict(x, verbose=0), fixed.predict(x, verbose=0), rtol=1e-13)
    buf = io.StringIO()
    model.summary(print_fn=lambda s: buf.write(s + "\n"))
    assert "(None, None, 4)" in buf.getvalue() and "(None, 5)" in buf.getvalue()
    path = tmp_path / "free.fastnn"
    model.save(path)
    again = fastnn.load_model(path)
    assert again.input_shape == (None, 3)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-13)


def test_stateful_state_carries_across_lengths():
    rng = np.random.default_rng(1)
    model = fastnn.Sequential([Input((None, 2)), LSTM(3, stateful=True)], dtype="float64")
    x = rng.standard_normal((1, 6, 2))
    whole = model.predict(x, verbose=0)
    model.reset_states()
    model.predict(x[:, :4], verbose=0)
    rest = model.predict(x[:, 4:], verbose=0)  # another length: a new Net, the same state
    np.testing.assert_allclose(rest, whole, rtol=1e-12)


def test_lengths_that_change_weights_or_fixed_sizes_are_refused():
    rng = np.random.default_rng(2)
    model = fastnn.Sequential(
        [Input((None, 3)), LSTM(2, return_sequences=True), Flatten(), Dense(1)]
    )
    model.predict(rng.standard_normal((2, 4, 3)), verbose=0)
    with pytest.raises(ValueError, match="change the shapes of weights"):
        model.predict(rng.standard_normal((2, 5, 3)), verbose=0)
    with pytest.raises(ValueError, match=r"\(n, any, 3\)"):
        _model().predict(rng.standard_normal((2, 4, 2)), verbose=0)
    with pytest.raises(ValueError, match="free dimension"):
        _model().build()
    # text of any length: Embedding on (None,)
    text = fastnn.Sequential([Input((None,)), Embedding(10, 3, mask_zero=True), LSTM(2)])
    assert text.predict(np.ones((2, 7)), verbose=0).shape == (2, 2)
    assert text.predict(np.ones((2, 3)), verbose=0).shape == (2, 2)
