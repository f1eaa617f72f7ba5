"""Masking (Keras semantics): the masked recurrent time loops against their NumPy twin,
float64 central differences and PyTorch's pack_padded_sequence; padding on either side;
Keras' golden numbers; and the layers that make (Embedding(mask_zero=True), Masking),
pass on (Dense, Dropout, return_sequences) and consume (RNNs, average pooling) masks."""

import warnings

import numpy as np
import pytest
from helpers import DTYPES, numeric_grad, train_on_both_backends

import fastnn
from fastnn import initializers
from fastnn.backend.compiled import recurrent as c_rec
from fastnn.backend.compiled import sequence as c_seq
from fastnn.backend.reference import recurrent as r_rec
from fastnn.backend.reference import sequence as r_seq
from fastnn.layers import (
    GRU,
    LSTM,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    Masking,
    SimpleRNN,
)

KINDS = ["rnn_tanh", "lstm", "gru"]
GATES = {"rnn_tanh": 1, "lstm": 4, "gru": 3}
TOL32 = dict(rtol=1e-4, atol=2e-5)


def _params(rng, kind, F, H, dt=np.float64):
    k = GATES[kind]
    W = rng.standard_normal((F, k * H)) / np.sqrt(F)
    U = 0.5 * rng.standard_normal((H, k * H)) / np.sqrt(H)
    biases = [rng.standard_normal(k * H) * 0.5 for _ in range(2 if kind == "gru" else 1)]
    return [a.astype(dt) for a in (W, U, *biases)]


def _op(mod, kind, params, T, return_sequences, go_backwards=False, zero=False):
    """An op over copies of params, and its gradient arrays (dW, dU, db[, db_hh])."""
    params = [p.copy() for p in params]
    grads = [np.zeros_like(p) for p in params]
    if kind == "gru":
        op = mod.GRUOp(*params, *grads, T, return_sequences, True, go_backwards)
    elif kind == "lstm":
        op = mod.LSTMOp(*params, *grads, T, return_sequences, True, go_backwards)
    else:
        op = mod.SimpleRNNOp(*params, *grads, T, "tanh", return_sequences, True, go_backwards)
    op.zero_output = zero
    return op, grads


def _run(mod, kind, params, x, mask, rs, gb=False, zero=False, h0=None, c0=None, seed=7):
    """Forward and backward of one masked call: a dict of named results."""
    n, T, _ = x.shape
    H = params[1].shape[0]
    op, grads = _op(mod, kind, params, T, rs, gb, zero)
    op.set_input_mask(mask)
    if h0 is not None:
        op.set_initial_state(h0, c0)
    y = op.py_forward(x)
    r = np.random.default_rng(seed)
    dhs = r.standard_normal((n, T, H)).astype(x.dtype)
    dh_last = r.standard_normal((n, H)).astype(x.dtype)
    dc_last = r.standard_normal((n, H)).astype(x.dtype) if kind == "lstm" else None
    dx = op.py_backward_full(dhs, dh_last, dc_last)
    out = {"y": y, "dx": dx, "final": op.final_state(), "d0": op.initial_state_grad()}
    out.update({f"g{i}": g for i, g in enumerate(grads)})
    return out


def _mask(rng, n, T):
    m = rng.random((n, T)) > 0.4
    m[0] = False  # a row with every step masked
    m[1, :2] = False  # leading masked steps (left padding)
    m[2, -3:] = False  # trailing masked steps (right padding)
    return m


# ---- compiled against the twin ----------------------------------------------------------


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "rs, gb, zero",
    [
        (False, False, False),
        (True, False, False),
        (True, True, True),
        (False, True, False),
        (True, False, True),
    ],
)
def test_masked_loops_match_the_twin(dt, kind, rs, gb, zero, split):
    rng = np.random.default_rng(3)
    n, T, F, H = 9, 8, 5, 6
    params = _params(rng, kind, F, H, dt)
    x = rng.standard_normal((n, T, F)).astype(dt)
    h0 = rng.standard_normal((n, H)).astype(dt)
    c0 = rng.standard_normal((n, H)).astype(dt) if kind == "lstm" else None
    m = _mask(rng, n, T)
    a = _run(c_rec, kind, params, x, m, rs, gb, zero, h0, c0)
    b = _run(r_rec, kind, params, x, m, rs, gb, zero, h0, c0)
    tol = TOL32 if dt == np.float32 else dict(rtol=1e-11, atol=1e-12)
    for k in a:
        pairs = zip(a[k], b[k]) if k in ("final", "d0") else [(a[k], b[k])]  # state tuples
        for u, v in pairs:
            np.testing.assert_allclose(u, v, **tol, err_msg=k)


