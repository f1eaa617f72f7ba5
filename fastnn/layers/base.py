"""Layer base class.

A layer stores its configuration in __init__. Once the model knows the input
shape it asks the layer for its weight specs (name, shape, initializer); the
model allocates every weight inside one flat parameter buffer and hands each
layer views (`layer.weights`, `layer.grads`). For training and inference the
layer contributes Ops (compiled or NumPy twin) to the model's Net.
Shapes exclude the batch dimension.
"""

import re
import warnings
from collections import defaultdict

import numpy as np

from fastnn._data import checked_weights
from fastnn.backend.contract.args import integer

# Bumped by every change of a layer's trainable flag (or of what its ops compute, such as
# an activation set after construction): a model compares it with the value its Net was
# built at (one int compare per train_on_batch) and rebuilds the Net when it differs.
_trainable_changes = [0]


def trainable_version():
    return _trainable_changes[0]


def layers_changed():
    """A layer changed what its ops compute: Nets built before are rebuilt."""
    _trainable_changes[0] += 1


class ActivationAttribute:
    """`layer.activation` of Dense and Activation: the activation function (fastnn.
    activations, each also equal to its name). Set after construction (a name, None or
    an activation function, as Keras code does) it takes effect at the next step."""

    def __get__(self, layer, owner=None):
        return self if layer is None else layer._activation

    def __set__(self, layer, value):
        from fastnn import activations

        layer._activation = activations.get(value)
        layers_changed()


# Keras-style automatic names: dense, dense_1, dense_2, ... (one counter per prefix)
_name_counts = defaultdict(int)


def _snake_case(name):
    # Keras' names: "InputLayer" -> "input_layer", "LSTM" -> "lstm", "SimpleRNN" ->
    # "simple_rnn", "SpatialDropout1D" -> "spatial_dropout1d" (a digit does not start a
    # word): a capitalised word gets an underscore before it, then a lower-case letter
    # followed by a capital
    name = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(prefix):
    """prefix for the first layer of its kind, then prefix_1, prefix_2, ..."""
    k = _name_counts[prefix]
    _name_counts[prefix] += 1
    return prefix if k == 0 else f"{prefix}_{k}"


def _to_shape(shape, name, free=False):
    # free: None entries are allowed (a free dimension, e.g. any number of timesteps:
    # input_shape=(None, F)); they are fixed by the data
    if shape is None:
        return None
    try:
        shape = tuple(
            None if (free and s is None) else int(s)
            for s in (shape if isinstance(shape, (tuple, list)) else (shape,))
        )
    except (TypeError, ValueError):
        raise TypeError(
            f"expected {name} as a tuple of positive ints. Received: {name}={shape!r}"
        ) from None
    if any(s is not None and s <= 0 for s in shape):
        raise ValueError(f"expected {name} of positive sizes. Received: {name}={shape}")
    return shape


class Layer:
    trainable_weights_names = ()
    # Keras' supports_masking: a mask on the input passes on to the output (else it is
    # dropped with Keras' warning); see wire_mask
    supports_masking = False

    def __init__(
        self,
        *,
        name=None,
        input_shape=None,
        input_dim=None,
        batch_input_shape=None,
        batch_size=None,
        dtype=None,
        trainable=True,
        **kwargs,
    ):
        if kwargs:
            raise TypeError(
                f"{type(self).__name__} got unexpected keyword argument(s) {sorted(kwargs)}"
            )
        self.trainable = trainable
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(
                f"{type(self).__name__} expected name as a non-empty str. Received: name={name!r}"
            )
        self.name = name or unique_name(_snake_case(type(self).__name__))
        if input_dim is not None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            # (batch, *shape): fastnn takes any batch size, also for stateful layers
            # (their carried state follows the batch size of the first batch)
            input_shape = tuple(batch_input_shape)[1:]
            batch_size = tuple(batch_input_shape)[0] if batch_size is None else batch_size
        if batch_size is not None:
            batch_size = integer(type(self).__name__, "batch_size", batch_size, minimum=1)
        self.batch_size = batch_size
        self.input_shape_arg = _to_shape(input_shape, "input_shape", free=True)
        self.dtype = dtype
        self.weights = []  # views into the model's flat parameter buffer
        self.grads = []  # views into the model's flat gradient buffer
        self.input_shape = None
        self.output_shape = None

    @property
    def trainable(self):
        """False: the optimizer leaves this layer's weights alone (Keras' frozen layer);
        they count as non-trainable in summary(). Takes effect at the next step."""
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(
                f"{type(self).__name__} expected trainable as True or False. "
                f"Received: trainable={value!r}"
            )
        self._trainable = bool(value)
        _trainable_changes[0] += 1

    # --- shape and weights -------------------------------------------------
    def weight_specs(self, input_shape):
        """[(name, shape, initializer)] for this input shape. Default: no weights."""
        return []

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def count_params(self):
        return sum(w.size for w in self.weights)

    def get_weights(self):
        """Copies of the layer's weight arrays ([] before its model is built)."""
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        """Write a list shaped like get_weights() into the layer's weights (inside its
        model's buffers, so the model uses them at once). Every array is checked before
        anything is written."""
        if self.input_shape is None:
            raise ValueError(
                f"{self.name}.set_weights needs the layer built: build or fit its model first"
            )
        arrays = checked_weights(self.weights, weights, self.dtype_)
        for t, a in zip(self.weights, arrays):
            t[...] = a

    # --- ops -----------------------------------------------------------------
    @property
    def activation_name(self):
        """The activation a loss may fuse with, when this layer ends the model."""
        return getattr(self, "activation", "linear")

    def make_ops(self, backend, need_dx, fuse_activation, seed):
        """Ops for this layer (an empty list for layers that only reshape).
        `backend(name)` returns the kernel module (compiled or reference).
        fuse_activation: build without the output activation (a fused loss takes it)."""
        return []

    def dropout_parts(self, ops):
        """(owner, op) for each of this layer's ops (from make_ops) that draws dropout
        masks: the owner's name keys the op's mask stream in the model's random state."""
        return [
            (self, op) for op in ops if hasattr(op, "counter") and getattr(op, "draws_masks", True)
        ]

    def wire_mask(self, ops, mask_src):
        """Masking: connect this layer's ops (from make_ops) to the mask of its input
        (mask_src: the op that writes it, or None) and return the op whose mask the
        output carries, or None (Keras' compute_mask). Default: pass the mask on when
        supports_masking, else drop it with Keras' warning."""
        if mask_src is None:
            return None
        if not self.supports_masking:
            warnings.warn(
                f"Layer '{self.name}' (of type {type(self).__name__}) was passed an input "
                "with a mask attached to it. However, this layer does not support masking "
                "and will therefore destroy the mask information. Downstream layers will "
                "not see the mask.",
                stacklevel=2,
            )
            return None
        return mask_src

    # --- config --------------------------------------------------------------
    def get_config(self):
        cfg = {"name": self.name}
        if self.input_shape_arg is not None:
            cfg["input_shape"] = list(self.input_shape_arg)
        if self.batch_size is not None:
            cfg["batch_size"] = self.batch_size
        if not self.trainable:
            cfg["trainable"] = False
        return cfg

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"
