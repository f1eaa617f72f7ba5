"""Pictures of models and training runs, drawn with matplotlib.

matplotlib is imported inside the functions, so ``import fastnn`` never loads it
(install it with ``pip install "fastnn[viz]"``). Figures are made with
``matplotlib.figure.Figure`` on an Agg canvas: nothing touches pyplot's global
figure list, so plotting works headless and in loops without leaking figures.
Pass ``show=True`` to open a pyplot window (or inline output) instead.

Every function returns the Figure and takes ``to_file``: a ``.png``, ``.svg`` or
``.pdf`` path, written atomically (a temporary file in the same folder, then a
rename), so an interrupted save never leaves a half-written picture.

Artists carry ``gid`` tags so programs (and the tests) can tell what was drawn:
``"neuron"``, ``"connection"``, ``"input"``, ``"layer"``, ``"layer_label"``,
``"recurrent_loop"`` (plot_model); ``"train"``, ``"validation"``, ``"best"``
(plot_history); ``"heatmap"``, ``"histogram"`` (plot_weights); ``"points"``
(plot_decision_boundary); ``"hidden_states"``, ``"input_sequence"``
(plot_hidden_states).

Colours come from viridis / cividis, whose lightness rises monotonically, so the
pictures stay readable in greyscale; training and validation curves differ in
line style and marker as well as colour.
"""

import math
import os
import time
import warnings
from collections.abc import Mapping

import numpy as np

from fastnn.callbacks import Callback

__all__ = [
    "plot_model",
    "plot_history",
    "plot_weights",
    "plot_decision_boundary",
    "plot_hidden_states",
    "LivePlot",
]

RECURRENT = ("SimpleRNN", "LSTM", "GRU")
GATES = {"LSTM": ("i", "f", "g", "o"), "GRU": ("r", "z", "n")}
_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
_DPI = 110
_TRAIN_STYLE = dict(linestyle="-", marker="o", label="training")
_VAL_STYLE = dict(linestyle="--", marker="s", label="validation")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")


# ---------------------------------------------------------------------------
# figures and files


def _require_matplotlib(func):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(
            f"{func} needs matplotlib. Install it with: "
            f'pip install "fastnn[viz]" (or pip install matplotlib)'
        ) from None


def _check_target(to_file, func):
    """The output path as a str (None stays None), checked before any drawing."""
    if to_file is None:
        return None
    try:
        path = os.fspath(to_file)
    except TypeError:
        raise TypeError(
            f"{func} expected to_file as a path or None. Received: {type(to_file).__name__}"
        ) from None
    ext = os.path.splitext(path)[1].lower()
    if ext not in _FORMATS:
        raise ValueError(
            f"{func} expected to_file ending in .png, .svg or .pdf. Received: to_file={path!r}"
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"{func} cannot write {path!r}: the folder {folder!r} does not exist"
        )
    return path


