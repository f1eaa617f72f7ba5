"""NumPy twin of fastnn/backend/compiled/recurrent.pyx: SimpleRNN, LSTM and GRU, forward and
backward through time (BPTT). The per-timestep gate kernels twin csrc/kernels/recurrent_impl.inc.

Conventions (docs/architecture.md, "Numerics"):
  x (n, T, F) batch-first; W (F, kH), U (H, kH), gate blocks side by side:
  SimpleRNN k=1:  h_t = act(x_t W + h_{t-1} U + b),  act tanh or relu, b (H,)
  LSTM k=4 [i|f|g|o], one summed bias b (4H,):
      c_t = f*c_{t-1} + i*g,  h_t = o*tanh(c_t)
  GRU k=3 [r|z|n], PyTorch / Keras reset_after=True form, b_ih (3H,), b_hh (3H,):
      n = tanh(x W_n + b_in + r*(h_{t-1} U_n + b_hn)),  h_t = (1-z)*n + z*h_{t-1}
  Biases may be None (use_bias=False): zero bias, no bias gradient.
  go_backwards=True processes the timesteps last to first; the sequence output is
  then in processing order (output t belongs to input T-1-t), as in Keras.

The plan (docs/architecture.md, "How a training step runs"): x is copied once to
time-major (T, n, F);
one GEMM projects all timesteps; inside the time loop only h_{t-1} @ U and one
fused gate kernel per step. Backward runs only the gate backward and dG_t @ U.T
per step and leaves dW, dU and dx to one GEMM each after the loop. Workspaces are
time-major: hs (T+1, n, H) holds h0..h_T, cs (T+1, n, H) c0..c_T (LSTM), gates
(T, n, kH) the gate activations, overwritten by their gradients in backward.

Functions (one call each, a fresh op per forward; the cache is that op):
  simple_rnn_forward(x, W, U, b, h0=None, activation="tanh", go_backwards=False)
      -> (hs (n, T, H), cache)
  simple_rnn_backward(cache, dhs, dh_last=None) -> (dx, dW, dU, db, dh0)
  lstm_forward(x, W, U, b, h0=None, c0=None, go_backwards=False)
      -> (hs (n, T, H), c_last (n, H), cache)
  lstm_backward(cache, dhs, dh_last=None, dc_last=None) -> (dx, dW, dU, db, dh0, dc0)
  gru_forward(x, W, U, b_ih, b_hh, h0=None, go_backwards=False) -> (hs (n, T, H), cache)
  gru_backward(cache, dhs, dh_last=None) -> (dx, dW, dU, db_ih, db_hh, dh0)
dhs is the gradient of the whole sequence output (n, T, H) or None; dh_last (and
dc_last) the gradient of the final state (n, H) or None. The final hidden state is
hs[:, -1]. A cache is consumed by its backward (the gate activations are
overwritten by their gradients): a second backward raises.

Ops (for a Net): SimpleRNNOp, LSTMOp, GRUOp; see _RecurrentOp. An op's workspaces
belong to one call at a time: ops are not thread-safe (the model serialises calls).
"""

import numpy as np

from fastnn.backend.contract import recurrent as _c
from fastnn.backend.contract.recurrent import (  # noqa: F401  (shared checks, re-exported)
    GRU,
    LSTM,
    RNN_ACTIVATIONS,
    SIMPLE_RNN,
    check_activation,
    check_grads,
    check_sequence,
    check_state,
    check_timesteps,
    check_weights,
)
from fastnn.backend.contract.recurrent import bind as _bind
from fastnn.backend.reference._op import Op
from fastnn.backend.reference.activations import _sigmoid
from fastnn.backend.reference.dropout import dropout_mask

# ---- twins of the C gate kernels (csrc/kernels/recurrent_impl.inc), one timestep ------------


def simple_rnn_step_forward(h, b, activation):
    """h = act(h + b) in place; h (n, H) holds x_t W + h_{t-1} U on entry."""
    h += b
    if activation == "relu":
        np.maximum(h, 0, out=h)
    else:
        np.tanh(h, out=h)


def simple_rnn_step_backward(da, h, dh, dy, activation):
    """da = (dh + dy) * act'(.) from the step output h; dy may be None."""
    d = dh + dy if dy is not None else dh
    if activation == "relu":
        da[...] = np.where(h > 0, d, 0)
    else:
        da[...] = d * (1 - h * h)


def lstm_step_forward(gates, b, c_prev, c, tc, h):
    """gates (n, 4H): x_t W + h_{t-1} U on entry, activations [i|f|g|o] on exit.
    c = f*c_prev + i*g; tc = tanh(c); h = o*tc."""
    H = c.shape[1]
    gates += b
    i = _sigmoid(gates[:, :H])
    f = _sigmoid(gates[:, H : 2 * H])
    g = np.tanh(gates[:, 2 * H : 3 * H])
    o = _sigmoid(gates[:, 3 * H :])
    c[...] = f * c_prev + i * g
    np.tanh(c, out=tc)
    np.multiply(o, tc, out=h)
    gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :] = i, f, g, o


