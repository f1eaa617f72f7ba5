"""SimpleRNN, LSTM and GRU kernels: compiled against their NumPy twins (outputs and
every gradient, float32 and float64), the ops' state and Net interfaces, float64
central differences of the reference, and equivalence with PyTorch's nn.RNN,
nn.LSTM and nn.GRU (skipped when torch is not installed)."""

import numpy as np
import pytest
from helpers import DTYPES, TOL, numeric_grad

from fastnn.backend.compiled import (
    _parallel,
)
from fastnn.backend.compiled import (
    dense as c_dense,
)
from fastnn.backend.compiled import (
    network as c_net,
)
from fastnn.backend.compiled import (
    recurrent as c_rec,
)
from fastnn.backend.reference import dense as r_dense
from fastnn.backend.reference import network as r_net
from fastnn.backend.reference import recurrent as r_rec

KINDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}
# (n, T, F, H): all-1 sizes first, then odd shapes, a bigger one, an empty batch
SHAPES = [
    (1, 1, 1, 1),
    (1, 3, 1, 2),
    (2, 1, 4, 3),
    (3, 5, 2, 7),
    (7, 9, 5, 16),
    (16, 20, 33, 40),
    (0, 3, 2, 4),
]
# float32 twins: the recurrence compounds round-off over T steps (both sides are
# correct to float32 precision; the float64 twins agree to 1e-12)
TOL32 = dict(rtol=1e-4, atol=2e-5)


def _tol(dt):
    return TOL32 if dt == np.float32 else TOL[dt]


def _params(rng, kind, F, H, dt, use_bias=True):
    k = GATES[kind]
    W = rng.standard_normal((F, k * H)) / np.sqrt(F)
    # a contracting recurrent kernel keeps relu RNNs bounded over 20 steps
    U = 0.5 * rng.standard_normal((H, k * H)) / np.sqrt(H)
    nb = 2 if kind == "gru" else 1
    biases = [rng.standard_normal(k * H) * 0.5 if use_bias else None for _ in range(nb)]
    cast = [None if a is None else a.astype(dt) for a in [W, U, *biases]]
    return cast[0], cast[1], cast[2:]


def _run(
    mod,
    kind,
    x,
    W,
    U,
    biases,
    h0=None,
    c0=None,
    go_backwards=False,
    dhs=None,
    dh_last=None,
    dc_last=None,
):
    """Forward + backward through the function API; a dict of named results."""
    if kind.startswith("rnn"):
        hs, cache = mod.simple_rnn_forward(x, W, U, biases[0], h0, kind[4:], go_backwards)
        g = mod.simple_rnn_backward(cache, dhs, dh_last)
        out = {"hs": hs, **dict(zip(("dx", "dW", "dU", "db", "dh0"), g))}
    elif kind == "lstm":
        hs, c_last, cache = mod.lstm_forward(x, W, U, biases[0], h0, c0, go_backwards)
        g = mod.lstm_backward(cache, dhs, dh_last, dc_last)
        out = {"hs": hs, "c_last": c_last, **dict(zip(("dx", "dW", "dU", "db", "dh0", "dc0"), g))}
    else:
        hs, cache = mod.gru_forward(x, W, U, biases[0], biases[1], h0, go_backwards)
        g = mod.gru_backward(cache, dhs, dh_last)
        out = {"hs": hs, **dict(zip(("dx", "dW", "dU", "db_ih", "db_hh", "dh0"), g))}
    return out


def _case(rng, kind, n, T, F, H, dt, use_bias=True, with_h0=True, with_dhs=True, with_dlast=True):
    x = rng.standard_normal((n, T, F)).astype(dt)
    W, U, biases = _params(rng, kind, F, H, dt, use_bias)
    st = lambda: rng.standard_normal((n, H)).astype(dt)  # noqa: E731
    h0 = st() if with_h0 else None
    c0 = st() if with_h0 and kind == "lstm" else None
    dhs = rng.standard_normal((n, T, H)).astype(dt) if with_dhs else None
    dh_last = st() if with_dlast else None
    dc_last = st() if with_dlast and kind == "lstm" else None
    return dict(
        x=x, W=W, U=U, biases=biases, h0=h0, c0=c0, dhs=dhs, dh_last=dh_last, dc_last=dc_last
    )


