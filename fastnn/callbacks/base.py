"""fastnn.callbacks, the hooks into fit: the Callback base class, History,
ProgbarLogger, CallbackList (how fit calls them), and the argument helpers the Keras
callbacks of training.py and files.py share."""

import math
import sys
import time
import warnings

import numpy as np


class Callback:
    """Base class. fit calls on_train_begin, then per epoch on_epoch_begin,
    on_train_batch_begin/end per batch, on_epoch_end(epoch, logs), and finally
    on_train_end. `self.model` is set before on_train_begin."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass


class History(Callback):
    """Records the logs of every epoch: history.history["loss"][epoch]."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []  # Keras keeps history across fits of one History; we do the same

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)

    def __repr__(self):
        return f"<History epochs={len(self.epoch)} keys={sorted(self.history)}>"


class ProgbarLogger(Callback):
    """verbose=1: a live progress bar on one updating line (a terminal) ;
    verbose=2: one plain line per epoch, for log files."""

    def __init__(self, verbose=1, stream=None):
        super().__init__()
        self.verbose = verbose
        self.stream = stream or sys.stdout

    def on_train_begin(self, logs=None):
        self.epochs = self.params.get("epochs", 1)
        self.steps = self.params.get("steps", 0)

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()
        self.last_draw = 0.0
        if self.verbose == 1:
            self.stream.write(f"Epoch {epoch + 1}/{self.epochs}\n")

    def on_train_batch_end(self, batch, logs=None):
        if self.verbose != 1:
            return
        now = time.perf_counter()
        # redraw at most 20 times a second: drawing must not slow training
        if now - self.last_draw < 0.05 and batch + 1 < self.steps:
            return
        self.last_draw = now
        done = batch + 1
        width = 30
        filled = int(width * done / max(1, self.steps))
        bar = "=" * max(0, filled - 1) + (">" if filled < width else "=") + "." * (width - filled)
        self.stream.write(f"\r{done}/{self.steps} [{bar}] {self._fmt(logs)}")
        self.stream.flush()

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.perf_counter() - self.t0
        if self.verbose == 1:
            self.stream.write(
                f"\r{self.steps}/{self.steps} [{'=' * 30}] - {elapsed:.2f}s {self._fmt(logs)}\n"
            )
        elif self.verbose == 2:
            self.stream.write(
                f"Epoch {epoch + 1}/{self.epochs} - {elapsed:.2f}s - {self._fmt(logs)}\n"
            )
        self.stream.flush()

    @staticmethod
    def _fmt(logs):
        parts = []
        for k, v in (logs or {}).items():
            if isinstance(v, float) and (abs(v) >= 1e-3 or v == 0 or not math.isfinite(v)):
                parts.append(f"{k}: {v:.4f}")
            else:
                parts.append(f"{k}: {v:.4e}")
        return " - ".join(parts)


class CallbackList:
    """Calls one hook on every callback, in list order, except that History and
    ProgbarLogger run after the others (Keras' order), so keys a callback adds to
    the logs (ReduceLROnPlateau's "learning_rate") are recorded and shown. Hooks a
    callback does not override are skipped, so an idle callback costs nothing per
    batch."""

    HOOKS = (
        "on_train_begin",
        "on_train_end",
        "on_epoch_begin",
        "on_epoch_end",
        "on_train_batch_begin",
        "on_train_batch_end",
    )

    def __init__(self, callbacks, model, params):
        callbacks = list(callbacks)

        def rank(cb):  # History, then the progress bar, run after the user's callbacks
            return 2 if isinstance(cb, ProgbarLogger) else 1 if isinstance(cb, History) else 0

        self.callbacks = sorted(callbacks, key=rank)  # stable: list order otherwise
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)
        self._bound = {}
        for hook in self.HOOKS:
            base = getattr(Callback, hook)
            bound = (getattr(cb, hook) for cb in self.callbacks)
            self._bound[hook] = [fn for fn in bound if getattr(fn, "__func__", None) is not base]

    def _call(self, hook, *args):
        for fn in self._bound[hook]:
            fn(*args)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs)


# ------------------------------------------- argument helpers of the Keras callbacks
def _monitor_arg(owner, monitor):
    if not isinstance(monitor, str) or not monitor:
        raise ValueError(
            f"{owner} expected monitor as a non-empty str (a key of the epoch "
            f"logs, e.g. 'val_loss'). Received: monitor={monitor!r}"
        )
    return monitor


def _bool_arg(owner, name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{owner} expected {name} as True or False. Received: {name}={value!r}")
    return bool(value)


def _mode_arg(owner, mode, monitor):
    """The checked mode, 'auto', 'min' or 'max' ('auto' is resolved later: _direction)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(
            f"{owner} expected mode in ('auto', 'min', 'max'). Received: mode={mode!r}"
        )
    return mode


# the direction of each compiled metric kind (Keras' metric _direction)
_UP = ("binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy")


def _direction(owner, mode, monitor, model):
    """'min' or 'max', as Keras 3.15's MonitorCallback._set_monitor_op: a given mode, or
    for 'auto' 'min' on a loss and the direction of the model's compiled metric of that
    name (accuracies up, errors down); a ValueError when it cannot tell."""
    if mode != "auto":
        return mode
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name == "loss":
        return "min"
    kinds = dict(zip(getattr(model, "_metric_names", ()), getattr(model, "_metric_kinds", ())))
    if name in kinds:
        return "max" if kinds[name] in _UP else "min"
    raise ValueError(
        f"{owner} callback received monitor={monitor}, but fastnn isn't able to "
        "automatically determine whether that metric should be maximized or minimized. "
        "Pass `mode='max'` in order to monitor based on the highest metric value, or pass "
        "`mode='min'` in order to use the lowest value."
    )


def _monitor_value(owner, monitor, logs):
    """The monitored value of these logs, or None (with a RuntimeWarning naming the
    available keys) when it is missing."""
    logs = logs or {}
    value = logs.get(monitor)
    if value is None:
        warnings.warn(
            f"{owner} is conditioned on metric {monitor!r} which is not available. "
            f"Available metrics are: {','.join(logs)}",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    return float(value)


def _learning_rate(model, owner):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(
            f"{owner} expected a compiled model whose optimizer has a "
            f"learning_rate. Received: optimizer={optimizer!r}"
        )
    return float(optimizer.learning_rate)
