"""Engines for the dense (MLP) training-step benchmark.

Each engine's ``build(config, seed)`` returns a runner whose ``step()`` runs one
training step (forward, loss, backward, Adam) on fixed float32 C-contiguous data and
whose ``predict_one()`` predicts one row.  Heavy libraries (fastnn, torch) are
imported inside ``build`` so that each cell's fresh process loads only its own.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from bench.harness import Engine, EngineUnavailable
from bench.measure import fastnn_engines, import_preferring_installed

LEARNING_RATE = 1e-3
BETA_1 = 0.9
BETA_2 = 0.999
EPSILON = 1e-7  # Keras' Adam default


@dataclass(frozen=True)
class MLPConfig:
    name: str
    sizes: tuple  # (n_in, h1, ..., n_out)
    activations: tuple  # one per Dense layer: "relu", "linear", "softmax"
    loss: str  # "mse" or "softmax-ce" (sparse labels)
    batch: int
    kind: str = "step"  # "step": one training step; "predict": predict one row

    @property
    def keras_loss(self) -> str:
        return "mse" if self.loss == "mse" else "sparse_categorical_crossentropy"


def gemm_shapes(config: MLPConfig) -> list:
    """(m, n, k) of every GEMM in one call of the cell.

    Training step: per layer i (n_i -> n_{i+1}) the forward x@W (B, n_i, n_{i+1}),
    the weight gradient a.T@dz (n_i, n_{i+1}, B) and, for every layer but the first,
    the input gradient dz@W.T (B, n_i, n_{i+1}).  Predict: the forward GEMMs only.
    """
    b = config.batch
    shapes = []
    pairs = list(zip(config.sizes[:-1], config.sizes[1:]))
    for i, (n_in, n_out) in enumerate(pairs):
        shapes.append((b, n_out, n_in))  # forward
        if config.kind == "predict":
            continue
        shapes.append((n_in, n_out, b))  # dW
        if i > 0:
            shapes.append((b, n_in, n_out))  # dX
    return shapes


def flops(config: MLPConfig) -> float:
    """2*m*n*k summed over the GEMMs of one call (see gemm_shapes)."""
    return float(sum(2 * m * n * k for m, n, k in gemm_shapes(config)))


def make_data(config: MLPConfig, seed: int):
    """Fixed inputs and targets shared by every engine (float32, C-contiguous)."""
    rng = np.random.default_rng(seed)
    x = np.ascontiguousarray(rng.standard_normal((config.batch, config.sizes[0]), dtype=np.float32))
    if config.loss == "mse":
        y = np.ascontiguousarray(
            rng.standard_normal((config.batch, config.sizes[-1]), dtype=np.float32)
        )
    else:
        y = rng.integers(0, config.sizes[-1], size=config.batch, dtype=np.int64)
    return x, y


def glorot_uniform(rng, n_in: int, n_out: int) -> np.ndarray:
    limit = math.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_in, n_out)).astype(np.float32)


# ----------------------------------------------------------------------- fastnn


def import_fastnn():
    """The fastnn package (installed copy preferred), or EngineUnavailable saying how
    to build it; shared by the MLP and recurrent engines."""
    try:
        fastnn = import_preferring_installed("fastnn")
        if getattr(fastnn, "__file__", None) is None:
            where = ", ".join(getattr(fastnn, "__path__", [])) or "?"
            raise ImportError(f"only a folder without __init__.py was found ({where})")
        import fastnn.layers  # noqa: F401  (fails here when the kernels are not built)
    except ImportError as exc:
        raise EngineUnavailable(
            f"fastnn could not be imported ({type(exc).__name__}: {exc}). "
            "Build and install the package (e.g. `pip install .`) or build it in "
            "place, then rerun; the other engines are unaffected."
        ) from None
    return fastnn


class FastnnMLP:
    """fastnn's Keras-shaped API; FASTNN_BACKEND decides compiled vs NumPy."""

    def __init__(self, config: MLPConfig, seed: int):
        fastnn = import_fastnn()
        from fastnn import Sequential
        from fastnn.layers import Dense, Input

        self.fastnn = fastnn
        np.random.seed(seed)
        layers = [Input(shape=(config.sizes[0],))]
        for units, act in zip(config.sizes[1:], config.activations):
            layers.append(Dense(units, activation=act))
        self.model = Sequential(layers)
        self.model.compile(
            optimizer=fastnn.optimizers.Adam(learning_rate=LEARNING_RATE), loss=config.keras_loss
        )
        self.x, self.y = make_data(config, seed)

    def step(self):
        return self.model.train_on_batch(self.x, self.y)

    def predict_one(self):
        return self.model.predict(self.x, verbose=0)

    def info(self):
        return {
            "fastnn_file": getattr(self.fastnn, "__file__", None),
            "fastnn_version": getattr(self.fastnn, "__version__", None),
            "FASTNN_BACKEND": os.environ.get("FASTNN_BACKEND"),
        }


