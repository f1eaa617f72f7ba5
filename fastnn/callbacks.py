"""Callbacks: hooks into fit (Keras names and call order) and the Keras callbacks
EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, TerminateOnNaN,
LearningRateScheduler and CSVLogger."""

import csv
import inspect
import math
import numbers
import os
import sys
import time
import warnings
from collections.abc import Iterable

import numpy as np

from fastnn.backend.contract.args import integer as _integer
from fastnn.backend.contract.args import real as _real


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


# ---------------------------------------------------------------------- Keras callbacks
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
    """'min' or 'max'; 'auto' is 'max' for accuracy-like names (containing 'acc')."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(
            f"{owner} expected mode in ('auto', 'min', 'max'). Received: mode={mode!r}"
        )
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    return mode


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


class EarlyStopping(Callback):
    """Stop training when the monitored quantity has stopped improving.

    An epoch improves when its value beats the best so far by more than min_delta
    (lower for mode 'min', higher for 'max'). Training stops once `patience` epochs
    in a row have not improved (never at the first epoch). With a baseline, the
    patience counter only restarts on epochs that also beat the baseline. Epochs
    before start_from_epoch are ignored. restore_best_weights=True puts back the
    weights at the end of the best epoch when training ends (also when it ran to
    the last epoch), as Keras does.
    """

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0,
        patience=0,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
        start_from_epoch=0,
    ):
        super().__init__()
        owner = "EarlyStopping"
        self.monitor = _monitor_arg(owner, monitor)
        self.min_delta = abs(_real(owner, "min_delta", min_delta))
        self.patience = _integer(owner, "patience", patience)
        self.verbose = _integer(owner, "verbose", verbose)
        self.mode = _mode_arg(owner, mode, self.monitor)
        self.baseline = _real(owner, "baseline", baseline, allow_none=True)
        self.restore_best_weights = _bool_arg(owner, "restore_best_weights", restore_best_weights)
        self.start_from_epoch = _integer(owner, "start_from_epoch", start_from_epoch)
        self._reset()

    def _reset(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_weights = None
        self.best_epoch = 0

    def _is_improvement(self, value, reference):
        if self.mode == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        current = _monitor_value("Early stopping", self.monitor, logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # nothing better seen yet: the current weights are the best
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(
                    f"Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model (or only its weights) at the end of every epoch.

    filepath may hold str.format fields filled with `epoch` (1-based, as Keras) and
    the epoch's logs, e.g. "ckpt-{epoch:02d}-{val_loss:.4f}.fnn". With
    save_best_only=True a file is written only when the monitored value improves
    on the best so far (mode 'min' or 'max'; 'auto' = 'max' for names containing
    'acc'). Files are written atomically by model.save / model.save_weights.
    """

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        initial_value_threshold=None,
    ):
        super().__init__()
        owner = "ModelCheckpoint"
        if not isinstance(filepath, (str, os.PathLike)) or not os.fspath(filepath):
            raise ValueError(
                f"{owner} expected filepath as a non-empty str or path. "
                f"Received: filepath={filepath!r}"
            )
        self.filepath = os.fspath(filepath)
        if isinstance(self.filepath, bytes):
            raise ValueError(
                f"{owner} expected filepath as a str path. Received: filepath={filepath!r}"
            )
        self.monitor = _monitor_arg(owner, monitor)
        self.verbose = _integer(owner, "verbose", verbose)
        self.save_best_only = _bool_arg(owner, "save_best_only", save_best_only)
        self.save_weights_only = _bool_arg(owner, "save_weights_only", save_weights_only)
        self.mode = _mode_arg(owner, mode, self.monitor)
        threshold = _real(
            owner, "initial_value_threshold", initial_value_threshold, allow_none=True
        )
        if threshold is None:
            threshold = math.inf if self.mode == "min" else -math.inf
        self.best = threshold

    def _improved(self, value):
        return value < self.best if self.mode == "min" else value > self.best

    def _get_file_path(self, epoch, logs):
        try:
            return self.filepath.format(epoch=epoch + 1, **(logs or {}))
        except (KeyError, IndexError, ValueError) as exc:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". '
                f"Reason: {exc!r} (available fields: epoch, "
                f"{', '.join(logs or {})})"
            ) from None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            current = _monitor_value("Can save best model only with", self.monitor, logs)
            if current is None:
                return
            if not self._improved(current):
                if self.verbose > 0:
                    print(
                        f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}"
                    )
                return
            path = self._get_file_path(epoch, logs)
            if self.verbose > 0:
                print(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                    f"{current:.5f}, saving model to {path}"
                )
            self.best = current
        else:
            path = self._get_file_path(epoch, logs)
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {path}")
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by `factor` once the monitored value has not
    improved by more than min_delta for `patience` epochs; then wait `cooldown`
    epochs before counting again. The rate never goes below min_lr. Adds the
    current "learning_rate" to every epoch's logs, as Keras does."""

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
    ):
        super().__init__()
        owner = "ReduceLROnPlateau"
        self.monitor = _monitor_arg(owner, monitor)
        self.factor = _real(
            owner, "factor", factor, low=0.0, low_open=True, high=1.0, high_open=True
        )
        self.patience = _integer(owner, "patience", patience)
        self.verbose = _integer(owner, "verbose", verbose)
        self.mode = _mode_arg(owner, mode, self.monitor)
        self.min_delta = abs(_real(owner, "min_delta", min_delta))
        self.cooldown = _integer(owner, "cooldown", cooldown)
        self.min_lr = _real(owner, "min_lr", min_lr, low=0.0)
        self._reset()

    def _reset(self):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.wait = 0

    def _improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            logs = {}
        logs["learning_rate"] = _learning_rate(self.model, "ReduceLROnPlateau")
        current = _monitor_value("Learning rate reduction", self.monitor, logs)
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = logs["learning_rate"]
                # compared in float32, as Keras does, so min_lr is reached exactly once
                if np.float32(old_lr) > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        print(
                            f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning "
                            f"rate to {new_lr}."
                        )
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class TerminateOnNaN(Callback):
    """Stop training after the batch whose logged loss is NaN or infinite.

    (fit itself already stops, with a RuntimeWarning, when a step's loss or gradient
    is non-finite; this callback also catches a non-finite loss in the logs.)"""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of every epoch to schedule(epoch, lr)
    (epoch 0-based, lr the current rate; a one-argument schedule(epoch) works too).
    Adds the current "learning_rate" to every epoch's logs."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise ValueError(
                f"LearningRateScheduler expected schedule as a callable "
                f"schedule(epoch, lr) -> lr. Received: schedule={schedule!r}"
            )
        self.schedule = schedule
        self.verbose = _integer("LearningRateScheduler", "verbose", verbose)
        self._n_args = self._count_args(schedule)

    @staticmethod
    def _count_args(schedule):
        try:
            sig = inspect.signature(schedule)
        except (TypeError, ValueError):
            return 2
        params = list(sig.parameters.values())
        if any(p.kind == p.VAR_POSITIONAL for p in params):
            return 2
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        return 1 if len(positional) == 1 else 2

    def on_epoch_begin(self, epoch, logs=None):
        lr = _learning_rate(self.model, "LearningRateScheduler")
        new_lr = self.schedule(epoch, lr) if self._n_args == 2 else self.schedule(epoch)
        if (
            isinstance(new_lr, (bool, np.bool_))
            or not isinstance(new_lr, numbers.Real)
            or not math.isfinite(float(new_lr))
            or new_lr <= 0
        ):
            raise ValueError(
                f"LearningRateScheduler expected the schedule to return a finite "
                f"float > 0. Received: {new_lr!r} at epoch {epoch}"
            )
        self.model.optimizer.learning_rate = float(new_lr)
        if self.verbose > 0:
            print(
                f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                f"{float(new_lr)}."
            )

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _learning_rate(self.model, "LearningRateScheduler")


