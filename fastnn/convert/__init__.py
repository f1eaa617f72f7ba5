"""Weights between fastnn and the PyTorch and Keras layouts.

fastnn's own layout (the order of ``layer.weights`` and of ``model.get_weights()``):

==========  ==============================================================
Dense       kernel (n_in, units), bias (units,)
SimpleRNN   kernel (F, H), recurrent_kernel (H, H), bias (H,)
LSTM        kernel (F, 4H), recurrent_kernel (H, 4H), bias (4H,); gates i, f, g, o
GRU         kernel (F, 3H), recurrent_kernel (H, 3H), bias_ih (3H,), bias_hh (3H,);
            gates r, z, n (PyTorch order, Keras reset_after=True form)
==========  ==============================================================

PyTorch stores ``(out, in)`` matrices and two biases per recurrent layer:
``kernel = weight_ih.T``, ``recurrent_kernel = weight_hh.T``; SimpleRNN and LSTM keep
one bias ``bias_ih + bias_hh``, GRU keeps both (the hidden bias of n sits inside
``r * (...)``, so they cannot be summed). The gate order is the same as fastnn's.

Keras stores ``(in, out)`` kernels like fastnn. Dense, SimpleRNN and LSTM weight lists
are identical to fastnn's. A Keras GRU (``reset_after=True``) orders its gate blocks
z, r, h instead of r, z, n and keeps its two biases as one ``(2, 3H)`` array (row 0:
input bias, row 1: recurrent bias): the first two blocks of every kernel and bias row
are swapped on the way in and out. ``reset_after=False`` has no fastnn equivalent.

Functions:

- ``from_torch(layer, source)``: an ``nn.Linear``, ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU``
  (or the matching ``nn.*Cell``), or its ``state_dict()`` (tensors or NumPy arrays),
  into a built fastnn layer.
- ``to_torch(layer)``: a state-dict-like dict of NumPy arrays with PyTorch's names and
  shapes; ``to_torch_module(layer)`` the PyTorch module holding those weights.
- ``from_keras(layer, weights)`` / ``to_keras(layer)``: Keras ``get_weights()`` lists.
- ``model_from_torch(model, modules)``: a whole Sequential, layer by layer.

Every conversion checks all shapes, the layer types and the settings that change the
computation (number of layers, direction, projections, nonlinearity) before writing
anything: a failed conversion leaves the layer's weights as they were. PyTorch is
imported only when a module is given or built, never at import time.
"""

import re
from collections.abc import Mapping

import numpy as np

__all__ = [
    "from_torch",
    "to_torch",
    "to_torch_module",
    "from_keras",
    "to_keras",
    "model_from_torch",
]

