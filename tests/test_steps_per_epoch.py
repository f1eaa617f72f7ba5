"""fit(steps_per_epoch=) over arrays as Keras 3.15's EpochIterator
(keras/src/trainers/epoch_iterator.py, _enumerate_iterator): epochs go on through the
data where the last one stopped; when the data runs out the epoch ends early with
"Your input ran out of data" and the next epoch starts a new pass; never wrapping
around within an epoch."""

import warnings

import numpy as np
import pytest

import fastnn
from fastnn.callbacks import Callback
from fastnn.layers import Dense, Input


class Batches(Callback):
    def __init__(self):
        super().__init__()
        self.per_epoch = []

    def on_epoch_begin(self, epoch, logs=None):
        self.per_epoch.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.per_epoch[-1] += 1


def _fit(steps, epochs, n=10, batch_size=4):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((n, 2)), rng.standard_normal((n, 1))
    model = fastnn.Sequential([Input((2,)), Dense(1)])
    model.compile("sgd", "mse")
    seen = Batches()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hist = model.fit(
            x,
            y,
            batch_size=batch_size,
            epochs=epochs,
            steps_per_epoch=steps,
            callbacks=[seen],
            verbose=0,
        )
    ran_out = [w for w in caught if "ran out of data" in str(w.message)]
    return seen.per_epoch, len(ran_out), hist


@pytest.mark.parametrize(
    "steps, epochs, per_epoch, warned",
    [
        (5, 2, [3, 3], 2),  # more steps than the 3 batches: each epoch ends at the data's end
        (2, 3, [2, 1, 2], 1),  # fewer: epoch 2 finishes the pass (1 batch), epoch 3 starts anew
        (3, 2, [3, 3], 0),  # exactly one pass per epoch
        (None, 2, [3, 3], 0),
    ],
)
def test_epochs_follow_keras_epoch_iterator(steps, epochs, per_epoch, warned):
    seen, n_warned, hist = _fit(steps, epochs)
    assert seen == per_epoch
    assert n_warned == warned
    assert len(hist.history["loss"]) == epochs


def test_no_sample_is_seen_twice_in_an_epoch():
    # the old behaviour wrapped around the arrays: 5 steps of 4 over 10 samples read 20
    rows = []

    class Rows(Callback):
        def on_train_batch_begin(self, batch, logs=None):
            rows.append(batch)

    rng = np.random.default_rng(1)
    model = fastnn.Sequential([Input((2,)), Dense(1)])
    model.compile("sgd", "mse")
    with pytest.warns(UserWarning, match="ran out of data"):
        model.fit(
            rng.standard_normal((10, 2)),
            rng.standard_normal((10, 1)),
            batch_size=4,
            epochs=1,
            steps_per_epoch=5,
            callbacks=[Rows()],
            verbose=0,
        )
    assert rows == [0, 1, 2]
