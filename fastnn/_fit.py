"""The epoch loop of Sequential.fit and batched evaluation (private helpers of
fastnn.model): every argument is checked before the model changes, then each batch is one
compiled train step, with the callbacks around it."""

import math
import numbers
import warnings

import numpy as np

from fastnn import _ownership
from fastnn.backend.contract.args import integer
from fastnn.callbacks import Callback, CallbackList, History, ProgbarLogger
from fastnn.preprocessing.timeseries import TimeseriesDataset

# Keras 1 / 2 spellings that Keras 3 no longer takes, and what replaced them
_LEGACY = {
    "nb_epoch": "epochs",
    "nb_val_samples": "validation_steps",
    "samples_per_epoch": ("steps_per_epoch"),
}


def refuse_legacy(func, kwargs):
    """The TypeError Keras 3 raises for an unknown keyword (it has no **kwargs), naming
    the replacement of a legacy spelling."""
    for key in kwargs:
        hint = f" (Keras 1 spelling; use `{_LEGACY[key]}`)" if key in _LEGACY else ""
        raise TypeError(f"{func}() got an unexpected keyword argument {key!r}{hint}")


def positive_int(v, name):
    return integer(None, name, v, 1)


def non_negative_int(v, name):
    return integer(None, name, v, 0)


def check_verbose(verbose, func):
    """0, 1 or 2 ('auto' is 1); bools count as ints, as in Keras."""
    if verbose == "auto":
        return 1
    if isinstance(verbose, (bool, np.bool_)):
        return int(verbose)
    if not isinstance(verbose, (int, np.integer)) or verbose not in (0, 1, 2):
        raise ValueError(
            f"{func} expected verbose in (0, 1, 2, 'auto'). Received: verbose={verbose!r}"
        )
    return int(verbose)


def derive_seed(seed, stream):
    """An independent 63-bit seed for `stream` (0: initial weights, 1+: dropout
    layers) from a user seed."""
    state = np.random.SeedSequence([int(seed), int(stream)]).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def unpack_dataset(x, y, batch_size, func):
    """(x, y, batch_size, True) of the windows of a TimeseriesDataset given as x (its
    batch size and order), else the arguments as they are and False."""
    if not isinstance(x, TimeseriesDataset):
        return x, y, batch_size, False
    if y is not None:
        raise ValueError(
            f"{func} expected no y with a dataset as x (its batches hold the targets). "
            f"Received: y of type {type(y).__name__}"
        )
    if batch_size is not None:
        raise ValueError(
            f"{func} expected no batch_size with a dataset as x (it is batched already). "
            f"Received: batch_size={batch_size!r}"
        )
    if x.batch_size is None:
        raise ValueError(f"{func} expected a batched dataset. Received: batch_size=None")
    xs, ys = x.arrays()
    return xs, ys, x.batch_size, True


