"""Bidirectional: the merge kernels and the op against their NumPy twins, both directions at
once against one after the other, PyTorch's nn.LSTM/GRU(bidirectional=True) (also packed),
float64 central differences, Keras' golden numbers, and the layer's API."""

import numpy as np
import pytest
from helpers import DTYPES, numeric_grad, train_on_both_backends

import fastnn
from fastnn import initializers
from fastnn.backend.compiled import bidirectional as c_bi
from fastnn.backend.compiled import recurrent as c_rec
from fastnn.backend.reference import bidirectional as r_bi
from fastnn.backend.reference import recurrent as r_rec
from fastnn.layers import GRU, LSTM, Bidirectional, Dense, Embedding, SimpleRNN

MODES = ["concat", "sum", "mul", "ave"]
GATES = {"rnn_tanh": 1, "lstm": 4, "gru": 3}
TOL32 = dict(rtol=1e-4, atol=2e-5)
TOL64 = dict(rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("flip", [False, True])
def test_merge_kernels_match_twin_and_formula(dt, mode, flip):
    rng = np.random.default_rng(1)
    (
        yf,
        yb,
    ) = (rng.standard_normal((3, 5, 4)).astype(dt) for _ in range(2))
    out = c_bi.merge_forward(yf, yb, mode, flip)
    np.testing.assert_array_equal(out, r_bi.merge_forward(yf, yb, mode, flip))
    b = yb[:, ::-1] if flip else yb
    want = {
        "concat": np.concatenate([yf, b], -1),
        "sum": yf + b,
        "mul": yf * b,
        "ave": (yf + b) / 2,
    }[mode]
    np.testing.assert_allclose(out, want, rtol=1e-6)
    dy = rng.standard_normal(out.shape).astype(dt)
    for a, c in zip(
        c_bi.merge_backward(dy, yf, yb, mode, flip), r_bi.merge_backward(dy, yf, yb, mode, flip)
    ):
        np.testing.assert_array_equal(a, c)
    with pytest.raises(ValueError, match="merge_mode"):
        c_bi.merge_forward(yf, yb, "max", flip)


def _params(rng, kind, F, H, dt):
    k = GATES[kind]
    W = rng.standard_normal((F, k * H)) / np.sqrt(F)
    U = 0.5 * rng.standard_normal((H, k * H)) / np.sqrt(H)
    biases = [rng.standard_normal(k * H) * 0.5 for _ in range(2 if kind == "gru" else 1)]
    return [a.astype(dt) for a in (W, U, *biases)]


def _rnn_op(mod, kind, params, T, rs, gb):
    grads = [np.zeros_like(p) for p in params]
    if kind == "gru":
        op = mod.GRUOp(*params, *grads, T, rs, True, gb)
    elif kind == "lstm":
        op = mod.LSTMOp(*params, *grads, T, rs, True, gb)
    else:
        op = mod.SimpleRNNOp(*params, *grads, T, "tanh", rs, True, gb)
    op.zero_output = rs  # as the layer sets it
    return op, grads


def _bi_op(rec, bi, kind, pf, pb, T, rs, mode, mask=None):
    f, gf = _rnn_op(rec, kind, [p.copy() for p in pf], T, rs, False)
    b, gb = _rnn_op(rec, kind, [p.copy() for p in pb], T, rs, True)
    f.set_input_mask(mask)
    b.set_input_mask(mask)
    return bi.BidirectionalOp(f, b, mode), gf + gb


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
@pytest.mark.parametrize("rs", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_op_matches_twin_with_and_without_threads(dt, kind, rs, mode, split):
    rng = np.random.default_rng(2)
    n, T, F, H = 6, 7, 3, 5
    pf, pb = _params(rng, kind, F, H, dt), _params(rng, kind, F, H, dt)
    x = rng.standard_normal((n, T, F)).astype(dt)
    mask = rng.random((n, T)) > 0.3
    results = []
    for rec, bi, together in ((c_rec, c_bi, True), (c_rec, c_bi, False), (r_rec, r_bi, True)):
        op, grads = _bi_op(rec, bi, kind, pf, pb, T, rs, mode, mask)
        op.together = together
        y = op.py_forward(x)
        dy = np.random.default_rng(3).standard_normal(y.shape).astype(dt)
        dx = op.py_backward(dy)
        results.append([y, dx, *grads])
    tol = TOL32 if dt == np.float32 else TOL64
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(a, b, **tol)


@pytest.mark.parametrize("mode", ["concat", "mul"])
def test_op_gradients_match_central_differences(mode):
    rng = np.random.default_rng(4)
    n, T, F, H = 2, 4, 2, 3
    pf, pb = _params(rng, "lstm", F, H, np.float64), _params(rng, "lstm", F, H, np.float64)
    x = rng.standard_normal((n, T, F))
    mask = np.array([[1, 1, 0, 1], [0, 1, 1, 1]], bool)

    def loss():
        op, _ = _bi_op(r_rec, r_bi, "lstm", pf, pb, T, True, mode, mask)
        return float((op.py_forward(x) * R).sum())

    op, grads = _bi_op(r_rec, r_bi, "lstm", pf, pb, T, True, mode, mask)
    R = rng.standard_normal((n, op.out_size))
    op.py_forward(x)
    dx = op.py_backward(R)
    np.testing.assert_allclose(dx.reshape(x.shape), numeric_grad(loss, x), rtol=1e-6, atol=1e-8)
    for p, g in zip(pf + pb, grads):
        np.testing.assert_allclose(g, numeric_grad(loss, p), rtol=1e-6, atol=1e-8)


def _torch_bi(torch, kind, F, H, rng):
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn_tanh": torch.nn.RNN}[kind]
    m = cls(F, H, batch_first=True, bidirectional=True, dtype=torch.float64)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)) * 0.5))
    return m


