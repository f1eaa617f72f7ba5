"""Bidirectional: a recurrent layer run over the sequence in both directions, the two
outputs merged (kernels: fastnn/backend/*/bidirectional)."""

import numpy as np

from fastnn.layers.base import Layer
from fastnn.layers.recurrent import GRU, LSTM, SimpleRNN, _Recurrent

MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _renamed(layer, prefix, **changes):
    # a fresh copy of `layer` from its config (no state carried over), as Keras makes it
    config = {**layer.get_config(), **changes}
    name = layer.name[len(prefix) :] if layer.name.startswith(prefix) else layer.name
    config["name"] = prefix + name
    return type(layer).from_config(config)


class Bidirectional(Layer):
    """Runs `layer` (SimpleRNN, LSTM or GRU) forward and a copy of it backward
    (go_backwards=True, or `backward_layer`) over the same sequence and merges the two
    outputs: "concat" (default: the forward units first), "sum", "mul" or "ave". With
    return_sequences the backward output is flipped back to input order before the
    merge, and masked steps output zeros (Keras forces zero_output_for_mask). Both
    directions run at once, one per thread, when two threads are allowed.
    weights: initial weights, the forward layer's then the backward layer's.
    Not yet: merge_mode=None (two outputs: the functional API's)."""

    supports_masking = True

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, _Recurrent):
            raise ValueError(
                "Bidirectional expected a recurrent layer (SimpleRNN, LSTM, GRU). "
                f"Received: {type(layer).__name__}"
            )
        if backward_layer is not None and not isinstance(backward_layer, _Recurrent):
            raise ValueError(
                "Bidirectional expected backward_layer as a recurrent layer. "
                f"Received: {type(backward_layer).__name__}"
            )
        if merge_mode not in MERGE_MODES:
            raise ValueError(
                f"Invalid merge mode. Received: {merge_mode}. Merge mode should be one of "
                '{"sum", "mul", "ave", "concat", None}'
            )
        if merge_mode is None:
            raise NotImplementedError(
                "Bidirectional(merge_mode=None) returns two outputs, which needs the "
                "functional API; not supported yet"
            )
        if kwargs.get("input_shape") is None and layer.input_shape_arg is not None:
            kwargs["input_shape"] = layer.input_shape_arg
        super().__init__(**kwargs)
        self.forward_layer = _renamed(layer, "forward_")
        if backward_layer is None:
            self.backward_layer = _renamed(layer, "backward_", go_backwards=True)
        else:
            self.backward_layer = backward_layer
        fwd, bwd = self.forward_layer, self.backward_layer
        if fwd.go_backwards == bwd.go_backwards:
            raise ValueError(
                "Forward layer and backward layer should have different `go_backwards` "
                f"value. Received: forward_layer.go_backwards {fwd.go_backwards}, "
                f"backward_layer.go_backwards={bwd.go_backwards}"
            )
        for a in ("stateful", "return_sequences", "return_state"):
            if getattr(fwd, a) != getattr(bwd, a):
                raise ValueError(
                    "Forward layer and backward layer are expected to have the same value "
                    f'for attribute "{a}", got "{getattr(fwd, a)}" for forward layer and '
                    f'"{getattr(bwd, a)}" for backward layer'
                )
        for inner in (fwd, bwd):  # Keras: masked steps of a sequence output are zeros
            inner.zero_output_for_mask = inner.return_sequences
        if type(fwd) is not type(bwd) or fwd.units != bwd.units:
            raise NotImplementedError(
                "Bidirectional with a backward_layer of another class or size is not supported yet"
            )
        self.merge_mode = merge_mode
        self.initial_weights = None if weights is None else [np.asarray(w) for w in weights]
        self.stateful, self.return_sequences = fwd.stateful, fwd.return_sequences
        self.return_state = fwd.return_state
        self._op = None  # the model's BidirectionalOp, once built

    # ------------------------------------------------------------ shapes and weights
    def weight_specs(self, input_shape):
        specs = [
            (f"{inner.name}_{name}", shape, init)
            for inner in (self.forward_layer, self.backward_layer)
            for name, shape, init in inner.weight_specs(input_shape)
        ]
        if self.initial_weights is not None:
            if len(self.initial_weights) != len(specs):
                raise ValueError(
                    f"{self.name} expected {len(specs)} initial weights (the forward "
                    f"layer's, then the backward layer's). Received: {len(self.initial_weights)}"
                )
            specs = [
                (name, shape, lambda s, dtype, rng, w=w: w.astype(dtype).reshape(s))
                for (name, shape, _), w in zip(specs, self.initial_weights)
            ]
        return specs

    def compute_output_shape(self, input_shape):
        out = tuple(self.forward_layer.compute_output_shape(input_shape))
        return out[:-1] + (2 * out[-1],) if self.merge_mode == "concat" else out

    # ------------------------------------------------------------ ops
    def _install(self):
        # the inner layers take views of the wrapper's weights (forward's first)
        k = len(self.forward_layer.weight_specs(self.input_shape))
        halves = ((self.forward_layer, slice(0, k)), (self.backward_layer, slice(k, None)))
        for inner, part in halves:
            inner.input_shape = self.input_shape
            inner.output_shape = inner.compute_output_shape(self.input_shape)
            inner.weights, inner.grads = self.weights[part], self.grads[part]
            inner.dtype_ = self.dtype_

    def make_ops(self, backend, need_dx, fuse_activation, seed):
        if self.return_state:
            raise ValueError(
                f"{self.name}: return_state=True is for calling the layer directly; inside "
                "a Sequential the layer has one output"
            )
        self._install()
        # each direction its own dropout stream (Keras: each layer its own SeedGenerator)
        seeds = (seed, (seed * 6364136223846793005 + 1442695040888963407) % 2**64)
        ops = [
            inner.make_ops(backend, need_dx, False, s)[0] for inner, s in zip(self._inner(), seeds)
        ]
        self._op = backend("bidirectional").BidirectionalOp(ops[0], ops[1], self.merge_mode)
        return [self._op]

    def dropout_parts(self, ops):
        # the two directions' ops, each keyed by its layer (forward_*, backward_*)
        pairs = zip(self._inner(), (ops[0].fwd, ops[0].bwd))
        return [(inner, op) for inner, op in pairs if op.draws_masks]

    def _inner(self):
        return (self.forward_layer, self.backward_layer)

    def wire_mask(self, ops, mask_src):
        # both directions read the input's mask; a sequence output carries it on
        ops[0].fwd.mask_src = ops[0].bwd.mask_src = mask_src
        return mask_src if self.return_sequences else None

    # ------------------------------------------------------------ state
    @property
    def states(self):
        """Stateful layers: the forward layer's states then the backward layer's, or None."""
        f, b = self.forward_layer.states, self.backward_layer.states
        return None if f is None or b is None else f + b

    def reset_states(self, states=None):
        """Forget the carried states (or set them: the forward layer's, then the backward's)."""
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
            return
        half = len(states) // 2
        self.forward_layer.reset_states(states[:half])
        self.backward_layer.reset_states(states[half:])

    def reset_state(self, states=None):
        """Keras 3's name of reset_states."""
        self.reset_states(states)

    # ------------------------------------------------------------ direct calls
    def __call__(self, x, initial_state=None, training=False, mask=None):
        """Run both directions on x (n, T, F) and merge; with return_state a list
        [output, forward states..., backward states...]. initial_state: the forward
        layer's states then the backward layer's."""
        fs = bs = None
        if initial_state is not None:
            half = len(initial_state) // 2
            fs, bs = list(initial_state[:half]), list(initial_state[half:])
        if self.weights:
            self._install()  # built (in a model, or by an earlier call): run on its weights
        y = self.forward_layer(x, initial_state=fs, training=training, mask=mask)
        y_rev = self.backward_layer(x, initial_state=bs, training=training, mask=mask)
        if not self.weights:  # first call outside a model: the inner layers built their own
            fwd, bwd = self.forward_layer, self.backward_layer
            self.input_shape, self.dtype_ = fwd.input_shape, fwd.dtype_
            self.output_shape = self.compute_output_shape(self.input_shape)
            self.weights, self.grads = fwd.weights + bwd.weights, fwd.grads + bwd.grads
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]
        if self.merge_mode == "concat":
            out = np.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            out = y + y_rev
        elif self.merge_mode == "ave":
            out = (y + y_rev) / 2
        else:
            out = y * y_rev
        return [out, *states] if self.return_state else out

    # ------------------------------------------------------------ config
    def get_config(self):
        # the inner layers as fastnn.layers.serialize writes them (their classes are known
        # here, so no registry import is needed)
        return {
            **super().get_config(),
            "merge_mode": self.merge_mode,
            "layer": _serialize(self.forward_layer),
            "backward_layer": _serialize(self.backward_layer),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = _deserialize(config.get("layer"))
        if config.get("backward_layer") is not None:
            config["backward_layer"] = _deserialize(config["backward_layer"])
        return cls(**config)


_INNER = {c.__name__: c for c in (SimpleRNN, LSTM, GRU)}


def _serialize(layer):
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def _deserialize(inner):
    if not isinstance(inner, dict) or inner.get("class_name") not in _INNER:
        raise ValueError(
            f"Bidirectional expected its layer as {{'class_name': one of {sorted(_INNER)}, "
            f"'config': {{...}}}}. Received: {inner!r:.200}"
        )
    return _INNER[inner["class_name"]].from_config(dict(inner["config"]))
