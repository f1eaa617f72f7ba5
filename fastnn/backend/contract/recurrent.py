"""The recurrent kernels' shared contract: argument checks, the op's Python-level
bookkeeping (parameter unpacking, workspace sizes, initial states, copies out) and the
function-level API, used by the compiled module and its NumPy twin
(fastnn/backend/compiled/recurrent.pyx, fastnn/backend/reference/recurrent.py) so both
raise the same errors and keep their state the same way. Nothing here runs per step."""

import numpy as np

from fastnn.backend.contract import args as _args

RNN_ACTIVATIONS = ("tanh", "relu")
SIMPLE_RNN, LSTM, GRU = 0, 1, 2  # the op kinds (the compiled module's enum has the same values)
GATES = {SIMPLE_RNN: 1, LSTM: 4, GRU: 3}


def check_activation(func, activation):
    if activation not in RNN_ACTIVATIONS:
        raise ValueError(
            f"{func} expected activation in {RNN_ACTIVATIONS}. Received: activation={activation!r}"
        )


def check_weights(func, k, W, U, biases, grads=None):
    """Shapes, dtype and C order of W (F, kH), U (H, kH), biases (kH,) and, for ops,
    the gradient views (same shapes as their parameters). Returns (dtype, F, H)."""
    arrays = {"W": W, "U": U, **biases, **(grads or {})}
    dt = _args.same_float_dtype(func, **arrays)
    _args.shape(func, "W", W, (None, None))
    _args.shape(func, "U", U, (None, None))
    F, H = W.shape[0], U.shape[0]
    if H < 1 or F < 1:
        raise ValueError(
            f"{func} expected W (F, {k}H) and U (H, {k}H) with F, H >= 1. "
            f"Received: W.shape={W.shape}, U.shape={U.shape}"
        )
    _args.shape(func, "U", U, (H, k * H))
    _args.shape(func, "W", W, (F, k * H))
    for name, b in biases.items():
        if b is not None:
            _args.shape(func, name, b, (k * H,))
    if grads is not None:
        for (pname, p), (gname, g) in zip({"W": W, "U": U, **biases}.items(), grads.items()):
            if (p is None) != (g is None):
                raise ValueError(
                    f"{func} expected {gname} to be None exactly when {pname} is. "
                    f"Received: {pname} {'None' if p is None else 'given'}, "
                    f"{gname} {'None' if g is None else 'given'}"
                )
            if g is not None:
                _args.shape(func, gname, g, p.shape)
    _args.c_contiguous(func, **arrays)
    return dt, F, H


def check_timesteps(func, timesteps):
    if isinstance(timesteps, bool) or not isinstance(timesteps, (int, np.integer)) or timesteps < 1:
        raise ValueError(
            f"{func} expected timesteps as a positive int. Received: timesteps={timesteps!r}"
        )


def check_sequence(func, x, W, U, biases, k, h0=None, c0=None):
    """Checks of a function-level forward call; returns (dtype, n, T, F, H)."""
    _args.same_float_dtype(func, x=x, W=W, U=U, **biases, h0=h0, c0=c0)  # names every dtype
    dt, F, H = check_weights(func, k, W, U, biases)
    _args.shape(func, "x", x, (None, None, F))
    n, T = x.shape[0], x.shape[1]
    check_timesteps(func, T)
    _args.c_contiguous(func, x=x)
    for name, s in (("h0", h0), ("c0", c0)):
        if s is not None:
            _args.shape(func, name, s, (n, H))
    return dt, n, T, F, H


def check_grads(func, op, dhs, dh_last, dc_last=None):
    """Checks of a function-level backward call against its cache (an op)."""
    n, T, H = op.last_rows(), op.timesteps, op.units
    _args.same_float_dtype(
        func, dhs=dhs, dh_last=dh_last, dc_last=dc_last, cache=np.empty(0, op.dtype)
    )
    if dhs is not None:
        _args.shape(func, "dhs", dhs, (n, T, H))
        _args.c_contiguous(func, dhs=dhs)
    for name, g in (("dh_last", dh_last), ("dc_last", dc_last)):
        if g is not None:
            _args.shape(func, name, g, (n, H))


