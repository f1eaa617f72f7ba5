"""Feature scaling, label encoding and sequence padding for fastnn models (NumPy only);
`fastnn.preprocessing.sequence.pad_sequences` is Keras' spelling of the last."""

import numpy as np

from fastnn.preprocessing import sequence
from fastnn.preprocessing.sequence import pad_sequences

__all__ = [
    "StandardScaler",
    "to_categorical",
    "one_hot",
    "encode_labels",
    "pad_sequences",
    "sequence",
]


def _float_dtype(x):
    # Floating inputs keep their precision; ints and bools become float32,
    # fastnn's default dtype.
    return x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)


def _as_numeric(func, x):
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{func} expected a real numeric array. Received: dtype={x.dtype}")
    if x.ndim < 2:
        raise ValueError(
            f"{func} expected an array of shape (N, features) or "
            f"(N, timesteps, features). Received: x.shape={x.shape}"
        )
    return x


class StandardScaler:
    """Scale every feature to zero mean and unit variance.

    The last axis holds the features and all other axes are samples, so the
    same scaler works on tables ``(N, F)`` and on sequences ``(N, T, F)``
    (statistics are then taken over all samples and timesteps). Statistics
    are accumulated in float64 and stored in the dtype of the fitted data
    (float32 for integer or boolean data).

    Attributes
    ----------
    mean_ : ndarray, shape (F,)
        Mean of each feature.
    var_ : ndarray, shape (F,)
        Population variance (``ddof=0``) of each feature.
    scale_ : ndarray, shape (F,)
        Standard deviation of each feature, or 1 for a constant feature so
        that it is centred but not divided by zero.
    n_features_in_ : int
        Number of features F seen by :meth:`fit`.
    n_samples_seen_ : int
        Number of rows (product of all axes but the last) seen by :meth:`fit`.

    Examples
    --------
    >>> scaler = StandardScaler()
    >>> scaler.fit_transform([[1.0, 5.0], [3.0, 5.0]]).tolist()
    [[-1.0, 0.0], [1.0, 0.0]]
    """

    def __init__(self):
        self.mean_ = None
        self.var_ = None
        self.scale_ = None
        self.n_features_in_ = None
        self.n_samples_seen_ = None

    def fit(self, x):
        """Compute per-feature mean and standard deviation.

        Parameters
        ----------
        x : array_like of real numbers, shape (..., F) with at least 2 axes
            Training data; must be finite and hold at least one row.

        Returns
        -------
        StandardScaler
            ``self``, so calls can be chained.
        """
        x = _as_numeric("StandardScaler.fit", x)
        rows = x.reshape(-1, x.shape[-1]).astype(np.float64)
        if rows.shape[0] == 0 or rows.shape[1] == 0:
            raise ValueError(
                "StandardScaler.fit expected at least one sample and one feature. "
                f"Received: x.shape={x.shape}"
            )
        bad = np.count_nonzero(~np.isfinite(rows))
        if bad:
            raise ValueError(
                "StandardScaler.fit expected finite values. "
                f"Received: {bad} NaN or infinite entries in x of shape {x.shape}"
            )
        mean = rows.mean(axis=0)
        var = rows.var(axis=0)
        scale = np.sqrt(var)
        # Test constancy exactly (max == min) rather than var == 0: the float64
        # mean of identical values can be off by an ulp, which would leave a
        # tiny non-zero variance and blow the feature up instead of centring it.
        scale[rows.max(axis=0) == rows.min(axis=0)] = 1.0
        dtype = _float_dtype(x)
        self.mean_ = mean.astype(dtype)
        self.var_ = var.astype(dtype)
        self.scale_ = scale.astype(dtype)
        self.n_features_in_ = rows.shape[1]
        self.n_samples_seen_ = rows.shape[0]
        return self

    def _check(self, func, x):
        if self.mean_ is None:
            raise RuntimeError(
                f"StandardScaler.{func} was called before fit. "
                "Call fit(x) or fit_transform(x) first."
            )
        x = _as_numeric(f"StandardScaler.{func}", x)
        if x.shape[-1] != self.n_features_in_:
            raise ValueError(
                f"StandardScaler.{func} expected input with last dimension "
                f"{self.n_features_in_}. Received: x.shape={x.shape}"
            )
        # Cast ints first: int64 - float32 would otherwise promote to float64.
        dtype = _float_dtype(x)
        x = x.astype(dtype, copy=False)
        return x, self.mean_.astype(dtype), self.scale_.astype(dtype)

    def transform(self, x):
        """Return ``(x - mean_) / scale_``.

        Parameters
        ----------
        x : array_like of real numbers, shape (..., F) with at least 2 axes

        Returns
        -------
        ndarray, same shape as ``x``
            Scaled copy; float dtype of ``x`` (float32 for integer input).
        """
        x, mean, scale = self._check("transform", x)
        return (x - mean) / scale

    def fit_transform(self, x):
        """Fit to ``x``, then return ``transform(x)`` (see :meth:`transform`)."""
        return self.fit(x).transform(x)

    def inverse_transform(self, x):
        """Undo :meth:`transform`: return ``x * scale_ + mean_``.

        Parameters
        ----------
        x : array_like of real numbers, shape (..., F) with at least 2 axes

        Returns
        -------
        ndarray, same shape as ``x``
            Data in the original units; float dtype of ``x``.
        """
        x, mean, scale = self._check("inverse_transform", x)
        return x * scale + mean


