"""Small real data sets and seeded synthetic tasks.

Everything here works offline: the digits data ship inside the package, the
synthetic tasks are generated from a seed, and the MNIST readers only parse IDX
files the user already has on disk. Nothing is ever downloaded.

Conventions: inputs ``x`` are float32 and batch-first, ``(N, F)`` for points and
``(N, T, F)`` for sequences. Class labels are int64 ``(N,)`` (or ``(N, T)`` per
timestep) so they can feed a sparse categorical loss directly; regression and
binary targets are float32 ``(N, 1)``. The same ``seed`` always gives the same
arrays.
"""

import functools
import gzip
import math
import numbers
import os
import zlib
from importlib import resources

import numpy as np

from fastnn.backend.contract import args as _args

__all__ = [
    "load_digits",
    "train_test_split",
    "make_xor",
    "make_spirals",
    "make_moons",
    "make_sine_series",
    "make_adding_problem",
    "make_copy_problem",
    "read_idx",
    "load_mnist",
]


# ---------------------------------------------------------------------------
# argument checks (shared by every public function)


def _check_int(func, name, value, minimum):
    # bool is an int subclass, but n_samples=True is almost certainly a mistake
    return _args.integer(func, name, value, minimum)


def _check_noise(func, value, name="noise"):
    return _args.real(func, name, value, low=0)


def _rng(func, seed):
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    _check_int(func, "seed", seed, 0)
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------
# bundled data


@functools.lru_cache(maxsize=1)
def _digits_table():
    # Parsed once per process; callers get copies, so the cache cannot be mutated.
    source = resources.files("fastnn.data").joinpath("digits.csv.gz")
    with source.open("rb") as raw, gzip.open(raw, "rt", encoding="ascii") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.int64)
    if table.shape != (1797, 65):
        raise ValueError(
            "load_digits expected the bundled table to have shape (1797, 65). "
            f"Received: shape={table.shape}; the package data is damaged"
        )
    table.flags.writeable = False
    return table


def load_digits(return_images=False):
    """Load the UCI optical recognition of handwritten digits data (test part).

    1,797 grey-level 8x8 images of the digits 0-9 (174 to 183 per class).
    Each pixel counts the ink in a 4x4 block of a 32x32 bitmap, so values are
    integers 0..16 stored as float32 (divide by 16 to scale into [0, 1]).
    Source and licence (CC BY 4.0): ``fastnn/data/DIGITS_LICENSE.txt``.

    Parameters
    ----------
    return_images : bool, default False
        If True, return ``x`` as images of shape ``(1797, 8, 8)`` instead of
        flat rows of shape ``(1797, 64)``.

    Returns
    -------
    x : ndarray of float32, shape (1797, 64) or (1797, 8, 8)
        Pixel counts in 0..16, row-major within each image.
    y : ndarray of int64, shape (1797,)
        Digit labels in 0..9.
    """
    table = _digits_table()
    x = table[:, :64].astype(np.float32)
    y = table[:, 64].copy()
    if return_images:
        x = x.reshape(-1, 8, 8)
    return x, y


# ---------------------------------------------------------------------------
# splitting


def _n_test(test_size, n):
    func = "train_test_split"
    if isinstance(test_size, numbers.Integral) and not isinstance(test_size, bool):
        count = int(test_size)
    elif isinstance(test_size, numbers.Real) and 0 < test_size < 1:
        count = int(round(test_size * n))
    else:
        raise ValueError(
            f"{func} expected test_size to be a float in (0, 1) or an integer "
            f"count. Received: test_size={test_size!r}"
        )
    if not 1 <= count <= n - 1:
        raise ValueError(
            f"{func} expected test_size to leave at least one sample in each "
            f"part (1 to {n - 1} test samples). Received: test_size={test_size!r} "
            f"with {n} samples, i.e. {count} test samples"
        )
    return count


def _stratified_test_indices(labels, n_test, rng):
    classes, codes = np.unique(labels, return_inverse=True)
    counts = np.bincount(codes, minlength=len(classes))
    # Share n_test between classes in proportion to their size; the rounding
    # leftovers go to the classes with the largest fractional parts, so the
    # total is exactly n_test and the choice does not depend on the seed.
    exact = n_test * counts / counts.sum()
    per_class = np.floor(exact).astype(np.int64)
    leftover = n_test - per_class.sum()
    order = np.argsort(-(exact - per_class), kind="stable")
    per_class[order[:leftover]] += 1
    picked = [rng.permutation(np.flatnonzero(codes == c))[:k] for c, k in enumerate(per_class)]
    return np.concatenate(picked)


