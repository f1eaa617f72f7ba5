"""fastnn.convert: weights from and to the PyTorch and Keras layouts.

PyTorch tests compare outputs with real torch modules (float64, random weights and
random per-gate different biases) and skip without torch. Keras is not needed: the
Keras forward formulas are written below in NumPy (a Keras-layout reference) and
checked against PyTorch through the documented PyTorch -> Keras mapping.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn import convert
from fastnn.layers import GRU, LSTM, Dense, Dropout, SimpleRNN

B, T, F, H = 3, 5, 4, 6
RTOL, ATOL = 1e-10, 1e-12
KINDS = ["dense", "rnn_tanh", "rnn_relu", "lstm", "gru"]
# (kind, return_sequences): Dense has no return_sequences
CASES = [("dense", False)] + [(k, rs) for k in KINDS[1:] for rs in (True, False)]
GATES = {"dense": 1, "rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


# ---------------------------------------------------------------------------- helpers
def fastnn_layer(
    kind, return_sequences=False, dtype="float64", use_bias=True, units=H, features=F, timesteps=T
):
    """(model, layer): a built one-layer fastnn model."""
    if kind == "dense":
        layer = Dense(units, input_shape=(features,), use_bias=use_bias)
    else:
        cls = {"rnn_tanh": SimpleRNN, "rnn_relu": SimpleRNN, "lstm": LSTM, "gru": GRU}[kind]
        kw = {"activation": kind[4:]} if kind.startswith("rnn") else {}
        layer = cls(
            units,
            input_shape=(timesteps, features),
            return_sequences=return_sequences,
            use_bias=use_bias,
            **kw,
        )
    m = fastnn.Sequential([layer], dtype=dtype)
    m.build()
    return m, m.layers[0]


def torch_module(torch, kind, rng, bias=True, **kw):
    """A float64 module with random weights and random biases that differ per gate
    (each gate block gets its own offset on top of the noise)."""
    nn = torch.nn
    if kind == "dense":
        m = nn.Linear(F, H, bias=bias, dtype=torch.float64)
    elif kind.startswith("rnn"):
        m = nn.RNN(
            F, H, nonlinearity=kind[4:], batch_first=True, bias=bias, dtype=torch.float64, **kw
        )
    elif kind == "lstm":
        m = nn.LSTM(F, H, batch_first=True, bias=bias, dtype=torch.float64, **kw)
    else:
        m = nn.GRU(F, H, batch_first=True, bias=bias, dtype=torch.float64, **kw)
    g = GATES[kind]
    with torch.no_grad():
        for name, p in m.named_parameters():
            v = rng.standard_normal(tuple(p.shape)) * 0.5
            if name.startswith("bias"):
                v = v + np.repeat(np.linspace(-1.0, 1.0, g), H) * (1.5 if "ih" in name else -0.7)
            p.copy_(torch.from_numpy(v))
    return m


def torch_forward(torch, kind, m, x):
    """Full output: (B, H) for dense, (B, T, H) for recurrent (zero initial state)."""
    with torch.no_grad():
        out = m(torch.from_numpy(x))
    if kind != "dense":
        out = out[0]
    return out.numpy()


def inputs(kind, rng, n=B):
    return rng.standard_normal((n, F) if kind == "dense" else (n, T, F))


def expected(kind, full, return_sequences):
    return full if kind == "dense" or return_sequences else full[:, -1]


# --- the Keras layout, in NumPy (formulas of Keras' Dense, SimpleRNN, LSTMCell and
#     GRUCell with reset_after=True; zero initial state)
def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


_ACT = {"tanh": np.tanh, "relu": lambda a: np.maximum(a, 0.0), "linear": lambda a: a}


def keras_forward(kind, weights, x, activation="tanh", return_sequences=True):
    if kind == "dense":
        K, b = weights
        return x @ K + b
    K, U, b = weights
    n, steps, _ = x.shape
    units = U.shape[0]
    h = np.zeros((n, units))
    c = np.zeros((n, units))
    outs = []
    for t in range(steps):
        xt = x[:, t]
        if kind.startswith("rnn"):
            h = _ACT[activation](xt @ K + b + h @ U)
        elif kind == "lstm":
            z = xt @ K + h @ U + b  # columns [i | f | c | o]
            z0, z1, z2, z3 = np.split(z, 4, axis=-1)
            i, f, o = _sigmoid(z0), _sigmoid(z1), _sigmoid(z3)
            c = f * c + i * np.tanh(z2)
            h = o * np.tanh(c)
        else:  # GRU, reset_after=True
            x_z, x_r, x_h = np.split(xt @ K + b[0], 3, axis=-1)  # columns [z | r | h]
            m_z, m_r, m_h = np.split(h @ U + b[1], 3, axis=-1)
            z = _sigmoid(x_z + m_z)
            r = _sigmoid(x_r + m_r)
            hh = np.tanh(x_h + r * m_h)
            h = z * h + (1.0 - z) * hh
        outs.append(h)
    return np.stack(outs, axis=1) if return_sequences else h


def keras_weights(kind, rng, features=F, units=H):
    """Random Keras-layout weights with per-gate different biases."""
    g = GATES[kind]
    offs = np.repeat(np.linspace(-1.0, 1.0, g), units)
    K = rng.standard_normal((features, g * units)) * 0.5
    if kind == "dense":
        return [K, rng.standard_normal(units) + offs]
    U = rng.standard_normal((units, g * units)) * 0.5
    if kind == "gru":
        b = np.stack(
            [
                rng.standard_normal(3 * units) + 1.5 * offs,
                rng.standard_normal(3 * units) - 0.7 * offs,
            ]
        )
    else:
        b = rng.standard_normal(g * units) + offs
    return [K, U, b]


def torch_to_keras_by_hand(kind, sd):
    """The PyTorch -> Keras mapping written out independently of fastnn.convert
    (GRU: K = [W_iz.T | W_ir.T | W_in.T], likewise U and both bias rows)."""
    if kind == "dense":
        return [sd["weight"].T, sd["bias"]]
    w_ih, w_hh, b_ih, b_hh = (
        sd[k] for k in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    )
    if kind != "gru":
        return [w_ih.T, w_hh.T, b_ih + b_hh]
    W_ir, W_iz, W_in = np.split(w_ih, 3, axis=0)
    W_hr, W_hz, W_hn = np.split(w_hh, 3, axis=0)
    b_ir, b_iz, b_in = np.split(b_ih, 3)
    b_hr, b_hz, b_hn = np.split(b_hh, 3)
    return [
        np.concatenate([W_iz.T, W_ir.T, W_in.T], axis=1),
        np.concatenate([W_hz.T, W_hr.T, W_hn.T], axis=1),
        np.stack([np.concatenate([b_iz, b_ir, b_in]), np.concatenate([b_hz, b_hr, b_hn])]),
    ]


class FakeKerasLayer:
    """Stands in for a Keras layer object (get_weights / get_config)."""

    def __init__(self, weights, **config):
        self._w, self._cfg = weights, config

    def get_weights(self):
        return [np.array(w) for w in self._w]

    def get_config(self):
        return dict(self._cfg)


def fake_keras(cls_name, weights, **config):
    return type(cls_name, (FakeKerasLayer,), {})(weights, **config)


# ---------------------------------------------------------------------------- PyTorch
@pytest.mark.slow
@pytest.mark.parametrize("source", ["module", "state_dict", "numpy_state_dict"])
@pytest.mark.parametrize("kind, return_sequences", CASES)
def test_from_torch_reproduces_torch_outputs(kind, return_sequences, source):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    tm = torch_module(torch, kind, rng)
    x = inputs(kind, rng)
    want = expected(kind, torch_forward(torch, kind, tm, x), return_sequences)
    src = {
        "module": tm,
        "state_dict": tm.state_dict(),
        "numpy_state_dict": {k: v.numpy().copy() for k, v in tm.state_dict().items()},
    }[source]
    m, layer = fastnn_layer(kind, return_sequences)
    assert convert.from_torch(layer, src) is layer
    got = m.predict(x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("kind, return_sequences", CASES)
def test_to_torch_module_reproduces_fastnn_outputs(kind, return_sequences):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    m, layer = fastnn_layer(kind, return_sequences)
    # random weights and per-gate different biases set in fastnn's own layout
    m.set_weights([rng.standard_normal(w.shape) * 0.5 for w in m.get_weights()])
    x = inputs(kind, rng)
    tm = convert.to_torch_module(layer)
    assert all(p.dtype == torch.float64 for p in tm.parameters())
    np.testing.assert_allclose(
        expected(kind, torch_forward(torch, kind, tm, x), return_sequences),
        m.predict(x),
        rtol=RTOL,
        atol=ATOL,
    )
    # and back again: a second fastnn layer gets identical weights
    m2, layer2 = fastnn_layer(kind, return_sequences)
    convert.from_torch(layer2, tm)
    for a, b in zip(m.get_weights(), m2.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("kind", KINDS)
def test_to_torch_names_shapes_and_bias_split(kind):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    tm = torch_module(torch, kind, rng)
    ref = {k: v.numpy() for k, v in tm.state_dict().items()}
    _, layer = fastnn_layer(kind)
    convert.from_torch(layer, tm)
    d = convert.to_torch(layer)
    assert list(d) == list(ref)
    assert all(d[k].shape == ref[k].shape and d[k].dtype == np.float64 for k in d)
    if kind in ("dense", "gru"):  # one to one
        for k in d:
            np.testing.assert_array_equal(d[k], ref[k])
    else:  # the summed bias goes to bias_ih, zeros to bias_hh
        np.testing.assert_array_equal(d["weight_ih_l0"], ref["weight_ih_l0"])
        np.testing.assert_array_equal(d["weight_hh_l0"], ref["weight_hh_l0"])
        np.testing.assert_allclose(
            d["bias_ih_l0"], ref["bias_ih_l0"] + ref["bias_hh_l0"], rtol=1e-15
        )
        np.testing.assert_array_equal(d["bias_hh_l0"], 0.0)
    # the dict loads into a fresh torch module with identical outputs
    fresh = torch_module(torch, kind, np.random.default_rng(99))
    fresh.load_state_dict({k: torch.from_numpy(v) for k, v in d.items()})
    x = inputs(kind, rng)
    np.testing.assert_allclose(
        torch_forward(torch, kind, fresh, x),
        torch_forward(torch, kind, tm, x),
        rtol=RTOL,
        atol=ATOL,
    )


def test_gru_keeps_both_biases_the_hidden_n_bias_is_not_summed():
    """Summing the GRU biases (as for LSTM) would move b_hn out of r * (...)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    tm = torch_module(torch, "gru", rng)
    x = inputs("gru", rng)
    want = torch_forward(torch, "gru", tm, x)
    m, layer = fastnn_layer("gru", True)
    convert.from_torch(layer, tm)
    np.testing.assert_allclose(m.predict(x), want, rtol=RTOL, atol=ATOL)
    summed = m.get_weights()
    summed[2], summed[3] = summed[2] + summed[3], np.zeros_like(summed[3])
    m.set_weights(summed)
    assert not np.allclose(m.predict(x), want, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("kind", ["dense", "lstm", "gru"])
def test_from_torch_module_without_bias_loads_zero_biases(kind):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    tm = torch_module(torch, kind, rng, bias=False)
    m, layer = fastnn_layer(kind, True)
    m.set_weights([np.ones(w.shape) for w in m.get_weights()])
    convert.from_torch(layer, tm)
    assert all(np.all(w == 0) for w in layer.weights[2 if kind != "dense" else 1 :])
    x = inputs(kind, rng)
    np.testing.assert_allclose(
        m.predict(x), torch_forward(torch, kind, tm, x), rtol=RTOL, atol=ATOL
    )


@pytest.mark.parametrize("kind", ["dense", "rnn_relu", "gru"])
def test_layers_without_bias_round_trip(kind):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    tm = torch_module(torch, kind, rng, bias=False)
    m, layer = fastnn_layer(kind, True, use_bias=False)
    convert.from_torch(layer, tm)
    x = inputs(kind, rng)
    np.testing.assert_allclose(
        m.predict(x), torch_forward(torch, kind, tm, x), rtol=RTOL, atol=ATOL
    )
    d = convert.to_torch(layer)
    assert not any(k.startswith("bias") for k in d)
    back = convert.to_torch_module(layer)
    np.testing.assert_allclose(
        torch_forward(torch, kind, back, x), torch_forward(torch, kind, tm, x), rtol=RTOL, atol=ATOL
    )


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_from_torch_cells(kind):
    """nn.RNNCell / LSTMCell / GRUCell state dicts (keys without _l0) load too."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    tm = torch_module(torch, kind, rng)
    cell_cls = {"rnn_tanh": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[
        kind
    ]
    cell = cell_cls(F, H, dtype=torch.float64)
    cell.load_state_dict({k[:-3]: v for k, v in tm.state_dict().items()})
    m, layer = fastnn_layer(kind, True)
    convert.from_torch(layer, cell)
    x = inputs(kind, rng)
    np.testing.assert_allclose(
        m.predict(x), torch_forward(torch, kind, tm, x), rtol=RTOL, atol=ATOL
    )


def test_from_torch_state_dict_prefix():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(13)
    net = torch.nn.Sequential(torch_module(torch, "lstm", rng), torch.nn.Identity())
    m, layer = fastnn_layer("lstm", True)
    convert.from_torch(layer, net.state_dict(), prefix="0.")
    x = inputs("lstm", rng)
    np.testing.assert_allclose(
        m.predict(x), torch_forward(torch, "lstm", net[0], x), rtol=RTOL, atol=ATOL
    )
    with pytest.raises(ValueError, match="prefix='1.'"):
        convert.from_torch(layer, net.state_dict(), prefix="1.")


def test_from_torch_float32_layer():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(14)
    tm = torch_module(torch, "gru", rng)
    m, layer = fastnn_layer("gru", True, dtype="float32")
    convert.from_torch(layer, tm)
    assert layer.weights[0].dtype == np.float32
    x = inputs("gru", rng)
    np.testing.assert_allclose(
        m.predict(x), torch_forward(torch, "gru", tm, x), rtol=1e-4, atol=1e-5
    )
    back = convert.to_torch_module(layer)
    assert back.weight_ih_l0.dtype == torch.float32


def test_model_from_torch_dense_stack_and_recurrent_head():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    rng = np.random.default_rng(15)
    # MLP: activations live in the fastnn layers, parameter-free torch modules are skipped
    tnet = nn.Sequential(
        nn.Linear(F, 8, dtype=torch.float64),
        nn.ReLU(),
        nn.Dropout(0.0),
        nn.Sequential(nn.Linear(8, 3, dtype=torch.float64), nn.Tanh()),
    )
    m = fastnn.Sequential(
        [Dense(8, activation="relu", input_shape=(F,)), Dropout(0.5), Dense(3, activation="tanh")],
        dtype="float64",
    )
    assert convert.model_from_torch(m, tnet) is m
    x = rng.standard_normal((B, F))
    with torch.no_grad():
        want = tnet.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(m.predict(x), want, rtol=RTOL, atol=ATOL)
    # LSTM -> last step -> Linear, from a plain list
    lstm, lin = torch_module(torch, "lstm", rng), nn.Linear(H, 2, dtype=torch.float64)
    m2 = fastnn.Sequential([LSTM(H, input_shape=(T, F)), Dense(2)], dtype="float64")
    convert.model_from_torch(m2, [lstm, lin])
    xs = inputs("lstm", rng)
    with torch.no_grad():
        want = lin(lstm(torch.from_numpy(xs))[0][:, -1]).numpy()
    np.testing.assert_allclose(m2.predict(xs), want, rtol=RTOL, atol=ATOL)


def test_model_from_torch_errors_leave_every_layer_unchanged():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    m = fastnn.Sequential([Dense(8, input_shape=(F,)), Dense(3)], dtype="float64")
    m.build()
    before = m.get_weights()
    with pytest.raises(ValueError, match="expected 2 torch modules with weights.*Received 1"):
        convert.model_from_torch(m, [nn.Linear(F, 8, dtype=torch.float64)])
    # the first pair is fine, the second one has the wrong shape: nothing is written
    with pytest.raises(ValueError, match=r"module 1 -> layer .*weight of shape \(3, 8\)"):
        convert.model_from_torch(
            m, [nn.Linear(F, 8, dtype=torch.float64), nn.Linear(7, 3, dtype=torch.float64)]
        )
    with pytest.raises(TypeError, match="Conv1d"):
        convert.model_from_torch(m, nn.Sequential(nn.Linear(F, 8), nn.Conv1d(1, 1, 1)))
    with pytest.raises(TypeError, match="fastnn Sequential"):
        convert.model_from_torch(nn.Linear(F, 8), [nn.Linear(F, 8)])
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------- Keras
@pytest.mark.parametrize("kind, return_sequences", CASES)
def test_from_keras_matches_the_keras_reference(kind, return_sequences):
    rng = np.random.default_rng(21)
    kw = keras_weights(kind, rng)
    x = inputs(kind, rng)
    act = kind[4:] if kind.startswith("rnn") else "tanh"
    want = keras_forward(kind, kw, x, act, return_sequences)
    m, layer = fastnn_layer(kind, return_sequences)
    assert convert.from_keras(layer, kw) is layer
    np.testing.assert_allclose(m.predict(x), want, rtol=RTOL, atol=ATOL)
    # to_keras gives back the very same list
    back = convert.to_keras(layer)
    assert [w.shape for w in back] == [w.shape for w in kw]
    for a, b in zip(back, kw):
        np.testing.assert_array_equal(a, b)


def test_gru_from_keras_without_the_zr_reorder_gives_different_outputs():
    """The Keras GRU kernel has fastnn's shapes with z and r swapped: copying the
    blocks as they are runs without error and computes something else."""
    rng = np.random.default_rng(22)
    K, U, b = keras_weights("gru", rng)
    x = inputs("gru", rng)
    want = keras_forward("gru", [K, U, b], x)
    m, layer = fastnn_layer("gru", True)
    m.set_weights([K, U, b[0], b[1]])  # naive copy, no reorder
    assert not np.allclose(m.predict(x), want, rtol=1e-3, atol=1e-6)
    convert.from_keras(layer, [K, U, b])
    np.testing.assert_allclose(m.predict(x), want, rtol=RTOL, atol=ATOL)
    # the reorder moves exactly the first two blocks of every array
    W, Uf, b_ih, b_hh = m.get_weights()
    np.testing.assert_array_equal(W[:, :H], K[:, H : 2 * H])  # r
    np.testing.assert_array_equal(W[:, H : 2 * H], K[:, :H])  # z
    np.testing.assert_array_equal(Uf[:, 2 * H :], U[:, 2 * H :])  # n / h
    np.testing.assert_array_equal(b_ih[:H], b[0, H : 2 * H])
    np.testing.assert_array_equal(b_hh[H : 2 * H], b[1, :H])


@pytest.mark.parametrize("kind", KINDS)
def test_keras_reference_agrees_with_torch_through_the_documented_mapping(kind):
    """Validates the NumPy Keras reference itself (and, through it, to_keras)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(23)
    tm = torch_module(torch, kind, rng)
    sd = {k: v.numpy() for k, v in tm.state_dict().items()}
    kw = torch_to_keras_by_hand(kind, sd)
    x = inputs(kind, rng)
    act = kind[4:] if kind.startswith("rnn") else "tanh"
    np.testing.assert_allclose(
        keras_forward(kind, kw, x, act), torch_forward(torch, kind, tm, x), rtol=RTOL, atol=ATOL
    )
    _, layer = fastnn_layer(kind, True)
    convert.from_torch(layer, tm)
    for a, b in zip(convert.to_keras(layer), kw):
        np.testing.assert_allclose(a, b, rtol=1e-15, atol=0)


def test_from_keras_layer_object_and_its_settings():
    rng = np.random.default_rng(24)
    kw = keras_weights("gru", rng)
    m, layer = fastnn_layer("gru", True)
    x = inputs("gru", rng)
    convert.from_keras(
        layer,
        fake_keras(
            "GRU",
            kw,
            reset_after=True,
            activation="tanh",
            recurrent_activation="sigmoid",
            use_bias=True,
        ),
    )
    np.testing.assert_allclose(m.predict(x), keras_forward("gru", kw, x), rtol=RTOL, atol=ATOL)
    before = m.get_weights()
    with pytest.raises(ValueError, match="reset_after=True.*Received: reset_after=False"):
        convert.from_keras(layer, fake_keras("GRU", kw, reset_after=False))
    with pytest.raises(ValueError, match="recurrent_activation='sigmoid'.*'hard_sigmoid'"):
        convert.from_keras(layer, fake_keras("GRU", kw, recurrent_activation="hard_sigmoid"))
    with pytest.raises(TypeError, match="Keras GRU layer.*Received: LSTM"):
        convert.from_keras(layer, fake_keras("LSTM", kw))
    _, rnn = fastnn_layer("rnn_relu", True)
    with pytest.raises(ValueError, match="activation='relu'.*Received: activation='tanh'"):
        convert.from_keras(
            rnn, fake_keras("SimpleRNN", keras_weights("rnn_relu", rng), activation="tanh")
        )
    _, dense = fastnn_layer("dense")
    with pytest.raises(ValueError, match="activation='linear'.*'softmax'"):
        convert.from_keras(
            dense, fake_keras("Dense", keras_weights("dense", rng), activation="softmax")
        )
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_from_keras_shape_and_count_errors():
    rng = np.random.default_rng(25)
    m, layer = fastnn_layer("gru", True)
    before = m.get_weights()
    K, U, b = keras_weights("gru", rng)
    with pytest.raises(ValueError, match=r"bias of shape \(2, 18\).*reset_after=False"):
        convert.from_keras(layer, [K, U, b[0]])
    with pytest.raises(ValueError, match=r"kernel\) of shape \(4, 18\).*Received: .*\(5, 18\)"):
        convert.from_keras(layer, [np.zeros((5, 3 * H)), U, b])
    with pytest.raises(ValueError, match=r"recurrent_kernel\) of shape \(6, 18\)"):
        convert.from_keras(layer, [K, U[:, :12], b])
    with pytest.raises(ValueError, match="2 or 3 arrays.*Received: 4"):
        convert.from_keras(layer, [K, U, b, b])
    with pytest.raises(TypeError, match="list of arrays"):
        convert.from_keras(layer, K)
    with pytest.raises(ValueError, match="finite"):
        convert.from_keras(layer, [K, U, np.full_like(b, np.nan)])
    for a, bb in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, bb)
    # a list without bias loads zero biases
    convert.from_keras(layer, [K, U])
    assert np.all(layer.weights[2] == 0) and np.all(layer.weights[3] == 0)
    _, lstm_nb = fastnn_layer("lstm", use_bias=False)
    kl = keras_weights("lstm", rng)
    with pytest.raises(ValueError, match="use_bias=False.*Received: 3 arrays"):
        convert.from_keras(lstm_nb, kl)
    convert.from_keras(lstm_nb, kl[:2])
    assert len(convert.to_keras(lstm_nb)) == 2


