"""Padding sequences of different lengths to one length (Keras'
keras.utils.pad_sequences, also spelled keras.preprocessing.sequence.pad_sequences)."""

import numpy as np

from fastnn.backend.contract.args import integer

__all__ = ["pad_sequences"]


def pad_sequences(
    sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0
):
    """A (len(sequences), maxlen, *sample_shape) array of the sequences, each cut to maxlen
    and padded with `value` (Keras' semantics and defaults).

    sequences: a list of sequences (lists or arrays; each element a number or an array of
        one shape, taken from the first non-empty sequence).
    maxlen: the length of the result; None: the longest sequence's length.
    padding, truncating: "pre" (default) pads / cuts at the start, "post" at the end.
    value: the padding value. dtype: the result's dtype ("int32", as in Keras; use
        object for strings).
    """
    for name, arg in (("padding", padding), ("truncating", truncating)):
        if arg not in ("pre", "post"):
            raise ValueError(f"pad_sequences expected {name} 'pre' or 'post'. Received: {arg!r}")
    if not hasattr(sequences, "__len__"):
        raise ValueError(
            f"pad_sequences expected a list of sequences. Received: {type(sequences).__name__}"
        )
    lengths, sample_shape = [], None
    for i, s in enumerate(sequences):
        if not hasattr(s, "__len__"):
            raise ValueError(
                f"pad_sequences expected a list of sequences. Received: sequences[{i}] of "
                f"type {type(s).__name__}"
            )
        lengths.append(len(s))
        if sample_shape is None and len(s):
            sample_shape = np.asarray(s).shape[1:]
    sample_shape = sample_shape or ()
    if maxlen is None:
        maxlen = max(lengths, default=0)
    else:
        maxlen = integer("pad_sequences", "maxlen", maxlen, minimum=0)
    is_text = np.issubdtype(np.dtype(dtype), np.str_) or np.issubdtype(np.dtype(dtype), np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_text:
        raise ValueError(
            f"pad_sequences: dtype {dtype} cannot hold the padding value {value!r}; use "
            f"dtype=object for strings"
        )
    out = np.full((len(lengths), int(maxlen)) + tuple(sample_shape), value, dtype=dtype)
    if maxlen == 0:
        return out
    for i, s in enumerate(sequences):
        if not len(s):
            continue
        kept = np.asarray(s[-maxlen:] if truncating == "pre" else s[:maxlen], dtype=dtype)
        if kept.shape[1:] != tuple(sample_shape):
            raise ValueError(
                f"pad_sequences expected elements of shape {tuple(sample_shape)} (from the "
                f"first non-empty sequence). Received: {kept.shape[1:]} in sequences[{i}]"
            )
        if padding == "post":
            out[i, : len(kept)] = kept
        else:
            out[i, maxlen - len(kept) :] = kept
    return out
