"""Argument checks of the recurrent kernels, shared by the compiled module and its
NumPy twin (fastnn/backend/compiled/recurrent.pyx, fastnn/backend/reference/recurrent.py) so both
raise the same errors."""

import numpy as np

from fastnn.backend.contract import args as _args

RNN_ACTIVATIONS = ("tanh", "relu")


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
