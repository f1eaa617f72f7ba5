"""Activations as Keras 3.15 hands them out: keras.activations.get returns the function,
and a layer's activation set after construction takes effect (both were silent
differences: get returned a name, and a set activation crashed the Dense kernel)."""

import numpy as np
import pytest

import fastnn
from fastnn import activations
from fastnn.layers import Activation, Dense, Input


def test_get_returns_the_function():
    relu = activations.get("relu")
    assert relu is activations.relu and activations.get(relu) is relu
    assert activations.get(None) is activations.linear
    np.testing.assert_array_equal(relu(np.array([-1.0, 2.0])), [0.0, 2.0])
    assert relu.__name__ == "relu" and relu == "relu"  # also its name (configs, kernels)
    with pytest.raises(ValueError, match="unknown activation"):
        activations.get("swishy")


@pytest.mark.parametrize("new", ["relu", activations.relu, None])
def test_setting_a_layer_activation_takes_effect(new):
    x = np.array([[-1.0, 2.0]])
    model = fastnn.Sequential([Input((2,)), Dense(2, activation="tanh")])
    model.predict(x, verbose=0)  # builds it
    model.layers[0].set_weights([np.eye(2), np.zeros(2)])
    np.testing.assert_allclose(model.predict(x, verbose=0), np.tanh(x))
    model.layers[0].activation = new
    want = np.maximum(x, 0) if new is not None else x
    np.testing.assert_allclose(model.predict(x, verbose=0), want)
    assert model.layers[0].get_config()["activation"] == ("linear" if new is None else "relu")
    model.compile("sgd", "mse")
    model.fit(x, x, epochs=1, verbose=0)  # trains with it too


def test_activation_layer_activation_can_be_set():
    layer = Activation("sigmoid")
    layer.activation = activations.softmax
    assert layer.activation is activations.softmax
    with pytest.raises(ValueError, match="unknown activation"):
        layer.activation = "nope"
