"""plot_decision_boundary: the model's prediction over the plane of two input features
(class, probability of class 1 or value), with the data points on top.
"""

import numpy as np

from fastnn.visualize._figure import _check_target, _finish, _new_figure, _require_matplotlib
from fastnn.visualize._inspect import _check_model

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")


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
