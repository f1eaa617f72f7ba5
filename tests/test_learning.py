"""Models learn real tasks to a stated accuracy."""

import numpy as np
import pytest

import fastnn
from fastnn.datasets import load_digits, make_xor, train_test_split
from fastnn.layers import Dense, Dropout, Input
from fastnn.preprocessing import StandardScaler


def test_xor_all_four_points_in_at_least_9_of_10_seeds():
    x, y = make_xor()
    solved = 0
    for seed in range(10):
        fastnn.set_seed(seed)
        model = fastnn.Sequential(
            [Input(shape=(2,)), Dense(8, activation="tanh"), Dense(1, activation="sigmoid")]
        )
        model.compile(
            optimizer=fastnn.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"]
        )
        model.fit(x, y, epochs=300, batch_size=4, verbose=0, seed=seed)
        pred = (model.predict(x) > 0.5).astype(np.float32)
        solved += bool((pred == y).all())
    assert solved >= 9, f"XOR solved in {solved}/10 seeds"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_digits_mlp_reaches_95_percent(seed):
    fastnn.set_seed(seed)
    x, y = load_digits()
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, seed=seed)
    sc = StandardScaler().fit(x_tr)
    x_tr, x_te = sc.transform(x_tr), sc.transform(x_te)
    model = fastnn.Sequential(
        [
            Input(shape=(64,)),
            Dense(64, activation="relu"),
            Dropout(0.1),
            Dense(64, activation="relu"),
            Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(
        x_tr, y_tr, epochs=30, batch_size=32, verbose=0, seed=seed, validation_split=0.1
    )
    loss, acc = model.evaluate(x_te, y_te, verbose=0)
    assert acc >= 0.95, f"seed {seed}: test accuracy {acc:.4f}"
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert set(hist.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_full_batch_gradient_descent_regression():
    """Plain SGD with batch_size covering the data is full-batch gradient descent:
    a linear model converges to the least-squares solution."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 3))
    y = x @ np.array([[1.5], [-2.0], [0.5]]) + 0.3
    m = fastnn.Sequential([Dense(1, input_shape=(3,))], dtype="float64")
    m.compile(fastnn.optimizers.SGD(0.1), "mse")
    m.fit(x, y, epochs=500, batch_size=50, verbose=0, shuffle=False)
    W, b = m.get_weights()
    np.testing.assert_allclose(W.ravel(), [1.5, -2.0, 0.5], atol=1e-6)
    np.testing.assert_allclose(b, [0.3], atol=1e-6)


@pytest.mark.parametrize("rnn", ["LSTM", "GRU", "Bidirectional(LSTM)"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_padded_sentiment_reaches_90_percent(rnn, seed):
    """Variable-length text (lengths 5-80, padded at the front as pad_sequences does),
    masked by Embedding(mask_zero=True): the signal words may sit anywhere."""
    from fastnn.datasets import make_sentiment
    from fastnn.layers import GRU, LSTM, Bidirectional, Embedding
    from fastnn.utils import pad_sequences

    fastnn.set_seed(seed)
    words = 500
    x, y = make_sentiment(1600, num_words=words, min_len=5, max_len=80, seed=seed)
    x = pad_sequences(x, maxlen=80)
    layer = {
        "LSTM": lambda: LSTM(16),
        "GRU": lambda: GRU(16),
        "Bidirectional(LSTM)": lambda: Bidirectional(LSTM(16)),
    }[rnn]()
    model = fastnn.Sequential(
        [
            Input(shape=(80,)),
            Embedding(words, 16, mask_zero=True),
            layer,
            Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=fastnn.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"]
    )
    model.fit(x[:1200], y[:1200], epochs=12, batch_size=32, verbose=0, seed=seed)
    _, acc = model.evaluate(x[1200:], y[1200:], verbose=0)
    assert acc >= 0.9, f"{rnn} seed {seed}: test accuracy {acc:.3f}"
