"""Keras-shaped layers: `from fastnn.layers import Dense, Dropout, ...`."""
from fastnn.layers.base import Layer
from fastnn.layers.core import Activation, Dense, Dropout, Flatten, Input, InputLayer, Reshape

__all__ = ["Layer", "Activation", "Dense", "Dropout", "Flatten", "Input", "InputLayer", "Reshape"]

LAYER_CLASSES = {cls.__name__: cls for cls in (Activation, Dense, Dropout, Flatten, InputLayer,
                                               Reshape)}
