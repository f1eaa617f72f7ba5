"""Assembling a Sequential's compiled step (private helpers of fastnn.model): the flat
parameter and gradient buffers its layers' weights are views of, the Net built from the
layers' ops over them, and the random streams (initial weights, dropout, shuffling) the
Net's ops carry (docs/architecture.md, "How a training step runs")."""

import math

import numpy as np

from fastnn import _random
from fastnn import backend as _backend
from fastnn import losses as _losses
from fastnn import metrics as _metrics
from fastnn._data import shape_fits
from fastnn.layers import InputLayer, Layer
from fastnn.layers.base import trainable_version


def layer_shapes(model, shape):
    """[(layer, input_shape, output_shape)] of the computing layers for samples
    of `shape`, checked against every declared input shape. Touches nothing."""
    if not model.layers:
        raise ValueError("the model has no layers: add some before building it")
    shapes = []
    shape = tuple(shape)
    for layer in model.layers:
        if layer.input_shape_arg is not None and not shape_fits(layer.input_shape_arg, shape):
            raise ValueError(
                f"{layer.name} expected input of shape {layer.input_shape_arg}. Received: {shape}"
            )
        out = tuple(layer.compute_output_shape(shape))
        shapes.append((layer, shape, out))
        shape = out
    return shapes


def install_weights(model, shape):
    """Give the model's layers their weights for samples of `shape`: one flat buffer of
    parameters and one of gradients (the layers' weights and grads are views into them),
    keeping the values of layers whose weight shapes did not change. Everything is
    computed before anything is installed, so a failing shape leaves the model as it was."""
    shapes = layer_shapes(model, shape)  # raises before anything is changed
    specs = [(layer, layer.weight_specs(ins), ins, outs) for layer, ins, outs in shapes]
    if model._seed is None:
        model._seed = _random.draw_seed()
    total = sum(math.prod(s) for _, ws, _, _ in specs for _, s, _ in ws)
    params = np.zeros(total, dtype=model.dtype)
    grads = np.zeros(total, dtype=model.dtype)
    rng = np.random.default_rng(model._seed)
    offset, segments = 0, [0]
    new_views = []
    for layer, ws, _, _ in specs:
        old = list(layer.weights)
        keep = len(old) == len(ws) and all(
            tuple(o.shape) == tuple(s) for o, (_, s, _) in zip(old, ws)
        )
        weights, layer_grads = [], []
        for k, (_, wshape, init) in enumerate(ws):
            size = math.prod(wshape)
            view = params[offset : offset + size].reshape(wshape)
            view[...] = old[k] if keep else init(wshape, model.dtype, rng)
            weights.append(view)
            layer_grads.append(grads[offset : offset + size].reshape(wshape))
            offset += size
            segments.append(offset)
        new_views.append((weights, layer_grads))
    # everything is computed: now install it
    for layer in model._layers:
        if isinstance(layer, InputLayer):
            layer.input_shape = layer.output_shape = tuple(shape)
    for (layer, _, ins, outs), (weights, layer_grads) in zip(specs, new_views):
        layer.input_shape, layer.output_shape = ins, outs
        layer.dtype_ = model.dtype
        layer.weights, layer.grads = weights, layer_grads
    model._params, model._grads = params, grads
    model._segments = np.asarray(segments, dtype=np.int64)
    model.built = True
    model._net = model._updater = None


def resize_input(model, shape):
    """A built model with a free input dimension, for samples of another `shape`: the
    same weights (refused when a weight's shape would change), a Net for the new size on
    the next step (optimizer state and dropout streams carry over, as after a backend
    switch)."""
    old = [tuple(w.shape) for layer in model.layers for w in layer.weights]
    new = [
        tuple(s)
        for layer, ins, _ in layer_shapes(model, shape)
        for _, s, _ in layer.weight_specs(ins)
    ]
    if new != old:
        raise ValueError(
            f"Sequential expected samples its weights fit: input of shape {shape} would "
            f"change the shapes of weights built for {tuple(model._layers[0].input_shape)} "
            "(a layer after the sequence depends on its length, e.g. Flatten then Dense)"
        )
    updater = model._updater  # install_weights drops it; make_net copies its state
    install_weights(model, shape)
    model._updater = updater


