"""plot_model: the architecture of a Sequential model, neuron by neuron for a small
fully connected network (_neuron_columns, _draw_neurons), as a stack of layer blocks
otherwise (_draw_blocks).
"""

import math

import numpy as np

from fastnn.visualize._figure import _check_target, _finish, _new_figure, _require_matplotlib
from fastnn.visualize._inspect import (
    RECURRENT,
    _check_model,
    _describe,
    _kind,
    _layer_table,
    _shape_str,
)


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
