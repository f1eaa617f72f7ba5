"""Sliding windows over a timeseries: Keras' `keras.utils.timeseries_dataset_from_array`,
returning batches that fit, evaluate and predict accept (NumPy only)."""

import numbers

import numpy as np

__all__ = ["TimeseriesDataset", "timeseries_dataset_from_array"]


class TimeseriesDataset:
    """The batches of timeseries_dataset_from_array: iterating gives (x_batch, y_batch)
    (or x_batch without targets) in order, x_batch of shape (batch, sequence_length,
    ...). fit / evaluate / predict take the dataset itself as x (batch size and order
    are the dataset's). len() is the number of batches."""

    def __init__(self, data, targets, starts, sequence_length, sampling_rate, batch_size):
        self._data, self._targets, self._starts = data, targets, starts
        self._offsets = np.arange(sequence_length) * sampling_rate
        self.batch_size = batch_size

    def __len__(self):
        if self.batch_size is None:
            return len(self._starts)
        return -(-len(self._starts) // self.batch_size)

    def _take(self, starts):
        x = self._data[starts[:, None] + self._offsets]
        if self._targets is None:
            return x
        return x, self._targets[starts]

    def __iter__(self):
        if self.batch_size is None:  # unbatched: one sample at a time, as Keras
            for s in self._starts:
                out = self._take(np.array([s]))
                yield tuple(a[0] for a in out) if isinstance(out, tuple) else out[0]
            return
        for k in range(0, len(self._starts), self.batch_size):
            yield self._take(self._starts[k : k + self.batch_size])

    def arrays(self):
        """(x, y) of every window in the dataset's order (y None without targets)."""
        out = self._take(self._starts)
        return out if isinstance(out, tuple) else (out, None)


def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"`{name}` must be higher than 0. Received: {name}={value!r}")
    return int(value)


def timeseries_dataset_from_array(
    data,
    targets,
    sequence_length,
    sequence_stride=1,
    sampling_rate=1,
    batch_size=128,
    shuffle=False,
    seed=None,
    start_index=None,
    end_index=None,
    format="tf",
):
    """Windows of `sequence_length` steps (`sampling_rate` apart) over data[start_index:
    end_index], starting every `sequence_stride` steps; targets[start_index + i] is the
    target of the window that starts at start_index + i (None: inputs only). Batches of
    batch_size (None: single samples). shuffle: the window order is shuffled once, with
    NumPy's RandomState(seed), as Keras does (Keras' tf.data path also reshuffles within
    a buffer of 8 batches at every pass, which this does not). format: accepted for
    Keras' signature ("tf" or "grain"); the result is a TimeseriesDataset either way."""
    data = np.asarray(data)
    if data.ndim < 1:
        raise ValueError(
            f"timeseries_dataset_from_array expected an array with a time axis. "
            f"Received: shape {data.shape}"
        )
    sequence_length = _positive("sequence_length", sequence_length)
    sampling_rate = _positive("sampling_rate", sampling_rate)
    sequence_stride = _positive("sequence_stride", sequence_stride)
    if sampling_rate >= len(data):
        raise ValueError(
            "`sampling_rate` must be lower than the length of the data. Received: "
            f"sampling_rate={sampling_rate}, for data of length {len(data)}"
        )
    if sequence_stride >= len(data):
        raise ValueError(
            "`sequence_stride` must be lower than the length of the data. Received: "
            f"sequence_stride={sequence_stride}, for data of length {len(data)}"
        )
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')
    if batch_size is not None:
        batch_size = _positive("batch_size", batch_size)
    start = 0 if start_index is None else int(start_index)
    end = len(data) if end_index is None else int(end_index)
    if not 0 <= start < end <= len(data):
        raise ValueError(
            f"timeseries_dataset_from_array expected 0 <= start_index < end_index <= "
            f"{len(data)}. Received: start_index={start_index}, end_index={end_index}"
        )
    num = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(targets)
        num = min(num, len(targets) - start)
    if num <= 0:
        raise ValueError(
            f"timeseries_dataset_from_array: no window of {sequence_length} steps "
            f"(sampling_rate {sampling_rate}) fits in {end - start} steps of data"
        )
    starts = np.arange(0, num, sequence_stride)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(starts)
    return TimeseriesDataset(
        data[start:end],
        None if targets is None else targets[start:],
        starts,
        sequence_length,
        sampling_rate,
        batch_size,
    )
