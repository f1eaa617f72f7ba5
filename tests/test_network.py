"""A whole compiled training step (Net) against its NumPy twin, through the model
API on both backends: same weights, same data, every loss and optimizer."""

import numpy as np
import pytest
from helpers import DTYPES

import fastnn
from fastnn.layers import Activation, Dense, Dropout, Flatten, Input

LOSS_CASES = [
    # (loss, last activation, output units, sparse labels)
    ("mse", "linear", 3, False),
    ("mae", "tanh", 2, False),
    ("binary_crossentropy", "sigmoid", 1, False),  # fused sigmoid + BCE
    ("binary_crossentropy", "softmax", 3, False),  # not fusable: from probabilities
    (fastnn.losses.BinaryCrossentropy(from_logits=True), "linear", 2, False),
    ("categorical_crossentropy", "softmax", 4, False),  # fused softmax + CCE
    ("categorical_crossentropy", "sigmoid", 3, False),  # probabilities, normalised + clipped
    ("sparse_categorical_crossentropy", "softmax", 5, True),
    (fastnn.losses.SparseCategoricalCrossentropy(from_logits=True), "linear", 5, True),
]
OPTIMIZERS = [
    lambda: fastnn.optimizers.SGD(0.05),
    lambda: fastnn.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    lambda: fastnn.optimizers.Adagrad(0.05),
    lambda: fastnn.optimizers.RMSprop(0.01, momentum=0.5),
    lambda: fastnn.optimizers.Adam(0.01, clipnorm=0.5),
    lambda: fastnn.optimizers.Adam(0.01, global_clipnorm=0.5, weight_decay=0.01),
]


def _targets(rng, n, units, sparse, loss):
    if sparse:
        return rng.integers(0, units, n)
    if "crossentropy" in str(getattr(loss, "name", loss)).lower() or not isinstance(loss, str):
        if units > 1 and "categorical" in str(loss).lower():
            return np.eye(units)[rng.integers(0, units, n)]
        return rng.integers(0, 2, (n, units)).astype(float)
    return rng.standard_normal((n, units))


def _run(backend, build, x, y, steps, batch_size, dtype):
    fastnn.set_backend(backend)
    try:
        model, opt, loss, metrics = build()
        model.compile(optimizer=opt, loss=loss, metrics=metrics)
        hist = model.fit(x, y, batch_size=batch_size, epochs=steps, verbose=0, shuffle=True, seed=3)
        return model.get_weights(), hist.history, model.predict(x)
    finally:
        fastnn.set_backend("compiled")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(LOSS_CASES)))
def test_loss_cases_compiled_equals_reference(dtype, case):
    loss, act, units, sparse = LOSS_CASES[case]
    rng = np.random.default_rng(case)
    x = rng.standard_normal((37, 6))
    y = _targets(rng, 37, units, sparse, loss)
    metrics = (
        ["accuracy"]
        if "crossentropy" in str(loss).lower() or not isinstance(loss, str)
        else ["mae"]
    )

    def build():
        fastnn.set_seed(11)
        m = fastnn.Sequential(
            [Input(shape=(6,)), Dense(8, activation="relu"), Dense(units, activation=act)],
            dtype=dtype,
        )
        return m, fastnn.optimizers.Adam(0.01), loss, metrics

    wc, hc, pc = _run("compiled", build, x, y, 3, 10, dtype)
    wr, hr, pr = _run("numpy", build, x, y, 3, 10, dtype)
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    for a, b in zip(wc, wr):
        np.testing.assert_allclose(a, b, **tol)
    np.testing.assert_allclose(pc, pr, **tol)
    for k in hc:
        np.testing.assert_allclose(hc[k], hr[k], **tol, err_msg=k)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("make_opt", OPTIMIZERS)
