import numpy as np
import pytest

from fastnn.preprocessing import StandardScaler, encode_labels, one_hot, to_categorical

# Column 0 has mean 5 and population standard deviation 2 (worked by hand:
# squared deviations 9+1+1+1+0+0+4+16 = 32, 32/8 = 4). Column 1 is constant
# (0.1 is not exact in binary, which tempts a float64 mean off by an ulp).
# Column 2 alternates -1/+1: mean 0, standard deviation 1.
HAND = np.array(
    [
        [2, 0.1, -1],
        [4, 0.1, 1],
        [4, 0.1, -1],
        [4, 0.1, 1],
        [5, 0.1, -1],
        [5, 0.1, 1],
        [7, 0.1, -1],
        [9, 0.1, 1],
    ]
)
HAND_SCALED = np.array(
    [
        [-1.5, 0, -1],
        [-0.5, 0, 1],
        [-0.5, 0, -1],
        [-0.5, 0, 1],
        [0, 0, -1],
        [0, 0, 1],
        [1, 0, -1],
        [2, 0, 1],
    ]
)


def test_scaler_matches_hand_computation():
    scaler = StandardScaler().fit(HAND)
    np.testing.assert_allclose(scaler.mean_, [5, 0.1, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(scaler.var_, [4, 0, 1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(scaler.scale_, [2, 1, 1], rtol=0, atol=1e-12)
    assert scaler.n_features_in_ == 3 and scaler.n_samples_seen_ == 8
    np.testing.assert_allclose(scaler.transform(HAND), HAND_SCALED, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scaler_keeps_float_dtype(dtype):
    x = HAND.astype(dtype)
    scaler = StandardScaler()
    out = scaler.fit_transform(x)
    assert out.dtype == dtype
    assert scaler.mean_.dtype == dtype and scaler.scale_.dtype == dtype
    np.testing.assert_allclose(out, HAND_SCALED, atol=1e-6)
    # the constant column is centred to ~0, not blown up by a tiny scale
    assert np.abs(out[:, 1]).max() < 1e-6


def test_scaler_integer_input_becomes_float32():
    out = StandardScaler().fit_transform(np.array([[1, 2], [3, 2]]))
    assert out.dtype == np.float32
    assert out.tolist() == [[-1, 0], [1, 0]]


def test_scaler_statistics_are_accumulated_in_float64():
    rng = np.random.default_rng(0)
    x = (1000 + rng.standard_normal((10_000, 4))).astype(np.float32)
    scaler = StandardScaler().fit(x)
    exact = x.astype(np.float64)
    assert np.array_equal(scaler.mean_, exact.mean(0).astype(np.float32))
    assert np.array_equal(scaler.scale_, exact.std(0).astype(np.float32))


def test_scaler_on_sequences_uses_the_last_axis():
    rng = np.random.default_rng(1)
    x = rng.normal([1.0, -2.0, 30.0], [0.5, 3.0, 10.0], size=(20, 7, 3))
    scaler = StandardScaler().fit(x)
    flat = StandardScaler().fit(x.reshape(-1, 3))
    np.testing.assert_array_equal(scaler.mean_, flat.mean_)
    np.testing.assert_array_equal(scaler.scale_, flat.scale_)
    out = scaler.transform(x)
    assert out.shape == (20, 7, 3)
    np.testing.assert_allclose(out.mean(axis=(0, 1)), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=(0, 1)), 1, rtol=1e-12)
    # a scaler fitted on sequences also accepts plain rows with the same features
    assert scaler.transform(x[:, 0, :]).shape == (20, 3)


@pytest.mark.parametrize("shape", [(50, 4), (6, 5, 4)])
def test_scaler_inverse_round_trip(shape):
    rng = np.random.default_rng(2)
    x = rng.uniform(-100, 100, shape)
    scaler = StandardScaler().fit(x)
    back = scaler.inverse_transform(scaler.transform(x))
    np.testing.assert_allclose(back, x, rtol=1e-12)
    # zero in scaled units is the mean in original units
    origin = scaler.inverse_transform(np.zeros((1, 4)))
    np.testing.assert_allclose(origin[0], scaler.mean_)


def test_scaler_refuses_use_before_fit():
    with pytest.raises(RuntimeError, match="before fit"):
        StandardScaler().transform(HAND)
    with pytest.raises(RuntimeError, match="before fit"):
        StandardScaler().inverse_transform(HAND)


def test_scaler_validates_inputs():
    scaler = StandardScaler().fit(HAND)
    message = r"last dimension 3. Received: x.shape=\(8, 2\)"
    with pytest.raises(ValueError, match=message):
        scaler.transform(HAND[:, :2])
    with pytest.raises(ValueError, match=r"Received: x.shape=\(5,\)"):
        StandardScaler().fit(np.arange(5.0))
    with pytest.raises(ValueError, match="at least one sample"):
        StandardScaler().fit(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        StandardScaler().fit([[1.0, np.nan], [2.0, 3.0]])
    with pytest.raises(ValueError, match="real numeric"):
        StandardScaler().fit([["a", "b"]])


def test_to_categorical_basic():
    out = to_categorical([0, 2, 1, 2])
    assert out.dtype == np.float32 and out.shape == (4, 3)
    assert out.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 1]]


def test_to_categorical_shapes_follow_keras():
    assert to_categorical(np.array([[1], [0]]), 4).shape == (2, 4)  # (N, 1) squeezed
    seq = to_categorical(np.array([[0, 1, 2], [2, 2, 0]]))
    assert seq.shape == (2, 3, 3)
    assert np.array_equal(seq.argmax(-1), [[0, 1, 2], [2, 2, 0]])
    assert to_categorical(3, num_classes=5).tolist() == [0, 0, 0, 1, 0]


def test_to_categorical_options_and_alias():
    out = to_categorical(np.array([1.0, 0.0]), num_classes=3, dtype="int8")
    assert out.dtype == np.int8 and out.tolist() == [[0, 1, 0], [1, 0, 0]]
    assert one_hot is to_categorical


@pytest.mark.parametrize(
    "y,kwargs,message",
    [
        ([0, 3], {"num_classes": 3}, r"\[0, 3\). Received: labels from 0 to 3"),
        ([-1, 1], {}, r"labels in \[0, 2\)"),
        ([0.5, 1.0], {}, "non-integral"),
        (["a"], {}, "integer labels"),
        ([0, 1], {"num_classes": 0}, "positive integer"),
        ([], {}, "num_classes when y is empty"),
    ],
)
def test_to_categorical_errors(y, kwargs, message):
    with pytest.raises(ValueError, match=message):
        to_categorical(y, **kwargs)


def test_encode_labels():
    codes, classes = encode_labels(["dog", "cat", "emu", "cat"])
    assert codes.dtype == np.int64
    assert codes.tolist() == [1, 0, 2, 0]
    assert classes.tolist() == ["cat", "dog", "emu"]
    y = np.array([[10, 30], [20, 10]])
    codes, classes = encode_labels(y)
    assert codes.shape == (2, 2)
    assert np.array_equal(classes[codes], y)


# ---- pad_sequences: goldens from keras/src/utils/sequence_utils_test.py ----------------


def test_pad_sequences_keras_goldens():
    from fastnn.preprocessing.sequence import pad_sequences

    a = [[1], [1, 2], [1, 2, 3]]
    cases = [
        (dict(maxlen=3, padding="pre"), [[0, 0, 1], [0, 1, 2], [1, 2, 3]]),
        (dict(maxlen=3, padding="post"), [[1, 0, 0], [1, 2, 0], [1, 2, 3]]),
        (dict(maxlen=2, truncating="pre"), [[0, 1], [1, 2], [2, 3]]),
        (dict(maxlen=2, truncating="post"), [[0, 1], [1, 2], [1, 2]]),
        (dict(maxlen=3, value=1), [[1, 1, 1], [1, 1, 2], [1, 2, 3]]),
    ]
    for kwargs, expected in cases:
        out = pad_sequences(a, **kwargs)
        assert out.dtype == np.int32
        np.testing.assert_array_equal(out, expected)
    f = [[1.2], [1.2, 2.3], [1.2, 2.3, 3.4]]
    out = pad_sequences(f, maxlen=2, truncating="pre", dtype="float32")
    np.testing.assert_allclose(out, [[0, 1.2], [1.2, 2.3], [2.3, 3.4]], rtol=1e-6)
    s = [["1"], ["1", "2"], ["1", "2", "3"]]
    out = pad_sequences(s, maxlen=3, padding="post", value="pad", dtype="<U3")
    np.testing.assert_array_equal(out, [["1", "pad", "pad"], ["1", "2", "pad"], ["1", "2", "3"]])
    with pytest.raises(ValueError, match="dtype=object for strings"):
        pad_sequences(s, value="pad")


def test_pad_sequences_edges_and_spellings():
    import fastnn
    from fastnn.utils import pad_sequences

    assert pad_sequences is fastnn.preprocessing.sequence.pad_sequences
    assert pad_sequences([]).shape == (0, 0)
    assert pad_sequences([[1, 2]], maxlen=0).shape == (1, 0)  # Keras: s[-0:] keeps all
    np.testing.assert_array_equal(pad_sequences([[], [5]]), [[0], [5]])
    vec = pad_sequences([np.ones((2, 3)), np.ones((1, 3))], dtype="float32")
    assert vec.shape == (2, 2, 3) and vec[1, 0].sum() == 0
    with pytest.raises(ValueError, match=r"elements of shape \(3,\)"):
        pad_sequences([np.ones((2, 3)), np.ones((1, 4))])
    with pytest.raises(ValueError, match="padding 'pre' or 'post'"):
        pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match="sequences\\[1\\] of type int"):
        pad_sequences([[1], 2])
    with pytest.raises(ValueError, match="maxlen as a non-negative int"):
        pad_sequences([[1]], maxlen=-1)
    assert fastnn.Input is fastnn.layers.Input


# ---- timeseries_dataset_from_array (Keras 3.15, keras/src/utils/timeseries_dataset_utils.py)


def test_timeseries_windows_match_keras_rules():
    from fastnn.utils import timeseries_dataset_from_array

    # keras timeseries_dataset_utils_test.py, test_basics: 100 steps, windows of 9
    data = np.arange(100)
    targets = data * 2
    ds = timeseries_dataset_from_array(data, targets, sequence_length=9, batch_size=5)
    batches = list(ds)
    assert len(batches) == len(ds) == 19  # 92 windows
    for i, (x, y) in enumerate(batches[:-1]):
        assert x.shape == (5, 9)
        for j in range(5):
            start = i * 5 + j
            np.testing.assert_array_equal(x[j], np.arange(start, start + 9))
            assert y[j] == 2 * start
    # sampling rate, stride, start and end
    ds = timeseries_dataset_from_array(
        data,
        None,
        sequence_length=3,
        sequence_stride=4,
        sampling_rate=2,
        batch_size=None,
        start_index=10,
        end_index=30,
    )
    samples = list(ds)
    np.testing.assert_array_equal(samples[0], [10, 12, 14])
    np.testing.assert_array_equal(samples[1], [14, 16, 18])
    assert len(samples) == len(range(0, 20 - 4, 4))
    # shuffle: the same permutation as Keras' RandomState(seed).shuffle of the starts
    ds = timeseries_dataset_from_array(
        data, targets, sequence_length=9, batch_size=92, shuffle=True, seed=123
    )
    x, y = next(iter(ds))
    starts = np.arange(92)
    np.random.RandomState(123).shuffle(starts)
    np.testing.assert_array_equal(x[:, 0], starts)
    np.testing.assert_array_equal(y, 2 * starts)
    with pytest.raises(ValueError, match="sampling_rate"):
        timeseries_dataset_from_array(data, None, 3, sampling_rate=0)
    with pytest.raises(ValueError, match="sequence_stride"):
        timeseries_dataset_from_array(data, None, 3, sequence_stride=100)


def test_fit_evaluate_and_predict_take_a_timeseries_dataset():
    import fastnn
    from fastnn.layers import LSTM, Dense, Input
    from fastnn.utils import timeseries_dataset_from_array

    t = np.arange(400, dtype=np.float32)
    series = np.stack([np.sin(t / 7), np.cos(t / 11)], axis=1)
    target = np.roll(series[:, 0], -10)  # the value 10 steps after each window's start
    ds = timeseries_dataset_from_array(series, target, sequence_length=10, batch_size=32)
    fastnn.set_seed(0)
    model = fastnn.Sequential([Input((10, 2)), LSTM(8), Dense(1)])
    model.compile("adam", "mse")
    history = model.fit(ds, epochs=3, verbose=0, validation_data=ds)
    assert len(history.history["val_loss"]) == 3
    x, y = ds.arrays()
    np.testing.assert_allclose(
        model.evaluate(ds, verbose=0), model.evaluate(x, y, batch_size=32, verbose=0), rtol=1e-6
    )
    np.testing.assert_array_equal(model.predict(ds, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="no y with a dataset"):
        model.fit(ds, y, verbose=0)
    with pytest.raises(ValueError, match="no batch_size"):
        model.evaluate(ds, batch_size=8, verbose=0)
