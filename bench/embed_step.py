"""One text-model training step (Embedding + LSTM + Dense, forward + BPTT + Adam), fastnn
and PyTorch side by side in one run.

    python -m bench.embed_step                   # all engines, all configs, 3 passes
    python -m bench.embed_step --quick           # smoke run

Sequences of token ids, the embedding table trained with dense gradients in both engines
(PyTorch's nn.Embedding default, sparse=False). The "padded" configs hold sequences of
lengths drawn uniformly from [min_len, T], zero-padded at the end: fastnn masks them with
Embedding(mask_zero=True), PyTorch packs them with pack_padded_sequence(...,
enforce_sorted=False), the way each library's users write it; the others are full
length. See bench/README.md for the method and the columns.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np

from bench import harness
from bench.engines_mlp import import_fastnn
from bench.harness import Engine, EngineUnavailable
from bench.measure import ConfigUnsupported, fastnn_engines

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
    min_len: int = 0  # > 0: lengths uniform in [min_len, T], zero-padded at the end
    bidirectional: bool = False  # Bidirectional(LSTM) (concat) / nn.LSTM(bidirectional=True)
    kind: str = "step"
    recurrent_dropout: float = 0.0  # > 0: LSTM(dropout=rate, recurrent_dropout=rate); fastnn only


CONFIGS = [
    EmbedConfig(
        "Embedding(20000,128) + LSTM(64) + Dense(1) BCE, T=200 B=32", 20000, 128, 64, 200, 32, 1
    ),
    EmbedConfig(
        "Embedding(60,32) + LSTM(128) + Dense(60) CE, T=40 B=128", 60, 32, 128, 40, 128, 60
    ),
    EmbedConfig(
        "padded: Embedding(20000,128,mask_zero) + LSTM(64) + Dense(1) BCE, T=200 "
        "(lengths 20-200) B=32",
        20000,
        128,
        64,
        200,
        32,
        1,
        min_len=20,
    ),
    EmbedConfig(
        "padded: Embedding(20000,128,mask_zero) + Bidirectional(LSTM(64)) + Dense(1) BCE, "
        "T=200 (lengths 20-200) B=32",
        20000,
        128,
        64,
        200,
        32,
        1,
        min_len=20,
        bidirectional=True,
    ),
    # Keras' examples/imdb_lstm.py (tests/keras_compat/imdb_lstm.py), without and with its
    # dropout: the per-gate masks turn each step's h @ U into 4 products (Keras
    # implementation=1); PyTorch's nn.LSTM has no recurrent dropout, so fastnn runs alone
    EmbedConfig(
        "imdb_lstm: Embedding(20000,128) + LSTM(128) + Dense(1) BCE, T=80 B=32",
        20000,
        128,
        128,
        80,
        32,
        1,
    ),
    EmbedConfig(
        "imdb_lstm: Embedding(20000,128) + LSTM(128, dropout=0.2, recurrent_dropout=0.2) + "
        "Dense(1) BCE, T=80 B=32",
        20000,
        128,
        128,
        80,
        32,
        1,
        recurrent_dropout=0.2,
    ),
]


def make_data(config: EmbedConfig, seed: int):
    """(x, y, lengths): token ids (B, T), targets, and each sequence's length (T for all
    without padding); padded configs draw ids from [1, V) and zero the padding."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1 if config.min_len else 0, config.vocab, (config.batch, config.steps))
    lengths = np.full(config.batch, config.steps)
    if config.min_len:
        lengths = rng.integers(config.min_len, config.steps + 1, config.batch)
        x[np.arange(config.steps)[None, :] >= lengths[:, None]] = 0
    if config.outputs == 1:
        y = rng.integers(0, 2, (config.batch, 1)).astype(np.float32)
    else:
        y = rng.integers(0, config.outputs, config.batch)
    return x, y, lengths


class FastnnEmbed:
    def __init__(self, config: EmbedConfig, seed: int):
        fastnn = import_fastnn()
        from fastnn import Sequential, layers

        if not hasattr(layers, "Embedding"):
            raise EngineUnavailable("fastnn.layers has no Embedding")
        self.fastnn = fastnn
        fastnn.utils.set_random_seed(seed)
        head = "sigmoid" if config.outputs == 1 else "softmax"
        rd = config.recurrent_dropout
        self.model = Sequential(
            [
                layers.Input(shape=(config.steps,)),
                layers.Embedding(config.vocab, config.dim, mask_zero=config.min_len > 0),
                layers.Bidirectional(layers.LSTM(config.units))
                if config.bidirectional
                else layers.LSTM(config.units, dropout=rd, recurrent_dropout=rd),
                layers.Dense(config.outputs, activation=head),
            ]
        )
        loss = "binary_crossentropy" if config.outputs == 1 else "sparse_categorical_crossentropy"
        self.model.compile(optimizer=fastnn.optimizers.Adam(learning_rate=LEARNING_RATE), loss=loss)
        x, self.y, _ = make_data(config, seed)
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
        if config.recurrent_dropout:
            raise ConfigUnsupported("torch.nn.LSTM has no recurrent dropout")
        self.torch = torch
        torch.manual_seed(seed)
        self.emb = torch.nn.Embedding(config.vocab, config.dim)
        self.rnn = torch.nn.LSTM(
            config.dim, config.units, batch_first=True, bidirectional=config.bidirectional
        )
        directions = 2 if config.bidirectional else 1
        self.head = torch.nn.Linear(directions * config.units, config.outputs)
        self.loss_fn = (
            torch.nn.BCEWithLogitsLoss() if config.outputs == 1 else torch.nn.CrossEntropyLoss()
        )
        params = [*self.emb.parameters(), *self.rnn.parameters(), *self.head.parameters()]
        self.opt = torch.optim.Adam(params, lr=LEARNING_RATE, betas=(BETA_1, BETA_2), eps=EPSILON)
        x, y, lengths = make_data(config, seed)
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)
        self.lengths = torch.from_numpy(lengths) if config.min_len else None
        self.bidirectional = config.bidirectional

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        e = self.emb(self.x)
        if self.lengths is not None:
            e = self.torch.nn.utils.rnn.pack_padded_sequence(
                e, self.lengths, batch_first=True, enforce_sorted=False
            )
        _, (h_n, _) = self.rnn(e)
        # the final states (Keras' output): both directions' when bidirectional
        last = self.torch.cat([h_n[0], h_n[1]], dim=1) if self.bidirectional else h_n[0]
        loss = self.loss_fn(self.head(last), self.y)
        loss.backward()
        self.opt.step()
        return loss

    def info(self):
        return {"torch": self.torch.__version__, "torch_num_threads": self.torch.get_num_threads()}


def flops(config: EmbedConfig) -> float:
    # the LSTM's products, forward and backward (3x): 2 * B * T * (D + H) * 4H * 3, per
    # direction (counted over all T steps, padding included)
    d = 2 if config.bidirectional else 1
    per_step = (config.dim + config.units) * 4 * config.units
    return d * 2.0 * config.batch * config.steps * per_step * 3


ENGINES = {
    **fastnn_engines(
        FastnnEmbed,
        "fastnn Sequential([Embedding, LSTM, Dense]), compiled kernels, train_on_batch",
    ),
    "torch": Engine(
        name="torch",
        build=TorchEmbed,
        requires=("torch",),
        description="torch.nn.Embedding + LSTM(batch_first=True) + Linear, torch.optim.Adam "
        "(padded configs: pack_padded_sequence, enforce_sorted=False)",
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