def check_state(name, state, H):
    """An initial state: a 2-D array (n, H); returns it as an ndarray."""
    state = np.asarray(state)
    if state.ndim != 2 or state.shape[1] != H:
        raise ValueError(
            f"set_initial_state expected {name} of shape (?, {H}). "
            f"Received: {name}.shape={state.shape}"
        )
    return state


# ---- an op's bookkeeping: both _RecurrentOp classes call these, off the step path ------


def unpack_op(name, kind, W, U, biases, grads, timesteps, activation):
    """Checks an op's parameters; returns a dict of dt, F, H, k and b, b2, db, db2 (an
    absent bias becomes a zero vector, so the kernels need no bias branch; an absent
    bias gradient stays None)."""
    k = GATES[kind]
    dt, F, H = check_weights(name, k, W, U, biases, grads)
    check_timesteps(name, timesteps)
    if kind == SIMPLE_RNN:
        check_activation(name, activation)
    bs, gs = list(biases.values()), list(grads.values())[2:]
    zero = np.zeros(k * H, dt)  # stands in for an absent bias (use_bias=False)
    b = bs[0] if bs[0] is not None else zero
    b2 = (bs[1] if bs[1] is not None else zero) if len(bs) > 1 else None
    db, db2 = gs[0], (gs[1] if len(gs) > 1 else None)
    return dict(dt=dt, F=F, H=H, k=k, b=b, b2=b2, db=db, db2=db2)


def check_gru_biases(func, b_ih, b_hh):
    if (b_ih is None) != (b_hh is None):
        raise ValueError(
            f"{func} expected both biases or neither. Received: "
            f"b_ih {'None' if b_ih is None else 'given'}, "
            f"b_hh {'None' if b_hh is None else 'given'}"
        )


def check_dropout(op, rate, recurrent_rate, seed, per_gate):
    """The arguments of an op's set_dropout, as (rate, recurrent_rate, seed, input_masks):
    rates in [0, 1) (0: none), and only before the op's first workspaces; input_masks is
    how many input masks a call draws (0 without rate; per gate or one)."""
    for arg, val in (("rate", rate), ("recurrent_rate", recurrent_rate)):
        if not 0 <= val < 1:
            raise ValueError(f"{op.name}.set_dropout expected {arg} in [0, 1). Received: {val!r}")
    if op.cap:
        raise RuntimeError(f"{op.name}.set_dropout must come before the op's first call")
    if not 0 <= seed < 2**64:
        raise ValueError(f"{op.name}.set_dropout expected a seed in [0, 2**64). Received: {seed}")
    masks = (GATES[op.kind] if per_gate else 1) if rate > 0 else 0
    return float(rate), float(recurrent_rate), int(seed), masks


def workspaces(kind, T, rows, F, H, dtype, input_masks=0, state_masks=False):
    """An op's zeroed flat workspaces for `rows` rows, by name (None where the kind has
    none): x_tm (T, n, F), hs (T+1, n, H), cs (T+1, n, H) LSTM, gates (T, n, kH) LSTM
    and GRU, aux (T, n, H) (SimpleRNN: da; LSTM: tanh(c_t); GRU: hn_t, then da_n),
    hu (n, 3H) GRU, dh (n, H), dc (n, H) LSTM; keep (n, H) and keepc (n, H) LSTM: what
    a masked step passes straight back (backward). Dropout in the loop (set_dropout):
    with input_masks = m > 0, dmask (m, n, F) and xg (m, T, n, F); with state_masks,
    rmask (k, n, H), hm (T, n, kH) and tmp (n, H)."""
    k = GATES[kind]
    gi, gd = input_masks, state_masks

    def ws(size, present=True):
        return np.zeros(size, dtype) if present else None

    return dict(
        x_tm=ws(T * rows * F),
        hs=ws((T + 1) * rows * H),
        cs=ws((T + 1) * rows * H, kind == LSTM),
        gates=ws(T * rows * k * H, kind != SIMPLE_RNN),
        aux=ws(T * rows * H),
        hu=ws(rows * 3 * H, kind == GRU),
        dh=ws(rows * H),
        dc=ws(rows * H, kind == LSTM),
        keep=ws(rows * H),
        keepc=ws(rows * H, kind == LSTM),
        dmask=ws(gi * rows * F, gi > 0),
        xg=ws(gi * T * rows * F, gi > 0),
        rmask=ws(k * rows * H, gd),
        hm=ws(T * rows * k * H, gd),
        tmp=ws(rows * H, gd),
    )


