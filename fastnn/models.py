"""Keras-style spelling: `from fastnn.models import Sequential`."""
from fastnn.model import Sequential

__all__ = ["Sequential"]
