"""Seeded synthetic tasks: points in the plane and sequences for recurrent nets."""

import numpy as np

from fastnn.datasets._checks import _check_int, _check_noise, _rng

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


def make_sentiment(n_samples=1000, num_words=2000, min_len=5, max_len=80, seed=0):
    """A padded-text sentiment task shaped like Keras' IMDB data (``imdb.load_data``):
    word-index sequences of varying length and a binary label.

    Each sequence starts with the start token 1, then ``min_len - 1 .. max_len - 1``
    words drawn uniformly from the neutral vocabulary ``12 .. num_words - 1``; one to
    three of them are replaced by signal words of the sequence's class (``2 .. 6``
    positive, ``7 .. 11`` negative), anywhere in the sequence. A model must find them
    wherever they sit, so it has to read the whole (unpadded) sequence. 0 is left free
    for padding (``pad_sequences``, ``Embedding(mask_zero=True)``).

    Parameters
    ----------
    n_samples : int, default 1000
        Number of sequences.
    num_words : int, default 2000
        Vocabulary size (word indices are below it), at least 20.
    min_len, max_len : int, default 5 and 80
        Range of the sequence lengths (start token included), 2 <= min_len <= max_len.
    seed : int, numpy.random.Generator or None, default 0
        Seed of the random numbers. The same integer always gives the same arrays.

    Returns
    -------
    x : ndarray of object, shape (n_samples,)
        Each entry a list of int word indices, as ``imdb.load_data`` returns them.
    y : ndarray of int64, shape (n_samples,)
        1 for positive, 0 for negative (balanced up to chance).
    """
    func = "make_sentiment"
    n_samples = _check_int(func, "n_samples", n_samples, 1)
    num_words = _check_int(func, "num_words", num_words, 20)
    min_len = _check_int(func, "min_len", min_len, 2)
    max_len = _check_int(func, "max_len", max_len, min_len)
    rng = _rng(func, seed)
    y = rng.integers(0, 2, n_samples)
    lengths = rng.integers(min_len, max_len + 1, n_samples)
    x = np.empty(n_samples, dtype=object)
    for i in range(n_samples):
        words = rng.integers(12, num_words, lengths[i] - 1)
        k = min(len(words), int(rng.integers(1, 4)))
        at = rng.choice(len(words), k, replace=False)
        words[at] = rng.integers(2, 7, k) if y[i] else rng.integers(7, 12, k)
        x[i] = [1] + words.tolist()
    return x, y.astype(np.int64)