def fit(
    model,
    x,
    y,
    batch_size,
    epochs,
    verbose,
    callbacks,
    validation_split,
    validation_data,
    shuffle,
    class_weight,
    sample_weight,
    initial_epoch,
    steps_per_epoch,
    validation_batch_size,
    validation_freq,
    seed,
):
    """Sequential.fit: check every argument and array, then run the epochs."""
    model._require_compiled("fit")
    x, y, batch_size, from_dataset = unpack_dataset(x, y, batch_size, "fit")
    if from_dataset:
        shuffle = False  # as Keras: a dataset's batches come in its own order
    if isinstance(validation_data, TimeseriesDataset):
        validation_data = validation_data.arrays()
    if y is None:
        raise ValueError("fit expected targets y. Received: y=None")
    batch_size = positive_int(batch_size if batch_size is not None else 32, "batch_size")
    epochs = non_negative_int(epochs, "epochs")
    initial_epoch = non_negative_int(initial_epoch, "initial_epoch")
    verbose = check_verbose(verbose, "fit")
    if (
        isinstance(validation_split, bool)
        or not isinstance(validation_split, numbers.Real)
        or not 0 <= validation_split < 1
    ):
        raise ValueError(
            f"fit expected validation_split as a float in [0, 1). "
            f"Received: validation_split={validation_split!r}"
        )
    if steps_per_epoch is not None:
        steps_per_epoch = positive_int(steps_per_epoch, "steps_per_epoch")
    if validation_batch_size is not None:
        validation_batch_size = positive_int(validation_batch_size, "validation_batch_size")
    validation_freq = positive_int(validation_freq, "validation_freq")
    if not isinstance(shuffle, (bool, np.bool_)):
        raise ValueError(f"fit expected shuffle as True or False. Received: shuffle={shuffle!r}")
    if seed is not None:
        seed = non_negative_int(seed, "seed")
    if callbacks is None:
        callbacks = []
    elif isinstance(callbacks, Callback) or not isinstance(callbacks, (list, tuple)):
        raise TypeError(
            f"fit expected callbacks as a list of Callback objects. "
            f"Received: {type(callbacks).__name__}"
        )
    callbacks = list(callbacks)
    for i, c in enumerate(callbacks):
        if not isinstance(c, Callback):
            raise TypeError(
                f"fit expected callbacks as a list of fastnn.callbacks.Callback "
                f"objects. Received: callbacks[{i}] of type {type(c).__name__}"
            )
    x, y, w = model._prepare(x, y, sample_weight, class_weight)
    in_shape = x.shape[1:]
    val = None
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError(
                "fit expected validation_data as (x_val, y_val) or "
                "(x_val, y_val, sample_weight_val). Received: "
                f"{type(validation_data).__name__}"
                + (
                    f" of length {len(validation_data)}"
                    if isinstance(validation_data, (tuple, list))
                    else ""
                )
            )
        try:
            val = model._prepare(*validation_data, input_shape=in_shape)
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"validation_data: {exc}") from None
    elif validation_split:
        # Keras takes the last fraction of the samples, before shuffling
        n_val = int(len(x) * validation_split)
        if n_val == 0 or n_val == len(x):
            raise ValueError(
                f"fit expected a validation_split that leaves both sets "
                f"non-empty. Received: validation_split={validation_split} of "
                f"{len(x)} samples gives {n_val} validation samples"
            )
        steps_out = 1 if w is None else len(w) // len(x)
        val = (x[-n_val:], y[-n_val:], None if w is None else w[-n_val * steps_out :])
        x, y = x[:-n_val], y[:-n_val]
        w = None if w is None else w[: -n_val * steps_out]
    _check_stateful_batches(model, len(x), batch_size)

    # every check passed: from here on the model changes
    with _ownership.training(model):
        return _fit_checked(
            model,
            x,
            y,
            w,
            val,
            in_shape,
            batch_size,
            epochs,
            initial_epoch,
            verbose,
            callbacks,
            shuffle,
            steps_per_epoch,
            validation_batch_size,
            validation_freq,
            seed,
        )


def _check_stateful_batches(model, n, batch_size):
    # a stateful layer carries its state from one batch to the next row by row: a last
    # batch of another size would fail mid-training, so it is refused before the first
    stateful = [
        l.name
        for layer in model.layers
        for l in (layer, getattr(layer, "forward_layer", None))
        if getattr(l, "stateful", False)
    ]
    bs = min(batch_size, n)
    if stateful and n % bs:
        raise ValueError(
            f"fit expected the number of samples to be a multiple of batch_size with the "
            f"stateful layer {stateful[0]!r} (each batch continues the last one's state "
            f"row by row). Received: {n} samples in batches of {bs}, the last of {n % bs}"
        )


def guarded_step(model, net, x, y, w):
    """net.train_step; a step it refuses (non-finite) leaves the dropout streams where
    they were, as it leaves the weights: the next step draws the masks this one drew."""
    drops = model._dropout_ops
    if not drops:
        return net.train_step(x, y, w)
    counters = [op.counter for _, op in drops]
    loss = net.train_step(x, y, w)
    if net.skipped:
        for (_, op), c in zip(drops, counters):
            op.counter = c
    return loss


def skip_reason(loss):
    """Why a step was refused, without calling a finite loss non-finite."""
    if math.isfinite(loss):
        return f"the gradient norm is non-finite (the loss was {loss})"
    return f"the loss is {loss} (non-finite)"