def lstm_step_backward(gates, tc, c_prev, dh, dy, dc):
    """gates: activations on entry, pre-activation gradients [di|df|dg|do] on exit.
    dc: gradient of c_t on entry, of c_{t-1} on exit. dh is only read."""
    H = dc.shape[1]
    i, f, g, o = (
        gates[:, :H].copy(),
        gates[:, H : 2 * H].copy(),
        gates[:, 2 * H : 3 * H].copy(),
        gates[:, 3 * H :].copy(),
    )
    d = dh + dy if dy is not None else dh
    dcj = dc + d * o * (1 - tc * tc)
    do = d * tc
    di, df, dg = dcj * g, dcj * c_prev, dcj * i
    dc[...] = dcj * f
    gates[:, :H] = di * i * (1 - i)
    gates[:, H : 2 * H] = df * f * (1 - f)
    gates[:, 2 * H : 3 * H] = dg * (1 - g * g)
    gates[:, 3 * H :] = do * o * (1 - o)


def gru_step_forward(gates, hu, b_ih, b_hh, h_prev, hn, h):
    """gates (n, 3H): x_t W on entry, activations [r|z|n] on exit; hu = h_{t-1} U.
    hn = h_{t-1} U_n + b_hn; n = tanh(x W_n + b_in + r*hn); h = (1-z)*n + z*h_prev."""
    H = h.shape[1]
    r = _sigmoid(gates[:, :H] + b_ih[:H] + hu[:, :H] + b_hh[:H])
    z = _sigmoid(gates[:, H : 2 * H] + b_ih[H : 2 * H] + hu[:, H : 2 * H] + b_hh[H : 2 * H])
    # the hidden bias of n sits inside r * (...): PyTorch / reset_after form
    hn[...] = hu[:, 2 * H :] + b_hh[2 * H :]
    nn = np.tanh(gates[:, 2 * H :] + b_ih[2 * H :] + r * hn)
    gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H :] = r, z, nn
    h[...] = (1 - z) * nn + z * h_prev


def gru_step_backward(gates, hn, h_prev, dh, dy):
    """gates: activations [r|z|n] on entry, hidden-side gradients [da_r|da_z|r*da_n] on
    exit; hn: hn on entry, da_n on exit; dh: carried gradient on entry, dh*z on exit."""
    H = dh.shape[1]
    r, z, nn = gates[:, :H].copy(), gates[:, H : 2 * H].copy(), gates[:, 2 * H :].copy()
    d = dh + dy if dy is not None else dh.copy()
    dn = d * (1 - z)
    dz = d * (h_prev - nn)
    dan = dn * (1 - nn * nn)
    dr = dan * hn
    gates[:, :H] = dr * r * (1 - r)
    gates[:, H : 2 * H] = dz * z * (1 - z)
    gates[:, 2 * H :] = dan * r
    hn[...] = dan
    dh[...] = d * z


# ---- time loops (twins of the nogil functions in recurrent.pyx) ---------------------


# ---- masked steps (Keras: a masked step carries the state; twins of csrc rnn_mask_*) -----


class _Mask:
    """The input mask of one op call: m (n, T) uint8 batch-first (0: masked step), read
    in processing order; keep, keepc the (n, H) backward scratch."""

    def __init__(self, m, reverse, zero_out, keep=None, keepc=None):
        self.m, self.reverse, self.zero_out = m, reverse, zero_out
        self.keep, self.keepc = keep, keepc

    def off(self, t):
        # the rows masked at processing step t
        T = self.m.shape[1]
        return self.m[:, T - 1 - t if self.reverse else t] == 0

    def carry(self, t, hp, h, cp=None, c=None):
        # 3c. masked rows: h_t = h_{t-1} (LSTM: c_t = c_{t-1})
        off = self.off(t)
        h[off] = hp[off]
        if c is not None:
            c[off] = cp[off]

    def save(self, t, dh, dy_t, dc=None):
        # 5m. masked rows keep dh + dy_t (zero_output_for_mask: dh) and dc for step t-1
        off = self.off(t)
        self.keep[off] = dh[off] if dy_t is None or self.zero_out else dh[off] + dy_t[off]
        if dc is not None:
            self.keepc[off] = dc[off]

    def restore(self, t, dh, dc, g, aux=None):
        # 5c. masked rows: dh, dc = what 5m kept; their gate gradients (GRU: and da_n) zero
        off = self.off(t)
        dh[off] = self.keep[off]
        if dc is not None:
            dc[off] = self.keepc[off]
        g[off] = 0
        if aux is not None:
            aux[off] = 0


# ---- dropout in the loop (Keras implementation=1; twins of recurrent.pyx's _drop_forward,
# _drop_backward, _du and the per-gate products, and of csrc rnn_drop_*) ----------------
# In training each gate q reads the input through its own mask d_q (n, F) and the state
# through its own mask m_q (n, H), drawn once per call and the same at every step (Keras'
# DropoutRNNCell with dropout_mask_count = gates): the projection becomes one product per
# gate, (x * d_q) @ W_q, and the step's h_{t-1} @ U becomes (h_{t-1} * m_q) @ U_q. The
# state the cell carries (LSTM's f c_{t-1}, GRU's z h_{t-1}) is the unmasked one.


