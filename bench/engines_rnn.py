"""Engines for the recurrent training-step benchmark.

One training step is: the recurrent layer over all T timesteps, a Dense head on the
last hidden state, the loss, backpropagation through time, and an Adam update, in
float32 on fixed C-contiguous data of shape (B, T, F).  Each engine's
``build(config, seed)`` returns a runner whose ``step()`` runs one such step.  Heavy
libraries (fastnn, torch) are imported inside ``build`` so that each cell's fresh
process loads only its own.

``check_numpy_against_torch()`` is the one-off check that the plain-NumPy engine
computes the same loss, gradients and first Adam update as PyTorch from the same
weights (``python -m bench.rnn_step --check-numpy``); torch is imported there only.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from bench.engines_mlp import _row_major_gemm, glorot_uniform, import_fastnn
from bench.harness import Engine, EngineUnavailable
from bench.measure import fastnn_engines

LEARNING_RATE = 1e-3
BETA_1 = 0.9
BETA_2 = 0.999
EPSILON = 1e-7  # Keras' Adam default

GATES = {"simple": 1, "lstm": 4, "gru": 3}
LAYER_NAMES = {"simple": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


@dataclass(frozen=True)
class RNNConfig:
    name: str
    cell: str  # "simple", "lstm" or "gru"
    units: int  # H
    features: int  # F
    steps: int  # T
    batch: int  # B
    outputs: int  # units of the Dense head
    loss: str  # "bce" (Dense(1) sigmoid) or "softmax-ce" (sparse integer labels)
    activation: str = "tanh"  # SimpleRNN only: "relu" or "tanh"
    # tracemalloc steps of the fastnn engines are capped at this many for the config
    # (the bigger configs would otherwise spend minutes there); see rnn_step.py.
    alloc_steps_cap: int = 1000
    kind: str = "step"

    @property
    def gates(self) -> int:
        return GATES[self.cell]

    @property
    def keras_loss(self) -> str:
        return "binary_crossentropy" if self.loss == "bce" else "sparse_categorical_crossentropy"

    @property
    def head_activation(self) -> str:
        return "sigmoid" if self.loss == "bce" else "softmax"


def gemm_shapes(config: RNNConfig) -> list:
    """(m, n, k) of every GEMM of one step as the fast plan does them.

    With G gates (1, 4, 3), GH = G*H columns of pre-activations, and h_0 = 0:
    forward, the input projection of all timesteps at once (T*B, GH, F), then one
    h_{t-1} @ U per step for t = 1..T-1 (B, GH, H), then the head (B, O, H);
    backward, the head's weight and input gradients (H, O, B) and (B, H, O), one
    dG_t @ U.T per step for t = T-1..1 (B, H, GH), then dW = X.T @ dG (F, GH, T*B),
    dU = H_prev.T @ dG (H, GH, (T-1)*B) and dX = dG @ W.T (T*B, F, GH).  The steps
    where h_{t-1} = h_0 = 0 hold no GEMM work and are not counted.
    """
    T, B, F, H, O = (config.steps, config.batch, config.features, config.units, config.outputs)
    GH = config.gates * H
    shapes = [(T * B, GH, F)]  # input projection, all timesteps
    shapes += [(B, GH, H)] * (T - 1)  # h_{t-1} @ U, t = 1..T-1
    shapes.append((B, O, H))  # head forward
    shapes.append((H, O, B))  # head dW
    shapes.append((B, H, O))  # head dX: gradient reaching h_T
    shapes += [(B, H, GH)] * (T - 1)  # dh_{t-1} = dG_t @ U.T, t = T-1..1
    shapes.append((F, GH, T * B))  # dW
    if T > 1:
        shapes.append((H, GH, (T - 1) * B))  # dU
    shapes.append((T * B, F, GH))  # dX
    return shapes


def flops(config: RNNConfig) -> float:
    """2*m*n*k summed over the GEMMs of one step (see gemm_shapes)."""
    return float(sum(2 * m * n * k for m, n, k in gemm_shapes(config)))


def make_data(config: RNNConfig, seed: int):
    """Fixed inputs and targets shared by every engine (float32, C-contiguous).

    x is (B, T, F) standard normal; y is int64 class indices for softmax-CE and
    float32 (B, 1) zeros and ones for binary cross-entropy.
    """
    rng = np.random.default_rng(seed)
    x = np.ascontiguousarray(
        rng.standard_normal((config.batch, config.steps, config.features), dtype=np.float32)
    )
    if config.loss == "bce":
        y = rng.integers(0, 2, size=(config.batch, 1)).astype(np.float32)
    else:
        y = rng.integers(0, config.outputs, size=config.batch, dtype=np.int64)
    return x, y


def orthogonal(rng, rows: int, cols: int) -> np.ndarray:
    """Keras' orthogonal initialiser (gain 1)."""
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return q.astype(np.float32)


