"""Splitting arrays into training and test parts."""

import numbers

import numpy as np

from fastnn.datasets._checks import _rng

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
