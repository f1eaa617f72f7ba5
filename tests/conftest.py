"""Shared fixtures. The suite runs against the installed package (see
test_install.py), never the uncompiled source tree."""
import numpy as np
import pytest

DTYPES = [np.float32, np.float64]
# twin tolerances: float32 kernels vs the NumPy reference, float64 near round-off
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def both_backends():
    """Kernel modules of both engines: (compiled, reference)."""
    import importlib

    def pair(name):
        return (importlib.import_module(f"fastnn._kernels.{name}"),
                importlib.import_module(f"fastnn.reference.{name}"))
    return pair
