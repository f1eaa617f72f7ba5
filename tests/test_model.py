"""Sequential's Keras-shaped API: building, summary, weights, fit / evaluate /
predict and their return values, History, validation, seeds, verbosity, weights
of samples and classes, dtypes, callbacks, and what happens when the loss stops
being finite."""

import math
import re
import warnings

import numpy as np
import pytest

import fastnn
from fastnn.callbacks import Callback
from fastnn.layers import Dense, Dropout, Flatten, Input, InputLayer


@pytest.fixture(autouse=True)
def seeded():
    """Every test starts from the same global seed (initial weights are drawn from it)."""
    fastnn.set_seed(1234)


def regression_data(n=40, f=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, f)).astype(np.float32)
    y = (x @ rng.standard_normal((f, 1)) + 0.1).astype(np.float32)
    return x, y


def class_data(n=40, f=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, f)).astype(np.float32)
    labels = (np.arange(n) % classes).astype(np.int64)
    rng.shuffle(labels)
    x[np.arange(n), labels] += 2.0  # learnable
    return x, labels


def mlp(f=6, out=1, activation=None, dtype="float32", dropout=0.0):
    layers = [Input(shape=(f,)), Dense(8, activation="tanh")]
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Dense(out, activation=activation))
    return fastnn.Sequential(layers, dtype=dtype)


def same_weights(a, b):
    return len(a) == len(b) and all(np.array_equal(p, q) for p, q in zip(a, b))


# ------------------------------------------------------------------ building
def test_add_input_and_input_dim_build_the_same_model():
    a = fastnn.Sequential()
    a.add(Input(shape=(7,)))
    a.add(Dense(4, activation="relu"))
    a.add(Dense(2))
    b = fastnn.Sequential([InputLayer(input_shape=(7,)), Dense(4, activation="relu"), Dense(2)])
    c = fastnn.Sequential([Dense(4, activation="relu", input_shape=(7,)), Dense(2)])
    d = fastnn.Sequential([Dense(4, activation="relu", input_dim=7), Dense(2)])
    for m in (a, b, c, d):
        assert m.input_shape == (7,)
        assert m.output_shape == (2,)
        assert m.count_params() == 7 * 4 + 4 + 4 * 2 + 2
        assert [w.shape for w in m.get_weights()] == [(7, 4), (4,), (4, 2), (2,)]
        assert [type(l).__name__ for l in m.layers] == ["Dense", "Dense"]  # no InputLayer


def test_lazy_build_on_first_predict(backend):
    model = fastnn.Sequential([Dense(4, activation="relu"), Dense(1)])
    assert not model.built and model.input_shape is None
    x = np.ones((3, 5), np.float32)
    assert model.predict(x).shape == (3, 1)
    assert model.built
    assert model.get_weights()[0].shape == (5, 4)


def test_lazy_build_on_first_fit(backend):
    model = fastnn.Sequential([Dense(4, activation="relu"), Dense(1)])
    model.compile("sgd", "mse")
    assert not model.built
    x, y = regression_data(f=9)
    model.fit(x, y, epochs=1, verbose=0)
    assert model.built
    assert model.get_weights()[0].shape == (9, 4)


def test_explicit_build_accepts_a_leading_batch_dimension():
    model = fastnn.Sequential([Dense(3, input_shape=(5,))])
    model.build((None, 5))
    assert model.get_weights()[0].shape == (5, 3)


def test_add_after_training_keeps_the_trained_layers(backend):
    model = mlp()
    model.compile("adam", "mse")
    x, y = regression_data()
    model.fit(x, y, epochs=2, verbose=0)
    trained = model.get_weights()
    model.pop()
    model.add(Dense(2))
    weights = model.get_weights()
    assert same_weights(weights[:2], trained[:2])
    assert weights[2].shape == (8, 2)


def test_auto_names_are_keras_style_and_unique():
    a, b, f = Dense(1), Dense(1), Flatten()
    assert re.fullmatch(r"dense(_\d+)?", a.name) and re.fullmatch(r"dense(_\d+)?", b.name)
    assert a.name != b.name
    assert re.fullmatch(r"flatten(_\d+)?", f.name)
    assert re.fullmatch(r"input_layer(_\d+)?", Input(shape=(2,)).name)
    with pytest.raises(ValueError, match="unique"):
        fastnn.Sequential([Dense(2, name="same", input_shape=(3,)), Dense(1, name="same")])