def _from_torch(m, kind, sfx):
    W = np.ascontiguousarray(getattr(m, "weight_ih_l0" + sfx).detach().numpy().T)
    U = np.ascontiguousarray(getattr(m, "weight_hh_l0" + sfx).detach().numpy().T)
    b_ih = getattr(m, "bias_ih_l0" + sfx).detach().numpy().copy()
    b_hh = getattr(m, "bias_hh_l0" + sfx).detach().numpy().copy()
    return [W, U, b_ih, b_hh] if kind == "gru" else [W, U, b_ih + b_hh]


@pytest.mark.parametrize("mod", [(c_rec, c_bi), (r_rec, r_bi)], ids=["compiled", "numpy"])
@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh"])
@pytest.mark.parametrize("packed", [False, True])
def test_matches_pytorch_bidirectional(mod, kind, packed):
    """The concat sequence output and every gradient against nn.LSTM/GRU/RNN(
    bidirectional=True) in float64 (rtol 1e-10); packed: right-padded sequences through
    pack_padded_sequence against a mask (padding outputs zero on both sides)."""
    torch = pytest.importorskip("torch")
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    rng = np.random.default_rng(5)
    n, T, F, H = 5, 6, 3, 4
    m = _torch_bi(torch, kind, F, H, rng)
    x = rng.standard_normal((n, T, F))
    lengths = np.array([6, 2, 4, 1, 6]) if packed else np.full(n, T)
    mask = np.arange(T)[None, :] < lengths[:, None]
    S = rng.standard_normal((n, T, 2 * H))
    xt = torch.tensor(x, requires_grad=True)
    if packed:
        p = pack_padded_sequence(
            xt, torch.from_numpy(lengths), batch_first=True, enforce_sorted=False
        )
        out, _ = m(p)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
    else:
        out, _ = m(xt)
    (out * torch.from_numpy(S)).sum().backward()

    rec, bi = mod
    op, grads = _bi_op(
        rec,
        bi,
        kind,
        _from_torch(m, kind, ""),
        _from_torch(m, kind, "_reverse"),
        T,
        True,
        "concat",
        mask if packed else None,
    )
    y = op.py_forward(x).reshape(n, T, 2 * H)
    dx = op.py_backward(S.reshape(n, -1)).reshape(x.shape)
    tol = dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y, out.detach().numpy(), **tol, err_msg="output")
    np.testing.assert_allclose(dx, xt.grad.numpy(), **tol, err_msg="dx")
    k = len(grads) // 2
    for half, sfx in ((grads[:k], ""), (grads[k:], "_reverse")):
        np.testing.assert_allclose(half[0], getattr(m, "weight_ih_l0" + sfx).grad.numpy().T, **tol)
        np.testing.assert_allclose(half[1], getattr(m, "weight_hh_l0" + sfx).grad.numpy().T, **tol)
        np.testing.assert_allclose(half[2], getattr(m, "bias_ih_l0" + sfx).grad.numpy(), **tol)


