"""Sequential.summary's table and the model's trainable flag (private helpers of
fastnn.model)."""


def all_trainable(model):
    """Sequential.trainable: every layer trains."""
    return all(layer.trainable for layer in model.layers)


def set_trainable(model, value):
    """model.trainable = value sets every layer's trainable, as Keras does."""
    for layer in model._layers:
        layer.trainable = value


def print_summary(model, print_fn):
    """Each layer's name, output shape and parameter count, then the totals; frozen
    layers' (trainable=False) parameters count as non-trainable, as in Keras."""
    rows = [("Layer (type)", "Output Shape", "Param #")]
    for layer, shape in zip(model.layers, _output_shapes(model)):
        rows.append(
            (
                f"{layer.name} ({type(layer).__name__})",
                str((None,) + shape),
                f"{layer.count_params():,}",
            )
        )
    widths = [max(len(r[i]) for r in rows) + 2 for i in range(3)]
    line = "-" * sum(widths)
    print_fn(f'Model: "{model.name}"')
    print_fn(line)
    for i, r in enumerate(rows):
        print_fn(r[0].ljust(widths[0]) + r[1].ljust(widths[1]) + r[2].rjust(widths[2]))
        print_fn("=" * sum(widths) if i == 0 else line)
    total = model.count_params()
    frozen = sum(layer.count_params() for layer in model.layers if not layer.trainable)
    print_fn(f"Total params: {total:,} ({total * model.dtype.itemsize:,} bytes)")
    print_fn(f"Trainable params: {total - frozen:,}")
    print_fn(f"Non-trainable params: {frozen:,}")


def _output_shapes(model):
    # each layer's output shape; with a free input dimension (input_shape=(None, F)) the
    # sizes that follow it print as None, as Keras prints them
    declared = model.input_shape
    built = [tuple(layer.output_shape) for layer in model.layers]
    if declared is None or None not in declared:
        return built
    probes = [
        [out for _, _, out in model._layer_shapes(tuple(k if d is None else d for d in declared))]
        for k in (1, 2)
    ]
    return [
        tuple(None if a != b else s for s, a, b in zip(shape, p1, p2))
        for shape, p1, p2 in zip(built, *probes)
    ]
