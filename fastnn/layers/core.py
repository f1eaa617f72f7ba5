"""Dense, Embedding, Masking, Activation, Dropout, Flatten, Reshape and the input layer."""

import math
import numbers
import warnings

import numpy as np

from fastnn import initializers
from fastnn.backend.contract.args import integer
from fastnn.layers.base import ActivationAttribute, Layer, _to_shape


def _sequence_shape(layer, input_shape):
    # the shape of layers that keep sequences (steps, features) as they are
    if len(input_shape) != 2:
        raise ValueError(
            f"{layer.name} expected sequences (steps, features). Received: samples of "
            f"shape {tuple(input_shape)}"
        )
    return tuple(input_shape)


class InputLayer(Layer):
    """Declares the input shape (without the batch dimension). Adds no op."""

    def __init__(self, input_shape=None, shape=None, name=None, **kwargs):
        super().__init__(
            name=name, input_shape=input_shape if input_shape is not None else shape, **kwargs
        )
        if self.input_shape_arg is None:
            raise ValueError("InputLayer expected input_shape (or shape). Received: None")


def Input(shape=None, batch_size=None, name=None, dtype=None, batch_shape=None, **kwargs):
    """Keras-style `Input(shape=(784,))` (or `batch_shape=(32, 784)`), usable as the first
    entry of Sequential."""
    if batch_shape is not None:
        if shape is not None:
            raise ValueError("Input expected shape or batch_shape, not both")
        batch_shape = tuple(batch_shape)
        shape, batch_size = batch_shape[1:], batch_shape[0] if batch_size is None else batch_size
    return InputLayer(shape=shape, name=name, dtype=dtype, batch_size=batch_size, **kwargs)


class Dense(Layer):
    """y = activation(x @ kernel + bias); kernel (n_in, units), bias (units,).
    On a sequence input (T, F) it applies to every timestep."""

    supports_masking = True
    activation = ActivationAttribute()

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(
                f"Dense expected units to be a positive int. Received: units={units!r}"
            )
        for arg, val in (
            ("kernel_regularizer", kernel_regularizer),
            ("bias_regularizer", bias_regularizer),
            ("activity_regularizer", activity_regularizer),
            ("kernel_constraint", kernel_constraint),
            ("bias_constraint", bias_constraint),
        ):
            if val is not None:
                raise NotImplementedError(f"Dense({arg}=...) is not supported yet")
        self.units = int(units)
        self.activation = activation
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.for_weight(kernel_initializer)
        self.bias_initializer = initializers.for_weight(bias_initializer)

    def weight_specs(self, input_shape):
        specs = [("kernel", (input_shape[-1], self.units), self.kernel_initializer)]
        if self.use_bias:
            specs.append(("bias", (self.units,), self.bias_initializer))
        return specs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def make_ops(self, backend, need_dx, fuse_activation, seed):
        steps = math.prod(self.input_shape[:-1]) if len(self.input_shape) > 1 else 1
        b, db = (self.weights[1], self.grads[1]) if self.use_bias else (None, None)
        act = "linear" if fuse_activation else self.activation
        return [
            backend("dense").DenseOp(self.weights[0], b, self.grads[0], db, act, need_dx, steps)
        ]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": self.activation,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }


class Embedding(Layer):
    """Turns indices into dense vectors: an input of shape (L,) of integers in
    [0, input_dim) gives (L, output_dim), row i of the `embeddings` matrix
    (input_dim, output_dim) for index i. As in Keras, float inputs are truncated toward
    zero; an index outside [0, input_dim) raises before anything is updated.

    weights: initial embeddings (input_dim, output_dim) (or a one-element list of it).
    mask_zero: index 0 is padding; the output carries a mask (input != 0) that recurrent
    layers and average pooling honour (Keras masking).
    input_length: accepted and ignored with a warning, as in Keras 3.
    Not yet: regularizers, constraints, LoRA."""

    def __init__(
        self,
        input_dim,
        output_dim,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        embeddings_constraint=None,
        mask_zero=False,
        weights=None,
        lora_rank=None,
        lora_alpha=None,
        input_length=None,
        **kwargs,
    ):
        # (Keras also rejects NumPy integers here; fastnn takes them, as everywhere)
        self.input_dim = integer("Embedding", "input_dim", input_dim, minimum=1)
        self.output_dim = integer("Embedding", "output_dim", output_dim, minimum=1)
        if input_length is not None:
            warnings.warn("Argument `input_length` is deprecated. Just remove it.", stacklevel=2)
        super().__init__(**kwargs)
        for arg, val in (
            ("embeddings_regularizer", embeddings_regularizer),
            ("embeddings_constraint", embeddings_constraint),
            ("lora_rank", lora_rank),
            ("lora_alpha", lora_alpha),
        ):
            if val is not None:
                raise NotImplementedError(f"Embedding({arg}=...) is not supported yet")
        self.mask_zero = bool(mask_zero)
        self.embeddings_initializer = initializers.for_weight(embeddings_initializer)
        self.initial_weights = None
        if weights is not None:
            if isinstance(weights, (list, tuple)) and len(weights) == 1:
                weights = weights[0]
            w = np.asarray(weights)
            if w.shape != (self.input_dim, self.output_dim) or w.dtype.kind not in "biuf":
                raise ValueError(
                    f"Embedding expected weights of shape ({self.input_dim}, "
                    f"{self.output_dim}) of real numbers. Received: shape {w.shape}, "
                    f"dtype {w.dtype}"
                )
            self.initial_weights = w

    def weight_specs(self, input_shape):
        init = self.embeddings_initializer
        if self.initial_weights is not None:
            w = self.initial_weights
            init = lambda shape, dtype, rng: w.astype(dtype)  # noqa: E731
        return [("embeddings", (self.input_dim, self.output_dim), init)]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def make_ops(self, backend, need_dx, fuse_activation, seed):
        length = math.prod(self.input_shape) if self.input_shape else 1
        op = backend("embedding").EmbeddingOp(
            self.weights[0],
            self.grads[0],
            length,
            need_dx,
            name=self.name,
            mask_zero=self.mask_zero,
        )
        return [op]

    def wire_mask(self, ops, mask_src):
        return ops[0] if self.mask_zero else None

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "mask_zero": self.mask_zero,
        }