def _new_figure(figsize, show=False, layout=None):
    if show:
        import matplotlib.pyplot as plt

        return plt.figure(figsize=figsize, dpi=_DPI, layout=layout)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=_DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path):
    """Write fig to path atomically: a temporary file next to it, then a rename."""
    folder, base = os.path.split(os.path.abspath(path))
    fmt = _FORMATS[os.path.splitext(path)[1].lower()]
    tmp = os.path.join(folder, f".{base}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    # os.open (not mkstemp) so the picture gets the usual umask permissions
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(
                fh, format=fmt, dpi=_DPI, bbox_inches="tight", pad_inches=0.15, facecolor="white"
            )
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _finish(fig, path, show):
    if path is not None:
        _save(fig, path)
    if show:
        import matplotlib.pyplot as plt

        plt.show()
    return fig


def _png_bytes(fig):
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight", facecolor="white")
    return buf.getvalue()


# ---------------------------------------------------------------------------
# what a model looks like (without changing it)


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
                params = int(sum(np.prod(s) for _, s, _ in layer.weight_specs(ins)))
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


# ---------------------------------------------------------------------------
# plot_model


def _neuron_columns(in_shape, table, max_neurons, max_columns=7):
    """Columns of neurons for a small fully connected network, or None when the
    model has to be drawn as blocks. Layers that keep the width (Dropout,
    Activation, a 1-D Flatten) are folded into the column before them."""
    if in_shape is None or len(in_shape) != 1 or in_shape[0] > max_neurons:
        return None
    columns = [
        dict(n=in_shape[0], layer=None, notes=[], kernel=None, bias=None, params=0, shape=in_shape)
    ]
    for layer, ins, outs, params in table:
        kind = _kind(layer)
        if outs is None or len(outs) != 1 or kind in RECURRENT:
            return None
        if kind == "Dense":
            if outs[0] > max_neurons:
                return None
            kernel = layer.weights[0] if layer.weights else None
            bias = layer.weights[1] if len(layer.weights) > 1 else None
            columns.append(
                dict(
                    n=outs[0],
                    layer=layer,
                    notes=[],
                    kernel=kernel,
                    bias=bias,
                    params=params,
                    shape=outs,
                )
            )
        elif tuple(outs) == tuple(ins) and not params:
            desc = _describe(layer)
            columns[-1]["notes"].append(f"+ {kind}" + (f" ({desc})" if desc else ""))
        else:
            return None
    if len(columns) < 2 or len(columns) > max_columns:
        return None
    return columns


def _draw_neurons(model, columns, show_shapes, show_params, show):
    import matplotlib
    from matplotlib.colors import Normalize
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle

    cmap = matplotlib.colormaps["cividis"]
    n_max = max(c["n"] for c in columns)
    dx, r = 3.2, 0.3
    built = all(c["kernel"] is not None for c in columns[1:])
    # one colour scale for every weight and bias, so layers can be compared
    m = 0.0
    if built:
        for c in columns[1:]:
            m = max(m, float(np.abs(c["kernel"]).max()))
            if c["bias"] is not None and c["bias"].size:
                m = max(m, float(np.abs(c["bias"]).max()))
    m = m or 1.0
    norm = Normalize(-m, m)

    headers = []
    for c in columns:
        if c["layer"] is None:
            lines = ["Input", f"{c['n']} feature{'s' if c['n'] != 1 else ''}"]
        else:
            layer = c["layer"]
            lines = [layer.name, f"{_kind(layer)}, {layer.activation}"]
        lines += c["notes"]
        if show_shapes:
            lines.append(_shape_str(c["shape"]))
        if show_params and c["layer"] is not None:
            lines.append("? params" if c["params"] is None else f"{c['params']:,} params")
        headers.append(lines)
    n_lines = max(len(h) for h in headers)
    top = (n_max - 1) / 2.0 + r
    header_h = 0.27 * n_lines + 0.4
    width = dx * (len(columns) - 1) + 3.0
    height = 2 * top + header_h + 0.6
    unit = 0.62  # inches per data unit
    fig = _new_figure(
        (max(5.0, width * unit + (1.3 if built else 0.3)), max(3.0, height * unit + 0.5)), show
    )
    ax = fig.add_axes([0.02, 0.02, 0.84 if built else 0.96, 0.88])
    ax.set_aspect("equal")
    ax.axis("off")

    def ys(n):
        return ((n - 1) / 2.0 - np.arange(n)) * 1.0

    for k in range(1, len(columns)):
        prev, col = columns[k - 1], columns[k]
        x0, x1 = dx * (k - 1), dx * k
        y0s, y1s = ys(prev["n"]), ys(col["n"])
        W = col["kernel"]
        for i, y0 in enumerate(y0s):
            for j, y1 in enumerate(y1s):
                if W is not None:
                    w = float(W[i, j])
                    s = abs(w) / m
                    line = Line2D(
                        [x0 + r, x1 - r],
                        [y0, y1],
                        linewidth=0.3 + 2.7 * s,
                        color=cmap(norm(w)),
                        alpha=0.35 + 0.65 * s,
                        zorder=1,
                        solid_capstyle="round",
                    )
                else:
                    line = Line2D(
                        [x0 + r, x1 - r], [y0, y1], linewidth=0.8, color="0.55", alpha=0.8, zorder=1
                    )
                line.set_gid("connection")
                ax.add_line(line)
    for k, col in enumerate(columns):
        x = dx * k
        last = k == len(columns) - 1
        for j, y in enumerate(ys(col["n"])):
            if k == 0:
                face = "white"
            elif col["bias"] is not None and built:
                face = cmap(norm(float(col["bias"][j])))
            else:
                face = "#b7c9e2"
            circle = Circle((x, y), r, facecolor=face, edgecolor="black", linewidth=1.0, zorder=3)
            circle.set_gid("neuron")
            ax.add_patch(circle)
            if k == 0:
                ax.text(x - r - 0.15, y, f"x{j + 1}", ha="right", va="center", fontsize=8)
            elif last:
                label = "y" if col["n"] == 1 else f"y{j + 1}"
                ax.text(x + r + 0.15, y, label, ha="left", va="center", fontsize=8)
        ax.text(
            x,
            top + 0.35,
            "\n".join(headers[k]),
            ha="center",
            va="bottom",
            fontsize=8.5,
            linespacing=1.25,
        )
    ax.set_xlim(-1.5, dx * (len(columns) - 1) + 1.5)
    ax.set_ylim(-top - 0.3, top + header_h)
    total = sum(c["params"] or 0 for c in columns[1:])
    title = model.name
    if show_params and all(c["params"] is not None for c in columns[1:]):
        title += f": {total:,} parameters"
    ax.set_title(title, fontsize=11, fontweight="bold")
    if built:
        from matplotlib.cm import ScalarMappable

        cax = fig.add_axes([0.89, 0.25, 0.025, 0.5])
        cb = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax)
        cb.set_label("weight (lines) / bias (neurons)", fontsize=8)
        cb.ax.tick_params(labelsize=7)
    return fig