def train_test_split(x, y, test_size=0.2, seed=0, stratify=False):
    """Split arrays into a shuffled training part and a test part.

    Parameters
    ----------
    x : array_like, shape (N, ...)
        Inputs; only the first axis is indexed.
    y : array_like, shape (N, ...)
        Targets with the same first dimension as ``x``.
    test_size : float in (0, 1) or int, default 0.2
        Fraction of the samples (rounded to the nearest count) or the number
        of samples that go to the test part. Both parts must be non-empty.
    seed : int, numpy.random.Generator or None, default 0
        Seed of the shuffle. The same integer always gives the same split.
    stratify : bool, default False
        If True, keep the class proportions of ``y`` in both parts (``y``
        must hold one label per sample: shape ``(N,)`` or ``(N, 1)``).

    Returns
    -------
    x_train, x_test, y_train, y_test : ndarray
        Shuffled copies with the dtypes of ``x`` and ``y``; the first axes
        have ``N - n_test`` and ``n_test`` entries.
    """
    func = "train_test_split"
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(
            f"{func} expected x and y with a sample axis. "
            f"Received: x.shape={x.shape}, y.shape={y.shape}"
        )
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"{func} expected x and y with the same number of samples. "
            f"Received: x.shape={x.shape}, y.shape={y.shape}"
        )
    n = x.shape[0]
    n_test = _n_test(test_size, n)
    rng = _rng(func, seed)
    if stratify:
        if not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
            raise ValueError(
                f"{func} with stratify=True expected y of shape (N,) or (N, 1) "
                f"holding one class label per sample. Received: y.shape={y.shape}"
            )
        test = _stratified_test_indices(y.reshape(-1), n_test, rng)
        is_test = np.zeros(n, dtype=bool)
        is_test[test] = True
        test = rng.permutation(test)
        train = rng.permutation(np.flatnonzero(~is_test))
    else:
        order = rng.permutation(n)
        test, train = order[:n_test], order[n_test:]
    return x[train], x[test], y[train], y[test]


# ---------------------------------------------------------------------------
# synthetic classification tasks


def make_xor():
    """The four points of the XOR truth table.

    Returns
    -------
    x : ndarray of float32, shape (4, 2)
        ``[[0, 0], [0, 1], [1, 0], [1, 1]]``.
    y : ndarray of float32, shape (4, 1)
        ``[[0], [1], [1], [0]]``, ready for a sigmoid output and binary
        cross-entropy.
    """
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([[0], [1], [1], [0]], dtype=np.float32)
    return x, y


def make_spirals(n_samples=400, n_classes=2, noise=0.2, seed=0):
    """Interleaved spiral arms in the plane, one arm per class.

    Each arm starts at the origin and winds outward 1.5 turns to radius 1;
    arm ``k`` is rotated by ``2*pi*k/n_classes``. Samples are shuffled.

    Parameters
    ----------
    n_samples : int, default 400
        Total number of points, shared as evenly as possible between classes
        (must be at least ``n_classes``).
    n_classes : int, default 2
        Number of arms, at least 2.
    noise : float, default 0.2
        Standard deviation (radians) of the Gaussian noise added to each
        point's angle.
    seed : int, numpy.random.Generator or None, default 0
        Seed of the random numbers. The same integer always gives the same
        arrays; None draws fresh entropy.

    Returns
    -------
    x : ndarray of float32, shape (n_samples, 2)
        Point coordinates, inside the unit disc.
    y : ndarray of int64, shape (n_samples,)
        Arm index in ``0 .. n_classes - 1``.
    """
    func = "make_spirals"
    n_classes = _check_int(func, "n_classes", n_classes, 2)
    n_samples = _check_int(func, "n_samples", n_samples, n_classes)
    noise = _check_noise(func, noise)
    rng = _rng(func, seed)
    y = np.arange(n_samples) % n_classes  # even class sizes, differing by <= 1
    t = rng.uniform(0.0, 1.0, n_samples)  # position along the arm
    angle = 2 * np.pi * (1.5 * t + y / n_classes)
    angle = angle + noise * rng.standard_normal(n_samples)
    x = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
    order = rng.permutation(n_samples)
    return x[order].astype(np.float32), y[order].astype(np.int64)