def test_a_fully_masked_row_keeps_its_initial_state_and_passes_its_gradient():
    rng = np.random.default_rng(4)
    n, T, F, H = 3, 5, 2, 4
    params = _params(rng, "lstm", F, H)
    x = rng.standard_normal((n, T, F))
    h0, c0 = rng.standard_normal((n, H)), rng.standard_normal((n, H))
    m = np.ones((n, T), bool)
    m[1] = False
    for mod in (c_rec, r_rec):
        op, grads = _op(mod, "lstm", params, T, True)
        op.set_input_mask(m)
        op.set_initial_state(h0, c0)
        y = op.py_forward(x).reshape(n, T, H)
        h, c = op.final_state()
        np.testing.assert_array_equal(h[1], h0[1])
        np.testing.assert_array_equal(c[1], c0[1])
        np.testing.assert_array_equal(y[1], np.broadcast_to(h0[1], (T, H)))  # carried outputs
        dhs = rng.standard_normal((n, T, H))
        dh, dc = rng.standard_normal((n, H)), rng.standard_normal((n, H))
        dx = op.py_backward_full(dhs, dh, dc)
        dh0, dc0 = op.initial_state_grad()
        np.testing.assert_allclose(dh0[1], dh[1] + dhs[1].sum(axis=0), rtol=1e-12)
        np.testing.assert_allclose(dc0[1], dc[1], rtol=1e-12)
        np.testing.assert_array_equal(dx[1], 0)


# ---- float64 central differences ---------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "rs, gb, zero", [(False, False, False), (True, True, False), (True, False, True)]
)
def test_masked_gradients_match_central_differences(kind, rs, gb, zero):
    rng = np.random.default_rng(5)
    n, T, F, H = 3, 5, 2, 3
    params = _params(rng, kind, F, H)
    x = rng.standard_normal((n, T, F))
    h0 = rng.standard_normal((n, H))
    m = np.array([[1, 1, 0, 1, 0], [0, 0, 1, 1, 1], [1, 1, 1, 0, 0]], bool)
    R = rng.standard_normal((n, T * H if rs else H))

    def loss():
        op, _ = _op(r_rec, kind, params, T, rs, gb, zero)
        op.set_input_mask(m)
        op.set_initial_state(h0)
        return float((op.py_forward(x) * R).sum())

    op, grads = _op(r_rec, kind, params, T, rs, gb, zero)
    op.set_input_mask(m)
    op.set_initial_state(h0)
    op.py_forward(x)
    dx = op.py_backward(R)
    (dh0, *_) = op.initial_state_grad()
    for name, arr, got in [("x", x, dx.reshape(x.shape)), ("h0", h0, dh0)] + [
        (f"param {i}", p, g) for i, (p, g) in enumerate(zip(params, grads))
    ]:
        np.testing.assert_allclose(got, numeric_grad(loss, arr), rtol=1e-6, atol=1e-8, err_msg=name)


# ---- PyTorch: pack_padded_sequence --------------------------------------------------------