def workspace_views(ws, kind, T, n, F, H):
    """NumPy views of the first n rows of workspaces(...), in the order x_tm, hs, cs,
    gates, aux, hu, dh, dc (None where absent)."""
    k = GATES[kind]
    shapes = dict(
        x_tm=(T, n, F),
        hs=(T + 1, n, H),
        cs=(T + 1, n, H),
        gates=(T, n, k * H),
        aux=(T, n, H),
        hu=(n, 3 * H),
        dh=(n, H),
        dc=(n, H),
    )
    return tuple(
        None if ws[name] is None else ws[name][: int(np.prod(s))].reshape(s)
        for name, s in shapes.items()
    )


def batch_state_error(func, held, n):
    """The error for a held initial state of another batch size."""
    return ValueError(
        f"{func} holds an initial state for {held} samples. Received a batch of {n} "
        f"samples (reset it with set_initial_state(None))"
    )


def backward_order_error(func, n):
    return RuntimeError(
        f"{func}.backward expected to follow a forward of the same {n} samples, once "
        f"(the gates are overwritten by their gradients)"
    )


def initial_states(op, h0, c0, held_h0, held_c0):
    """set_initial_state's checks: returns the (h0, c0) the op holds next, reusing the
    held arrays when the shape matches (cast to the op's dtype). LSTM: c0 None with h0
    given means c0 = 0; other kinds take no c0."""
    func = f"{op.name}.set_initial_state"
    if c0 is not None and op.kind != LSTM:
        raise ValueError(
            f"{func} expected no c0 (only LSTM has a cell state). "
            f"Received: c0 of shape {np.shape(c0)}"
        )
    if h0 is None:
        if c0 is not None:
            raise ValueError(f"{func} expected h0 with c0. Received: h0=None")
        return None, None
    h0 = check_state("h0", h0, op.units)
    new_h0 = store_state(held_h0, h0, op.dtype)
    if op.kind != LSTM:
        return new_h0, None
    c0 = np.zeros_like(h0) if c0 is None else check_state("c0", c0, op.units)
    if c0.shape != h0.shape:
        raise ValueError(
            f"set_initial_state expected h0 and c0 of one shape. "
            f"Received: h0.shape={h0.shape}, c0.shape={c0.shape}"
        )
    return new_h0, store_state(held_c0, c0, op.dtype)


def store_state(held, new, dtype):
    """new copied into held (reused when the shape matches, so nothing is allocated)."""
    if held is None or held.shape != new.shape:
        held = np.empty(new.shape, dtype)
    held[...] = new  # cast to the op's dtype
    return held


def final_state(op, n):
    """(h_T,) or (h_T, c_T) of the last forward over n rows, as copies."""
    if n < 0:
        raise RuntimeError(f"{op.name}.final_state() needs a forward call first")
    _, hs, cs, *_ = op._views(n)
    T = op.timesteps
    return (hs[T].copy(),) if cs is None else (hs[T].copy(), cs[T].copy())


def initial_state_grad(op, n):
    """(dh0,) or (dh0, dc0) of the last backward over n rows, as copies."""
    if n < 0:
        raise RuntimeError(f"{op.name}.initial_state_grad() needs a backward call first")
    *_, dh, dc = op._views(n)
    return (dh.copy(),) if dc is None else (dh.copy(), dc.copy())