class Drop:
    """The dropout masks of one op call and the workspaces that keep what backward needs: d
    (G, n, F) or None and xg (G, T, n, F) for the inputs, m (G, n, H) or None and hm
    (T, n, G*H) for the states."""

    def __init__(self, d, xg, m, hm):
        self.d, self.xg, self.m, self.hm = d, xg, m, hm

    @property
    def states(self):
        return self.m is not None

    @property
    def inputs(self):
        return self.d is not None

    # -- the states (in the time loop)
    def forward(self, t, h, u, out, add):
        # 3a'. out[:, qH:(q+1)H] (+)= (h * m_q) @ U_q per gate; hm[t] keeps h * m_q for dU
        H = h.shape[1]
        for q in range(self.m.shape[0]):
            cols = slice(q * H, (q + 1) * H)
            self.hm[t][:, cols] = h * self.m[q]
            p = self.hm[t][:, cols] @ u[:, cols]
            if add:
                out[:, cols] += p
            else:
                out[:, cols] = p

    def backward(self, g, u, dh, add):
        # 5b'. dh (+)= sum over q of m_q * (dG_q @ U_q^T), g this step's dG
        H = dh.shape[1]
        for q in range(self.m.shape[0]):
            cols = slice(q * H, (q + 1) * H)
            p = self.m[q] * (g[:, cols] @ u[:, cols].T)
            if add or q > 0:
                dh += p
            else:
                dh[...] = p

    def du(self, g, du):
        # 7'. dU_q = hm_q.T @ dG_q over all T*n rows, g (T, n, G*H)
        T, n, k = g.shape
        H = du.shape[0]
        hm, g = self.hm.reshape(T * n, k), g.reshape(T * n, k)
        for q in range(self.m.shape[0]):
            cols = slice(q * H, (q + 1) * H)
            du[:, cols] = hm[:, cols].T @ g[:, cols]

    # -- the inputs (the projection before the loop, the products after it): one mask for
    # every gate (implementation=2) or one per gate; src(q) is what gate q's columns read
    def _src(self, q):
        return self.xg[q if len(self.xg) > 1 else 0]

    def project(self, x_tm, w, gates):
        # 2'. xg[q] = x_tm * d_q, then gates[..., q] = xg[q] @ W_q (one GEMM with one mask)
        for q in range(len(self.d)):
            self.xg[q] = x_tm * self.d[q]
        if len(self.d) == 1:
            np.matmul(self.xg[0], w, out=gates)
            return
        H = w.shape[1] // len(self.d)
        for q in range(len(self.d)):
            cols = slice(q * H, (q + 1) * H)
            gates[..., cols] = self.xg[q] @ w[:, cols]

    def dw(self, gx, dw, gates):
        # 6'. dW_q = src(q).T @ dG_x,q; gx(q): the gradient of gate q's projection (T*n, H)
        G, T, n, F = self.xg.shape
        H = dw.shape[1] // gates
        for q in range(gates):
            dw[:, q * H : (q + 1) * H] = self._src(q).reshape(T * n, F).T @ gx(q)

    def dx(self, gx, w, x_tm, gates):
        # 9'. src(q) (+)= dG_x,q @ W_q.T, then dx_tm = sum over the masks of d_q * xg[q]
        G, T, n, F = self.xg.shape
        H = w.shape[1] // gates
        for q in range(gates):
            p = (gx(q) @ w[:, q * H : (q + 1) * H].T).reshape(T, n, F)
            if G == 1 and q > 0:
                self.xg[0] += p
            else:
                self.xg[q if G > 1 else 0] = p
        x_tm[...] = self.d[0] * self.xg[0]
        for q in range(1, G):
            x_tm += self.d[q] * self.xg[q]


def _to_time_major(x, x_tm, reverse):
    # x (n, T, F) batch-first -> x_tm (T, n, F); time reversed when go_backwards
    x_tm[...] = (x[:, ::-1] if reverse else x).transpose(1, 0, 2)


def _from_time_major(a_tm, a, reverse):
    # a_tm (T, n, F) -> a (n, T, F) batch-first; time reversed when go_backwards
    a[...] = (a_tm[::-1] if reverse else a_tm).transpose(1, 0, 2)


def _bias_grad(g, db):
    # column sums over all T*n rows, accumulated in float64 (bias_grad in activations)
    db[...] = g.reshape(-1, g.shape[-1]).sum(axis=0, dtype=np.float64)


