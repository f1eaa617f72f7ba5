"""Keras-shaped loss objects.

A loss object describes which loss kernel a model runs (fastnn.backend.compiled.losses,
twin fastnn.backend.reference.losses); the numbers are computed there. Calling a loss
object, `loss(y_true, y_pred, sample_weight=None)` (Keras argument order), gives
the value through the NumPy reference, for users.

Reduction is Keras' default "sum_over_batch_size": sum_i w_i * loss_i / N, N the
number of samples (times timesteps for sequence outputs).

Fusion rule (see kernel_kind): a softmax last layer with (sparse) categorical
cross-entropy, or a sigmoid last layer with binary cross-entropy, is computed
from the logits (exact, no clipping) and the layer's activation moves into the
loss. Losses that receive probabilities they did not produce clip them like Keras
(epsilon 1e-7).
"""

import inspect

import numpy as np

from fastnn.backend.reference import losses as _reference

REDUCTION = "sum_over_batch_size"


def _activation_name(activation):
    """'softmax' from 'softmax', 'Softmax', a function named softmax or an object
    with a .name; 'linear' for None."""
    if activation is None:
        return "linear"
    if isinstance(activation, str):
        return activation.lower()
    name = getattr(activation, "__name__", None) or getattr(activation, "name", None)
    return str(name).lower() if name is not None else ""


class Loss:
    """Base class of the losses the kernels know.

    name: the loss's name (default: snake_case of the class name).
    reduction: only Keras' default "sum_over_batch_size" is supported.

    Subclasses set the kernel kinds: PROBABILITY_KIND (input probabilities or
    values), LOGITS_KIND (input logits, None when the loss has none) and
    FUSES_WITH (the last-layer activation the loss can take over).
    """

    PROBABILITY_KIND = None
    LOGITS_KIND = None
    FUSES_WITH = None
    sparse_targets = False  # True: targets are integer class labels, one per sample
    DEFAULT_NAME = None

    def __init__(self, name=None, reduction=REDUCTION, dtype=None):
        if reduction != REDUCTION:
            raise ValueError(
                f"{type(self).__name__} supports reduction={REDUCTION!r} only. "
                f"Received: reduction={reduction!r}"
            )
        self.name = name if name is not None else (self.DEFAULT_NAME or type(self).__name__)
        self.reduction = reduction
        if dtype not in (None, "float32", "float64", np.float32, np.float64):
            raise ValueError(
                f"{type(self).__name__} expected dtype 'float32', 'float64' or None. "
                f"Received: dtype={dtype!r}"
            )
        # the dtype of a direct call (None: float32, Keras' floatx); in a model the
        # kernels follow the model's dtype
        self.dtype = dtype
        self.from_logits = False

    # -- kernel selection --------------------------------------------------
    @property
    def targets_kind(self):
        """'sparse' when targets are integer class labels (one per sample), else 'dense'."""
        return "sparse" if self.sparse_targets else "dense"

    def kernel_kind(self, last_activation=None):
        """(kind, fused) for a model whose last layer has `last_activation`.

        kind is a key of fastnn.backend.compiled.losses.LOSS_KINDS. fused=True means the
        loss kernel takes the last layer's pre-activation output (logits) and
        applies that activation itself (softmax + (sparse) categorical
        cross-entropy, sigmoid + binary cross-entropy): the layer must then output
        logits. from_logits=True gives the *_logits kind with fused=False (the
        model output already is logits). Otherwise the probability kind, unfused.
        """
        if self.PROBABILITY_KIND is None:
            raise NotImplementedError(
                f"{type(self).__name__} has no loss kernel; use one of "
                f"{', '.join(sorted(ALL_CLASSES))}"
            )
        if self.from_logits:
            return self.LOGITS_KIND, False
        if self.FUSES_WITH is not None and _activation_name(last_activation) == self.FUSES_WITH:
            return self.LOGITS_KIND, True
        return self.PROBABILITY_KIND, False

    # -- Keras-shaped API ----------------------------------------------------
    def __call__(self, y_true, y_pred, sample_weight=None):
        """The loss value (a Python float) of y_pred against y_true with the NumPy
        reference kernel, the inputs in the loss's dtype as Keras converts them
        (float32 unless dtype="float64": it decides the clip bounds, and the rounding
        of the inputs; the sums run in float64). y_pred has shape (..., d); the
        leading axes are samples (and timesteps). y_true has the same shape, or
        for sparse losses the leading shape (optionally with a trailing 1).
        sample_weight: None, a scalar, or an array over the leading axes (a prefix
        of them, e.g. (N,) for (N, T, d) outputs, is broadcast)."""
        y_pred = np.asarray(y_pred, dtype=np.float64)
        y_true = np.asarray(y_true, dtype=np.float64)
        if y_pred.ndim == 0:
            raise ValueError(
                f"{type(self).__name__} expected y_pred with at least one axis. "
                f"Received: y_pred.shape={y_pred.shape}"
            )
        lead, d = y_pred.shape[:-1], y_pred.shape[-1]
        if self.sparse_targets:
            if y_true.shape == lead + (1,):
                y_true = y_true.reshape(lead)
            if y_true.shape != lead:
                raise ValueError(
                    f"{type(self).__name__} expected y_true (class labels) with shape {lead} "
                    f"or {lead + (1,)}. Received: y_true.shape={y_true.shape}, "
                    f"y_pred.shape={y_pred.shape}"
                )
        else:
            # Keras squeezes or expands a trailing axis of 1 to match ranks
            if y_true.ndim == y_pred.ndim - 1 and d == 1:
                y_true = y_true[..., None]
            elif y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
                y_true = y_true[..., 0]
            if y_true.shape != y_pred.shape:
                raise ValueError(
                    f"{type(self).__name__} expected y_true with the shape of y_pred "
                    f"{y_pred.shape}. Received: y_true.shape={y_true.shape}"
                )
        rows = int(np.prod(lead, dtype=np.int64))
        w = None
        if sample_weight is not None:
            sw = np.asarray(sample_weight, dtype=np.float64)
            if sw.ndim == len(lead) + 1 and sw.shape[-1] == 1:
                sw = sw[..., 0]
            if sw.ndim > len(lead) or sw.shape != lead[: sw.ndim]:
                raise ValueError(
                    f"{type(self).__name__} expected sample_weight of shape {lead} (or a "
                    f"leading part of it). Received: sample_weight.shape={sw.shape}"
                )
            sw = sw.reshape(sw.shape + (1,) * (len(lead) - sw.ndim))
            w = np.ascontiguousarray(np.broadcast_to(sw, lead)).reshape(rows)
        dt = np.dtype(self.dtype or "float32")
        y2 = np.ascontiguousarray(y_pred.reshape(rows, d), dtype=dt)
        t2 = np.ascontiguousarray(
            y_true.reshape((rows,) if self.sparse_targets else (rows, d)), dtype=dt
        )
        w = None if w is None else w.astype(dt)
        kind = self.LOGITS_KIND if self.from_logits else self.PROBABILITY_KIND
        if kind is None:
            raise NotImplementedError(f"{type(self).__name__} has no loss kernel")
        return _reference.loss_value_and_grad(kind, y2, t2, w)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MeanSquaredError(Loss):
    """mean((y_true - y_pred)^2, axis=-1), averaged over samples."""

    PROBABILITY_KIND = "mse"
    DEFAULT_NAME = "mean_squared_error"

    def __init__(self, reduction=REDUCTION, name="mean_squared_error", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)


