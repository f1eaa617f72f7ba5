"""Layers that reshape or pool sequences: RepeatVector, GlobalAveragePooling1D and
GlobalMaxPooling1D (kernels: fastnn/backend/*/sequence)."""

import numpy as np

from fastnn.backend.contract.args import integer
from fastnn.layers.base import Layer


class RepeatVector(Layer):
    """Repeats its input n times: (features,) -> (n, features), e.g. to feed an
    encoder's final state to every step of a decoder."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            # a TypeError, as Keras raises for a non-integer n
            raise TypeError(f"RepeatVector expected n as an int. Received: {type(n).__name__}")
        self.n = integer("RepeatVector", "n", n, minimum=1)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(
                f"{self.name} expected samples of shape (features,). Received: {tuple(input_shape)}"
            )
        return (self.n, input_shape[0])

    def make_ops(self, backend, need_dx, fuse_activation, seed):
        f = self.input_shape[0]
        return [backend("sequence").RepeatVectorOp(f, self.n, self.dtype_, need_dx)]

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class _GlobalPooling1D(Layer):
    kind = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        data_format = "channels_last" if data_format is None else str(data_format).lower()
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(
                f"{type(self).__name__} expected data_format 'channels_last' or "
                f"'channels_first'. Received: {data_format!r}"
            )
        self.data_format, self.keepdims = data_format, bool(keepdims)

    def _steps_feats(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                f"{self.name} expected sequences (steps, features). Received: samples of "
                f"shape {tuple(input_shape)}"
            )
        a, b = input_shape
        return (b, a) if self.data_format == "channels_first" else (a, b)

    def compute_output_shape(self, input_shape):
        _, feats = self._steps_feats(input_shape)
        if not self.keepdims:
            return (feats,)
        return (feats, 1) if self.data_format == "channels_first" else (1, feats)

    def make_ops(self, backend, need_dx, fuse_activation, seed):
        steps, feats = self._steps_feats(self.input_shape)
        cf = self.data_format == "channels_first"
        return [backend("sequence").GlobalPoolOp(self.kind, steps, feats, cf, self.dtype_, need_dx)]

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling1D):
    """The mean over the steps of a sequence: (steps, features) -> (features,)
    (channels_first: (features, steps)); keepdims keeps a length-1 steps axis. With a
    mask (Embedding(mask_zero=True), Masking) the mean is over the unmasked steps (none
    unmasked: NaN, as Keras)."""

    kind = "avg"
    supports_masking = True

    def wire_mask(self, ops, mask_src):
        ops[0].mask_src = mask_src
        return None


class GlobalMaxPooling1D(_GlobalPooling1D):
    """The maximum over the steps of a sequence: (steps, features) -> (features,)
    (channels_first: (features, steps)); keepdims keeps a length-1 steps axis. The
    gradient is shared equally by the steps that hold the maximum, as TensorFlow's and
    JAX's reduce_max gradients are. As in Keras, a mask is not honoured: it is dropped
    with Keras' warning and every step counts."""

    kind = "max"


# Keras' aliases
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D