def _simple_rnn_forward(x, x_tm, w, u, b, hs, activation, reverse, mk=None, dr=None):
    T = x_tm.shape[0]
    # 1. x_tm = x in time-major order (time reversed when go_backwards)
    _to_time_major(x, x_tm, reverse)
    # 2. hs[1:] = x_tm @ W for all timesteps (one GEMM, T*n rows)
    _project(x_tm, w, hs[1:], dr)
    # 3. the time loop: 3a. h_{t-1} @ U and 3b. the fused gate kernel per step
    for t in range(T):
        # 3a. hs[t+1] (= x_t @ W) += hs[t] @ U (recurrent dropout: (hs[t] * m) @ U)
        if dr is not None and dr.states:
            dr.forward(t, hs[t], u, hs[t + 1], True)
        else:
            hs[t + 1] += hs[t] @ u
        # 3b. hs[t+1] = act(hs[t+1] + b), fused
        simple_rnn_step_forward(hs[t + 1], b, activation)
        if mk is not None:
            mk.carry(t, hs[t], hs[t + 1])


def _simple_rnn_backward(
    x_tm, w, u, hs, da, dy, dh, dw, du, db, dx, activation, reverse, mk=None, dr=None
):
    T = x_tm.shape[0]
    # 5. the time loop backward: 5a. gate backward and 5b. da_t @ U.T per step, last first
    for t in range(T - 1, -1, -1):
        dy_t = None if dy is None else dy[:, t]
        if mk is not None:
            mk.save(t, dh, dy_t)
        # 5a. da_t = (dh + dy_t) * act'(h_t)
        simple_rnn_step_backward(da[t], hs[t + 1], dh, dy_t, activation)
        # 5b. dh = da_t @ U.T (the gradient of h_{t-1}; recurrent dropout: times m)
        if dr is not None and dr.states:
            dr.backward(da[t], u, dh, False)
        else:
            np.matmul(da[t], u.T, out=dh)
        if mk is not None:
            mk.restore(t, dh, None, da[t])
    # 6. dW = x_tm.T @ da (one GEMM, T*n rows)
    # 7. dU = hs[:T].T @ da (one GEMM; both in _dense_grads)
    _dense_grads(x_tm, hs, da, dw, du, dr)
    # 8. db = column sums of da (in double)
    if db is not None:
        _bias_grad(da, db)
    # 9. dx: dx_tm = da @ W.T (into x_tm, no longer needed), back to batch-first order
    if dx is not None:
        _input_grad(da, w, x_tm, dr, hs.shape[2])
        _from_time_major(x_tm, dx, reverse)


