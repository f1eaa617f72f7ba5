"""Callbacks: hooks into fit (Keras names and call order)."""
import math
import sys
import time


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

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass


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
            self.stream.write(f"\r{self.steps}/{self.steps} [{'=' * 30}] - {elapsed:.2f}s "
                              f"{self._fmt(logs)}\n")
        elif self.verbose == 2:
            self.stream.write(f"Epoch {epoch + 1}/{self.epochs} - {elapsed:.2f}s - "
                              f"{self._fmt(logs)}\n")
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
    """Calls one hook on every callback, in list order. Hooks a callback does not
    override are skipped, so an idle callback costs nothing per batch."""

    HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
             "on_train_batch_begin", "on_train_batch_end")

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
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