# ---- Keras' golden numbers (keras/src/layers/rnn/bidirectional_test.py, Keras 3.15) --------

_CONST = dict(
    kernel_initializer=initializers.Constant(0.01),
    recurrent_initializer=initializers.Constant(0.02),
    bias_initializer=initializers.Constant(0.03),
)
_GOLD = dict(atol=1e-5, rtol=1e-5)


def test_keras_correctness_golden_numbers():
    # SimpleRNNTest.test_correctness
    seq = np.arange(24).reshape((2, 3, 4)).astype("float32")
    fwd = SimpleRNN(2, **_CONST)
    out = Bidirectional(layer=fwd)(seq)
    np.testing.assert_allclose(
        out,
        [
            [0.39687276, 0.39687276, 0.10004295, 0.10004295],
            [0.7237238, 0.7237238, 0.53391594, 0.53391594],
        ],
        **_GOLD,
    )
    out = Bidirectional(layer=fwd, merge_mode="ave")(seq)
    np.testing.assert_allclose(out, [[0.24845785] * 2, [0.6288199] * 2], **_GOLD)
    back = SimpleRNN(
        2,
        go_backwards=True,
        kernel_initializer=initializers.Constant(0.03),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.01),
    )
    out = Bidirectional(layer=fwd, backward_layer=back, merge_mode="mul")(seq)
    np.testing.assert_allclose(out, [[0.08374989] * 2, [0.6740834] * 2], **_GOLD)
    out = Bidirectional(GRU(2, return_sequences=True, **_CONST), merge_mode="sum")(seq)
    np.testing.assert_allclose(
        out,
        [
            [[0.20937867] * 2, [0.34462988] * 2, [0.40290534] * 2],
            [[0.59829646] * 2, [0.6734641] * 2, [0.6479671] * 2],
        ],
        **_GOLD,
    )


def test_keras_statefulness_initial_state_masking_and_return_state_golden_numbers():
    seq = np.arange(24).reshape((2, 4, 3)).astype("float32")
    # test_statefulness
    layer = Bidirectional(LSTM(2, stateful=True, **_CONST))
    layer(seq)
    want = [
        [0.26234663, 0.26234663, 0.16959146, 0.16959146],
        [0.6137073, 0.6137073, 0.5381646, 0.5381646],
    ]
    np.testing.assert_allclose(layer(seq), want, **_GOLD)
    layer.reset_state()
    layer(seq)
    np.testing.assert_allclose(layer(seq), want, **_GOLD)
    # test_pass_initial_state
    init = [np.arange(4).reshape((2, 2)).astype("float32") * k for k in (1, 2, 3, 4)]
    out = Bidirectional(LSTM(2, **_CONST))(seq, initial_state=init)
    np.testing.assert_allclose(
        out,
        [
            [0.20794602, 0.4577124, 0.14046375, 0.48191673],
            [0.6682636, 0.6711909, 0.60943645, 0.60950446],
        ],
        **_GOLD,
    )
    # test_masking
    mask = np.array([[True, True, False, True], [True, False, False, True]])
    out = Bidirectional(GRU(2, **_CONST))(seq, mask=mask)
    np.testing.assert_allclose(
        out,
        [
            [0.19393763, 0.19393763, 0.11669192, 0.11669192],
            [0.30818558, 0.30818558, 0.28380975, 0.28380975],
        ],
        **_GOLD,
    )
    # test_return_state
    out, h1, c1, h2, c2 = Bidirectional(LSTM(2, return_state=True, **_CONST))(seq)
    np.testing.assert_allclose(
        out,
        [
            [0.1990008, 0.1990008, 0.12659755, 0.12659755],
            [0.52335435, 0.52335435, 0.44717982, 0.44717982],
        ],
        **_GOLD,
    )
    np.testing.assert_allclose(h1, out[:, :2], **_GOLD)
    np.testing.assert_allclose(h2, out[:, 2:], **_GOLD)


