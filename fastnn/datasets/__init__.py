"""Small real data sets and seeded synthetic tasks.

Everything here works offline: the digits data ship inside the package, the
synthetic tasks are generated from a seed, and the MNIST readers only parse IDX
files the user already has on disk. Nothing is ever downloaded.

Conventions: inputs ``x`` are float32 and batch-first, ``(N, F)`` for points and
``(N, T, F)`` for sequences. Class labels are int64 ``(N,)`` (or ``(N, T)`` per
timestep) so they can feed a sparse categorical loss directly; regression and
binary targets are float32 ``(N, 1)``. The same ``seed`` always gives the same
arrays.

The code lives in submodules; every public name is re-exported here:

- ``bundled``: :func:`load_digits` (data in ``fastnn.data``), :func:`read_idx`
  and :func:`load_mnist` (IDX files on disk);
- ``synthetic``: the seeded ``make_*`` tasks;
- ``split``: :func:`train_test_split`;
- ``_checks``: the private argument checks they share.
"""

from fastnn.datasets.bundled import load_digits, load_mnist, read_idx
from fastnn.datasets.split import train_test_split
from fastnn.datasets.synthetic import (
    make_adding_problem,
    make_copy_problem,
    make_moons,
    make_sentiment,
    make_sine_series,
    make_spirals,
    make_xor,
)

__all__ = [
    "load_digits",
    "train_test_split",
    "make_xor",
    "make_spirals",
    "make_moons",
    "make_sine_series",
    "make_adding_problem",
    "make_copy_problem",
    "make_sentiment",
    "read_idx",
    "load_mnist",
]
