"""recurrent_dropout (Keras 3.15 implementation=1): one input mask and one state mask per
gate, drawn per batch and the same at every step, the carried state unmasked.

The oracle is a per-step NumPy transcription of Keras' cells (keras/src/layers/rnn/
lstm.py, gru.py, simple_rnn.py: LSTMCell.call and _compute_carry_and_output, GRUCell.call
with implementation=1 and reset_after=True, SimpleRNNCell.call), fed the masks the op drew
(its counter-based stream, rebuilt here from fastnn.backend.reference.dropout). Gradients
are checked against float64 central differences; the twin against the compiled op."""

import helpers
import numpy as np
import pytest

import fastnn
from fastnn.backend.compiled import _parallel
from fastnn.backend.compiled import recurrent as compiled
from fastnn.backend.reference import recurrent as reference
from fastnn.backend.reference.dropout import dropout_mask
from fastnn.layers import GRU, LSTM, Bidirectional, Dense, Embedding, Input, SimpleRNN

KINDS = {"simple_rnn": 1, "lstm": 4, "gru": 3}
SEED = 77


def _op(
    mod,
    kind,
    F,
    H,
    T,
    dtype,
    rate,
    recurrent_rate,
    return_sequences=True,
    reverse=False,
    per_gate=True,
):
    k = KINDS[kind]
    rng = np.random.default_rng(1)
    W = (rng.standard_normal((F, k * H)) * 0.4).astype(dtype)
    U = (rng.standard_normal((H, k * H)) * 0.4).astype(dtype)
    b, b2 = ((rng.standard_normal(k * H) * 0.2).astype(dtype) for _ in range(2))
    grads = [np.zeros_like(a) for a in (W, U, b, b2)]
    if kind == "simple_rnn":
        op = mod.SimpleRNNOp(W, U, b, *grads[:3], T, "tanh", return_sequences, True, reverse)
    elif kind == "lstm":
        op = mod.LSTMOp(W, U, b, *grads[:3], T, return_sequences, True, reverse)
    else:
        op = mod.GRUOp(W, U, b, b2, *grads, T, return_sequences, True, reverse)
    op.set_dropout(rate, recurrent_rate, SEED, per_gate)
    return op, (W, U, b, b2), grads


def _masks(kind, n, F, H, rate, recurrent_rate, per_gate=True, counter=0):
    # the op's draw order: the input masks (G or 1, n, F), then the state masks (G, n, H)
    k = KINDS[kind]
    d = m = None
    if rate:
        g = k if per_gate else 1
        d = dropout_mask(g * n * F, rate, SEED, counter, np.float64).reshape(g, n, F)
        counter += g * n * F
    if recurrent_rate:
        m = dropout_mask(k * n * H, recurrent_rate, SEED, counter, np.float64).reshape(k, n, H)
    return d, m


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def _keras_cells(kind, x, weights, d, m):
    """Keras' cell, step by step, in fastnn's gate layout (LSTM i|f|c|o, GRU r|z|n); d:
    the input masks, one per gate (implementation=1) or one for all (implementation=2,
    where Keras masks the input once), m: the per-gate state masks; None: no dropout."""
    W, U, b, b2 = weights
    n, T, F = x.shape
    k, H = KINDS[kind], U.shape[0]
    d = np.ones((k, n, F)) if d is None else d
    m = np.ones((k, n, H)) if m is None else m
    h, c, out = np.zeros((n, H)), np.zeros((n, H)), []

    def cols(a, q):
        return a[..., q * H : (q + 1) * H]

    for t in range(T):
        xq = [(x[:, t] * d[q % len(d)]) @ cols(W, q) + cols(b, q) for q in range(k)]
        hq = [(h * m[q]) @ cols(U, q) for q in range(k)]
        if kind == "simple_rnn":
            h = np.tanh(xq[0] + hq[0])
        elif kind == "lstm":
            i, f = _sigmoid(xq[0] + hq[0]), _sigmoid(xq[1] + hq[1])
            c = f * c + i * np.tanh(xq[2] + hq[2])
            h = _sigmoid(xq[3] + hq[3]) * np.tanh(c)
        else:
            r = _sigmoid(xq[0] + hq[0] + cols(b2, 0))
            z = _sigmoid(xq[1] + hq[1] + cols(b2, 1))
            hh = np.tanh(xq[2] + r * (hq[2] + cols(b2, 2)))
            h = z * h + (1 - z) * hh  # the unmasked h_{t-1}, as Keras
        out.append(h)
    return np.stack(out, axis=1)


