"""fastnn.convert, PyTorch side: from_torch, to_torch, to_torch_module and
model_from_torch. torch is imported inside the functions that need it (a module given
or built), never at import time: a NumPy state dict converts without torch.
"""

import re
from collections.abc import Mapping

import numpy as np

from fastnn.convert._common import (
    _GATES,
    _KERAS_NAMES,
    _TORCH_NAMES,
    _assign,
    _cast,
    _check_shape,
    _dims,
    _layer_dtype,
    _layer_kind,
    _require_built,
    _to_numpy,
    _write,
)


# ---------------------------------------------------------------------------- PyTorch
def _torch_module_kind(module):
    import torch.nn as nn

    if not isinstance(module, nn.Module):
        return None
    if isinstance(module, nn.Linear):
        return "dense"
    for cls, kind in (
        (nn.LSTM, "lstm"),
        (nn.GRU, "gru"),
        (nn.RNN, "simple_rnn"),
        (nn.LSTMCell, "lstm"),
        (nn.GRUCell, "gru"),
        (nn.RNNCell, "simple_rnn"),
    ):
        if isinstance(module, cls):
            return kind
    return "unsupported"


def _is_module(source):
    return not isinstance(source, Mapping) and callable(getattr(source, "state_dict", None))


def _check_torch_module(layer, kind, module, func):
    """Type and configuration checks of a torch module against a fastnn layer."""
    mkind = _torch_module_kind(module)
    if mkind is None or mkind == "unsupported":
        raise TypeError(
            f"{func} expected a PyTorch {_TORCH_NAMES[kind]} (or its state_dict) "
            f"for the fastnn {type(layer).__name__} {layer.name!r}. Received: "
            f"{type(module).__name__}"
        )
    if mkind != kind:
        raise TypeError(
            f"{func} expected a PyTorch {_TORCH_NAMES[kind]} for the fastnn "
            f"{type(layer).__name__} {layer.name!r}. Received: "
            f"{type(module).__name__} (which converts to a fastnn "
            f"{_KERAS_NAMES[mkind]})"
        )
    tname = type(module).__name__
    if kind == "dense":
        return
    num_layers = getattr(module, "num_layers", 1)
    if num_layers != 1:
        raise ValueError(
            f"{func} expected a single-layer {tname} (num_layers=1). Received: "
            f"num_layers={num_layers}; a fastnn layer holds one layer: convert "
            f"each one from its own single-layer module"
        )
    if getattr(module, "bidirectional", False):
        raise ValueError(
            f"{func} expected a unidirectional {tname} (bidirectional=False). "
            f"Received: bidirectional=True"
        )
    proj = getattr(module, "proj_size", 0)
    if proj:
        raise ValueError(
            f"{func} expected an {tname} without projection (proj_size=0). "
            f"Received: proj_size={proj}; fastnn's LSTM has no projection"
        )
    if kind == "simple_rnn":
        nl = getattr(module, "nonlinearity", "tanh")
        if nl != layer.activation:
            raise ValueError(
                f"{func} expected an {tname} with nonlinearity="
                f"{layer.activation!r} (the activation of {layer.name!r}). "
                f"Received: nonlinearity={nl!r}"
            )
    F, H = _dims(layer, kind)
    hidden, inputs = getattr(module, "hidden_size", H), getattr(module, "input_size", F)
    if (inputs, hidden) != (F, H):
        raise ValueError(
            f"{func} expected a {tname} with input_size={F} and hidden_size={H} "
            f"(the features and units of {layer.name!r}). Received: "
            f"input_size={inputs}, hidden_size={hidden}"
        )


def _strip_prefix(sd, prefix, func):
    if not prefix:
        return dict(sd)
    out = {
        k[len(prefix) :]: v for k, v in sd.items() if isinstance(k, str) and k.startswith(prefix)
    }
    if not out:
        raise ValueError(
            f"{func} found no state_dict keys starting with prefix={prefix!r}. "
            f"Received keys: {sorted(map(str, sd))}"
        )
    return out


_DEEPER = re.compile(r"^(weight|bias)_(ih|hh|hr)_l(\d+)(_reverse)?$")


