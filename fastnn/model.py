"""Sequential: the Keras-shaped model.

Parameters, gradients and optimizer slots live in flat buffers (layer weights
are views), so one compiled Net call runs a whole training step: forward, fused
loss, backward, and the update of every parameter (DESIGN.md section 3).
"""
import math
import threading
import warnings

import numpy as np

from fastnn import _backend, _data, _random
from fastnn import losses as _losses
from fastnn import metrics as _metrics
from fastnn import optimizers as _optimizers
from fastnn.callbacks import CallbackList, History, ProgbarLogger
from fastnn.layers import InputLayer, Layer


class Sequential:
    """A linear stack of layers.

    >>> model = Sequential([Input(shape=(20,)), Dense(32, activation="relu"), Dense(1)])
    >>> model.compile(optimizer="adam", loss="mse")
    >>> history = model.fit(x, y, epochs=10, batch_size=32)

    dtype is the parameters' dtype (float32 default, float64 for gradient checks);
    inputs of other dtypes are cast once per call.
    """

    def __init__(self, layers=None, name=None, dtype="float32"):
        self.name = name or "sequential"
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"Sequential expected dtype float32 or float64. Received: dtype={dtype}")
        self._layers = []
        self.built = False
        self.optimizer = self.loss = None
        self._metric_names, self._metric_kinds = [], []
        self._net = None
        self._net_backend = None
        self._updater = None
        self.history = None
        self.stop_training = False
        self._seed = None
        self._lock = threading.Lock()
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ layers
    @property
    def layers(self):
        return [l for l in self._layers if not isinstance(l, InputLayer)]

    def add(self, layer):
        """Append a layer. Rebuilds lazily: weights are created at the next use."""
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expected a fastnn Layer. Received: {type(layer).__name__}")
        if isinstance(layer, InputLayer) and self._layers:
            raise ValueError("an Input/InputLayer can only be the first layer of a Sequential")
        if any(l.name == layer.name for l in self._layers):
            raise ValueError(f"layer names must be unique. Received a second {layer.name!r}")
        self._layers.append(layer)
        self._invalidate()

    def pop(self):
        layer = self._layers.pop()
        self._invalidate()
        return layer

    def _invalidate(self):
        self.built = False
        self._net = self._updater = None

    @property
    def input_shape(self):
        return self._layers[0].input_shape_arg if self._layers else None

    @property
    def output_shape(self):
        self._require_built("output_shape")
        return self.layers[-1].output_shape

    def _require_built(self, what):
        if not self.built:
            if self.input_shape is None:
                raise ValueError(f"{what} needs the model's input shape: give the first layer "
                                 f"input_shape=... (or start with Input(shape=...)), call "
                                 f"build(input_shape), or fit/predict on data first")
            self.build()

    def build(self, input_shape=None):
        """Create the weights for samples of `input_shape` (without the batch axis)."""
        if input_shape is not None:
            input_shape = tuple(int(s) for s in input_shape)
            if self.input_shape is not None and tuple(self.input_shape) != input_shape:
                # Keras accepts a leading batch dimension here
                if tuple(input_shape[1:]) == tuple(self.input_shape):
                    input_shape = input_shape[1:]
        shape = input_shape or self.input_shape
        if shape is None:
            raise ValueError("build expected input_shape. Received: None and no layer declares one")
        if not self.layers:
            raise ValueError("the model has no layers: add some before building it")
        specs = []
        for layer in self._layers:
            if isinstance(layer, InputLayer):
                layer.input_shape = layer.output_shape = tuple(shape)
                continue
            if layer.input_shape_arg is not None and tuple(layer.input_shape_arg) != tuple(shape):
                raise ValueError(f"{layer.name} expected input of shape {layer.input_shape_arg}. "
                                 f"Received: {tuple(shape)}")
            layer.input_shape = tuple(shape)
            layer.dtype_ = self.dtype
            specs.append((layer, layer.weight_specs(shape)))
            shape = layer.compute_output_shape(shape)
            layer.output_shape = tuple(shape)
        if self._seed is None:
            self._seed = _random.draw_seed()
        total = sum(int(np.prod(s)) for _, ws in specs for _, s, _ in ws)
        self._params = np.zeros(total, dtype=self.dtype)
        self._grads = np.zeros(total, dtype=self.dtype)
        rng = np.random.default_rng(self._seed)
        offset, segments = 0, [0]
        for layer, ws in specs:
            layer.weights, layer.grads = [], []
            for _, wshape, init in ws:
                size = int(np.prod(wshape))
                view = self._params[offset:offset + size].reshape(wshape)
                view[...] = init(wshape, self.dtype, rng)
                layer.weights.append(view)
                layer.grads.append(self._grads[offset:offset + size].reshape(wshape))
                offset += size
                segments.append(offset)
        self._segments = np.asarray(segments, dtype=np.int64)
        self.built = True
        self._net = self._updater = None

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, **kwargs):
        """Choose the optimizer, the loss and the metrics (Keras identifiers or objects)."""
        unsupported = {k for k, v in kwargs.items() if v is not None and k not in ("run_eagerly", "jit_compile", "steps_per_execution")}
        if unsupported:
            raise TypeError(f"compile got unsupported argument(s) {sorted(unsupported)}")
        if loss is None:
            raise ValueError("compile expected a loss, e.g. loss='mse'. Received: loss=None")
        self.optimizer = _optimizers.get(optimizer)
        self.loss = _losses.get(loss)
        if metrics is None:
            metrics = []
        elif isinstance(metrics, (str, dict)) or not hasattr(metrics, "__iter__"):
            metrics = [metrics]
        metrics = list(metrics)
        for m in metrics:  # unknown names fail here; 'accuracy' is resolved once the
            _metrics.resolve(m, self.loss)  # output width is known (binary for 1 unit)
        self._metrics_arg = metrics
        self._metric_names = [_metrics.resolve(m, self.loss)[0] for m in metrics]
        self._net = self._updater = None
        self.compiled = True

    def _require_compiled(self, what):
        if self.loss is None:
            raise ValueError(f"You must call compile(optimizer, loss) before {what}()")

    def _get_net(self):
        """The Net for the current backend (rebuilt after set_backend, keeping
        weights and optimizer state)."""
        backend = _backend.get_backend()
        if self._net is not None and self._net_backend == backend:
            return self._net
        kernels = lambda name: _backend.kernels(name, backend)  # noqa: E731
        last = self.layers[-1]
        # before compile (predict only) the Net gets a stand-in loss and no updater
        loss = self.loss if self.loss is not None else _losses.get("mse")
        kind, fused = loss.kernel_kind(last.activation_name)
        ops, seed = [], self._seed
        op_layers = [l for l in self.layers if l.make_ops.__func__ is not Layer.make_ops]
        for i, layer in enumerate(self.layers):
            fuse = fused and layer is op_layers[-1]
            seed = (seed * 6364136223846793005 + 1442695040888963407) % 2**64
            ops += layer.make_ops(kernels, bool(ops), fuse, seed)
        if not ops:
            raise ValueError("the model has no layer that computes anything (add a Dense layer)")
        old, updater = self._updater, None
        if self.optimizer is not None:
            updater = self.optimizer.build(self._params, self._grads, self._segments,
                                           kernels("optimizers"))
            if old is not None:
                updater.set_state(old.get_state())
        out_shape = last.output_shape
        steps = int(np.prod(out_shape[:-1])) if len(out_shape) > 1 else 1
        sparse = kind.startswith("sparse")
        resolved = [_metrics.resolve(m, loss, output_dim=out_shape[-1])
                    for m in getattr(self, "_metrics_arg", [])]
        self._metric_names = [r[0] for r in resolved]
        self._metric_kinds = [r[1] for r in resolved]
        self._net = kernels("network").Net(
            ops, kind, last.activation_name if fused else "linear", steps, updater,
            metrics=self._metric_kinds, target_cols=1 if sparse else None, dtype=self.dtype)
        self._updater, self._net_backend, self._sparse = updater, backend, sparse
        self._n_out = out_shape[-1]
        self._x_shape = tuple(self.layers[0].input_shape)
        self._y_shape = tuple(out_shape[:-1]) if sparse else tuple(out_shape)
        self._dropout_ops = [op for op in ops if hasattr(op, "counter")]
        return self._net

    # ------------------------------------------------------------------ data
    def _prepare(self, x, y=None, sample_weight=None, class_weight=None):
        if not self.built:
            x0 = np.asarray(x) if not isinstance(x, np.ndarray) else x
            if x0.ndim < 2:
                raise ValueError(f"expected x with a batch axis, shape (n, features...). "
                                 f"Received: x.shape={x0.shape}")
            self.build(x0.shape[1:] if self.input_shape is None else None)
        x = _data.as_float_array(x, "x", self.dtype)
        self._check_x(x)
        if y is None:
            return x, None, None
        out_shape = self.layers[-1].output_shape
        self._get_net()
        y = _data.prepare_targets(y, self.dtype, out_shape, self._sparse, out_shape[-1])
        _data.check_lengths(x=x, y=y, sample_weight=sample_weight)
        steps = int(np.prod(out_shape[:-1])) if len(out_shape) > 1 else 1
        labels = None
        if class_weight is not None:
            labels = y if self._sparse else (y.argmax(-1) if out_shape[-1] > 1 else (y > 0.5))
        w = _data.prepare_weights(sample_weight, class_weight, labels, len(x), self.dtype, steps)
        return x, y, w

    def _check_x(self, x):
        shape = self.layers[0].input_shape
        if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != tuple(shape):
            first = self.layers[0]
            if x.ndim == len(shape) + 1 and x.shape[1:-1] == tuple(shape[:-1]):
                raise ValueError(f"{type(first).__name__} expected input with last dimension "
                                 f"{shape[-1]}. Received: x.shape={x.shape}")
            raise ValueError(f"expected x of shape (n, {', '.join(map(str, shape))}). "
                             f"Received: x.shape={x.shape}")
        _data.check_finite(x, "x")

    # ------------------------------------------------------------------ steps
    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, return_dict=False):
        """One training step on one batch. Returns the loss (a list [loss, *metrics]
        when metrics were compiled, a dict with return_dict=True)."""
        self._require_compiled("train_on_batch")
        net = self._net
        if (net is not None and self._net_backend == _backend.get_backend()
                and sample_weight is None and class_weight is None and self._fast_ok(x, y)):
            # the common case (arrays already of the model dtype and shape) skips the
            # casting machinery: two C checks for NaN / labels, then one Net call
            _data.check_finite(x, "x")
            if self._sparse:
                _data.check_labels(y, self._n_out)
            else:
                _data.check_finite(y, "y")
            w = None
        else:
            x, y, w = self._prepare(x, y, sample_weight, class_weight)
            net = self._get_net()
        if not self._lock.acquire(blocking=False):
            raise RuntimeError("this model is already being trained or used by another thread; "
                               "train one model from one thread at a time")
        try:
            loss = net.train_step(x, y, w)
        finally:
            self._lock.release()
        if net.skipped:
            raise FloatingPointError(f"train_on_batch: the loss is {loss} (non-finite) or the "
                                     f"gradient norm is; the weights were not updated")
        return self._step_result(loss, net, len(x), w, return_dict)

    def _fast_ok(self, x, y):
        """x and y are C-contiguous arrays of the model dtype with the exact shapes
        the Net reads."""
        return (type(x) is np.ndarray and type(y) is np.ndarray and x.dtype == self.dtype
                and y.dtype == self.dtype and x.flags.c_contiguous and y.flags.c_contiguous
                and x.shape[1:] == self._x_shape and y.shape[1:] == self._y_shape
                and len(x) == len(y) and len(x) > 0)

    def test_on_batch(self, x, y, sample_weight=None, return_dict=False):
        """The loss (and metrics) on one batch, without updating the model."""
        self._require_compiled("test_on_batch")
        x, y, w = self._prepare(x, y, sample_weight)
        net = self._get_net()
        with self._lock:
            loss = net.test_step(x, y, w)
        return self._step_result(loss, net, len(x), w, return_dict)

    def _step_result(self, loss, net, n, w, return_dict):
        if not self._metric_names and not return_dict:
            return float(loss)
        denom = float(w.sum()) if w is not None else n * net.out_steps
        logs = {"loss": float(loss)}
        for name, s in zip(self._metric_names, net.metric_sums):
            logs[name] = float(s) / denom if denom else 0.0
        return logs if return_dict else list(logs.values())

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Model outputs for x, computed in batches of batch_size (default 32). With a
        softmax or sigmoid last layer these are probabilities (see predict_proba)."""
        if not self.built:
            self._prepare(x)
        x = _data.as_float_array(x, "x", self.dtype)
        self._check_x(x)
        net = self._get_net()
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size")
        out = np.empty((len(x),) + tuple(self.layers[-1].output_shape), dtype=self.dtype)
        with self._lock:
            for s in range(0, len(x), batch_size):
                net.predict(x[s:s + batch_size], out[s:s + batch_size])
        return out

    def predict_proba(self, x, batch_size=None, verbose="auto"):
        """Same as predict: a model ending in softmax (sigmoid) outputs class (positive
        class) probabilities; a model whose loss uses from_logits=True outputs logits."""
        return self.predict(x, batch_size=batch_size, verbose=verbose)

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=max(1, len(x)))

    def __call__(self, x):
        return self.predict(x, batch_size=max(1, len(x)))

    # ------------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_batch_size=None,
            validation_freq=1, seed=None):
        """Train for `epochs` passes over (x, y). Returns a History whose .history dict
        holds loss, metrics and val_* per epoch. verbose: 0 silent, 1 progress bar,
        2 one line per epoch ('auto' = 1)."""
        self._require_compiled("fit")
        if y is None:
            raise ValueError("fit expected targets y. Received: y=None")
        batch_size = _positive_int(batch_size if batch_size is not None else 32, "batch_size")
        epochs = _non_negative_int(epochs, "epochs")
        initial_epoch = _non_negative_int(initial_epoch, "initial_epoch")
        verbose = 1 if verbose == "auto" else verbose
        if verbose not in (0, 1, 2):
            raise ValueError(f"fit expected verbose in (0, 1, 2, 'auto'). Received: {verbose!r}")
        if not isinstance(validation_split, (int, float)) or not 0 <= validation_split < 1:
            raise ValueError(f"fit expected validation_split in [0, 1). Received: {validation_split!r}")
        x, y, w = self._prepare(x, y, sample_weight, class_weight)
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError("fit expected validation_data as (x_val, y_val) or "
                                 "(x_val, y_val, sample_weight_val)")
            val = self._prepare(*validation_data)
        elif validation_split:
            # Keras takes the last fraction of the samples, before shuffling
            n_val = int(len(x) * validation_split)
            if n_val == 0 or n_val == len(x):
                raise ValueError(f"validation_split={validation_split} leaves {n_val} validation "
                                 f"samples of {len(x)}; choose a fraction that leaves both sets "
                                 f"non-empty")
            steps_out = 1 if w is None else len(w) // len(x)
            val = (x[-n_val:], y[-n_val:], None if w is None else w[-n_val * steps_out:])
            x, y = x[:-n_val], y[:-n_val]
            w = None if w is None else w[:-n_val * steps_out]
        net = self._get_net()
        n = len(x)
        bs = min(batch_size, n)
        steps = steps_per_epoch or math.ceil(n / bs)
        if seed is not None:
            self._shuffle_rng = np.random.default_rng(seed)
        elif getattr(self, "_shuffle_rng", None) is None:
            self._shuffle_rng = np.random.default_rng([self._seed, 1])
        # gather buffers for shuffled batches: allocated once per fit
        xb = np.empty((bs,) + x.shape[1:], dtype=self.dtype)
        yb = np.empty((bs,) + y.shape[1:], dtype=self.dtype)
        w_per = None if w is None else len(w) // n
        wb = None if w is None else np.empty(bs * w_per, dtype=self.dtype)

        history = History()
        cbs = [history] + list(callbacks or [])
        if verbose:
            cbs.append(ProgbarLogger(verbose))
        params = {"epochs": epochs, "steps": steps, "verbose": verbose, "batch_size": bs}
        cb = CallbackList(cbs, self, params)
        self.history = history
        self.stop_training = False
        cb.on_train_begin()
        try:
            for epoch in range(initial_epoch, epochs):
                cb.on_epoch_begin(epoch)
                order = self._shuffle_rng.permutation(n) if shuffle else None
                logs = self._run_epoch(net, x, y, w, xb, yb, wb, w_per, order, bs, steps, cb, epoch)
                if val is not None and (epoch + 1) % validation_freq == 0 and not self.stop_training:
                    vlogs = self._evaluate_arrays(*val, validation_batch_size or bs)
                    logs.update({f"val_{k}": v for k, v in vlogs.items()})
                cb.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
        except KeyboardInterrupt:
            # every step is one compiled call: the weights are those of the last
            # completed step and the history holds every finished epoch
            warnings.warn("fit interrupted: the model keeps the weights of the last completed "
                          "step; model.history holds the finished epochs", RuntimeWarning)
            raise
        cb.on_train_end()
        return history

    def _run_epoch(self, net, x, y, w, xb, yb, wb, w_per, order, bs, steps, cb, epoch):
        n = len(x)
        total_loss, total_rows, total_w = 0.0, 0, 0.0
        msums = np.zeros(len(self._metric_names))
        logs = {}
        for b in range(steps):
            s = (b * bs) % n
            e = min(s + bs, n)
            m = e - s
            if order is None:
                xs, ys = x[s:e], y[s:e]
                ws = None if w is None else w[s * w_per:e * w_per]
            else:
                idx = order[s:e]
                xs = np.take(x, idx, axis=0, out=xb[:m])
                ys = np.take(y, idx, axis=0, out=yb[:m])
                ws = None
                if w is not None:
                    ws = np.take(w.reshape(n, w_per), idx, axis=0,
                                 out=wb[:m * w_per].reshape(m, w_per)).reshape(-1)
            loss = net.train_step(xs, ys, ws)
            if net.skipped:
                warnings.warn(f"fit stopped at epoch {epoch + 1}, batch {b + 1}: the loss is "
                              f"{loss} (non-finite) or the gradient norm is. The weights are "
                              f"those of the last finite step.", RuntimeWarning)
                self.stop_training = True
                break
            total_loss += loss * m
            total_rows += m
            msums += net.metric_sums
            total_w += float(ws.sum()) if ws is not None else m * net.out_steps
            logs = {"loss": total_loss / total_rows}
            for name, s_ in zip(self._metric_names, msums):
                logs[name] = float(s_) / total_w if total_w else 0.0
            cb.on_train_batch_end(b, logs)
            if self.stop_training:
                break
        return dict(logs)

    # ------------------------------------------------------------------ evaluate
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """Loss (and metrics) over (x, y): a float, a [loss, *metrics] list, or a dict."""
        self._require_compiled("evaluate")
        if y is None:
            raise ValueError("evaluate expected targets y. Received: y=None")
        x, y, w = self._prepare(x, y, sample_weight)
        logs = self._evaluate_arrays(x, y, w, _positive_int(batch_size or 32, "batch_size"))
        if verbose == 1:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        if return_dict:
            return logs
        return logs["loss"] if len(logs) == 1 else list(logs.values())

    def _evaluate_arrays(self, x, y, w, batch_size):
        net = self._get_net()
        n = len(x)
        w_per = 1 if w is None else len(w) // n
        total_loss, msums, total_w = 0.0, np.zeros(len(self._metric_names)), 0.0
        with self._lock:
            for s in range(0, n, batch_size):
                e = min(s + batch_size, n)
                ws = None if w is None else w[s * w_per:e * w_per]
                total_loss += net.test_step(x[s:e], y[s:e], ws) * (e - s)
                msums += net.metric_sums
                total_w += float(ws.sum()) if ws is not None else (e - s) * net.out_steps
        logs = {"loss": total_loss / n}
        for name, s_ in zip(self._metric_names, msums):
            logs[name] = float(s_) / total_w if total_w else 0.0
        return logs

    # ------------------------------------------------------------------ weights
    def count_params(self):
        self._require_built("count_params")
        return int(self._params.size)

    def get_weights(self):
        """Copies of every weight array, layer by layer (fastnn layout: Dense kernel
        (n_in, units) then bias)."""
        self._require_built("get_weights")
        return [w.copy() for layer in self.layers for w in layer.weights]

    def set_weights(self, weights):
        """Set every weight from a list shaped like get_weights(); shapes are checked
        before anything is written."""
        self._require_built("set_weights")
        targets = [w for layer in self.layers for w in layer.weights]
        weights = list(weights)
        if len(weights) != len(targets):
            raise ValueError(f"set_weights expected a list of {len(targets)} arrays. "
                             f"Received: {len(weights)}")
        arrays = []
        for i, (t, w) in enumerate(zip(targets, weights)):
            a = np.asarray(w)
            if a.shape != t.shape:
                raise ValueError(f"set_weights expected weights[{i}] of shape {t.shape}. "
                                 f"Received: {a.shape}")
            if a.dtype.kind not in "biuf" or not np.isfinite(a).all():
                raise ValueError(f"set_weights expected finite numbers in weights[{i}]")
            arrays.append(a)
        for t, a in zip(targets, arrays):
            t[...] = a

    # ------------------------------------------------------------------ summary
    def summary(self, print_fn=None):
        """Print each layer's output shape and parameter count, and the totals."""
        self._require_built("summary")
        print_fn = print_fn or print
        rows = [("Layer (type)", "Output Shape", "Param #")]
        for layer in self.layers:
            rows.append((f"{layer.name} ({type(layer).__name__})",
                         str((None,) + tuple(layer.output_shape)), f"{layer.count_params():,}"))
        widths = [max(len(r[i]) for r in rows) + 2 for i in range(3)]
        line = "-" * sum(widths)
        print_fn(f'Model: "{self.name}"')
        print_fn(line)
        for i, r in enumerate(rows):
            print_fn(r[0].ljust(widths[0]) + r[1].ljust(widths[1]) + r[2].rjust(widths[2]))
            print_fn("=" * sum(widths) if i == 0 else line)
        total = self.count_params()
        print_fn(f"Total params: {total:,} ({total * self.dtype.itemsize:,} bytes)")
        print_fn(f"Trainable params: {total:,}")
        print_fn("Non-trainable params: 0")

    def __repr__(self):
        return f"<Sequential name={self.name} layers={[l.name for l in self.layers]}>"


def _positive_int(v, name):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
        raise ValueError(f"expected {name} as a positive int. Received: {name}={v!r}")
    return int(v)


def _non_negative_int(v, name):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
        raise ValueError(f"expected {name} as a non-negative int. Received: {name}={v!r}")
    return int(v)
