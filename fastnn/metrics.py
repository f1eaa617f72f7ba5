"""Keras metric identifiers -> the metric kernels (fastnn.backend.compiled.losses.metric_sum).

`resolve(metric, loss)` turns what a user passes to `compile(metrics=[...])` into
(history_name, kind): the key the value gets in History / evaluate logs, spelled as
Keras writes it (the string as given: 'accuracy' stays 'accuracy', 'mae' stays
'mae'), and the METRIC_KINDS name the kernel computes.

Each kernel returns the weighted SUM over samples of a per-sample value; the model
divides by the sum of the sample weights (the number of samples without weights),
which is Keras' weighted mean for metrics:
  binary_accuracy              mean over outputs of (y_pred > 0.5) == (y_true > 0.5)
  categorical_accuracy         argmax y_pred == argmax y_true (first maximum wins)
  sparse_categorical_accuracy  argmax y_pred == label (one output: (y_pred > 0.5) == label)
  mse / mae                    mean over outputs of the squared / absolute error
"""

from fastnn import losses as _losses

# metric kind -> Keras' class name and default metric name
KINDS = {
    "binary_accuracy": ("BinaryAccuracy", "binary_accuracy"),
    "categorical_accuracy": ("CategoricalAccuracy", "categorical_accuracy"),
    "sparse_categorical_accuracy": ("SparseCategoricalAccuracy", "sparse_categorical_accuracy"),
    "mse": ("MeanSquaredError", "mean_squared_error"),
    "mae": ("MeanAbsoluteError", "mean_absolute_error"),
}

# Keras string identifiers (case-sensitive, as keras.metrics.get) -> metric kind.
ALIASES = {
    "binary_accuracy": "binary_accuracy",
    "BinaryAccuracy": "binary_accuracy",
    "categorical_accuracy": "categorical_accuracy",
    "CategoricalAccuracy": "categorical_accuracy",
    "sparse_categorical_accuracy": "sparse_categorical_accuracy",
    "SparseCategoricalAccuracy": "sparse_categorical_accuracy",
    "mse": "mse",
    "MSE": "mse",
    "mean_squared_error": "mse",
    "MeanSquaredError": "mse",
    "mae": "mae",
    "MAE": "mae",
    "mean_absolute_error": "mae",
    "MeanAbsoluteError": "mae",
}

ACCURACY = ("accuracy", "acc")  # compared case-insensitively, as Keras does


# config entries the kernels honour as Keras' defaults; anything else would be silently
# dropped, so it is refused
_DEFAULT_CONFIG = {"BinaryAccuracy": {"threshold": 0.5}}


def _check_config(class_name, config):
    defaults = _DEFAULT_CONFIG.get(class_name, {})
    for key, value in config.items():
        if key in ("name", "dtype"):
            continue
        if key in defaults and value == defaults[key]:
            continue
        raise NotImplementedError(
            f"{class_name}({key}={value!r}) is not supported yet: the metric kernels "
            f"compute {class_name} with Keras' defaults"
            + (f" ({', '.join(f'{k}={v}' for k, v in defaults.items())})" if defaults else "")
        )


def _known_names():
    return ", ".join(("accuracy", "acc") + tuple(ALIASES))


def accuracy_kind(loss=None, output_dim=None):
    """Which accuracy 'accuracy' means (Keras' convenience rule):
    binary when the model has one output unit or the loss is binary cross-entropy;
    sparse categorical when the loss takes integer labels (sparse categorical
    cross-entropy); categorical otherwise."""
    if loss is not None and not isinstance(loss, _losses.Loss):
        loss = _losses.get(loss)
    if output_dim == 1:
        return "binary_accuracy"
    if loss is not None and loss.sparse_targets:
        return "sparse_categorical_accuracy"
    if isinstance(loss, _losses.BinaryCrossentropy):
        return "binary_accuracy"
    return "categorical_accuracy"


def resolve(metric, loss=None, output_dim=None):
    """(history_name, kind) for a Keras metric identifier.

    metric: 'accuracy' / 'acc' (any case; the kind follows accuracy_kind(loss,
        output_dim)), a name of ALIASES ('binary_accuracy', 'categorical_accuracy',
        'sparse_categorical_accuracy', 'mse', 'mae', 'mean_squared_error',
        'mean_absolute_error', the class names ...), or a {"class_name", "config"}
        dict of one of the classes in KINDS (history name: config["name"], else the
        Keras default name).
    loss: the compiled loss (object or identifier), used for 'accuracy'.
    output_dim: units of the model output when known (1 selects binary accuracy).
    Unknown identifiers raise ValueError listing the known names.
    """
    if isinstance(metric, str):
        if metric.lower() in ACCURACY:
            return metric, accuracy_kind(loss, output_dim)
        if metric in ALIASES:
            return metric, ALIASES[metric]
    elif isinstance(metric, dict) and "class_name" in metric:
        for kind, (class_name, default_name) in KINDS.items():
            if metric["class_name"] == class_name:
                config = metric.get("config") or {}
                _check_config(class_name, config)
                return config.get("name") or default_name, kind
    raise ValueError(
        f"Could not interpret metric identifier: {metric!r}. Known names: {_known_names()}"
    )
