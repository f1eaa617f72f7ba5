"""fastnn.convert, Keras side: from_keras and to_keras, on Keras get_weights() lists
or duck-typed Keras layers (their class name and get_config() are checked). Keras is
never imported.
"""

from collections.abc import Mapping

import numpy as np

from fastnn.convert._common import (
    _GATES,
    _KERAS_NAMES,
    _assign,
    _check_shape,
    _dims,
    _layer_kind,
    _require_built,
    _swap_zr,
    _to_numpy,
)


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