def make_moons(n_samples=400, noise=0.1, seed=0):
    """Two interleaving half circles.

    Class 0 lies on the upper unit half circle centred at (0, 0); class 1 on
    the lower one centred at (1, 0.5). Samples are shuffled.

    Parameters
    ----------
    n_samples : int, default 400
        Total number of points; class 0 gets the extra point when odd.
    noise : float, default 0.1
        Standard deviation of the Gaussian noise added to both coordinates.
    seed : int, numpy.random.Generator or None, default 0
        Seed of the random numbers. The same integer always gives the same
        arrays; None draws fresh entropy.

    Returns
    -------
    x : ndarray of float32, shape (n_samples, 2)
        Point coordinates.
    y : ndarray of int64, shape (n_samples,)
        Class label, 0 or 1.
    """
    func = "make_moons"
    n_samples = _check_int(func, "n_samples", n_samples, 1)
    noise = _check_noise(func, noise)
    rng = _rng(func, seed)
    y = np.arange(n_samples) % 2
    theta = rng.uniform(0.0, np.pi, n_samples)
    upper = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    lower = np.stack([1.0 - np.cos(theta), 0.5 - np.sin(theta)], axis=1)
    x = np.where(y[:, None] == 0, upper, lower)
    x = x + noise * rng.standard_normal(x.shape)
    order = rng.permutation(n_samples)
    return x[order].astype(np.float32), y[order].astype(np.int64)


# ---------------------------------------------------------------------------
# synthetic sequence tasks


def make_sine_series(n_samples=500, timesteps=50, noise=0.05, seed=0):
    """Windows of noisy sine waves; the target is the next, noise-free value.

    Every sample has its own angular frequency (uniform in 0.1..0.5 radians
    per step, i.e. periods of about 13 to 63 steps) and phase (uniform in
    ``[0, 2*pi)``), and amplitude 1.

    Parameters
    ----------
    n_samples : int, default 500
        Number of windows.
    timesteps : int, default 50
        Length of each input window.
    noise : float, default 0.05
        Standard deviation of the Gaussian noise added to the inputs only, so
        a perfect model's squared error on ``y`` tends to 0.
    seed : int, numpy.random.Generator or None, default 0
        Seed of the random numbers. The same integer always gives the same
        arrays; None draws fresh entropy.

    Returns
    -------
    x : ndarray of float32, shape (n_samples, timesteps, 1)
        ``sin(w*t + phase) + noise`` for ``t = 0 .. timesteps - 1``.
    y : ndarray of float32, shape (n_samples, 1)
        ``sin(w*timesteps + phase)``, the value that follows the window.
    """
    func = "make_sine_series"
    n_samples = _check_int(func, "n_samples", n_samples, 1)
    timesteps = _check_int(func, "timesteps", timesteps, 1)
    noise = _check_noise(func, noise)
    rng = _rng(func, seed)
    omega = rng.uniform(0.1, 0.5, (n_samples, 1))
    phase = rng.uniform(0.0, 2 * np.pi, (n_samples, 1))
    wave = np.sin(omega * np.arange(timesteps + 1) + phase)
    x = wave[:, :timesteps] + noise * rng.standard_normal((n_samples, timesteps))
    y = wave[:, timesteps:]
    return x[:, :, None].astype(np.float32), y.astype(np.float32)