def _compare(a, b, dt, what=""):
    assert a.keys() == b.keys()
    for k in a:
        if a[k] is None or b[k] is None:
            assert a[k] is None and b[k] is None, f"{what} {k}"
            continue
        assert a[k].dtype == dt, f"{what} {k}: {a[k].dtype}"
        np.testing.assert_allclose(a[k], b[k], **_tol(dt), err_msg=f"{what} {k}")


# ---- compiled against the NumPy twin --------------------------------------------------


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("go_backwards", [False, True])
def test_twin_shapes(rng, dt, kind, shape, go_backwards, split):
    case = _case(rng, kind, *shape, dt)
    res = [_run(mod, kind, go_backwards=go_backwards, **case) for mod in (c_rec, r_rec)]
    _compare(*res, dt, f"{kind} {shape}")
    n, T, F, H = shape
    assert res[0]["hs"].shape == (n, T, H) and res[0]["dx"].shape == (n, T, F)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", [2, 9, 64])
def test_split_loops_give_the_unsplit_results(dt, kind, n):
    # rows never interact inside a time loop, so cutting the batch into parts (n = 9:
    # 4 and 5 rows; n = 64: four parts of 16) must change nothing beyond the last bits
    # of a differently blocked GEMM
    case = _case(np.random.default_rng(n), kind, n, 6, 5, 16, dt)
    res = []
    for mode in ("never", "always"):
        prev = _parallel.configure(
            batch_split=mode, single_thread_below=1 if mode == "always" else 1 << 23
        )
        try:
            res.append(_run(c_rec, kind, go_backwards=True, **case))
        finally:
            _parallel.configure(**prev)
    tol = dict(rtol=1e-5, atol=1e-6) if dt == np.float32 else dict(rtol=1e-12, atol=1e-13)
    for k in res[0]:
        np.testing.assert_allclose(res[1][k], res[0][k], **tol, err_msg=k)


@pytest.mark.parametrize(
    "m,k,n",
    [
        (1, 1, 1),
        (3, 5, 7),
        (4, 3, 64),
        (5, 17, 16),
        (9, 130, 81),
        (64, 128, 512),
        (7, 0, 5),
        (0, 4, 3),
    ],
)
@pytest.mark.parametrize("beta", [False, True])
def test_step_product_matches_numpy(m, k, n, beta):
    # every column tail (masked vectors), 4-row blocks and the 1-row tail, k = 0
    rng = np.random.default_rng(m * 1000 + k * 10 + n)
    a = rng.standard_normal((m, k)).astype(np.float32)
    p = rng.standard_normal((k, n)).astype(np.float32)
    c0 = rng.standard_normal((m, n)).astype(np.float32)
    c = c0.copy()
    assert c_rec.step_product(a, p, c, beta) is not None
    want = a.astype(np.float64) @ p + (c0 if beta else 0)
    np.testing.assert_allclose(c, want, rtol=1e-5, atol=1e-5 * max(1, k) ** 0.5)
    with pytest.raises(ValueError, match="a \\(m, k\\), p \\(k, n\\), c \\(m, n\\)"):
        c_rec.step_product(a, np.zeros((k, n + 1), np.float32), c, beta)


def test_step_kernel_switch():
    if not _parallel.STEP_KERNEL_ISA:
        with pytest.raises(ValueError, match="needs AVX2 or AVX-512"):
            _parallel.configure(step_kernel=True)
        return
    prev = _parallel.configure(step_kernel=False)
    try:
        assert _parallel.configure(step_kernel=True)["step_kernel"] is False
    finally:
        _parallel.configure(**prev)


