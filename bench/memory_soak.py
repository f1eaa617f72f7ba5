"""Memory soak: train a recurrent model for many steps and watch resident memory.

    python bench/memory_soak.py [--steps 2000] [--units 64] [--timesteps 50]
                                [--features 8] [--batch 32] [--threads 2]

Trains Sequential([LSTM(units), Dense(1)]) with train_on_batch on a few fixed
batches (cycled, float32) and reports the resident set size (current, from
/proc/self/statm; peak, from getrusage) at steps 100, 500, 1000, 1500 and the
last one, then the growth after warm-up (step 100 -> last step). A steady-state
step should allocate nothing (workspaces are made once per batch shape), so the
verdict is "flat" when the growth stays under --tolerance-mib (default 1 MiB).
Exit status 1 when it does not.
"""

import argparse
import os
import resource
import sys
import time

import numpy as np

CHECKPOINTS = (100, 500, 1000, 1500, 2000)


def rss_mib():
    """Current resident set size in MiB (Linux /proc; else the peak from getrusage)."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return peak_mib()


def peak_mib():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes vs KiB


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--units", type=int, default=64)
    p.add_argument("--timesteps", type=int, default=50)
    p.add_argument("--features", type=int, default=8)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--optimizer", default="adam")
    p.add_argument("--tolerance-mib", type=float, default=1.0)
    args = p.parse_args(argv)

    import fastnn
    from fastnn.layers import LSTM, Dense, Input

    fastnn.set_num_threads(args.threads)
    fastnn.set_seed(0)
    rng = np.random.default_rng(0)
    shape = (args.batch, args.timesteps, args.features)
    batches = [
        (
            rng.standard_normal(shape).astype(np.float32),
            rng.standard_normal((args.batch, 1)).astype(np.float32) * 0.1,
        )
        for _ in range(4)
    ]
    model = fastnn.Sequential([Input(shape=shape[1:]), LSTM(args.units), Dense(1)])
    model.compile(args.optimizer, "mse")

    checkpoints = sorted({c for c in CHECKPOINTS if c < args.steps} | {args.steps})
    print(
        f"fastnn {fastnn.__version__} backend={fastnn.get_backend()} "
        f"threads={fastnn.get_num_threads()}: LSTM({args.units}) T={args.timesteps} "
        f"F={args.features} B={args.batch} + Dense(1), {args.optimizer}, "
        f"{args.steps} train_on_batch steps"
    )
    print(f"{'step':>6} {'rss MiB':>9} {'peak MiB':>9} {'loss':>10} {'ms/step':>8}")
    print(f"{0:>6} {rss_mib():>9.2f} {peak_mib():>9.2f} {'':>10} {'':>8}")
    rss = {}
    t0, last = time.perf_counter(), 0
    loss = float("nan")
    for step in range(1, args.steps + 1):
        x, y = batches[step % len(batches)]
        loss = model.train_on_batch(x, y)
        if step in checkpoints:
            now = time.perf_counter()
            ms = (now - t0) * 1e3 / (step - last)
            t0, last = now, step
            rss[step] = rss_mib()
            print(f"{step:>6} {rss[step]:>9.2f} {peak_mib():>9.2f} {loss:>10.4g} {ms:>8.2f}")
    first = checkpoints[0]
    growth = rss[args.steps] - rss[first]
    per_1k = growth / max(1, args.steps - first) * 1000
    flat = abs(growth) <= args.tolerance_mib
    print(
        f"growth after warm-up (step {first} -> {args.steps}): {growth * 1024:+.0f} KiB "
        f"({per_1k * 1024:+.1f} KiB per 1000 steps)"
    )
    print(
        ("VERDICT: flat, no leak: " if flat else "VERDICT: GROWING, possible leak: ")
        + f"resident memory changed by {growth:+.2f} MiB over {args.steps - first} steps "
        f"after warm-up (tolerance {args.tolerance_mib} MiB)"
    )
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
