"""Sequence models beyond one recurrent layer, fastnn and PyTorch side by side in one run:
a training step of two stacked LSTMs returning sequences, and the latency of generating
one step with a stateful LSTM.

    python -m bench.seq_step                     # all engines, all configs, 3 passes
    python -m bench.seq_step --quick             # smoke run

- "stacked": LSTM(128, return_sequences=True) -> LSTM(128, return_sequences=True) ->
  Dense(1) on every step, MSE, Adam; PyTorch nn.LSTM(num_layers=2) -> Linear.
- "generate": one predict of a stateful LSTM(128) -> Dense(60) on one step of one
  sequence (the inner loop of sampling text one character at a time); PyTorch runs the
  same modules eagerly under no_grad, carrying (h, c) by hand.
See bench/README.md for the method and the columns.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np

from bench import harness
from bench.engines_mlp import import_fastnn
from bench.harness import Engine, EngineUnavailable
from bench.measure import fastnn_engines

LEARNING_RATE, BETA_1, BETA_2, EPSILON = 1e-3, 0.9, 0.999, 1e-7  # Keras' Adam defaults


@dataclass(frozen=True)
class SeqConfig:
    name: str
    features: int  # F
    units: int  # H
    steps: int  # T
    batch: int  # B
    layers: int  # stacked LSTMs
    outputs: int  # Dense units
    kind: str = "step"  # "step": one training step; "predict": one generation step


CONFIGS = [
    SeqConfig(
        "stacked: 2 x LSTM(128, return_sequences) + Dense(1) MSE, F=32 T=100 B=64",
        32,
        128,
        100,
        64,
        2,
        1,
    ),
    SeqConfig(
        "generate: stateful LSTM(128) + Dense(60), predict 1 step of 1 sequence",
        60,
        128,
        1,
        1,
        1,
        60,
        kind="predict",
    ),
]


def make_data(config: SeqConfig, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((config.batch, config.steps, config.features)).astype(np.float32)
    y = rng.standard_normal((config.batch, config.steps, config.outputs)).astype(np.float32)
    return x, y


class FastnnSeq:
    def __init__(self, config: SeqConfig, seed: int):
        fastnn = import_fastnn()
        from fastnn import Sequential, layers

        if not hasattr(layers, "Bidirectional"):
            raise EngineUnavailable("this fastnn has no sequence-model layers")
        self.fastnn = fastnn
        fastnn.utils.set_random_seed(seed)
        generate = config.kind == "predict"
        stack = [
            layers.LSTM(config.units, return_sequences=not generate, stateful=generate)
            for _ in range(config.layers)
        ]
        self.model = Sequential(
            [
                layers.Input(shape=(config.steps, config.features)),
                *stack,
                layers.Dense(config.outputs),
            ]
        )
        self.model.compile(
            optimizer=fastnn.optimizers.Adam(learning_rate=LEARNING_RATE), loss="mse"
        )
        self.x, y = make_data(config, seed)
        self.y = y if not generate else y[:, 0]

    def step(self):
        return self.model.train_on_batch(self.x, self.y)

    def predict_one(self):
        return self.model.predict(self.x, verbose=0)

    def info(self):
        return {
            "fastnn_file": self.fastnn.__file__,
            "FASTNN_BACKEND": os.environ.get("FASTNN_BACKEND"),
        }


class TorchSeq:
    def __init__(self, config: SeqConfig, seed: int):
        try:
            import torch
        except ImportError as exc:
            raise EngineUnavailable(f"torch is not installed ({exc})") from None
        self.torch = torch
        torch.manual_seed(seed)
        self.rnn = torch.nn.LSTM(
            config.features, config.units, num_layers=config.layers, batch_first=True
        )
        self.head = torch.nn.Linear(config.units, config.outputs)
        params = [*self.rnn.parameters(), *self.head.parameters()]
        self.opt = torch.optim.Adam(params, lr=LEARNING_RATE, betas=(BETA_1, BETA_2), eps=EPSILON)
        x, y = make_data(config, seed)
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)
        self.state = None
        self.loss_fn = torch.nn.MSELoss()

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        out, _ = self.rnn(self.x)
        loss = self.loss_fn(self.head(out), self.y)
        loss.backward()
        self.opt.step()
        return loss

    def predict_one(self):
        with self.torch.no_grad():
            out, self.state = self.rnn(self.x, self.state)  # the state carried by hand
            return self.head(out[:, -1])

    def info(self):
        return {"torch": self.torch.__version__, "torch_num_threads": self.torch.get_num_threads()}


def flops(config: SeqConfig) -> float:
    # the LSTMs' products: 2 * B * T * (in + H) * 4H per layer, x3 for a training step
    total, fin = 0.0, config.features
    for _ in range(config.layers):
        total += 2.0 * config.batch * config.steps * (fin + config.units) * 4 * config.units
        fin = config.units
    return total * (3 if config.kind == "step" else 1)


ENGINES = {
    **fastnn_engines(
        FastnnSeq,
        "fastnn Sequential of LSTMs and Dense, compiled kernels",
    ),
    "torch": Engine(
        name="torch",
        build=TorchSeq,
        requires=("torch",),
        description="torch.nn.LSTM(num_layers, batch_first=True) + Linear, torch.optim.Adam; "
        "generation eager under no_grad",
    ),
}

TITLE = "Sequence models: stacked LSTMs (training step) and one-step generation, float32"


def main(argv=None) -> int:
    return harness.main(
        module="bench.seq_step",
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