# ----------------------------------------------------------------------- fastnn


class FastnnRNN:
    """fastnn's Keras-shaped API; FASTNN_BACKEND decides compiled vs NumPy."""

    def __init__(self, config: RNNConfig, seed: int):
        fastnn = import_fastnn()
        from fastnn import Sequential, layers

        present = [n for n in LAYER_NAMES.values() if hasattr(layers, n)]
        if not present:
            # No recurrent layer at all yet: the engine is unavailable (n/a) and the
            # parent skips its remaining cells.
            raise EngineUnavailable(
                "fastnn.layers has no recurrent layers (SimpleRNN, LSTM, GRU) yet"
            )
        layer_name = LAYER_NAMES[config.cell]
        if layer_name not in present:
            # Some recurrent layers exist but not this one: fail this cell only, so
            # the engine's other configs still run.
            raise NotImplementedError(
                f"fastnn.layers has no {layer_name} yet (it has {', '.join(present)})"
            )

        self.fastnn = fastnn
        np.random.seed(seed)
        if hasattr(fastnn, "set_seed"):
            fastnn.set_seed(seed)
        kwargs = {"input_shape": (config.steps, config.features)}
        if config.cell == "simple":
            kwargs["activation"] = config.activation
        rnn = getattr(layers, layer_name)(config.units, **kwargs)
        head = layers.Dense(config.outputs, activation=config.head_activation)
        self.model = Sequential([rnn, head])
        self.model.compile(
            optimizer=fastnn.optimizers.Adam(learning_rate=LEARNING_RATE), loss=config.keras_loss
        )
        self.x, self.y = make_data(config, seed)

    def step(self):
        return self.model.train_on_batch(self.x, self.y)

    def info(self):
        return {
            "fastnn_file": getattr(self.fastnn, "__file__", None),
            "fastnn_version": getattr(self.fastnn, "__version__", None),
            "FASTNN_BACKEND": os.environ.get("FASTNN_BACKEND"),
        }


def build_fastnn(config, seed):
    return FastnnRNN(config, seed)


# ------------------------------------------------------------------ plain NumPy


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


