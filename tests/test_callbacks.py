"""The Keras callbacks (EarlyStopping, ModelCheckpoint, ReduceLROnPlateau,
TerminateOnNaN, LearningRateScheduler, CSVLogger): their arguments, their effect on
small seeded models, and the order in which fit calls the hooks."""

import csv
import math
import os
import tempfile

import numpy as np
import pytest

import fastnn
from fastnn import Sequential
from fastnn.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from fastnn.layers import Dense, Input


@pytest.fixture(autouse=True)
def seeded():
    fastnn.set_seed(1234)


def regression_data(n=40, f=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, f)).astype(np.float32)
    y = (x @ rng.standard_normal((f, 1)) + 0.1).astype(np.float32)
    return x, y


def mlp(f=6, optimizer="sgd", loss="mse"):
    model = fastnn.Sequential([Input(shape=(f,)), Dense(8, activation="tanh"), Dense(1)])
    model.compile(optimizer=optimizer, loss=loss)
    return model


def same_weights(a, b):
    return len(a) == len(b) and all(np.array_equal(p, q) for p, q in zip(a, b))


class Script(Callback):
    """Writes scripted values into the epoch logs under `key` (runs before the
    callbacks listed after it, which read the same logs)."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, list(values)

    def on_epoch_end(self, epoch, logs=None):
        if self.values[epoch] is not None:  # None: the key is missing this epoch
            logs[self.key] = self.values[epoch]


class Snapshots(Callback):
    """The weights at the end of every epoch."""

    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


def fit(model, callbacks, epochs=10, **kw):
    x, y = regression_data()
    kw.setdefault("batch_size", 8)
    return model.fit(x, y, epochs=epochs, verbose=0, callbacks=callbacks, seed=7, **kw)


# ------------------------------------------------------------------ arguments
@pytest.mark.parametrize(
    "make",
    [
        lambda: EarlyStopping(patience=-1),
        lambda: EarlyStopping(patience=1.5),
        lambda: EarlyStopping(mode="maximum"),
        lambda: EarlyStopping(monitor=3),
        lambda: EarlyStopping(min_delta=math.nan),
        lambda: EarlyStopping(baseline="low"),
        lambda: EarlyStopping(restore_best_weights=1),
        lambda: EarlyStopping(start_from_epoch=-2),
        lambda: ModelCheckpoint(None),
        lambda: ModelCheckpoint(""),
        lambda: ModelCheckpoint("m.fnn", save_best_only="yes"),
        lambda: ModelCheckpoint("m.fnn", mode="up"),
        lambda: ReduceLROnPlateau(factor=1.0),
        lambda: ReduceLROnPlateau(factor=0),
        lambda: ReduceLROnPlateau(patience=True),
        lambda: ReduceLROnPlateau(cooldown=-1),
        lambda: ReduceLROnPlateau(min_lr=-1e-3),
        lambda: ReduceLROnPlateau(min_delta=math.inf),
        lambda: LearningRateScheduler(0.1),
        lambda: LearningRateScheduler(lambda e, lr: lr, verbose=-1),
        lambda: CSVLogger(""),
        lambda: CSVLogger("log.csv", separator=";;"),
        lambda: CSVLogger("log.csv", append="no"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(make):
    with pytest.raises(ValueError, match="expected .*Received"):
        make()


def test_auto_mode_follows_the_compiled_metric_and_refuses_an_unknown_one():
    # Keras 3.15 MonitorCallback._set_monitor_op: at the first epoch's end, 'auto' is
    # 'min' for a loss and the direction of the compiled metric of that name; a monitor
    # it cannot place raises (the name alone says nothing: "acc" is not a metric here)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 3)), rng.integers(0, 2, (16, 1)).astype(float)

    def run(cb, metrics=("accuracy", "mse")):
        model = Sequential([Input((3,)), Dense(1, activation="sigmoid")])
        model.compile("sgd", "binary_crossentropy", metrics=list(metrics))
        model.fit(x, y, epochs=1, validation_data=(x, y), callbacks=[cb], verbose=0)
        return cb._mode

    assert run(EarlyStopping(monitor="val_accuracy")) == "max"
    assert run(EarlyStopping(monitor="val_loss")) == "min"
    assert run(ReduceLROnPlateau(monitor="mse")) == "min"
    path = os.path.join(tempfile.mkdtemp(), "m.fnn")
    assert run(ModelCheckpoint(path, monitor="loss", save_best_only=True)) == "min"
    assert run(EarlyStopping(monitor="val_mse", mode="max")) == "max"
    assert EarlyStopping(monitor="val_accuracy").mode == "auto"  # as given, as in Keras
    with pytest.raises(ValueError, match="monitor=acc, but fastnn isn't able"):
        run(EarlyStopping(monitor="acc"))
    with pytest.raises(ValueError, match="monitor=val_auc"):
        run(ReduceLROnPlateau(monitor="val_auc"))


# ------------------------------------------------------------------ hook order
class Recorder(Callback):
    def __init__(self, name, calls):
        super().__init__()
        self.name, self.calls = name, calls

    def on_train_begin(self, logs=None):
        self.calls.append((self.name, "train_begin"))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append((self.name, "epoch_begin", epoch))

    def on_train_batch_begin(self, batch, logs=None):
        self.calls.append((self.name, "batch_begin", batch))

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append((self.name, "batch_end", batch))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append((self.name, "epoch_end", epoch, "learning_rate" in logs))

    def on_train_end(self, logs=None):
        self.calls.append((self.name, "train_end"))


def test_hooks_run_in_keras_order_and_history_records_keys_added_by_callbacks():
    calls = []
    model = mlp()
    hist = model.fit(
        *regression_data(n=12),
        epochs=2,
        batch_size=6,
        verbose=0,
        callbacks=[Recorder("a", calls), ReduceLROnPlateau(monitor="loss"), Recorder("b", calls)],
    )
    expected = [("a", "train_begin"), ("b", "train_begin")]
    for epoch in range(2):
        expected += [("a", "epoch_begin", epoch), ("b", "epoch_begin", epoch)]
        for b in range(2):
            expected += [
                ("a", "batch_begin", b),
                ("b", "batch_begin", b),
                ("a", "batch_end", b),
                ("b", "batch_end", b),
            ]
        # callbacks see the same logs dict, in list order
        expected += [("a", "epoch_end", epoch, False), ("b", "epoch_end", epoch, True)]
    expected += [("a", "train_end"), ("b", "train_end")]
    assert calls == expected
    # History runs after the user's callbacks, as in Keras
    assert hist.history["learning_rate"] == [pytest.approx(0.01)] * 2


# ------------------------------------------------------------------ EarlyStopping
def test_early_stopping_stops_after_patience_epochs_without_improvement():
    model = mlp()
    es = EarlyStopping(monitor="score", mode="min", patience=2)
    hist = fit(model, [Script("score", [5, 4, 3, 3.5, 3.2, 1, 1, 1, 1, 1]), es])
    # best at epoch 2; epochs 3 and 4 do not improve -> stop at the end of epoch 4
    assert len(hist.history["loss"]) == 5 and hist.history["score"] == [5, 4, 3, 3.5, 3.2]
    assert es.stopped_epoch == 4 and es.best == 3 and es.best_epoch == 2


def test_early_stopping_min_delta_mode_max_baseline_and_start_from_epoch():
    # min_delta: 2.95 is not better than 3 by more than 0.1
    es = EarlyStopping(monitor="score", mode="min", patience=1, min_delta=0.1)
    hist = fit(mlp(), [Script("score", [3, 2.95, 1, 1, 1, 1, 1, 1, 1, 1]), es])
    assert len(hist.history["loss"]) == 2
    # mode max
    es = EarlyStopping(monitor="my_acc", mode="max", patience=0)
    hist = fit(mlp(), [Script("my_acc", [0.1, 0.2, 0.3, 0.25, 1, 1, 1, 1, 1, 1]), es])
    assert len(hist.history["loss"]) == 4
    # baseline: improvements that stay above it do not reset the patience counter
    # (an improving epoch never stops training; the first stall after 3 epochs does)
    values = [5, 4, 3, 3, 0.5, 0.4, 0.3, 0.2, 0.1, 0.1]
    es = EarlyStopping(monitor="score", mode="min", patience=3, baseline=1.0)
    hist = fit(mlp(), [Script("score", values), es])
    assert len(hist.history["loss"]) == 4 and es.best == 3
    es = EarlyStopping(monitor="score", mode="min", patience=3)
    hist = fit(mlp(), [Script("score", values), es])
    assert len(hist.history["loss"]) == 10
    # start_from_epoch: the first epochs are not looked at
    es = EarlyStopping(monitor="score", mode="min", patience=0, start_from_epoch=3)
    hist = fit(mlp(), [Script("score", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), es])
    assert len(hist.history["loss"]) == 5


def test_early_stopping_restores_exactly_the_best_epochs_weights():
    model = mlp()
    snaps = Snapshots()
    es = EarlyStopping(monitor="score", mode="min", patience=2, restore_best_weights=True)
    hist = fit(model, [Script("score", [5, 4, 3, 3.5, 3.2, 1, 1, 1, 1, 1]), snaps, es])
    assert len(hist.history["loss"]) == 5 and es.best_epoch == 2
    assert same_weights(model.get_weights(), snaps.weights[2])
    assert not same_weights(model.get_weights(), snaps.weights[-1])


def test_early_stopping_on_real_validation_loss_matches_the_rule():
    x, y = regression_data(n=60)
    x_val, y_val = regression_data(n=20, seed=1)
    model = mlp(optimizer=fastnn.optimizers.SGD(learning_rate=0.3))
    snaps = Snapshots()
    es = EarlyStopping(patience=1, restore_best_weights=True)
    hist = model.fit(
        x,
        y,
        epochs=40,
        batch_size=4,
        verbose=0,
        seed=3,
        validation_data=(x_val, y_val),
        callbacks=[snaps, es],
    )
    val = hist.history["val_loss"]
    # replay Keras' rule on the recorded values
    best, wait, stop = math.inf, 0, None
    for epoch, v in enumerate(val):
        wait += 1
        if v < best:
            best, wait, best_epoch = v, 0, epoch
        elif wait >= 1 and epoch > 0:
            stop = epoch
            break
    assert stop is not None and len(val) == stop + 1, val
    assert same_weights(model.get_weights(), snaps.weights[best_epoch])
    assert model.evaluate(x_val, y_val, verbose=0) == pytest.approx(val[best_epoch], rel=1e-5)


def test_missing_monitor_warns_and_is_skipped():
    model = mlp()
    with pytest.warns(RuntimeWarning, match="val_loss.*not available"):
        hist = fit(model, [EarlyStopping(patience=0)], epochs=3)
    assert len(hist.history["loss"]) == 3
    with pytest.warns(RuntimeWarning, match="not available"):
        fit(model, [ReduceLROnPlateau(patience=0)], epochs=2)
    assert model.optimizer.learning_rate == pytest.approx(0.01)


# ------------------------------------------------------------------ ModelCheckpoint
def test_checkpoint_writes_one_file_per_epoch_with_formatted_names(tmp_path):
    model = mlp()
    snaps = Snapshots()
    path = str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.4f}.fnn")
    hist = fit(model, [snaps, ModelCheckpoint(path)], epochs=3, validation_split=0.25)
    names = sorted(os.listdir(tmp_path))
    expected = [f"ckpt-{e + 1:02d}-{v:.4f}.fnn" for e, v in enumerate(hist.history["val_loss"])]
    assert names == expected
    for name, weights in zip(names, snaps.weights):
        loaded = fastnn.load_model(str(tmp_path / name))
        assert same_weights(loaded.get_weights(), weights)


def test_checkpoint_save_best_only_keeps_only_improvements(tmp_path):
    model = mlp()
    snaps = Snapshots()
    path = str(tmp_path / "best-{epoch:02d}.fnn")
    cb = ModelCheckpoint(path, monitor="score", mode="min", save_best_only=True)
    fit(model, [Script("score", [3, 2, 2.5, 1, 1.0, 4]), snaps, cb], epochs=6)
    assert sorted(os.listdir(tmp_path)) == ["best-01.fnn", "best-02.fnn", "best-04.fnn"]
    assert same_weights(
        fastnn.load_model(str(tmp_path / "best-04.fnn")).get_weights(), snaps.weights[3]
    )
    # a fixed name holds the best epoch's model; max mode for accuracy names
    for f in os.listdir(tmp_path):
        os.remove(tmp_path / f)
    model = mlp()
    snaps = Snapshots()
    cb = ModelCheckpoint(
        str(tmp_path / "best.fnn"), monitor="val_acc", mode="max", save_best_only=True
    )
    fit(model, [Script("val_acc", [0.1, 0.5, 0.4, 0.3]), snaps, cb], epochs=4)
    assert os.listdir(tmp_path) == ["best.fnn"]
    assert same_weights(
        fastnn.load_model(str(tmp_path / "best.fnn")).get_weights(), snaps.weights[1]
    )


def test_checkpoint_weights_only_and_a_missing_monitor(tmp_path):
    model = mlp()
    snaps = Snapshots()
    fit(
        model,
        [snaps, ModelCheckpoint(str(tmp_path / "w-{epoch}.fnn"), save_weights_only=True)],
        epochs=2,
    )
    other = mlp()
    other.build()
    other.load_weights(str(tmp_path / "w-1.fnn"))
    assert same_weights(other.get_weights(), snaps.weights[0])
    with pytest.warns(RuntimeWarning, match="not available"):
        fit(mlp(), [ModelCheckpoint(str(tmp_path / "never.fnn"), save_best_only=True)], epochs=1)
    assert not (tmp_path / "never.fnn").exists()
    with pytest.raises(KeyError, match="Failed to format"):
        fit(mlp(), [ModelCheckpoint(str(tmp_path / "{nope}.fnn"))], epochs=1)


# ------------------------------------------------------------------ ReduceLROnPlateau
class LrAtEpochBegin(Callback):
    def __init__(self):
        super().__init__()
        self.lrs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.lrs.append(self.model.optimizer.learning_rate)


def test_reduce_lr_on_plateau_reduces_at_the_right_epoch_with_cooldown_and_floor():
    model = mlp(optimizer=fastnn.optimizers.SGD(learning_rate=0.1))
    seen = LrAtEpochBegin()
    cb = ReduceLROnPlateau(
        monitor="score", mode="min", factor=0.5, patience=2, cooldown=1, min_lr=0.02
    )
    hist = fit(model, [seen, Script("score", [1.0] * 10), cb], epochs=10)
    # epoch 0 improves on inf; epochs 1, 2 do not -> reduced at the end of epoch 2.
    # As in Keras, the epoch that ends the cooldown already counts: 3, 4 -> reduced at
    # the end of 4; 5, 6 -> at 6, clipped to min_lr, which is never gone below
    lr = [0.1] * 3 + [0.05] * 2 + [0.025] * 2 + [0.02] * 3
    assert seen.lrs == pytest.approx(lr)
    assert hist.history["learning_rate"] == pytest.approx(lr)
    assert model.optimizer.learning_rate == pytest.approx(0.02)


def test_reduce_lr_on_plateau_improvement_resets_the_counter():
    model = mlp(optimizer=fastnn.optimizers.SGD(learning_rate=0.1))
    cb = ReduceLROnPlateau(monitor="score", mode="min", factor=0.1, patience=2, min_delta=0.01)
    # 0.995 is not an improvement by more than min_delta; 0.5 is
    hist = fit(model, [Script("score", [1.0, 0.995, 0.5, 0.6, 0.7, 0.4]), cb], epochs=6)
    assert hist.history["learning_rate"] == pytest.approx([0.1] * 5 + [0.01])


# ------------------------------------------------------------------ TerminateOnNaN
class NanAt(Callback):
    def __init__(self, epoch, batch):
        super().__init__()
        self.at, self.epoch, self.batches = (epoch, batch), None, []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append((self.epoch, batch))
        if (self.epoch, batch) == self.at:
            logs["loss"] = math.nan


def test_terminate_on_nan_stops_after_the_batch_with_a_non_finite_loss(capsys):
    model = mlp()
    nan = NanAt(1, 2)
    hist = fit(model, [nan, TerminateOnNaN()], epochs=5)  # 5 batches per epoch
    assert nan.batches[-1] == (1, 2) and len(nan.batches) == 5 + 3
    assert len(hist.history["loss"]) == 2
    assert "terminating training" in capsys.readouterr().out
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_terminate_on_nan_with_a_diverging_model_keeps_finite_weights():
    x, y = regression_data()
    model = mlp(optimizer=fastnn.optimizers.SGD(learning_rate=1e6))
    with pytest.warns(RuntimeWarning, match="non-finite"):
        hist = model.fit(
            x * 1e3,
            y * 1e3,
            epochs=20,
            batch_size=8,
            verbose=0,
            callbacks=[TerminateOnNaN()],
            seed=0,
        )
    assert len(hist.history["loss"]) < 20
    assert all(np.isfinite(w).all() for w in model.get_weights())


# ------------------------------------------------------------------ LearningRateScheduler
def test_scheduler_sets_the_learning_rate_of_every_epoch():
    model = mlp(optimizer=fastnn.optimizers.SGD(learning_rate=0.1))
    seen = LrAtEpochBegin()
    calls = []

    def schedule(epoch, lr):
        calls.append((epoch, lr))
        return 0.1 * 0.5**epoch

    hist = fit(model, [LearningRateScheduler(schedule), seen], epochs=4)
    assert seen.lrs == pytest.approx([0.1, 0.05, 0.025, 0.0125])
    assert hist.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025, 0.0125])
    assert [c[0] for c in calls] == [0, 1, 2, 3]
    assert [c[1] for c in calls] == pytest.approx([0.1, 0.1, 0.05, 0.025])  # the current lr
    # a one-argument schedule works too
    model = mlp()
    hist = fit(model, [LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))], epochs=3)
    assert hist.history["learning_rate"] == pytest.approx([0.01, 0.02, 0.03])


def test_scheduled_rates_are_the_ones_the_updates_use():
    x, y = regression_data(n=16)
    a = mlp(optimizer=fastnn.optimizers.SGD(learning_rate=0.1))
    a.build()
    b = mlp(optimizer=fastnn.optimizers.SGD(learning_rate=0.1))
    b.build()
    b.set_weights(a.get_weights())
    a.fit(
        x,
        y,
        epochs=3,
        batch_size=16,
        shuffle=False,
        verbose=0,
        callbacks=[LearningRateScheduler(lambda e, lr: [0.2, 0.05, 0.01][e])],
    )
    for lr in (0.2, 0.05, 0.01):
        b.optimizer.learning_rate = lr
        b.train_on_batch(x, y)
    assert same_weights(a.get_weights(), b.get_weights())


def test_scheduler_rejects_a_bad_rate():
    with pytest.raises(ValueError, match="finite float > 0"):
        fit(mlp(), [LearningRateScheduler(lambda e, lr: "fast")], epochs=1)
    with pytest.raises(ValueError, match="finite float > 0"):
        fit(mlp(), [LearningRateScheduler(lambda e, lr: math.nan)], epochs=1)


# ------------------------------------------------------------------ CSVLogger
def test_csv_logger_writes_a_header_and_one_row_per_epoch(tmp_path):
    path = tmp_path / "log.csv"
    model = mlp()
    hist = fit(model, [CSVLogger(str(path))], epochs=3, validation_split=0.25)
    rows = list(csv.reader(open(path, newline="")))
    assert rows[0] == ["epoch", "loss", "val_loss"]
    assert [int(r[0]) for r in rows[1:]] == [0, 1, 2]
    assert [float(r[1]) for r in rows[1:]] == pytest.approx(hist.history["loss"], rel=1e-12)
    assert [float(r[2]) for r in rows[1:]] == pytest.approx(hist.history["val_loss"], rel=1e-12)
    # a second fit overwrites, unless append=True (then no second header)
    fit(model, [CSVLogger(str(path))], epochs=2, validation_split=0.25)
    assert len(list(csv.reader(open(path, newline="")))) == 3
    fit(model, [CSVLogger(str(path), separator=";", append=True)], epochs=2, validation_split=0.25)
    lines = open(path).read().splitlines()
    assert len(lines) == 5 and lines[0] == "epoch,loss,val_loss" and ";" in lines[-1]
    assert lines[3].startswith("0;") and lines[4].startswith("1;")


def test_csv_logger_writes_na_for_a_missing_key_and_closes_the_file(tmp_path):
    path = tmp_path / "log.csv"
    logger = CSVLogger(str(path))
    fit(mlp(), [Script("extra", [1.5, None, 2.5]), logger], epochs=3)
    rows = list(csv.reader(open(path, newline="")))
    assert rows[0] == ["epoch", "extra", "loss"]
    assert [r[1] for r in rows[1:]] == ["1.5", "NA", "2.5"]
    assert logger.csv_file is None


def test_history_callback_is_a_plain_callback():
    assert isinstance(History(), Callback)
