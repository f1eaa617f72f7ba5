"""One recurrent training step (forward + BPTT + Adam), engines side by side in one run.

    python -m bench.rnn_step                       # all engines, all configs, 3 passes
    python -m bench.rnn_step --quick               # smoke run
    python -m bench.rnn_step --engines numpy,gemm,torch --configs LSTM --out r.json
    python -m bench.rnn_step --check-numpy         # numpy engine vs torch (needs torch)

See bench/README.md for the method and the meaning of every column.
"""

from __future__ import annotations

import sys

from bench import harness
from bench.engines_rnn import ENGINES, RNNConfig, check_numpy_against_torch, flops

CONFIGS = [
    RNNConfig(
        "SimpleRNN(100, relu) F=8 T=50 B=32 + Dense(1) sigmoid BCE",
        cell="simple",
        activation="relu",
        units=100,
        features=8,
        steps=50,
        batch=32,
        outputs=1,
        loss="bce",
        alloc_steps_cap=1000,
    ),
    RNNConfig(
        "SimpleRNN(128, tanh) F=32 T=100 B=64 + Dense(10) softmax-CE",
        cell="simple",
        activation="tanh",
        units=128,
        features=32,
        steps=100,
        batch=64,
        outputs=10,
        loss="softmax-ce",
        alloc_steps_cap=200,
    ),
    RNNConfig(
        "LSTM(128) F=32 T=100 B=64 + Dense(10)",
        cell="lstm",
        units=128,
        features=32,
        steps=100,
        batch=64,
        outputs=10,
        loss="softmax-ce",
        alloc_steps_cap=50,
    ),
    RNNConfig(
        "GRU(128) F=32 T=100 B=64 + Dense(10)",
        cell="gru",
        units=128,
        features=32,
        steps=100,
        batch=64,
        outputs=10,
        loss="softmax-ce",
        alloc_steps_cap=50,
    ),
    RNNConfig(
        "LSTM(512) F=256 T=50 B=128 + Dense(10)",
        cell="lstm",
        units=512,
        features=256,
        steps=50,
        batch=128,
        outputs=10,
        loss="softmax-ce",
        alloc_steps_cap=10,
    ),
]

ENGINE_ORDER = ["fastnn", "fastnn-numpy", "numpy", "torch", "gemm"]
RATIO_BASELINES = ["numpy", "torch", "gemm", "fastnn-numpy"]
TITLE = (
    "fastnn benchmark: one recurrent training step "
    "(forward + BPTT + Adam, Dense head on the last step), float32"
)


def _cap_alloc_steps(argv: list) -> list:
    """In a cell's process, cap --alloc-steps at the config's alloc_steps_cap.

    The parent passes one --alloc-steps to every cell; the recurrent configs differ
    in step time by 100x, so the bigger ones measure tracemalloc over fewer steps.
    The number actually used is recorded with the cell's result.
    """
    if "--cell" not in argv or "--alloc-steps" not in argv:
        return argv
    try:
        key = argv[argv.index("--cell") + 2]
        (index,) = harness.select_configs(CONFIGS, key)
        i = argv.index("--alloc-steps") + 1
        argv = list(argv)
        argv[i] = str(min(int(argv[i]), CONFIGS[index].alloc_steps_cap))
    except (IndexError, ValueError):
        pass  # malformed: let the harness report it
    return argv


def check_numpy(configs=CONFIGS) -> int:
    """Print the numpy engine's agreement with torch from the same weights.

    float64: loss, gradients and the first Adam update must agree to 1e-9.
    float32: loss and gradients must agree to 1e-5.  The float32 Adam figures are
    printed for information only: the first Keras Adam step is about
    lr * g / (|g| + 3e-6), so a gradient element near zero, which float32 holds
    to a few percent, moves its update by as much; float64 checks the rule itself.
    """
    try:
        import torch
    except ImportError:
        print("--check-numpy needs torch (pip install torch==2.13.0)")
        return 2
    import numpy as np

    torch.set_num_threads(2)
    ok = True
    for config in configs:
        for dtype, tol in ((np.float64, 1e-9), (np.float32, 1e-5)):
            res = check_numpy_against_torch(config, dtype=dtype)
            judged = {
                k: v for k, v in res.items() if dtype == np.float64 or not k.startswith("adam")
            }
            err = max(judged.values())
            ok = ok and err <= tol
            print(
                f"{config.name} [{np.dtype(dtype).name}]: largest relative "
                f"difference {err:.1e} ({'ok' if err <= tol else 'MISMATCH'}, "
                f"tolerance {tol:.0e}"
                + ("" if dtype == np.float64 else ", loss and gradients")
                + ")"
            )
            print("    " + ", ".join(f"{k} {v:.1e}" for k, v in res.items()))
    print("all agree" if ok else "MISMATCH")
    return 0 if ok else 1


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--check-numpy":
        chosen = harness.select_configs(CONFIGS, argv[1] if len(argv) > 1 else None)
        return check_numpy([CONFIGS[i] for i in chosen])
    return harness.main(
        module="bench.rnn_step",
        title=TITLE,
        configs=CONFIGS,
        engines={name: ENGINES[name] for name in ENGINE_ORDER},
        flops=flops,
        primary="fastnn",
        baselines=RATIO_BASELINES,
        argv=_cap_alloc_steps(argv),
    )


if __name__ == "__main__":
    sys.exit(main())