def _draw_blocks(model, in_shape, table, show_shapes, show_params, show):
    import matplotlib
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path

    viridis = matplotlib.colormaps["viridis"]
    rows = []
    if in_shape is not None:
        lines = ["Input"]
        if show_shapes:
            lines.append(f"shape {_shape_str(in_shape)}")
        rows.append(dict(gid="input", lines=lines, face="#f2f2f2", loop=False))
    for layer, _ins, outs, params in table:
        kind = _kind(layer)
        lines = [f"{layer.name} ({kind})"]
        desc = _describe(layer)
        if desc:
            lines.append(desc)
        extra = []
        if outs is None:
            if show_shapes or show_params:
                extra.append("shapes known once the input shape is")
        else:
            if show_shapes:
                extra.append(f"output {_shape_str(outs)}")
            if show_params:
                extra.append("? params" if params is None else f"{params:,} params")
        if extra:
            lines.append("   ".join(extra))
        has_weights = params if params is not None else hasattr(layer, "units")
        if kind in RECURRENT:
            face = (*viridis(0.85)[:3], 0.35)
        elif has_weights:
            face = (*viridis(0.45)[:3], 0.22)
        else:
            face = "#e8e8e8"
        rows.append(dict(gid="layer", lines=lines, face=face, loop=kind in RECURRENT))

    n = len(rows)
    ncols = 1 if n <= 12 else math.ceil(n / 10)
    per = math.ceil(n / ncols)
    n_lines = max(len(r["lines"]) for r in rows)
    bw, bh = 3.9, 0.2 * n_lines + 0.22
    gap, cgap = 0.42, 1.5
    width = ncols * bw + (ncols - 1) * cgap
    height = per * bh + (per - 1) * gap
    y_lo, y_hi = -height - (0.35 if ncols > 1 else 0.1), (0.65 if ncols > 1 else 0.1)
    # one data unit is one inch on both axes, so arrows and loops keep their shape
    fig = _new_figure((width + 0.9, y_hi - y_lo), show)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.axis("off")
    ax.set_xlim(-0.45, width + 0.45)
    ax.set_ylim(y_lo, y_hi)

    def box(i):
        col, row = divmod(i, per)
        x = col * (bw + cgap)
        y = -row * (bh + gap)  # top edge
        return x, y

    for i, r in enumerate(rows):
        x, y = box(i)
        patch = FancyBboxPatch(
            (x, y - bh),
            bw,
            bh,
            boxstyle="round,pad=0,rounding_size=0.08",
            facecolor=r["face"],
            edgecolor="0.25",
            linewidth=1.0,
            zorder=2,
        )
        patch.set_gid(r["gid"])
        ax.add_patch(patch)
        text = ax.text(
            x + bw / 2,
            y - bh / 2,
            "\n".join(r["lines"]),
            ha="center",
            va="center",
            fontsize=8.5,
            linespacing=1.35,
            zorder=3,
        )
        text.set_gid(f"{r['gid']}_label")
        if r["loop"]:
            yc = y - bh / 2
            loop = FancyArrowPatch(
                (x + bw, yc - 0.2),
                (x + bw, yc + 0.2),
                connectionstyle="arc3,rad=1.5",
                arrowstyle="-|>",
                mutation_scale=10,
                linewidth=1.3,
                color="0.2",
                zorder=3,
            )
            loop.set_gid("recurrent_loop")
            ax.add_patch(loop)
            # the state of step t-1 feeds step t
            ax.text(x + bw + 0.4, yc, r"$h_{t-1}$", fontsize=8, ha="left", va="center", color="0.2")
        if i + 1 < n:
            nx, ny = box(i + 1)
            if nx == x:
                path = Path([(x + bw / 2, y - bh), (x + bw / 2, ny)])
            else:  # down, across to the next column, up, across, and into its first box
                mid = x + bw + cgap / 2
                path = Path(
                    [
                        (x + bw / 2, y - bh),
                        (x + bw / 2, y - bh - 0.2),
                        (mid, y - bh - 0.2),
                        (mid, ny + 0.3),
                        (nx + bw / 2, ny + 0.3),
                        (nx + bw / 2, ny),
                    ]
                )
            ax.add_patch(
                FancyArrowPatch(
                    path=path,
                    arrowstyle="-|>",
                    mutation_scale=11,
                    linewidth=1.0,
                    color="0.3",
                    zorder=1,
                )
            )
    params = [p for _, _, _, p in table]
    title = f"{model.name}: {len(table)} layer{'s' if len(table) != 1 else ''}"
    if show_params and None not in params:
        title += f", {sum(params):,} parameters"
    fig.suptitle(title, fontsize=11, fontweight="bold", y=1.0, va="bottom")
    return fig


