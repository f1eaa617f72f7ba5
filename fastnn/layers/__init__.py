"""Keras-shaped layers: `from fastnn.layers import Dense, Dropout, LSTM, ...`."""

from fastnn.layers.base import Layer
from fastnn.layers.core import Activation, Dense, Dropout, Flatten, Input, InputLayer, Reshape
from fastnn.layers.recurrent import GRU, LSTM, SimpleRNN

__all__ = [
    "Layer",
    "Activation",
    "Dense",
    "Dropout",
    "Flatten",
    "Input",
    "InputLayer",
    "Reshape",
    "SimpleRNN",
    "LSTM",
    "GRU",
]

# the registry load_model rebuilds layers from (no class named in a file is imported)
LAYER_CLASSES = {
    cls.__name__: cls
    for cls in (Activation, Dense, Dropout, Flatten, InputLayer, Reshape, SimpleRNN, LSTM, GRU)
}
