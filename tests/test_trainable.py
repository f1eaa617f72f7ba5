"""trainable=False (Keras' frozen layers): the Updater leaves frozen variables alone in
both implementations (no update, no decay, no clipping, not in any norm, slots
untouched), a frozen layer keeps its weights through fit while the others train, and
summary() counts it as non-trainable."""

import io

import numpy as np
import pytest
from helpers import DTYPES

import fastnn
from fastnn.backend.compiled import optimizers as c_opt
from fastnn.backend.reference import optimizers as r_opt
from fastnn.layers import LSTM, Dense, Embedding, Input

HYPERS = [
    {"learning_rate": 0.1},
    {"learning_rate": 0.1, "weight_decay": 0.01, "clipvalue": 0.3},
    {"learning_rate": 0.1, "clipnorm": 0.5},
    {"learning_rate": 0.1, "global_clipnorm": 0.5},
]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("kind", ["sgd", "adagrad", "rmsprop", "adam"])
@pytest.mark.parametrize(
    "hyper", HYPERS, ids=["plain", "decay-clipvalue", "clipnorm", "global_clipnorm"]
)
def test_frozen_variables_are_left_alone_and_the_twins_agree(dt, kind, hyper):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(20).astype(dt)
    g0 = (rng.standard_normal(20) * 3).astype(dt)
    seg = np.array([0, 5, 12, 20], np.int64)
    keep = np.r_[0:5, 12:20]  # the trainable variables' entries
    results = []
    for mod in (c_opt, r_opt):
        w, g = w0.copy(), g0.copy()
        up = mod.Updater(kind, w, g, seg, dict(hyper), [True, False, True])
        for step in range(4):
            g[...] = g0
            if step == 3:  # a non-finite gradient in the frozen variable changes nothing
                g[7] = np.nan
            assert up.apply() == 0
        # the frozen variable: weights, gradient (never clipped) and slots as they were
        np.testing.assert_array_equal(w[5:12], w0[5:12])
        np.testing.assert_array_equal(g[5:12][g[5:12] == g[5:12]], np.delete(g0[5:12], 2))
        start = hyper.get("initial_accumulator_value", 0.1) if kind == "adagrad" else 0
        for name, v in up.slots.items():
            expected = dt(start) if name == "accumulator" else 0
            np.testing.assert_array_equal(v[5:12], expected, err_msg=name)
        # the others: the steps of an Updater over the trainable variables alone
        wt, gt = w0[keep].copy(), g0[keep].copy()
        alone = mod.Updater(kind, wt, gt, np.array([0, 5, 13], np.int64), dict(hyper))
        for _ in range(4):
            gt[...] = g0[keep]
            alone.apply()
        tol = dict(rtol=1e-6, atol=1e-7) if dt == np.float32 else dict(rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(w[keep], wt, **tol)
        results.append(w)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5 if dt == np.float32 else 1e-13)


def test_frozen_norms_leave_the_frozen_variable_out():
    # global_clipnorm over the trainable gradients only: a huge frozen gradient does not
    # shrink the others' step
    w, g = np.zeros(4), np.array([0.3, 0.4, 1e6, 1e6])
    up = c_opt.Updater(
        "sgd",
        w,
        g,
        np.array([0, 2, 4], np.int64),
        {"learning_rate": 1.0, "global_clipnorm": 10.0},
        [True, False],
    )
    up.apply()
    np.testing.assert_allclose(w, [-0.3, -0.4, 0, 0])
    assert up.last_grad_norm == pytest.approx(0.5)


def test_a_frozen_layer_keeps_its_weights_while_the_rest_trains(backend):
    rng = np.random.default_rng(1)
    x = rng.integers(1, 40, (32, 6)).astype(float)
    y = rng.standard_normal((32, 1))
    fastnn.set_seed(0)
    emb = Embedding(40, 4, trainable=False)
    model = fastnn.Sequential([Input((6,)), emb, LSTM(5), Dense(1)])
    model.compile("adam", "mse")
    model.fit(x, y, epochs=1, verbose=0)  # builds
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, epochs=2, verbose=0)
    after = model.get_weights()
    np.testing.assert_array_equal(after[0], before[0])  # the embeddings
    assert all(not np.array_equal(a, b) for a, b in zip(after[1:], before[1:]))
    buf = io.StringIO()
    model.summary(print_fn=lambda s: buf.write(s + "\n"))
    assert "Non-trainable params: 160" in buf.getvalue()
    assert f"Trainable params: {model.count_params() - 160:,}" in buf.getvalue()
    # unfreezing takes effect at the next step; freezing the whole model stops it all
    emb.trainable = True
    model.train_on_batch(x, y)
    assert not np.array_equal(model.get_weights()[0], before[0])
    model.trainable = False
    frozen = [w.copy() for w in model.get_weights()]
    model.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), frozen):
        np.testing.assert_array_equal(a, b)
    assert not model.trainable and not emb.trainable


def test_trainable_round_trips_and_is_checked():
    layer = Dense(3, trainable=False)
    cfg = layer.get_config()
    assert cfg["trainable"] is False and Dense.from_config(cfg).trainable is False
    assert "trainable" not in Dense(3).get_config()
    with pytest.raises(TypeError, match="trainable as True or False"):
        Dense(3, trainable="no")
