"""The global seed: fastnn.set_seed(s) makes model initialisation, shuffling and
dropout reproducible. Each model draws its own seed from this stream when built."""
import numpy as np

_global = np.random.default_rng()


def set_seed(seed):
    """Seed fastnn's global random stream (NumPy's global state is left alone)."""
    global _global
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"set_seed expected a non-negative int. Received: seed={seed!r}")
    _global = np.random.default_rng(int(seed))


def draw_seed():
    return int(_global.integers(0, 2**63 - 1))