class NumpyRNN:
    """An ordinary NumPy recurrent step: per-timestep loop, lists of cached values,
    temporaries allocated freely, Keras 3 Adam.

    Weights are in Keras' orientation (pre-activation x_t @ W + h @ U + b).  Gate
    columns: LSTM [i|f|g|o]; GRU [r|z|n] with an input bias and a recurrent bias
    (PyTorch's form, Keras' reset_after=True).  SimpleRNN and LSTM have one bias.
    ``dtype`` is float32 for the benchmark; the torch check also runs it in float64.
    """

    def __init__(self, config: RNNConfig, seed: int, dtype=np.float32):
        rng = np.random.default_rng(seed + 1)
        H, F, O, G = config.units, config.features, config.outputs, config.gates
        self.config = config
        self.H = H
        W = glorot_uniform(rng, F, G * H)
        U = np.concatenate([orthogonal(rng, H, H) for _ in range(G)], axis=1)
        b = np.zeros(G * H, np.float32)
        if config.cell == "lstm":
            b[H : 2 * H] = 1.0  # unit_forget_bias
        Wd = glorot_uniform(rng, H, O)
        bd = np.zeros(O, np.float32)
        params = {"W": W, "U": U, "b": b, "Wd": Wd, "bd": bd}
        if config.cell == "gru":
            params["b_rec"] = np.zeros(G * H, np.float32)
        self.params = {k: v.astype(dtype) for k, v in params.items()}
        self.m = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.v = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.t = 0
        x, y = make_data(config, seed)
        self.x = x.astype(dtype)
        self.y = y.astype(dtype) if config.loss == "bce" else y

    # -- forward and backward of the recurrent layer, one function pair per cell

    def simple_forward(self, x):
        p = self.params
        W, U, b = p["W"], p["U"], p["b"]
        B, T, _ = x.shape
        h = np.zeros((B, self.H), dtype=x.dtype)
        hs, cache = [h], []
        relu = self.config.activation == "relu"
        for t in range(T):
            a = x[:, t, :] @ W + h @ U + b
            h = np.maximum(a, 0) if relu else np.tanh(a)
            cache.append(a)
            hs.append(h)
        return h, (hs, cache)

    def simple_backward(self, x, state, dh, grads):
        p = self.params
        U = p["U"]
        hs, cache = state
        relu = self.config.activation == "relu"
        for t in reversed(range(x.shape[1])):
            if relu:
                da = dh * (cache[t] > 0)
            else:
                da = dh * (1 - hs[t + 1] ** 2)
            grads["W"] += x[:, t, :].T @ da
            grads["U"] += hs[t].T @ da
            grads["b"] += da.sum(axis=0)
            dh = da @ U.T

    def lstm_forward(self, x):
        p = self.params
        W, U, b = p["W"], p["U"], p["b"]
        H = self.H
        B, T, _ = x.shape
        h = np.zeros((B, H), dtype=x.dtype)
        c = np.zeros((B, H), dtype=x.dtype)
        hs, cs, cache = [h], [c], []
        for t in range(T):
            z = x[:, t, :] @ W + h @ U + b
            i = sigmoid(z[:, :H])
            f = sigmoid(z[:, H : 2 * H])
            g = np.tanh(z[:, 2 * H : 3 * H])
            o = sigmoid(z[:, 3 * H :])
            c = f * c + i * g
            tc = np.tanh(c)
            h = o * tc
            cache.append((i, f, g, o, tc))
            hs.append(h)
            cs.append(c)
        return h, (hs, cs, cache)

    def lstm_backward(self, x, state, dh, grads):
        U = self.params["U"]
        hs, cs, cache = state
        dc = np.zeros_like(dh)
        for t in reversed(range(x.shape[1])):
            i, f, g, o, tc = cache[t]
            do = dh * tc
            dc = dc + dh * o * (1 - tc**2)
            di = dc * g
            dg = dc * i
            df = dc * cs[t]
            dz = np.concatenate(
                [di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)], axis=1
            )
            grads["W"] += x[:, t, :].T @ dz
            grads["U"] += hs[t].T @ dz
            grads["b"] += dz.sum(axis=0)
            dh = dz @ U.T
            dc = dc * f

    def gru_forward(self, x):
        p = self.params
        W, U, b, b_rec = p["W"], p["U"], p["b"], p["b_rec"]
        H = self.H
        B, T, _ = x.shape
        h = np.zeros((B, H), dtype=x.dtype)
        hs, cache = [h], []
        for t in range(T):
            gx = x[:, t, :] @ W + b
            gh = h @ U + b_rec
            r = sigmoid(gx[:, :H] + gh[:, :H])
            z = sigmoid(gx[:, H : 2 * H] + gh[:, H : 2 * H])
            hn = gh[:, 2 * H :]
            n = np.tanh(gx[:, 2 * H :] + r * hn)
            h = (1 - z) * n + z * h
            cache.append((r, z, n, hn))
            hs.append(h)
        return h, (hs, cache)

    def gru_backward(self, x, state, dh, grads):
        U = self.params["U"]
        hs, cache = state
        for t in reversed(range(x.shape[1])):
            r, z, n, hn = cache[t]
            h_prev = hs[t]
            dn = dh * (1 - z)
            dz = dh * (h_prev - n)
            da_n = dn * (1 - n**2)
            da_r = da_n * hn * r * (1 - r)
            da_z = dz * z * (1 - z)
            g_x = np.concatenate([da_r, da_z, da_n], axis=1)
            g_h = np.concatenate([da_r, da_z, da_n * r], axis=1)
            grads["W"] += x[:, t, :].T @ g_x
            grads["b"] += g_x.sum(axis=0)
            grads["U"] += h_prev.T @ g_h
            grads["b_rec"] += g_h.sum(axis=0)
            dh = dh * z + g_h @ U.T

    # -- the step

    def loss_and_grads(self):
        x, y = self.x, self.y
        p = self.params
        cell = self.config.cell
        h, state = getattr(self, cell + "_forward")(x)
        out = h @ p["Wd"] + p["bd"]
        n = x.shape[0]
        if self.config.loss == "bce":  # sigmoid + binary cross-entropy
            prob = sigmoid(out)
            loss = -np.mean(y * np.log(prob) + (1 - y) * np.log(1 - prob))
            dout = (prob - y) / n
        else:  # softmax + sparse categorical cross-entropy via log-sum-exp
            shifted = out - out.max(axis=1, keepdims=True)
            exp = np.exp(shifted)
            total = exp.sum(axis=1, keepdims=True)
            log_probs = shifted - np.log(total)
            loss = -log_probs[np.arange(n), y].mean()
            dout = exp / total
            dout[np.arange(n), y] -= 1
            dout /= n
        grads = {k: np.zeros_like(v) for k, v in p.items()}
        grads["Wd"] = h.T @ dout
        grads["bd"] = dout.sum(axis=0)
        dh = dout @ p["Wd"].T
        getattr(self, cell + "_backward")(x, state, dh, grads)
        return float(loss), grads

    def adam(self, grads):
        self.t += 1
        alpha = LEARNING_RATE * math.sqrt(1 - BETA_2**self.t) / (1 - BETA_1**self.t)
        for k, param in self.params.items():
            g, m, v = grads[k], self.m[k], self.v[k]
            m += (g - m) * (1 - BETA_1)
            v += (g * g - v) * (1 - BETA_2)
            param -= alpha * m / (np.sqrt(v) + EPSILON)

    def step(self):
        loss, grads = self.loss_and_grads()
        self.adam(grads)
        return loss

    def info(self):
        return {"numpy": np.__version__}


