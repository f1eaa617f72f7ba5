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


def linear(x):
    return _ref("linear", x)


def relu(x):
    return _ref("relu", x)


def sigmoid(x):
    return _ref("sigmoid", x)


def tanh(x):
    return _ref("tanh", x)


def softmax(x):
    return _ref("softmax", x)


def leaky_relu(x):
    """max(x, 0.2 x): Keras 3's default negative slope."""
    return _ref("leaky_relu", x)


def elu(x):
    """x if x > 0 else exp(x) - 1."""
    return _ref("elu", x)


def get(identifier):
    """Canonical activation name from a string, None or one of this module's functions."""
    if identifier is None:
        return "linear"
    if callable(identifier) and getattr(identifier, "__name__", None) in NAMES:
        return identifier.__name__
    if isinstance(identifier, str) and identifier.lower() in NAMES:
        return identifier.lower()
    raise ValueError(f"unknown activation {identifier!r}. Expected None or one of {list(NAMES)}")