@pytest.mark.parametrize("mod", [c_rec, r_rec])
@pytest.mark.parametrize("kind", KINDS)
def test_right_padded_matches_pytorch_pack_padded_sequence(mod, kind):
    """Final states and every gradient against torch's packed sequences (float64, rtol
    1e-10); with zero_output_for_mask=True the sequence output equals pad_packed_sequence's
    (zeros at the padding)."""
    torch = pytest.importorskip("torch")
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    rng = np.random.default_rng(6)
    n, T, F, H = 6, 9, 4, 5
    k = GATES[kind]
    lengths = np.array([9, 3, 1, 7, 9, 5])
    if kind == "lstm":
        m = torch.nn.LSTM(F, H, batch_first=True, dtype=torch.float64)
    elif kind == "gru":
        m = torch.nn.GRU(F, H, batch_first=True, dtype=torch.float64)
    else:
        m = torch.nn.RNN(F, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for p in (m.weight_ih_l0, m.weight_hh_l0):
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)) * 0.5))
        m.bias_ih_l0.copy_(torch.from_numpy(rng.standard_normal(k * H)))
        m.bias_hh_l0.copy_(torch.from_numpy(rng.standard_normal(k * H)))
    x = rng.standard_normal((n, T, F))
    mask = np.arange(T)[None, :] < lengths[:, None]
    x[~mask] = rng.standard_normal(((~mask).sum(), F))  # padding holds junk, not zeros
    h0, c0 = rng.standard_normal((n, H)), rng.standard_normal((n, H))
    R, Q, S = (rng.standard_normal(s) for s in ((n, H), (n, H), (n, T, H)))

    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0[None], requires_grad=True)
    c0t = torch.tensor(c0[None], requires_grad=True)
    packed = pack_padded_sequence(
        xt, torch.from_numpy(lengths), batch_first=True, enforce_sorted=False
    )
    if kind == "lstm":
        out, (hn, cn) = m(packed, (h0t, c0t))
    else:
        out, hn = m(packed, h0t)
    seq, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
    loss = (hn[0] * torch.from_numpy(R)).sum() + (seq * torch.from_numpy(S)).sum()
    if kind == "lstm":
        loss = loss + (cn[0] * torch.from_numpy(Q)).sum()
    loss.backward()

    W = np.ascontiguousarray(m.weight_ih_l0.detach().numpy().T)
    U = np.ascontiguousarray(m.weight_hh_l0.detach().numpy().T)
    b_ih, b_hh = m.bias_ih_l0.detach().numpy().copy(), m.bias_hh_l0.detach().numpy().copy()
    params = [W, U, b_ih, b_hh] if kind == "gru" else [W, U, b_ih + b_hh]
    op, grads = _op(mod, kind, params, T, True, zero=True)
    op.set_input_mask(mask)
    op.set_initial_state(h0, c0 if kind == "lstm" else None)
    y = op.py_forward(x).reshape(n, T, H)
    dx = op.py_backward_full(S, R, Q if kind == "lstm" else None)
    tol = dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y, seq.detach().numpy(), **tol, err_msg="sequence output")
    np.testing.assert_allclose(op.final_state()[0], hn[0].detach().numpy(), **tol, err_msg="h_n")
    np.testing.assert_allclose(dx, xt.grad.numpy(), **tol, err_msg="dx")
    np.testing.assert_allclose(grads[0], m.weight_ih_l0.grad.numpy().T, **tol, err_msg="dW")
    np.testing.assert_allclose(grads[1], m.weight_hh_l0.grad.numpy().T, **tol, err_msg="dU")
    np.testing.assert_allclose(grads[2], m.bias_ih_l0.grad.numpy(), **tol, err_msg="db")
    np.testing.assert_allclose(
        op.initial_state_grad()[0], h0t.grad.numpy()[0], **tol, err_msg="dh0"
    )
    if kind == "lstm":
        np.testing.assert_allclose(op.final_state()[1], cn[0].detach().numpy(), **tol)
        np.testing.assert_allclose(op.initial_state_grad()[1], c0t.grad.numpy()[0], **tol)
    if kind == "gru":
        np.testing.assert_allclose(grads[3], m.bias_hh_l0.grad.numpy(), **tol, err_msg="db_hh")


# ---- padding on either side is the unpadded sequence ----------------------------------------


