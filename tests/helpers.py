"""Helpers shared by the tests (imported as `helpers`; see conftest.py)."""

import numpy as np

DTYPES = [np.float32, np.float64]
# twin tolerances: float32 kernels vs the NumPy reference, float64 near round-off
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


def numeric_grad(f, arr, eps=1e-6):
    """Central differences of the scalar f() with respect to every element of arr."""
    g = np.zeros_like(arr)
    it = np.nditer(arr, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = arr[i]
        arr[i] = old + eps
        fp = f()
        arr[i] = old - eps
        fm = f()
        arr[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


def train_on_both_backends(layers, x, y, seed, epochs, batch_size):
    """Train Sequential(layers()) in float64 with Adam on the compiled kernels and on the
    NumPy reference (same seed, no shuffling); returns the two trained models."""
    import fastnn

    models = []
    for name in ("compiled", "numpy"):
        fastnn.set_backend(name)
        fastnn.utils.set_random_seed(seed)
        try:
            model = fastnn.Sequential(layers(), dtype="float64")
            model.compile("adam", "mse")
            model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=False, verbose=0)
            models.append(model)
        finally:
            fastnn.set_backend("compiled")
    return models
