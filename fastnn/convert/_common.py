"""Shared pieces of fastnn.convert: the layer kinds and their names, the checks
(built layer, finite values, shapes), the conversion to float64 NumPy, the GRU gate
reordering between fastnn/PyTorch (r, z, n) and Keras (z, r, h), and the cast-then-write
step every conversion ends with. Imports neither torch nor Keras.
"""

import numpy as np

# fastnn layer class name -> (kind, number of gate blocks)
_GATES = {"dense": 1, "simple_rnn": 1, "lstm": 4, "gru": 3}
_TORCH_NAMES = {"dense": "nn.Linear", "simple_rnn": "nn.RNN", "lstm": "nn.LSTM", "gru": "nn.GRU"}
_KERAS_NAMES = {"dense": "Dense", "simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


# ---------------------------------------------------------------------------- helpers
def _layer_kind(layer, func):
    from fastnn.layers import GRU, LSTM, Dense, SimpleRNN

    for cls, kind in ((Dense, "dense"), (SimpleRNN, "simple_rnn"), (LSTM, "lstm"), (GRU, "gru")):
        if isinstance(layer, cls):
            return kind
    if hasattr(layer, "layers") and hasattr(layer, "get_weights"):
        raise TypeError(
            f"{func} expected a fastnn layer (Dense, SimpleRNN, LSTM or GRU). "
            f"Received: a model ({type(layer).__name__}); use model_from_torch "
            f"or convert its layers one by one"
        )
    raise TypeError(
        f"{func} expected a fastnn Dense, SimpleRNN, LSTM or GRU layer. "
        f"Received: {type(layer).__name__}"
    )


def _require_built(layer, func):
    if not layer.weights:
        raise ValueError(
            f"{func} expected a built layer. Received: {layer.name!r} has no "
            f"weights yet; build the model it belongs to first (model.build()) or "
            f"call the layer once on data"
        )


def _layer_dtype(layer):
    return layer.weights[0].dtype


def _dims(layer, kind):
    """(n_in, units) of a built layer, read from its kernel."""
    return int(layer.weights[0].shape[0]), int(layer.units)


def _to_numpy(value, name, func):
    """A real-valued float64 NumPy copy of a tensor / array / array-like."""
    if hasattr(value, "detach"):  # a torch tensor or parameter
        value = value.detach()
        if hasattr(value, "cpu"):
            value = value.cpu()
        try:
            value = value.numpy()
        except TypeError:  # dtypes NumPy lacks (bfloat16)
            value = value.double().numpy()
    elif not isinstance(value, np.ndarray) and callable(getattr(value, "numpy", None)):
        value = value.numpy()  # framework tensors / variables
    try:
        a = np.asarray(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"{func} expected {name} as an array of numbers. Received: "
            f"{type(value).__name__} that NumPy cannot convert"
        ) from None
    if a.dtype.kind not in "biuf":
        raise TypeError(
            f"{func} expected {name} of a real number dtype. Received: {name}.dtype={a.dtype}"
        )
    a = a.astype(np.float64)
    _check_finite(a, name, func)
    return a


def _check_finite(a, name, func, dtype_note=""):
    bad = np.flatnonzero(~np.isfinite(a))
    if bad.size:
        idx = tuple(int(j) for j in np.unravel_index(bad[0], a.shape))
        raise ValueError(
            f"{func} expected finite values in {name}{dtype_note}. Received: "
            f"{a[idx]} at index {idx}"
        )


def _check_shape(a, shape, name, what, func):
    if tuple(a.shape) != tuple(shape):
        raise ValueError(
            f"{func} expected {name} of shape {tuple(shape)} {what}. "
            f"Received: {name}.shape={tuple(a.shape)}"
        )


def _swap_zr(a, H):
    """Swap the first two gate blocks along the last axis: r,z,n <-> z,r,h.
    Its own inverse."""
    return np.concatenate([a[..., H : 2 * H], a[..., :H], a[..., 2 * H :]], axis=-1)


def _cast(layer, arrays, func):
    """The planned arrays in the layer dtype, checked against its weights."""
    dt = _layer_dtype(layer)
    if len(arrays) != len(layer.weights):  # internal consistency
        raise AssertionError(f"{func}: {len(arrays)} arrays for {len(layer.weights)} weights")
    cast = []
    for (name, a), w in zip(arrays, layer.weights):
        if tuple(a.shape) != tuple(w.shape):
            raise AssertionError(f"{func}: {name} {a.shape} vs {w.shape}")
        with np.errstate(over="ignore"):
            c = a.astype(dt)
        _check_finite(c, f"{layer.name}.{name}", func, f" (in the layer dtype {dt})")
        cast.append(c)
    return cast


def _write(layer, cast):
    """Write every weight in place (the weights may be views into a model's flat
    buffer, which the compiled ops read)."""
    for w, c in zip(layer.weights, cast):
        w[...] = c


def _assign(layer, arrays, func):
    _write(layer, _cast(layer, arrays, func))