def make_net(model, backend):
    """The compiled (or reference) Net of `backend` for the model's layers, loss, metrics
    and optimizer, over its flat buffers; the optimizer state of a previous Net carries
    over, and dropout streams continue where they were."""
    kernels = lambda name: _backend.kernels(name, backend)  # noqa: E731
    last = model.layers[-1]
    # before compile (predict only) the Net gets a stand-in loss and no updater
    loss = model.loss if model.loss is not None else _losses.get("mse")
    kind, fused = loss.kernel_kind(last.activation_name)
    if model.loss is not None:
        _losses.check_model_output(loss, last.activation_name, last.output_shape[-1])
    ops, seed = [], model._seed
    op_layers = [l for l in model.layers if l.make_ops.__func__ is not Layer.make_ops]
    if not op_layers:
        raise ValueError("the model has no layer that computes anything (add a Dense layer)")
    # dropout streams continue where the previous Net left them (same seed,
    # same counter), so a backend switch or a recompile never repeats masks
    previous = {id(layer): (op.seed, op.counter) for layer, op in model._dropout_ops}
    pending = getattr(model, "_pending_dropout", None) or {}
    dropout_ops = []
    mask_src = None  # the op that writes the mask of the current layer's input, or None
    for layer in model.layers:
        fuse = fused and layer is op_layers[-1]
        seed = (seed * 6364136223846793005 + 1442695040888963407) % 2**64
        layer_ops = layer.make_ops(kernels, bool(ops), fuse, seed)
        mask_src = layer.wire_mask(layer_ops, mask_src)
        for owner, op in layer.dropout_parts(layer_ops):
            if id(owner) in previous:
                op.seed, op.counter = previous[id(owner)]
            elif owner.name in pending:
                op.seed, op.counter = pending[owner.name]
            dropout_ops.append((owner, op))
        ops += layer_ops
    if not ops:
        raise ValueError("the model has no layer that computes anything (add a Dense layer)")
    # a mask on the output (mask_src: the op writing it) weighs the loss and the metrics
    # (Keras' apply_mask): the Net's loss_mask
    old, updater = model._updater, None
    if model.optimizer is not None:
        updater = model.optimizer.build(
            model._params,
            model._grads,
            model._segments,
            kernels("optimizers"),
            trainable_flags(model),
        )
        if old is not None:
            updater.set_state(old.get_state())
    out_shape = last.output_shape
    steps = math.prod(out_shape[:-1]) if len(out_shape) > 1 else 1
    sparse = kind.startswith("sparse")
    resolved = [
        _metrics.resolve(m, loss, output_dim=out_shape[-1])
        for m in getattr(model, "_metrics_arg", [])
    ]
    model._metric_names = [r[0] for r in resolved]
    model._metric_kinds = [r[1] for r in resolved]
    model._net = kernels("network").Net(
        ops,
        kind,
        last.activation_name if fused else "linear",
        steps,
        updater,
        metrics=model._metric_kinds,
        target_cols=1 if sparse else None,
        dtype=model.dtype,
        loss_mask=mask_src,
    )
    model._updater, model._net_backend, model._sparse = updater, backend, sparse
    model._net_trainable = trainable_version()  # a later change rebuilds the Net
    model._n_out = out_shape[-1]
    model._x_shape = tuple(model.layers[0].input_shape)
    model._y_shape = tuple(out_shape[:-1]) if sparse else tuple(out_shape)
    model._dropout_ops = dropout_ops
    model._pending_dropout = None
    return model._net


def trainable_flags(model):
    """One flag per weight of the model, in buffer order: its layer's trainable."""
    return [layer.trainable for layer in model.layers for _ in layer.weights]


def random_state(model):
    """Sequential.get_random_state."""
    dropout = {layer.name: [int(op.seed), int(op.counter)] for layer, op in model._dropout_ops}
    if not dropout and getattr(model, "_pending_dropout", None):
        dropout = {k: [int(a), int(b)] for k, (a, b) in model._pending_dropout.items()}
    rng = model._shuffle_rng
    return {
        "seed": model._seed,
        "shuffle": None if rng is None else rng.bit_generator.state,
        "dropout": dropout,
    }


def set_random_state(model, state):
    """Sequential.set_random_state (checks everything before it changes anything)."""
    if not isinstance(state, dict):
        raise ValueError(f"random state expected a dict. Received: {type(state).__name__}")
    seed = state.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(
            f"random state expected seed as a non-negative int or None. Received: {seed!r}"
        )
    rng = None
    if state.get("shuffle") is not None:
        shuffle = state["shuffle"]
        if not isinstance(shuffle, dict) or shuffle.get("bit_generator") != "PCG64":
            raise ValueError("random state expected a PCG64 shuffle state")
        rng = np.random.default_rng()
        rng.bit_generator.state = shuffle
    dropout = {}
    for name, pair in (state.get("dropout") or {}).items():
        if (
            not isinstance(pair, (list, tuple))
            or len(pair) != 2
            or not all(isinstance(v, int) and 0 <= v < 2**64 for v in pair)
        ):
            raise ValueError(
                f"random state expected [seed, counter] for dropout layer "
                f"{name!r}. Received: {pair!r}"
            )
        dropout[name] = (int(pair[0]), int(pair[1]))
    model._seed = seed
    model._shuffle_rng = rng
    for layer, op in model._dropout_ops:
        if layer.name in dropout:
            op.seed, op.counter = dropout[layer.name]
    model._pending_dropout = dropout