def _input_grad(g, w, x_tm, dr, u_units):
    # 9. dx_tm = dG @ W.T (into x_tm; input dropout in the loop: Drop.dx)
    if dr is not None and dr.inputs:
        k, H = g.shape[2], u_units
        g2 = g.reshape(-1, k)
        dr.dx(lambda q: g2[:, q * H : (q + 1) * H], w, x_tm, k // H)
    else:
        np.matmul(g, w.T, out=x_tm)


def _dense_grads(x_tm, hs, g, dw, du, dr=None):
    # dW = x_tm.T @ g and dU = h_prev.T @ g over all T*n rows (one GEMM each; with
    # dropout in the loop one per gate: Drop.dw, Drop.du)
    T, n, F = x_tm.shape
    H, k = hs.shape[2], g.shape[2]
    g2 = g.reshape(T * n, k)
    if dr is not None and dr.inputs:
        dr.dw(lambda q: g2[:, q * H : (q + 1) * H], dw, k // H)
    else:
        np.matmul(x_tm.reshape(T * n, F).T, g2, out=dw)
    if dr is not None and dr.states:
        dr.du(g, du)
    else:
        np.matmul(hs[:T].reshape(T * n, H).T, g2, out=du)


def _project(x_tm, w, gates, dr):
    # 2. gates = x_tm @ W for all timesteps (one GEMM, T*n rows; per-gate input dropout:
    #    one per gate, Drop.project)
    if dr is not None and dr.inputs:
        dr.project(x_tm, w, gates)
    else:
        np.matmul(x_tm, w, out=gates)


def _lstm_forward(x, x_tm, w, u, b, hs, cs, gates, tc, reverse, mk=None, dr=None):
    T = x_tm.shape[0]
    # 1. x_tm = x in time-major order (time reversed when go_backwards)
    _to_time_major(x, x_tm, reverse)
    # 2. gates = x_tm @ W for all timesteps
    _project(x_tm, w, gates, dr)
    # 3. the time loop: 3a. h_{t-1} @ U and 3b. the fused gate kernel per step
    for t in range(T):
        # 3a. gates_t (= x_t @ W) += hs[t] @ U (recurrent dropout: per gate, 3a')
        if dr is not None and dr.states:
            dr.forward(t, hs[t], u, gates[t], True)
        else:
            gates[t] += hs[t] @ u
        # 3b. fused gates: activations, c_t, tanh(c_t), h_t
        lstm_step_forward(gates[t], b, cs[t], cs[t + 1], tc[t], hs[t + 1])
        if mk is not None:
            mk.carry(t, hs[t], hs[t + 1], cs[t], cs[t + 1])


def _lstm_backward(
    x_tm, w, u, hs, cs, gates, tc, dy, dh, dc, dw, du, db, dx, reverse, mk=None, dr=None
):
    T = x_tm.shape[0]
    # 5. the time loop backward: 5a. gate backward and 5b. dG_t @ U.T per step, last first
    for t in range(T - 1, -1, -1):
        dy_t = None if dy is None else dy[:, t]
        if mk is not None:
            mk.save(t, dh, dy_t, dc)
        # 5a. gate backward: gates_t <- dG_t, dc <- gradient of c_{t-1}
        lstm_step_backward(gates[t], tc[t], cs[t], dh, dy_t, dc)
        # 5b. dh = dG_t @ U.T (the gradient of h_{t-1}; recurrent dropout: per gate, 5b')
        if dr is not None and dr.states:
            dr.backward(gates[t], u, dh, False)
        else:
            np.matmul(gates[t], u.T, out=dh)
        if mk is not None:
            mk.restore(t, dh, dc, gates[t])
    # 6. dW = x_tm.T @ dG (one GEMM, T*n rows)
    # 7. dU = hs[:T].T @ dG (one GEMM; both in _dense_grads)
    _dense_grads(x_tm, hs, gates, dw, du, dr)
    # 8. db = column sums of dG (in double)
    if db is not None:
        _bias_grad(gates, db)
    # 9. dx: dx_tm = dG @ W.T (into x_tm, no longer needed), back to batch-first order
    #    (per-gate input dropout: Drop.dx)
    if dx is not None:
        _input_grad(gates, w, x_tm, dr, hs.shape[2])
        _from_time_major(x_tm, dx, reverse)


def _gru_forward(x, x_tm, w, u, b_ih, b_hh, hs, gates, hn, hu, reverse, mk=None, dr=None):
    T = x_tm.shape[0]
    # 1. x_tm = x in time-major order (time reversed when go_backwards)
    _to_time_major(x, x_tm, reverse)
    # 2. gates = x_tm @ W for all timesteps
    _project(x_tm, w, gates, dr)
    # 3. the time loop: 3a. h_{t-1} @ U and 3b. the fused gate kernel per step
    for t in range(T):
        # 3a. hu = hs[t] @ U (recurrent dropout: per gate, 3a')
        if dr is not None and dr.states:
            dr.forward(t, hs[t], u, hu, False)
        else:
            np.matmul(hs[t], u, out=hu)
        # 3b. fused gates: r, z, n, hn_t, h_t (gates_t holds x_t @ W)
        gru_step_forward(gates[t], hu, b_ih, b_hh, hs[t], hn[t], hs[t + 1])
        if mk is not None:
            mk.carry(t, hs[t], hs[t + 1])


def _gru_backward(
    x_tm, w, u, hs, gates, hn, dy, dh, dw, du, db_ih, db_hh, dx, reverse, mk=None, dr=None
):
    T, n, F = x_tm.shape
    H = hs.shape[2]
    # 5. the time loop backward: 5a. gate backward and 5b. G_h @ U.T per step, last first
    for t in range(T - 1, -1, -1):
        dy_t = None if dy is None else dy[:, t]
        if mk is not None:
            mk.save(t, dh, dy_t)
        # 5a. gate backward: gates_t <- G_h = [da_r|da_z|r*da_n], hn_t <- da_n, dh <- dh*z
        gru_step_backward(gates[t], hn[t], hs[t], dh, dy_t)
        # 5b. dh += G_h @ U.T (the gradient of h_{t-1}; recurrent dropout: per gate, 5b')
        if dr is not None and dr.states:
            dr.backward(gates[t], u, dh, True)
        else:
            dh += gates[t] @ u.T
        if mk is not None:
            mk.restore(t, dh, None, gates[t], hn[t])
    g = gates.reshape(T * n, 3 * H)
    dan = hn.reshape(T * n, H)
    xt = x_tm.reshape(T * n, F)

    # the gradient of gate q's input projection: G_x = [da_r|da_z|da_n]
    def gx(q):
        return g[:, q * H : (q + 1) * H] if q < 2 else dan

    # 6. dU = hs[:T].T @ G_h (one GEMM; recurrent dropout: per gate, Drop.du)
    if dr is not None and dr.states:
        dr.du(gates, du)
    else:
        np.matmul(hs[:T].reshape(T * n, H).T, g, out=du)
    # 7. dW = x_tm.T @ G_x with G_x = [da_r|da_z|da_n]: G_x shares its r, z columns with
    #    G_h, so two GEMMs write the r,z and the n columns (no (T, n, 3H) copy of G_x);
    #    per-gate input dropout: one per gate (Drop.dw)
    if dr is not None and dr.inputs:
        dr.dw(gx, dw, 3)
    else:
        dw[:, : 2 * H] = xt.T @ g[:, : 2 * H]
        dw[:, 2 * H :] = xt.T @ dan
    # 8. db_hh = column sums of G_h; db_ih: the same r, z sums, column sums of da_n for n
    if db_hh is not None:
        _bias_grad(g, db_hh)
        db_ih[: 2 * H] = db_hh[: 2 * H]
        _bias_grad(dan, db_ih[2 * H :])
    # 9. dx: dx_tm = G_x @ W.T (two GEMMs again, into x_tm), back to batch-first order
    if dx is not None:
        if dr is not None and dr.inputs:
            dr.dx(gx, w, x_tm, 3)
        else:
            np.matmul(g[:, : 2 * H], w[:, : 2 * H].T, out=xt)
            xt += dan @ w[:, 2 * H :].T
        _from_time_major(x_tm, dx, reverse)


# ---- dispatch (one call per op call) ------------------------------------------------


def _run_forward(
    kind,
    x,
    x_tm,
    w,
    u,
    b,
    b2,
    hs,
    cs,
    gates,
    aux,
    hu,
    out,
    return_sequences,
    activation,
    reverse,
    mk=None,
    dr=None,
):
    n, T, H = x.shape[0], x.shape[1], hs.shape[2]
    # 3c. (in the loops) with a mask, masked rows carry their state (_Mask.carry); dr:
    # dropout in the loop (Drop)
    if kind == SIMPLE_RNN:
        _simple_rnn_forward(x, x_tm, w, u, b, hs, activation, reverse, mk, dr)
    elif kind == LSTM:
        _lstm_forward(x, x_tm, w, u, b, hs, cs, gates, aux, reverse, mk, dr)
    else:
        _gru_forward(x, x_tm, w, u, b, b2, hs, gates, aux, hu, reverse, mk, dr)
    # 4. the output, batch-first: every h_t in processing order, or the final state
    if return_sequences:
        seq = out.reshape(n, T, H)
        _from_time_major(hs[1:], seq, False)
        if mk is not None and mk.zero_out:  # zero_output_for_mask: masked steps output 0
            for t in range(T):
                seq[mk.off(t), t] = 0
    else:
        out[...] = hs[T]


def _run_backward(
    kind,
    x_tm,
    w,
    u,
    hs,
    cs,
    gates,
    aux,
    dy,
    dh,
    dc,
    dw,
    du,
    db,
    db2,
    dx,
    activation,
    reverse,
    mk=None,
    dr=None,
):
    # with a mask, 5m before and 5c after each step pass a masked row's gradients
    # straight through (_Mask.save / restore)
    args = (dw, du, db) if kind != GRU else (dw, du, db, db2)
    if kind == SIMPLE_RNN:
        _simple_rnn_backward(x_tm, w, u, hs, aux, dy, dh, *args, dx, activation, reverse, mk, dr)
    elif kind == LSTM:
        _lstm_backward(x_tm, w, u, hs, cs, gates, aux, dy, dh, dc, *args, dx, reverse, mk, dr)
    else:
        _gru_backward(x_tm, w, u, hs, gates, aux, dy, dh, *args, dx, reverse, mk, dr)


# ---- Ops -----------------------------------------------------------------------------


class _RecurrentOp(Op):
    """A recurrent layer inside a Net. Input: (n, T*F) batch-first samples; output:
    (n, T*H) batch-first when return_sequences, else the final state (n, H). Backward
    reads dy in the output's layout and writes dx (n, T*F) batch-first.

    State: set_initial_state(h0, c0=None) copies (n, H) arrays into the op (None:
    zeros); they are the initial state of every later forward until reset. With
    carry_state = True each forward's final state becomes the next forward's
    initial state (stateful=True). final_state() and initial_state_grad() return
    copies from the last forward / backward.

    Not thread-safe: the workspaces belong to one call at a time."""

    def __init__(
        self,
        name,
        kind,
        W,
        U,
        biases,
        grads,
        timesteps,
        return_sequences,
        need_dx,
        go_backwards,
        activation=None,
    ):
        p = _c.unpack_op(name, kind, W, U, biases, grads, timesteps, activation)
        H = p["H"]
        Op.__init__(
            self, timesteps * p["F"], timesteps * H if return_sequences else H, p["dt"], need_dx
        )
        self.name, self.kind, self.activation = name, kind, activation
        self.timesteps, self.features, self.units, self.k = int(timesteps), p["F"], H, p["k"]
        self.return_sequences, self.go_backwards = bool(return_sequences), bool(go_backwards)
        self.carry_state = self.zero_output = False
        self.w, self.u, self.dw, self.du = W, U, grads["dW"], grads["dU"]
        self.grads = tuple(grads.values())  # (dW, dU, db) or (dW, dU, db_ih, db_hh)
        self.b, self.b2, self.db, self.db2 = p["b"], p["b2"], p["db"], p["db2"]
        self.ws = None
        self.h0 = self.c0 = None
        self.n_fwd = self.n_bwd = -1
        self.consumed = True
        self.rate = self.recurrent_rate = 0.0
        self.seed = self.counter = self.input_masks = 0
        self.dropped = False

    @property
    def draws_masks(self):
        """Whether the op has dropout in its loop (set_dropout): a mask stream to keep."""
        return self.rate > 0 or self.recurrent_rate > 0

    def set_dropout(self, rate, recurrent_rate, seed, per_gate=True):
        """Dropout inside the loop, in training: `rate` draws one input mask (n, F) per
        gate (Keras' implementation=1; per_gate=False: one for all gates, implementation=2),
        `recurrent_rate` one state mask (n, H) per gate, scaled by 1 / (1 - rate) and the
        same at every step. The masks come from the counter-based stream (seed, counter),
        which advances by their size per training forward. Before the op's first call."""
        self.rate, self.recurrent_rate, self.seed, self.input_masks = _c.check_dropout(
            self, rate, recurrent_rate, seed, per_gate
        )

    def draw_masks(self, n, training):
        # this forward's masks (training with a rate), else none; the backward reuses them
        self.dropped = training and (self.rate > 0 or self.recurrent_rate > 0)
        if not self.dropped:
            return
        for rate, name, size in (
            (self.rate, "dmask", self.input_masks * n * self.features),
            (self.recurrent_rate, "rmask", self.k * n * self.units),
        ):
            if rate > 0:
                m = size
                self.ws[name][:m] = dropout_mask(m, rate, self.seed, self.counter, self.dtype)
                self.counter += m

    def _drop(self, n):
        # the call's Drop (the last draw_masks'), or None
        if not self.dropped:
            return None
        T, F, H, k, ws = self.timesteps, self.features, self.units, self.k, self.ws

        def view(name, shape, on):
            return ws[name][: int(np.prod(shape))].reshape(shape) if on else None

        gi, gd = self.rate > 0, self.recurrent_rate > 0
        return Drop(
            view("dmask", (self.input_masks, n, F), gi),
            view("xg", (self.input_masks, T, n, F), gi),
            view("rmask", (k, n, H), gd),
            view("hm", (T, n, k * H), gd),
        )

    # -- workspaces (flat, sized for cap rows; views of the first n rows per call)
    def reserve(self, rows):
        rows = max(rows, 1)  # an empty batch still gets valid workspaces
        if rows <= self.cap:
            return 0
        T, F, H = self.timesteps, self.features, self.units
        self.ws = _c.workspaces(
            self.kind, T, rows, F, H, self.dtype, self.input_masks, self.recurrent_rate > 0
        )
        return Op.reserve(self, rows)

    def _views(self, n):
        return _c.workspace_views(self.ws, self.kind, self.timesteps, n, self.features, self.units)

    def _load_state(self, n):
        # hs[0] (and cs[0]) = the stored initial state, or zeros
        _, hs, cs, *_ = self._views(n)
        self._load(self.h0, hs, n)
        if self.kind == LSTM:
            self._load(self.c0, cs, n)

    def _load(self, state, ws, n):
        if state is None:
            ws[0] = 0
        elif state.shape[0] != n:
            raise _c.batch_state_error(self.name, state.shape[0], n)
        else:
            ws[0] = state

    def forward(self, x, n, training):
        T, F = self.timesteps, self.features
        x_tm, hs, cs, gates, aux, hu, _, _ = self._views(n)
        self._load_state(n)
        self.draw_masks(n, training)
        _run_forward(
            self.kind,
            x[:n].reshape(n, T, F),
            x_tm,
            self.w,
            self.u,
            self.b,
            self.b2,
            hs,
            cs,
            gates,
            aux,
            hu,
            self.out[:n],
            self.return_sequences,
            self.activation,
            self.go_backwards,
            self._mask(n),
            self._drop(n),
        )
        self.n_fwd, self.consumed = n, False
        if self.carry_state:
            self.h0 = self._carry(self.h0, hs[T], n)
            if self.kind == LSTM:
                self.c0 = self._carry(self.c0, cs[T], n)
        return self.out[:n]

    def _mask(self, n):
        # the call's _Mask, or None without an input mask
        m = self.input_mask(n, self.timesteps)
        if m is None:
            return None
        H, ws = self.units, self.ws
        keepc = None if ws["keepc"] is None else ws["keepc"][: n * H].reshape(n, H)
        keep = ws["keep"][: n * H].reshape(n, H)
        return _Mask(m, self.go_backwards, self.zero_output, keep, keepc)

    def _carry(self, state, final, n):
        # the final state becomes the next initial state; the stored array is reused,
        # so a stateful step allocates nothing (final is hs[T] or cs[T])
        if state is None or state.shape[0] != n:
            state = np.empty((n, self.units), self.dtype)
        state[...] = final
        return state

    def backward(self, x, dy, n):
        T, H = self.timesteps, self.units
        if self.return_sequences:
            return self._backward(dy[:n].reshape(n, T, H), None, None, n)
        return self._backward(None, dy[:n].reshape(n, H), None, n)

    def _backward(self, dhs, dh_last, dc_last, n):
        if n != self.n_fwd or self.consumed:
            raise _c.backward_order_error(self.name, n)
        T, F = self.timesteps, self.features
        x_tm, hs, cs, gates, aux, _, dh, dc = self._views(n)
        dh[...] = 0 if dh_last is None else dh_last
        if dc is not None:
            dc[...] = 0 if dc_last is None else dc_last
        dx = self.dx[:n].reshape(n, T, F) if self.need_dx else None
        _run_backward(
            self.kind,
            x_tm,
            self.w,
            self.u,
            hs,
            cs,
            gates,
            aux,
            dhs,
            dh,
            dc,
            self.dw,
            self.du,
            self.db,
            self.db2,
            dx,
            self.activation,
            self.go_backwards,
            self._mask(n),
            self._drop(n),
        )
        self.n_bwd, self.consumed = n, True
        return self.dx[:n] if self.need_dx else None

    # -- state API
    def set_initial_state(self, h0, c0=None):
        """Copy (n, H) initial states into the op (None: zeros). LSTM: c0 None with h0
        given means c0 = 0. They stay until the next call (or carry_state updates)."""
        self.h0, self.c0 = _c.initial_states(self, h0, c0, self.h0, self.c0)

    def final_state(self):
        """(h_T,) or (h_T, c_T) of the last forward, as copies (processing order: with
        go_backwards the state after the first input timestep)."""
        return _c.final_state(self, self.n_fwd)

    def initial_state_grad(self):
        """(dh0,) or (dh0, dc0) from the last backward, as copies."""
        return _c.initial_state_grad(self, self.n_bwd)

    def last_rows(self):
        """Rows of the last forward (-1 before any)."""
        return self.n_fwd

    # -- Python entry points (tests, direct use): copies in, copies out
    def py_forward(self, x, training=True):
        """Forward of x (n, T, F) or (n, T*F); returns a copy of the (n, out_size) output."""
        x = _c.py_arg(self, "x", x, self.in_size)
        n = x.shape[0]
        self.reserve(n)
        return self.forward(x, n, training).copy()

    def py_backward(self, dy):
        """Backward of the last forward from dy in the output's layout (n, out_size);
        returns a copy of dx (n, T*F), or None when not need_dx. Gradients go into
        the dW, dU, db views given to the constructor."""
        dy = _c.py_arg(self, "dy", dy, self.out_size)
        dx = self.backward(None, dy.copy(), dy.shape[0])
        return None if dx is None else dx.copy()

    def py_backward_full(self, dhs, dh_last=None, dc_last=None):
        """Backward of the last forward from the gradient of the whole sequence output
        dhs (n, T, H) or None and of the final state dh_last (and dc_last) (n, H) or
        None, whatever return_sequences says. Returns a copy of dx (n, T, F) (None
        when not need_dx); dh0 (and dc0) then come from initial_state_grad()."""
        check_grads(f"{self.name}.py_backward_full", self, dhs, dh_last, dc_last)
        dx = self._backward(dhs, dh_last, dc_last, self.n_fwd)
        n, T, F = self.n_fwd, self.timesteps, self.features
        return None if dx is None else dx.reshape(n, T, F).copy()


class SimpleRNNOp(_RecurrentOp):
    """SimpleRNN in a Net: h_t = act(x_t W + h_{t-1} U + b), act "tanh" or "relu".
    W (F, H), U (H, H), b (H,) or None; dW, dU, db the gradient views."""

    def __init__(
        self,
        W,
        U,
        b,
        dW,
        dU,
        db,
        timesteps,
        activation,
        return_sequences,
        need_dx,
        go_backwards=False,
    ):
        _RecurrentOp.__init__(
            self,
            "SimpleRNNOp",
            SIMPLE_RNN,
            W,
            U,
            {"b": b},
            {"dW": dW, "dU": dU, "db": db},
            timesteps,
            return_sequences,
            need_dx,
            go_backwards,
            activation,
        )


class LSTMOp(_RecurrentOp):
    """LSTM in a Net: gates [i|f|g|o], W (F, 4H), U (H, 4H), one bias b (4H,) or None."""

    def __init__(
        self, W, U, b, dW, dU, db, timesteps, return_sequences, need_dx, go_backwards=False
    ):
        _RecurrentOp.__init__(
            self,
            "LSTMOp",
            LSTM,
            W,
            U,
            {"b": b},
            {"dW": dW, "dU": dU, "db": db},
            timesteps,
            return_sequences,
            need_dx,
            go_backwards,
        )


class GRUOp(_RecurrentOp):
    """GRU in a Net (reset_after form): gates [r|z|n], W (F, 3H), U (H, 3H), two biases
    b_ih, b_hh (3H,) (both None without bias)."""

    def __init__(
        self,
        W,
        U,
        b_ih,
        b_hh,
        dW,
        dU,
        db_ih,
        db_hh,
        timesteps,
        return_sequences,
        need_dx,
        go_backwards=False,
    ):
        _c.check_gru_biases("GRUOp", b_ih, b_hh)
        _RecurrentOp.__init__(
            self,
            "GRUOp",
            GRU,
            W,
            U,
            {"b_ih": b_ih, "b_hh": b_hh},
            {"dW": dW, "dU": dU, "db_ih": db_ih, "db_hh": db_hh},
            timesteps,
            return_sequences,
            need_dx,
            go_backwards,
        )


# ---- functions: one forward (a fresh op, returned as the cache) and its backward ------
(
    simple_rnn_forward,
    simple_rnn_backward,
    lstm_forward,
    lstm_backward,
    gru_forward,
    gru_backward,
) = _bind(SimpleRNNOp, LSTMOp, GRUOp)
