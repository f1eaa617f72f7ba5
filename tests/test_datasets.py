import gzip
import io
import struct

import numpy as np
import pytest

import fastnn.datasets as ds

# ---------------------------------------------------------------------------
# digits


def test_load_digits_shapes_and_dtypes():
    x, y = ds.load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == 0 and x.max() == 16
    assert np.array_equal(x, np.round(x))  # integer counts stored as floats
    assert set(np.unique(y)) == set(range(10))


def test_load_digits_class_counts():
    _, y = ds.load_digits()
    counts = np.bincount(y, minlength=10)
    assert counts.sum() == 1797
    assert counts.min() >= 174 and counts.max() <= 183
    assert counts.tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_load_digits_first_image_is_a_zero():
    x, y = ds.load_digits(return_images=True)
    assert x.shape == (1797, 8, 8)
    assert y[0] == 0
    assert x[0, 0].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]
    assert x[0, 7].tolist() == [0, 0, 6, 13, 10, 0, 0, 0]


def test_load_digits_images_match_rows_and_are_fresh_copies():
    flat, _ = ds.load_digits()
    images, _ = ds.load_digits(return_images=True)
    assert np.array_equal(images.reshape(-1, 64), flat)
    flat[:] = -1  # must not leak into the next call
    again, y = ds.load_digits()
    assert again.min() == 0
    y[:] = 99
    assert ds.load_digits()[1].max() == 9


# ---------------------------------------------------------------------------
# train_test_split


def test_split_partitions_the_samples():
    x = np.arange(50).reshape(25, 2)
    y = np.arange(25)
    x_tr, x_te, y_tr, y_te = ds.train_test_split(x, y, test_size=0.2, seed=3)
    assert len(x_te) == 5 and len(x_tr) == 20
    assert np.array_equal(x_tr[:, 0] // 2, y_tr)  # rows stay paired
    assert np.array_equal(x_te[:, 0] // 2, y_te)
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(25))


def test_split_is_seeded():
    x, y = np.arange(100.0)[:, None], np.arange(100)
    a = ds.train_test_split(x, y, test_size=10, seed=1)
    b = ds.train_test_split(x, y, test_size=10, seed=1)
    c = ds.train_test_split(x, y, test_size=10, seed=2)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not np.array_equal(a[3], c[3])


def test_split_stratified_keeps_proportions():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    x = np.arange(100)[:, None]
    _, _, y_tr, y_te = ds.train_test_split(x, y, test_size=0.2, stratify=True)
    assert np.bincount(y_te).tolist() == [12, 6, 2]
    assert np.bincount(y_tr).tolist() == [48, 24, 8]
    # uneven shares: 5 test samples out of 5/3/2 must still total 5, each class
    # getting its share rounded down or up
    y = np.repeat([0, 1, 2], [5, 3, 2])
    _, _, _, y_te = ds.train_test_split(y[:, None], y, test_size=0.5, stratify=True)
    counts = np.bincount(y_te, minlength=3)
    assert counts.sum() == 5
    assert np.all((counts >= [2, 1, 1]) & (counts <= [3, 2, 1]))


@pytest.mark.parametrize("test_size", [0, 0.0, 1.0, 10, -1, "0.2", None])
def test_split_rejects_bad_test_size(test_size):
    with pytest.raises(ValueError, match="expected test_size"):
        ds.train_test_split(np.zeros((10, 2)), np.zeros(10), test_size=test_size)


def test_split_rejects_mismatched_lengths():
    message = r"Received: x.shape=\(10, 2\), y.shape=\(9,\)"
    with pytest.raises(ValueError, match=message):
        ds.train_test_split(np.zeros((10, 2)), np.zeros(9))


# ---------------------------------------------------------------------------
# synthetic generators

GENERATORS = {
    "make_spirals": ((300, 2), np.float32, (300,), np.int64),
    "make_moons": ((300, 2), np.float32, (300,), np.int64),
    "make_sine_series": ((300, 50, 1), np.float32, (300, 1), np.float32),
    "make_adding_problem": ((300, 100, 2), np.float32, (300, 1), np.float32),
    "make_copy_problem": ((300, 30, 10), np.float32, (300, 30), np.int64),
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generator_shapes_and_dtypes(name):
    x_shape, x_dtype, y_shape, y_dtype = GENERATORS[name]
    x, y = getattr(ds, name)(n_samples=300)
    assert x.shape == x_shape and x.dtype == x_dtype
    assert y.shape == y_shape and y.dtype == y_dtype
    assert np.all(np.isfinite(x))


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generator_is_deterministic(name):
    make = getattr(ds, name)
    x1, y1 = make(n_samples=50, seed=7)
    x2, y2 = make(n_samples=50, seed=7)
    x3, _ = make(n_samples=50, seed=8)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert not np.array_equal(x1, x3)


@pytest.mark.parametrize("name", sorted(GENERATORS))
@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "10", None])
def test_generator_rejects_bad_n_samples(name, bad):
    with pytest.raises(ValueError, match=r"expected n_samples .*Received: n_samples="):
        getattr(ds, name)(n_samples=bad)


