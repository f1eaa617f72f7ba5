"""Training curves: plot_history draws a History (or its dict) after fit; the LivePlot
callback redraws it while fit runs, into a file and/or a notebook output cell.
"""

import math
import time
import warnings
from collections.abc import Mapping

import numpy as np

from fastnn.callbacks import Callback
from fastnn.visualize._figure import (
    _check_target,
    _finish,
    _new_figure,
    _png_bytes,
    _require_matplotlib,
)

_TRAIN_STYLE = dict(linestyle="-", marker="o", label="training")
_VAL_STYLE = dict(linestyle="--", marker="s", label="validation")


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