def _torch_recurrent_keys(sd, func):
    keys = set(sd)
    if any(isinstance(k, str) and k.endswith("_reverse") for k in keys):
        raise ValueError(
            f"{func} expected the state_dict of a unidirectional module. Received "
            f"keys of a bidirectional one: {sorted(keys)}"
        )
    layers = {int(m.group(3)) for m in map(_DEEPER.match, map(str, keys)) if m}
    if layers and max(layers) > 0:
        raise ValueError(
            f"{func} expected the state_dict of a single-layer module (keys "
            f"*_l0). Received keys of {max(layers) + 1} layers: {sorted(keys)}"
        )
    if "weight_hr_l0" in keys:
        raise ValueError(
            f"{func} expected an LSTM state_dict without projection (proj_size=0). "
            f"Received: weight_hr_l0 of shape {tuple(np.shape(sd['weight_hr_l0']))}"
        )
    sfx = "_l0" if "weight_ih_l0" in keys else ("" if "weight_ih" in keys else None)
    if sfx is None:
        raise ValueError(
            f"{func} expected state_dict keys weight_ih_l0, weight_hh_l0, "
            f"bias_ih_l0, bias_hh_l0 (biases optional). Received keys: "
            f"{sorted(map(str, keys))}"
        )
    names = [f"weight_ih{sfx}", f"weight_hh{sfx}", f"bias_ih{sfx}", f"bias_hh{sfx}"]
    missing = [n for n in names[:2] if n not in keys]
    unexpected = sorted(map(str, keys - set(names)))
    if missing or unexpected:
        raise ValueError(
            f"{func} expected state_dict keys {names} (biases optional). "
            f"Received keys: {sorted(map(str, keys))}"
        )
    has_b = [n in keys for n in names[2:]]
    if has_b[0] != has_b[1]:
        raise ValueError(
            f"{func} expected both {names[2]} and {names[3]} or neither. "
            f"Received only {names[2] if has_b[0] else names[3]}"
        )
    return names, has_b[0]


def _plan_from_torch(layer, source, prefix, func):
    """[(fastnn weight name, float64 array)] for the layer, everything checked."""
    kind = _layer_kind(layer, func)
    _require_built(layer, func)
    if _is_module(source):
        _check_torch_module(layer, kind, source, func)
        sd = source.state_dict()
        prefix = ""
    elif isinstance(source, Mapping):
        sd = source
    else:
        raise TypeError(
            f"{func} expected a PyTorch module or its state_dict (a mapping of "
            f"names to tensors or arrays). Received: {type(source).__name__}"
        )
    sd = _strip_prefix(sd, prefix, func)
    F, H = _dims(layer, kind)
    label = f"for {type(layer).__name__} {layer.name!r}"
    if kind == "dense":
        unexpected = sorted(map(str, set(sd) - {"weight", "bias"}))
        if "weight" not in sd or unexpected:
            raise ValueError(
                f"{func} expected the state_dict of an nn.Linear (keys 'weight' "
                f"and optionally 'bias') {label}. Received keys: "
                f"{sorted(map(str, sd))}"
            )
        w = _to_numpy(sd["weight"], "weight", func)
        _check_shape(w, (H, F), "weight", f"(out_features=units, in_features) {label}", func)
        out = [("kernel", w.T)]
        has_bias = "bias" in sd
        if has_bias:
            b = _to_numpy(sd["bias"], "bias", func)
            _check_shape(b, (H,), "bias", f"(units,) {label}", func)
    else:
        names, has_bias = _torch_recurrent_keys(sd, func)
        gh = _GATES[kind] * H
        gates = {"simple_rnn": "units", "lstm": "4*units", "gru": "3*units"}[kind]
        w_ih = _to_numpy(sd[names[0]], names[0], func)
        _check_shape(w_ih, (gh, F), names[0], f"({gates}, features) {label}", func)
        w_hh = _to_numpy(sd[names[1]], names[1], func)
        _check_shape(w_hh, (gh, H), names[1], f"({gates}, units) {label}", func)
        out = [("kernel", w_ih.T), ("recurrent_kernel", w_hh.T)]
        if has_bias:
            b_ih = _to_numpy(sd[names[2]], names[2], func)
            _check_shape(b_ih, (gh,), names[2], f"({gates},) {label}", func)
            b_hh = _to_numpy(sd[names[3]], names[3], func)
            _check_shape(b_hh, (gh,), names[3], f"({gates},) {label}", func)
    if not layer.use_bias:
        if has_bias:
            raise ValueError(
                f"{func} expected a source without biases for {layer.name!r}, "
                f"built with use_bias=False. Received biases; build the layer "
                f"with use_bias=True (or the torch module with bias=False)"
            )
        return out
    if kind == "dense":
        out.append(("bias", b if has_bias else np.zeros(H)))
    elif kind == "gru":
        gh = 3 * H
        out += [
            ("bias_ih", b_ih if has_bias else np.zeros(gh)),
            ("bias_hh", b_hh if has_bias else np.zeros(gh)),
        ]
    else:
        out.append(("bias", b_ih + b_hh if has_bias else np.zeros(_GATES[kind] * H)))
    return out