def plot_model(model, to_file=None, show_shapes=True, show_params=True, max_neurons=12, show=False):
    """Draw the architecture of a Sequential model.

    Small fully connected networks (every width <= ``max_neurons``, up to six
    Dense layers, 1-D inputs) are drawn neuron by neuron: one circle per unit
    (``gid="neuron"``) and one line per weight (``gid="connection"``). Once the
    model is built the line width and colour follow the weight (wider = larger
    ``|w|``, cividis colour from negative to positive) and the neuron fill shows
    its bias. Dropout/Activation layers are noted under the column they follow.

    Other models are drawn as a stack of layer blocks (``gid="layer"``; the input
    is ``gid="input"``) labelled with name, type, units and activation, output
    shape (``show_shapes``) and parameter count (``show_params``); recurrent
    layers (SimpleRNN, LSTM, GRU) get a loop arrow (``gid="recurrent_loop"``).
    More than 12 blocks flow into several columns.

    The model is not changed: an unbuilt model is drawn from its layer configs.
    Returns the matplotlib Figure; writes it to ``to_file`` (.png/.svg/.pdf).
    """
    _require_matplotlib("plot_model")
    path = _check_target(to_file, "plot_model")
    _check_model(model, "plot_model")
    if (
        isinstance(max_neurons, bool)
        or not isinstance(max_neurons, (int, np.integer))
        or max_neurons < 1
    ):
        raise ValueError(
            f"plot_model expected max_neurons as a positive int. "
            f"Received: max_neurons={max_neurons!r}"
        )
    in_shape, table = _layer_table(model)
    columns = _neuron_columns(in_shape, table, int(max_neurons))
    if columns is not None:
        fig = _draw_neurons(model, columns, show_shapes, show_params, show)
    else:
        fig = _draw_blocks(model, in_shape, table, show_shapes, show_params, show)
    return _finish(fig, path, show)


