"""`fastnn demo`: train an MLP on the bundled 8x8 digits and report test accuracy."""
import time

import numpy as np


def run_digits(epochs=30, hidden=64, seed=0, batch_size=32, verbose=2):
    """Train Dense(hidden, relu) -> Dense(hidden, relu) -> Dense(10, softmax) on a
    seeded 80/20 split of the digits; print progress and the test accuracy."""
    import fastnn
    from fastnn.datasets import load_digits, train_test_split
    from fastnn.layers import Dense, Input
    from fastnn.preprocessing import StandardScaler

    fastnn.set_seed(seed)
    x, y = load_digits()
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, seed=seed)
    scaler = StandardScaler().fit(x_tr)
    x_tr, x_te = scaler.transform(x_tr), scaler.transform(x_te)
    model = fastnn.Sequential([
        Input(shape=(64,)),
        Dense(hidden, activation="relu"),
        Dense(hidden, activation="relu"),
        Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    t0 = time.perf_counter()
    model.fit(x_tr, y_tr, epochs=epochs, batch_size=batch_size, validation_split=0.1,
              verbose=verbose, seed=seed)
    elapsed = time.perf_counter() - t0
    loss, acc = model.evaluate(x_te, y_te, verbose=0)
    print(f"digits MLP: test accuracy {acc:.4f} (loss {loss:.4f}) on {len(x_te)} held-out "
          f"samples; training took {elapsed:.2f} s")
    return 0 if acc >= 0.95 else 1
