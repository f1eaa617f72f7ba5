"""NumPy twin of fastnn/backend/compiled/checks.pyx: input checks at the Python boundary."""

import numpy as np


def first_nonfinite(a):
    """Flat index of the first NaN or infinity in a, or -1."""
    a = np.asarray(a)
    if a.dtype.kind != "f":
        return -1
    bad = np.flatnonzero(~np.isfinite(a.reshape(-1)))
    return int(bad[0]) if bad.size else -1


def first_bad_label(t, d):
    """Flat index of the first value of t that is not an integer in [0, d), or -1."""
    v = np.asarray(t, dtype=np.float64).reshape(-1)
    bad = np.flatnonzero(~((v >= 0) & (v < d) & (v == np.floor(v))))
    return int(bad[0]) if bad.size else -1
