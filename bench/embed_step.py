"""One text-model training step (Embedding + LSTM + Dense, forward + BPTT + Adam), fastnn
and PyTorch side by side in one run.

    python -m bench.embed_step                   # all engines, all configs, 3 passes
    python -m bench.embed_step --quick           # smoke run

Fixed-length sequences of token ids (no padding mask yet: fastnn has no masking), the
embedding table trained with dense gradients in both engines (PyTorch's nn.Embedding
default, sparse=False). See bench/README.md for the method and the columns.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np

from bench import harness
from bench.engines_mlp import import_fastnn
from bench.harness import Engine, EngineUnavailable

LEARNING_RATE, BETA_1, BETA_2, EPSILON = 1e-3, 0.9, 0.999, 1e-7  # Keras' Adam defaults


@dataclass(frozen=True)
class EmbedConfig:
    name: str
    vocab: int  # V
    dim: int  # D
    units: int  # H
    steps: int  # T
    batch: int  # B
    outputs: int  # 1: sigmoid + BCE; more: softmax + sparse CE
    kind: str = "step"


CONFIGS = [
    EmbedConfig(
        "Embedding(20000,128) + LSTM(64) + Dense(1) BCE, T=200 B=32", 20000, 128, 64, 200, 32, 1
    ),
    EmbedConfig(
        "Embedding(60,32) + LSTM(128) + Dense(60) CE, T=40 B=128", 60, 32, 128, 40, 128, 60
    ),
]


def make_data(config: EmbedConfig, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, config.vocab, (config.batch, config.steps))
    if config.outputs == 1:
        y = rng.integers(0, 2, (config.batch, 1)).astype(np.float32)
    else:
        y = rng.integers(0, config.outputs, config.batch)
    return x, y


class FastnnEmbed:
    def __init__(self, config: EmbedConfig, seed: int):
        fastnn = import_fastnn()
        from fastnn import Sequential, layers

        if not hasattr(layers, "Embedding"):
            raise EngineUnavailable("fastnn.layers has no Embedding")
        self.fastnn = fastnn
        fastnn.utils.set_random_seed(seed)
        head = "sigmoid" if config.outputs == 1 else "softmax"
        self.model = Sequential(
            [
                layers.Input(shape=(config.steps,)),
                layers.Embedding(config.vocab, config.dim),
                layers.LSTM(config.units),
                layers.Dense(config.outputs, activation=head),
            ]
        )
        loss = "binary_crossentropy" if config.outputs == 1 else "sparse_categorical_crossentropy"
        self.model.compile(optimizer=fastnn.optimizers.Adam(learning_rate=LEARNING_RATE), loss=loss)
        x, self.y = make_data(config, seed)
        self.x = x.astype(np.float32)  # token ids as the model dtype: no cast per step

    def step(self):
        return self.model.train_on_batch(self.x, self.y)

    def info(self):
        return {
            "fastnn_file": self.fastnn.__file__,
            "FASTNN_BACKEND": os.environ.get("FASTNN_BACKEND"),
        }


class TorchEmbed:
    def __init__(self, config: EmbedConfig, seed: int):
        try:
            import torch
        except ImportError as exc:
            raise EngineUnavailable(f"torch is not installed ({exc})") from None
        self.torch = torch
        torch.manual_seed(seed)
        self.emb = torch.nn.Embedding(config.vocab, config.dim)
        self.rnn = torch.nn.LSTM(config.dim, config.units, batch_first=True)
        self.head = torch.nn.Linear(config.units, config.outputs)
        self.loss_fn = (
            torch.nn.BCEWithLogitsLoss() if config.outputs == 1 else torch.nn.CrossEntropyLoss()
        )
        params = [*self.emb.parameters(), *self.rnn.parameters(), *self.head.parameters()]
        self.opt = torch.optim.Adam(params, lr=LEARNING_RATE, betas=(BETA_1, BETA_2), eps=EPSILON)
        x, y = make_data(config, seed)
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        out, _ = self.rnn(self.emb(self.x))
        loss = self.loss_fn(self.head(out[:, -1, :]), self.y)
        loss.backward()
        self.opt.step()
        return loss

    def info(self):
        return {"torch": self.torch.__version__, "torch_num_threads": self.torch.get_num_threads()}


def flops(config: EmbedConfig) -> float:
    # the LSTM's products, forward and backward (3x): 2 * B * T * (D + H) * 4H * 3
    return 2.0 * config.batch * config.steps * (config.dim + config.units) * 4 * config.units * 3


ENGINES = {
    "fastnn": Engine(
        name="fastnn",
        build=FastnnEmbed,
        track_alloc=True,
        env={"FASTNN_BACKEND": None},
        description="fastnn Sequential([Embedding, LSTM, Dense]), compiled kernels, train_on_batch",
    ),
    "fastnn-numpy": Engine(
        name="fastnn-numpy",
        build=FastnnEmbed,
        track_alloc=True,
        env={"FASTNN_BACKEND": "numpy"},
        description="fastnn with FASTNN_BACKEND=numpy (its pure NumPy reference)",
    ),
    "torch": Engine(
        name="torch",
        build=TorchEmbed,
        requires=("torch",),
        description="torch.nn.Embedding + LSTM(batch_first=True) + Linear, torch.optim.Adam",
    ),
}

TITLE = "One training step of a text model (Embedding + LSTM + Dense), float32"


def main(argv=None) -> int:
    return harness.main(
        module="bench.embed_step",
        title=TITLE,
        configs=CONFIGS,
        engines=ENGINES,
        flops=flops,
        primary="fastnn",
        baselines=["torch", "fastnn-numpy"],
        argv=list(sys.argv[1:] if argv is None else argv),
    )


if __name__ == "__main__":
    sys.exit(main())
