"""fastnn.callbacks, the Keras callbacks that write files: ModelCheckpoint (the model
or its weights) and CSVLogger (the epoch logs)."""

import csv
import os
from collections.abc import Iterable

import numpy as np

from fastnn.backend.contract.args import integer as _integer
from fastnn.backend.contract.args import real as _real
from fastnn.callbacks.base import (
    Callback,
    _bool_arg,
    _direction,
    _mode_arg,
    _monitor_arg,
    _monitor_value,
)


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
        self.best = threshold  # None: the first value improves
        self._mode = None  # the resolved direction, at the first epoch's end (as Keras)

    def _improved(self, value):
        if self._mode is None:
            self._mode = _direction("ModelCheckpoint", self.mode, self.monitor, self.model)
        if self.best is None:
            return True
        return value < self.best if self._mode == "min" else value > self.best

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
            best = "None" if self.best is None else f"{self.best:.5f}"  # as Keras prints it
            if not self._improved(current):
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
                return
            path = self._get_file_path(epoch, logs)
            if self.verbose > 0:
                print(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
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
