"""Data loaders: the digits data bundled in ``fastnn.data`` and IDX (MNIST) files.

The digits table is read with :mod:`importlib.resources` from the package, so it
works from a wheel or a zip. The IDX readers only parse files the user already
has on disk; nothing is ever downloaded.
"""

import functools
import gzip
import io
import math
import os
import zlib
from importlib import resources

import numpy as np

# ---------------------------------------------------------------------------
# bundled data


@functools.lru_cache(maxsize=1)
def _digits_table():
    # Parsed once per process; callers get copies, so the cache cannot be mutated.
    source = resources.files("fastnn.data").joinpath("digits.csv.gz")
    with source.open("rb") as raw, gzip.open(raw, "rt", encoding="ascii") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.int64)
    if table.shape != (1797, 65):
        raise ValueError(
            "load_digits expected the bundled table to have shape (1797, 65). "
            f"Received: shape={table.shape}; the package data is damaged"
        )
    table.flags.writeable = False
    return table


def load_digits(return_images=False):
    """Load the UCI optical recognition of handwritten digits data (test part).

    1,797 grey-level 8x8 images of the digits 0-9 (174 to 183 per class).
    Each pixel counts the ink in a 4x4 block of a 32x32 bitmap, so values are
    integers 0..16 stored as float32 (divide by 16 to scale into [0, 1]).
    Source and licence (CC BY 4.0): ``fastnn/data/DIGITS_LICENSE.txt``.

    Parameters
    ----------
    return_images : bool, default False
        If True, return ``x`` as images of shape ``(1797, 8, 8)`` instead of
        flat rows of shape ``(1797, 64)``.

    Returns
    -------
    x : ndarray of float32, shape (1797, 64) or (1797, 8, 8)
        Pixel counts in 0..16, row-major within each image.
    y : ndarray of int64, shape (1797,)
        Digit labels in 0..9.
    """
    table = _digits_table()
    x = table[:, :64].astype(np.float32)
    y = table[:, 64].copy()
    if return_images:
        x = x.reshape(-1, 8, 8)
    return x, y


# ---------------------------------------------------------------------------
# IDX files (the MNIST format)

# Third byte of the magic number -> big-endian element type.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(file):
    if hasattr(file, "read"):
        raw = file.read()
        name = getattr(file, "name", "<file object>")
    else:
        name = os.fspath(file)
        with open(name, "rb") as handle:
            raw = handle.read()
    # Decide on the content, not the file name: a renamed file still works.
    if not isinstance(raw, bytes):
        raise ValueError(
            f"read_idx expected a path or a binary file object. "
            f"Received: a file object that returned {type(raw).__name__}"
        )
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = _gunzip_idx(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(
                f"read_idx expected a complete gzip stream in {name!r}. "
                f"Received: a damaged or truncated one ({err})"
            ) from None
    return raw, name


def _gunzip_idx(raw):
    # inflate no more than the IDX header declares (plus one byte, so that trailing data
    # is still reported): a gzip bomb costs what the honest file would
    with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
        head = stream.read(4)
        if len(head) < 4 or head[0] or head[1] or head[2] not in _IDX_DTYPES:
            return head  # refused by read_idx's checks
        dims = stream.read(4 * head[3])
        if len(dims) < 4 * head[3]:
            return head + dims
        shape = np.frombuffer(dims, dtype=">u4")
        size = math.prod(int(d) for d in shape) * _IDX_DTYPES[head[2]].itemsize
        return head + dims + stream.read(size + 1)


def read_idx(file):
    """Read an IDX file (the format of the MNIST distribution) into an array.

    The header is a 4-byte magic number (two zero bytes, a type code, the
    number of dimensions), then one big-endian uint32 per dimension, then
    the elements in row-major big-endian order. Gzip-compressed files are
    recognised by their content and decompressed on the fly.

    Parameters
    ----------
    file : str, os.PathLike or binary file object
        The file to read (plain or gzip-compressed).

    Returns
    -------
    ndarray, shape given by the header
        Elements in native byte order; dtype by type code: 0x08 uint8,
        0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.

    Raises
    ------
    ValueError
        If the magic number is not IDX, the type code is unknown, or the
        file is shorter or longer than its header says.
    """
    raw, name = _read_bytes(file)
    if len(raw) < 4:
        raise ValueError(
            f"read_idx expected a 4-byte magic number in {name!r}. "
            f"Received: a file of {len(raw)} bytes"
        )
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        codes = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise ValueError(
            f"read_idx expected an IDX magic number 0x0000TTDD with type code "
            f"TT in ({codes}) in {name!r}. Received: 0x{raw[:4].hex().upper()}"
        )
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(
            f"read_idx expected a {header}-byte header for {ndim} dimensions in "
            f"{name!r}. Received: a file of {len(raw)} bytes"
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = math.prod(shape) * dtype.itemsize
    received = len(raw) - header
    if received != expected:
        problem = "truncated" if received < expected else "has trailing bytes"
        raise ValueError(
            f"read_idx expected {expected} data bytes for shape {shape} and "
            f"dtype {dtype.newbyteorder('=').name} in {name!r}. "
            f"Received: {received} bytes (file {problem})"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header)
    # astype makes a writable copy in native byte order.
    return data.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def _find_idx(folder, stem):
    for candidate in (stem, stem + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        f"load_mnist expected {stem!r} or {stem + '.gz'!r} in {folder!r}. "
        f"Received: neither file exists"
    )


def load_mnist(path, kind="train"):
    """Load MNIST (or a same-format set such as Fashion-MNIST) from IDX files.

    Nothing is downloaded: ``path`` must be a folder that already holds the
    original files, plain or gzip-compressed:
    ``train-images-idx3-ubyte[.gz]`` and ``train-labels-idx1-ubyte[.gz]``
    for ``kind="train"``, ``t10k-images-idx3-ubyte[.gz]`` and
    ``t10k-labels-idx1-ubyte[.gz]`` for ``kind="test"``.

    Parameters
    ----------
    path : str or os.PathLike
        Folder containing the IDX files.
    kind : {"train", "test"}, default "train"
        Which split to read.

    Returns
    -------
    x : ndarray of uint8, shape (N, 28, 28)
        Grey levels 0..255 (N is 60,000 for train and 10,000 for test).
    y : ndarray of uint8, shape (N,)
        Labels 0..9.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a folder or a file is missing (the message names
        the file names looked for).
    ValueError
        If ``kind`` is unknown or the files are not uint8 images and labels
        with matching counts (see also :func:`read_idx`).
    """
    prefixes = {"train": "train", "test": "t10k"}
    if kind not in prefixes:
        raise ValueError(
            f"load_mnist expected kind to be 'train' or 'test'. Received: kind={kind!r}"
        )
    folder = os.fspath(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"load_mnist expected path to be a folder holding the MNIST IDX files. "
            f"Received: path={folder!r}, which is not a folder"
        )
    prefix = prefixes[kind]
    x = read_idx(_find_idx(folder, f"{prefix}-images-idx3-ubyte"))
    y = read_idx(_find_idx(folder, f"{prefix}-labels-idx1-ubyte"))
    if x.dtype != np.uint8 or x.ndim != 3:
        raise ValueError(
            "load_mnist expected images as uint8 of shape (N, rows, cols). "
            f"Received: dtype={x.dtype}, shape={x.shape}"
        )
    if y.dtype != np.uint8 or y.ndim != 1 or len(y) != len(x):
        raise ValueError(
            f"load_mnist expected labels as uint8 of shape ({len(x)},). "
            f"Received: dtype={y.dtype}, shape={y.shape}"
        )
    return x, y