# fastnn layer class name -> (kind, number of gate blocks)
_GATES = {"dense": 1, "simple_rnn": 1, "lstm": 4, "gru": 3}
_TORCH_NAMES = {"dense": "nn.Linear", "simple_rnn": "nn.RNN", "lstm": "nn.LSTM", "gru": "nn.GRU"}
_KERAS_NAMES = {"dense": "Dense", "simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


# ---------------------------------------------------------------------------- helpers
def _layer_kind(layer, func):
    from fastnn.layers import GRU, LSTM, Dense, SimpleRNN

    for cls, kind in ((Dense, "dense"), (SimpleRNN, "simple_rnn"), (LSTM, "lstm"), (GRU, "gru")):
        if isinstance(layer, cls):
            return kind
    if hasattr(layer, "layers") and hasattr(layer, "get_weights"):
        raise TypeError(
            f"{func} expected a fastnn layer (Dense, SimpleRNN, LSTM or GRU). "
            f"Received: a model ({type(layer).__name__}); use model_from_torch "
            f"or convert its layers one by one"
        )
    raise TypeError(
        f"{func} expected a fastnn Dense, SimpleRNN, LSTM or GRU layer. "
        f"Received: {type(layer).__name__}"
    )


def _require_built(layer, func):
    if not layer.weights:
        raise ValueError(
            f"{func} expected a built layer. Received: {layer.name!r} has no "
            f"weights yet; build the model it belongs to first (model.build()) or "
            f"call the layer once on data"
        )


def _layer_dtype(layer):
    return layer.weights[0].dtype


def _dims(layer, kind):
    """(n_in, units) of a built layer, read from its kernel."""
    return int(layer.weights[0].shape[0]), int(layer.units)


def _to_numpy(value, name, func):
    """A real-valued float64 NumPy copy of a tensor / array / array-like."""
    if hasattr(value, "detach"):  # a torch tensor or parameter
        value = value.detach()
        if hasattr(value, "cpu"):
            value = value.cpu()
        try:
            value = value.numpy()
        except TypeError:  # dtypes NumPy lacks (bfloat16)
            value = value.double().numpy()
    elif not isinstance(value, np.ndarray) and callable(getattr(value, "numpy", None)):
        value = value.numpy()  # framework tensors / variables
    try:
        a = np.asarray(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"{func} expected {name} as an array of numbers. Received: "
            f"{type(value).__name__} that NumPy cannot convert"
        ) from None
    if a.dtype.kind not in "biuf":
        raise TypeError(
            f"{func} expected {name} of a real number dtype. Received: {name}.dtype={a.dtype}"
        )
    a = a.astype(np.float64)
    _check_finite(a, name, func)
    return a


def _check_finite(a, name, func, dtype_note=""):
    bad = np.flatnonzero(~np.isfinite(a))
    if bad.size:
        idx = tuple(int(j) for j in np.unravel_index(bad[0], a.shape))
        raise ValueError(
            f"{func} expected finite values in {name}{dtype_note}. Received: "
            f"{a[idx]} at index {idx}"
        )


def _check_shape(a, shape, name, what, func):
    if tuple(a.shape) != tuple(shape):
        raise ValueError(
            f"{func} expected {name} of shape {tuple(shape)} {what}. "
            f"Received: {name}.shape={tuple(a.shape)}"
        )


def _swap_zr(a, H):
    """Swap the first two gate blocks along the last axis: r,z,n <-> z,r,h.
    Its own inverse."""
    return np.concatenate([a[..., H : 2 * H], a[..., :H], a[..., 2 * H :]], axis=-1)


def _cast(layer, arrays, func):
    """The planned arrays in the layer dtype, checked against its weights."""
    dt = _layer_dtype(layer)
    if len(arrays) != len(layer.weights):  # internal consistency
        raise AssertionError(f"{func}: {len(arrays)} arrays for {len(layer.weights)} weights")
    cast = []
    for (name, a), w in zip(arrays, layer.weights):
        if tuple(a.shape) != tuple(w.shape):
            raise AssertionError(f"{func}: {name} {a.shape} vs {w.shape}")
        with np.errstate(over="ignore"):
            c = a.astype(dt)
        _check_finite(c, f"{layer.name}.{name}", func, f" (in the layer dtype {dt})")
        cast.append(c)
    return cast


def _write(layer, cast):
    """Write every weight in place (the weights may be views into a model's flat
    buffer, which the compiled ops read)."""
    for w, c in zip(layer.weights, cast):
        w[...] = c


def _assign(layer, arrays, func):
    _write(layer, _cast(layer, arrays, func))


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


# ---------------------------------------------------------------------------- Keras
def _keras_config_checks(layer, kind, source, func):
    """Checks of a Keras layer object (duck-typed: get_weights / get_config)."""
    cls = type(source).__name__
    if cls != _KERAS_NAMES[kind]:
        raise TypeError(
            f"{func} expected a Keras {_KERAS_NAMES[kind]} layer (or its "
            f"get_weights() list) for the fastnn {type(layer).__name__} "
            f"{layer.name!r}. Received: {cls}"
        )
    get_config = getattr(source, "get_config", None)
    cfg = get_config() if callable(get_config) else {}

    def act(key):
        v = cfg.get(key)
        if isinstance(v, dict):  # a serialized object
            v = v.get("config", {}).get("name", v.get("class_name"))
        return "linear" if v is None and key in cfg else v

    if kind == "gru" and not cfg.get("reset_after", True):
        raise ValueError(
            f"{func} expected a Keras GRU with reset_after=True (the PyTorch "
            f"form fastnn implements). Received: reset_after=False, which has no "
            f"fastnn equivalent"
        )
    if "use_bias" in cfg and bool(cfg["use_bias"]) != layer.use_bias:
        raise ValueError(
            f"{func} expected a Keras {cls} with use_bias={layer.use_bias} "
            f"(as {layer.name!r}). Received: use_bias={cfg['use_bias']}"
        )
    expect = {"activation": layer.activation}
    if kind in ("lstm", "gru"):
        expect["recurrent_activation"] = "sigmoid"
    for key, want in expect.items():
        got = act(key)
        if isinstance(got, str) and got.lower() != want:
            raise ValueError(
                f"{func} expected a Keras {cls} with {key}={want!r} (as "
                f"{layer.name!r}). Received: {key}={got!r}"
            )
    return source.get_weights()


def _plan_from_keras(layer, weights, func):
    kind = _layer_kind(layer, func)
    _require_built(layer, func)
    if callable(getattr(weights, "get_weights", None)):
        weights = _keras_config_checks(layer, kind, weights, func)
    if isinstance(weights, (np.ndarray, Mapping, str)) or not hasattr(weights, "__iter__"):
        raise TypeError(
            f"{func} expected a list of arrays (a Keras layer's get_weights()) "
            f"or the Keras layer. Received: {type(weights).__name__}"
        )
    weights = list(weights)
    F, H = _dims(layer, kind)
    gh = _GATES[kind] * H
    kname = _KERAS_NAMES[kind]
    n_full = 2 if kind == "dense" else 3
    allowed = (n_full - 1, n_full) if layer.use_bias else (n_full - 1,)
    if len(weights) not in allowed:
        what = "[kernel, bias]" if kind == "dense" else "[kernel, recurrent_kernel, bias]"
        if not layer.use_bias:
            what = what.replace(", bias", "") + " (the layer has use_bias=False)"
        raise ValueError(
            f"{func} expected a Keras {kname} weight list {what}, i.e. "
            f"{' or '.join(map(str, allowed))} arrays, for {layer.name!r}. "
            f"Received: {len(weights)} arrays"
        )
    arrs = [_to_numpy(w, f"weights[{i}]", func) for i, w in enumerate(weights)]
    label = f"for {kname} {layer.name!r}"
    _check_shape(arrs[0], (F, gh), "weights[0] (kernel)", f"(features, {gh}) {label}", func)
    if kind == "dense":
        out = [("kernel", arrs[0])]
        if layer.use_bias:
            b = arrs[1] if len(arrs) == 2 else np.zeros(H)
            _check_shape(b, (H,), "weights[1] (bias)", f"(units,) {label}", func)
            out.append(("bias", b))
        return out
    _check_shape(arrs[1], (H, gh), "weights[1] (recurrent_kernel)", f"(units, {gh}) {label}", func)
    if kind != "gru":
        out = [("kernel", arrs[0]), ("recurrent_kernel", arrs[1])]
        if layer.use_bias:
            b = arrs[2] if len(arrs) == 3 else np.zeros(gh)
            _check_shape(b, (gh,), "weights[2] (bias)", f"({gh},) {label}", func)
            out.append(("bias", b))
        return out
    # GRU: z, r, h -> r, z, n; bias (2, 3H) rows [input; recurrent]
    out = [("kernel", _swap_zr(arrs[0], H)), ("recurrent_kernel", _swap_zr(arrs[1], H))]
    if layer.use_bias:
        if len(arrs) == 3:
            b = arrs[2]
            if b.shape == (gh,):
                raise ValueError(
                    f"{func} expected a Keras GRU bias of shape (2, {gh}) "
                    f"(reset_after=True) {label}. Received: shape ({gh},), a GRU "
                    f"with reset_after=False, which has no fastnn equivalent"
                )
            _check_shape(
                b,
                (2, gh),
                "weights[2] (bias)",
                f"(reset_after=True: [input bias; recurrent bias]) {label}",
                func,
            )
        else:
            b = np.zeros((2, gh))
        out += [("bias_ih", _swap_zr(b[0], H)), ("bias_hh", _swap_zr(b[1], H))]
    return out


def from_keras(layer, weights):
    """Load Keras weights into a built fastnn layer, in place.

    weights: ``keras_layer.get_weights()`` of a keras.layers.Dense / SimpleRNN / LSTM /
    GRU(reset_after=True), or the Keras layer itself (then its class and the settings
    that change the computation are checked too: activations, use_bias, reset_after;
    Keras is never imported). Dense, SimpleRNN and LSTM lists are fastnn's layout.
    GRU: the kernel, recurrent kernel and both rows of the (2, 3H) bias are reordered
    from Keras' z, r, h blocks to fastnn's r, z, n. A list without its bias loads zero
    biases. A bare weight list cannot show how it was computed: a GRU without bias
    from reset_after=False has the same shapes and gives different outputs.
    Returns the layer.
    """
    arrays = _plan_from_keras(layer, weights, "from_keras")
    _assign(layer, arrays, "from_keras")
    return layer


def to_keras(layer):
    """The layer's weights as a Keras ``set_weights()`` list (new arrays): Dense
    [kernel, bias], SimpleRNN / LSTM [kernel, recurrent_kernel, bias], GRU
    (reset_after=True) [kernel, recurrent_kernel, bias (2, 3H)] with gate blocks
    reordered r, z, n -> z, r, h. No bias entry for use_bias=False."""
    kind = _layer_kind(layer, "to_keras")
    _require_built(layer, "to_keras")
    ws = [np.array(w, copy=True) for w in layer.weights]
    if kind != "gru":
        return ws
    H = layer.units
    out = [_swap_zr(ws[0], H), _swap_zr(ws[1], H)]
    if layer.use_bias:
        out.append(np.stack([_swap_zr(ws[2], H), _swap_zr(ws[3], H)]))
    return out


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