def test_configure_batch_split_modes():
    prev = _parallel.configure(batch_split="never", batch_split_min_macs=123)
    try:
        got = _parallel.configure(batch_split="always")
        assert (got["batch_split"], got["batch_split_min_macs"]) == ("never", 123)
        got = _parallel.configure(batch_split="auto")
        assert (got["batch_split"], got["batch_split_min_macs"]) == ("always", 123)
        with pytest.raises(ValueError, match="'auto', 'never' or 'always'. Received: 'fast'"):
            _parallel.configure(batch_split="fast", product_mode="blas")
        # the bad call changed nothing, not even its valid argument
        assert _parallel.settings()["batch_split"] == "auto"
        assert _parallel.settings()["product_mode"] == prev["product_mode"]
    finally:
        _parallel.configure(**prev)


@pytest.mark.parametrize("dt", DTYPES)
def test_twin_random_sweep(dt):
    rng = np.random.default_rng(11)
    for i in range(40):
        kind = KINDS[i % 4]
        n, T, F, H = (int(v) for v in rng.integers(1, 13, 4))
        flags = [bool(v) for v in rng.integers(0, 2, 5)]
        case = _case(rng, kind, n, T, F, H, dt, *flags[:4])
        res = [_run(mod, kind, go_backwards=flags[4], **case) for mod in (c_rec, r_rec)]
        _compare(*res, dt, f"sweep {i} {kind} {(n, T, F, H)} {flags}")


@pytest.mark.parametrize("kind", KINDS)
def test_go_backwards_is_the_reversed_sequence(kind):
    """go_backwards on x equals the forward layer on x reversed in time (outputs in
    processing order), and dx comes back in the input's order."""
    rng = np.random.default_rng(5)
    case = _case(rng, kind, 3, 6, 4, 5, np.float64)
    back = _run(c_rec, kind, go_backwards=True, **case)
    flipped = dict(case, x=np.ascontiguousarray(case["x"][:, ::-1]))
    fwd = _run(c_rec, kind, go_backwards=False, **flipped)
    for k in back:
        want = fwd[k][:, ::-1] if k == "dx" else fwd[k]
        np.testing.assert_allclose(back[k], want, rtol=1e-13, atol=1e-14, err_msg=k)


@pytest.mark.parametrize("mod", [c_rec, r_rec])
@pytest.mark.parametrize("kind", KINDS)
def test_defaults_zero_state_and_no_gradient(mod, kind):
    """h0=None means zeros; dhs=None with dh_last=None gives all-zero gradients."""
    rng = np.random.default_rng(2)
    case = _case(rng, kind, 2, 3, 2, 3, np.float64, with_dhs=False, with_dlast=False)
    zeros = np.zeros((2, 3))
    a = _run(mod, kind, **dict(case, h0=None, c0=None))
    b = _run(mod, kind, **dict(case, h0=zeros, c0=zeros if kind == "lstm" else None))
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
        if k.startswith("d"):
            assert not a[k].any(), k


# ---- the Op interface ------------------------------------------------------------------


