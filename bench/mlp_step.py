"""One dense (MLP) training step, engines side by side in one run.

    python -m bench.mlp_step                       # all engines, all configs, 3 passes
    python -m bench.mlp_step --quick               # smoke run
    python -m bench.mlp_step --engines numpy,gemm,torch --configs 0,784-512 --out r.json

See bench/README.md for the method and the meaning of every column.
"""

from __future__ import annotations

import sys

from bench import harness
from bench.engines_mlp import ENGINES, MLPConfig, flops

CONFIGS = [
    MLPConfig(
        "20-32-16-1 relu,relu,linear MSE B=32",
        sizes=(20, 32, 16, 1),
        activations=("relu", "relu", "linear"),
        loss="mse",
        batch=32,
    ),
    MLPConfig(
        "784-64-64-10 relu softmax-CE B=32",
        sizes=(784, 64, 64, 10),
        activations=("relu", "relu", "softmax"),
        loss="softmax-ce",
        batch=32,
    ),
    MLPConfig(
        "784-512-512-10 relu softmax-CE B=256",
        sizes=(784, 512, 512, 10),
        activations=("relu", "relu", "softmax"),
        loss="softmax-ce",
        batch=256,
    ),
    MLPConfig(
        "1024-2048-2048-10 relu softmax-CE B=1024",
        sizes=(1024, 2048, 2048, 10),
        activations=("relu", "relu", "softmax"),
        loss="softmax-ce",
        batch=1024,
    ),
    MLPConfig(
        "predict-1row 784-64-64-10",
        sizes=(784, 64, 64, 10),
        activations=("relu", "relu", "softmax"),
        loss="softmax-ce",
        batch=1,
        kind="predict",
    ),
]

ENGINE_ORDER = ["fastnn", "fastnn-numpy", "numpy", "torch", "gemm"]
RATIO_BASELINES = ["numpy", "torch", "gemm", "fastnn-numpy"]


def main(argv=None) -> int:
    return harness.main(
        module="bench.mlp_step",
        title="fastnn benchmark: one dense (MLP) training step "
        "(forward + loss + backward + Adam), float32",
        configs=CONFIGS,
        engines={name: ENGINES[name] for name in ENGINE_ORDER},
        flops=flops,
        primary="fastnn",
        baselines=RATIO_BASELINES,
        argv=argv,
    )


if __name__ == "__main__":
    sys.exit(main())