def build_fastnn(config, seed):
    return FastnnMLP(config, seed)


# ------------------------------------------------------------------ plain NumPy


class NumpyMLP:
    """An ordinary NumPy MLP: temporaries allocated freely, Keras 3 Adam."""

    def __init__(self, config: MLPConfig, seed: int):
        rng = np.random.default_rng(seed + 1)
        self.activations = config.activations
        self.loss = config.loss
        self.W = [glorot_uniform(rng, a, b) for a, b in zip(config.sizes[:-1], config.sizes[1:])]
        self.b = [np.zeros(n, dtype=np.float32) for n in config.sizes[1:]]
        self.params = [p for pair in zip(self.W, self.b) for p in pair]
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0
        self.x, self.y = make_data(config, seed)

    def forward(self, x):
        acts = [x]
        zs = []
        a = x
        for W, b, act in zip(self.W, self.b, self.activations):
            z = a @ W + b
            zs.append(z)
            a = np.maximum(z, 0) if act == "relu" else z
            acts.append(a)
        return zs, acts

    def step(self):
        x, y = self.x, self.y
        zs, acts = self.forward(x)
        out = zs[-1]
        n = x.shape[0]

        if self.loss == "mse":
            diff = out - y
            loss = np.mean(diff**2)
            dz = 2.0 * diff / diff.size
        else:  # softmax + sparse categorical cross-entropy via log-sum-exp
            shifted = out - out.max(axis=1, keepdims=True)
            exp = np.exp(shifted)
            total = exp.sum(axis=1, keepdims=True)
            log_probs = shifted - np.log(total)
            loss = -log_probs[np.arange(n), y].mean()
            dz = exp / total
            dz[np.arange(n), y] -= 1.0
            dz /= n

        grads = [None] * len(self.params)
        for i in reversed(range(len(self.W))):
            grads[2 * i] = acts[i].T @ dz
            grads[2 * i + 1] = dz.sum(axis=0)
            if i > 0:
                da = dz @ self.W[i].T
                dz = da * (zs[i - 1] > 0) if self.activations[i - 1] == "relu" else da

        self.t += 1
        alpha = LEARNING_RATE * math.sqrt(1 - BETA_2**self.t) / (1 - BETA_1**self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m += (g - m) * (1 - BETA_1)
            v += (g * g - v) * (1 - BETA_2)
            p -= alpha * m / (np.sqrt(v) + EPSILON)
        return float(loss)

    def predict_one(self):
        zs, _ = self.forward(self.x)
        out = zs[-1]
        if self.activations[-1] == "softmax":
            e = np.exp(out - out.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        return out

    def info(self):
        return {"numpy": np.__version__}


def build_numpy(config, seed):
    return NumpyMLP(config, seed)


# ------------------------------------------------------------------------ torch


class TorchMLP:
    def __init__(self, config: MLPConfig, seed: int):
        try:
            import torch
        except ImportError as exc:
            raise EngineUnavailable(f"torch is not installed ({exc})") from None
        self.torch = torch
        torch.manual_seed(seed)
        mods = []
        for n_in, n_out, act in zip(config.sizes[:-1], config.sizes[1:], config.activations):
            mods.append(torch.nn.Linear(n_in, n_out))
            if act == "relu":
                mods.append(torch.nn.ReLU())
        # softmax is folded into CrossEntropyLoss (logits in, as PyTorch users write it)
        self.model = torch.nn.Sequential(*mods).float()
        self.loss_fn = torch.nn.MSELoss() if config.loss == "mse" else torch.nn.CrossEntropyLoss()
        self.opt = torch.optim.Adam(
            self.model.parameters(), lr=LEARNING_RATE, betas=(BETA_1, BETA_2), eps=EPSILON
        )
        x, y = make_data(config, seed)
        self.x = torch.from_numpy(x)
        self.y = torch.from_numpy(y)

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()
        return loss

    def predict_one(self):
        with self.torch.no_grad():
            return self.model(self.x)

    def info(self):
        return {"torch": self.torch.__version__, "torch_num_threads": self.torch.get_num_threads()}


def build_torch(config, seed):
    return TorchMLP(config, seed)


# ------------------------------------------------------------------------- gemm


def _row_major_gemm():
    """C = op(A) @ op(B) for C-contiguous float32 arrays, written into C in place.

    scipy's sgemm is column-major; a C-contiguous array's transpose is an
    F-contiguous view, so C.T = op(B).T @ op(A).T is computed with no copies.
    Falls back to numpy.matmul(out=) when scipy's BLAS wrapper is missing.
    """
    try:
        from scipy.linalg.blas import sgemm
    except ImportError:
        sgemm = None
    if sgemm is not None:

        def gemm(a, b, c, trans_a=False, trans_b=False):
            sgemm(1.0, b.T, a.T, trans_a=trans_b, trans_b=trans_a, c=c.T, overwrite_c=True)

        return gemm, "scipy.linalg.blas.sgemm"

    def gemm(a, b, c, trans_a=False, trans_b=False):
        np.matmul(a.T if trans_a else a, b.T if trans_b else b, out=c)

    return gemm, "numpy.matmul(out=)"


class GemmOnly:
    """The step's GEMMs alone, into preallocated outputs: a lower bound."""

    def __init__(self, config: MLPConfig, seed: int):
        rng = np.random.default_rng(seed + 2)
        self.gemm, self.impl = _row_major_gemm()
        B = config.batch
        sizes = config.sizes
        L = len(sizes) - 1
        self.x, _ = make_data(config, seed)
        self.W = [glorot_uniform(rng, a, b) for a, b in zip(sizes[:-1], sizes[1:])]
        self.z = [np.empty((B, n), np.float32) for n in sizes[1:]]
        self.dW = [np.empty_like(w) for w in self.W]
        # dz[i]: gradient w.r.t. layer i's output; the last one is fixed data, the
        # others are written by the dX GEMMs (dz[i-1] = dz[i] @ W[i].T).
        self.dz = [np.empty((B, n), np.float32) for n in sizes[1:]]
        self.dz[-1][...] = rng.standard_normal((B, sizes[-1]), dtype=np.float32) / B
        for d in self.dz[:-1]:
            d.fill(0.0)
        self.L = L
        # Check the wrapper once: results must land in place and be right.
        probe_a = rng.standard_normal((3, 4), dtype=np.float32)
        probe_b = rng.standard_normal((4, 5), dtype=np.float32)
        probe_c = np.zeros((3, 5), np.float32)
        self.gemm(probe_a, probe_b, probe_c)
        if not np.allclose(probe_c, probe_a @ probe_b, rtol=1e-4, atol=1e-5):
            raise RuntimeError("row-major sgemm wrapper gave a wrong result")

    def predict_one(self):
        gemm, a = self.gemm, self.x
        for W, z in zip(self.W, self.z):
            gemm(a, W, z)
            a = z

    def step(self):
        gemm, W, z, dz, dW = self.gemm, self.W, self.z, self.dz, self.dW
        a = self.x
        for i in range(self.L):  # forward: x @ W per layer
            gemm(a, W[i], z[i])
            a = z[i]
        for i in reversed(range(self.L)):  # backward
            gemm(self.x if i == 0 else z[i - 1], dz[i], dW[i], trans_a=True)
            if i > 0:
                gemm(dz[i], W[i], dz[i - 1], trans_b=True)

    def info(self):
        return {"gemm": self.impl}


def build_gemm(config, seed):
    return GemmOnly(config, seed)


ENGINES = {
    **fastnn_engines(
        build_fastnn,
        "fastnn Sequential/Dense, compiled kernels, train_on_batch",
    ),
    "numpy": Engine(
        name="numpy",
        build=build_numpy,
        description="idiomatic plain-NumPy MLP step with Keras 3 Adam",
    ),
    "torch": Engine(
        name="torch",
        build=build_torch,
        requires=("torch",),
        description="torch.nn.Sequential + torch.optim.Adam, float32",
    ),
    "gemm": Engine(
        name="gemm",
        build=build_gemm,
        description="the step's GEMMs alone into preallocated outputs (lower bound)",
    ),
}