@pytest.mark.parametrize("mod", [compiled, reference], ids=["compiled", "twin"])
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("rates", [(0.0, 0.4), (0.3, 0.4), (0.3, 0.0)])
@pytest.mark.parametrize("per_gate", [True, False], ids=["implementation1", "implementation2"])
def test_training_forward_is_keras(mod, kind, rates, per_gate):
    n, T, F, H = 5, 6, 3, 4
    op, weights, _ = _op(mod, kind, F, H, T, np.float64, *rates, per_gate=per_gate)
    x = np.random.default_rng(2).standard_normal((n, T, F))
    y = op.py_forward(x.reshape(n, -1), training=True).reshape(n, T, H)
    want = _keras_cells(kind, x, weights, *_masks(kind, n, F, H, *rates, per_gate))
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-13)
    # the stream moved on: the next batch draws new masks; inference draws none
    k = KINDS[kind]
    drawn = n * F * (rates[0] > 0) * (k if per_gate else 1) + k * n * H * (rates[1] > 0)
    assert op.counter == drawn
    y_inf = op.py_forward(x.reshape(n, -1), training=False).reshape(n, T, H)
    np.testing.assert_allclose(y_inf, _keras_cells(kind, x, weights, None, None), rtol=1e-12)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("per_gate", [True, False], ids=["implementation1", "implementation2"])
def test_gradients_match_central_differences(kind, reverse, per_gate):
    n, T, F, H = 3, 4, 3, 4
    rates = (0.3, 0.4 if per_gate else 0.0)
    op, weights, grads = _op(
        compiled, kind, F, H, T, np.float64, *rates, reverse=reverse, per_gate=per_gate
    )
    rng = np.random.default_rng(3)
    x = rng.standard_normal((n, T * F))
    R = rng.standard_normal((n, T * H))

    def loss():
        op.counter = 0  # the same masks at every evaluation
        return float(np.sum(op.py_forward(x, training=True) * R))

    loss()
    dx = op.py_backward(R)
    analytic = [g.copy() for g in grads] + [dx]
    params = [weights[0], weights[1], weights[2]] + ([weights[3]] if kind == "gru" else [])
    for p, g in zip(params + [x], analytic[: len(params)] + [dx]):
        num = helpers.numeric_grad(loss, p)
        np.testing.assert_allclose(g.reshape(p.shape), num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("split", ["never", "always"])
@pytest.mark.parametrize("per_gate", [True, False], ids=["implementation1", "implementation2"])
def test_twin_matches_compiled_with_padding_and_threads(kind, dtype, split, per_gate):
    n, T, F, H = 9, 7, 5, 8
    rng = np.random.default_rng(4)
    x = rng.standard_normal((n, T * F)).astype(dtype)
    mask = np.arange(T)[None, :] >= rng.integers(0, T, size=(n, 1))  # left padding
    mask[0] = False  # a fully padded row
    results = []
    previous = _parallel.configure(batch_split=split)
    try:
        for mod in (compiled, reference):
            op, _, grads = _op(
                mod, kind, F, H, T, dtype, 0.25, 0.35, reverse=True, per_gate=per_gate
            )
            for _ in range(2):  # the second batch draws other masks
                op.set_input_mask(mask)
                y = op.py_forward(x, training=True)
                dx = op.py_backward(np.cos(y))
            results.append([y, dx] + [g.copy() for g in grads])
    finally:
        _parallel.configure(**previous)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, **helpers.TOL[dtype])