def make_adding_problem(n_samples=1000, timesteps=100, seed=0):
    """The adding problem, a long-range memory task for recurrent networks.

    Channel 0 holds random values; channel 1 marks exactly two timesteps, one
    in the first half (``t < timesteps // 2``) and one in the second half.
    The target is the sum of the two marked values, so a model must remember
    the first one across up to ``timesteps - 1`` steps. Always predicting 1
    gives a mean squared error of about 1/6, the baseline to beat.

    Parameters
    ----------
    n_samples : int, default 1000
        Number of sequences.
    timesteps : int, default 100
        Sequence length, at least 2.
    seed : int, numpy.random.Generator or None, default 0
        Seed of the random numbers. The same integer always gives the same
        arrays; None draws fresh entropy.

    Returns
    -------
    x : ndarray of float32, shape (n_samples, timesteps, 2)
        ``x[..., 0]`` uniform in [0, 1); ``x[..., 1]`` is 0 except for the
        two marked steps, where it is 1.
    y : ndarray of float32, shape (n_samples, 1)
        Sum of the two marked values, in [0, 2).
    """
    func = "make_adding_problem"
    n_samples = _check_int(func, "n_samples", n_samples, 1)
    timesteps = _check_int(func, "timesteps", timesteps, 2)
    rng = _rng(func, seed)
    half = timesteps // 2
    values = rng.uniform(0.0, 1.0, (n_samples, timesteps)).astype(np.float32)
    rows = np.arange(n_samples)
    first = rng.integers(0, half, n_samples)
    second = rng.integers(half, timesteps, n_samples)
    marker = np.zeros((n_samples, timesteps), dtype=np.float32)
    marker[rows, first] = 1.0
    marker[rows, second] = 1.0
    x = np.stack([values, marker], axis=2)
    y = values[rows, first] + values[rows, second]
    return x, y[:, None].astype(np.float32)


def make_copy_problem(n_samples=1000, sequence_length=10, n_symbols=8, delay=10, seed=0):
    """The copy (memory) task: reproduce a symbol sequence after a delay.

    Tokens: 0 is the blank, ``1 .. n_symbols`` are data symbols and
    ``n_symbols + 1`` is the "go" marker. Each sequence has
    ``timesteps = 2 * sequence_length + delay`` steps:

    - input: ``sequence_length`` random data symbols, then ``delay`` blanks
      of which the last is replaced by the go marker, then
      ``sequence_length`` blanks;
    - target: blanks everywhere except the last ``sequence_length`` steps,
      which repeat the data symbols in order.

    Train with ``return_sequences=True`` and a sparse categorical loss over
    ``n_symbols + 1`` classes. A model without memory can only get the blanks
    right and guess the copied symbols: a cross-entropy of
    ``sequence_length * log(n_symbols) / timesteps`` per step is the baseline.

    Parameters
    ----------
    n_samples : int, default 1000
        Number of sequences.
    sequence_length : int, default 10
        Number of data symbols to copy.
    n_symbols : int, default 8
        Size of the data alphabet, at least 1.
    delay : int, default 10
        Steps between the end of the data and the start of the answer
        (at least 1: the go marker sits on the last of them).
    seed : int, numpy.random.Generator or None, default 0
        Seed of the random numbers. The same integer always gives the same
        arrays; None draws fresh entropy.

    Returns
    -------
    x : ndarray of float32, shape (n_samples, timesteps, n_symbols + 2)
        One-hot encoded input tokens.
    y : ndarray of int64, shape (n_samples, timesteps)
        Target token per timestep, in ``0 .. n_symbols``.
    """
    func = "make_copy_problem"
    n_samples = _check_int(func, "n_samples", n_samples, 1)
    length = _check_int(func, "sequence_length", sequence_length, 1)
    n_symbols = _check_int(func, "n_symbols", n_symbols, 1)
    delay = _check_int(func, "delay", delay, 1)
    rng = _rng(func, seed)
    timesteps = 2 * length + delay
    data = rng.integers(1, n_symbols + 1, (n_samples, length))
    tokens = np.zeros((n_samples, timesteps), dtype=np.int64)
    tokens[:, :length] = data
    tokens[:, length + delay - 1] = n_symbols + 1
    y = np.zeros((n_samples, timesteps), dtype=np.int64)
    y[:, timesteps - length :] = data
    x = np.eye(n_symbols + 2, dtype=np.float32)[tokens]
    return x, y


# ---------------------------------------------------------------------------
# IDX files (the MNIST format)

# Third byte of the magic number -> big-endian element type.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(file):
    if hasattr(file, "read"):
        raw = file.read()
        name = getattr(file, "name", "<file object>")
    else:
        name = os.fspath(file)
        with open(name, "rb") as handle:
            raw = handle.read()
    # Decide on the content, not the file name: a renamed file still works.
    if not isinstance(raw, bytes):
        raise ValueError(
            f"read_idx expected a path or a binary file object. "
            f"Received: a file object that returned {type(raw).__name__}"
        )
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(
                f"read_idx expected a complete gzip stream in {name!r}. "
                f"Received: a damaged or truncated one ({err})"
            ) from None
    return raw, name