@pytest.mark.parametrize("mod", [c_rec, r_rec])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("side", ["pre", "post"])
def test_padding_either_side_gives_the_unpadded_result(mod, kind, side):
    rng = np.random.default_rng(8)
    T, F, H = 7, 3, 4
    params = _params(rng, kind, F, H)
    for length in (1, 4, 7):
        seq = rng.standard_normal((1, length, F))
        x = rng.standard_normal((1, T, F))  # junk in the padding
        where = slice(T - length, T) if side == "pre" else slice(0, length)
        x[0, where] = seq[0]
        mask = np.zeros((1, T), bool)
        mask[0, where] = True
        R = rng.standard_normal((1, H))
        op, g_pad = _op(mod, kind, params, T, False)
        op.set_input_mask(mask)
        h_pad = op.py_forward(x)
        dx_pad = op.py_backward(R)
        op1, g_one = _op(mod, kind, params, length, False)
        h_one = op1.py_forward(seq)
        dx_one = op1.py_backward(R)
        np.testing.assert_allclose(h_pad, h_one, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(
            dx_pad.reshape(1, T, F)[0, where], dx_one.reshape(length, F), rtol=1e-12, atol=1e-13
        )
        for a, b in zip(g_pad, g_one):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


# ---- Keras' golden numbers (keras/src/layers/rnn/*_test.py, test_masking) -----------------

_SEQ = np.arange(24).reshape((2, 4, 3)).astype("float32")
_CONST = dict(
    kernel_initializer=initializers.Constant(0.01),
    recurrent_initializer=initializers.Constant(0.02),
    bias_initializer=initializers.Constant(0.03),
)


def test_keras_lstm_masking_golden_numbers():
    # keras/src/layers/rnn/lstm_test.py, LSTMTest.test_masking
    mask = np.array([[True, True, True, False], [True, True, False, False]])
    out = LSTM(2, **_CONST)(_SEQ, mask=mask)
    np.testing.assert_allclose(out, [[0.11755939] * 2, [0.28556206] * 2], atol=1e-5, rtol=1e-5)
    out = LSTM(2, return_sequences=True, **_CONST)(_SEQ, mask=mask)
    np.testing.assert_allclose(
        out[0],
        [[0.01588910] * 2, [0.05552048] * 2, [0.11755939] * 2, [0.11755939] * 2],
        atol=1e-5,
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        out[1],
        [[0.14185596] * 2, [0.28556206] * 2, [0.28556206] * 2, [0.28556206] * 2],
        atol=1e-5,
        rtol=1e-5,
    )
    out = LSTM(2, return_sequences=True, zero_output_for_mask=True, **_CONST)(_SEQ, mask=mask)
    np.testing.assert_allclose(out[0, 3], [0, 0])
    np.testing.assert_allclose(
        out[1], [[0.14185596] * 2, [0.28556206] * 2, [0, 0], [0, 0]], atol=1e-5, rtol=1e-5
    )
    backwards = np.array([[False, True, True, True], [False, False, True, True]])
    out = LSTM(2, go_backwards=True, **_CONST)(_SEQ, mask=backwards)
    np.testing.assert_allclose(out, [[0.15341201] * 2, [0.3844719] * 2], atol=1e-5, rtol=1e-5)


def test_keras_gru_masking_golden_numbers():
    # keras/src/layers/rnn/gru_test.py, GRUTest.test_masking
    mask = np.array([[True, True, False, True], [True, False, False, True]])
    out = GRU(2, **_CONST)(_SEQ, mask=mask)
    np.testing.assert_allclose(out, [[0.19393763] * 2, [0.30818558] * 2], rtol=1e-5, atol=1e-6)
    out = GRU(2, return_sequences=True, **_CONST)(_SEQ, mask=mask)
    np.testing.assert_allclose(
        out[0],
        [[0.03606692] * 2, [0.09497581] * 2, [0.09497581] * 2, [0.19393763] * 2],
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        out[1],
        [[0.16051409] * 2, [0.16051409] * 2, [0.16051409] * 2, [0.30818558] * 2],
        rtol=1e-5,
        atol=1e-6,
    )
    out = GRU(2, return_sequences=True, zero_output_for_mask=True, **_CONST)(_SEQ, mask=mask)
    np.testing.assert_allclose(
        out[1], [[0.16051409] * 2, [0, 0], [0, 0], [0.30818558] * 2], rtol=1e-5, atol=1e-6
    )
    out = GRU(2, go_backwards=True, **_CONST)(_SEQ, mask=mask)
    np.testing.assert_allclose(out, [[0.11669192] * 2, [0.28380975] * 2], rtol=1e-5, atol=1e-6)


def test_keras_simple_rnn_masking_golden_numbers():
    # keras/src/layers/rnn/simple_rnn_test.py, SimpleRNNTest.test_masking
    mask = np.array([[True, True, False, True], [True, False, False, True]])
    out = SimpleRNN(4, **_CONST)(_SEQ, mask=mask)
    np.testing.assert_allclose(out, [[0.32951632] * 4, [0.61799484] * 4], rtol=1e-5, atol=1e-6)
    out = SimpleRNN(2, return_sequences=True, **_CONST)(_SEQ, mask=mask)
    np.testing.assert_allclose(
        out[0],
        [[0.0599281] * 2, [0.15122814] * 2, [0.15122814] * 2, [0.32394567] * 2],
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        out[1],
        [[0.3969304] * 2, [0.3969304] * 2, [0.3969304] * 2, [0.608085] * 2],
        rtol=1e-5,
        atol=1e-6,
    )


def test_zero_output_for_mask_needs_return_sequences():
    with pytest.raises(NotImplementedError, match="return_sequences=True"):
        LSTM(3, zero_output_for_mask=True)
    assert LSTM(3, return_sequences=True, zero_output_for_mask=True).get_config()[
        "zero_output_for_mask"
    ]


# ---- Masking and masked average pooling: kernels against their twins ------------------------


@pytest.mark.parametrize("dt", DTYPES)
def test_masking_kernel_matches_twin(dt):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 6, 3)).astype(dt)
    x[0, 2] = 0
    x[1, :3] = 0.5
    x[2, 4, 0] = 0  # one zero feature does not mask the step
    for value in (0.0, 0.5):
        a, ma = c_seq.masking_forward(x, value)
        b, mb = r_seq.masking_forward(x, value)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ma, mb)
        np.testing.assert_array_equal(ma, (x != dt(value)).any(axis=-1))
        np.testing.assert_array_equal(a, np.where(ma[:, :, None], x, 0))
        dy = rng.standard_normal(x.shape).astype(dt)
        dx = c_seq.masking_backward(dy, ma)
        np.testing.assert_array_equal(dx, r_seq.masking_backward(dy, mb))
        np.testing.assert_array_equal(dx, np.where(ma[:, :, None], dy, 0))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_masked_average_pooling_matches_twin_and_formula(dt, fmt):
    rng = np.random.default_rng(10)
    n, steps, feats = 5, 7, 3
    x = rng.standard_normal((n, steps, feats) if fmt == "channels_last" else (n, feats, steps))
    x = x.astype(dt)
    m = rng.random((n, steps)) > 0.3
    m[0] = True
    m[1] = False  # nothing unmasked: 0/0, NaN, as Keras
    with np.errstate(invalid="ignore"):
        a = c_seq.pool_forward(x, "avg", fmt, mask=m)
        b = r_seq.pool_forward(x, "avg", fmt, mask=m)
    np.testing.assert_allclose(a, b, rtol=1e-6 if dt == np.float32 else 1e-14)
    xs = x if fmt == "channels_last" else x.transpose(0, 2, 1)
    with np.errstate(invalid="ignore"):
        want = (xs * m[:, :, None]).sum(1) / m.sum(1)[:, None]
    np.testing.assert_allclose(a, want, rtol=1e-5 if dt == np.float32 else 1e-12)
    assert np.isnan(a[1]).all()
    dy = rng.standard_normal((n, feats)).astype(dt)
    with np.errstate(invalid="ignore", divide="ignore"):
        da = c_seq.pool_backward(x, a, dy, "avg", fmt, mask=m)
        db = r_seq.pool_backward(x, b, dy, "avg", fmt, mask=m)
    np.testing.assert_allclose(da, db, rtol=1e-6 if dt == np.float32 else 1e-14)
    ds = da if fmt == "channels_last" else da.transpose(0, 2, 1)
    np.testing.assert_array_equal(ds[2][~m[2]], 0)
    np.testing.assert_allclose(ds[0], np.broadcast_to(dy[0] / steps, (steps, feats)), rtol=1e-6)
    # max pooling ignores masks, as Keras' GlobalMaxPooling1D
    np.testing.assert_array_equal(
        c_seq.pool_forward(x, "max", fmt, mask=m), c_seq.pool_forward(x, "max", fmt)
    )