# ---------------------------------------------------------------------------- errors
def test_wrong_layer_type_pairs():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(31)
    _, dense = fastnn_layer("dense")
    _, lstm = fastnn_layer("lstm")
    _, gru = fastnn_layer("gru")
    with pytest.raises(TypeError, match=r"nn.Linear for the fastnn Dense.*Received: LSTM"):
        convert.from_torch(dense, torch_module(torch, "lstm", rng))
    with pytest.raises(TypeError, match=r"nn.GRU for the fastnn GRU.*Received: LSTM"):
        convert.from_torch(gru, torch_module(torch, "lstm", rng))
    with pytest.raises(TypeError, match=r"nn.LSTM .*Received: Conv1d"):
        convert.from_torch(lstm, torch.nn.Conv1d(F, H, 1))
    with pytest.raises(TypeError, match="Dense, SimpleRNN, LSTM or GRU layer. Received: Dropout"):
        convert.to_torch(Dropout(0.1))
    m = fastnn.Sequential([Dense(2, input_shape=(F,))])
    with pytest.raises(TypeError, match="model_from_torch"):
        convert.from_torch(m, torch.nn.Linear(F, 2))
    with pytest.raises(TypeError, match="module or its state_dict"):
        convert.from_torch(lstm, [1, 2, 3])
    # a state dict of the wrong kind fails on its shapes
    gru_sd = torch_module(torch, "gru", rng).state_dict()
    with pytest.raises(
        ValueError,
        match=r"weight_ih_l0 of shape \(24, 4\) \(4\*units, "
        r"features\).*Received: weight_ih_l0.shape=\(18, 4\)",
    ):
        convert.from_torch(lstm, gru_sd)
    with pytest.raises(ValueError, match="state_dict of an nn.Linear"):
        convert.from_torch(dense, gru_sd)
    with pytest.raises(ValueError, match="weight_ih_l0, weight_hh_l0"):
        convert.from_torch(lstm, torch.nn.Linear(F, H).state_dict())


