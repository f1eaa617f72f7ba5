"""A mask reaching the loss (Keras 3.15 keras/src/losses/loss.py apply_mask and
reduce_weighted_values; metrics: reduction_metrics.MeanMetricWrapper.update_state): the
loss is the sum over the unmasked steps of sample_weight * loss / (the number of unmasked
steps), 0 when all are masked; a metric is the mean over the unmasked steps weighted by
sample_weight, across the batches of an epoch."""

import helpers
import numpy as np
import pytest

import fastnn
from fastnn.layers import LSTM, Dense, Embedding, Input, Masking, TimeDistributed

MV = -7.0  # the Masking value of the golden test


@pytest.mark.parametrize("backend_name", ["compiled", "numpy"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_keras_golden_mask(backend_name, dtype):
    # keras/src/losses/loss_test.py::LossTest::test_mask: mask [T, F, T, T] over
    # y_pred [0.1, 0.2, 0.3, 0.4], y_true [1, 0, 1, 0]: sum((masked t - p)^2) / 3; all
    # masked: 0 (no NaN). Here the prediction is the input through Masking and an
    # identity TimeDistributed(Dense(1)), the masked step's input the mask value.
    x = np.array([[[0.1], [MV], [0.3], [0.4]]])
    y = np.array([[[1.0], [0.0], [1.0], [0.0]]])
    fastnn.set_backend(backend_name)
    try:
        model = fastnn.Sequential(
            [Input((4, 1)), Masking(MV), TimeDistributed(Dense(1))], dtype=dtype
        )
        model.compile("sgd", "mse")
        model.set_weights([np.ones((1, 1)), np.zeros(1)])
        want = np.sum((np.array([1.0, 1.0, 0.0]) - np.array([0.1, 0.3, 0.4])) ** 2) / 3
        rtol = 1e-6 if dtype == "float32" else 1e-14
        np.testing.assert_allclose(model.evaluate(x, y, verbose=0), want, rtol=rtol)
        assert model.evaluate(np.full((1, 4, 1), MV), y, verbose=0) == 0.0
        # and the all-masked batch trains nothing (zero gradients)
        before = model.get_weights()
        model.train_on_batch(np.full((1, 4, 1), MV), y)
        for a, b in zip(before, model.get_weights()):
            np.testing.assert_array_equal(a, b)
    finally:
        fastnn.set_backend("compiled")


def _tagger(dtype="float64"):
    # a sequence tagger on padded text: every step's class, the padding masked
    model = fastnn.Sequential(
        [
            Input((6,)),
            Embedding(20, 4, mask_zero=True),
            LSTM(5, return_sequences=True),
            TimeDistributed(Dense(3, activation="softmax")),
        ],
        dtype=dtype,
    )
    return model


def _data(seed=0, n=5):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 20, (n, 6)).astype(float)
    lengths = rng.integers(1, 7, n)
    x[np.arange(6)[None, :] >= lengths[:, None]] = 0  # right padding
    y = rng.integers(0, 3, (n, 6, 1)).astype(float)
    return x, y, x != 0


def _expected_loss(probs, y, keep, sw=None):
    # Keras: per-step sparse CE, weighted by sample_weight on unmasked steps, / valid
    p = np.take_along_axis(probs, y.astype(int), axis=-1)[..., 0]
    w = keep * (1.0 if sw is None else sw[:, None])
    return float(np.sum(-np.log(p) * w) / keep.sum())


@pytest.mark.parametrize("backend_name", ["compiled", "numpy"])
def test_loss_and_accuracy_over_the_unmasked_steps(backend_name):
    x, y, keep = _data()
    sw = np.array([1.0, 2.0, 0.5, 1.0, 3.0])
    fastnn.set_backend(backend_name)
    try:
        fastnn.utils.set_random_seed(1)
        model = _tagger()
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        probs = model.predict(x, verbose=0)
        # batch_size=2: the metric's weights add up across batches, as Keras' Mean does
        logs = model.evaluate(x, y, sample_weight=sw, batch_size=2, verbose=0, return_dict=True)
    finally:
        fastnn.set_backend("compiled")
    # the loss: per batch Keras' formula, averaged over batches by their sizes
    batches = [slice(0, 2), slice(2, 4), slice(4, 5)]
    per = [_expected_loss(probs[s], y[s], keep[s], sw[s]) for s in batches]
    want = sum(v * (s.stop - s.start) for v, s in zip(per, batches)) / len(x)
    np.testing.assert_allclose(logs["loss"], want, rtol=1e-12)
    hit = (probs.argmax(-1) == y[..., 0]) * keep * sw[:, None]
    np.testing.assert_allclose(logs["accuracy"], hit.sum() / (keep * sw[:, None]).sum(), rtol=1e-12)


def test_more_padding_does_not_change_the_loss_or_the_step():
    # a batch's loss is the loss of its real steps: three more padded steps (any labels
    # there) give the same loss and the same training step
    x, y, _ = _data(seed=2, n=4)
    xw = np.concatenate([x, np.zeros((4, 3))], axis=1)
    yw = np.concatenate([y, np.ones((4, 3, 1))], axis=1)
    results = []
    for xs, ys in ((x, y), (xw, yw)):
        fastnn.utils.set_random_seed(8)
        model = fastnn.Sequential(
            [
                Input((None,)),
                Embedding(20, 4, mask_zero=True),
                LSTM(5, return_sequences=True),
                TimeDistributed(Dense(3, activation="softmax")),
            ],
            dtype="float64",
        )
        model.compile("adam", "sparse_categorical_crossentropy")
        results.append((model.evaluate(xs, ys, verbose=0), model.train_on_batch(xs, ys)))
        results[-1] += tuple(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_gradient_is_the_masked_loss_gradient():
    """One SGD step (lr 1) moves the weights by minus the gradient: it must match float64
    central differences of the masked loss (evaluate's)."""
    x, y, _ = _data(seed=3, n=3)
    fastnn.utils.set_random_seed(4)
    model = _tagger()
    model.compile(fastnn.optimizers.SGD(learning_rate=1.0), "sparse_categorical_crossentropy")
    weights = model.get_weights()

    def loss():
        model.set_weights(weights)
        return model.evaluate(x, y, verbose=0)

    numeric = [helpers.numeric_grad(loss, w) for w in weights]
    model.set_weights(weights)
    model.train_on_batch(x, y)
    for w0, w1, g in zip(weights, model.get_weights(), numeric):
        np.testing.assert_allclose(w0 - w1, g, rtol=1e-6, atol=1e-9)


def test_both_backends_train_the_same():
    x, y, _ = _data(seed=5, n=12)

    def layers():
        return [
            Input((6,)),
            Embedding(20, 4, mask_zero=True),
            LSTM(5, return_sequences=True),
            TimeDistributed(Dense(1)),
        ]

    a, b = helpers.train_on_both_backends(layers, x, y, seed=6, epochs=2, batch_size=4)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-10, atol=1e-12)
