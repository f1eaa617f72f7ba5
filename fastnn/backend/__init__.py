"""Which kernels run: the compiled ones (default) or the NumPy reference twins.

FASTNN_BACKEND=numpy in the environment, or fastnn.set_backend("numpy"), is the
explicit opt-in to the reference. There is no silent fallback: when the
compiled extension cannot be imported, importing fastnn fails (see __init__).
"""

import importlib
import os

BACKENDS = ("compiled", "numpy")
_current = os.environ.get("FASTNN_BACKEND", "compiled").strip().lower() or "compiled"
if _current not in BACKENDS:
    raise ImportError(f"FASTNN_BACKEND expected one of {BACKENDS}. Received: {_current!r}")


def get_backend():
    """'compiled' or 'numpy'."""
    return _current


def set_backend(name):
    """Switch every model to the compiled kernels ('compiled') or the NumPy
    reference ('numpy'). Models rebuild their step on their next call, keeping
    weights and optimizer state."""
    global _current
    if name not in BACKENDS:
        raise ValueError(f"set_backend expected one of {BACKENDS}. Received: {name!r}")
    if name == "compiled":
        import_compiled()
    _current = name


# (backend, name) -> module. A training step looks up its check kernels at every call; a
# dict lookup is several times cheaper than importlib (bench/RESULTS.md, "Scheduling policy").
_modules = {}


def kernels(name, backend=None):
    """The kernel module `name` of a backend (default: the current one)."""
    backend = backend or _current
    mod = _modules.get((backend, name))
    if mod is None:
        package = f"fastnn.backend.{'compiled' if backend == 'compiled' else 'reference'}"
        mod = _modules[(backend, name)] = importlib.import_module(f"{package}.{name}")
    return mod


COMPILED_MODULES = (
    "_parallel",
    "_blas",
    "_config",
    "_op",
    "activations",
    "checks",
    "dense",
    "dropout",
    "losses",
    "optimizers",
    "network",
    "recurrent",
)


def import_compiled():
    """Import every compiled module, or raise ImportError saying how to build them."""
    try:
        for name in COMPILED_MODULES:
            importlib.import_module(f"fastnn.backend.compiled.{name}")
    except ImportError as exc:
        here = os.path.dirname(os.path.abspath(__file__))
        raise ImportError(
            f"fastnn's compiled kernels could not be imported ({exc}). fastnn was imported "
            f"from {here}. If that is a source checkout, build the extensions first: "
            f"`pip install .` (or `python setup.py build_ext --inplace` for development), "
            f"and run Python from another directory so the installed package is used. "
            f"To run on the pure NumPy reference instead, set FASTNN_BACKEND=numpy."
        ) from exc
