"""Sequential.summary's table (a private helper of fastnn.model)."""


def print_summary(model, print_fn):
    """Each layer's name, output shape and parameter count, then the totals; frozen
    layers' (trainable=False) parameters count as non-trainable, as in Keras."""
    rows = [("Layer (type)", "Output Shape", "Param #")]
    for layer in model.layers:
        rows.append(
            (
                f"{layer.name} ({type(layer).__name__})",
                str((None,) + tuple(layer.output_shape)),
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
