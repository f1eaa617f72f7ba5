"""fastnn: dense and recurrent neural networks on the CPU, fast.

Compiled kernels (Cython + C, BLAS through scipy) under a Keras-shaped API:

    import fastnn
    from fastnn.layers import Dense
    model = fastnn.Sequential([Dense(32, activation="relu", input_shape=(20,)), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=10)
"""

from fastnn import backend as _backend
from fastnn._version import __version__

# No silent fallback: without the compiled kernels importing fastnn fails, saying
# how to build them, unless the NumPy reference was chosen explicitly.
if _backend.get_backend() == "compiled":
    _backend.import_compiled()

from fastnn import (  # noqa: E402  # noqa: E402
    activations,
    callbacks,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,  # noqa: E402
    optimizers,
    preprocessing,
    utils,
)
from fastnn._random import set_seed  # noqa: E402
from fastnn.backend import get_backend, set_backend  # noqa: E402
from fastnn.backend.config import get_num_threads, set_num_threads, show_config  # noqa: E402
from fastnn.layers import Input  # noqa: E402  (keras.Input)
from fastnn.model import Sequential  # noqa: E402
from fastnn.saving import ModelFileError, load_model  # noqa: E402

__all__ = [
    "Sequential",
    "Input",
    "layers",
    "losses",
    "metrics",
    "optimizers",
    "callbacks",
    "activations",
    "initializers",
    "datasets",
    "preprocessing",
    "utils",
    "models",
    "set_seed",
    "set_backend",
    "get_backend",
    "set_num_threads",
    "get_num_threads",
    "show_config",
    "load_model",
    "ModelFileError",
    "__version__",
]
