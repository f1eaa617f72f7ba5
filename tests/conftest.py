"""Shared fixtures. The suite runs against the installed package (see
test_install.py), never the uncompiled source tree."""

import os
import sys

import numpy as np
import pytest

# tests import their shared helpers as `helpers` (pytest's importlib mode does not
# put this folder on sys.path; it holds no fastnn/ that could shadow the package)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import DTYPES, TOL  # noqa: E402,F401


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(params=["compiled", "numpy"])
def backend(request):
    """Run the test on the compiled kernels and on the NumPy reference."""
    import fastnn

    fastnn.set_backend(request.param)
    try:
        yield request.param
    finally:
        fastnn.set_backend("compiled")


@pytest.fixture(params=["never", "always", "never-blas"])
def split(request):
    """Compiled time loops run whole ("never") or as parts of the batch on two threads
    ("always"), and their per-step products go through the step kernel (float32 on
    AVX2 / AVX-512 CPUs) or BLAS ("-blas", as on other CPUs); "auto" picks by size, so every
    path is tested here."""
    mode, _, blas = request.param.partition("-")
    # "always": every product of a split op counts as big, so the input projection and
    # the gradient products are cut in two on two threads as well, even at test sizes
    from fastnn.backend.compiled import _parallel

    prev = _parallel.configure(
        batch_split=mode,
        step_kernel=False if blas else None,
        single_thread_below=1 if mode == "always" else None,
    )
    yield request.param
    _parallel.configure(**prev)