def from_torch(layer, source, prefix=""):
    """Load PyTorch weights into a built fastnn layer, in place.

    layer: a built fastnn Dense, SimpleRNN, LSTM or GRU (inside a built model, or
    called once directly).
    source: the matching ``nn.Linear`` / ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (or
    ``nn.RNNCell`` / ``nn.LSTMCell`` / ``nn.GRUCell``), or its ``state_dict()``: a
    mapping of ``weight`` / ``bias`` (Linear) or ``weight_ih_l0``, ``weight_hh_l0``,
    ``bias_ih_l0``, ``bias_hh_l0`` (recurrent) to tensors or NumPy arrays.
    prefix: for a state dict taken from a larger module, the key prefix of this
    layer (e.g. ``"encoder."``).

    Mapping: ``kernel = weight_ih.T``, ``recurrent_kernel = weight_hh.T``; SimpleRNN
    and LSTM ``bias = bias_ih + bias_hh``, GRU keeps both. A module without biases
    (``bias=False``) loads zero biases. ``batch_first`` does not change weights and
    is ignored. A module is checked for ``num_layers == 1``, ``bidirectional=False``,
    ``proj_size == 0`` and (nn.RNN) ``nonlinearity`` equal to the layer's activation;
    a state dict is checked by its keys and shapes (it does not record the
    nonlinearity). Raises TypeError / ValueError before anything is written.
    Returns the layer.
    """
    arrays = _plan_from_torch(layer, source, prefix, "from_torch")
    _assign(layer, arrays, "from_torch")
    return layer


def to_torch(layer):
    """The layer's weights as a dict of NumPy arrays with PyTorch's names and shapes
    (new arrays, in the layer's dtype), loadable with
    ``module.load_state_dict({k: torch.from_numpy(v) for k, v in d.items()})``.

    Dense -> ``weight (units, n_in)``, ``bias (units,)`` (an nn.Linear).
    SimpleRNN / LSTM / GRU -> ``weight_ih_l0 (gH, F)``, ``weight_hh_l0 (gH, H)``,
    ``bias_ih_l0 (gH,)``, ``bias_hh_l0 (gH,)``. fastnn's SimpleRNN and LSTM keep one
    summed bias, which cannot be split back: the whole bias goes to ``bias_ih_l0`` and
    ``bias_hh_l0`` is zeros (the module computes the same outputs). GRU's two biases
    map one to one. Layers built with ``use_bias=False`` give no bias entries.
    """
    kind = _layer_kind(layer, "to_torch")
    _require_built(layer, "to_torch")
    ws = [np.array(w, copy=True) for w in layer.weights]
    if kind == "dense":
        d = {"weight": np.ascontiguousarray(ws[0].T)}
        if layer.use_bias:
            d["bias"] = ws[1]
        return d
    d = {
        "weight_ih_l0": np.ascontiguousarray(ws[0].T),
        "weight_hh_l0": np.ascontiguousarray(ws[1].T),
    }
    if layer.use_bias:
        if kind == "gru":
            d["bias_ih_l0"], d["bias_hh_l0"] = ws[2], ws[3]
        else:
            d["bias_ih_l0"], d["bias_hh_l0"] = ws[2], np.zeros_like(ws[2])
    return d


