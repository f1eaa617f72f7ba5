"""Sequential: the Keras-shaped model.

Parameters, gradients and optimizer slots live in flat buffers (layer weights
are views), so one compiled Net call runs a whole training step: forward, fused
loss, backward, and the update of every parameter (docs/architecture.md, "How a training step runs").
"""
import math
import numbers
import threading
import warnings

import numpy as np

from fastnn import _data, _random
from fastnn import backend as _backend
from fastnn import losses as _losses
from fastnn import metrics as _metrics
from fastnn import optimizers as _optimizers
from fastnn import saving
from fastnn.callbacks import Callback, CallbackList, History, ProgbarLogger
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
        self.compiled = False
        self.optimizer = self.loss = None
        self._metrics_arg = []
        self._metric_names, self._metric_kinds = [], []
        self._net = None
        self._net_backend = None
        self._updater = None
        self._label_buf = None  # integer labels as floats, reused by train_on_batch
        self._dropout_ops = []
        self._pending_dropout = None
        self._shuffle_rng = None
        self.history = None
        self.stop_training = False
        self._seed = None
        # re-entrant: a callback may call predict/evaluate from inside fit
        self._lock = threading.RLock()
        if layers is None:
            layers = []
        elif isinstance(layers, Layer) or not isinstance(layers, (list, tuple)):
            raise TypeError(f"Sequential expected layers as a list of Layer objects. "
                            f"Received: {type(layers).__name__}")
        for layer in layers:
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
        """Remove and return the last layer (the others keep their weights)."""
        if not self.layers:
            raise ValueError("pop expected a model with at least one layer. Received: a model "
                             "with no layers")
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

    def _layer_shapes(self, shape):
        """[(layer, input_shape, output_shape)] of the computing layers for samples
        of `shape`, checked against every declared input shape. Touches nothing."""
        if not self.layers:
            raise ValueError("the model has no layers: add some before building it")
        shapes = []
        shape = tuple(shape)
        for layer in self.layers:
            if layer.input_shape_arg is not None and tuple(layer.input_shape_arg) != shape:
                raise ValueError(f"{layer.name} expected input of shape {layer.input_shape_arg}. "
                                 f"Received: {shape}")
            out = tuple(layer.compute_output_shape(shape))
            shapes.append((layer, shape, out))
            shape = out
        return shapes

    def build(self, input_shape=None):
        """Create the weights for samples of `input_shape` (without the batch axis).
        Layers that already hold weights of the right shapes (a model rebuilt after
        add/pop) keep their values; the others are initialised."""
        if input_shape is not None:
            given = input_shape
            try:
                input_shape = tuple(input_shape)
                # Keras passes the batch dimension first, usually as None
                if input_shape and input_shape[0] is None:
                    input_shape = input_shape[1:]
                input_shape = tuple(int(s) for s in input_shape)
            except (TypeError, ValueError):
                raise TypeError(f"build expected input_shape as a tuple of ints (the batch "
                                f"dimension first may be None). Received: "
                                f"input_shape={given!r}") from None
            if not input_shape or any(s <= 0 for s in input_shape):
                raise ValueError(f"build expected input_shape of positive sizes. "
                                 f"Received: input_shape={given!r}")
            if self.input_shape is not None and tuple(self.input_shape) != input_shape:
                # Keras accepts a leading batch dimension here
                if tuple(input_shape[1:]) == tuple(self.input_shape):
                    input_shape = input_shape[1:]
        shape = input_shape or self.input_shape
        if shape is None:
            raise ValueError("build expected input_shape. Received: None and no layer declares one")
        shapes = self._layer_shapes(shape)     # raises before anything is changed
        specs = [(layer, layer.weight_specs(ins), ins, outs) for layer, ins, outs in shapes]
        if self._seed is None:
            self._seed = _random.draw_seed()
        total = sum(int(np.prod(s)) for _, ws, _, _ in specs for _, s, _ in ws)
        params = np.zeros(total, dtype=self.dtype)
        grads = np.zeros(total, dtype=self.dtype)
        rng = np.random.default_rng(self._seed)
        offset, segments = 0, [0]
        new_views = []
        for layer, ws, _, _ in specs:
            old = list(layer.weights)
            keep = (len(old) == len(ws)
                    and all(tuple(o.shape) == tuple(s) for o, (_, s, _) in zip(old, ws)))
            weights, layer_grads = [], []
            for k, (_, wshape, init) in enumerate(ws):
                size = int(np.prod(wshape))
                view = params[offset:offset + size].reshape(wshape)
                view[...] = old[k] if keep else init(wshape, self.dtype, rng)
                weights.append(view)
                layer_grads.append(grads[offset:offset + size].reshape(wshape))
                offset += size
                segments.append(offset)
            new_views.append((weights, layer_grads))
        # everything is computed: now install it
        for layer in self._layers:
            if isinstance(layer, InputLayer):
                layer.input_shape = layer.output_shape = tuple(shape)
        for (layer, _, ins, outs), (weights, layer_grads) in zip(specs, new_views):
            layer.input_shape, layer.output_shape = ins, outs
            layer.dtype_ = self.dtype
            layer.weights, layer.grads = weights, layer_grads
        self._params, self._grads = params, grads
        self._segments = np.asarray(segments, dtype=np.int64)
        self.built = True
        self._net = self._updater = None

    # ------------------------------------------------------------------ compile
    # Keras compile arguments fastnn accepts and ignores, and those it does not support
    _COMPILE_IGNORED = ("run_eagerly", "jit_compile", "steps_per_execution", "auto_scale_loss")
    _COMPILE_UNSUPPORTED = ("loss_weights", "weighted_metrics")

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, **kwargs):
        """Choose the optimizer, the loss and the metrics (Keras identifiers or objects).
        Every argument is resolved before the model changes: a failing compile leaves
        the previous optimizer, loss and metrics in place."""
        unknown = sorted(k for k in kwargs
                         if k not in self._COMPILE_IGNORED + self._COMPILE_UNSUPPORTED)
        if unknown:
            raise TypeError(f"compile got unexpected keyword argument(s) {unknown}. Expected "
                            f"optimizer, loss, metrics (and the ignored Keras arguments "
                            f"{list(self._COMPILE_IGNORED)})")
        unsupported = sorted(k for k in self._COMPILE_UNSUPPORTED if kwargs.get(k) is not None)
        if unsupported:
            raise TypeError(f"compile argument(s) {unsupported} are not supported by fastnn "
                            f"(single-output models only). Received: "
                            + ", ".join(f"{k}={kwargs[k]!r}" for k in unsupported))
        if loss is None:
            raise ValueError("compile expected a loss, e.g. loss='mse'. Received: loss=None")
        new_optimizer = _optimizers.get(optimizer)
        new_loss = _losses.get(loss)
        if metrics is None:
            metrics = []
        elif isinstance(metrics, (str, dict)) or not hasattr(metrics, "__iter__"):
            metrics = [metrics]
        metrics = list(metrics)
        # unknown names fail here; 'accuracy' is resolved again once the output width
        # is known (binary accuracy for one output unit)
        names = [_metrics.resolve(m, new_loss)[0] for m in metrics]
        self.optimizer, self.loss = new_optimizer, new_loss
        self._metrics_arg = metrics
        self._metric_names = names
        self._net = self._updater = None
        self.compiled = True

    def _require_compiled(self, what):
        if self.loss is None:
            raise ValueError(f"You must call compile(optimizer, loss) before {what}(). "
                             f"Received: a model that was not compiled")

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
        if not op_layers:
            raise ValueError("the model has no layer that computes anything (add a Dense layer)")
        # dropout streams continue where the previous Net left them (same seed,
        # same counter), so a backend switch or a recompile never repeats masks
        previous = {id(layer): (op.seed, op.counter) for layer, op in self._dropout_ops}
        pending = getattr(self, "_pending_dropout", None) or {}
        dropout_ops = []
        for i, layer in enumerate(self.layers):
            fuse = fused and layer is op_layers[-1]
            seed = (seed * 6364136223846793005 + 1442695040888963407) % 2**64
            layer_ops = layer.make_ops(kernels, bool(ops), fuse, seed)
            for op in layer_ops:
                if hasattr(op, "counter"):
                    if id(layer) in previous:
                        op.seed, op.counter = previous[id(layer)]
                    elif layer.name in pending:
                        op.seed, op.counter = pending[layer.name]
                    dropout_ops.append((layer, op))
            ops += layer_ops
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
        self._dropout_ops = dropout_ops
        self._pending_dropout = None
        return self._net

    # ------------------------------------------------------------------ config
    def get_config(self):
        """The architecture as plain data, as Keras' Sequential.get_config(): name,
        dtype, each layer as {"class_name", "config"} (an Input first if the model has
        one) and, once built, build_input_shape (batch axis first, None). No weights:
        from_config() makes a model of the same shape with new ones."""
        config = {"name": self.name, "dtype": self.dtype.name,
                  "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                             for layer in self._layers]}
        if self.built:
            config["build_input_shape"] = [None, *self.layers[0].input_shape]
        return config

    @classmethod
    def from_config(cls, config):
        """A new model from get_config() output (built when it holds build_input_shape).
        Layer classes come from fastnn's registry (fastnn.layers.LAYER_CLASSES): no code
        named in the config runs."""
        from fastnn.layers import LAYER_CLASSES

        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError(f"Sequential.from_config expected a dict with a list of layers "
                             f"(get_config()). Received: {config!r:.200}")
        layers = []
        for spec in config["layers"]:
            if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
                raise ValueError(f"Sequential.from_config expected each layer as "
                                 f"{{'class_name': ..., 'config': {{...}}}}. Received: {spec!r:.200}")
            layer_cls = LAYER_CLASSES.get(spec.get("class_name"))
            if layer_cls is None:
                raise ValueError(f"Sequential.from_config: unknown layer class "
                                 f"{spec.get('class_name')!r}; known: {sorted(LAYER_CLASSES)}")
            layers.append(layer_cls.from_config(dict(spec["config"])))
        model = cls(layers, name=config.get("name"), dtype=config.get("dtype", "float32"))
        if config.get("build_input_shape") is not None:
            model.build(tuple(config["build_input_shape"]))
        return model

    def get_compile_config(self):
        """The compile() arguments as plain data ({"optimizer", "loss", "metrics"}, each
        serialised), or None before compile(); compile_from_config() takes it back."""
        if not self.compiled:
            return None
        return {"optimizer": _optimizers.serialize(self.optimizer),
                "loss": _losses.serialize(self.loss), "metrics": list(self._metrics_arg)}

    def compile_from_config(self, config):
        """compile() with the arguments get_compile_config() returned."""
        if not isinstance(config, dict) or not {"optimizer", "loss"} <= set(config):
            raise ValueError(f"compile_from_config expected a dict with optimizer, loss and "
                             f"metrics (get_compile_config()). Received: {config!r:.200}")
        self.compile(optimizer=_optimizers.get(config["optimizer"]),
                     loss=_losses.get(config["loss"]), metrics=config.get("metrics") or [])

    # ------------------------------------------------------------------ random state
    def get_random_state(self):
        """The model's random streams as JSON-compatible data: its seed (initial
        weights, derived dropout seeds), the shuffling generator's state and each
        dropout layer's (seed, counter). Saved with the model so training resumes
        with the same shuffles and masks."""
        dropout = {layer.name: [int(op.seed), int(op.counter)] for layer, op in self._dropout_ops}
        if not dropout and getattr(self, "_pending_dropout", None):
            dropout = {k: [int(a), int(b)] for k, (a, b) in self._pending_dropout.items()}
        rng = self._shuffle_rng
        return {"seed": self._seed,
                "shuffle": None if rng is None else rng.bit_generator.state,
                "dropout": dropout}

    def set_random_state(self, state):
        """Restore what get_random_state() returned (checked first; ValueError if
        malformed). Before build() it also fixes the seed the weights are drawn from."""
        if not isinstance(state, dict):
            raise ValueError(f"random state expected a dict. Received: {type(state).__name__}")
        seed = state.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ValueError(f"random state expected seed as a non-negative int or None. "
                             f"Received: {seed!r}")
        rng = None
        if state.get("shuffle") is not None:
            shuffle = state["shuffle"]
            if not isinstance(shuffle, dict) or shuffle.get("bit_generator") != "PCG64":
                raise ValueError("random state expected a PCG64 shuffle state")
            rng = np.random.default_rng()
            rng.bit_generator.state = shuffle
        dropout = {}
        for name, pair in (state.get("dropout") or {}).items():
            if (not isinstance(pair, (list, tuple)) or len(pair) != 2
                    or not all(isinstance(v, int) and 0 <= v < 2**64 for v in pair)):
                raise ValueError(f"random state expected [seed, counter] for dropout layer "
                                 f"{name!r}. Received: {pair!r}")
            dropout[name] = (int(pair[0]), int(pair[1]))
        self._seed = seed
        self._shuffle_rng = rng
        for layer, op in self._dropout_ops:
            if layer.name in dropout:
                op.seed, op.counter = dropout[layer.name]
        self._pending_dropout = dropout

    # ------------------------------------------------------------------ data
    def _input_shape_for(self, x):
        """The sample shape the model reads: its built or declared input shape, else
        (a model still to be built on its first data) the shape of x's samples."""
        if self.built:
            return tuple(self._layers[0].input_shape)
        if self.input_shape is not None:
            return tuple(self.input_shape)
        if x.ndim < 2:
            raise ValueError(f"Sequential expected x with a batch axis, shape (n, features...). "
                             f"Received: x.shape={x.shape}")
        return tuple(x.shape[1:])

    def _output_shape_for(self, input_shape):
        if self.built:
            return tuple(self.layers[-1].output_shape)
        return self._layer_shapes(input_shape)[-1][2]

    def _targets_sparse(self):
        kind, _ = self.loss.kernel_kind(self.layers[-1].activation_name)
        return kind.startswith("sparse")

    def _prepare(self, x, y=None, sample_weight=None, class_weight=None, input_shape=None):
        """Validated arrays (x, y, w) of the model dtype: x checked against the input
        shape (input_shape, else the model's), y against the output shape, the weights
        per output row. Checks only: neither builds nor changes the model."""
        x = _data.as_float_array(x, "x", self.dtype)
        shape = input_shape if input_shape is not None else self._input_shape_for(x)
        self._check_x(x, shape)
        if y is None:
            return x, None, None
        out_shape = self._output_shape_for(shape)
        sparse = self._targets_sparse()
        y = _data.prepare_targets(y, self.dtype, out_shape, sparse, out_shape[-1])
        _data.check_lengths(x=x, y=y)
        steps = int(np.prod(out_shape[:-1])) if len(out_shape) > 1 else 1
        labels = None
        if class_weight is not None:
            labels = y if sparse else (y.argmax(-1) if out_shape[-1] > 1 else (y > 0.5))
        w = _data.prepare_weights(sample_weight, class_weight, labels, len(x), self.dtype, steps)
        return x, y, w

    def _ensure_built(self, input_shape):
        """Build on the first data (after every check passed)."""
        if not self.built:
            self.build(input_shape if self.input_shape is None else None)

    def _check_x(self, x, shape):
        shape = tuple(shape)
        if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != shape:
            first = type(self.layers[0]).__name__ if self.layers else "Sequential"
            if x.ndim == len(shape) + 1 and x.shape[1:-1] == shape[:-1]:
                raise ValueError(f"{first} expected input with last dimension {shape[-1]}. "
                                 f"Received: x.shape={x.shape}")
            want = "(n, " + ", ".join(map(str, shape)) + ")"
            raise ValueError(f"{first} expected input of shape {want}: {len(shape) + 1} "
                             f"dimensions, the batch axis first. Received: x.shape={x.shape}")
        _data.check_finite(x, "x")

    # ------------------------------------------------------------------ steps
    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, return_dict=False):
        """One training step on one batch. Returns the loss (a list [loss, *metrics]
        when metrics were compiled, a dict with return_dict=True)."""
        self._require_compiled("train_on_batch")
        if y is None:
            raise ValueError("train_on_batch expected targets y. Received: y=None")
        # the lock covers building the Net too: two threads' first calls must not each
        # build one (non-blocking: training one model from two threads is an error)
        if not self._lock.acquire(blocking=False):
            raise RuntimeError("this model is already being trained or used by another thread; "
                               "train one model from one thread at a time")
        try:
            net = self._net
            if (net is not None and self._net_backend == _backend.get_backend()
                    and sample_weight is None and class_weight is None and self._fast_ok(x, y)):
                # the common case (arrays already of the model dtype and shape) skips the
                # casting machinery: two C checks for NaN / labels, then one Net call
                _data.check_finite(x, "x")
                if self._sparse:
                    if y.dtype != self.dtype:
                        y = self._labels_as_floats(y)
                    _data.check_labels(y, self._n_out)
                else:
                    _data.check_finite(y, "y")
                w = None
            else:
                x, y, w = self._prepare(x, y, sample_weight, class_weight)
                self._ensure_built(x.shape[1:])
                net = self._get_net()
            loss = net.train_step(x, y, w)
        finally:
            self._lock.release()
        if net.skipped:
            raise FloatingPointError(f"train_on_batch: the loss is {loss} (non-finite) or the "
                                     f"gradient norm is; the weights were not updated")
        return self._step_result(loss, net, len(x), w, return_dict)

    def _fast_ok(self, x, y):
        """x and y are C-contiguous arrays of the model dtype with the exact shapes
        the Net reads (y may also hold integer class labels for a sparse loss)."""
        return (type(x) is np.ndarray and type(y) is np.ndarray and x.dtype == self.dtype
                and (y.dtype == self.dtype or (self._sparse and y.dtype.kind in "iu"))
                and x.flags.c_contiguous and y.flags.c_contiguous
                and x.shape[1:] == self._x_shape and y.shape[1:] == self._y_shape
                and len(x) == len(y) and len(x) > 0)

    def _labels_as_floats(self, y):
        """Integer labels copied into a float buffer of the model dtype (what the Net
        reads), kept for the next call: a steady-state step allocates no array. Exact
        below 2**24; a label beyond that still rounds to a value >= the class count,
        which check_labels rejects."""
        buf = self._label_buf
        if (buf is None or len(buf) < len(y) or buf.dtype != self.dtype
                or buf.shape[1:] != y.shape[1:]):
            buf = self._label_buf = np.empty(y.shape, self.dtype)
        out = buf[:len(y)]
        np.copyto(out, y, casting="unsafe")
        return out

    def test_on_batch(self, x, y, sample_weight=None, return_dict=False):
        """The loss (and metrics) on one batch, without updating the model."""
        self._require_compiled("test_on_batch")
        if y is None:
            raise ValueError("test_on_batch expected targets y. Received: y=None")
        with self._lock:
            x, y, w = self._prepare(x, y, sample_weight)
            self._ensure_built(x.shape[1:])
            net = self._get_net()
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
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size")
        _check_verbose(verbose, "predict")
        x = self._prepare(x)[0]
        if len(x) == 0:
            raise ValueError(f"predict expected at least one sample. Received: x.shape={x.shape}")
        self._ensure_built(x.shape[1:])
        net = self._get_net()
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
        2 one line per epoch ('auto' = 1).

        validation_split takes the last fraction of the samples (before shuffling), as
        Keras does. seed (fastnn's addition): seeds this fit's shuffling and dropout
        masks, and the initial weights when the model is not built yet, so two
        identical runs give identical weights and history.

        Every argument and array is checked before training starts: a failing call
        leaves the model as it was. A non-finite loss stops training with a
        RuntimeWarning, keeping the weights of the last finite step."""
        self._require_compiled("fit")
        if y is None:
            raise ValueError("fit expected targets y. Received: y=None")
        batch_size = _positive_int(batch_size if batch_size is not None else 32, "batch_size")
        epochs = _non_negative_int(epochs, "epochs")
        initial_epoch = _non_negative_int(initial_epoch, "initial_epoch")
        verbose = _check_verbose(verbose, "fit")
        if (isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real)
                or not 0 <= validation_split < 1):
            raise ValueError(f"fit expected validation_split as a float in [0, 1). "
                             f"Received: validation_split={validation_split!r}")
        if steps_per_epoch is not None:
            steps_per_epoch = _positive_int(steps_per_epoch, "steps_per_epoch")
        if validation_batch_size is not None:
            validation_batch_size = _positive_int(validation_batch_size, "validation_batch_size")
        validation_freq = _positive_int(validation_freq, "validation_freq")
        if not isinstance(shuffle, (bool, np.bool_)):
            raise ValueError(f"fit expected shuffle as True or False. "
                             f"Received: shuffle={shuffle!r}")
        if seed is not None:
            seed = _non_negative_int(seed, "seed")
        if callbacks is None:
            callbacks = []
        elif isinstance(callbacks, Callback) or not isinstance(callbacks, (list, tuple)):
            raise TypeError(f"fit expected callbacks as a list of Callback objects. "
                            f"Received: {type(callbacks).__name__}")
        callbacks = list(callbacks)
        for i, c in enumerate(callbacks):
            if not isinstance(c, Callback):
                raise TypeError(f"fit expected callbacks as a list of fastnn.callbacks.Callback "
                                f"objects. Received: callbacks[{i}] of type {type(c).__name__}")
        x, y, w = self._prepare(x, y, sample_weight, class_weight)
        in_shape = x.shape[1:]
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError("fit expected validation_data as (x_val, y_val) or "
                                 "(x_val, y_val, sample_weight_val). Received: "
                                 f"{type(validation_data).__name__}"
                                 + (f" of length {len(validation_data)}"
                                    if isinstance(validation_data, (tuple, list)) else ""))
            try:
                val = self._prepare(*validation_data, input_shape=in_shape)
            except (ValueError, TypeError) as exc:
                raise type(exc)(f"validation_data: {exc}") from None
        elif validation_split:
            # Keras takes the last fraction of the samples, before shuffling
            n_val = int(len(x) * validation_split)
            if n_val == 0 or n_val == len(x):
                raise ValueError(f"fit expected a validation_split that leaves both sets "
                                 f"non-empty. Received: validation_split={validation_split} of "
                                 f"{len(x)} samples gives {n_val} validation samples")
            steps_out = 1 if w is None else len(w) // len(x)
            val = (x[-n_val:], y[-n_val:], None if w is None else w[-n_val * steps_out:])
            x, y = x[:-n_val], y[:-n_val]
            w = None if w is None else w[:-n_val * steps_out]

        # every check passed: from here on the model changes
        if not self._lock.acquire(blocking=False):
            raise RuntimeError("this model is already being trained or used by another thread; "
                               "train one model from one thread at a time")
        try:
            return self._fit_checked(x, y, w, val, in_shape, batch_size, epochs, initial_epoch,
                                     verbose, callbacks, shuffle, steps_per_epoch,
                                     validation_batch_size, validation_freq, seed)
        finally:
            self._lock.release()

    def _fit_checked(self, x, y, w, val, in_shape, batch_size, epochs, initial_epoch, verbose,
                     callbacks, shuffle, steps_per_epoch, validation_batch_size, validation_freq,
                     seed):
        if seed is not None and not self.built:
            self._seed = _derive_seed(seed, 0)
        self._ensure_built(in_shape)
        net = self._get_net()
        if seed is not None:
            self._shuffle_rng = np.random.default_rng(seed)
            for i, (layer, op) in enumerate(self._dropout_ops):
                if getattr(layer, "seed", None) is None:
                    op.seed, op.counter = _derive_seed(seed, 1 + i), 0
        elif self._shuffle_rng is None:
            self._shuffle_rng = np.random.default_rng([self._seed, 1])
        n = len(x)
        bs = min(batch_size, n)
        steps = steps_per_epoch or math.ceil(n / bs)
        # gather buffers for shuffled batches: allocated once per fit
        xb = np.empty((bs,) + x.shape[1:], dtype=self.dtype)
        yb = np.empty((bs,) + y.shape[1:], dtype=self.dtype)
        w_per = None if w is None else len(w) // n
        wb = None if w is None else np.empty(bs * w_per, dtype=self.dtype)

        history = History()
        cbs = [history] + callbacks
        if verbose:
            cbs.append(ProgbarLogger(verbose))
        params = {"epochs": epochs, "steps": steps, "verbose": verbose, "batch_size": bs}
        cb = CallbackList(cbs, self, params)
        self.history = history
        self.stop_training = False
        try:
            logs = {}
            cb.on_train_begin()
            for epoch in range(initial_epoch, epochs):
                cb.on_epoch_begin(epoch)
                order = self._shuffle_rng.permutation(n) if shuffle else None
                logs = self._run_epoch(net, x, y, w, xb, yb, wb, w_per, order, bs, steps, cb, epoch)
                if val is not None and (epoch + 1) % validation_freq == 0:
                    vlogs = self._evaluate_arrays(*val, validation_batch_size or bs)
                    logs.update({f"val_{k}": v for k, v in vlogs.items()})
                cb.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
            cb.on_train_end(dict(logs))   # the last epoch's logs, as Keras passes them
        except KeyboardInterrupt:
            # every step is one compiled call: the weights are those of the last
            # completed step and the history holds every finished epoch
            warnings.warn("fit interrupted: the model keeps the weights of the last completed "
                          "step; model.history holds the finished epochs", RuntimeWarning)
            raise
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
            cb.on_train_batch_begin(b)
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
                              f"those of the last finite step.", RuntimeWarning, stacklevel=3)
                self.stop_training = True
                if not logs:
                    # no finite step in this epoch: its history entry shows the loss that
                    # stopped training (metrics undefined), keeping every key aligned
                    logs = {"loss": float(loss)}
                    logs.update({name: math.nan for name in self._metric_names})
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
        """Loss (and metrics) over (x, y): a float, a [loss, *metrics] list, or a dict.
        verbose: 0 silent, 1 / 2 / 'auto' one line with the results."""
        self._require_compiled("evaluate")
        if y is None:
            raise ValueError("evaluate expected targets y. Received: y=None")
        batch_size = _positive_int(batch_size if batch_size is not None else 32, "batch_size")
        verbose = _check_verbose(verbose, "evaluate")
        x, y, w = self._prepare(x, y, sample_weight)
        self._ensure_built(x.shape[1:])
        logs = self._evaluate_arrays(x, y, w, batch_size)
        if verbose:
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
        """Set every weight from a list shaped like get_weights(). Every array is
        checked (count, shapes, numbers, finite) before anything is written."""
        self._require_built("set_weights")
        targets = [w for layer in self.layers for w in layer.weights]
        if isinstance(weights, np.ndarray) or not hasattr(weights, "__iter__"):
            raise TypeError(f"set_weights expected a list of {len(targets)} arrays (as returned "
                            f"by get_weights()). Received: {type(weights).__name__}")
        weights = list(weights)
        if len(weights) != len(targets):
            raise ValueError(f"set_weights expected a list of {len(targets)} arrays. "
                             f"Received: {len(weights)}")
        arrays = []
        for i, (t, w) in enumerate(zip(targets, weights)):
            try:
                a = np.asarray(w)
            except (ValueError, TypeError):
                raise TypeError(f"set_weights expected weights[{i}] as an array of numbers. "
                                f"Received: {type(w).__name__} that NumPy cannot convert") from None
            if a.shape != t.shape:
                raise ValueError(f"set_weights expected weights[{i}] of shape {t.shape}. "
                                 f"Received: weights[{i}].shape={a.shape}")
            if a.dtype.kind not in "biuf":
                raise TypeError(f"set_weights expected weights[{i}] of a real number dtype. "
                                f"Received: weights[{i}].dtype={a.dtype}")
            with np.errstate(over="ignore"):   # reported below as non-finite
                a = a.astype(self.dtype)
            bad = np.flatnonzero(~np.isfinite(a))
            if bad.size:
                idx = tuple(int(j) for j in np.unravel_index(bad[0], a.shape))
                raise ValueError(f"set_weights expected finite values in weights[{i}] (in the "
                                 f"model dtype {self.dtype}). Received: {a[idx]} at index {idx}")
            arrays.append(a)
        for t, a in zip(targets, arrays):
            t[...] = a

    def save(self, filepath, include_optimizer=True):
        """Write the model (architecture, weights, compile settings, optimizer and
        random state) to one file, atomically (see fastnn.saving)."""
        meta, arrays = saving.model_archive(self, include_optimizer=include_optimizer)
        saving.save_archive(filepath, meta, arrays)

    def save_weights(self, filepath):
        """Write only the weights (same file format, atomically)."""
        self._require_built("save_weights")
        saving.save_archive(filepath, {"kind": "weights"},
                            {f"weight/{i}": w for i, w in enumerate(self.get_weights())})

    def load_weights(self, filepath):
        """Read weights written by save_weights or save (shapes checked first)."""
        self._require_built("load_weights")
        _, arrays = saving.read_archive(filepath)
        n = len(self.get_weights())
        missing = [i for i in range(n) if f"weight/{i}" not in arrays]
        if missing or f"weight/{n}" in arrays:
            count = sum(k.startswith("weight/") for k in arrays)
            raise saving.ModelFileError(f"{filepath} holds {count} weight arrays; this model "
                                        f"has {n}")
        self.set_weights([arrays[f"weight/{i}"] for i in range(n)])

    def __getstate__(self):
        # pickling (joblib, multiprocessing) goes through the same checked file format:
        # no compiled object or lock is pickled
        return {"fastnn_model": saving.archive_bytes(*saving.model_archive(self))}

    def __setstate__(self, state):
        model = saving.model_from_archive(*saving.read_archive(state["fastnn_model"]))
        self.__dict__.update(model.__dict__)

    def reset_states(self):
        """Forget the state carried by stateful recurrent layers (stateful=True)."""
        for layer in self.layers:
            if hasattr(layer, "reset_states"):
                layer.reset_states()

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


def _check_verbose(verbose, func):
    """0, 1 or 2 ('auto' is 1); bools count as ints, as in Keras."""
    if verbose == "auto":
        return 1
    if isinstance(verbose, (bool, np.bool_)):
        return int(verbose)
    if not isinstance(verbose, (int, np.integer)) or verbose not in (0, 1, 2):
        raise ValueError(f"{func} expected verbose in (0, 1, 2, 'auto'). "
                         f"Received: verbose={verbose!r}")
    return int(verbose)


def _derive_seed(seed, stream):
    """An independent 63-bit seed for `stream` (0: initial weights, 1+: dropout
    layers) from a user seed."""
    state = np.random.SeedSequence([int(seed), int(stream)]).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


saving.register_model_class(Sequential)