class CSVLogger(Callback):
    """Stream every epoch's logs to a CSV file: a header "epoch,<keys sorted>" and
    one row per epoch (epoch 0-based, as Keras writes it). The columns are the keys
    of the first epoch logged; a key missing later is written as NA. append=True
    adds to an existing file (without a second header when it is not empty)."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if not isinstance(filename, (str, os.PathLike)) or not os.fspath(filename):
            raise ValueError(
                f"CSVLogger expected filename as a non-empty str or path. "
                f"Received: filename={filename!r}"
            )
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(
                f"CSVLogger expected separator as a one-character str. "
                f"Received: separator={separator!r}"
            )
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = _bool_arg("CSVLogger", "append", append)
        self.keys = None
        self.writer = None
        self.csv_file = None
        self.append_header = True

    def on_train_begin(self, logs=None):
        self.append_header = True
        if self.append:
            if os.path.exists(self.filename) and os.path.getsize(self.filename) > 0:
                self.append_header = False
            mode = "a"
        else:
            mode = "w"
        self.keys = None
        self.writer = None
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")

    @staticmethod
    def _value(v):
        if isinstance(v, np.ndarray) and v.ndim == 0:
            v = v.item()
        if isinstance(v, str):
            return v
        if isinstance(v, Iterable):
            return f'"[{", ".join(map(str, v))}]"'
        return v

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.csv_file is None:  # used outside fit: open on first use
            self.on_train_begin()
        if self.keys is None:
            self.keys = sorted(logs)
        if self.writer is None:
            self.writer = csv.DictWriter(
                self.csv_file,
                fieldnames=["epoch"] + self.keys,
                delimiter=self.sep,
                lineterminator="\n",
                extrasaction="ignore",
            )
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((k, self._value(logs.get(k, "NA"))) for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None:
            self.csv_file.close()
        self.csv_file = None
        self.writer = None