# ---------------------------------------------------------------------------
# plot_history


def _lower_is_better(name):
    n = name.lower()
    return any(
        k in n
        for k in (
            "loss",
            "error",
            "mse",
            "mae",
            "mape",
            "msle",
            "crossentropy",
            "hinge",
            "divergence",
            "poisson",
        )
    )


def _history_data(history, func):
    """(dict name -> float array, epoch indices or None) from a History or a dict."""
    if isinstance(history, Mapping):
        data, epochs = history, None
    elif isinstance(getattr(history, "history", None), Mapping):
        data, epochs = history.history, list(getattr(history, "epoch", None) or [])
    else:
        raise TypeError(
            f"{func} expected a History (returned by fit) or its .history dict. "
            f"Received: {type(history).__name__}"
        )
    out = {}
    for k, v in data.items():
        try:
            out[str(k)] = np.asarray(v, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise ValueError(
                f"{func} expected a list of numbers per metric. Received: {k}={v!r}"
            ) from None
    if not out or not any(len(v) for v in out.values()):
        raise ValueError(f"{func}: the history is empty (fit ran no epoch)")
    return out, epochs


def _epoch_axis(m, n, epochs):
    """1-based epoch numbers of a series of m values in a run of n epochs."""
    if epochs and len(epochs) == m:
        return np.asarray(epochs, dtype=int) + 1
    start = int(epochs[0]) if epochs and len(epochs) == n else 0
    if m == n or m == 0:
        return start + np.arange(1, m + 1)
    # fewer values than epochs: validation every `n // m` epochs (validation_freq)
    return start + (n // m) * np.arange(1, m + 1)


def plot_history(history, metrics=None, to_file=None, show=False):
    """Training curves: one panel per metric (loss, accuracy, ...).

    Each panel has the training curve (solid, ``gid="train"``) and, when the
    history has ``val_<metric>``, the validation curve (dashed,
    ``gid="validation"``), both with the 1-based epoch as x. The best epoch is
    marked with a star (``gid="best"``) and a dotted vertical line: the minimum
    for loss-like metrics (loss, mse, mae, ...), the maximum otherwise
    (accuracy, ...), taken on the validation curve when there is one.

    history: a History (what fit returns) or its ``.history`` dict.
    metrics: names to plot (default: every metric that is not ``val_*``).
    """
    _require_matplotlib("plot_history")
    path = _check_target(to_file, "plot_history")
    data, epochs = _history_data(history, "plot_history")
    if metrics is None:
        names = [k for k in data if not k.startswith("val_")]
        names += [k[4:] for k in data if k.startswith("val_") and k[4:] not in data]
    else:
        names = [metrics] if isinstance(metrics, str) else list(metrics)
        missing = [m for m in names if m not in data and f"val_{m}" not in data]
        if missing or not names:
            raise ValueError(
                f"plot_history: no metric {missing or names!r} in the history. "
                f"Available: {sorted(data)}"
            )
    import matplotlib
    from matplotlib.ticker import MaxNLocator

    cmap = matplotlib.colormaps["viridis"]
    c_train, c_val, c_best = cmap(0.15), cmap(0.62), "black"
    n = max(len(v) for v in data.values())
    ncols = min(len(names), 2 if len(names) == 4 else 3)
    nrows = math.ceil(len(names) / ncols)
    fig = _new_figure((4.8 * ncols + 0.4, 3.5 * nrows + 0.5), show, "constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names):
        train, val = data.get(name), data.get(f"val_{name}")
        few = n <= 40
        best_series = None
        if train is not None and len(train):
            x = _epoch_axis(len(train), n, epochs)
            (line,) = ax.plot(
                x, train, color=c_train, linewidth=1.8, markersize=3.5 if few else 0, **_TRAIN_STYLE
            )
            line.set_gid("train")
            best_series = (x, train, "training")
        if val is not None and len(val):
            x = _epoch_axis(len(val), n, epochs)
            (line,) = ax.plot(
                x, val, color=c_val, linewidth=1.8, markersize=3.5 if few else 0, **_VAL_STYLE
            )
            line.set_gid("validation")
            best_series = (x, val, "validation")
        if best_series is not None and np.isfinite(best_series[1]).any():
            x, v, which = best_series
            lower = _lower_is_better(name)
            i = int(np.nanargmin(v) if lower else np.nanargmax(v))
            ax.axvline(x[i], color="0.45", linestyle=":", linewidth=1.0, zorder=1)
            (star,) = ax.plot(
                [x[i]],
                [v[i]],
                linestyle="none",
                marker="*",
                markersize=13,
                color=c_best,
                markerfacecolor="white",
                markeredgewidth=1.3,
                zorder=5,
                label=f"best {which}: epoch {x[i]}, {v[i]:.4g}",
            )
            star.set_gid("best")
        pretty = name.upper() if len(name) <= 3 else name.replace("_", " ").capitalize()
        ax.set_title(
            pretty + (" (lower is better)" if _lower_is_better(name) else " (higher is better)"),
            fontsize=10,
        )
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, frameon=True, framealpha=0.85)
    fig.suptitle(
        f"Training history ({n} epoch{'s' if n != 1 else ''})", fontsize=11, fontweight="bold"
    )
    return _finish(fig, path, show)


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
# plot_decision_boundary


def plot_decision_boundary(model, x, y, to_file=None, resolution=200, show=False):
    """The model's prediction over the plane of two input features, with the points.

    x: (n_samples, 2) model inputs; y: their labels (class ints, one-hot rows or
    (n, 1) 0/1 values) or regression targets. The background is a filled
    contour: the probability of class 1 for one sigmoid output (with the 0.5
    line), the predicted class for several outputs, the predicted value
    otherwise. The points are scattered on top (``gid="points"``), one marker
    shape per class. resolution: grid points per axis.
    """
    _require_matplotlib("plot_decision_boundary")
    path = _check_target(to_file, "plot_decision_boundary")
    _check_model(model, "plot_decision_boundary")
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != 2 or x.dtype.kind not in "biuf":
        raise ValueError(
            f"plot_decision_boundary expected x of shape (n_samples, 2): two "
            f"numeric input features to draw in the plane. Received: "
            f"x.shape={x.shape}, dtype={x.dtype}"
        )
    if len(x) == 0:
        raise ValueError("plot_decision_boundary expected at least one point. Received: 0")
    if model.input_shape is not None and tuple(model.input_shape) != (2,):
        raise ValueError(
            f"plot_decision_boundary expected a model with 2 input features. "
            f"Received: a model with input shape {tuple(model.input_shape)}"
        )
    y = np.asarray(y)
    if y.ndim == 0 or len(y) != len(x):
        raise ValueError(
            f"plot_decision_boundary expected one target per point. Received: "
            f"x.shape={x.shape}, y.shape={y.shape}"
        )
    if (
        isinstance(resolution, bool)
        or not isinstance(resolution, (int, np.integer))
        or not 2 <= resolution <= 2000
    ):
        raise ValueError(
            f"plot_decision_boundary expected resolution as an int in [2, 2000]. "
            f"Received: resolution={resolution!r}"
        )
    if not np.isfinite(x).all():
        raise ValueError("plot_decision_boundary expected finite values in x")
    import matplotlib
    from matplotlib.colors import BoundaryNorm, ListedColormap

    y2 = y.reshape(len(y), -1)
    labels = y2.argmax(axis=1) if y2.shape[1] > 1 else y2[:, 0]
    lo, hi = x.min(axis=0).astype(float), x.max(axis=0).astype(float)
    pad = np.maximum(0.08 * (hi - lo), 0.25)
    gx, gy = np.meshgrid(
        np.linspace(lo[0] - pad[0], hi[0] + pad[0], int(resolution)),
        np.linspace(lo[1] - pad[1], hi[1] + pad[1], int(resolution)),
    )
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    pred = np.asarray(model.predict(grid, batch_size=4096)).reshape(len(grid), -1)
    pred_x = np.asarray(model.predict(x, batch_size=4096)).reshape(len(x), -1)
    k_out = pred.shape[1]
    last_act = getattr(model.layers[-1], "activation", "linear")
    names = None
    if labels.dtype.kind not in "biuf":  # class names: code them 0 .. K-1 (sorted)
        names, labels = np.unique(labels.astype(str), return_inverse=True)
    integral = labels.dtype.kind in "biu" or (
        labels.dtype.kind == "f" and np.all(labels == np.round(labels))
    )
    classes = np.unique(labels) if integral and len(np.unique(labels)) <= len(_MARKERS) else None

    viridis, cividis = matplotlib.colormaps["viridis"], matplotlib.colormaps["cividis"]
    fig = _new_figure((7.2, 5.8), show, "constrained")
    ax = fig.add_subplot()
    title = "Decision boundary"
    if k_out > 1:
        mode = "classes"
        cls = pred.argmax(axis=1).reshape(gx.shape)
        colours = [viridis(v) for v in np.linspace(0.0, 1.0, k_out)]
        cmap = ListedColormap(colours)
        norm = BoundaryNorm(np.arange(k_out + 1) - 0.5, k_out)
        cs = ax.contourf(
            gx, gy, cls, levels=np.arange(k_out + 1) - 0.5, cmap=cmap, norm=norm, alpha=0.35
        )
        ax.contour(
            gx,
            gy,
            cls,
            levels=np.arange(k_out - 1) + 0.5,
            colors="black",
            linewidths=1.0,
            alpha=0.7,
        )
        cb = fig.colorbar(cs, ax=ax, ticks=np.arange(k_out), fraction=0.045, pad=0.03)
        cb.set_label("predicted class")
        point_colour = {
            c: colours[int(c)] if 0 <= int(c) < k_out else "white"
            for c in (classes if classes is not None else [])
        }
        predicted = pred_x.argmax(axis=1)
    elif last_act == "sigmoid" or (
        classes is not None
        and set(classes.tolist()) <= {0, 1}
        and pred.min() >= 0
        and pred.max() <= 1
    ):
        mode = "probability"
        prob = pred[:, 0].reshape(gx.shape)
        cs = ax.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap=cividis, alpha=0.75)
        ax.contour(gx, gy, prob, levels=[0.5], colors="black", linewidths=2.0)
        cb = fig.colorbar(cs, ax=ax, fraction=0.045, pad=0.03)
        cb.set_label("P(class 1)  (black line: 0.5)")
        point_colour = {
            c: cividis(0.05 if int(c) == 0 else 0.95)
            for c in (classes if classes is not None else [])
        }
        predicted = (pred_x[:, 0] > 0.5).astype(int)
    else:
        mode = "value"
        val = pred[:, 0].reshape(gx.shape)
        cs = ax.contourf(gx, gy, val, levels=15, cmap=viridis, alpha=0.75)
        cb = fig.colorbar(cs, ax=ax, fraction=0.045, pad=0.03)
        cb.set_label("prediction")
        point_colour, predicted = {}, None
        title = "Model prediction"
    cs.set_gid("boundary")
    size = 28 if len(x) <= 500 else 12
    if classes is not None and mode != "value":
        for i, c in enumerate(classes):
            mask = labels == c
            label = f"class {int(c)}" if names is None else f"class {int(c)}: {names[int(c)]}"
            sc = ax.scatter(
                x[mask, 0],
                x[mask, 1],
                s=size,
                marker=_MARKERS[i],
                color=point_colour.get(c, "white"),
                edgecolors="black",
                linewidths=0.6,
                label=label,
                zorder=3,
            )
            sc.set_gid("points")
        ax.legend(fontsize=8, loc="best", framealpha=0.85)
        acc = float(np.mean(predicted == labels.astype(int)))
        title += f": accuracy {acc:.1%} on {len(x)} points"
    else:
        # targets coloured on the scale of the background when it shows values
        sc = ax.scatter(
            x[:, 0],
            x[:, 1],
            s=size,
            c=labels.astype(float),
            cmap=viridis,
            norm=cs.norm if mode == "value" else None,
            edgecolors="black",
            linewidths=0.6,
            zorder=3,
        )
        sc.set_gid("points")
    ax.set_xlim(gx.min(), gx.max())
    ax.set_ylim(gy.min(), gy.max())
    ax.set_xlabel("feature 1 (x[:, 0])")
    ax.set_ylabel("feature 2 (x[:, 1])")
    ax.set_title(title, fontsize=11)
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


# ---------------------------------------------------------------------------
# LivePlot


def _notebook_display():
    """IPython's display machinery when running inside a notebook kernel, else None."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    ip = get_ipython()
    if ip is None or getattr(ip, "kernel", None) is None:
        return None
    from IPython.display import Image, display

    return display, Image


class LivePlot(Callback):
    """Redraw the training curves while fit runs.

    Draws plot_history of the epochs so far into ``to_file`` and/or, inside a
    Jupyter notebook, into one output cell that is updated in place. Redraws are
    throttled: at most once per ``min_interval`` seconds, and never more often
    than every 20 times the duration of the previous drawing (so drawing costs
    at most about 5% of the training time); the final state is always drawn when
    fit ends.

    >>> model.fit(x, y, epochs=100, callbacks=[LivePlot("curves.png")])
    """

    def __init__(self, to_file=None, metrics=None, min_interval=1.0):
        super().__init__()
        _check_target(to_file, "LivePlot")
        if (
            isinstance(min_interval, bool)
            or not isinstance(min_interval, (int, float))
            or not min_interval >= 0
        ):
            raise ValueError(
                f"LivePlot expected min_interval as a number of seconds >= 0. "
                f"Received: min_interval={min_interval!r}"
            )
        self.to_file = to_file
        self.metrics = metrics
        self.min_interval = float(min_interval)
        self.history = {}
        self.epoch = []
        self.draws = 0
        self.figure = None
        self._handle = None
        self._display = None
        self._last = 0.0
        self._cost = 0.0
        self._pending = False

    def on_train_begin(self, logs=None):
        _require_matplotlib("LivePlot")
        if self.to_file is not None:
            _check_target(self.to_file, "LivePlot")
        self.history, self.epoch = {}, []
        self._display = _notebook_display()
        self._handle = None
        if self.to_file is None and self._display is None:
            warnings.warn(
                "LivePlot has nowhere to draw: give to_file=... or run it in a Jupyter notebook",
                RuntimeWarning,
                stacklevel=2,
            )
        self._last = time.perf_counter()
        self._pending = False

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(int(epoch))
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(float(v))
        self._pending = True
        if time.perf_counter() - self._last >= max(self.min_interval, 20.0 * self._cost):
            self._draw()

    def on_train_end(self, logs=None):
        if self._pending:
            self._draw()

    def _draw(self):
        t0 = time.perf_counter()
        self._pending = False
        if (self.to_file is None and self._display is None) or not self.epoch:
            self._last = t0
            return
        self.figure = plot_history(self, metrics=self.metrics, to_file=self.to_file)
        if self._display is not None:
            display, Image = self._display
            img = Image(data=_png_bytes(self.figure), format="png")
            if self._handle is None:
                self._handle = display(img, display_id=True)
            else:
                self._handle.update(img)
        self.draws += 1
        self._last = time.perf_counter()
        self._cost = self._last - t0