def _fit(cls, seed, backend="compiled", **kw):
    rng = np.random.default_rng(5)
    x = rng.integers(1, 40, (32, 10)).astype(float)
    x[:8, :4] = 0  # padded
    y = rng.standard_normal((32, 1))
    fastnn.set_backend(backend)
    try:
        fastnn.utils.set_random_seed(seed)
        model = fastnn.Sequential(
            [Input((10,)), Embedding(40, 6, mask_zero=True), cls(5, **kw), Dense(1)],
            dtype="float64",
        )
        model.compile("adam", "mse")
        model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    finally:
        fastnn.set_backend("compiled")
    return model, x


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_layers_train_the_same_on_both_backends_and_under_the_seed(cls):
    kw = dict(dropout=0.2, recurrent_dropout=0.3)
    a, x = _fit(cls, 9, **kw)
    b, _ = _fit(cls, 9, backend="numpy", **kw)
    c, _ = _fit(cls, 9, **kw)
    plain, _ = _fit(cls, 9)
    for wa, wb, wc in zip(a.get_weights(), b.get_weights(), c.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(wa, wc)
    assert not np.allclose(a.get_weights()[1], plain.get_weights()[1])  # dropout acted
    # inference draws no masks: predict is deterministic and is the plain forward
    np.testing.assert_array_equal(a.predict(x, verbose=0), a.predict(x, verbose=0))


def test_implementation_argument_follows_keras():
    assert LSTM(3).implementation == 2 and GRU(3, implementation=1).implementation == 1
    assert LSTM(3, recurrent_dropout=0.1).implementation == 1  # forced, as Keras
    assert SimpleRNN(3, recurrent_dropout=0.1).recurrent_dropout == 0.1
    with pytest.raises(ValueError, match="implementation 1 or 2"):
        LSTM(3, implementation=3)
    with pytest.raises(TypeError):
        SimpleRNN(3, implementation=1)  # Keras' SimpleRNN has no such argument
    assert LSTM(3, recurrent_dropout=1.5).recurrent_dropout == 1.0  # clamped: drops nothing
    layer = GRU(3, recurrent_dropout=0.5)
    x = np.ones((2, 4, 2), np.float32)
    assert layer(x).shape == (2, 3)  # inference: no dropout
    with pytest.raises(NotImplementedError, match="training=True"):
        layer(x, training=True)


def test_implementation_1_draws_one_input_mask_per_gate():
    # dropout alone with implementation=1: per-gate input masks, not the one of
    # implementation=2; the LSTM's op draws them (and keeps the stream across Nets, saves)
    one, _ = _fit(LSTM, 4, dropout=0.3, implementation=1)
    two, _ = _fit(LSTM, 4, dropout=0.3)
    assert [(type(op).__name__, op.input_masks) for _, op in one._dropout_ops] == [("LSTMOp", 4)]
    assert [(type(op).__name__, op.input_masks) for _, op in two._dropout_ops] == [("LSTMOp", 1)]
    assert not np.allclose(one.get_weights()[1], two.get_weights()[1])


@pytest.mark.parametrize("kw", [dict(dropout=0.3), dict(dropout=0.2, recurrent_dropout=0.3)])
def test_bidirectional_with_dropout(kw):
    """Each direction draws its own masks (its own stream, keyed by its layer), on both
    backends alike, reproducibly, and the streams carry on across a rebuilt Net."""
    rng = np.random.default_rng(6)
    x = rng.integers(1, 30, (24, 9)).astype(float)
    x[:6, :3] = 0
    y = rng.standard_normal((24, 1))

    def layers():
        return [
            Input((9,)),
            Embedding(30, 4, mask_zero=True),
            Bidirectional(GRU(5, **kw)),
            Dense(1),
        ]

    a, b = helpers.train_on_both_backends(layers, x, y, seed=2, epochs=2, batch_size=8)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-10, atol=1e-12)
    parts = a._dropout_ops
    assert [layer.name.split("_")[0] for layer, _ in parts] == ["forward", "backward"]
    assert parts[0][1].seed != parts[1][1].seed and all(op.counter > 0 for _, op in parts)
    state = a.get_random_state()["dropout"]
    assert sorted(state) == sorted(layer.name for layer, _ in parts)
    # a rebuilt Net (another backend) goes on from the same counters
    counters = [op.counter for _, op in parts]
    fastnn.set_backend("numpy")
    try:
        a.train_on_batch(x[:8], y[:8])
    finally:
        fastnn.set_backend("compiled")
    assert [op.counter for _, op in a._dropout_ops] != counters
    assert [op.counter for _, op in a._dropout_ops][0] > counters[0]


def test_bad_dropout_settings_raise():
    op, _, _ = _op(reference, "lstm", 2, 3, 4, np.float64, 0.0, 0.0)
    with pytest.raises(ValueError, match=r"recurrent_rate in \[0, 1\)"):
        op.set_dropout(0.0, 1.0, 0)
    op.py_forward(np.zeros((1, 8)))
    with pytest.raises(RuntimeError, match="before the op's first call"):
        op.set_dropout(0.0, 0.5, 0)