@pytest.mark.parametrize("name", ["make_spirals", "make_moons", "make_sine_series"])
@pytest.mark.parametrize("bad", [-0.1, float("nan"), "0.1"])
def test_generator_rejects_bad_noise(name, bad):
    with pytest.raises(ValueError, match="expected noise"):
        getattr(ds, name)(noise=bad)


def test_generator_rejects_bad_seed():
    with pytest.raises(ValueError, match="expected seed"):
        ds.make_moons(seed=-1)


def test_make_xor():
    x, y = ds.make_xor()
    assert x.dtype == np.float32 and y.dtype == np.float32
    assert x.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert y.tolist() == [[0], [1], [1], [0]]
    assert np.array_equal(y[:, 0], np.logical_xor(x[:, 0], x[:, 1]))


def test_make_spirals_classes_and_extent():
    x, y = ds.make_spirals(n_samples=301, n_classes=3)
    assert sorted(np.bincount(y).tolist()) == [100, 100, 101]
    # noise only moves points along their circle, so all stay in the unit disc
    assert np.linalg.norm(x, axis=1).max() <= 1.0 + 1e-6


def test_make_spirals_needs_a_point_per_class():
    with pytest.raises(ValueError, match="n_samples"):
        ds.make_spirals(n_samples=2, n_classes=3)


def test_make_moons_without_noise_lies_on_the_half_circles():
    x, y = ds.make_moons(n_samples=101, noise=0.0)
    assert np.bincount(y).tolist() == [51, 50]
    upper, lower = x[y == 0], x[y == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0, rtol=1e-6)
    radius = np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5)
    np.testing.assert_allclose(radius, 1.0, rtol=1e-6)
    assert upper[:, 1].min() >= 0 and lower[:, 1].max() <= 0.5


def test_make_sine_series_target_is_the_next_value():
    x, y = ds.make_sine_series(n_samples=20, timesteps=30, noise=0.0)
    s = x[:, :, 0].astype(np.float64)
    # A sampled sinusoid obeys s[t+1] + s[t-1] = 2 cos(w) s[t]; fit cos(w) per
    # sample on the window and extrapolate one step.
    c = ((s[:, 2:] + s[:, :-2]) * s[:, 1:-1]).sum(1) / (2 * (s[:, 1:-1] ** 2).sum(1))
    predicted = 2 * c * s[:, -1] - s[:, -2]
    np.testing.assert_allclose(predicted, y[:, 0], atol=1e-4)
    assert np.abs(x).max() <= 1.0


