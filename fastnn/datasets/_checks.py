"""Argument checks and the seed -> Generator rule shared by fastnn.datasets."""

import numpy as np

from fastnn.backend.contract import args as _args

# ---------------------------------------------------------------------------
# argument checks (shared by every public function)


def _check_int(func, name, value, minimum):
    # bool is an int subclass, but n_samples=True is almost certainly a mistake
    return _args.integer(func, name, value, minimum)


def _check_noise(func, value, name="noise"):
    return _args.real(func, name, value, low=0)


def _rng(func, seed):
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    _check_int(func, "seed", seed, 0)
    return np.random.default_rng(seed)