# ---- the layer ----------------------------------------------------------------------------


def test_layer_in_a_model_matches_direct_calls_and_round_trips(tmp_path, backend):
    rng = np.random.default_rng(6)
    T, vocab = 8, 20
    x = rng.integers(1, vocab, (10, T)).astype(float)
    x[:4, 5:] = 0  # padding
    fastnn.utils.set_random_seed(4)
    model = fastnn.Sequential(
        [
            fastnn.Input((T,)),
            Embedding(vocab, 5, mask_zero=True),
            Bidirectional(LSTM(4, return_sequences=True), merge_mode="sum"),
            Bidirectional(GRU(3)),
            Dense(1),
        ],
        dtype="float64",
    )
    got = model.predict(x, verbose=0)
    assert [layer.name.split("_")[0] for layer in model.layers] == [
        "embedding",
        "bidirectional",
        "bidirectional",
        "dense",
    ]
    bi = model.layers[1]
    assert bi.forward_layer.name.startswith("forward_lstm")
    assert bi.backward_layer.name.startswith("backward_lstm") and bi.backward_layer.go_backwards
    assert bi.count_params() == 2 * (5 * 16 + 4 * 16 + 16)
    # the same through direct calls, each direction masked
    e = model.layers[0].get_weights()[0][x.astype(int)]
    h = bi(e, mask=x != 0)
    h = model.layers[2](h, mask=x != 0)
    W, b = model.layers[3].get_weights()
    np.testing.assert_allclose(got, h @ W + b, rtol=1e-10)
    # saving
    path = tmp_path / "bi.fastnn"
    model.save(path)
    again = fastnn.load_model(path)
    np.testing.assert_allclose(again.predict(x, verbose=0), got, rtol=1e-12)
    assert again.layers[1].merge_mode == "sum"


def test_trains_the_same_on_both_backends():
    rng = np.random.default_rng(7)
    T, vocab = 6, 15
    x = rng.integers(1, vocab, (12, T)).astype(float)
    x[::3, 4:] = 0
    a, b = train_on_both_backends(
        lambda: [
            fastnn.Input((T,)),
            Embedding(vocab, 4, mask_zero=True),
            Bidirectional(LSTM(3)),
            Dense(1),
        ],
        x,
        rng.standard_normal((12, 1)),
        seed=5,
        epochs=2,
        batch_size=4,
    )
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-10, atol=1e-12)


def test_padding_side_does_not_matter(backend):
    rng = np.random.default_rng(8)
    T, vocab, n = 9, 25, 8
    lengths = rng.integers(1, T + 1, n)
    post, pre = np.zeros((n, T)), np.zeros((n, T))
    for i, length in enumerate(lengths):
        toks = rng.integers(1, vocab, length)
        post[i, :length], pre[i, T - length :] = toks, toks
    model = fastnn.Sequential(
        [fastnn.Input((T,)), Embedding(vocab, 4, mask_zero=True), Bidirectional(GRU(5)), Dense(2)],
        dtype="float64",
    )
    np.testing.assert_allclose(
        model.predict(post, verbose=0), model.predict(pre, verbose=0), rtol=1e-12, atol=1e-13
    )


