"""Activation functions by Keras name.

Layers take an activation as a string ('relu'), None (linear) or one of the
functions below (Keras code passes `keras.activations.relu`). The functions
compute with the NumPy reference, for users; layers run the compiled kernels.
"""

import numpy as np

NAMES = ("linear", "relu", "sigmoid", "tanh", "softmax", "leaky_relu", "elu")


def _ref(name, x):
    from fastnn.backend.reference.activations import bias_act_forward

    x = np.array(x, dtype=np.result_type(np.asarray(x).dtype, np.float32), copy=True)
    flat = x.reshape(-1, x.shape[-1] if x.ndim else 1)
    bias_act_forward(flat, None, name)
    return x


class _Activation(str):
    """An activation function that is also its Keras name: called on an array it computes
    with the NumPy reference; everywhere else (configs, comparisons, the kernels) it is
    the name. So `layer.activation` is both what Keras code calls and what fastnn stores."""

    __slots__ = ()

    def __call__(self, x):
        return _ref(str(self), x)

    @property
    def __name__(self):
        return str(self)


linear = _Activation("linear")
relu = _Activation("relu")
sigmoid = _Activation("sigmoid")
tanh = _Activation("tanh")
softmax = _Activation("softmax")
leaky_relu = _Activation("leaky_relu")  # max(x, 0.2 x): Keras 3's default negative slope
elu = _Activation("elu")  # x if x > 0 else exp(x) - 1


def name_of(identifier):
    """Canonical activation name from a string, None or one of this module's functions
    (what layers store and the kernels take)."""
    if identifier is None:
        return "linear"
    if callable(identifier) and getattr(identifier, "__name__", None) in NAMES:
        return identifier.__name__
    if isinstance(identifier, str) and identifier.lower() in NAMES:
        return identifier.lower()
    raise ValueError(f"unknown activation {identifier!r}. Expected None or one of {list(NAMES)}")


def get(identifier):
    """The activation function, as keras.activations.get: None gives linear, a name its
    function, one of this module's functions itself (each also equal to its name)."""
    return globals()[name_of(identifier)]
