"""The global seed: fastnn.set_seed(s) makes model initialisation, shuffling and
dropout reproducible. Each model draws its own seed from this stream when built."""

import numpy as np

_global = np.random.default_rng()


def check_seed(seed, func, bits=None):
    """seed as an int, or ValueError naming func: a non-negative int (below 2**bits)."""
    if (
        isinstance(seed, bool)
        or not isinstance(seed, (int, np.integer))
        or seed < 0
        or (bits is not None and seed >= 2**bits)
    ):
        want = "a non-negative int" if bits is None else f"an int in [0, 2**{bits})"
        raise ValueError(f"{func} expected {want}. Received: seed={seed!r}")
    return int(seed)


def set_seed(seed):
    """Seed fastnn's global random stream (NumPy's global state is left alone)."""
    global _global
    _global = np.random.default_rng(check_seed(seed, "set_seed"))


def draw_seed():
    return int(_global.integers(0, 2**63 - 1))
