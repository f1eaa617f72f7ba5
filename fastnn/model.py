"""Sequential: the Keras-shaped model.

Parameters, gradients and optimizer slots live in flat buffers (layer weights
are views), so one compiled Net call runs a whole training step: forward, fused
loss, backward, and the update of every parameter (docs/architecture.md, "How a
training step runs").
"""

import numpy as np

from fastnn import _assembly, _data, _fit, _ownership, _summary, saving
from fastnn import backend as _backend
from fastnn import losses as _losses
from fastnn import metrics as _metrics
from fastnn import optimizers as _optimizers
from fastnn.layers import InputLayer, Layer, deserialize, serialize
from fastnn.layers.base import trainable_version


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
            raise ValueError(
                f"Sequential expected dtype float32 or float64. Received: dtype={dtype}"
            )
        self._layers = []
        self.built = False
        self.compiled = False
        self.optimizer = self.loss = None
        self._metrics_arg = []
        self._metric_names, self._metric_kinds = [], []
        self._net = None
        self._net_backend = None
        self._net_trainable = -1  # trainable_version() when the Net was built
        self._updater = None
        self._label_buf = None  # integer labels as floats, reused by train_on_batch
        self._dropout_ops = []
        self._pending_dropout = None
        self._shuffle_rng = None
        self.history = None
        self.stop_training = False
        self._seed = None
        # re-entrant: a callback may call predict/evaluate from inside fit
        # _lock: every use of the weights and the Net (a step, a predict, get/set_weights,
        # save) holds it, so each sees whole steps; a fit holds it per step, so another
        # thread's predict waits for the step, not for the fit. _trainer: the thread
        # training the model (training one model from two threads is an error)
        _ownership.new_model(self)
        if layers is None:
            layers = []
        elif isinstance(layers, Layer) or not isinstance(layers, (list, tuple)):
            raise TypeError(
                f"Sequential expected layers as a list of Layer objects. "
                f"Received: {type(layers).__name__}"
            )
        for layer in layers:
            self.add(layer)

    # ------------------------------------------------------------------ layers
    @property
    def layers(self):
        return [l for l in self._layers if not isinstance(l, InputLayer)]

    def add(self, layer):
        """Append a layer. Rebuilds lazily: weights are created at the next use."""
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential.add expected a fastnn Layer. Received: {type(layer).__name__}"
            )
        if isinstance(layer, InputLayer) and self._layers:
            raise ValueError("an Input/InputLayer can only be the first layer of a Sequential")
        names = self._layer_names()  # a set: building is linear in the layers
        if layer.name in names:
            raise ValueError(f"layer names must be unique. Received a second {layer.name!r}")
        _ownership.claim(self, layer)
        self._layers.append(layer)
        names.add(layer.name)
        self._invalidate()

    def _layer_names(self):
        # kept by add, dropped by pop (a scan per add made 20,000 layers take 30 s)
        if "_names" not in self.__dict__:
            self.__dict__["_names"] = {l.name for l in self._layers}
        return self.__dict__["_names"]

    def pop(self):
        """Remove and return the last layer (the others keep their weights)."""
        if not self.layers:
            raise ValueError(
                "pop expected a model with at least one layer. Received: a model with no layers"
            )
        layer = self._layers.pop()
        _ownership.release(layer)
        self.__dict__.pop("_names", None)  # rebuilt from the layers at the next add
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
                raise ValueError(
                    f"{what} needs the model's input shape: give the first layer "
                    f"input_shape=... (or start with Input(shape=...)), call "
                    f"build(input_shape), or fit/predict on data first"
                )
            self.build()

    def _layer_shapes(self, shape):
        return _assembly.layer_shapes(self, shape)

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
                raise TypeError(
                    f"build expected input_shape as a tuple of ints (the batch "
                    f"dimension first may be None). Received: "
                    f"input_shape={given!r}"
                ) from None
            if not input_shape or any(s <= 0 for s in input_shape):
                raise ValueError(
                    f"build expected input_shape of positive sizes. Received: input_shape={given!r}"
                )
            if self.input_shape is not None and tuple(self.input_shape) != input_shape:
                # Keras accepts a leading batch dimension here
                if tuple(input_shape[1:]) == tuple(self.input_shape):
                    input_shape = input_shape[1:]
        shape = input_shape or self.input_shape
        if shape is None:
            raise ValueError("build expected input_shape. Received: None and no layer declares one")
        if None in shape:
            raise ValueError(
                f"build needs every input size: the model's input shape {shape} has a free "
                "dimension, which the first data fixes (fit or predict builds it)"
            )
        _assembly.install_weights(self, shape)

    # ------------------------------------------------------------------ compile
    # Keras compile arguments fastnn accepts and ignores, and those it does not support
    _COMPILE_IGNORED = ("run_eagerly", "jit_compile", "steps_per_execution", "auto_scale_loss")
    _COMPILE_UNSUPPORTED = ("loss_weights", "weighted_metrics")

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, **kwargs):
        """Choose the optimizer, the loss and the metrics (Keras identifiers or objects).
        Every argument is resolved before the model changes: a failing compile leaves
        the previous optimizer, loss and metrics in place."""
        unknown = sorted(
            k for k in kwargs if k not in self._COMPILE_IGNORED + self._COMPILE_UNSUPPORTED
        )
        if unknown:
            raise TypeError(
                f"compile got unexpected keyword argument(s) {unknown}. Expected "
                f"optimizer, loss, metrics (and the ignored Keras arguments "
                f"{list(self._COMPILE_IGNORED)})"
            )
        unsupported = sorted(k for k in self._COMPILE_UNSUPPORTED if kwargs.get(k) is not None)
        if unsupported:
            raise TypeError(
                f"compile argument(s) {unsupported} are not supported by fastnn "
                f"(single-output models only). Received: "
                + ", ".join(f"{k}={kwargs[k]!r}" for k in unsupported)
            )
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
            raise ValueError(
                f"You must call compile(optimizer, loss) before {what}(). "
                f"Received: a model that was not compiled"
            )

    def _get_net(self):
        """The Net for the current backend (rebuilt after set_backend, keeping
        weights and optimizer state)."""
        backend = _backend.get_backend()
        net = self._net
        if (
            net is None
            or self._net_backend != backend
            or self._net_trainable != trainable_version()
        ):
            net = _assembly.make_net(self, backend)
        return net

    # ------------------------------------------------------------------ config
    def get_config(self):
        """The architecture as plain data, as Keras' Sequential.get_config(): name,
        dtype, each layer as {"class_name", "config"} (an Input first if the model has
        one) and, once built, build_input_shape (batch axis first, None). No weights:
        from_config() makes a model of the same shape with new ones."""
        config = {
            "name": self.name,
            "dtype": self.dtype.name,
            "layers": [serialize(layer) for layer in self._layers],
        }
        if self.built:
            config["build_input_shape"] = [None, *self.layers[0].input_shape]
        return config

    @classmethod
    def from_config(cls, config):
        """A new model from get_config() output (built when it holds build_input_shape).
        Layer classes come from fastnn's registry (fastnn.layers.LAYER_CLASSES): no code
        named in the config runs."""
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError(
                f"Sequential.from_config expected a dict with a list of layers "
                f"(get_config()). Received: {config!r:.200}"
            )
        layers = [deserialize(spec) for spec in config["layers"]]
        model = cls(layers, name=config.get("name"), dtype=config.get("dtype", "float32"))
        if config.get("build_input_shape") is not None:
            model.build(tuple(config["build_input_shape"]))
        return model

    def get_compile_config(self):
        """The compile() arguments as plain data ({"optimizer", "loss", "metrics"}, each
        serialised), or None before compile(); compile_from_config() takes it back."""
        if not self.compiled:
            return None
        return {
            "optimizer": _optimizers.serialize(self.optimizer),
            "loss": _losses.serialize(self.loss),
            "metrics": list(self._metrics_arg),
        }

    def compile_from_config(self, config):
        """compile() with the arguments get_compile_config() returned."""
        if not isinstance(config, dict) or not {"optimizer", "loss"} <= set(config):
            raise ValueError(
                f"compile_from_config expected a dict with optimizer, loss and "
                f"metrics (get_compile_config()). Received: {config!r:.200}"
            )
        self.compile(
            optimizer=_optimizers.get(config["optimizer"]),
            loss=_losses.get(config["loss"]),
            metrics=config.get("metrics") or [],
        )

    # ------------------------------------------------------------------ random state
    def get_random_state(self):
        """The model's random streams as JSON-compatible data: its seed (initial
        weights, derived dropout seeds), the shuffling generator's state and each
        dropout layer's (seed, counter). Saved with the model so training resumes
        with the same shuffles and masks."""
        return _assembly.random_state(self)

    def set_random_state(self, state):
        """Restore what get_random_state() returned (checked first; ValueError if
        malformed). Before build() it also fixes the seed the weights are drawn from."""
        _assembly.set_random_state(self, state)

    # ------------------------------------------------------------------ data
    def _input_shape_for(self, x):
        return _data.input_shape_for(self, x)

    def _prepare(self, x, y=None, sample_weight=None, class_weight=None, input_shape=None):
        return _data.prepare(self, x, y, sample_weight, class_weight, input_shape)

    def _check_x(self, x, shape):
        _data.check_x(self, x, shape)

    def _targets_sparse(self):
        kind, _ = self.loss.kernel_kind(self.layers[-1].activation_name)
        return kind.startswith("sparse")

    def _ensure_built(self, input_shape):
        """Build on the first data (after every check); a free input size (None) is resized."""
        free = self.input_shape is not None and None in self.input_shape
        if not self.built:
            self.build(input_shape if self.input_shape is None or free else None)
        elif free and tuple(self._layers[0].input_shape) != tuple(input_shape):
            _assembly.resize_input(self, tuple(input_shape))

    # ------------------------------------------------------------------ steps
    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, return_dict=False):
        """One training step on one batch. Returns the loss (a list [loss, *metrics]
        when metrics were compiled, a dict with return_dict=True)."""
        self._require_compiled("train_on_batch")
        if y is None:
            raise ValueError("train_on_batch expected targets y. Received: y=None")
        # the lock covers building the Net too: two threads' first calls must not each
        # build one; another thread's predict is waited for, another trainer refused
        with _ownership.training(self), self._lock:
            net = self._net
            if (
                net is not None
                and self._net_backend == _backend.get_backend()
                and self._net_trainable == trainable_version()
                and sample_weight is None
                and class_weight is None
                and _data.fast_ok(self, x, y)
            ):
                # the common case (arrays already of the model dtype and shape) skips the
                # casting machinery: two C checks for NaN / labels, then one Net call
                _data.check_finite(x, "x")
                if self._sparse:
                    if y.dtype != self.dtype:
                        y = _data.labels_as_floats(self, y)
                    _data.check_labels(y, self._n_out)
                else:
                    _data.check_finite(y, "y")
                w = None
            else:
                x, y, w = self._prepare(x, y, sample_weight, class_weight)
                self._ensure_built(x.shape[1:])
                net = self._get_net()
            loss = _fit.guarded_step(self, net, x, y, w)
        if net.skipped:
            raise FloatingPointError(
                f"train_on_batch: {_fit.skip_reason(loss)}; the weights were not updated"
            )
        return self._step_result(loss, net, len(x), w, return_dict)

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
        x, _, batch_size, _ = _fit.unpack_dataset(x, None, batch_size, "predict")
        batch_size = 32 if batch_size is None else _fit.positive_int(batch_size, "batch_size")
        _fit.check_verbose(verbose, "predict")
        with self._lock:  # building too: a first predict must not race a fit's build
            x = self._prepare(x)[0]
            if len(x) == 0:
                raise ValueError(
                    f"predict expected at least one sample. Received: x.shape={x.shape}"
                )
            self._ensure_built(x.shape[1:])
            net = self._get_net()
            out = np.empty((len(x),) + tuple(self.layers[-1].output_shape), dtype=self.dtype)
            for s in range(0, len(x), batch_size):
                net.predict(x[s : s + batch_size], out[s : s + batch_size])
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
    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        class_weight=None,
        sample_weight=None,
        initial_epoch=0,
        steps_per_epoch=None,
        validation_batch_size=None,
        validation_freq=1,
        seed=None,
        **legacy,
    ):
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
        _fit.refuse_legacy("fit", legacy)
        return _fit.fit(
            self,
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
        )

    # ------------------------------------------------------------------ evaluate
    def evaluate(
        self,
        x=None,
        y=None,
        batch_size=None,
        verbose="auto",
        sample_weight=None,
        steps=None,
        callbacks=None,
        return_dict=False,
    ):
        """Loss (and metrics) over (x, y): a float, a [loss, *metrics] list, or a dict.
        verbose: 0 silent, 1 / 2 / 'auto' one line with the results."""
        self._require_compiled("evaluate")
        x, y, batch_size, _ = _fit.unpack_dataset(x, y, batch_size, "evaluate")
        if y is None:
            raise ValueError("evaluate expected targets y. Received: y=None")
        batch_size = _fit.positive_int(batch_size if batch_size is not None else 32, "batch_size")
        verbose = _fit.check_verbose(verbose, "evaluate")
        x, y, w = self._prepare(x, y, sample_weight)
        self._ensure_built(x.shape[1:])
        logs = _fit.evaluate_arrays(self, x, y, w, batch_size)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        if return_dict:
            return logs
        return logs["loss"] if len(logs) == 1 else list(logs.values())

    # ------------------------------------------------------------------ weights
    def count_params(self):
        self._require_built("count_params")
        return int(self._params.size)

    def get_weights(self):
        """Copies of every weight array, layer by layer (fastnn layout: Dense kernel
        (n_in, units) then bias)."""
        self._require_built("get_weights")
        with self._lock:  # whole steps only, never a mix of two
            return [w.copy() for layer in self.layers for w in layer.weights]

    def set_weights(self, weights):
        """Set every weight from a list shaped like get_weights(). Every array is
        checked (count, shapes, numbers, finite) before anything is written."""
        self._require_built("set_weights")
        with self._lock:
            targets = [w for layer in self.layers for w in layer.weights]
            arrays = _data.checked_weights(targets, weights, self.dtype)
            for t, a in zip(targets, arrays):
                t[...] = a

    def save(self, filepath, include_optimizer=True):
        """Write the model (architecture, weights, compile settings, optimizer and
        random state) to one file, atomically (see fastnn.saving)."""
        with self._lock:  # a consistent snapshot; the writing needs no lock
            meta, arrays = saving.model_archive(self, include_optimizer=include_optimizer)
        saving.save_archive(filepath, meta, arrays)

    def save_weights(self, filepath):
        """Write only the weights (same file format, atomically)."""
        self._require_built("save_weights")
        saving.save_archive(
            filepath,
            {"kind": "weights"},
            {f"weight/{i}": w for i, w in enumerate(self.get_weights())},
        )

    def load_weights(self, filepath):
        """Read weights written by save_weights or save (shapes checked first)."""
        self._require_built("load_weights")
        _, arrays = saving.read_archive(filepath)
        n = len(self.get_weights())
        missing = [i for i in range(n) if f"weight/{i}" not in arrays]
        if missing or f"weight/{n}" in arrays:
            count = sum(k.startswith("weight/") for k in arrays)
            raise saving.ModelFileError(
                f"{filepath} holds {count} weight arrays; this model has {n}"
            )
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

    # all layers train; setting it sets every layer's, as Keras does
    trainable = property(_summary.all_trainable, _summary.set_trainable)

    # ------------------------------------------------------------------ summary
    def summary(self, print_fn=None):
        """Print each layer's output shape and parameter count, and the totals (frozen
        layers' parameters as non-trainable)."""
        self._require_built("summary")
        _summary.print_summary(self, print_fn or print)

    def __repr__(self):
        return f"<Sequential name={self.name} layers={[l.name for l in self.layers]}>"


saving.register_model_class(Sequential)
