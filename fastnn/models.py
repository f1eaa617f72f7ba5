"""Keras-style spelling: `from fastnn.models import Sequential, load_model`."""

from fastnn.model import Sequential
from fastnn.saving import load_model

__all__ = ["Sequential", "load_model"]