def test_shape_mismatches():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    _, dense = fastnn_layer("dense")
    with pytest.raises(
        ValueError,
        match=r"weight of shape \(6, 4\).*Received: "
        r"weight.shape=\(6, 5\)",
    ):
        convert.from_torch(dense, nn.Linear(5, H))
    _, lstm = fastnn_layer("lstm")
    with pytest.raises(
        ValueError, match="input_size=4 and hidden_size=6.*input_size=4, hidden_size=7"
    ):
        convert.from_torch(lstm, nn.LSTM(F, 7))
    sd = {k: v.clone() for k, v in nn.LSTM(F, H).state_dict().items()}
    sd["bias_hh_l0"] = sd["bias_hh_l0"][:-1]
    with pytest.raises(ValueError, match=r"bias_hh_l0 of shape \(24,\)"):
        convert.from_torch(lstm, sd)
    del sd["bias_hh_l0"]
    with pytest.raises(ValueError, match="both bias_ih_l0 and bias_hh_l0 or neither"):
        convert.from_torch(lstm, sd)
    sd = dict(nn.LSTM(F, H).state_dict(), extra=torch.zeros(1))
    with pytest.raises(ValueError, match="Received keys: .*'extra'"):
        convert.from_torch(lstm, sd)


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_multilayer_bidirectional_and_projection_modules_are_refused(kind):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(32)
    m, layer = fastnn_layer(kind)
    before = m.get_weights()
    deep = torch_module(torch, kind, rng, num_layers=2)
    with pytest.raises(ValueError, match="num_layers=1.*Received: num_layers=2"):
        convert.from_torch(layer, deep)
    with pytest.raises(ValueError, match="single-layer.*2 layers"):
        convert.from_torch(layer, deep.state_dict())
    bi = torch_module(torch, kind, rng, bidirectional=True)
    with pytest.raises(ValueError, match="bidirectional=False.*Received: bidirectional=True"):
        convert.from_torch(layer, bi)
    with pytest.raises(ValueError, match="unidirectional.*bidirectional"):
        convert.from_torch(layer, bi.state_dict())
    if kind == "lstm":
        proj = torch_module(torch, kind, rng, proj_size=2)
        with pytest.raises(ValueError, match="proj_size=0.*Received: proj_size=2"):
            convert.from_torch(layer, proj)
        with pytest.raises(ValueError, match="weight_hr_l0"):
            convert.from_torch(layer, proj.state_dict())
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_nonlinearity_and_bias_settings_must_match():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(33)
    _, tanh_rnn = fastnn_layer("rnn_tanh")
    with pytest.raises(ValueError, match="nonlinearity='tanh'.*Received: nonlinearity='relu'"):
        convert.from_torch(tanh_rnn, torch_module(torch, "rnn_relu", rng))
    _, nobias = fastnn_layer("gru", use_bias=False)
    with pytest.raises(ValueError, match="use_bias=False"):
        convert.from_torch(nobias, torch_module(torch, "gru", rng))
    # batch_first does not matter for weights
    tm = torch_module(torch, "lstm", rng)
    tm2 = torch.nn.LSTM(F, H, batch_first=False, dtype=torch.float64)
    tm2.load_state_dict(tm.state_dict())
    m, layer = fastnn_layer("lstm", True)
    convert.from_torch(layer, tm2)
    x = inputs("lstm", rng)
    np.testing.assert_allclose(
        m.predict(x), torch_forward(torch, "lstm", tm, x), rtol=RTOL, atol=ATOL
    )