def py_arg(op, name, a, size):
    """An array given to py_forward / py_backward: the op's dtype, `size` values per
    sample; returned C-contiguous as (n, size)."""
    _args.same_float_dtype(op.name, **{name: a, "op": np.empty(0, op.dtype)})
    if a.ndim < 1 or int(np.prod(a.shape[1:])) != size:
        raise ValueError(
            f"{op.name} expected {name} of {size} values per sample. "
            f"Received: {name}.shape={a.shape}"
        )
    return np.ascontiguousarray(a).reshape(a.shape[0], size)


# The function-level recurrent API, written once over a backend's Op classes: both
# backend.compiled.recurrent and backend.reference.recurrent bind it to their own
# SimpleRNNOp, LSTMOp and GRUOp, so the two expose the same functions and docstrings.
def bind(SimpleRNNOp, LSTMOp, GRUOp):
    """The six functions for these Op classes, as a tuple in the order
    (simple_rnn_forward, simple_rnn_backward, lstm_forward, lstm_backward,
    gru_forward, gru_backward). Each forward runs a fresh op, returned as the cache."""

    def _grads_like(*arrays):
        return [None if a is None else np.zeros_like(a) for a in arrays]

    def _forward_fn(op, x, h0, c0):
        if h0 is not None or c0 is not None:
            op.set_initial_state(
                h0 if h0 is not None else np.zeros((x.shape[0], op.units), x.dtype), c0
            )
        n, T = x.shape[0], x.shape[1]
        return op.py_forward(x).reshape(n, T, op.units)

    def _backward_fn(func, op, dhs, dh_last, dc_last=None):
        check_grads(func, op, dhs, dh_last, dc_last)
        dx = op.py_backward_full(dhs, dh_last, dc_last)
        return (dx, *(None if g is None else g.copy() for g in op.grads), *op.initial_state_grad())

    def simple_rnn_forward(x, W, U, b, h0=None, activation="tanh", go_backwards=False):
        """SimpleRNN over x (n, T, F); returns (hs (n, T, H), cache)."""
        check_activation("simple_rnn_forward", activation)
        check_sequence("simple_rnn_forward", x, W, U, {"b": b}, 1, h0)
        op = SimpleRNNOp(
            W, U, b, *_grads_like(W, U, b), x.shape[1], activation, True, True, go_backwards
        )
        return _forward_fn(op, x, h0, None), op

    def simple_rnn_backward(cache, dhs, dh_last=None):
        """Returns (dx (n, T, F), dW, dU, db, dh0 (n, H)); db None without bias."""
        return _backward_fn("simple_rnn_backward", cache, dhs, dh_last)

    def lstm_forward(x, W, U, b, h0=None, c0=None, go_backwards=False):
        """LSTM over x (n, T, F); returns (hs (n, T, H), c_last (n, H), cache)."""
        check_sequence("lstm_forward", x, W, U, {"b": b}, 4, h0, c0)
        op = LSTMOp(W, U, b, *_grads_like(W, U, b), x.shape[1], True, True, go_backwards)
        hs = _forward_fn(op, x, h0, c0)
        return hs, op.final_state()[1], op

    def lstm_backward(cache, dhs, dh_last=None, dc_last=None):
        """Returns (dx (n, T, F), dW, dU, db, dh0 (n, H), dc0 (n, H)); db None without bias."""
        return _backward_fn("lstm_backward", cache, dhs, dh_last, dc_last)

    def gru_forward(x, W, U, b_ih, b_hh, h0=None, go_backwards=False):
        """GRU over x (n, T, F); returns (hs (n, T, H), cache)."""
        check_sequence("gru_forward", x, W, U, {"b_ih": b_ih, "b_hh": b_hh}, 3, h0)
        op = GRUOp(
            W, U, b_ih, b_hh, *_grads_like(W, U, b_ih, b_hh), x.shape[1], True, True, go_backwards
        )
        return _forward_fn(op, x, h0, None), op

    def gru_backward(cache, dhs, dh_last=None):
        """Returns (dx (n, T, F), dW, dU, db_ih, db_hh, dh0 (n, H)); biases None without bias."""
        return _backward_fn("gru_backward", cache, dhs, dh_last)

    return (
        simple_rnn_forward,
        simple_rnn_backward,
        lstm_forward,
        lstm_backward,
        gru_forward,
        gru_backward,
    )
