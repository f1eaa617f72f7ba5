"""Mistakes that train silently unless told: the warnings and errors Keras 3.15 gives
(cited per test), and fastnn's own where Keras is silent (said so)."""

import warnings

import numpy as np
import pytest

import fastnn
from fastnn import losses
from fastnn.layers import Dense, Input


def _fit(units, activation, loss, y):
    model = fastnn.Sequential([Input((2,)), Dense(units, activation=activation)])
    model.compile("sgd", loss)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(np.ones((len(y), 2)), y, verbose=0)
    return [w for w in caught if not issubclass(w.category, DeprecationWarning)]


def test_categorical_crossentropy_on_one_unit_warns():
    # keras/src/losses/losses.py categorical_crossentropy: SyntaxWarning
    caught = _fit(1, "softmax", "categorical_crossentropy", np.ones((2, 1)))
    assert [w.category for w in caught] == [SyntaxWarning]
    assert "Consider using 'binary_crossentropy'" in str(caught[0].message)
    assert _fit(3, "softmax", "categorical_crossentropy", np.eye(3)[:2]) == []


@pytest.mark.parametrize(
    "activation, loss, name",
    [
        ("softmax", losses.CategoricalCrossentropy(from_logits=True), "Softmax"),
        ("sigmoid", losses.BinaryCrossentropy(from_logits=True), "Sigmoid"),
    ],
)
def test_from_logits_on_a_probability_output_warns(activation, loss, name):
    # keras/src/backend/tensorflow/nn.py _get_logits: "does not represent logits"
    units = 3 if activation == "softmax" else 1
    y = np.eye(3)[:2] if units == 3 else np.ones((2, 1))
    caught = _fit(units, activation, loss, y)
    assert len(caught) == 1 and f"produced by a {name} activation" in str(caught[0].message)
    assert _fit(units, None, loss, y) == []  # logits: nothing to say


def test_binary_crossentropy_on_labels_outside_0_1_warns():
    # fastnn's own (Keras trains silently on a loss that is then no cross-entropy)
    caught = _fit(1, "sigmoid", "binary_crossentropy", np.array([[0.0], [2.0]]))
    assert len(caught) == 1 and "targets from 0 to 2" in str(caught[0].message)
    assert _fit(1, "sigmoid", "binary_crossentropy", np.array([[0.0], [1.0]])) == []


def test_legacy_spellings_name_their_replacement():
    # keras/src/optimizers/base_optimizer.py: decay ignored with a warning, anything
    # else "Argument(s) not recognized" (ValueError); fit has no **kwargs (TypeError)
    with pytest.raises(ValueError, match=r"not recognized: \{'lr': 0.1\} \(`lr` is now"):
        fastnn.optimizers.Adam(lr=0.1)
    with pytest.raises(ValueError, match="not recognized"):
        fastnn.optimizers.SGD(foo=1)
    with pytest.warns(UserWarning, match="`decay` is no longer supported"):
        opt = fastnn.optimizers.RMSprop(decay=0.01)
    assert opt.learning_rate == pytest.approx(0.001)
    model = fastnn.Sequential([Input((2,)), Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(TypeError, match="'nb_epoch' \\(Keras 1 spelling; use `epochs`\\)"):
        model.fit(np.ones((2, 2)), np.ones((2, 1)), nb_epoch=3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'epoch'$"):
        model.fit(np.ones((2, 2)), np.ones((2, 1)), epoch=3)