# ---- layers: making, passing on and consuming masks -----------------------------------------


def _padded(rng, n, T, vocab, side):
    lengths = rng.integers(1, T + 1, n)
    x = np.zeros((n, T))
    for i, length in enumerate(lengths):
        toks = rng.integers(1, vocab, length)
        if side == "pre":
            x[i, T - length :] = toks
        else:
            x[i, :length] = toks
    return x, lengths


@pytest.mark.parametrize("cls", [LSTM, GRU, SimpleRNN])
def test_embedding_mask_zero_model_is_padding_invariant(backend, cls):
    """Embedding(mask_zero) -> Dense (passes the mask on) -> Dropout -> RNN -> Dense:
    pre- and post-padded batches predict the same."""
    rng = np.random.default_rng(11)
    n, T, vocab = 16, 12, 30
    x, lengths = _padded(rng, n, T, vocab, "post")
    xl = np.zeros_like(x)
    for i, length in enumerate(lengths):
        xl[i, T - length :] = x[i, :length]
    fastnn.utils.set_random_seed(1)
    model = fastnn.Sequential(
        [
            fastnn.Input((T,)),
            Embedding(vocab, 6, mask_zero=True),
            Dense(5),
            Dropout(0.2),
            cls(7),
            Dense(1),
        ],
        dtype="float64",
    )
    np.testing.assert_allclose(
        model.predict(x, verbose=0), model.predict(xl, verbose=0), rtol=1e-12, atol=1e-13
    )
    # and it trains the same on both backends (twin-exact in float64)
    a, b = train_on_both_backends(
        lambda: [fastnn.Input((T,)), Embedding(vocab, 4, mask_zero=True), cls(5), Dense(1)],
        x,
        rng.standard_normal((n, 1)),
        seed=3,
        epochs=2,
        batch_size=8,
    )
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-10, atol=1e-12)


