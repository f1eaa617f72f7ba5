"""Weights between fastnn and the PyTorch and Keras layouts.

fastnn's own layout (the order of ``layer.weights`` and of ``model.get_weights()``):

==========  ==============================================================
Dense       kernel (n_in, units), bias (units,)
SimpleRNN   kernel (F, H), recurrent_kernel (H, H), bias (H,)
LSTM        kernel (F, 4H), recurrent_kernel (H, 4H), bias (4H,); gates i, f, g, o
GRU         kernel (F, 3H), recurrent_kernel (H, 3H), bias_ih (3H,), bias_hh (3H,);
            gates r, z, n (PyTorch order, Keras reset_after=True form)
==========  ==============================================================

PyTorch stores ``(out, in)`` matrices and two biases per recurrent layer:
``kernel = weight_ih.T``, ``recurrent_kernel = weight_hh.T``; SimpleRNN and LSTM keep
one bias ``bias_ih + bias_hh``, GRU keeps both (the hidden bias of n sits inside
``r * (...)``, so they cannot be summed). The gate order is the same as fastnn's.

Keras stores ``(in, out)`` kernels like fastnn. Dense, SimpleRNN and LSTM weight lists
are identical to fastnn's. A Keras GRU (``reset_after=True``) orders its gate blocks
z, r, h instead of r, z, n and keeps its two biases as one ``(2, 3H)`` array (row 0:
input bias, row 1: recurrent bias): the first two blocks of every kernel and bias row
are swapped on the way in and out. ``reset_after=False`` has no fastnn equivalent.

Functions:

- ``from_torch(layer, source)``: an ``nn.Linear``, ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU``
  (or the matching ``nn.*Cell``), or its ``state_dict()`` (tensors or NumPy arrays),
  into a built fastnn layer.
- ``to_torch(layer)``: a state-dict-like dict of NumPy arrays with PyTorch's names and
  shapes; ``to_torch_module(layer)`` the PyTorch module holding those weights.
- ``from_keras(layer, weights)`` / ``to_keras(layer)``: Keras ``get_weights()`` lists.
- ``model_from_torch(model, modules)``: a whole Sequential, layer by layer.

Every conversion checks all shapes, the layer types and the settings that change the
computation (number of layers, direction, projections, nonlinearity) before writing
anything: a failed conversion leaves the layer's weights as they were. PyTorch is
imported only when a module is given or built, never at import time.

Parts (import the functions from ``fastnn.convert``; the submodules are its layout):

- ``fastnn.convert._common``: shared checks and helpers (layer kinds, built / finite /
  shape checks, float64 conversion, the GRU gate reordering, cast and write).
- ``fastnn.convert.pytorch``: ``from_torch``, ``to_torch``, ``to_torch_module``,
  ``model_from_torch``.
- ``fastnn.convert.keras``: ``from_keras``, ``to_keras``.
"""

from fastnn.convert.keras import from_keras, to_keras
from fastnn.convert.pytorch import from_torch, model_from_torch, to_torch, to_torch_module

__all__ = [
    "from_torch",
    "to_torch",
    "to_torch_module",
    "from_keras",
    "to_keras",
    "model_from_torch",
]
