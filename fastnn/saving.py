"""Saving and loading models: one versioned, dependency-free file.

A fastnn model file is a zip archive holding
  model.json            format name and version, architecture, compile settings,
                        optimizer state (scalars), random state, and for every
                        array its file name, dtype, shape and SHA-256
  arrays/<k>.npy        weights, optimizer slots (NumPy .npy, read with
                        allow_pickle=False)
Loading never executes code from the file: layers are rebuilt from a fixed
registry of fastnn classes, arrays are plain .npy, and every array is checked
against its recorded hash, shape and dtype before the model sees it. Saving
writes a temporary file beside the target and renames it, so a crash mid-save
never destroys the previous file.
"""
import hashlib
import io
import json
import os
import tempfile
import zipfile

import numpy as np

FORMAT = "fastnn-model"
VERSION = 1
_JSON = "model.json"


class ModelFileError(ValueError):
    """The file is not a readable fastnn model file (says what is wrong)."""


# ---------------------------------------------------------------- writing
def _npy_bytes(a):
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(a), allow_pickle=False)
    return buf.getvalue()


def _write_archive(fileobj, meta, arrays):
    index = {}
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for key, a in arrays.items():
            name = f"arrays/{len(index):04d}.npy"
            data = _npy_bytes(a)
            z.writestr(name, data)
            index[key] = {"file": name, "dtype": str(a.dtype), "shape": list(a.shape),
                          "sha256": hashlib.sha256(data).hexdigest()}
        meta = {"format": FORMAT, "version": VERSION, **meta, "arrays": index}
        z.writestr(_JSON, json.dumps(meta, indent=1, sort_keys=True))