def test_errors_without_torch_unbuilt_non_finite_and_overflow():
    rng = np.random.default_rng(34)
    with pytest.raises(ValueError, match="built layer.*model.build"):
        convert.from_torch(LSTM(H), {})
    with pytest.raises(ValueError, match="built layer"):
        convert.to_keras(GRU(H))
    m, layer = fastnn_layer("lstm", dtype="float32")
    before = m.get_weights()
    sd = {
        "weight_ih_l0": rng.standard_normal((4 * H, F)),
        "weight_hh_l0": rng.standard_normal((4 * H, H)),
        "bias_ih_l0": np.zeros(4 * H),
        "bias_hh_l0": np.zeros(4 * H),
    }
    bad = dict(sd, weight_hh_l0=np.where(np.eye(4 * H, H) > 0, np.inf, 0.0))
    with pytest.raises(ValueError, match=r"finite values in weight_hh_l0.*inf at index \(0, 0\)"):
        convert.from_torch(layer, bad)
    big = dict(sd, bias_ih_l0=np.full(4 * H, 1e300))
    with pytest.raises(ValueError, match="finite values in .*bias \\(in the layer dtype float32"):
        convert.from_torch(layer, big)
    with pytest.raises(TypeError, match="real number dtype"):
        convert.from_torch(layer, dict(sd, bias_ih_l0=np.array(["a"] * 4 * H)))
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)
    # a NumPy state dict works without torch; to_torch round-trips it
    convert.from_torch(layer, sd)
    d = convert.to_torch(layer)
    assert d["weight_ih_l0"].dtype == np.float32
    np.testing.assert_allclose(d["weight_ih_l0"], sd["weight_ih_l0"], rtol=1e-6)


@pytest.mark.slow
def test_importing_and_numpy_conversions_do_not_import_torch():
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    code = (
        "import sys, numpy as np, fastnn\n"
        "from fastnn import convert\n"
        "assert 'torch' not in sys.modules\n"
        "m = fastnn.Sequential([fastnn.layers.GRU(2, input_shape=(3, 1))]); m.build()\n"
        "l = m.layers[0]\n"
        "convert.from_torch(l, convert.to_torch(l))\n"
        "convert.from_keras(l, convert.to_keras(l))\n"
        "assert 'torch' not in sys.modules\n"
        "print('ok')\n"
    )
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=os.path.dirname(root) if os.path.isdir(os.path.dirname(root)) else None,
    )
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