def test_make_adding_problem_markers_and_targets():
    T = 20
    x, y = ds.make_adding_problem(n_samples=500, timesteps=T, seed=3)
    values, marker = x[..., 0], x[..., 1]
    assert values.min() >= 0 and values.max() < 1
    assert set(np.unique(marker).tolist()) == {0.0, 1.0}
    assert np.all(marker[:, : T // 2].sum(1) == 1)
    assert np.all(marker[:, T // 2 :].sum(1) == 1)
    np.testing.assert_allclose(y[:, 0], (values * marker).sum(1), rtol=1e-6)
    # markers should reach both ends of each half over many samples
    positions = np.flatnonzero(marker.sum(0))
    assert positions.min() == 0 and positions.max() == T - 1


def test_make_adding_problem_rejects_one_timestep():
    with pytest.raises(ValueError, match=r"expected timesteps as an integer >= 2"):
        ds.make_adding_problem(timesteps=1)


def test_make_copy_problem_layout():
    L, K, D = 4, 5, 3
    x, y = ds.make_copy_problem(n_samples=40, sequence_length=L, n_symbols=K, delay=D)
    T = 2 * L + D
    assert x.shape == (40, T, K + 2) and y.shape == (40, T)
    assert np.all(x.sum(-1) == 1)  # one-hot
    tokens = x.argmax(-1)
    data = tokens[:, :L]
    assert data.min() >= 1 and data.max() <= K
    assert np.all(tokens[:, L : L + D - 1] == 0)
    assert np.all(tokens[:, L + D - 1] == K + 1)  # the go marker
    assert np.all(tokens[:, L + D :] == 0)
    assert np.all(y[:, : L + D] == 0)
    assert np.array_equal(y[:, L + D :], data)


# ---------------------------------------------------------------------------
# IDX / MNIST readers

IDX_CODES = {
    np.uint8: 0x08,
    np.int8: 0x09,
    np.int16: 0x0B,
    np.int32: 0x0C,
    np.float32: 0x0D,
    np.float64: 0x0E,
}


def idx_bytes(array, code=None):
    array = np.asarray(array)
    code = IDX_CODES[array.dtype.type] if code is None else code
    dims = struct.pack(f">{array.ndim}I", *array.shape)
    header = bytes([0, 0, code, array.ndim]) + dims
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, compress=False):
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("dtype", list(IDX_CODES))
@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, dtype, compress):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    path = write_idx(tmp_path / "a.idx", array, compress)
    back = ds.read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    assert np.array_equal(back, array)
    back[0, 0, 0] = 1  # the result must be writable
    assert np.array_equal(ds.read_idx(str(path)), array)  # str paths work too


def test_idx_reads_file_objects_and_1d():
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    assert ds.read_idx(io.BytesIO(idx_bytes(labels))).tolist() == [3, 1, 4, 1, 5]


def test_idx_rejects_truncated_files(tmp_path):
    data = idx_bytes(np.arange(24, dtype=np.int32).reshape(2, 3, 4))
    with pytest.raises(ValueError, match=r"expected 96 data bytes.*Received: 95 bytes"):
        ds.read_idx(io.BytesIO(data[:-1]))
    with pytest.raises(ValueError, match=r"header"):
        ds.read_idx(io.BytesIO(data[:10]))
    with pytest.raises(ValueError, match=r"magic number.*Received: a file of 2 bytes"):
        ds.read_idx(io.BytesIO(data[:2]))
    with pytest.raises(ValueError, match=r"trailing bytes"):
        ds.read_idx(io.BytesIO(data + b"\0"))
    truncated_gz = tmp_path / "t.gz"
    truncated_gz.write_bytes(gzip.compress(data)[:-12])
    with pytest.raises(ValueError, match="gzip"):
        ds.read_idx(truncated_gz)


@pytest.mark.parametrize("magic", [b"\x01\x00\x08\x01", b"\x00\x00\x07\x01", b"PK\x03\x04"])
def test_idx_rejects_bad_magic(magic):
    data = magic + struct.pack(">I", 2) + b"\x01\x02"
    with pytest.raises(ValueError, match=r"expected an IDX magic number.*Received: 0x"):
        ds.read_idx(io.BytesIO(data))


def make_mnist_folder(folder, prefix, n, compress_images):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    suffix = ".gz" if compress_images else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images, compress_images)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)
    return images, labels


@pytest.mark.parametrize("kind,prefix", [("train", "train"), ("test", "t10k")])
def test_load_mnist(tmp_path, kind, prefix):
    images, labels = make_mnist_folder(tmp_path, prefix, 6, compress_images=True)
    x, y = ds.load_mnist(tmp_path, kind=kind)
    assert x.dtype == np.uint8 and x.shape == (6, 28, 28)
    assert y.dtype == np.uint8 and y.shape == (6,)
    assert np.array_equal(x, images) and np.array_equal(y, labels)


def test_load_mnist_names_the_missing_files(tmp_path):
    make_mnist_folder(tmp_path, "train", 2, compress_images=False)
    with pytest.raises(
        FileNotFoundError,
        match=r"'t10k-images-idx3-ubyte' or "
        r"'t10k-images-idx3-ubyte.gz'",
    ):
        ds.load_mnist(tmp_path, kind="test")
    with pytest.raises(FileNotFoundError, match="not a folder"):
        ds.load_mnist(tmp_path / "nowhere")


def test_load_mnist_rejects_bad_kind_and_mismatched_counts(tmp_path):
    with pytest.raises(ValueError, match=r"Received: kind='validation'"):
        ds.load_mnist(tmp_path, kind="validation")
    make_mnist_folder(tmp_path, "train", 3, compress_images=False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"expected labels as uint8 of shape \(3,\)"):
        ds.load_mnist(tmp_path)


def test_make_sentiment_is_imdb_shaped_seeded_and_learnable_by_its_signal_words():
    x, y = ds.make_sentiment(300, num_words=100, min_len=5, max_len=30, seed=4)
    x2, y2 = ds.make_sentiment(300, num_words=100, min_len=5, max_len=30, seed=4)
    assert x.dtype == object and x.shape == (300,) and y.dtype == np.int64
    assert all(a == b for a, b in zip(x, x2)) and (y == y2).all()
    lengths = np.array([len(s) for s in x])
    assert lengths.min() >= 5 and lengths.max() <= 30
    assert all(s[0] == 1 and 0 not in s and max(s) < 100 for s in x)
    # the label is the class of the signal words the sequence holds
    for s, label in zip(x, y):
        pos, neg = any(2 <= w <= 6 for w in s), any(7 <= w <= 11 for w in s)
        assert (pos, neg) == ((True, False) if label else (False, True))
    with pytest.raises(ValueError):
        ds.make_sentiment(10, num_words=10)