def _fit_checked(
    model,
    x,
    y,
    w,
    val,
    in_shape,
    batch_size,
    epochs,
    initial_epoch,
    verbose,
    callbacks,
    shuffle,
    steps_per_epoch,
    validation_batch_size,
    validation_freq,
    seed,
):
    with model._lock:
        if seed is not None and not model.built:
            model._seed = derive_seed(seed, 0)
        model._ensure_built(in_shape)
        net = model._get_net()
    if seed is not None:
        model._shuffle_rng = np.random.default_rng(seed)
        for i, (layer, op) in enumerate(model._dropout_ops):
            if getattr(layer, "seed", None) is None:
                op.seed, op.counter = derive_seed(seed, 1 + i), 0
    elif model._shuffle_rng is None:
        model._shuffle_rng = np.random.default_rng([model._seed, 1])
    n = len(x)
    bs = min(batch_size, n)
    num_batches = math.ceil(n / bs)
    steps = steps_per_epoch or num_batches
    # gather buffers for shuffled batches: allocated once per fit
    xb = np.empty((bs,) + x.shape[1:], dtype=model.dtype)
    yb = np.empty((bs,) + y.shape[1:], dtype=model.dtype)
    w_per = None if w is None else len(w) // n
    wb = None if w is None else np.empty(bs * w_per, dtype=model.dtype)

    history = History()
    cbs = [history] + callbacks
    if verbose:
        cbs.append(ProgbarLogger(verbose))
    params = {"epochs": epochs, "steps": steps, "verbose": verbose, "batch_size": bs}
    cb = CallbackList(cbs, model, params)
    model.history = history
    model.stop_training = False
    try:
        logs = {}
        cb.on_train_begin()
        # the pass through the data in progress, as Keras' epoch iterator keeps it: with
        # steps_per_epoch, epochs go on where the last one stopped, and the pass ends
        # (cutting its epoch short, with Keras' warning) when the data runs out
        order, pos = None, None
        for epoch in range(initial_epoch, epochs):
            cb.on_epoch_begin(epoch)
            if pos is None or steps_per_epoch is None:
                order, pos = (model._shuffle_rng.permutation(n) if shuffle else None), 0
            logs, pos = _run_epoch(
                model, net, (x, y, w, xb, yb, wb, w_per), order, pos, bs, steps, cb, epoch
            )
            if pos >= num_batches:
                pos = None
            if val is not None and (epoch + 1) % validation_freq == 0:
                vlogs = evaluate_arrays(model, *val, validation_batch_size or bs)
                logs.update({f"val_{k}": v for k, v in vlogs.items()})
            cb.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
        cb.on_train_end(dict(logs))  # the last epoch's logs, as Keras passes them
    except KeyboardInterrupt:
        # every step is one compiled call: the weights are those of the last
        # completed step and the history holds every finished epoch
        warnings.warn(
            "fit interrupted: the model keeps the weights of the last completed "
            "step; model.history holds the finished epochs",
            RuntimeWarning,
            stacklevel=4,  # the user's fit() call
        )
        raise
    return history


def _run_epoch(model, net, data, order, pos, bs, steps, cb, epoch):
    # `steps` batches from batch `pos` of the pass (order: its permutation, or None);
    # returns the epoch's logs and the position after it
    x, y, w, xb, yb, wb, w_per = data
    n = len(x)
    total_loss, total_rows, total_w = 0.0, 0, 0.0
    msums = np.zeros(len(model._metric_names))
    logs = {}
    for b in range(steps):
        if pos * bs >= n:
            warnings.warn(
                "Your input ran out of data; interrupting training. Make sure that your "
                "dataset or generator can generate at least `steps_per_epoch * epochs` "
                "batches.",
                UserWarning,
                stacklevel=4,
            )
            break
        s = pos * bs
        e = min(s + bs, n)
        pos += 1
        m = e - s
        cb.on_train_batch_begin(b)
        if order is None:
            xs, ys = x[s:e], y[s:e]
            ws = None if w is None else w[s * w_per : e * w_per]
        else:
            idx = order[s:e]
            xs = np.take(x, idx, axis=0, out=xb[:m])
            ys = np.take(y, idx, axis=0, out=yb[:m])
            ws = None
            if w is not None:
                ws = np.take(
                    w.reshape(n, w_per), idx, axis=0, out=wb[: m * w_per].reshape(m, w_per)
                ).reshape(-1)
        with model._lock:  # per step: other threads' predicts wait for it, not the fit
            loss = guarded_step(model, net, xs, ys, ws)
        if net.skipped:
            warnings.warn(
                f"fit stopped at epoch {epoch + 1}, batch {b + 1}: {skip_reason(loss)}. "
                f"The weights are those of the last finite step.",
                RuntimeWarning,
                stacklevel=3,
            )
            model.stop_training = True
            if not logs:
                # no finite step in this epoch: its history entry shows the loss that
                # stopped training (metrics undefined), keeping every key aligned
                logs = {"loss": float(loss)}
                logs.update({name: math.nan for name in model._metric_names})
            break
        total_loss += loss * m
        total_rows += m
        msums += net.metric_sums
        total_w += net.metric_weight
        logs = {"loss": total_loss / total_rows}
        for name, s_ in zip(model._metric_names, msums):
            logs[name] = float(s_) / total_w if total_w else 0.0
        cb.on_train_batch_end(b, logs)
        if model.stop_training:
            break
    return dict(logs), pos


def evaluate_arrays(model, x, y, w, batch_size):
    """Loss and metrics over (x, y) in batches of batch_size, as a logs dict."""
    net = model._get_net()
    n = len(x)
    w_per = 1 if w is None else len(w) // n
    total_loss, msums, total_w = 0.0, np.zeros(len(model._metric_names)), 0.0
    with model._lock:
        for s in range(0, n, batch_size):
            e = min(s + batch_size, n)
            ws = None if w is None else w[s * w_per : e * w_per]
            total_loss += net.test_step(x[s:e], y[s:e], ws) * (e - s)
            msums += net.metric_sums
            total_w += net.metric_weight
    logs = {"loss": total_loss / n}
    for name, s_ in zip(model._metric_names, msums):
        logs[name] = float(s_) / total_w if total_w else 0.0
    return logs
