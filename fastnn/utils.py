"""Keras' `keras.utils` spellings that tutorials call: `set_random_seed`,
`to_categorical`, `pad_sequences` and `timeseries_dataset_from_array` (helpers of
fastnn.preprocessing)."""

import random

import numpy as np

from fastnn._random import check_seed, set_seed
from fastnn.preprocessing import pad_sequences, to_categorical
from fastnn.preprocessing.timeseries import timeseries_dataset_from_array

__all__ = ["set_random_seed", "to_categorical", "pad_sequences", "timeseries_dataset_from_array"]


def set_random_seed(seed):
    """Seed everything a Keras script's training draws from, as Keras does: Python's
    `random`, NumPy's global generator and fastnn's own stream (fastnn.set_seed:
    weight initialisation, shuffling, dropout)."""
    # NumPy's global generator takes seeds below 2**32: check before changing any
    seed = check_seed(seed, "set_random_seed", bits=32)
    set_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
