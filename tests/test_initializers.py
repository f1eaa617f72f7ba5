"""Initializer arguments as Keras 3.15 checks them (keras/src/initializers/
random_initializers.py)."""

import numpy as np
import pytest

from fastnn import initializers


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan")])
def test_variance_scaling_refuses_a_scale_that_is_not_positive(scale):
    # Keras: "Argument `scale` must be positive float." (0 gave all-zero weights, a
    # negative scale NaN weights)
    with pytest.raises(ValueError, match="must be positive float"):
        initializers.VarianceScaling(scale=scale)
    with pytest.raises(ValueError, match="scale as a float"):
        initializers.VarianceScaling(scale="2")


def test_variance_scaling_draws_with_the_scaled_variance():
    init = initializers.VarianceScaling(scale=2.0, mode="fan_in", distribution="uniform")
    w = init((400, 300), np.float64, np.random.default_rng(0))
    # uniform on [-l, l], l = sqrt(3 * 2 / 400): variance 2 / 400
    assert np.abs(w).max() <= np.sqrt(6 / 400)
    np.testing.assert_allclose(w.var(), 2 / 400, rtol=0.02)


def test_get_none_is_none_and_a_layer_then_draws_glorot_uniform():
    # Keras: initializers.get(None) is None; add_weight then uses glorot_uniform
    assert initializers.get(None) is None
    from fastnn.layers import Dense

    layer = Dense(3, kernel_initializer=None)
    assert isinstance(layer.kernel_initializer, initializers.GlorotUniform)