def test_arguments_are_checked_like_keras():
    with pytest.raises(ValueError, match="recurrent layer"):
        Bidirectional(Dense(3))
    with pytest.raises(ValueError, match="Invalid merge mode"):
        Bidirectional(LSTM(3), merge_mode="max")
    with pytest.raises(NotImplementedError, match="merge_mode=None"):
        Bidirectional(LSTM(3), merge_mode=None)
    with pytest.raises(ValueError, match="different `go_backwards`"):
        Bidirectional(LSTM(3), backward_layer=LSTM(3))
    with pytest.raises(ValueError, match='attribute "return_sequences"'):
        Bidirectional(LSTM(3), backward_layer=LSTM(3, go_backwards=True, return_sequences=True))
    layer = Bidirectional(LSTM(3, input_shape=(4, 2)))
    assert layer.input_shape_arg == (4, 2)
    cfg = layer.get_config()
    again = Bidirectional.from_config(cfg)
    assert again.forward_layer.units == 3 and again.backward_layer.go_backwards


def test_initial_weights_are_split_between_the_directions():
    T, F, H = 3, 2, 2
    weights = [
        np.full((F, 4 * H), 0.1),
        np.full((H, 4 * H), 0.2),
        np.zeros(4 * H),
        np.full((F, 4 * H), 0.3),
        np.full((H, 4 * H), 0.4),
        np.ones(4 * H),
    ]
    model = fastnn.Sequential([fastnn.Input((T, F)), Bidirectional(LSTM(H), weights=weights)])
    model.predict(np.ones((1, T, F)), verbose=0)
    for got, want in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(got, want.astype(np.float32))
    with pytest.raises(ValueError, match="expected 6 initial weights"):
        bad = fastnn.Sequential([fastnn.Input((T, F)), Bidirectional(LSTM(H), weights=weights[:2])])
        bad.predict(np.ones((1, T, F)), verbose=0)


@pytest.mark.parametrize("mod", [c_rec, r_rec], ids=["compiled", "numpy"])
def test_stacked_lstms_match_pytorch_num_layers_2(mod):
    """Two LSTM ops chained (return_sequences into the second), forward and backward,
    against nn.LSTM(num_layers=2) in float64 (rtol 1e-10): outputs, dx, every weight."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    n, T, F, H = 4, 6, 3, 5
    m = torch.nn.LSTM(F, H, num_layers=2, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)) * 0.5))
    x = rng.standard_normal((n, T, F))
    S = rng.standard_normal((n, T, H))
    xt = torch.tensor(x, requires_grad=True)
    out, _ = m(xt)
    (out * torch.from_numpy(S)).sum().backward()
    ops, grads = [], []
    for layer in ("l0", "l1"):
        W = np.ascontiguousarray(getattr(m, f"weight_ih_{layer}").detach().numpy().T)
        U = np.ascontiguousarray(getattr(m, f"weight_hh_{layer}").detach().numpy().T)
        b = (getattr(m, f"bias_ih_{layer}") + getattr(m, f"bias_hh_{layer}")).detach().numpy()
        op, g = _rnn_op(mod, "lstm", [W, U, b.copy()], T, True, False)
        ops.append(op)
        grads.append(g)
    h = ops[1].py_forward(ops[0].py_forward(x).reshape(n, T, H)).reshape(n, T, H)
    d1 = ops[1].py_backward(S.reshape(n, -1))
    dx = ops[0].py_backward(d1).reshape(x.shape)
    tol = dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h, out.detach().numpy(), **tol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **tol)
    for layer, g in zip(("l0", "l1"), grads):
        np.testing.assert_allclose(g[0], getattr(m, f"weight_ih_{layer}").grad.numpy().T, **tol)
        np.testing.assert_allclose(g[1], getattr(m, f"weight_hh_{layer}").grad.numpy().T, **tol)
        np.testing.assert_allclose(g[2], getattr(m, f"bias_ih_{layer}").grad.numpy(), **tol)