def read_idx(file):
    """Read an IDX file (the format of the MNIST distribution) into an array.

    The header is a 4-byte magic number (two zero bytes, a type code, the
    number of dimensions), then one big-endian uint32 per dimension, then
    the elements in row-major big-endian order. Gzip-compressed files are
    recognised by their content and decompressed on the fly.

    Parameters
    ----------
    file : str, os.PathLike or binary file object
        The file to read (plain or gzip-compressed).

    Returns
    -------
    ndarray, shape given by the header
        Elements in native byte order; dtype by type code: 0x08 uint8,
        0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.

    Raises
    ------
    ValueError
        If the magic number is not IDX, the type code is unknown, or the
        file is shorter or longer than its header says.
    """
    raw, name = _read_bytes(file)
    if len(raw) < 4:
        raise ValueError(
            f"read_idx expected a 4-byte magic number in {name!r}. "
            f"Received: a file of {len(raw)} bytes"
        )
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        codes = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise ValueError(
            f"read_idx expected an IDX magic number 0x0000TTDD with type code "
            f"TT in ({codes}) in {name!r}. Received: 0x{raw[:4].hex().upper()}"
        )
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(
            f"read_idx expected a {header}-byte header for {ndim} dimensions in "
            f"{name!r}. Received: a file of {len(raw)} bytes"
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = math.prod(shape) * dtype.itemsize
    received = len(raw) - header
    if received != expected:
        problem = "truncated" if received < expected else "has trailing bytes"
        raise ValueError(
            f"read_idx expected {expected} data bytes for shape {shape} and "
            f"dtype {dtype.newbyteorder('=').name} in {name!r}. "
            f"Received: {received} bytes (file {problem})"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header)
    # astype makes a writable copy in native byte order.
    return data.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def _find_idx(folder, stem):
    for candidate in (stem, stem + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        f"load_mnist expected {stem!r} or {stem + '.gz'!r} in {folder!r}. "
        f"Received: neither file exists"
    )


def load_mnist(path, kind="train"):
    """Load MNIST (or a same-format set such as Fashion-MNIST) from IDX files.

    Nothing is downloaded: ``path`` must be a folder that already holds the
    original files, plain or gzip-compressed:
    ``train-images-idx3-ubyte[.gz]`` and ``train-labels-idx1-ubyte[.gz]``
    for ``kind="train"``, ``t10k-images-idx3-ubyte[.gz]`` and
    ``t10k-labels-idx1-ubyte[.gz]`` for ``kind="test"``.

    Parameters
    ----------
    path : str or os.PathLike
        Folder containing the IDX files.
    kind : {"train", "test"}, default "train"
        Which split to read.

    Returns
    -------
    x : ndarray of uint8, shape (N, 28, 28)
        Grey levels 0..255 (N is 60,000 for train and 10,000 for test).
    y : ndarray of uint8, shape (N,)
        Labels 0..9.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a folder or a file is missing (the message names
        the file names looked for).
    ValueError
        If ``kind`` is unknown or the files are not uint8 images and labels
        with matching counts (see also :func:`read_idx`).
    """
    prefixes = {"train": "train", "test": "t10k"}
    if kind not in prefixes:
        raise ValueError(
            f"load_mnist expected kind to be 'train' or 'test'. Received: kind={kind!r}"
        )
    folder = os.fspath(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"load_mnist expected path to be a folder holding the MNIST IDX files. "
            f"Received: path={folder!r}, which is not a folder"
        )
    prefix = prefixes[kind]
    x = read_idx(_find_idx(folder, f"{prefix}-images-idx3-ubyte"))
    y = read_idx(_find_idx(folder, f"{prefix}-labels-idx1-ubyte"))
    if x.dtype != np.uint8 or x.ndim != 3:
        raise ValueError(
            "load_mnist expected images as uint8 of shape (N, rows, cols). "
            f"Received: dtype={x.dtype}, shape={x.shape}"
        )
    if y.dtype != np.uint8 or y.ndim != 1 or len(y) != len(x):
        raise ValueError(
            f"load_mnist expected labels as uint8 of shape ({len(x)},). "
            f"Received: dtype={y.dtype}, shape={y.shape}"
        )
    return x, y