def test_masking_layer_equals_an_explicit_mask(backend):
    rng = np.random.default_rng(12)
    n, T, F = 6, 5, 3
    x = rng.standard_normal((n, T, F))
    x[0, 3:] = -1.0
    x[2, :2] = -1.0
    fastnn.utils.set_random_seed(2)
    model = fastnn.Sequential(
        [fastnn.Input((T, F)), Masking(mask_value=-1.0), LSTM(4)], dtype="float64"
    )
    got = model.predict(x, verbose=0)
    lstm = LSTM(4)
    lstm(x[:1])  # build, then copy the model's weights
    lstm.set_weights(model.layers[-1].get_weights())
    want = lstm(x, mask=(x != -1.0).any(axis=-1))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    cfg = Masking(mask_value=2.5).get_config()
    assert cfg["mask_value"] == 2.5 and Masking.from_config(cfg).mask_value == 2.5
    with pytest.raises(TypeError, match="mask_value as a number"):
        Masking(mask_value="x")


def test_masked_average_pooling_in_a_model(backend):
    rng = np.random.default_rng(13)
    n, T, vocab, D = 8, 6, 20, 4
    x, _ = _padded(rng, n, T, vocab, "post")
    model = fastnn.Sequential(
        [fastnn.Input((T,)), Embedding(vocab, D, mask_zero=True), GlobalAveragePooling1D()],
        dtype="float64",
    )
    got = model.predict(x, verbose=0)
    E = model.layers[0].get_weights()[0]
    m = x != 0
    want = (E[x.astype(int)] * m[:, :, None]).sum(1) / m.sum(1)[:, None]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_layers_without_mask_support_drop_it_with_keras_warning():
    T = 5
    x = np.ones((2, T))
    model = fastnn.Sequential(
        [fastnn.Input((T,)), Embedding(10, 3, mask_zero=True), Flatten(), Dense(1)]
    )
    with pytest.warns(UserWarning, match="does not support masking and will therefore destroy"):
        model.predict(x, verbose=0)
    model = fastnn.Sequential(
        [fastnn.Input((T,)), Embedding(10, 3, mask_zero=True), GlobalMaxPooling1D()]
    )
    with pytest.warns(UserWarning, match="GlobalMaxPooling1D"):
        model.predict(x, verbose=0)
    # without a mask nothing is said
    model = fastnn.Sequential([fastnn.Input((T,)), Embedding(10, 3), Flatten(), Dense(1)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(x, verbose=0)


def test_a_mask_of_the_wrong_shape_is_refused():
    lstm = LSTM(2)
    x = np.ones((3, 4, 2), np.float32)
    with pytest.raises(ValueError, match=r"mask of shape \(3, 4\)"):
        lstm(x, mask=np.ones((3, 5), bool))
    with pytest.raises(ValueError, match=r"shape \(n, steps\)"):
        lstm(x, mask=np.ones(3, bool))
