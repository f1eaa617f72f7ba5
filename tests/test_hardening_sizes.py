"""Size products from a config or an argument are exact (Python ints), never wrapping in
int64: a crafted target shape whose int64 product wraps around to the input's size was
accepted by Reshape, and the shapes after it were nonsense (a crafted file crashed
predict that way)."""

import numpy as np
import pytest

import fastnn
from fastnn.layers import Dense, Flatten, Input, Reshape

WRAPS_TO_16 = (2**60 + 1, 16)  # 16 * 2**60 + 16 = 2**64 + 16: 16 in int64


def test_the_shape_really_wraps_in_int64():
    assert int(np.prod(WRAPS_TO_16)) == 16  # what the check used to compare


@pytest.mark.parametrize("after", [[Dense(1)], [Flatten(), Dense(1)]])
def test_reshape_refuses_a_target_whose_product_wraps(after):
    model = fastnn.Sequential([Input((16,)), Reshape(WRAPS_TO_16), *after])
    with pytest.raises(ValueError, match="Reshape expected an input of 18446744073709551632"):
        model.predict(np.ones((1, 16)), verbose=0)


def test_a_config_with_such_a_reshape_is_refused_before_allocating():
    model = fastnn.Sequential([Input((16,)), Reshape((4, 4)), Flatten(), Dense(1)])
    config = model.get_config()
    for layer in config["layers"]:
        if layer["class_name"] == "Reshape":
            layer["config"]["target_shape"] = list(WRAPS_TO_16)
    crafted = fastnn.Sequential.from_config(config)
    with pytest.raises(ValueError, match="Reshape expected"):
        crafted.predict(np.ones((1, 16)), verbose=0)


def test_a_memory_error_while_the_workspaces_grow_leaves_the_model_working(monkeypatch):
    """Growth is all-or-nothing per buffer: a MemoryError between two allocations used to
    leave the Net's gradient pointer in a freed array (a use-after-free at the next call,
    which the sanitizer pass of CI reports); the model goes on at its old size."""
    from fastnn.backend.compiled import network

    rng = np.random.default_rng(0)
    # 300 rows: the old buffers are past NumPy's small-allocation cache (1 KiB), so a
    # pointer left in them points into memory really freed
    x, y = rng.standard_normal((600, 3)), rng.standard_normal((600, 1))

    def model():
        fastnn.utils.set_random_seed(5)
        m = fastnn.Sequential([Input((3,)), Dense(4, activation="tanh"), Dense(1)])
        m.compile("adam", "mse")
        m.train_on_batch(x[:300], y[:300])  # workspaces for 300 rows
        return m

    hit, plain = model(), model()
    real = np

    class FailingSecondZeros:
        calls = 0

        def __getattr__(self, name):
            return getattr(real, name)

        def zeros(self, *args, **kwargs):
            FailingSecondZeros.calls += 1
            if FailingSecondZeros.calls == 2:
                raise MemoryError("simulated: the second buffer of the growth")
            return real.zeros(*args, **kwargs)

    monkeypatch.setattr(network, "np", FailingSecondZeros())
    with pytest.raises(MemoryError, match="simulated"):
        hit.train_on_batch(x, y)  # 600 rows: the Net's buffers grow
    monkeypatch.undo()
    for w0, w1 in zip(hit.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(w0, w1)  # the failed call changed nothing
    for m in (hit, plain):
        m.train_on_batch(x[:300], y[:300])
        m.train_on_batch(x, y)  # and growing again works
    for w0, w1 in zip(hit.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(w0, w1)
