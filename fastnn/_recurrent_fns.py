"""The function-level recurrent API (simple_rnn_forward/backward, lstm_..., gru_...),
written once over a backend's Op classes: fastnn._kernels.recurrent and its twin
fastnn.reference.recurrent both bind it to their own SimpleRNNOp, LSTMOp and GRUOp,
so the two modules expose the same functions, signatures and docstrings."""
import numpy as np

from fastnn._recurrent_args import check_activation, check_grads, check_sequence


def bind(SimpleRNNOp, LSTMOp, GRUOp):
    """The six functions for these Op classes, as a tuple in the order
    (simple_rnn_forward, simple_rnn_backward, lstm_forward, lstm_backward,
    gru_forward, gru_backward). Each forward runs a fresh op, returned as the cache."""

    def _grads_like(*arrays):
        return [None if a is None else np.zeros_like(a) for a in arrays]

    def _forward_fn(op, x, h0, c0):
        if h0 is not None or c0 is not None:
            op.set_initial_state(h0 if h0 is not None else np.zeros((x.shape[0], op.units), x.dtype),
                                 c0)
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
        op = SimpleRNNOp(W, U, b, *_grads_like(W, U, b), x.shape[1], activation, True, True,
                         go_backwards)
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
        op = GRUOp(W, U, b_ih, b_hh, *_grads_like(W, U, b_ih, b_hh), x.shape[1], True, True,
                   go_backwards)
        return _forward_fn(op, x, h0, None), op

    def gru_backward(cache, dhs, dh_last=None):
        """Returns (dx (n, T, F), dW, dU, db_ih, db_hh, dh0 (n, H)); biases None without bias."""
        return _backward_fn("gru_backward", cache, dhs, dh_last)

    return (simple_rnn_forward, simple_rnn_backward, lstm_forward, lstm_backward,
            gru_forward, gru_backward)
