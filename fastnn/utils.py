"""Keras' `keras.utils` spellings that tutorials call: `set_random_seed` and
`to_categorical` (the one-hot helper of fastnn.preprocessing)."""
import random

import numpy as np

from fastnn._random import set_seed
from fastnn.preprocessing import to_categorical

__all__ = ["set_random_seed", "to_categorical"]


def set_random_seed(seed):
    """Seed everything a Keras script's training draws from, as Keras does: Python's
    `random`, NumPy's global generator and fastnn's own stream (fastnn.set_seed:
    weight initialisation, shuffling, dropout)."""
    # NumPy's global generator takes seeds below 2**32: check before changing any
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or not 0 <= seed < 2**32:
        raise ValueError(f"set_random_seed expected an int in [0, 2**32). "
                         f"Received: seed={seed!r}")
    set_seed(int(seed))
    random.seed(int(seed))
    np.random.seed(int(seed))
