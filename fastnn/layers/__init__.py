"""Keras-shaped layers: `from fastnn.layers import Dense, Dropout, LSTM, ...`."""

from fastnn.layers.base import Layer
from fastnn.layers.bidirectional import Bidirectional
from fastnn.layers.core import (
    Activation,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    Input,
    InputLayer,
    Masking,
    Reshape,
    SpatialDropout1D,
)
from fastnn.layers.recurrent import GRU, LSTM, SimpleRNN
from fastnn.layers.sequence import (
    GlobalAveragePooling1D,
    GlobalAvgPool1D,
    GlobalMaxPool1D,
    GlobalMaxPooling1D,
    RepeatVector,
)
from fastnn.layers.wrappers import TimeDistributed

__all__ = [
    "serialize",
    "deserialize",
    "Layer",
    "Activation",
    "Bidirectional",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "Input",
    "InputLayer",
    "Masking",
    "Reshape",
    "SpatialDropout1D",
    "RepeatVector",
    "TimeDistributed",
    "GlobalAveragePooling1D",
    "GlobalAvgPool1D",
    "GlobalMaxPooling1D",
    "GlobalMaxPool1D",
    "SimpleRNN",
    "LSTM",
    "GRU",
]

# the registry load_model rebuilds layers from (no class named in a file is imported)
LAYER_CLASSES = {
    cls.__name__: cls
    for cls in (
        Activation,
        Bidirectional,
        Dense,
        Dropout,
        Embedding,
        Flatten,
        InputLayer,
        Masking,
        Reshape,
        SpatialDropout1D,
        RepeatVector,
        TimeDistributed,
        GlobalAveragePooling1D,
        GlobalMaxPooling1D,
        SimpleRNN,
        LSTM,
        GRU,
    )
}


def serialize(layer):
    """{"class_name", "config"} of a layer (Keras' keras.layers.serialize, without the
    module and registered-name keys Keras adds)."""
    if not isinstance(layer, Layer):
        raise TypeError(f"serialize expected a fastnn Layer. Received: {type(layer).__name__}")
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config):
    """A new layer from serialize() output. The class comes from LAYER_CLASSES: no code
    named in the config is imported or run."""
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise ValueError(
            f"deserialize expected a layer as {{'class_name': ..., 'config': {{...}}}}. "
            f"Received: {config!r:.200}"
        )
    cls = LAYER_CLASSES.get(config.get("class_name"))
    if cls is None:
        raise ValueError(
            f"deserialize: unknown layer class {config.get('class_name')!r}; "
            f"known: {sorted(LAYER_CLASSES)}"
        )
    return cls.from_config(dict(config["config"]))
