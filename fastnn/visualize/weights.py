"""Heatmaps of what a model holds: plot_weights (each layer's kernel and a histogram
of its weights) and plot_hidden_states (a recurrent layer's state over the steps of one
sequence, computed on a truncated copy of the model).
"""

import numpy as np

from fastnn.visualize._figure import _check_target, _finish, _new_figure, _require_matplotlib
from fastnn.visualize._inspect import (
    RECURRENT,
    _check_model,
    _ensure_built,
    _kind,
    _weight_names,
)

GATES = {"LSTM": ("i", "f", "g", "o"), "GRU": ("r", "z", "n")}


# ---------------------------------------------------------------------------
# plot_weights


def plot_weights(model, to_file=None, show=False):
    """Per layer with weights: a heatmap of its kernel (``gid="heatmap"``; rows =
    inputs, columns = units, cividis centred on 0; when a few weights are more
    than twice the 99th percentile of |w| the colour scale stops there and the
    colour bar shows arrows) and a histogram of all its
    weights, one colour per array (``gid="histogram"``). A recurrent layer's
    heatmap stacks the input kernel W over the recurrent kernel U; for LSTM and
    GRU the gate blocks (i, f, g, o / r, z, n) are separated and labelled on the
    x axis. A model that knows its input shape but was not built yet is built
    first (as summary() does) and shows its initial weights.
    """
    _require_matplotlib("plot_weights")
    path = _check_target(to_file, "plot_weights")
    _check_model(model, "plot_weights")
    _ensure_built(model, "plot_weights")
    layers = [l for l in model.layers if l.weights]
    if not layers:
        raise ValueError("plot_weights: the model has no layer with weights")
    import matplotlib
    from matplotlib.ticker import MaxNLocator

    cividis, viridis = matplotlib.colormaps["cividis"], matplotlib.colormaps["viridis"]
    n = len(layers)
    row_h = 2.9 if n <= 6 else 2.4
    fig = _new_figure((11.0, row_h * n + 0.6), show, "constrained")
    axes = fig.subplots(n, 2, squeeze=False, gridspec_kw=dict(width_ratios=[3, 2]))
    for (ax_map, ax_hist), layer in zip(axes, layers):
        kind = _kind(layer)
        names = _weight_names(layer)
        kernels = [(nm, w) for nm, w in zip(names, layer.weights) if w.ndim == 2]
        if not kernels:
            kernels = [(names[0], np.atleast_2d(layer.weights[0]))]
        main = kernels[0][1]
        blocks = [kernels[0]]
        for nm, w in kernels[1:]:  # recurrent kernel: same number of columns
            if w.shape[1] == main.shape[1]:
                blocks.append((nm, w))
        mat = np.vstack([np.asarray(w, dtype=float) for _, w in blocks])
        mag = np.abs(mat)
        m = float(mag.max()) or 1.0
        # a few large weights (often on one input) would wash everything else out to
        # the middle colour: then the scale stops at the 99th percentile of |w|
        q = float(np.percentile(mag, 99)) if mag.size >= 100 else 0.0
        clipped = q > 0 and m > 2 * q
        if clipped:
            m = q
        im = ax_map.imshow(
            mat, aspect="auto", cmap=cividis, vmin=-m, vmax=m, interpolation="nearest"
        )
        im.set_gid("heatmap")
        ax_map.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax_map.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        cb = fig.colorbar(
            im, ax=ax_map, fraction=0.05, pad=0.02, extend="both" if clipped else "neither"
        )
        cb.ax.tick_params(labelsize=7)
        if clipped:
            cb.set_label(f"clipped at \u00b1{m:.2g} (99th pct. of |w|)", fontsize=7)
        title = f"{layer.name} ({kind}): " + " over ".join(
            f"{nm} {w.shape[0]}\u00d7{w.shape[1]}" for nm, w in blocks
        )
        ax_map.set_title(title, fontsize=9.5)
        if len(blocks) > 1:
            edges = np.cumsum([w.shape[0] for _, w in blocks])
            for e in edges[:-1]:
                ax_map.axhline(e - 0.5, color="white", linewidth=1.5)
            centres = edges - np.array([w.shape[0] for _, w in blocks]) / 2.0 - 0.5
            ax_map.set_yticks(centres, [nm for nm, _ in blocks], fontsize=8)
        else:
            ax_map.set_ylabel("input", fontsize=9)
        gates = GATES.get(kind)
        if gates and mat.shape[1] % len(gates) == 0:
            h = mat.shape[1] // len(gates)
            for g in range(1, len(gates)):
                ax_map.axvline(g * h - 0.5, color="white", linewidth=1.5)
            ax_map.set_xticks([g * h + h / 2.0 - 0.5 for g in range(len(gates))], list(gates))
            ax_map.set_xlabel(f"gate blocks of {h} units ({', '.join(gates)})", fontsize=9)
        else:
            ax_map.set_xlabel("unit", fontsize=9)
        values = [np.asarray(w, dtype=float).ravel() for w in layer.weights]
        colours = [viridis(v) for v in np.linspace(0.15, 0.85, len(values))]
        _, _, patches = ax_hist.hist(
            values,
            bins=40,
            stacked=True,
            color=colours,
            label=names,
            edgecolor="white",
            linewidth=0.3,
        )
        groups = patches if len(values) > 1 else [patches]
        for group in groups:
            for p in group:
                p.set_gid("histogram")
        allw = np.concatenate(values)
        ax_hist.set_title(
            f"{allw.size:,} weights: mean {allw.mean():.3g}, std {allw.std():.3g}", fontsize=9.5
        )
        ax_hist.set_xlabel("value", fontsize=9)
        ax_hist.set_ylabel("count", fontsize=9)
        ax_hist.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax_hist.legend(fontsize=7.5)
        ax_hist.grid(True, alpha=0.3)
    fig.suptitle(f"{model.name}: weights", fontsize=11, fontweight="bold")
    return _finish(fig, path, show)


