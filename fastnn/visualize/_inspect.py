"""What a model looks like, read without changing it: layer kinds, the table of
shapes and parameter counts (also for an unbuilt model), weight names, one-line layer
descriptions. Public model and layer API only (tests/test_layout.py checks it).
"""

import math

RECURRENT = ("SimpleRNN", "LSTM", "GRU")


def _kind(layer):
    return type(layer).__name__


def _check_model(model, func):
    if not hasattr(model, "layers") or not hasattr(model, "built"):
        raise TypeError(
            f"{func} expected a fastnn Sequential model. Received: {type(model).__name__}"
        )
    if not model.layers:
        raise ValueError(f"{func}: the model has no layers")


def _layer_table(model):
    """(input_shape or None, [(layer, in_shape, out_shape, n_params)]) without
    building the model: shapes and parameter counts come from the layer configs
    when the model has not been built yet (None where they cannot be known)."""
    if model.built:
        shapes = [(l, tuple(l.input_shape), tuple(l.output_shape)) for l in model.layers]
        in_shape = shapes[0][1]
    else:
        in_shape = tuple(model.input_shape) if model.input_shape is not None else None
        shapes = None
        if in_shape is not None:
            try:
                shapes, shape = [], in_shape
                for layer in model.layers:  # the layers' own shape rule: touches nothing
                    out = tuple(layer.compute_output_shape(shape))
                    shapes.append((layer, shape, out))
                    shape = out
            except (ValueError, TypeError, AttributeError, NotImplementedError):
                shapes = None
        if shapes is None:
            shapes = [(l, None, None) for l in model.layers]
    table = []
    for layer, ins, outs in shapes:
        if model.built:
            params = int(layer.count_params())
        elif ins is not None:
            try:
                params = sum(math.prod(s) for _, s, _ in layer.weight_specs(ins))
            except Exception:  # a layer that cannot say: leave the count unknown
                params = None
        else:
            params = None
        table.append((layer, ins, outs, params))
    return in_shape, table


def _weight_names(layer):
    try:
        names = [n for n, _, _ in layer.weight_specs(layer.input_shape)]
    except Exception:
        names = []
    if len(names) != len(layer.weights):
        names = [f"weight {i}" for i in range(len(layer.weights))]
    return names


def _describe(layer):
    kind = _kind(layer)
    parts = []
    units = getattr(layer, "units", None)
    if units is not None:
        parts.append(f"{units} unit{'s' if units != 1 else ''}")
    act = getattr(layer, "activation", None)
    if isinstance(act, str):
        parts.append(act)
    if kind == "Dropout":
        parts.append(f"rate {layer.rate:g}")
    if kind == "Reshape":
        parts.append(f"to {tuple(layer.target_shape)}")
    if kind in RECURRENT and getattr(layer, "return_sequences", False):
        parts.append("return_sequences")
    return ", ".join(parts)


def _shape_str(shape):
    return "?" if shape is None else str((None,) + tuple(shape))


def _ensure_built(model, func):
    """Build a model that knows its input shape (as summary() does); otherwise fail."""
    if not model.built:
        if model.input_shape is None:
            raise ValueError(
                f"{func} needs a built model: fit it first, give the first "
                f"layer input_shape=... (or start with Input(shape=...)), or "
                f"call model.build(input_shape)"
            )
        model.build()