def build_numpy(config, seed):
    return NumpyRNN(config, seed)


# ------------------------------------------------------------------------ torch


def _torch_modules(torch, config: RNNConfig):
    F, H, O = config.features, config.units, config.outputs
    if config.cell == "simple":
        rnn = torch.nn.RNN(F, H, nonlinearity=config.activation, batch_first=True)
    elif config.cell == "lstm":
        rnn = torch.nn.LSTM(F, H, batch_first=True)
    else:
        rnn = torch.nn.GRU(F, H, batch_first=True)
    head = torch.nn.Linear(H, O)
    loss_fn = torch.nn.BCEWithLogitsLoss() if config.loss == "bce" else torch.nn.CrossEntropyLoss()
    return rnn, head, loss_fn


class TorchRNN:
    def __init__(self, config: RNNConfig, seed: int):
        try:
            import torch
        except ImportError as exc:
            raise EngineUnavailable(f"torch is not installed ({exc})") from None
        self.torch = torch
        torch.manual_seed(seed)
        self.rnn, self.head, self.loss_fn = _torch_modules(torch, config)
        self.rnn.float()
        self.head.float()
        params = list(self.rnn.parameters()) + list(self.head.parameters())
        self.opt = torch.optim.Adam(params, lr=LEARNING_RATE, betas=(BETA_1, BETA_2), eps=EPSILON)
        x, y = make_data(config, seed)
        self.x = torch.from_numpy(x)
        self.y = torch.from_numpy(y)

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        out, _ = self.rnn(self.x)
        # sigmoid / softmax are folded into the loss (logits in, as PyTorch users do)
        loss = self.loss_fn(self.head(out[:, -1, :]), self.y)
        loss.backward()
        self.opt.step()
        return loss

    def info(self):
        return {"torch": self.torch.__version__, "torch_num_threads": self.torch.get_num_threads()}


def build_torch(config, seed):
    return TorchRNN(config, seed)


# ------------------------------------------------------------------------- gemm