def test_summary_784_64_64_10():
    model = fastnn.Sequential(
        [
            Input(shape=(784,)),
            Dense(64, activation="relu", name="hidden1"),
            Dense(64, activation="relu", name="hidden2"),
            Dense(10, activation="softmax", name="out"),
        ]
    )
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert model.count_params() == 55_050
    assert "Total params: 55,050" in text
    rows = {
        line.split()[0]: line
        for line in lines
        if line.split() and line.split()[0] in ("hidden1", "hidden2", "out")
    }
    assert set(rows) == {"hidden1", "hidden2", "out"}
    assert "(Dense)" in rows["hidden1"] and "(None, 64)" in rows["hidden1"]
    assert rows["hidden1"].rstrip().endswith("50,240")
    assert rows["hidden2"].rstrip().endswith("4,160")
    assert "(None, 10)" in rows["out"] and rows["out"].rstrip().endswith("650")
    assert lines[0] == 'Model: "sequential"'


def test_summary_prints_by_default(capsys):
    model = fastnn.Sequential([Flatten(input_shape=(8, 8)), Dense(10, name="logits")])
    model.summary()
    out = capsys.readouterr().out
    assert "(None, 64)" in out and "(None, 10)" in out and "Total params: 650" in out


def test_keras_spellings():
    from fastnn import models

    assert models.Sequential is fastnn.Sequential
    assert fastnn.layers.Dense is Dense
    opt = fastnn.optimizers.Adam(learning_rate=1e-3)
    loss = fastnn.losses.SparseCategoricalCrossentropy()
    model = models.Sequential(
        [
            fastnn.layers.Input(shape=(6,)),
            fastnn.layers.Dense(8, activation="relu"),
            fastnn.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer=opt, loss=loss, metrics=["accuracy"])
    assert model.optimizer is opt and model.loss is loss
    x, labels = class_data()
    hist = model.fit(x, labels, epochs=2, verbose=0)
    assert set(hist.history) == {"loss", "accuracy"}
    assert opt.iterations == 2 * math.ceil(len(x) / 32)


# ------------------------------------------------------------------ weights
def test_get_set_weights_round_trip(backend):
    x, y = regression_data()
    a = mlp()
    a.compile("adam", "mse")
    a.fit(x, y, epochs=3, verbose=0)
    b = mlp()
    b.build()
    assert not same_weights(a.get_weights(), b.get_weights())
    b.set_weights(a.get_weights())
    assert same_weights(a.get_weights(), b.get_weights())
    np.testing.assert_array_equal(a.predict(x), b.predict(x))


def test_get_weights_returns_copies():
    model = mlp()
    w = model.get_weights()
    w[0][...] = 123.0
    assert not np.any(model.get_weights()[0] == 123.0)


def test_set_weights_casts_to_the_model_dtype():
    model = mlp()
    model.build()
    new = [np.full(w.shape, 0.5, dtype=np.float64) for w in model.get_weights()]
    model.set_weights(new)
    for w in model.get_weights():
        assert w.dtype == np.float32 and np.all(w == 0.5)


# ------------------------------------------------------------------ history and validation
def test_history_keys_lengths_and_values(backend):
    x, y = regression_data()
    model = mlp()
    model.compile("adam", "mse", metrics=["mae"])
    hist = model.fit(x, y, epochs=4, batch_size=8, validation_split=0.25, verbose=0)
    assert model.history is hist
    assert set(hist.history) == {"loss", "mae", "val_loss", "val_mae"}
    assert all(len(v) == 4 for v in hist.history.values())
    assert hist.epoch == [0, 1, 2, 3]
    assert all(
        isinstance(v, float) and math.isfinite(v) for vs in hist.history.values() for v in vs
    )
    assert hist.history["loss"][-1] < hist.history["loss"][0]


def test_validation_data_is_evaluated_after_each_epoch(backend):
    x, y = regression_data()
    xv, yv = regression_data(n=12, seed=1)
    model = mlp()
    model.compile("adam", "mse", metrics=["mae"])
    hist = model.fit(x, y, epochs=3, batch_size=8, validation_data=(xv, yv), verbose=0)
    assert len(hist.history["val_loss"]) == 3
    loss, mae = model.evaluate(xv, yv, batch_size=8, verbose=0)
    assert hist.history["val_loss"][-1] == pytest.approx(loss, rel=1e-6)
    assert hist.history["val_mae"][-1] == pytest.approx(mae, rel=1e-6)


def test_validation_data_with_sample_weights():
    x, y = regression_data()
    model = mlp()
    model.compile("sgd", "mse")
    w = np.linspace(0.0, 2.0, len(x))
    hist = model.fit(x, y, epochs=1, validation_data=(x, y, w), verbose=0)
    assert hist.history["val_loss"][0] == pytest.approx(
        model.evaluate(x, y, sample_weight=w, verbose=0), rel=1e-6
    )


def test_validation_split_uses_the_last_fraction(backend):
    x, y = regression_data(n=40)
    model = mlp()
    model.compile(fastnn.optimizers.SGD(0.05), "mse")
    model.build()
    start = model.get_weights()
    # one full-batch step on the first 30 samples, validated on the last 10
    hist = model.fit(x, y, epochs=1, batch_size=40, validation_split=0.25, shuffle=False, verbose=0)
    assert hist.history["val_loss"][0] == pytest.approx(
        model.evaluate(x[30:], y[30:], verbose=0), rel=1e-6
    )
    assert hist.history["val_loss"][0] != pytest.approx(
        model.evaluate(x[:10], y[:10], verbose=0), rel=1e-3
    )
    ref = mlp()
    ref.compile(fastnn.optimizers.SGD(0.05), "mse")
    ref.build()
    ref.set_weights(start)
    ref.train_on_batch(x[:30], y[:30])
    assert same_weights(model.get_weights(), ref.get_weights())


# ------------------------------------------------------------------ determinism and seeds
def test_shuffle_false_is_deterministic(backend):
    x, y = regression_data()
    a, b = mlp(), mlp()
    for m in (a, b):
        m.compile("adam", "mse")
        m.build()
    b.set_weights(a.get_weights())
    ha = a.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    hb = b.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    assert same_weights(a.get_weights(), b.get_weights())
    assert ha.history == hb.history


def test_shuffle_false_equals_manual_batches(backend):
    x, y = regression_data(n=20)
    a, b = mlp(), mlp()
    for m in (a, b):
        m.compile(fastnn.optimizers.SGD(0.1, momentum=0.5), "mse")
        m.build()
    b.set_weights(a.get_weights())
    a.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    for _ in range(2):
        for s in range(0, 20, 8):
            b.train_on_batch(x[s : s + 8], y[s : s + 8])
    np.testing.assert_allclose(
        np.concatenate([w.ravel() for w in a.get_weights()]),
        np.concatenate([w.ravel() for w in b.get_weights()]),
        rtol=1e-6,
        atol=1e-7,
    )


def _seeded_run(seed, optimizer="adam", **fit_kwargs):
    x, labels = class_data()
    model = fastnn.Sequential(
        [
            Input(shape=(6,)),
            Dense(16, activation="relu"),
            Dropout(0.3),
            Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(
        x, labels, epochs=3, batch_size=8, validation_split=0.2, verbose=0, seed=seed, **fit_kwargs
    )
    return model.get_weights(), hist.history


def test_fit_seed_reproduces_weights_and_history_bitwise(backend):
    w1, h1 = _seeded_run(11)
    w2, h2 = _seeded_run(11)
    assert same_weights(w1, w2)
    assert h1 == h2
    w3, h3 = _seeded_run(12)
    assert not same_weights(w1, w3)


def test_fit_seed_gives_the_same_result_on_both_backends():
    """Same initial weights, shuffles and dropout masks on both backends (plain SGD,
    so the float32 round-off of the two backends stays at round-off level)."""
    results = []
    for name in ("compiled", "numpy"):
        fastnn.set_backend(name)
        try:
            results.append(_seeded_run(5, fastnn.optimizers.SGD(0.1)))
        finally:
            fastnn.set_backend("compiled")
    (wc, hc), (wn, hn) = results
    for a, b in zip(wc, wn):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(hc["loss"], hn["loss"], rtol=1e-4)


def test_set_seed_fixes_initial_weights_and_training(backend):
    x, y = regression_data()
    runs = []
    for seed in (3, 3, 4):
        fastnn.set_seed(seed)
        model = fastnn.Sequential(
            [Input(shape=(6,)), Dense(8, activation="relu"), Dropout(0.2), Dense(1)]
        )
        model.compile("adam", "mse")
        model.build()
        init = model.get_weights()
        hist = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        runs.append((init, model.get_weights(), hist.history))
    assert same_weights(runs[0][0], runs[1][0]) and same_weights(runs[0][1], runs[1][1])
    assert runs[0][2] == runs[1][2]
    assert not same_weights(runs[0][0], runs[2][0])


# ------------------------------------------------------------------ return values
def test_evaluate_returns_float_list_or_dict(backend):
    x, y = regression_data()
    plain = mlp()
    plain.compile("sgd", "mse")
    loss = plain.evaluate(x, y, verbose=0)
    assert isinstance(loss, float)
    assert plain.evaluate(x, y, verbose=0, return_dict=True) == {"loss": loss}

    model = mlp()
    model.compile("sgd", "mse", metrics=["mae", "mse"])
    res = model.evaluate(x, y, verbose=0)
    assert isinstance(res, list) and len(res) == 3 and all(isinstance(v, float) for v in res)
    d = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(d) == ["loss", "mae", "mse"]
    assert list(d.values()) == res
    pred = model.predict(x)
    assert d["mae"] == pytest.approx(float(np.mean(np.abs(pred - y))), rel=1e-5)
    assert d["loss"] == pytest.approx(float(np.mean((pred - y) ** 2)), rel=1e-5)


def test_train_and_test_on_batch_return_values(backend):
    x, y = regression_data()
    model = mlp()
    model.compile("sgd", "mse")
    assert isinstance(model.train_on_batch(x, y), float)
    assert isinstance(model.test_on_batch(x, y), float)
    assert model.test_on_batch(x, y, return_dict=True) == {"loss": model.test_on_batch(x, y)}

    model = mlp(out=3, activation="softmax")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, labels = class_data()
    res = model.train_on_batch(x, labels)
    assert isinstance(res, list) and len(res) == 2
    loss, acc = model.test_on_batch(x, labels)
    pred = model.predict(x)
    assert acc == pytest.approx(float(np.mean(pred.argmax(1) == labels)))
    assert loss == pytest.approx(float(-np.mean(np.log(pred[np.arange(len(x)), labels]))), rel=1e-5)
    assert set(model.train_on_batch(x, labels, return_dict=True)) == {"loss", "accuracy"}


def test_test_on_batch_does_not_train(backend):
    x, y = regression_data()
    model = mlp()
    model.compile("adam", "mse")
    model.build()
    before = model.get_weights()
    model.test_on_batch(x, y)
    model.evaluate(x, y, verbose=0)
    model.predict(x)
    assert same_weights(before, model.get_weights())
    assert model.optimizer.iterations == 0


@pytest.mark.parametrize("n,batch_size", [(37, 8), (5, 32), (1, None), (64, 64)])
def test_predict_shapes_and_batching(backend, n, batch_size):
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    model = mlp(out=3, activation="softmax")
    out = model.predict(x, batch_size=batch_size)
    assert out.shape == (n, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    whole = model.predict(x, batch_size=n)
    np.testing.assert_allclose(out, whole, rtol=1e-5, atol=1e-6)
    one_by_one = np.concatenate([model.predict(x[i : i + 1]) for i in range(n)])
    np.testing.assert_allclose(out, one_by_one, rtol=1e-5, atol=1e-6)


def test_predict_proba_equals_predict_and_call():
    x, labels = class_data()
    model = mlp(out=3, activation="softmax")
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, labels, epochs=2, verbose=0)
    p = model.predict(x)
    np.testing.assert_array_equal(model.predict_proba(x), p)
    np.testing.assert_allclose(model(x), p, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.predict_on_batch(x), p, rtol=1e-6, atol=1e-7)


def test_predict_before_compile_and_sigmoid_output():
    model = mlp(out=1, activation="sigmoid")
    p = model.predict(np.zeros((4, 6), np.float32))
    assert np.all((p > 0) & (p < 1))
    model.compile("adam", "binary_crossentropy")  # fused sigmoid + BCE
    np.testing.assert_allclose(model.predict(np.zeros((4, 6), np.float32)), p, rtol=1e-6)


# ------------------------------------------------------------------ verbosity
def test_verbose_0_prints_nothing(capsys):
    x, y = regression_data()
    model = mlp()
    model.compile("adam", "mse", metrics=["mae"])
    model.fit(x, y, epochs=3, verbose=0, validation_split=0.2)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_verbose_2_prints_one_line_per_epoch(capsys):
    x, y = regression_data()
    model = mlp()
    model.compile("adam", "mse", metrics=["mae"])
    model.fit(x, y, epochs=3, batch_size=8, verbose=2, validation_split=0.2)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 3
    assert "\r" not in out
    for i, line in enumerate(lines):
        assert line.startswith(f"Epoch {i + 1}/3")
        for key in ("loss:", "mae:", "val_loss:", "val_mae:"):
            assert key in line


def test_verbose_1_updates_one_line_with_carriage_returns(capsys):
    x, y = regression_data(n=64)
    model = mlp()
    model.compile("adam", "mse")
    model.fit(x, y, epochs=2, batch_size=8, verbose=1)
    out = capsys.readouterr().out
    assert "\r" in out
    lines = out.split("\n")
    assert lines[0] == "Epoch 1/2" and "Epoch 2/2" in lines
    # the progress of an epoch is redrawn in place: one line ending with the final bar
    progress = [line for line in lines if line.startswith("\r")]
    assert len(progress) == 2
    assert all("8/8" in line.split("\r")[-1] and "loss:" in line for line in progress)


def test_auto_verbose_is_1(capsys):
    x, y = regression_data()
    model = mlp()
    model.compile("adam", "mse")
    model.fit(x, y, epochs=1)
    assert "\r" in capsys.readouterr().out
    model.evaluate(x, y)
    assert capsys.readouterr().out.startswith("loss: ")


# ------------------------------------------------------------------ sample and class weights
def _per_sample_mse(model, x, y):
    return np.mean((model.predict(x).astype(np.float64) - y) ** 2, axis=1)


def test_sample_weight_weights_the_mean_as_keras(backend):
    x, y = regression_data(n=20)
    model = mlp()
    model.compile(fastnn.optimizers.SGD(0.01), "mse")
    model.build()
    w = np.linspace(0.0, 3.0, 20)
    expected = float(np.sum(w * _per_sample_mse(model, x, y)) / len(x))  # sum(w*l)/n
    assert model.test_on_batch(x, y, sample_weight=w) == pytest.approx(expected, rel=1e-5)
    assert model.evaluate(x, y, sample_weight=w, batch_size=7, verbose=0) == pytest.approx(
        expected, rel=1e-5
    )
    hist = model.fit(x, y, sample_weight=w, epochs=1, batch_size=20, shuffle=False, verbose=0)
    assert hist.history["loss"][0] == pytest.approx(expected, rel=1e-5)
    assert expected != pytest.approx(float(np.mean(_per_sample_mse(model, x, y))), rel=1e-3)


def test_class_weight_weights_each_sample_by_its_class(backend):
    x, labels = class_data(n=30)
    model = mlp(out=3, activation="softmax")
    model.compile(fastnn.optimizers.SGD(0.01), "sparse_categorical_crossentropy")
    model.build()
    cw = {0: 1.0, 1: 4.0, 2: 0.5}
    p = model.predict(x).astype(np.float64)
    per_sample = -np.log(p[np.arange(len(x)), labels])
    expected = float(np.sum(np.array([cw[c] for c in labels]) * per_sample) / len(x))
    start = model.get_weights()
    assert model.train_on_batch(x, labels, class_weight=cw) == pytest.approx(expected, rel=1e-5)
    model.set_weights(start)
    hist = model.fit(x, labels, class_weight=cw, epochs=1, batch_size=30, shuffle=False, verbose=0)
    assert hist.history["loss"][0] == pytest.approx(expected, rel=1e-5)
    # class and sample weights multiply
    model.set_weights(start)
    sw = np.linspace(0.5, 1.5, len(x))
    both = float(np.sum(sw * np.array([cw[c] for c in labels]) * per_sample) / len(x))
    assert model.train_on_batch(x, labels, class_weight=cw, sample_weight=sw) == pytest.approx(
        both, rel=1e-5
    )


def test_class_weight_with_one_hot_and_binary_targets():
    x, labels = class_data(n=30)
    onehot = np.eye(3, dtype=np.float32)[labels]
    model = mlp(out=3, activation="softmax")
    model.compile(fastnn.optimizers.SGD(0.01), "categorical_crossentropy")
    model.build()
    cw = {1: 3.0}
    p = model.predict(x).astype(np.float64)
    per_sample = -np.log(p[np.arange(len(x)), labels])
    w = np.where(labels == 1, 3.0, 1.0)
    assert model.test_on_batch(x, onehot) == pytest.approx(float(per_sample.mean()), rel=1e-5)
    assert model.train_on_batch(x, onehot, class_weight=cw) == pytest.approx(
        float(np.sum(w * per_sample) / len(x)), rel=1e-5
    )

    yb = (labels == 1).astype(np.float32)
    binary = mlp(out=1, activation="sigmoid")
    binary.compile(fastnn.optimizers.SGD(0.01), "binary_crossentropy")
    binary.build()
    q = binary.predict(x).astype(np.float64)[:, 0]
    per_sample = -(yb * np.log(q) + (1 - yb) * np.log(1 - q))
    w = np.where(yb == 1, 5.0, 1.0)
    assert binary.train_on_batch(x, yb, class_weight={1: 5.0}) == pytest.approx(
        float(np.sum(w * per_sample) / len(x)), rel=1e-5
    )


# ------------------------------------------------------------------ dtypes
def test_float64_model(backend):
    x, y = regression_data()
    model = mlp(dtype="float64")
    model.compile("adam", "mse", metrics=["mae"])
    hist = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert all(w.dtype == np.float64 for w in model.get_weights())
    assert model.predict(x).dtype == np.float64
    assert hist.history["loss"][-1] < hist.history["loss"][0]


@pytest.mark.parametrize("kind", ["int", "bool", "float64", "fortran"])
def test_inputs_of_other_dtypes_are_cast(backend, kind):
    rng = np.random.default_rng(0)
    if kind == "int":
        x, y = rng.integers(-3, 4, (24, 6)), rng.integers(-2, 3, (24, 1))
    elif kind == "bool":
        x, y = rng.random((24, 6)) > 0.5, rng.random((24, 1)) > 0.5
    elif kind == "float64":
        x, y = rng.standard_normal((24, 6)), rng.standard_normal((24, 1))
    else:
        x, y = (
            np.asfortranarray(rng.standard_normal((24, 6)).astype(np.float32)),
            rng.standard_normal((24, 1)).astype(np.float32),
        )
    x32, y32 = np.ascontiguousarray(x, np.float32), np.ascontiguousarray(y, np.float32)
    a, b = mlp(), mlp()
    for m in (a, b):
        m.compile("adam", "mse")
        m.build()
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(a.predict(x), a.predict(x32))
    ha = a.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    hb = b.fit(x32, y32, epochs=2, batch_size=8, verbose=0, shuffle=False)
    assert same_weights(a.get_weights(), b.get_weights())
    assert ha.history == hb.history
    assert a.evaluate(x, y, verbose=0) == b.evaluate(x32, y32, verbose=0)
    assert a.train_on_batch(x, y) == b.train_on_batch(x32, y32)


def test_lists_are_accepted():
    model = fastnn.Sequential([Dense(1, input_shape=(2,))])
    model.compile("sgd", "mse")
    model.fit([[0.0, 1.0], [1.0, 0.0]], [0.5, 1.5], epochs=1, verbose=0)
    assert model.predict([[1, 1]]).shape == (1, 1)


def test_sparse_labels_as_column():
    x, labels = class_data()
    model = mlp(out=3, activation="softmax")
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.build()
    assert model.test_on_batch(x, labels[:, None]) == model.test_on_batch(x, labels)


# ------------------------------------------------------------------ callbacks
class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin",))
        assert self.model is not None and self.params["epochs"] == 2

    def on_train_end(self, logs=None):
        self.calls.append(("train_end",))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, tuple(sorted(logs))))

    def on_train_batch_begin(self, batch, logs=None):
        self.calls.append(("batch_begin", batch))

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(("batch_end", batch, tuple(sorted(logs))))


def test_callbacks_receive_hooks_in_order(backend):
    x, y = regression_data(n=10)
    model = mlp()
    model.compile("adam", "mse", metrics=["mae"])
    rec = Recorder()
    model.fit(x, y, epochs=2, batch_size=4, validation_data=(x, y), callbacks=[rec], verbose=0)
    assert rec.model is model and rec.params["steps"] == 3
    expected = [("train_begin",)]
    for epoch in range(2):
        expected.append(("epoch_begin", epoch))
        for b in range(3):
            expected += [("batch_begin", b), ("batch_end", b, ("loss", "mae"))]
        expected.append(("epoch_end", epoch, ("loss", "mae", "val_loss", "val_mae")))
    expected.append(("train_end",))
    assert rec.calls == expected


class StopAt(Callback):
    def __init__(self, epoch=None, batch=None):
        super().__init__()
        self.epoch, self.batch = epoch, batch
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        if self.batch is not None and self.batches == self.batch:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            self.model.stop_training = True


def test_stop_training_from_a_callback_stops_fit(backend):
    x, y = regression_data()
    model = mlp()
    model.compile("adam", "mse")
    hist = model.fit(
        x, y, epochs=10, batch_size=8, validation_split=0.2, verbose=0, callbacks=[StopAt(epoch=1)]
    )
    assert hist.epoch == [0, 1] and len(hist.history["loss"]) == 2
    assert len(hist.history["val_loss"]) == 2

    stop = StopAt(batch=3)
    hist = model.fit(x, y, epochs=10, batch_size=8, verbose=0, callbacks=[stop])
    assert stop.batches == 3 and hist.epoch == [0]
    # the next fit trains again
    hist = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert hist.epoch == [0, 1]


def test_stop_training_mid_epoch_counts_only_the_steps_taken():
    x, y = regression_data(n=40)
    model = mlp()
    model.compile("sgd", "mse")
    model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[StopAt(batch=3)])
    assert model.optimizer.iterations == 3


