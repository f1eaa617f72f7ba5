"""Figure I/O shared by every plot: the matplotlib check, the figure on an Agg canvas
(or a pyplot one for ``show=True``), the checked output path and its atomic save.

matplotlib is imported inside the functions only, so importing this module does not
load it.
"""

import os

from fastnn._io import atomic_write

_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
_DPI = 110


def _require_matplotlib(func):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(
            f"{func} needs matplotlib. Install it with: "
            f'pip install "fastnn[viz]" (or pip install matplotlib)'
        ) from None


def _check_target(to_file, func):
    """The output path as a str (None stays None), checked before any drawing."""
    if to_file is None:
        return None
    try:
        path = os.fspath(to_file)
    except TypeError:
        raise TypeError(
            f"{func} expected to_file as a path or None. Received: {type(to_file).__name__}"
        ) from None
    ext = os.path.splitext(path)[1].lower()
    if ext not in _FORMATS:
        raise ValueError(
            f"{func} expected to_file ending in .png, .svg or .pdf. Received: to_file={path!r}"
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"{func} cannot write {path!r}: the folder {folder!r} does not exist"
        )
    return path


def _new_figure(figsize, show=False, layout=None):
    if show:
        import matplotlib.pyplot as plt

        return plt.figure(figsize=figsize, dpi=_DPI, layout=layout)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=_DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path):
    """Write fig to path atomically (fastnn._io.atomic_write: a temporary file beside it,
    then a rename), in the format its extension names."""
    fmt = _FORMATS[os.path.splitext(path)[1].lower()]
    atomic_write(
        path,
        lambda fh: fig.savefig(
            fh, format=fmt, dpi=_DPI, bbox_inches="tight", pad_inches=0.15, facecolor="white"
        ),
    )


def _finish(fig, path, show):
    if path is not None:
        _save(fig, path)
    if show:
        import matplotlib.pyplot as plt

        plt.show()
    return fig


def _png_bytes(fig):
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight", facecolor="white")
    return buf.getvalue()
