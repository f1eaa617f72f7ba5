"""fastnn.utils: the Keras spellings set_random_seed and to_categorical."""

import random

import numpy as np
import pytest

import fastnn
from fastnn import layers


def _trained_weights():
    model = fastnn.Sequential(
        [layers.Dense(4, activation="relu", input_shape=(3,)), layers.Dropout(0.5), layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse")
    x = np.random.standard_normal((64, 3)).astype("float32")  # NumPy's global stream
    y = x.sum(axis=1, keepdims=True)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)  # shuffles, drops out
    return [w.copy() for w in model.get_weights()], random.random()


def test_set_random_seed_makes_a_keras_style_script_repeat_exactly():
    fastnn.utils.set_random_seed(812)
    first = _trained_weights()
    fastnn.utils.set_random_seed(812)
    second = _trained_weights()
    fastnn.utils.set_random_seed(813)
    other = _trained_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first[0], second[0]))
    assert first[1] == second[1]
    assert not all(np.array_equal(a, b) for a, b in zip(first[0], other[0]))


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "1", True, None])
def test_set_random_seed_rejects_a_bad_seed_and_changes_no_generator(seed):
    state = np.random.get_state()[1].copy()
    py_state = random.getstate()
    with pytest.raises(ValueError, match=r"set_random_seed expected an int in \[0, 2\*\*32\)"):
        fastnn.utils.set_random_seed(seed)
    assert np.array_equal(np.random.get_state()[1], state)
    assert random.getstate() == py_state


def test_to_categorical_is_the_preprocessing_one():
    assert fastnn.utils.to_categorical is fastnn.preprocessing.to_categorical
    np.testing.assert_array_equal(fastnn.utils.to_categorical([0, 2], 3), [[1, 0, 0], [0, 0, 1]])
