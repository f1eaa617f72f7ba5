"""TimeDistributed: a layer applied to every step of a sequence."""

from fastnn.layers.base import Layer
from fastnn.layers.core import Activation, Dense, Dropout

# Layers whose ops treat every leading axis as rows (Dense and Activation act on the last
# axis, Dropout on each value), so running them on the whole (steps, ...) sample is
# running them on each step. A layer that needs its own batch of steps (an RNN inside
# TimeDistributed) is not supported yet.
_PER_STEP = (Dense, Activation, Dropout)


class TimeDistributed(Layer):
    """Applies `layer` to every step of a sequence: samples (steps, *shape) give
    (steps, *layer's output for shape); the steps share the layer's weights.
    Supported inner layers: Dense, Activation, Dropout. A mask on the input passes on
    to the output (Keras 3.15)."""

    supports_masking = True

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError(
                f"TimeDistributed expected a fastnn layer. Received: {type(layer).__name__}"
            )
        if not isinstance(layer, _PER_STEP):
            raise NotImplementedError(
                f"TimeDistributed({type(layer).__name__}) is not supported yet; supported: "
                f"{', '.join(c.__name__ for c in _PER_STEP)}"
            )
        self.layer = layer

    def _step_shape(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(
                f"{self.name} expected sequences (steps, ...). Received: samples of shape "
                f"{tuple(input_shape)}"
            )
        return tuple(input_shape[1:])

    def weight_specs(self, input_shape):
        return self.layer.weight_specs(self._step_shape(input_shape))

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape(self._step_shape(input_shape))
        return (input_shape[0],) + tuple(inner)

    @property
    def activation_name(self):
        return self.layer.activation_name

    def make_ops(self, backend, need_dx, fuse_activation, seed):
        # the inner layer runs on the whole sequence with the wrapper's weights
        inner = self.layer
        inner.input_shape, inner.output_shape = self.input_shape, self.output_shape
        inner.weights, inner.grads, inner.dtype_ = self.weights, self.grads, self.dtype_
        return inner.make_ops(backend, need_dx, fuse_activation, seed)

    def get_config(self):
        # the inner layer as fastnn.layers.serialize writes it (the supported inner
        # classes are known here, so no registry import is needed)
        inner = {"class_name": type(self.layer).__name__, "config": self.layer.get_config()}
        return {**super().get_config(), "layer": inner}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        inner = config.pop("layer", None)
        classes = {c.__name__: c for c in _PER_STEP}
        if not isinstance(inner, dict) or inner.get("class_name") not in classes:
            raise ValueError(
                f"TimeDistributed expected its layer as {{'class_name': one of "
                f"{sorted(classes)}, 'config': {{...}}}}. Received: {inner!r:.200}"
            )
        return cls(classes[inner["class_name"]].from_config(dict(inner["config"])), **config)