def test_callback_can_predict_and_evaluate_during_fit():
    x, y = regression_data()
    seen = []

    class Probe(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((self.model.predict(x[:2]).shape, self.model.evaluate(x, y, verbose=0)))

    model = mlp()
    model.compile("adam", "mse")
    model.fit(x, y, epochs=2, verbose=0, callbacks=[Probe()])
    assert len(seen) == 2 and seen[0][0] == (2, 1)


# ------------------------------------------------------------------ non-finite loss
def _blow_up_data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    y = (x @ rng.standard_normal((5, 1)) * 10).astype(np.float32)
    return x, y


def test_non_finite_loss_stops_fit_keeping_the_last_finite_weights(backend):
    x, y = _blow_up_data()
    model = fastnn.Sequential([Input(shape=(5,)), Dense(16, activation="relu"), Dense(1)])
    model.compile(fastnn.optimizers.SGD(learning_rate=10.0), "mse", metrics=["mae"])
    model.build()
    start = model.get_weights()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's own overflow notes
        with pytest.warns(RuntimeWarning, match="fit stopped at epoch 1"):
            hist = model.fit(x, y, epochs=50, batch_size=16, shuffle=False, verbose=0)
    weights = model.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    assert hist.epoch == [0]
    assert all(math.isfinite(v) for vs in hist.history.values() for v in vs)
    steps = model.optimizer.iterations
    assert 0 < steps < 4 * 50

    # replay the same batches one step at a time: the fit kept exactly the weights of
    # the last step whose loss was finite
    ref = fastnn.Sequential([Input(shape=(5,)), Dense(16, activation="relu"), Dense(1)])
    ref.compile(fastnn.optimizers.SGD(learning_rate=10.0), "mse")
    ref.build()
    ref.set_weights(start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(FloatingPointError):
            for step in range(4 * 50):
                s = (step % 4) * 16
                ref.train_on_batch(x[s : s + 16], y[s : s + 16])
    assert ref.optimizer.iterations == steps
    assert same_weights(ref.get_weights(), weights)


def test_non_finite_loss_in_the_first_step_of_an_epoch_keeps_history_aligned(backend):
    x, y = regression_data()
    x = np.abs(x)
    model = fastnn.Sequential([Input(shape=(6,)), Dense(8, activation="relu"), Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    huge = None

    class Explode(Callback):
        def on_epoch_end(self, epoch, logs=None):
            nonlocal huge
            if epoch == 1:  # weights so large that the next forward pass overflows
                huge = [np.full(w.shape, 3e38, np.float32) for w in self.model.get_weights()]
                self.model.set_weights(huge)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.warns(RuntimeWarning, match="fit stopped at epoch 3, batch 1"):
            hist = model.fit(x, y, epochs=5, validation_split=0.2, callbacks=[Explode()], verbose=0)
    assert hist.epoch == [0, 1, 2]
    assert all(len(v) == 3 for v in hist.history.values())
    assert not math.isfinite(hist.history["loss"][2])
    assert same_weights(model.get_weights(), huge)


def test_finite_loss_with_non_finite_gradient_skips_the_update(backend):
    # tanh saturates: the hidden gradient is inf * 0 = nan while the loss (computed in
    # double) is still finite
    x, y = regression_data()
    model = mlp()
    model.compile("sgd", "mse")
    model.build()
    model.set_weights([np.full(w.shape, 1e30, np.float32) for w in model.get_weights()])
    before = model.get_weights()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(FloatingPointError):
            model.train_on_batch(x, y)
    assert same_weights(before, model.get_weights())


def test_train_on_batch_with_non_finite_loss_raises_and_keeps_weights(backend):
    model = fastnn.Sequential([Input(shape=(4,)), Dense(3, activation="relu"), Dense(1)])
    model.compile("adam", "mse")
    model.build()
    model.set_weights([np.full(w.shape, 1e37, np.float32) for w in model.get_weights()])
    before = model.get_weights()
    x = np.ones((8, 4), np.float32)
    y = np.zeros((8, 1), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(FloatingPointError, match="non-finite"):
            model.train_on_batch(x, y)
    assert same_weights(before, model.get_weights())
    assert model.optimizer.iterations == 0


@pytest.mark.parametrize("label_dtype", [np.int64, np.int32, np.uint8])
def test_train_on_batch_integer_labels_match_float_labels(backend, label_dtype):
    """Integer class labels take train_on_batch's direct path (copied into a reused
    float buffer): same weights as float labels, bad labels rejected with the model
    unchanged, and a later call with fewer or more rows still right."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((12, 5)).astype(np.float32)
    labels = rng.integers(0, 4, size=12)

    def fresh():
        fastnn.set_seed(0)
        m = fastnn.Sequential(
            [Input(shape=(5,)), Dense(6, activation="relu"), Dense(4, activation="softmax")]
        )
        m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        m.build()
        return m

    a, b = fresh(), fresh()
    for rows in (12, 5, 12):
        ra = a.train_on_batch(x[:rows], labels[:rows].astype(label_dtype))
        rb = b.train_on_batch(x[:rows], labels[:rows].astype(np.float32))
        assert ra == rb
    assert same_weights(a.get_weights(), b.get_weights())
    before = a.get_weights()
    bad = labels.astype(label_dtype)
    bad[7] = 4
    with pytest.raises(ValueError, match=r"labels in \[0, 3\].*y\[7\]=4"):
        a.train_on_batch(x, bad)
    assert same_weights(before, a.get_weights())


# ------------------------------------------------------------------ saving
def test_saved_model_resumes_training_identically(tmp_path):
    """save() stores the random streams (shuffling, dropout) with the weights and the
    optimizer state: the loaded copy continues exactly like the original."""
    from fastnn import saving

    x, y = regression_data()
    model = fastnn.Sequential(
        [Input(shape=(6,)), Dense(8, activation="relu"), Dropout(0.3), Dense(1)]
    )
    model.compile("adam", "mse")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "model.fastnn"
    model.save(path)
    loaded = saving.model_from_archive(*saving.read_archive(path))
    assert same_weights(model.get_weights(), loaded.get_weights())
    h1 = model.fit(x, y, epochs=2, batch_size=8, verbose=0).history
    h2 = loaded.fit(x, y, epochs=2, batch_size=8, verbose=0).history
    assert h1 == h2
    assert same_weights(model.get_weights(), loaded.get_weights())


def test_random_state_is_checked_before_it_is_applied():
    model = mlp()
    model.build()
    state = model.get_random_state()
    for bad in (
        {"seed": -1},
        {"seed": 1, "shuffle": {"bit_generator": "MT19937"}},
        {"seed": 1, "dropout": {"dropout": [1]}},
        "seed",
    ):
        with pytest.raises(ValueError, match="random state"):
            model.set_random_state(bad)
        assert model.get_random_state() == state


def test_layer_get_and_set_weights_write_into_the_model(rng):
    """Keras' layer.get_weights() / layer.set_weights(): copies out, checked copies in,
    and the model computes with the new values at once."""
    import fastnn
    from fastnn.layers import Dense, Input

    model = fastnn.Sequential([Input(shape=(3,)), Dense(2), Dense(1)])
    first = model.layers[0]
    assert Dense(4).get_weights() == []
    with pytest.raises(ValueError, match="needs the layer built"):
        Dense(4).set_weights([np.zeros((3, 4))])
    x = rng.standard_normal((5, 3)).astype(np.float32)
    model.predict(x, verbose=0)
    kernel, bias = first.get_weights()
    kernel[...] = 0  # a copy: the model is untouched
    assert first.get_weights()[0].any()
    first.set_weights([np.ones((3, 2)), np.full(2, 0.5)])
    np.testing.assert_array_equal(model.get_weights()[0], np.ones((3, 2)))
    last = model.layers[1]
    expected = (x.sum(axis=1, keepdims=True) + 0.5) * last.get_weights()[0].sum()
    expected += last.get_weights()[1]
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"weights\[0\] of shape \(3, 2\)"):
        first.set_weights([np.ones((2, 3)), np.zeros(2)])
    with pytest.raises(ValueError, match="finite"):
        first.set_weights([np.ones((3, 2)), np.array([0.0, np.nan])])
    np.testing.assert_array_equal(model.get_weights()[1], [0.5, 0.5])  # unchanged


def test_a_layer_in_two_models_is_refused():
    # its weights live in the first model's buffers: the second would take them over and
    # the first would train to no effect (issue: hardening)
    import pickle

    layer = fastnn.layers.Dense(1)
    first = fastnn.Sequential([fastnn.layers.Input((2,)), layer])
    with pytest.raises(ValueError, match="already belongs to model"):
        fastnn.Sequential([fastnn.layers.Input((2,)), layer])
    assert pickle.loads(pickle.dumps(layer)).units == 1  # still picklable
    first.pop()
    second = fastnn.Sequential([fastnn.layers.Input((2,)), layer])  # released by pop
    assert second.layers[-1] is layer