class Masking(Layer):
    """Masks the steps of a sequence whose features all equal mask_value: their output
    is zero, and the output carries a mask that recurrent layers and average pooling
    honour (Keras' Masking). Samples (steps, features)."""

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, numbers.Real):
            raise TypeError(
                f"Masking expected mask_value as a number. Received: mask_value={mask_value!r}"
            )
        self.mask_value = float(mask_value)

    def compute_output_shape(self, input_shape):
        return _sequence_shape(self, input_shape)

    def make_ops(self, backend, need_dx, fuse_activation, seed):
        steps, feats = self.input_shape
        return [backend("sequence").MaskingOp(steps, feats, self.mask_value, self.dtype_, need_dx)]

    def wire_mask(self, ops, mask_src):
        return ops[0]

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


class Activation(Layer):
    """Applies an activation to its input (softmax over the last axis)."""

    supports_masking = True
    activation = ActivationAttribute()

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activation

    def make_ops(self, backend, need_dx, fuse_activation, seed):
        if fuse_activation:
            return []
        units = self.input_shape[-1]
        steps = math.prod(self.input_shape[:-1]) if len(self.input_shape) > 1 else 1
        return [
            backend("activations").ActivationOp(units, self.activation, self.dtype_, need_dx, steps)
        ]

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}


class Dropout(Layer):
    """Zeroes a fraction `rate` of its inputs in training and scales the rest by
    1/(1-rate); identity at inference."""

    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
            raise ValueError(f"Dropout expected rate in [0, 1). Received: rate={rate!r}")
        if noise_shape is not None:
            raise NotImplementedError("Dropout(noise_shape=...) is not supported yet")
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0
        ):
            raise ValueError(
                f"Dropout expected seed as a non-negative int or None. Received: seed={seed!r}"
            )
        self.rate = float(rate)
        self.seed = seed

    def make_ops(self, backend, need_dx, fuse_activation, seed):
        size = math.prod(self.input_shape)
        seed = seed if self.seed is None else int(self.seed)
        return [backend("dropout").DropoutOp(size, self.rate, self.dtype_, need_dx, seed)]

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class SpatialDropout1D(Dropout):
    """Dropout of whole feature channels: on samples (steps, features) one draw per
    (sample, feature), the same at every step (Keras' noise shape (batch, 1, features));
    kept values are scaled by 1/(1-rate); identity at inference."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)

    def compute_output_shape(self, input_shape):
        return _sequence_shape(self, input_shape)

    def make_ops(self, backend, need_dx, fuse_activation, seed):
        steps, feats = self.input_shape
        seed = seed if self.seed is None else int(self.seed)
        op = backend("dropout").SpatialDropoutOp(
            steps, feats, self.rate, self.dtype_, need_dx, seed
        )
        return [op]


class Flatten(Layer):
    """Flattens each sample to one dimension (no copy: samples are contiguous)."""

    def compute_output_shape(self, input_shape):
        return (math.prod(input_shape),)


class Reshape(Layer):
    """Reshapes each sample to target_shape (no copy)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = _to_shape(target_shape, "target_shape")

    def compute_output_shape(self, input_shape):
        if math.prod(input_shape) != math.prod(self.target_shape):
            raise ValueError(
                f"Reshape expected an input of {math.prod(self.target_shape)} "
                f"values per sample. Received: input shape {tuple(input_shape)}"
            )
        return self.target_shape

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}
