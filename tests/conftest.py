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