class MeanAbsoluteError(Loss):
    """mean(|y_true - y_pred|, axis=-1), averaged over samples."""

    PROBABILITY_KIND = "mae"
    DEFAULT_NAME = "mean_absolute_error"

    def __init__(self, reduction=REDUCTION, name="mean_absolute_error", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)


class _Crossentropy(Loss):
    """Shared arguments of the cross-entropies: from_logits, and Keras' label_smoothing
    and axis, accepted with their defaults only (0.0 and -1)."""

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction=REDUCTION,
        name=None,
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if label_smoothing not in (0, 0.0, None):
            raise ValueError(
                f"{type(self).__name__} does not support label smoothing. "
                f"Received: label_smoothing={label_smoothing!r}"
            )
        if axis != -1:
            raise ValueError(
                f"{type(self).__name__} supports axis=-1 only. Received: axis={axis!r}"
            )
        self.from_logits = bool(from_logits)
        self.label_smoothing = 0.0
        self.axis = -1

    def get_config(self):
        config = super().get_config()
        config.update(
            from_logits=self.from_logits, label_smoothing=self.label_smoothing, axis=self.axis
        )
        return config


def _crossentropy_init(default_name):
    """The __init__ of a _Crossentropy subclass: Keras' arguments, name defaulting to
    `default_name`."""

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction=REDUCTION,
        name=default_name,
        dtype=None,
    ):
        _Crossentropy.__init__(self, from_logits, label_smoothing, axis, reduction, name, dtype)

    return __init__


class BinaryCrossentropy(_Crossentropy):
    """-mean(t log p + (1 - t) log(1 - p), axis=-1): p clipped to [1e-7, 1 - 1e-7],
    or, from logits z, mean(max(z, 0) - t z + log(1 + exp(-|z|)), axis=-1).
    Fuses with a sigmoid last layer."""

    PROBABILITY_KIND = "bce"
    LOGITS_KIND = "bce_logits"
    FUSES_WITH = "sigmoid"
    DEFAULT_NAME = "binary_crossentropy"
    __init__ = _crossentropy_init(DEFAULT_NAME)