def atomic_write(path, write):
    """Call write(fileobj) on a temporary file beside `path`, fsync, then rename it
    over `path` (readers see the old file or the new one, never half of one)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".fastnn-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def save_archive(path, meta, arrays):
    atomic_write(path, lambda fh: _write_archive(fh, meta, arrays))


def archive_bytes(meta, arrays):
    buf = io.BytesIO()
    _write_archive(buf, meta, arrays)
    return buf.getvalue()


# ---------------------------------------------------------------- reading
def read_archive(source):
    """(meta, arrays) from a path or bytes; ModelFileError naming the problem."""
    name = source if isinstance(source, (str, os.PathLike)) else "<bytes>"
    try:
        fileobj = source if isinstance(source, (str, os.PathLike)) else io.BytesIO(source)
        with zipfile.ZipFile(fileobj) as z:
            try:
                meta = json.loads(z.read(_JSON))
            except KeyError:
                raise ModelFileError(f"{name} is not a fastnn model file: it has no {_JSON}")
            _check_meta(meta, name)
            arrays = {key: _read_array(z, key, info, name) for key, info in meta["arrays"].items()}
    except FileNotFoundError:
        raise
    except ModelFileError:
        raise
    except zipfile.BadZipFile as exc:
        raise ModelFileError(f"{name} is not a fastnn model file, or it is truncated or "
                             f"corrupted: {exc}") from None
    except (OSError, EOFError, ValueError, KeyError, TypeError, json.JSONDecodeError,
            zipfile.LargeZipFile, NotImplementedError) as exc:
        raise ModelFileError(f"{name} is corrupted: {type(exc).__name__}: {exc}") from None
    return meta, arrays


def _check_meta(meta, name):
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{name} is not a fastnn model file (format "
                             f"{meta.get('format') if isinstance(meta, dict) else None!r})")
    version = meta.get("version")
    if version != VERSION:
        raise ModelFileError(f"{name} has format version {version!r}; this fastnn reads "
                             f"version {VERSION}")
    if not isinstance(meta.get("arrays"), dict):
        raise ModelFileError(f"{name} is corrupted: its array index is missing")


def _read_array(z, key, info, name):
    data = z.read(info["file"])
    if hashlib.sha256(data).hexdigest() != info["sha256"]:
        raise ModelFileError(f"{name}: array {key!r} does not match its recorded SHA-256 "
                             f"(the file was modified or corrupted)")
    a = np.load(io.BytesIO(data), allow_pickle=False)
    if str(a.dtype) != info["dtype"] or list(a.shape) != info["shape"]:
        raise ModelFileError(f"{name}: array {key!r} has dtype {a.dtype} shape {a.shape}, "
                             f"expected {info['dtype']} {tuple(info['shape'])}")
    return a


# ---------------------------------------------------------------- models
def model_archive(model, include_optimizer=True):
    """(meta, arrays) describing a Sequential: architecture, weights, compile
    settings, optimizer state and random state."""
    from fastnn import __version__, losses, optimizers

    layers = [{"class_name": type(l).__name__, "config": l.get_config()} for l in model._layers]
    meta = {"fastnn_version": __version__,
            "model": {"class_name": "Sequential", "name": model.name,
                      "dtype": model.dtype.name, "layers": layers}}
    arrays = {}
    if model.built:
        meta["input_shape"] = list(model.layers[0].input_shape)
        for i, w in enumerate(model.get_weights()):
            arrays[f"weight/{i}"] = w
    if model.loss is not None:
        meta["compile"] = {"optimizer": optimizers.serialize(model.optimizer),
                           "loss": losses.serialize(model.loss),
                           "metrics": list(getattr(model, "_metrics_arg", []))}
        updater = model._updater
        if include_optimizer and updater is not None:
            state = updater.get_state()
            meta["optimizer_state"] = {"iterations": int(state["iterations"]),
                                       "learning_rate": float(state["learning_rate"])}
            for name, slot in state["slots"].items():
                arrays[f"slot/{name}"] = slot
    meta["random"] = model._random_state()
    return meta, arrays


def model_from_archive(meta, arrays, compile=True, name="<bytes>"):
    """Rebuild a Sequential from model_archive() output (no code from the file runs:
    layer classes come from fastnn's own registry)."""
    from fastnn import losses, optimizers
    from fastnn.layers import LAYER_CLASSES
    from fastnn.model import Sequential

    try:
        cfg = meta["model"]
        layers = []
        for spec in cfg["layers"]:
            cls = LAYER_CLASSES.get(spec["class_name"])
            if cls is None:
                raise ModelFileError(f"{name}: unknown layer class {spec['class_name']!r}; "
                                     f"known: {sorted(LAYER_CLASSES)}")
            layers.append(cls.from_config(dict(spec["config"])))
        model = Sequential(layers, name=cfg["name"], dtype=cfg["dtype"])
        model._seed = int(meta["random"]["seed"]) if meta["random"].get("seed") is not None else None
        if "input_shape" in meta:
            model.build(tuple(meta["input_shape"]))
            n = len(model.get_weights())
            model.set_weights([arrays[f"weight/{i}"] for i in range(n)])
        if compile and "compile" in meta:
            c = meta["compile"]
            model.compile(optimizer=optimizers.get(c["optimizer"]), loss=losses.get(c["loss"]),
                          metrics=c["metrics"])
            if "optimizer_state" in meta and model.built:
                slots = {k[len("slot/"):]: v for k, v in arrays.items() if k.startswith("slot/")}
                model._get_net()
                model._updater.set_state({**meta["optimizer_state"], "slots": slots,
                                          "kind": model._updater.get_state()["kind"]})
        model._set_random_state(meta["random"])
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{name}: the model description is invalid or inconsistent "
                             f"({type(exc).__name__}: {exc})") from None
    return model


def load_model(filepath, compile=True):
    """The model saved at filepath by model.save(): architecture, weights, compile
    settings, optimizer and random state, ready to resume training. Raises
    ModelFileError (a ValueError) naming the problem for truncated, corrupted,
    wrong-version or modified files."""
    meta, arrays = read_archive(filepath)
    if meta.get("kind") == "weights":
        raise ModelFileError(f"{filepath} holds only weights (written by save_weights); "
                             f"build the model and call model.load_weights()")
    return model_from_archive(meta, arrays, compile=compile, name=str(filepath))