# ---------------------------------------------------------------------------
# plot_hidden_states


def _truncated_copy(model, idx):
    """A new built Sequential of copies of model.layers[:idx + 1] with the same
    weights; the last one returns sequences when it has that option."""
    from fastnn.layers import Input
    from fastnn.model import Sequential

    layers = model.layers[: idx + 1]
    copies = []
    for i, layer in enumerate(layers):
        cfg = dict(layer.get_config())
        cfg.pop("input_shape", None)
        if i == idx and "return_sequences" in cfg:
            cfg["return_sequences"] = True
        copies.append(type(layer).from_config(cfg))
    sub = Sequential([Input(shape=tuple(model.layers[0].input_shape))] + copies, dtype=model.dtype)
    sub.build()
    sub.set_weights([w for layer in layers for w in layer.weights])
    return sub


def plot_hidden_states(model, sequence, layer=None, to_file=None, show_input=False, show=False):
    """Heatmap of a recurrent layer's hidden state over the timesteps of one sequence
    (``gid="hidden_states"``; rows = hidden units, columns = time steps, cividis
    centred on 0).

    layer: index into model.layers, a layer name or the layer (default: the first
    recurrent layer). The states come from a copy of the model truncated after
    that layer, with return_sequences=True; the model itself is not changed.
    show_input: also draw the input sequence as a heatmap above it, on the same
    time axis (``gid="input_sequence"``; rows = features), so changes of state
    can be matched with what came in.
    """
    _require_matplotlib("plot_hidden_states")
    path = _check_target(to_file, "plot_hidden_states")
    _check_model(model, "plot_hidden_states")
    layers = model.layers
    recurrent = [i for i, l in enumerate(layers) if _kind(l) in RECURRENT]
    if not recurrent:
        raise ValueError(
            f"plot_hidden_states needs a model with a recurrent layer "
            f"(SimpleRNN, LSTM or GRU). Received: a model of "
            f"{[_kind(l) for l in layers]}, which has none"
        )
    if layer is None:
        idx = recurrent[0]
    else:
        found = [
            i
            for i, l in enumerate(layers)
            if l is layer
            or l.name == layer
            or (
                isinstance(layer, (int, np.integer))
                and not isinstance(layer, bool)
                and i == int(layer) % len(layers)
            )
        ]
        if not found or found[0] not in recurrent:
            raise ValueError(
                f"plot_hidden_states expected layer to name a recurrent layer "
                f"of the model, one of {[layers[i].name for i in recurrent]}. "
                f"Received: layer={layer!r}"
            )
        idx = found[0]
    _ensure_built(model, "plot_hidden_states")
    seq = np.asarray(sequence)
    if seq.ndim == 3 and seq.shape[0] == 1:
        seq = seq[0]
    if seq.ndim != 2 or seq.shape != tuple(model.layers[0].input_shape):
        raise ValueError(
            f"plot_hidden_states expected one sequence of shape (timesteps, "
            f"features) = {tuple(model.layers[0].input_shape)}. "
            f"Received: shape {np.asarray(sequence).shape}"
        )
    states = np.asarray(_truncated_copy(model, idx).predict(seq[None], verbose=0))[0]
    if states.ndim != 2:
        raise ValueError(
            f"plot_hidden_states: {layers[idx].name} does not return one state "
            f"per timestep (output shape {states.shape})"
        )
    import matplotlib
    from matplotlib.ticker import MaxNLocator

    steps, units = states.shape
    n_features = seq.shape[1]
    width = max(6.0, min(14.0, 0.12 * steps + 3))
    h_states = max(2.6, min(9.0, 0.16 * units + 1.4))
    h_input = max(0.9, min(3.0, 0.16 * n_features + 0.6)) if show_input else 0.0
    fig = _new_figure((width, h_states + h_input + 0.3), show, "constrained")
    if show_input:
        ax_in, ax = fig.subplots(
            2, 1, sharex=True, gridspec_kw=dict(height_ratios=[h_input, h_states])
        )
        x_in = np.asarray(seq, dtype=float).T
        lo, hi = float(x_in.min()), float(x_in.max())
        im_in = ax_in.imshow(
            x_in,
            aspect="auto",
            cmap=matplotlib.colormaps["viridis"],
            vmin=lo,
            vmax=hi if hi > lo else lo + 1.0,
            interpolation="nearest",
            origin="lower",
        )
        im_in.set_gid("input_sequence")
        ax_in.set_label("input_sequence")
        cb = fig.colorbar(im_in, ax=ax_in, aspect=8 if n_features <= 4 else 20)
        cb.set_label("input", fontsize=8)
        cb.ax.tick_params(labelsize=7)
        ax_in.set_ylabel("feature", fontsize=9)
        ax_in.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(n_features, 6)))
        ax_in.set_title("input sequence", fontsize=9.5)
        ax_in.tick_params(labelbottom=False)
    else:
        ax = fig.add_subplot()
    m = float(np.abs(states).max()) or 1.0
    im = ax.imshow(
        states.T,
        aspect="auto",
        cmap=matplotlib.colormaps["cividis"],
        vmin=-m,
        vmax=m,
        interpolation="nearest",
        origin="lower",
    )
    im.set_gid("hidden_states")
    ax.set_label("hidden_states")
    fig.colorbar(im, ax=ax, label="activation")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("time step")
    ax.set_ylabel("hidden unit")
    ax.set_title(
        f"{layers[idx].name} ({_kind(layers[idx])}): hidden state over {steps} steps", fontsize=10
    )
    return _finish(fig, path, show)