class CategoricalCrossentropy(_Crossentropy):
    """-sum(t log q, axis=-1) with q = clip(p / sum(p), 1e-7, 1 - 1e-7), or, from
    logits, -sum(t log_softmax(z), axis=-1). Targets are one-hot (or
    distributions). Fuses with a softmax last layer."""

    PROBABILITY_KIND = "cce"
    LOGITS_KIND = "cce_logits"
    FUSES_WITH = "softmax"
    DEFAULT_NAME = "categorical_crossentropy"
    __init__ = _crossentropy_init(DEFAULT_NAME)


class SparseCategoricalCrossentropy(Loss):
    """Categorical cross-entropy with integer class labels as targets (one per
    sample): -log q[label] (q as in CategoricalCrossentropy), or from logits
    -log_softmax(z)[label]. Fuses with a softmax last layer. Keras' ignore_class
    is accepted with its default (None) only."""

    PROBABILITY_KIND = "sparse_cce"
    LOGITS_KIND = "sparse_cce_logits"
    FUSES_WITH = "softmax"
    DEFAULT_NAME = "sparse_categorical_crossentropy"
    sparse_targets = True

    def __init__(
        self,
        from_logits=False,
        ignore_class=None,
        reduction=REDUCTION,
        name="sparse_categorical_crossentropy",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if ignore_class is not None:
            raise ValueError(
                f"SparseCategoricalCrossentropy does not support ignore_class. "
                f"Received: ignore_class={ignore_class!r}"
            )
        self.from_logits = bool(from_logits)
        self.ignore_class = None

    def get_config(self):
        config = super().get_config()
        config.update(from_logits=self.from_logits, ignore_class=self.ignore_class)
        return config


ALL_CLASSES = {
    cls.__name__: cls
    for cls in (
        MeanSquaredError,
        MeanAbsoluteError,
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
    )
}

# Keras spellings: the function names, their short aliases and the class names.
ALIASES = {
    "mse": MeanSquaredError,
    "MSE": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "bce": BinaryCrossentropy,
    "BCE": BinaryCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    **ALL_CLASSES,
}


def serialize(loss):
    """{"class_name", "config"} of a loss object (what get() accepts back)."""
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def deserialize(config):
    """The loss object described by {"class_name": ..., "config": {...}}."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"Expected a loss config dict with keys 'class_name' and 'config'. Received: {config!r}"
        )
    cls = ALL_CLASSES.get(config["class_name"])
    if cls is None:
        raise ValueError(
            f"Unknown loss class {config['class_name']!r}. Known classes: {', '.join(ALL_CLASSES)}"
        )
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier):
    """A loss object from a Keras identifier: a Loss instance (returned as is), a
    Loss class, a name ('mse', 'mean_squared_error', 'mae', 'mean_absolute_error',
    'binary_crossentropy', 'categorical_crossentropy',
    'sparse_categorical_crossentropy', the class names, ...) or a
    {"class_name", "config"} dict. None gives None."""
    if identifier is None:
        return None
    if isinstance(identifier, Loss):
        return identifier
    if inspect.isclass(identifier) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str) and identifier in ALIASES:
        return ALIASES[identifier]()
    raise ValueError(
        f"Could not interpret loss identifier: {identifier!r}. Known names: {', '.join(ALIASES)}"
    )


def check_model_output(loss, last_activation, units):
    """Keras' warnings about a loss that does not suit the model's output, raised where
    Keras raises them (its loss functions and backends), once per Net here:
    categorical cross-entropy on one unit (SyntaxWarning, keras/src/losses/losses.py) and
    from_logits=True on a softmax / sigmoid output (keras/src/backend/tensorflow/nn.py)."""
    import warnings

    if isinstance(loss, CategoricalCrossentropy) and units == 1:
        warnings.warn(
            "In loss categorical_crossentropy, expected y_pred.shape to be (batch_size, "
            f"num_classes) with num_classes > 1. Received: y_pred.shape=(None, {units}). "
            "Consider using 'binary_crossentropy' if you only have 2 classes.",
            SyntaxWarning,
            stacklevel=4,
        )
    op_type = {"softmax": "Softmax", "sigmoid": "Sigmoid"}.get(_activation_name(last_activation))
    if getattr(loss, "from_logits", False) and op_type is not None:
        warnings.warn(
            f'"`{loss.DEFAULT_NAME}` received `from_logits=True`, but the `output` '
            f"argument was produced by a {op_type} activation and thus does not represent "
            "logits. Was this intended?",
            UserWarning,
            stacklevel=4,
        )