def to_torch_module(layer, batch_first=True):
    """A new PyTorch module (nn.Linear / nn.RNN / nn.LSTM / nn.GRU, in the layer's
    dtype) holding the layer's weights (see to_torch for the bias split).

    Recurrent modules are built with ``batch_first=True`` by default, like fastnn's
    inputs. What is not a weight is not carried over: the module returns every
    timestep (take ``output[:, -1]`` for return_sequences=False), it does not reverse
    the input for go_backwards=True, and an nn.Linear does not apply the Dense
    layer's activation. Imports torch.
    """
    import torch

    kind = _layer_kind(layer, "to_torch_module")
    _require_built(layer, "to_torch_module")
    F, H = _dims(layer, kind)
    dtype = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[
        np.dtype(_layer_dtype(layer))
    ]
    nn = torch.nn
    if kind == "dense":
        module = nn.Linear(F, H, bias=layer.use_bias, dtype=dtype)
    elif kind == "simple_rnn":
        module = nn.RNN(
            F,
            H,
            nonlinearity=layer.activation,
            bias=layer.use_bias,
            batch_first=batch_first,
            dtype=dtype,
        )
    elif kind == "lstm":
        module = nn.LSTM(F, H, bias=layer.use_bias, batch_first=batch_first, dtype=dtype)
    else:
        module = nn.GRU(F, H, bias=layer.use_bias, batch_first=batch_first, dtype=dtype)
    state = {k: torch.from_numpy(v) for k, v in to_torch(layer).items()}
    module.load_state_dict(state, strict=True)
    return module


# ---------------------------------------------------------------------------- models
def _torch_weighted_modules(source, func):
    """Flatten containers; keep supported modules, skip parameter-free ones."""
    import torch.nn as nn

    if isinstance(source, nn.Module):
        source = [source]
    elif not isinstance(source, (list, tuple)):
        raise TypeError(
            f"{func} expected a torch nn.Sequential, nn.ModuleList, a module or a "
            f"list of modules. Received: {type(source).__name__}"
        )
    found = []

    def walk(m, path):
        if not isinstance(m, nn.Module):
            raise TypeError(
                f"{func} expected torch modules. Received: {type(m).__name__} at {path}"
            )
        kind = _torch_module_kind(m)
        if kind not in (None, "unsupported"):
            found.append((path, m))
            return
        children = list(m.named_children())
        if children:
            own = list(m.parameters(recurse=False))
            if own:
                raise TypeError(
                    f"{func} cannot convert {type(m).__name__} at {path}: it holds "
                    f"parameters of its own"
                )
            for name, c in children:
                walk(c, f"{path}.{name}" if path else name)
        elif any(True for _ in m.parameters()):
            raise TypeError(
                f"{func} expected only nn.Linear, nn.RNN, nn.LSTM, nn.GRU and "
                f"parameter-free modules. Received: {type(m).__name__} at {path} "
                f"with parameters"
            )

    for i, m in enumerate(source):
        walk(m, str(i))
    return found


def model_from_torch(model, modules):
    """Load a whole fastnn Sequential from PyTorch modules, layer by layer.

    modules: an ``nn.Sequential`` / ``nn.ModuleList`` / list of modules. Its
    nn.Linear, nn.RNN, nn.LSTM and nn.GRU modules (in order, containers flattened)
    pair with the fastnn layers that hold weights; parameter-free modules (ReLU,
    Dropout, Flatten, ...) are skipped: the activations themselves belong to the
    fastnn layers. Every pair is checked as in from_torch before any weight is
    written. The model is built first if needed. Returns the model.
    """
    func = "model_from_torch"
    if not (hasattr(model, "layers") and hasattr(model, "build")):
        raise TypeError(f"{func} expected a fastnn Sequential. Received: {type(model).__name__}")
    if not model.built:
        model.build()
    targets = [layer for layer in model.layers if layer.weights]
    pairs = _torch_weighted_modules(modules, func)
    if len(pairs) != len(targets):
        raise ValueError(
            f"{func} expected {len(targets)} torch modules with weights, one per "
            f"fastnn layer with weights {[l.name for l in targets]}. Received "
            f"{len(pairs)}: {[f'{p} {type(m).__name__}' for p, m in pairs]}"
        )
    plans = []
    for layer, (path, module) in zip(targets, pairs):
        try:
            plans.append(_cast(layer, _plan_from_torch(layer, module, "", func), func))
        except (TypeError, ValueError) as e:
            raise type(e)(f"module {path} -> layer {layer.name!r}: {e}") from None
    for layer, cast in zip(targets, plans):
        _write(layer, cast)
    return model