class GemmOnlyRNN:
    """The step's GEMMs alone, as the fast plan does them, into preallocated arrays.

    The data is held time-major ((T*B, F), a one-off transpose at build time), so
    that every per-step slice and every all-timesteps block is C-contiguous and
    goes through sgemm without a copy.  No bias, gate, loss or optimizer work: a
    lower bound for the step (see gemm_shapes for the list of GEMMs).
    """

    def __init__(self, config: RNNConfig, seed: int):
        rng = np.random.default_rng(seed + 2)
        self.gemm, self.impl = _row_major_gemm()
        T, B, F, H, O = (config.steps, config.batch, config.features, config.units, config.outputs)
        GH = config.gates * H
        self.T, self.B = T, B
        x, _ = make_data(config, seed)
        self.xt = np.ascontiguousarray(x.transpose(1, 0, 2)).reshape(T * B, F)
        self.W = glorot_uniform(rng, F, GH)
        self.U = np.concatenate([orthogonal(rng, H, H) for _ in range(config.gates)], axis=1)
        self.Wd = glorot_uniform(rng, H, O)
        self.xw = np.empty((T * B, GH), np.float32)  # input projection, all steps
        self.hu = np.empty((T, B, GH), np.float32)  # h_{t-1} @ U, per step
        # Hidden states h_1..h_T (h_0 = 0 is never multiplied), random and fixed.
        self.hs = rng.standard_normal((T, B, H), dtype=np.float32) * 0.5
        self.hs_flat = self.hs.reshape(T * B, H)
        self.logits = np.empty((B, O), np.float32)
        self.dlogits = rng.standard_normal((B, O), dtype=np.float32) / B
        self.dWd = np.empty((H, O), np.float32)
        self.dh = np.empty((T, B, H), np.float32)  # gradient reaching h_t
        # Pre-activation gradients of every step (fixed data standing for the gate
        # backward's output).
        self.dG = rng.standard_normal((T, B, GH), dtype=np.float32) * 0.01
        self.dG_flat = self.dG.reshape(T * B, GH)
        self.dW = np.empty((F, GH), np.float32)
        self.dU = np.empty((H, GH), np.float32)
        self.dX = np.empty((T * B, F), np.float32)
        probe_a = rng.standard_normal((3, 4), dtype=np.float32)
        probe_b = rng.standard_normal((4, 5), dtype=np.float32)
        probe_c = np.zeros((3, 5), np.float32)
        self.gemm(probe_a, probe_b, probe_c)
        if not np.allclose(probe_c, probe_a @ probe_b, rtol=1e-4, atol=1e-5):
            raise RuntimeError("row-major sgemm wrapper gave a wrong result")

    def step(self):
        gemm, T, B = self.gemm, self.T, self.B
        hs, hu, dG, dh, U = self.hs, self.hu, self.dG, self.dh, self.U
        gemm(self.xt, self.W, self.xw)  # input projection of all timesteps
        for t in range(1, T):  # state index t-1 holds h_t
            gemm(hs[t - 1], U, hu[t])  # h_t @ U feeds step t+1
        gemm(hs[T - 1], self.Wd, self.logits)  # head
        gemm(hs[T - 1], self.dlogits, self.dWd, trans_a=True)  # head dW
        gemm(self.dlogits, self.Wd, dh[T - 1], trans_b=True)  # head dX
        for t in range(T - 1, 0, -1):
            gemm(dG[t], U, dh[t - 1], trans_b=True)  # dG_t @ U.T
        gemm(self.xt, self.dG_flat, self.dW, trans_a=True)  # dW = X.T @ dG
        if T > 1:  # dU = H_prev.T @ dG over the steps with h_{t-1} != 0
            gemm(self.hs_flat[: (T - 1) * B], self.dG_flat[B:], self.dU, trans_a=True)
        gemm(self.dG_flat, self.W, self.dX, trans_b=True)  # dX = dG @ W.T

    def info(self):
        return {"gemm": self.impl}


def build_gemm(config, seed):
    return GemmOnlyRNN(config, seed)