def _is_positive_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1


def to_categorical(y, num_classes=None, dtype="float32"):
    """Convert integer class labels to one-hot rows (Keras semantics).

    A trailing axis of size 1 is dropped before encoding, so labels of shape
    ``(N,)`` and ``(N, 1)`` both give ``(N, num_classes)``; labels of shape
    ``(N, T)`` give ``(N, T, num_classes)``.

    Parameters
    ----------
    y : array_like of int, shape (...)
        Class labels in ``0 .. num_classes - 1``. Floats with integral values
        (e.g. ``2.0``) are accepted.
    num_classes : int, optional
        Number of classes; defaults to ``max(y) + 1``.
    dtype : str or numpy dtype, default "float32"
        Dtype of the result.

    Returns
    -------
    ndarray of ``dtype``, shape ``y.shape + (num_classes,)``
        (with a trailing size-1 axis of ``y`` removed first). Each row holds a
        single 1 at the label's position.

    Examples
    --------
    >>> to_categorical([0, 2], num_classes=3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    func = "to_categorical"
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise ValueError(f"{func} expected integer labels. Received: dtype={y.dtype}")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y) & (y == np.round(y))):
        raise ValueError(f"{func} expected integer labels. Received: non-integral float values")
    shape = y.shape[:-1] if y.ndim > 1 and y.shape[-1] == 1 else y.shape
    labels = y.reshape(-1).astype(np.int64)
    if num_classes is None:
        if labels.size == 0:
            raise ValueError(
                f"{func} expected num_classes when y is empty. Received: y.shape={y.shape}"
            )
        num_classes = int(labels.max()) + 1
    elif not _is_positive_int(num_classes):
        raise ValueError(
            f"{func} expected num_classes to be a positive integer. "
            f"Received: num_classes={num_classes!r}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"{func} expected labels in [0, {num_classes}). "
            f"Received: labels from {labels.min()} to {labels.max()}"
        )
    out = np.zeros((labels.size, int(num_classes)), dtype=dtype)
    out[np.arange(labels.size), labels] = 1
    return out.reshape(shape + (int(num_classes),))


one_hot = to_categorical


def encode_labels(y):
    """Map arbitrary labels to integer codes ``0 .. K - 1``.

    Parameters
    ----------
    y : array_like, shape (...)
        Labels of any sortable type (ints, floats, strings).

    Returns
    -------
    codes : ndarray of int64, same shape as ``y``
        Index of each label in ``classes``.
    classes : ndarray, shape (K,)
        The distinct labels, sorted; ``classes[codes]`` recovers ``y``.

    Examples
    --------
    >>> codes, classes = encode_labels(["cat", "dog", "cat"])
    >>> codes.tolist(), classes.tolist()
    ([0, 1, 0], ['cat', 'dog'])
    """
    y = np.asarray(y)
    classes, codes = np.unique(y.reshape(-1), return_inverse=True)
    return codes.astype(np.int64).reshape(y.shape), classes
