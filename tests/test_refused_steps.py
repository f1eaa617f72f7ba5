"""A refused step (non-finite) changes nothing: not the weights, not the dropout streams;
its message says which of the loss and the gradient was non-finite; a stateful model
whose batches cannot all have one size is refused before training."""

import warnings

import numpy as np
import pytest

import fastnn
from fastnn.layers import LSTM, Dense, Dropout, Input


def _model():
    fastnn.utils.set_random_seed(2)
    m = fastnn.Sequential([Input((3,)), Dense(8), Dropout(0.5), Dense(1)], dtype="float64")
    m.compile("sgd", "mse")
    return m


def test_a_refused_step_leaves_the_dropout_stream_where_it_was():
    x, y = np.ones((4, 3)), np.ones((4, 1))
    model = _model()
    model.train_on_batch(x, y)
    ((_, op),) = model._dropout_ops
    before = op.counter
    with pytest.raises(FloatingPointError, match="the loss is inf"):
        model.train_on_batch(x, np.full((4, 1), 1e200))  # (1e200)^2: an inf loss
    assert op.counter == before
    # the next step draws the masks the refused one drew: the same as without it
    twin = _model()
    twin.train_on_batch(x, y)
    model.train_on_batch(x, y)
    twin.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_the_message_does_not_call_a_finite_loss_non_finite():
    from fastnn import _fit

    assert _fit.skip_reason(0.5) == "the gradient norm is non-finite (the loss was 0.5)"
    assert _fit.skip_reason(float("nan")) == "the loss is nan (non-finite)"


def test_a_stateful_model_with_a_ragged_last_batch_is_refused_before_training():
    model = fastnn.Sequential([Input((4, 2), batch_size=4), LSTM(3, stateful=True), Dense(1)])
    model.compile("adam", "mse")
    with pytest.raises(ValueError, match="multiple of batch_size.*10 samples in batches of 4"):
        model.fit(np.ones((10, 4, 2)), np.ones((10, 1)), batch_size=4, verbose=0)
    assert not model.built  # nothing changed
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(np.ones((8, 4, 2)), np.ones((8, 1)), batch_size=4, verbose=0, shuffle=False)