ENGINES = {
    **fastnn_engines(
        build_fastnn,
        "fastnn Sequential([SimpleRNN|LSTM|GRU, Dense]), compiled kernels, train_on_batch",
    ),
    "numpy": Engine(
        name="numpy",
        build=build_numpy,
        description="idiomatic plain-NumPy BPTT step with Keras 3 Adam",
    ),
    "torch": Engine(
        name="torch",
        build=build_torch,
        requires=("torch",),
        description="torch.nn.RNN/LSTM/GRU(batch_first=True) + Linear, torch.optim.Adam, float32",
    ),
    "gemm": Engine(
        name="gemm",
        build=build_gemm,
        description="GEMMs alone: the step's GEMMs as the fast plan does them, "
        "into preallocated arrays (lower bound)",
    ),
}


# -------------------------------------------------- one-off check against torch


def _relative_error(a, b) -> float:
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    scale = max(np.abs(b).max(), 1e-30)
    return float(np.abs(a - b).max() / scale)


def check_numpy_against_torch(config: RNNConfig, seed: int = 0, dtype=np.float32) -> dict:
    """Same weights in the NumPy engine and in torch: compare loss, gradients, update.

    The biases are drawn at random, different per gate (zero biases hide swapped
    gates).  Returns {"loss": err, "grad <name>": err, ..., "adam <name>": err}, each
    the largest absolute difference over the largest absolute value of torch's
    figure.  "adam" compares the change of each parameter in the first Adam step,
    where PyTorch's update equals Keras' when PyTorch's eps is eps/sqrt(1 - beta_2).
    SimpleRNN and LSTM have one summed bias here and two in torch (the recurrent
    one set to zero); the summed bias is compared with torch's input bias.
    """
    import torch

    net = NumpyRNN(config, seed, dtype=dtype)
    rng = np.random.default_rng(seed + 7)
    for k in ("b", "bd", "b_rec"):
        if k in net.params:
            net.params[k][...] = rng.uniform(-0.5, 0.5, net.params[k].shape)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    rnn, head, loss_fn = _torch_modules(torch, config)
    rnn.to(tdtype)
    head.to(tdtype)
    p = net.params

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a)).to(tdtype)

    with torch.no_grad():
        rnn.weight_ih_l0.copy_(t(p["W"].T))
        rnn.weight_hh_l0.copy_(t(p["U"].T))
        rnn.bias_ih_l0.copy_(t(p["b"]))
        if "b_rec" in p:
            rnn.bias_hh_l0.copy_(t(p["b_rec"]))
        else:
            rnn.bias_hh_l0.zero_()
        head.weight.copy_(t(p["Wd"].T))
        head.bias.copy_(t(p["bd"]))
    pairs = {
        "W": rnn.weight_ih_l0,
        "U": rnn.weight_hh_l0,
        "b": rnn.bias_ih_l0,
        "Wd": head.weight,
        "bd": head.bias,
    }
    if "b_rec" in p:
        pairs["b_rec"] = rnn.bias_hh_l0

    def as_keras(k, tensor):
        a = tensor.detach().numpy()
        return a.T if k in ("W", "U", "Wd") else a

    before = {k: v.copy() for k, v in p.items()}
    loss_np, grads_np = net.loss_and_grads()
    net.adam(grads_np)

    x = torch.from_numpy(net.x).to(tdtype)
    y = torch.from_numpy(net.y)
    opt = torch.optim.Adam(
        list(rnn.parameters()) + list(head.parameters()),
        lr=LEARNING_RATE,
        betas=(BETA_1, BETA_2),
        eps=EPSILON / math.sqrt(1 - BETA_2),
    )
    torch_before = {k: as_keras(k, v).copy() for k, v in pairs.items()}
    opt.zero_grad(set_to_none=True)
    out, _ = rnn(x)
    loss = loss_fn(head(out[:, -1, :]), y)
    loss.backward()
    opt.step()

    res = {"loss": _relative_error(loss_np, loss.item())}
    for k, param in pairs.items():
        res[f"grad {k}"] = _relative_error(grads_np[k], as_keras(k, param.grad))
    for k, param in pairs.items():
        res[f"adam {k}"] = _relative_error(p[k] - before[k], as_keras(k, param) - torch_before[k])
    return res
