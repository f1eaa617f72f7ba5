"""Public alias of fastnn.backend.reference, the pure NumPy twins of the compiled kernels.

`import fastnn.reference.dense` and `from fastnn.reference import losses` give the very
module objects of fastnn.backend.reference (not copies), so patching or inspecting one is
patching or inspecting the other.
"""

import importlib
import sys

MODULES = (
    "activations",
    "checks",
    "dense",
    "dropout",
    "losses",
    "network",
    "optimizers",
    "recurrent",
)

for _name in MODULES:
    _module = importlib.import_module(f"fastnn.backend.reference.{_name}")
    sys.modules[f"{__name__}.{_name}"] = _module
    globals()[_name] = _module

__all__ = list(MODULES)
