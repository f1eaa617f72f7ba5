"""Pictures of models and training runs, drawn with matplotlib.

matplotlib is imported inside the functions, so ``import fastnn`` never loads it
(install it with ``pip install "fastnn[viz]"``). Figures are made with
``matplotlib.figure.Figure`` on an Agg canvas: nothing touches pyplot's global
figure list, so plotting works headless and in loops without leaking figures.
Pass ``show=True`` to open a pyplot window (or inline output) instead.

Every function returns the Figure and takes ``to_file``: a ``.png``, ``.svg`` or
``.pdf`` path, written atomically (a temporary file in the same folder, then a
rename), so an interrupted save never leaves a half-written picture.

Artists carry ``gid`` tags so programs (and the tests) can tell what was drawn:
``"neuron"``, ``"connection"``, ``"input"``, ``"layer"``, ``"layer_label"``,
``"recurrent_loop"`` (plot_model); ``"train"``, ``"validation"``, ``"best"``
(plot_history); ``"heatmap"``, ``"histogram"`` (plot_weights); ``"points"``
(plot_decision_boundary); ``"hidden_states"``, ``"input_sequence"``
(plot_hidden_states).

Colours come from viridis / cividis, whose lightness rises monotonically, so the
pictures stay readable in greyscale; training and validation curves differ in
line style and marker as well as colour.

The parts: ``diagram`` (plot_model), ``history`` (plot_history, LivePlot),
``weights`` (plot_weights, plot_hidden_states), ``boundary``
(plot_decision_boundary); ``_figure`` holds the figure and file helpers they share,
``_inspect`` the reading of a model's layers, shapes and weights.
"""

# besides __all__: _save (fastnn.cli.demo saves a figure with it) and the constants
# RECURRENT and GATES, which the single visualize.py had here too
from fastnn.visualize._figure import _save as _save
from fastnn.visualize._inspect import RECURRENT as RECURRENT
from fastnn.visualize.boundary import plot_decision_boundary
from fastnn.visualize.diagram import plot_model
from fastnn.visualize.history import LivePlot, plot_history
from fastnn.visualize.weights import GATES as GATES
from fastnn.visualize.weights import plot_hidden_states, plot_weights

__all__ = [
    "plot_model",
    "plot_history",
    "plot_weights",
    "plot_decision_boundary",
    "plot_hidden_states",
    "LivePlot",
]