def _make_op(mod, kind, T, F, H, dt, return_sequences, need_dx, go_backwards, rng, use_bias=True):
    """An op whose weights and gradients are views into flat buffers, as a model holds
    them. Returns (op, params flat, grads flat, named views)."""
    k = GATES[kind]
    nb = 2 if kind == "gru" else 1
    shapes = [(F, k * H), (H, k * H)] + ([(k * H,)] * nb if use_bias else [])
    sizes = [int(np.prod(s)) for s in shapes]
    flat = (rng.standard_normal(sum(sizes)) * 0.4).astype(dt)
    gflat = np.full(sum(sizes), np.nan, dt)  # every gradient must be written
    offs = np.cumsum([0] + sizes)
    p = [flat[o : o + s].reshape(sh) for o, s, sh in zip(offs, sizes, shapes)]
    g = [gflat[o : o + s].reshape(sh) for o, s, sh in zip(offs, sizes, shapes)]
    if not use_bias:
        p += [None] * nb
        g += [None] * nb
    if kind.startswith("rnn"):
        op = mod.SimpleRNNOp(
            p[0], p[1], p[2], g[0], g[1], g[2], T, kind[4:], return_sequences, need_dx, go_backwards
        )
    elif kind == "lstm":
        op = mod.LSTMOp(
            p[0], p[1], p[2], g[0], g[1], g[2], T, return_sequences, need_dx, go_backwards
        )
    else:
        op = mod.GRUOp(
            p[0],
            p[1],
            p[2],
            p[3],
            g[0],
            g[1],
            g[2],
            g[3],
            T,
            return_sequences,
            need_dx,
            go_backwards,
        )
    return op, flat, gflat, p


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_op_twin_and_function_agree(dt, kind, return_sequences, go_backwards):
    n, T, F, H = 4, 5, 3, 6
    x = np.random.default_rng(3).standard_normal((n, T, F)).astype(dt)
    results = []
    for mod in (c_rec, r_rec):
        rng = np.random.default_rng(9)
        op, flat, gflat, p = _make_op(
            mod, kind, T, F, H, dt, return_sequences, True, go_backwards, rng
        )
        assert op.in_size == T * F and op.out_size == (T * H if return_sequences else H)
        flat0 = flat.copy()
        y = op.py_forward(x)
        dy = np.random.default_rng(4).standard_normal(y.shape).astype(dt)
        dx = op.py_backward(dy)
        assert np.isfinite(gflat).all(), "a gradient view was not written"
        np.testing.assert_array_equal(flat, flat0)  # parameters untouched
        results.append(
            {
                "y": y,
                "dx": dx,
                "grads": gflat.copy(),
                "dh0": op.initial_state_grad()[0],
                "hT": op.final_state()[0],
            }
        )
        # the same numbers through the function API (output = hs, or its last step)
        biases = p[2:]
        dhs = dy.reshape(n, T, H) if return_sequences else None
        dh_last = None if return_sequences else dy
        ref = _run(
            mod, kind, x, p[0], p[1], biases, go_backwards=go_backwards, dhs=dhs, dh_last=dh_last
        )
        want_y = ref["hs"].reshape(n, -1) if return_sequences else ref["hs"][:, -1]
        np.testing.assert_allclose(y, want_y, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(dx, ref["dx"].reshape(n, -1), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(results[-1]["dh0"], ref["dh0"], rtol=1e-6, atol=1e-7)
    for k in results[0]:
        np.testing.assert_allclose(results[0][k], results[1][k], **_tol(dt), err_msg=k)


@pytest.mark.parametrize("mod", [c_rec, r_rec])
@pytest.mark.parametrize("kind", KINDS)
def test_op_need_dx_false_and_no_bias(mod, kind):
    rng = np.random.default_rng(6)
    op, _, gflat, _ = _make_op(
        mod, kind, 3, 2, 4, np.float64, True, False, False, rng, use_bias=False
    )
    x = rng.standard_normal((5, 3, 2))
    y = op.py_forward(x)
    assert op.py_backward(np.ones_like(y)) is None
    assert np.isfinite(gflat).all()


@pytest.mark.parametrize("mod", [c_rec, r_rec])
@pytest.mark.parametrize("kind", KINDS)
def test_op_state_api(mod, kind):
    """carry_state: two chunks of a sequence give the outputs of the whole sequence;
    set_initial_state(None) resets; final_state / initial_state_grad are copies."""
    n, T, F, H = 3, 4, 2, 5
    rng = np.random.default_rng(8)
    x = rng.standard_normal((n, 2 * T, F))
    whole, _, _, p = _make_op(
        mod, kind, 2 * T, F, H, np.float64, True, True, False, np.random.default_rng(1)
    )
    chunk, _, _, _ = _make_op(
        mod, kind, T, F, H, np.float64, True, True, False, np.random.default_rng(1)
    )
    h0 = rng.standard_normal((n, H))
    c0 = rng.standard_normal((n, H)) if kind == "lstm" else None
    whole.set_initial_state(h0, c0)
    chunk.set_initial_state(h0, c0)
    y = whole.py_forward(x).reshape(n, 2 * T, H)
    assert not chunk.carry_state
    chunk.carry_state = True
    y1 = chunk.py_forward(x[:, :T]).reshape(n, T, H)
    y2 = chunk.py_forward(x[:, T:]).reshape(n, T, H)
    np.testing.assert_allclose(np.concatenate([y1, y2], axis=1), y, rtol=1e-13, atol=1e-14)
    for a, b in zip(chunk.final_state(), whole.final_state()):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-14)
    np.testing.assert_array_equal(chunk.final_state()[0], y2[:, -1])
    # copies: changing them does not touch the op
    fs = chunk.final_state()
    fs[0][...] = 123.0
    assert not (chunk.final_state()[0] == 123.0).any()
    # reset: zeros again, the same as a fresh op with no state
    chunk.carry_state = False
    chunk.set_initial_state(None)
    fresh, _, _, _ = _make_op(
        mod, kind, T, F, H, np.float64, True, True, False, np.random.default_rng(1)
    )
    np.testing.assert_array_equal(chunk.py_forward(x[:, :T]), fresh.py_forward(x[:, :T]))
    # a batch of another size than the stored state is refused
    chunk.set_initial_state(h0, c0)
    with pytest.raises(ValueError, match="initial state for 3 samples"):
        chunk.py_forward(x[:2, :T])
    # initial_state_grad after backward: the function API's dh0 (and dc0)
    y = chunk.py_forward(x[:, :T])
    dy = rng.standard_normal(y.shape)
    chunk.py_backward(dy)
    ref = _run(
        mod,
        kind,
        np.ascontiguousarray(x[:, :T]),
        p[0],
        p[1],
        p[2:],
        h0,
        c0,
        dhs=dy.reshape(n, T, H),
    )
    grads = chunk.initial_state_grad()
    np.testing.assert_allclose(grads[0], ref["dh0"], rtol=1e-13, atol=1e-14)
    if kind == "lstm":
        np.testing.assert_allclose(grads[1], ref["dc0"], rtol=1e-13, atol=1e-14)
        assert len(grads) == 2 and len(chunk.final_state()) == 2
    else:
        assert len(grads) == 1 and len(chunk.final_state()) == 1
    # float32 states given to a float64 op are cast
    chunk.set_initial_state(h0.astype(np.float32), None if c0 is None else c0.astype(np.float32))
    assert chunk.h0.dtype == np.float64


@pytest.mark.parametrize("mod", [c_rec, r_rec])
def test_op_misuse_errors(mod):
    rng = np.random.default_rng(0)
    op, _, _, _ = _make_op(mod, "lstm", 3, 2, 4, np.float64, False, True, False, rng)
    with pytest.raises(RuntimeError, match="needs a forward"):
        op.final_state()
    with pytest.raises(RuntimeError, match="needs a backward"):
        op.initial_state_grad()
    y = op.py_forward(rng.standard_normal((2, 6)))
    op.py_backward(np.ones_like(y))
    with pytest.raises(RuntimeError, match="once"):
        op.py_backward(np.ones_like(y))  # the gates were overwritten by their gradients
    gru, _, _, _ = _make_op(mod, "gru", 3, 2, 4, np.float64, False, True, False, rng)
    with pytest.raises(ValueError, match="only LSTM has a cell state"):
        gru.set_initial_state(np.zeros((2, 4)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"h0 of shape \(\?, 4\)"):
        gru.set_initial_state(np.zeros((2, 5)))


@pytest.mark.parametrize("mod", [c_rec, r_rec])
def test_kernel_argument_errors(mod):
    x = np.zeros((2, 3, 4), np.float32)
    W, U, b = np.zeros((4, 20), np.float32), np.zeros((5, 20), np.float32), np.zeros(20, np.float32)
    with pytest.raises(ValueError, match=r"x.dtype=float32, W.dtype=float64"):
        mod.lstm_forward(x, W.astype(np.float64), U, b)
    with pytest.raises(ValueError, match=r"expected x of shape \(\?, \?, 4\)"):
        mod.lstm_forward(np.zeros((2, 3, 5), np.float32), W, U, b)
    with pytest.raises(ValueError, match=r"expected W of shape \(4, 15\)"):
        mod.gru_forward(x, W, np.zeros((5, 15), np.float32), None, None)
    with pytest.raises(ValueError, match=r"expected b of shape \(20,\)"):
        mod.lstm_forward(x, W, U, np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="expected activation in"):
        mod.simple_rnn_forward(x, W[:, :5], U[:, :5], b[:5], None, "sigmoid")
    with pytest.raises(ValueError, match="C-contiguous"):
        mod.lstm_forward(np.zeros((2, 4, 3), np.float32).transpose(0, 2, 1), W, U, b)
    with pytest.raises(ValueError, match="timesteps as a positive int"):
        mod.LSTMOp(W, U, b, W.copy(), U.copy(), b.copy(), 0, True, True)
    with pytest.raises(ValueError, match="db to be None exactly when b is"):
        mod.LSTMOp(W, U, b, W.copy(), U.copy(), None, 3, True, True)
    with pytest.raises(ValueError, match="both biases or neither"):
        mod.GRUOp(
            W[:, :15],
            U[:, :15],
            b[:15],
            None,
            W[:, :15].copy(),
            U[:, :15].copy(),
            b[:15].copy(),
            None,
            3,
            True,
            True,
        )
    _, cache = mod.simple_rnn_forward(x, W[:, :5].copy(), U[:, :5].copy(), b[:5].copy())
    with pytest.raises(ValueError, match=r"expected dhs of shape \(2, 3, 5\)"):
        mod.simple_rnn_backward(cache, np.zeros((2, 3, 4), np.float32))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_saturated_inputs_stay_finite(dt, kind):
    rng = np.random.default_rng(3)
    case = _case(rng, kind, 2, 6, 3, 4, dt)
    case["x"] = (case["x"] * 1e4).astype(dt)
    for mod in (c_rec, r_rec):
        res = _run(mod, kind, **case)
        if kind != "rnn_relu":  # relu is unbounded by design
            assert all(np.isfinite(v).all() for v in res.values()), mod.__name__


# ---- inside a Net: the compiled training step against the reference step -------------


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize(
    "kind,return_sequences",
    [("lstm", False), ("gru", True), ("rnn_tanh", True), ("rnn_relu", False)],
)
def test_net_step_with_recurrent_op(dt, kind, return_sequences):
    """Recurrent op + Dense in a Net: loss and every gradient of one step agree
    between the compiled Net and the reference Net (updater None: no update)."""
    n, T, F, H, out = 6, 5, 3, 4, 2
    rng = np.random.default_rng(12)
    x = rng.standard_normal((n, T, F)).astype(dt)
    rows = n * T if return_sequences else n
    y = rng.standard_normal((rows, out)).astype(dt)
    steps = T if return_sequences else 1
    res = []
    for rec, dense, net in ((c_rec, c_dense, c_net), (r_rec, r_dense, r_net)):
        op, _, gflat, _ = _make_op(
            rec, kind, T, F, H, dt, return_sequences, False, True, np.random.default_rng(1)
        )
        Wd = (np.random.default_rng(2).standard_normal((H, out)) * 0.5).astype(dt)
        bd = np.zeros(out, dt)
        dWd, dbd = np.empty_like(Wd), np.empty_like(bd)
        dop = dense.DenseOp(Wd, bd, dWd, dbd, "linear", True, steps)
        model = net.Net([op, dop], "mse", "linear", steps, None, dtype=dt)
        loss = model.train_step(x, y)
        res.append((loss, gflat.copy(), dWd.copy(), dbd.copy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-5 if dt == np.float32 else 1e-12)
    for a, b in zip(res[0][1:], res[1][1:]):
        np.testing.assert_allclose(a, b, **_tol(dt))


# ---- float64 central differences of the reference --------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("go_backwards", [False, True])
def test_reference_central_differences(kind, go_backwards):
    """L = sum(dhs * hs) + sum(dh_last * h_T) (+ sum(dc_last * c_T)); every gradient
    of the reference backward against central differences."""
    rng = np.random.default_rng(21)
    case = _case(rng, kind, 2, 4, 3, 3, np.float64)
    if kind == "rnn_relu":
        case["biases"][0] += 0.3  # keep pre-activations away from the kink at 0

    def loss():
        res = _run_forward_only(kind, case, go_backwards)
        val = (case["dhs"] * res[0]).sum() + (case["dh_last"] * res[0][:, -1]).sum()
        if kind == "lstm":
            val += (case["dc_last"] * res[1]).sum()
        return float(val)

    got = _run(r_rec, kind, go_backwards=go_backwards, **case)
    arrays = {"dx": case["x"], "dW": case["W"], "dU": case["U"], "dh0": case["h0"]}
    if kind == "lstm":
        arrays["dc0"] = case["c0"]
    if kind == "gru":
        arrays.update(db_ih=case["biases"][0], db_hh=case["biases"][1])
    else:
        arrays["db"] = case["biases"][0]
    assert set(arrays) == {k for k in got if k.startswith("d")}
    for name, arr in arrays.items():
        np.testing.assert_allclose(
            got[name], numeric_grad(loss, arr), rtol=1e-6, atol=1e-8, err_msg=name
        )


def _run_forward_only(kind, case, go_backwards):
    x, W, U, b = case["x"], case["W"], case["U"], case["biases"]
    if kind.startswith("rnn"):
        return r_rec.simple_rnn_forward(x, W, U, b[0], case["h0"], kind[4:], go_backwards)
    if kind == "lstm":
        hs, c_last, _ = r_rec.lstm_forward(x, W, U, b[0], case["h0"], case["c0"], go_backwards)
        return hs, c_last
    return r_rec.gru_forward(x, W, U, b[0], b[1], case["h0"], go_backwards)


# ---- the GRU reset-gate trap -----------------------------------------------------------


@pytest.mark.parametrize("mod", [c_rec, r_rec])
def test_gru_hidden_bias_of_n_sits_inside_reset_gate(mod):
    """Zeroing b_hn must change the candidate's pre-activation by r * b_hn (the
    PyTorch / reset_after form), not by b_hn: this fails if b_hn is moved outside r."""
    rng = np.random.default_rng(31)
    n, F, H = 4, 3, 5
    x = rng.standard_normal((n, 1, F))
    W, U, (b_ih, b_hh) = _params(rng, "gru", F, H, np.float64)
    b_hh[2 * H :] = rng.uniform(1.0, 2.0, H)  # large b_hn: the two placements differ clearly
    h0 = rng.standard_normal((n, H)) * 0.5
    hs1, _ = mod.gru_forward(x, W, U, b_ih, b_hh, h0)
    b_zero = b_hh.copy()
    b_zero[2 * H :] = 0
    hs0, _ = mod.gru_forward(x, W, U, b_ih, b_zero, h0)
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    a = x[:, 0] @ W + b_ih
    hu = h0 @ U + b_hh
    r = sig(a[:, :H] + hu[:, :H])
    z = sig(a[:, H : 2 * H] + hu[:, H : 2 * H])
    # n recovered from h = (1-z) n + z h0, then its pre-activation through arctanh
    pre1 = np.arctanh((hs1[:, 0] - z * h0) / (1 - z))
    pre0 = np.arctanh((hs0[:, 0] - z * h0) / (1 - z))
    np.testing.assert_allclose(pre1 - pre0, r * b_hh[2 * H :], rtol=1e-9, atol=1e-12)
    assert np.abs((pre1 - pre0) - b_hh[2 * H :]).min() > 1e-3  # not b_hn outside r


# ---- PyTorch equivalence ----------------------------------------------------------------


def _torch_module(torch, kind, F, H):
    if kind.startswith("rnn"):
        return torch.nn.RNN(F, H, nonlinearity=kind[4:], batch_first=True, dtype=torch.float64)
    if kind == "lstm":
        return torch.nn.LSTM(F, H, batch_first=True, dtype=torch.float64)
    return torch.nn.GRU(F, H, batch_first=True, dtype=torch.float64)


@pytest.mark.parametrize("mod", [c_rec, r_rec])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("T", [1, 5])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_matches_pytorch(mod, kind, T, go_backwards, split):
    """Outputs, final states and every parameter gradient plus d/dh0 (d/dc0) against
    torch.nn.RNN/LSTM/GRU in float64 with random per-gate biases and non-zero h0/c0.
    go_backwards is compared with PyTorch run on the time-reversed input."""
    torch = pytest.importorskip("torch")
    n, F, H = 3, 4, 5
    k = GATES[kind]
    rng = np.random.default_rng(100 + T)
    m = _torch_module(torch, kind, F, H)
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(rng.standard_normal((k * H, F)) * 0.5))
        m.weight_hh_l0.copy_(torch.from_numpy(rng.standard_normal((k * H, H)) * 0.5))
        # per-gate different biases, both sides: a swapped bias block cannot hide
        m.bias_ih_l0.copy_(torch.from_numpy(rng.standard_normal(k * H)))
        m.bias_hh_l0.copy_(torch.from_numpy(rng.standard_normal(k * H)))
    x = rng.standard_normal((n, T, F))
    h0 = rng.standard_normal((n, H))
    c0 = rng.standard_normal((n, H))
    dhs, dh_last, dc_last = (
        rng.standard_normal((n, T, H)),
        rng.standard_normal((n, H)),
        rng.standard_normal((n, H)),
    )

    xt = torch.tensor(x[:, ::-1].copy() if go_backwards else x, requires_grad=True)
    h0t = torch.tensor(h0[None], requires_grad=True)  # (num_layers, B, H) even batch_first
    c0t = torch.tensor(c0[None], requires_grad=True)
    if kind == "lstm":
        out, (hn, cn) = m(xt, (h0t, c0t))
    else:
        out, hn = m(xt, h0t)
    loss = (out * torch.from_numpy(dhs)).sum() + (hn[0] * torch.from_numpy(dh_last)).sum()
    if kind == "lstm":
        loss = loss + (cn[0] * torch.from_numpy(dc_last)).sum()
    loss.backward()

    W = np.ascontiguousarray(m.weight_ih_l0.detach().numpy().T)
    U = np.ascontiguousarray(m.weight_hh_l0.detach().numpy().T)
    b_ih, b_hh = m.bias_ih_l0.detach().numpy().copy(), m.bias_hh_l0.detach().numpy().copy()
    biases = [b_ih, b_hh] if kind == "gru" else [b_ih + b_hh]
    got = _run(
        mod,
        kind,
        x,
        W,
        U,
        biases,
        h0,
        c0 if kind == "lstm" else None,
        go_backwards,
        dhs,
        dh_last,
        dc_last if kind == "lstm" else None,
    )

    tol = dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got["hs"], out.detach().numpy(), **tol, err_msg="hs")
    np.testing.assert_allclose(got["hs"][:, -1], hn[0].detach().numpy(), **tol, err_msg="h_T")
    dx_t = xt.grad.numpy()
    np.testing.assert_allclose(
        got["dx"], dx_t[:, ::-1] if go_backwards else dx_t, **tol, err_msg="dx"
    )
    np.testing.assert_allclose(got["dW"], m.weight_ih_l0.grad.numpy().T, **tol, err_msg="dW")
    np.testing.assert_allclose(got["dU"], m.weight_hh_l0.grad.numpy().T, **tol, err_msg="dU")
    np.testing.assert_allclose(got["dh0"], h0t.grad.numpy()[0], **tol, err_msg="dh0")
    if kind == "gru":
        np.testing.assert_allclose(got["db_ih"], m.bias_ih_l0.grad.numpy(), **tol, err_msg="db_ih")
        np.testing.assert_allclose(got["db_hh"], m.bias_hh_l0.grad.numpy(), **tol, err_msg="db_hh")
    else:
        # one summed bias: its gradient is that of either PyTorch bias
        np.testing.assert_allclose(got["db"], m.bias_ih_l0.grad.numpy(), **tol, err_msg="db")
        np.testing.assert_allclose(got["db"], m.bias_hh_l0.grad.numpy(), **tol, err_msg="db")
    if kind == "lstm":
        np.testing.assert_allclose(got["c_last"], cn[0].detach().numpy(), **tol, err_msg="c_T")
        np.testing.assert_allclose(got["dc0"], c0t.grad.numpy()[0], **tol, err_msg="dc0")
