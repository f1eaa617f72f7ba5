"""Bad input through the public API: a ValueError or TypeError whose message names
the argument, says what was expected and what was received, and a model that is
exactly as it was before the failing call (weights, optimizer state, compile
settings, built or not)."""

import numpy as np
import pytest

import fastnn
from fastnn.layers import Activation, Dense, Dropout, Flatten, Input, InputLayer

N, F = 32, 20
METHODS_XY = ["fit", "evaluate", "train_on_batch", "test_on_batch"]


@pytest.fixture(autouse=True)
def seeded():
    fastnn.set_seed(99)


def _data(seed=0, n=N, f=F):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, f)).astype(np.float32)
    y = rng.standard_normal((n, 1)).astype(np.float32)
    return x, y


def regression_model(train=True):
    """20-8-1 MLP, Adam, mse + mae, one training step taken (so Adam has state)."""
    model = fastnn.Sequential([Input(shape=(F,)), Dense(8, activation="relu"), Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    if train:
        x, y = _data()
        model.train_on_batch(x, y)
    return model


def classifier(loss="sparse_categorical_crossentropy", classes=3):
    model = fastnn.Sequential(
        [Input(shape=(F,)), Dense(8, activation="relu"), Dense(classes, activation="softmax")]
    )
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    x, _ = _data()
    labels = np.arange(N) % classes
    y = labels if loss.startswith("sparse") else np.eye(classes, dtype=np.float32)[labels]
    model.train_on_batch(x, y)
    return model, x, labels


def state(model):
    opt = model.optimizer
    return {
        "built": model.built,
        "weights": model.get_weights() if model.built else None,
        "optimizer": opt,
        "iterations": None if opt is None else int(opt.iterations),
        "loss": model.loss,
        "metrics": list(model._metric_names),
    }


def assert_same_state(model, before):
    after = state(model)
    assert after["built"] == before["built"]
    assert after["optimizer"] is before["optimizer"]
    assert after["iterations"] == before["iterations"]
    assert after["loss"] is before["loss"]
    assert after["metrics"] == before["metrics"]
    if before["weights"] is not None:
        assert len(after["weights"]) == len(before["weights"])
        for a, b in zip(after["weights"], before["weights"]):
            np.testing.assert_array_equal(a, b)


def fails(model, call, exc, *fragments):
    """call() raises exc with every fragment in its message, and leaves model as it was.
    Returns the message."""
    before = state(model) if model is not None else None
    with pytest.raises(exc) as info:
        call()
    msg = str(info.value)
    for fragment in fragments:
        assert fragment in msg, f"{fragment!r} not in message {msg!r}"
    if model is not None:
        assert_same_state(model, before)
    return msg


def call_xy(model, method, x, y, **kwargs):
    """model.<method>(x, y) quietly."""
    if method in ("fit", "evaluate"):
        kwargs.setdefault("verbose", 0)
    return lambda: getattr(model, method)(x, y, **kwargs)


def still_trains(model, x=None, y=None):
    """After a failed call the model still works and does change on a good step."""
    if x is None:
        x, y = _data(1)
    before = model.get_weights()
    model.train_on_batch(x, y)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


# ------------------------------------------------------------------ x shape
@pytest.mark.parametrize("method", METHODS_XY + ["predict"])
def test_wrong_feature_count_names_layer_expected_and_received(backend, method):
    model = regression_model()
    x, y = _data(f=F - 1)
    call = (lambda: model.predict(x)) if method == "predict" else call_xy(model, method, x, y)
    msg = fails(model, call, ValueError)
    assert msg == "Dense expected input with last dimension 20. Received: x.shape=(32, 19)"
    still_trains(model)


@pytest.mark.parametrize("shape", [(N,), (N, F, 1), (N, 2, F)])
@pytest.mark.parametrize("method", METHODS_XY + ["predict"])
def test_wrong_x_ndim(backend, method, shape):
    model = regression_model()
    x = np.ones(shape, np.float32)
    y = np.ones((N, 1), np.float32)
    call = (lambda: model.predict(x)) if method == "predict" else call_xy(model, method, x, y)
    fails(model, call, ValueError, "expected input", "(n, 20)", f"Received: x.shape={shape}")


def test_image_model_reports_the_whole_sample_shape():
    model = fastnn.Sequential([Flatten(input_shape=(8, 8)), Dense(4)])
    model.compile("adam", "mse")
    model.build()
    fails(
        model,
        lambda: model.predict(np.ones((5, 64))),
        ValueError,
        "Flatten expected input of shape (n, 8, 8)",
        "Received: x.shape=(5, 64)",
    )
    fails(
        model,
        lambda: model.predict(np.ones((5, 8, 7))),
        ValueError,
        "Flatten expected input with last dimension 8",
        "Received: x.shape=(5, 8, 7)",
    )


def test_scalar_x_on_an_unbuilt_model():
    model = fastnn.Sequential([Dense(2)])
    model.compile("sgd", "mse")
    fails(
        model,
        lambda: model.fit(np.ones(5), np.ones(5), verbose=0),
        ValueError,
        "batch axis",
        "x.shape=(5,)",
    )
    fails(model, lambda: model.predict(np.float32(3.0)), ValueError, "batch axis", "x.shape=()")
    assert not model.built


# ------------------------------------------------------------------ lengths and y
@pytest.mark.parametrize("method", METHODS_XY)
def test_mismatched_x_y_lengths(backend, method):
    model = regression_model()
    x, y = _data()
    fails(
        model,
        call_xy(model, method, x, y[:30]),
        ValueError,
        "same number of samples",
        "len(x)=32",
        "len(y)=30",
    )


@pytest.mark.parametrize("method", METHODS_XY)
def test_wrong_y_shape_for_regression(backend, method):
    model = regression_model()
    x, _ = _data()
    fails(
        model,
        call_xy(model, method, x, np.zeros((N, 2), np.float32)),
        ValueError,
        "expected y of shape (n, 1)",
        "Received: y.shape=(32, 2)",
    )


@pytest.mark.parametrize("labels_shape", [(N,), (N, 1)])
@pytest.mark.parametrize("method", METHODS_XY)
def test_int_labels_with_categorical_crossentropy_hint(backend, method, labels_shape):
    model, x, labels = classifier("categorical_crossentropy")
    msg = fails(
        model,
        call_xy(model, method, x, labels.reshape(labels_shape)),
        ValueError,
        "expected y of shape (n, 3)",
        f"Received: y.shape={labels_shape}",
    )
    assert "sparse_categorical_crossentropy" in msg and "to_categorical" in msg


@pytest.mark.parametrize("method", METHODS_XY)
def test_one_hot_targets_with_sparse_loss_hint(backend, method):
    model, x, labels = classifier()
    onehot = np.eye(3, dtype=np.float32)[labels]
    msg = fails(
        model,
        call_xy(model, method, x, onehot),
        ValueError,
        "integer class labels of shape (n,)",
        "Received: y.shape=(32, 3)",
    )
    assert "categorical_crossentropy" in msg and "argmax" in msg


# ------------------------------------------------------------------ labels
@pytest.mark.parametrize(
    "bad,shown",
    [(3, "y[5]=3"), (-1, "y[5]=-1"), (0.5, "y[5]=0.5"), (np.nan, "y[5]=nan"), (np.inf, "y[5]=inf")],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", METHODS_XY)
def test_sparse_labels_out_of_range_or_not_integer(backend, method, dtype, bad, shown):
    model, x, labels = classifier()
    y = labels.astype(dtype)  # float32 + C-contiguous: train_on_batch's fast path
    y[5] = bad
    fails(
        model,
        call_xy(model, method, x, y),
        ValueError,
        "integer class labels in [0, 2]",
        "3 outputs",
        f"Received: {shown}",
    )
    still_trains(model, x, labels)


def test_integer_label_array_out_of_range(backend):
    model, x, labels = classifier()
    y = labels.copy()
    y[7] = 10
    fails(model, lambda: model.fit(x, y, verbose=0), ValueError, "[0, 2]", "y[7]=10")


# ------------------------------------------------------------------ non-finite values
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["x", "y", "sample_weight"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", METHODS_XY)
def test_non_finite_inputs(backend, method, dtype, where, value):
    model = regression_model()
    x, y = _data()
    x, y = x.astype(dtype), y.astype(dtype)
    sw = np.ones(N, dtype)
    arrays = {"x": x, "y": y, "sample_weight": sw}
    index = (3, 2) if where == "x" else ((3, 0) if where == "y" else (3,))
    arrays[where][index] = value
    kwargs = {"sample_weight": sw} if where == "sample_weight" else {}
    shown = {np.nan: "nan", np.inf: "inf", -np.inf: "-inf"}[value]
    fails(
        model,
        call_xy(model, method, x, y, **kwargs),
        ValueError,
        f"expected finite values in {where}",
        f"Received: {shown} at index {index}",
    )
    still_trains(model)


def test_non_finite_x_in_predict(backend):
    model = regression_model()
    x, _ = _data()
    x[4, 1] = np.nan
    fails(
        model,
        lambda: model.predict(x),
        ValueError,
        "expected finite values in x",
        "nan at index (4, 1)",
    )


def test_float64_values_that_overflow_float32_are_caught():
    model = regression_model()
    x, y = _data()
    x = x.astype(np.float64)
    x[0, 0] = 1e300
    fails(
        model,
        lambda: model.fit(x, y, verbose=0),
        ValueError,
        "expected finite values in x",
        "inf at index (0, 0)",
    )


# ------------------------------------------------------------------ compile first
@pytest.mark.parametrize("method", METHODS_XY)
def test_training_or_evaluating_before_compile(backend, method):
    model = fastnn.Sequential([Input(shape=(F,)), Dense(1)])
    x, y = _data()
    fails(
        model,
        call_xy(model, method, x, y),
        ValueError,
        "compile(optimizer, loss)",
        f"before {method}()",
    )
    assert not model.built


def test_compile_without_loss():
    model = regression_model()
    fails(model, lambda: model.compile("adam"), ValueError, "loss", "Received: loss=None")


# ------------------------------------------------------------------ empty arrays
@pytest.mark.parametrize("method", METHODS_XY)
def test_empty_arrays(backend, method):
    model = regression_model()
    x, y = _data()
    fails(
        model,
        call_xy(model, method, x[:0], y[:0]),
        ValueError,
        "at least one sample",
        "len(x)=0",
        "len(y)=0",
    )


def test_empty_predict(backend):
    model = regression_model()
    fails(
        model,
        lambda: model.predict(np.zeros((0, F), np.float32)),
        ValueError,
        "at least one sample",
        "x.shape=(0, 20)",
    )


def test_empty_fit_does_not_build_an_unbuilt_model():
    model = fastnn.Sequential([Dense(1)])
    model.compile("adam", "mse")
    fails(
        model,
        lambda: model.fit(np.zeros((0, 3)), np.zeros((0, 1)), verbose=0),
        ValueError,
        "at least one sample",
    )
    assert not model.built


# ------------------------------------------------------------------ argument values
BAD_COUNTS = [0, -1, 2.5, "32", True, None]


@pytest.mark.parametrize("value", [v for v in BAD_COUNTS if v is not None])
@pytest.mark.parametrize("method", ["fit", "evaluate", "predict"])
def test_bad_batch_size(method, value):
    model = regression_model()
    x, y = _data()
    if method == "predict":
        call = lambda: model.predict(x, batch_size=value)  # noqa: E731
    else:
        call = call_xy(model, method, x, y, batch_size=value)
    fails(model, call, ValueError, "batch_size", "positive int", f"batch_size={value!r}")


@pytest.mark.parametrize("value", [-1, 1.5, "3", None, False])
def test_bad_epochs(value):
    model = regression_model()
    x, y = _data()
    fails(
        model,
        lambda: model.fit(x, y, epochs=value, verbose=0),
        ValueError,
        "epochs",
        "non-negative int",
        f"epochs={value!r}",
    )


@pytest.mark.parametrize("value", [1.0, 1.5, -0.1, "0.2", True, None, np.nan])
def test_bad_validation_split(value):
    model = regression_model()
    x, y = _data()
    fails(
        model,
        lambda: model.fit(x, y, validation_split=value, verbose=0),
        ValueError,
        "validation_split",
        "[0, 1)",
        f"validation_split={value!r}",
    )


def test_validation_split_leaving_an_empty_set():
    model = regression_model()
    x, y = _data()
    fails(
        model,
        lambda: model.fit(x, y, validation_split=0.01, verbose=0),
        ValueError,
        "validation_split=0.01",
        "32 samples",
        "0 validation samples",
    )


@pytest.mark.parametrize("value", [3, -1, 1.5, "loud", None])
@pytest.mark.parametrize("method", ["fit", "evaluate", "predict"])
def test_bad_verbose(method, value):
    model = regression_model()
    x, y = _data()
    if method == "predict":
        call = lambda: model.predict(x, verbose=value)  # noqa: E731
    else:
        call = lambda: getattr(model, method)(x, y, verbose=value)  # noqa: E731
    fails(model, call, ValueError, "verbose", "(0, 1, 2, 'auto')", f"verbose={value!r}")


@pytest.mark.parametrize(
    "name,value,expected",
    [
        ("steps_per_epoch", 0, "positive int"),
        ("validation_freq", 0, "positive int"),
        ("validation_batch_size", -2, "positive int"),
        ("initial_epoch", -1, "non-negative int"),
        ("seed", -5, "non-negative int"),
        ("seed", 1.5, "non-negative int"),
        ("shuffle", "batch", "True or False"),
    ],
)
def test_bad_fit_options(name, value, expected):
    model = regression_model()
    x, y = _data()
    fails(
        model,
        lambda: model.fit(x, y, verbose=0, validation_split=0.25, **{name: value}),
        ValueError,
        name,
        expected,
        f"{name}={value!r}",
    )


def test_unknown_fit_keyword():
    model = regression_model()
    x, y = _data()
    fails(model, lambda: model.fit(x, y, verbose=0, epoch=3), TypeError, "epoch")


# ------------------------------------------------------------------ dtypes
BAD_DTYPE_ARRAYS = {
    "object": lambda a: a.astype(object),
    "string": lambda a: a.astype(str),
    "complex": lambda a: a.astype(np.complex64),
}


@pytest.mark.parametrize("kind", sorted(BAD_DTYPE_ARRAYS))
@pytest.mark.parametrize("where", ["x", "y", "sample_weight"])
@pytest.mark.parametrize("method", METHODS_XY)
def test_non_numeric_dtypes(backend, method, where, kind):
    model = regression_model()
    x, y = _data()
    arrays = {"x": x, "y": y, "sample_weight": np.ones(N)}
    arrays[where] = BAD_DTYPE_ARRAYS[kind](arrays[where])
    kwargs = {"sample_weight": arrays["sample_weight"]} if where == "sample_weight" else {}
    fails(
        model,
        call_xy(model, method, arrays["x"], arrays["y"], **kwargs),
        TypeError,
        f"expected {where} with a numeric or bool dtype",
        f"Received: {where}.dtype={arrays[where].dtype}",
    )


@pytest.mark.parametrize("kind", sorted(BAD_DTYPE_ARRAYS))
def test_non_numeric_dtype_in_predict(kind):
    model = regression_model()
    x = BAD_DTYPE_ARRAYS[kind](_data()[0])
    fails(
        model,
        lambda: model.predict(x),
        TypeError,
        "expected x with a numeric or bool dtype",
        f"x.dtype={x.dtype}",
    )


def test_ragged_nested_lists():
    model = regression_model()
    fails(
        model,
        lambda: model.predict([[1.0] * F, [1.0] * (F - 1)]),
        TypeError,
        "expected x as an array of numbers",
        "Received: list",
    )


def test_none_x():
    model = regression_model()
    x, y = _data()
    fails(model, lambda: model.fit(None, y, verbose=0), ValueError, "x", "Received: None")
    fails(model, lambda: model.fit(x, None, verbose=0), ValueError, "targets y", "y=None")
    fails(model, lambda: model.evaluate(x, None, verbose=0), ValueError, "targets y", "y=None")


# ------------------------------------------------------------------ weights
def test_bad_sample_weight(backend):
    model = regression_model()
    x, y = _data()
    fails(
        model,
        lambda: model.fit(x, y, sample_weight=np.ones(N - 1), verbose=0),
        ValueError,
        "sample_weight of shape (32,)",
        "sample_weight.shape=(31,)",
    )
    fails(
        model,
        lambda: model.fit(x, y, sample_weight=np.ones((N, 2)), verbose=0),
        ValueError,
        "sample_weight of shape (32,)",
        "sample_weight.shape=(32, 2)",
    )
    sw = np.ones(N)
    sw[6] = -2.0
    fails(
        model,
        lambda: model.fit(x, y, sample_weight=sw, verbose=0),
        ValueError,
        "non-negative sample_weight",
        "sample_weight[6]=-2",
    )


@pytest.mark.parametrize(
    "class_weight,fragments",
    [
        ([1.0, 2.0], ("class_weight as a dict", "Received: list")),
        ({-1: 2.0}, ("non-negative int class indices", "key -1")),
        ({"a": 2.0}, ("non-negative int class indices", "key 'a'")),
        ({0: float("nan")}, ("finite non-negative", "class_weight[0]=nan")),
        ({1: -1.0}, ("finite non-negative", "class_weight[1]=-1.0")),
    ],
)
def test_bad_class_weight(backend, class_weight, fragments):
    model, x, labels = classifier()
    exc = TypeError if isinstance(class_weight, list) else ValueError
    fails(
        model, lambda: model.fit(x, labels, class_weight=class_weight, verbose=0), exc, *fragments
    )


# ------------------------------------------------------------------ validation_data
@pytest.mark.parametrize(
    "make,exc,fragments",
    [
        (lambda x, y: (x,), ValueError, ("(x_val, y_val)", "tuple of length 1")),
        (lambda x, y: x, ValueError, ("(x_val, y_val)", "Received: ndarray")),
        (
            lambda x, y: (x[:, :-1], y),
            ValueError,
            ("validation_data: Dense expected input with last dimension 20", "x.shape=(32, 19)"),
        ),
        (lambda x, y: (x, y[:5]), ValueError, ("validation_data:", "len(y)=5")),
        (
            lambda x, y: (x, np.full_like(y, np.nan)),
            ValueError,
            ("validation_data: expected finite values in y",),
        ),
        (lambda x, y: (x.astype(str), y), TypeError, ("validation_data:", "x.dtype=<U")),
    ],
)
def test_bad_validation_data(backend, make, exc, fragments):
    model = regression_model()
    x, y = _data()
    fails(model, lambda: model.fit(x, y, validation_data=make(x, y), verbose=0), exc, *fragments)


def test_bad_validation_data_does_not_build_an_unbuilt_model():
    model = fastnn.Sequential([Dense(4), Dense(1)])
    model.compile("adam", "mse")
    x, y = _data()
    fails(
        model,
        lambda: model.fit(x, y, validation_data=(x[:, :5], y), verbose=0),
        ValueError,
        "validation_data",
        "last dimension 20",
        "x.shape=(32, 5)",
    )
    assert not model.built
    # the model still adapts to the first good data it sees
    model.fit(x[:, :5], y, verbose=0)
    assert model.get_weights()[0].shape == (5, 4)


def test_failed_first_fit_leaves_the_model_free_to_take_another_input_shape():
    model = fastnn.Sequential([Dense(3, activation="relu"), Dense(1)])
    model.compile("adam", "mse")
    x, y = _data()
    fails(model, lambda: model.fit(x[:, :7], y[:10], verbose=0), ValueError, "len(x)=32")
    fails(model, lambda: model.fit(x[:, :7].astype(str), y, verbose=0), TypeError, "x.dtype")
    assert not model.built
    model.fit(x, y, verbose=0)
    assert model.get_weights()[0].shape == (F, 3)


# ------------------------------------------------------------------ identifiers
def test_unknown_optimizer_lists_known_names():
    model = regression_model()
    msg = fails(
        model,
        lambda: model.compile(optimizer="adamm", loss="mse"),
        ValueError,
        "optimizer",
        "Received: 'adamm'",
    )
    for name in ("adam", "sgd", "rmsprop", "adagrad"):
        assert name in msg


def test_unknown_loss_lists_known_names():
    model = regression_model()
    msg = fails(
        model,
        lambda: model.compile(optimizer="sgd", loss="mean_sqared_error"),
        ValueError,
        "loss",
        "'mean_sqared_error'",
    )
    for name in ("mse", "binary_crossentropy", "sparse_categorical_crossentropy"):
        assert name in msg


def test_unknown_metric_lists_known_names_and_keeps_the_old_compile():
    model = regression_model()
    msg = fails(
        model,
        lambda: model.compile(optimizer="sgd", loss="mae", metrics=["acuracy"]),
        ValueError,
        "metric",
        "'acuracy'",
    )
    for name in ("accuracy", "mae", "mse"):
        assert name in msg
    assert model.optimizer.__class__.__name__ == "Adam"
    still_trains(model)


@pytest.mark.parametrize(
    "kwarg,value", [("optimizer", 3), ("loss", 3), ("loss", object()), ("optimizer", None)]
)
def test_uninterpretable_identifiers(kwarg, value):
    model = regression_model()
    kwargs = {"optimizer": "adam", "loss": "mse", kwarg: value}
    fails(model, lambda: model.compile(**kwargs), ValueError, kwarg, repr(value))


@pytest.mark.parametrize(
    "make",
    [
        lambda: Dense(3, activation="rellu"),
        lambda: Activation("softmaxx"),
        lambda: Dense(3, activation=3),
    ],
)
def test_unknown_activation_lists_known_names(make):
    msg = fails(None, make, ValueError, "activation")
    for name in ("relu", "sigmoid", "softmax", "tanh"):
        assert name in msg


@pytest.mark.parametrize("kwarg", ["kernel_initializer", "bias_initializer"])
@pytest.mark.parametrize("value", ["glorot", "GlorotUniformm", 3])
def test_unknown_initializer_lists_known_names(kwarg, value):
    msg = fails(None, lambda: Dense(3, **{kwarg: value}), ValueError, "initializer", repr(value))
    for name in ("glorot_uniform", "he_normal", "zeros", "orthogonal"):
        assert name in msg


# ------------------------------------------------------------------ layer arguments
@pytest.mark.parametrize("units", [0, -1, 2.5, "3", None, True])
def test_bad_dense_units(units):
    fails(
        None,
        lambda: Dense(units),
        ValueError,
        "Dense",
        "units",
        "positive int",
        f"Received: units={units!r}",
    )


@pytest.mark.parametrize("rate", [1.5, 1.0, -0.1, "0.5", None, np.nan])
def test_bad_dropout_rate(rate):
    fails(
        None,
        lambda: Dropout(rate),
        ValueError,
        "Dropout",
        "rate",
        "[0, 1)",
        f"Received: rate={rate!r}",
    )


def test_dropout_rate_accepts_numpy_floats():
    assert Dropout(np.float32(0.25)).rate == 0.25


@pytest.mark.parametrize(
    "make,layer",
    [
        (lambda: Dense(3, foo=1), "Dense"),
        (lambda: Dense(3, activaton="relu"), "Dense"),
        (lambda: Dropout(0.5, foo=1), "Dropout"),
        (lambda: Flatten(foo=1), "Flatten"),
        (lambda: Activation("relu", foo=1), "Activation"),
        (lambda: Input(shape=(3,), foo=1), "InputLayer"),
        (lambda: InputLayer(input_shape=(3,), foo=1), "InputLayer"),
    ],
)
def test_unexpected_layer_keywords(make, layer):
    fails(None, make, TypeError, layer, "unexpected keyword argument")


def test_unexpected_compile_keywords_keep_the_old_compile():
    model = regression_model()
    fails(
        model,
        lambda: model.compile("sgd", "mse", lr=0.1),
        TypeError,
        "unexpected keyword argument",
        "'lr'",
    )
    fails(
        model,
        lambda: model.compile("sgd", "mse", loss_weights=[2.0]),
        TypeError,
        "loss_weights",
        "not supported",
        "loss_weights=[2.0]",
    )


@pytest.mark.parametrize(
    "shape,exc",
    # (None, 3) is a free length now (tests/test_variable_length.py); ("a", 3) is not a size
    [((-1,), ValueError), ((0, 3), ValueError), (("a", 3), TypeError), ("abc", TypeError)],
)
def test_bad_input_shape(shape, exc):
    fails(None, lambda: Dense(3, input_shape=shape), exc, "input_shape", "Received: input_shape=")
    fails(None, lambda: Input(shape=shape), exc, "input_shape")


def test_input_layer_without_shape():
    fails(
        None, lambda: InputLayer(), ValueError, "InputLayer expected input_shape", "Received: None"
    )


def test_bad_sequential_arguments():
    fails(
        None,
        lambda: fastnn.Sequential(dtype="int32"),
        ValueError,
        "dtype",
        "float32",
        "dtype=int32",
    )
    fails(None, lambda: fastnn.Sequential(Dense(3)), TypeError, "list of Layer", "Received: Dense")
    model = regression_model()
    fails(model, lambda: model.add("dense"), TypeError, "Layer", "Received: str")
    fails(model, lambda: model.add(Input(shape=(3,))), ValueError, "first layer")


def test_pop_from_an_empty_model():
    model = fastnn.Sequential([Input(shape=(3,))])
    fails(model, model.pop, ValueError, "pop", "no layers")
    assert len(model._layers) == 1


def test_layer_input_shape_that_disagrees_with_the_model():
    model = fastnn.Sequential([Input(shape=(4,)), Dense(3, input_shape=(5,))])
    fails(
        model, lambda: model.build(), ValueError, "expected input of shape (5,)", "Received: (4,)"
    )
    assert not model.built


def test_callbacks_must_be_callbacks():
    model = regression_model()
    x, y = _data()
    fails(
        model,
        lambda: model.fit(x, y, callbacks=[object()], verbose=0),
        TypeError,
        "callbacks",
        "callbacks[0]",
        "object",
    )
    fails(
        model,
        lambda: model.fit(x, y, callbacks=fastnn.callbacks.History(), verbose=0),
        TypeError,
        "list of Callback",
        "Received: History",
    )


# ------------------------------------------------------------------ set_weights
def test_set_weights_wrong_count():
    model = regression_model()
    w = model.get_weights()
    fails(model, lambda: model.set_weights(w[:-1]), ValueError, "list of 4 arrays", "Received: 3")
    fails(
        model, lambda: model.set_weights(w + [w[-1]]), ValueError, "list of 4 arrays", "Received: 5"
    )


def test_set_weights_writes_nothing_if_any_array_is_wrong(backend):
    model = regression_model()
    good = [w + 1.0 for w in model.get_weights()]  # valid, different values
    bad = list(good)
    bad[-1] = np.zeros(2, np.float32)  # only the last one is wrong
    fails(
        model,
        lambda: model.set_weights(bad),
        ValueError,
        "weights[3] of shape (1,)",
        "Received: weights[3].shape=(2,)",
    )
    bad = list(good)
    bad[2] = good[2].T.copy().reshape(1, 8)
    fails(
        model,
        lambda: model.set_weights(bad),
        ValueError,
        "weights[2] of shape (8, 1)",
        "weights[2].shape=(1, 8)",
    )
    bad = list(good)
    bad[1] = bad[1].astype(str)
    fails(model, lambda: model.set_weights(bad), TypeError, "weights[1]", "dtype=<U")
    bad = list(good)
    bad[3] = np.array([np.inf], np.float32)
    fails(
        model,
        lambda: model.set_weights(bad),
        ValueError,
        "finite values in weights[3]",
        "inf at index (0,)",
    )
    bad = list(good)
    bad[0] = np.full((F, 8), 1e200)  # finite in float64, not in float32
    fails(
        model, lambda: model.set_weights(bad), ValueError, "finite values in weights[0]", "float32"
    )
    model.set_weights(good)
    for a, b in zip(model.get_weights(), good):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("value", [3, None, np.zeros(4)])
def test_set_weights_not_a_list(value):
    model = regression_model()
    fails(
        model,
        lambda: model.set_weights(value),
        TypeError,
        "list of 4 arrays",
        f"Received: {type(value).__name__}",
    )


def test_weights_of_an_unbuilt_model():
    model = fastnn.Sequential([Dense(3)])
    for call in (
        model.get_weights,
        lambda: model.set_weights([]),
        model.summary,
        model.count_params,
    ):
        fails(model, call, ValueError, "input shape", "input_shape=")