def test_optimizers_compiled_equals_reference(dtype, make_opt):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((40, 5))
    y = rng.integers(0, 3, 40)

    def build():
        fastnn.set_seed(2)
        m = fastnn.Sequential(
            [
                Dense(7, activation="tanh", input_shape=(5,)),
                Dropout(0.25),
                Dense(6, activation="elu"),
                Activation("leaky_relu"),
                Dense(3),
                Activation("softmax"),
            ],
            dtype=dtype,
        )
        return m, make_opt(), "sparse_categorical_crossentropy", ["accuracy"]

    wc, hc, pc = _run("compiled", build, x, y, 4, 8, dtype)
    wr, hr, pr = _run("numpy", build, x, y, 4, 8, dtype)
    tol = dict(rtol=5e-4, atol=5e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    for a, b in zip(wc, wr):
        np.testing.assert_allclose(a, b, **tol)
    for k in hc:
        np.testing.assert_allclose(hc[k], hr[k], **tol, err_msg=k)


def test_flatten_and_sequence_dense():
    """Flatten of (4, 3) samples, and a Dense applied per timestep of (T, F) input."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((9, 4, 3)).astype(np.float32)
    fastnn.set_seed(0)
    m = fastnn.Sequential([Input(shape=(4, 3)), Flatten(), Dense(2)])
    W, b = m.get_weights()
    np.testing.assert_allclose(m.predict(x), x.reshape(9, 12) @ W + b, rtol=1e-5, atol=1e-6)
    m2 = fastnn.Sequential([Input(shape=(4, 3)), Dense(5, activation="tanh"), Dense(2)])
    W1, b1, W2, b2 = m2.get_weights()
    want = np.tanh(x @ W1 + b1) @ W2 + b2
    np.testing.assert_allclose(m2.predict(x), want, rtol=1e-5, atol=1e-6)
    assert m2.predict(x).shape == (9, 4, 2)
    m2.compile("adam", "mse")
    y = rng.standard_normal((9, 4, 2))
    before = m2.evaluate(x, y, verbose=0)
    m2.fit(x, y, epochs=20, verbose=0)
    assert m2.evaluate(x, y, verbose=0) < before


def test_central_difference_through_model_float64():
    """d loss / d weights of a whole float64 model (reference backend) against
    central differences of evaluate()."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 4))
    y = rng.integers(0, 3, 6)
    fastnn.set_seed(4)
    m = fastnn.Sequential(
        [Dense(5, activation="sigmoid", input_shape=(4,)), Dense(3, activation="softmax")],
        dtype="float64",
    )
    m.compile(fastnn.optimizers.SGD(1.0), "sparse_categorical_crossentropy")
    w0 = m.get_weights()

    def loss_at(ws):
        m.set_weights(ws)
        return m.evaluate(x, y, batch_size=6, verbose=0)

    numeric = []
    for i, w in enumerate(w0):
        g = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            wp = [a.copy() for a in w0]
            wm = [a.copy() for a in w0]
            wp[i][idx] += 1e-6
            wm[i][idx] -= 1e-6
            g[idx] = (loss_at(wp) - loss_at(wm)) / 2e-6
        numeric.append(g)
    for backend in ("compiled", "numpy"):
        fastnn.set_backend(backend)
        try:
            m.set_weights(w0)
            m.train_on_batch(x, y)  # SGD(lr=1): w1 = w0 - grad
            analytic = [a - b for a, b in zip(w0, m.get_weights())]
        finally:
            fastnn.set_backend("compiled")
        for a, n_ in zip(analytic, numeric):
            np.testing.assert_allclose(a, n_, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("backend", ["compiled", "numpy"])
def test_hand_worked_training_step(backend):
    """x=[1,2], y=1; Dense(2, relu, W=0.5, b=0) -> Dense(1, W=1, b=0); MSE; SGD(0.1).
    h = relu(1*0.5 + 2*0.5) = [1.5, 1.5]; out = 3; loss = (3-1)^2 = 4.
    dout = 2*(3-1) = 4; dW2 = h*4 = [6, 6]; db2 = 4; dh = 4*W2 = [4, 4];
    dW1 = x.T dh = [[4, 4], [8, 8]]; db1 = [4, 4].
    After SGD: W1 = [[.1, .1], [-.3, -.3]], b1 = [-.4, -.4], W2 = [.4, .4], b2 = -.4;
    then h = relu(.1 - .6 - .4) = 0 and the prediction is b2 = -0.4."""
    from fastnn.initializers import Constant

    fastnn.set_backend(backend)
    try:
        m = fastnn.Sequential(
            [
                Dense(2, activation="relu", kernel_initializer=Constant(0.5), input_shape=(2,)),
                Dense(1, kernel_initializer=Constant(1.0)),
            ],
            dtype="float64",
        )
        m.compile(fastnn.optimizers.SGD(0.1), "mse")
        x, y = np.array([[1.0, 2.0]]), np.array([[1.0]])
        assert m.predict(x)[0, 0] == 3.0
        assert m.train_on_batch(x, y) == 4.0
        W1, b1, W2, b2 = m.get_weights()
        np.testing.assert_allclose(W1, [[0.1, 0.1], [-0.3, -0.3]], atol=1e-15)
        np.testing.assert_allclose(b1, [-0.4, -0.4], atol=1e-15)
        np.testing.assert_allclose(W2, [[0.4], [0.4]], atol=1e-15)
        np.testing.assert_allclose(b2, [-0.4], atol=1e-15)
        np.testing.assert_allclose(m.predict(x), [[-0.4]], atol=1e-15)
    finally:
        fastnn.set_backend("compiled")
