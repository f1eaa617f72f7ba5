"""fastnn.callbacks, the Keras callbacks that steer training: EarlyStopping,
ReduceLROnPlateau, TerminateOnNaN, LearningRateScheduler."""

import inspect
import math
import numbers

import numpy as np

from fastnn.backend.contract.args import integer as _integer
from fastnn.backend.contract.args import real as _real
from fastnn.callbacks.base import (
    Callback,
    _bool_arg,
    _direction,
    _learning_rate,
    _mode_arg,
    _monitor_arg,
    _monitor_value,
)


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
        self.best = None  # the first value improves
        self.best_weights = None
        self.best_epoch = 0
        self._mode = None  # the resolved direction, at the first epoch's end (as Keras)

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        if self._mode is None:
            self._mode = _direction("EarlyStopping", self.mode, self.monitor, self.model)
        if self._mode == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        if self._mode is None:
            self._mode = _direction("EarlyStopping", self.mode, self.monitor, self.model)
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
        self.best = None  # the first value improves
        self.cooldown_counter = 0
        self.wait = 0
        self._mode = None  # the resolved direction, at the first epoch's end (as Keras)

    def _improved(self, value):
        if self.best is None:
            return True
        if self._mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            logs = {}
        if self._mode is None:
            self._mode = _direction("ReduceLROnPlateau", self.mode, self.monitor, self.model)
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
