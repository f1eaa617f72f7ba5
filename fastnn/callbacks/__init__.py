"""Callbacks: hooks into fit (Keras names and call order) and the Keras callbacks
EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, TerminateOnNaN,
LearningRateScheduler and CSVLogger.

Parts (import the names from ``fastnn.callbacks``; the submodules are its layout):

- ``base``: Callback, History, ProgbarLogger, CallbackList (how fit calls the hooks)
  and the argument helpers the Keras callbacks share.
- ``training``: the callbacks that steer training: EarlyStopping, ReduceLROnPlateau,
  TerminateOnNaN, LearningRateScheduler.
- ``files``: the callbacks that write files: ModelCheckpoint, CSVLogger.
"""

from fastnn.callbacks.base import Callback, CallbackList, History, ProgbarLogger
from fastnn.callbacks.files import CSVLogger, ModelCheckpoint
from fastnn.callbacks.training import (
    EarlyStopping,
    LearningRateScheduler,
    ReduceLROnPlateau,
    TerminateOnNaN,
)

__all__ = [
    "Callback",
    "History",
    "ProgbarLogger",
    "CallbackList",
    "EarlyStopping",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
    "LearningRateScheduler",
    "CSVLogger",
]
