"""Golden numbers of Keras 3.15's loss tests (keras/src/losses/losses_test.py), at the
upstream tolerance (keras/src/testing/test_case.py: assertAllClose 1e-6, assertAlmostEqual
3 decimals), on both
backends, in float32 (Keras' default floatx, whose numbers these are)."""

import numpy as np
import pytest

import fastnn
from fastnn import losses


@pytest.fixture(params=["compiled", "numpy"])
def backend_name(request):
    fastnn.set_backend(request.param)
    yield request.param
    fastnn.set_backend("compiled")


def test_binary_crossentropy_unweighted(backend_name):
    # losses_test.py::BinaryCrossentropyTest::test_unweighted (its first two cases)
    y_true = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype="float32")
    y_pred = np.array([[0.9, 0.1, 0.2], [0.3, 0.8, 0.1], [0.1, 0.2, 0.7]], dtype="float32")
    np.testing.assert_allclose(losses.BinaryCrossentropy()(y_true, y_pred), 0.20046903, rtol=1e-6)
    # saturated predictions: the clip at 1 - epsilon in float32 (0.99999988) decides it
    y_true = np.array([1, 0, 1, 0], dtype="float32").reshape([2, 2])
    y_pred = np.array([1, 1, 1, 0], dtype=np.float32).reshape([2, 2])
    np.testing.assert_almost_equal(losses.BinaryCrossentropy()(y_true, y_pred), 3.98559, 3)
    # closer than upstream asks: the double bound would give 4.0295
    np.testing.assert_allclose(losses.BinaryCrossentropy()(y_true, y_pred), 3.98559, rtol=2e-6)


def test_binary_crossentropy_in_float64_clips_at_the_float64_bound(backend_name):
    # deliberate consequence, as Keras with floatx float64: the bound is 1 - 1e-7 exactly,
    # -log(1e-7) / 4 = 4.0295 (not 3.98559)
    y_true = np.array([1, 0, 1, 0], dtype="float64").reshape([2, 2])
    y_pred = np.array([1, 1, 1, 0], dtype="float64").reshape([2, 2])
    np.testing.assert_allclose(
        losses.BinaryCrossentropy(dtype="float64")(y_true, y_pred), -np.log(1e-7) / 4, rtol=1e-6
    )
