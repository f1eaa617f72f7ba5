"""Saving and loading models: one versioned, dependency-free file.

A fastnn model file is a zip archive holding
  model.json            format name and version, architecture, compile settings,
                        optimizer state (scalars), random state, and for every
                        array its file name, dtype, shape and SHA-256
  arrays/<k>.npy        weights, optimizer slots (NumPy .npy, read with
                        allow_pickle=False)
  model.json.sha256     the SHA-256 of model.json (files written before it have none)
Loading never executes code from the file: layers are rebuilt from a fixed
registry of fastnn classes, arrays are plain .npy, and every array is checked
against its recorded hash, shape and dtype before the model sees it. No member is
inflated past the size its record implies (model.json: MAX_JSON_BYTES; an array: its
declared dtype and shape plus the .npy header), so a zip bomb costs no more memory or
time than an honest file of what it claims to hold. Saving
writes a temporary file beside the target and renames it, so a crash mid-save
never destroys the previous file.
"""

import hashlib
import io
import json
import math
import os
import zipfile
import zlib

import numpy as np

from fastnn._io import atomic_write

FORMAT = "fastnn-model"
VERSION = 1
_JSON = "model.json"
_JSON_HASH = "model.json.sha256"
MAX_JSON_BYTES = 64 * 2**20  # a config of a few hundred thousand layers
_NPY_HEADER = 65536 + 12  # the largest .npy header (format 2: a 4-byte length)
_DTYPES = ("float32", "float64", "int64", "int32", "uint8", "bool")


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
            index[key] = {
                "file": name,
                "dtype": str(a.dtype),
                "shape": list(a.shape),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        meta = {"format": FORMAT, "version": VERSION, **meta, "arrays": index}
        text = json.dumps(meta, indent=1, sort_keys=True).encode()
        z.writestr(_JSON, text)
        z.writestr(_JSON_HASH, hashlib.sha256(text).hexdigest())


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
    if isinstance(source, (str, os.PathLike)):
        _check_regular_file(source)
    try:
        fileobj = source if isinstance(source, (str, os.PathLike)) else io.BytesIO(source)
        with zipfile.ZipFile(fileobj) as z:
            try:
                text = _bounded_read(z, _JSON, MAX_JSON_BYTES, name)
                _check_json_hash(z, text, name)
                meta = json.loads(text)
            except KeyError:
                raise ModelFileError(
                    f"{name} is not a fastnn model file: it has no {_JSON}"
                ) from None
            _check_meta(meta, name)
            arrays = {key: _read_array(z, key, info, name) for key, info in meta["arrays"].items()}
    except FileNotFoundError:
        raise
    except ModelFileError:
        raise
    except zipfile.BadZipFile as exc:
        raise ModelFileError(
            f"{name} is not a fastnn model file, or it is truncated or corrupted: {exc}"
        ) from None
    except (
        OSError,
        EOFError,
        ValueError,
        KeyError,
        TypeError,
        json.JSONDecodeError,
        zipfile.LargeZipFile,
        NotImplementedError,
        zlib.error,  # a damaged deflate stream
        RuntimeError,  # zipfile: "File is encrypted" and the like
        RecursionError,  # deeply nested JSON
        OverflowError,
    ) as exc:
        raise ModelFileError(f"{name} is corrupted: {type(exc).__name__}: {exc}") from None
    return meta, arrays


def _check_json_hash(z, text, name):
    # damage detection for model.json as for the arrays (integrity, not authenticity:
    # whoever can rewrite the file can rewrite the hash)
    if _JSON_HASH not in z.namelist():
        return  # written before the hash existed
    recorded = _bounded_read(z, _JSON_HASH, 64, name).decode("ascii", "replace")
    if hashlib.sha256(text).hexdigest() != recorded:
        raise ModelFileError(
            f"{name}: model.json does not match its recorded SHA-256 (the file was "
            "modified or corrupted)"
        )


def _check_regular_file(path):
    # a device node (/dev/zero), a FIFO or a directory would be read forever or fail
    # obscurely: only a regular file (or a symlink to one) is opened
    import stat

    mode = os.stat(path).st_mode  # FileNotFoundError as usual
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise ModelFileError(f"{os.fspath(path)} is {kind}: a model file is a regular file")


def _check_meta(meta, name):
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(
            f"{name} is not a fastnn model file (format "
            f"{meta.get('format') if isinstance(meta, dict) else None!r})"
        )
    version = meta.get("version")
    if version != VERSION:
        raise ModelFileError(
            f"{name} has format version {version!r}; this fastnn reads version {VERSION}"
        )
    if not isinstance(meta.get("arrays"), dict):
        raise ModelFileError(f"{name} is corrupted: its array index is missing")


def _bounded_read(z, member, limit, name):
    # the member's bytes, inflating at most limit + 1 of them: more is refused (the
    # header's uncompressed size is not trusted: it is the attacker's to write)
    with z.open(member) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ModelFileError(
            f"{name}: member {member!r} inflates past {limit} bytes, the most its record "
            "allows (a damaged file or a zip bomb)"
        )
    return data


def _declared_bytes(key, info, name):
    # what the array's record says it holds, checked before anything is inflated
    dtype, shape = info.get("dtype"), info.get("shape")
    if (
        dtype not in _DTYPES
        or not isinstance(shape, list)
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)
    ):
        raise ModelFileError(
            f"{name}: array {key!r} has a bad record (dtype {dtype!r}, shape {shape!r})"
        )
    size = 1
    for s in shape:
        size *= s  # Python ints: no wrap-around
    return size * np.dtype(dtype).itemsize


def _read_array(z, key, info, name):
    limit = _declared_bytes(key, info, name) + _NPY_HEADER
    data = _bounded_read(z, info["file"], limit, name)
    if hashlib.sha256(data).hexdigest() != info["sha256"]:
        raise ModelFileError(
            f"{name}: array {key!r} does not match its recorded SHA-256 "
            f"(the file was modified or corrupted)"
        )
    a = np.load(io.BytesIO(data), allow_pickle=False)
    if str(a.dtype) != info["dtype"] or list(a.shape) != info["shape"]:
        raise ModelFileError(
            f"{name}: array {key!r} has dtype {a.dtype} shape {a.shape}, "
            f"expected {info['dtype']} {tuple(info['shape'])}"
        )
    return a


# ---------------------------------------------------------------- models
# Model classes load_model() may rebuild, by the class_name a file records. The model
# module registers its classes here (register_model_class), so that this module needs
# nothing from it and the two do not import each other.
MODEL_CLASSES = {}


def register_model_class(cls):
    """Let load_model() rebuild files whose model class_name is cls.__name__ (cls needs
    the public from_config / set_weights / compile_from_config / set_random_state API)."""
    MODEL_CLASSES[cls.__name__] = cls
    return cls


def model_archive(model, include_optimizer=True):
    """(meta, arrays) describing a model through its public API: architecture, weights,
    compile settings, optimizer state and random state."""
    from fastnn._version import __version__

    config = model.get_config()
    meta = {
        "fastnn_version": __version__,
        "model": {
            "class_name": type(model).__name__,
            "name": config["name"],
            "dtype": config["dtype"],
            "layers": config["layers"],
        },
    }
    arrays = {}
    if config.get("build_input_shape") is not None:
        meta["input_shape"] = list(config["build_input_shape"][1:])  # without the batch axis
        for i, w in enumerate(model.get_weights()):
            arrays[f"weight/{i}"] = w
    compile_config = model.get_compile_config()
    if compile_config is not None:
        meta["compile"] = compile_config
        state = model.optimizer.get_state()
        # a fresh optimizer (no step taken, no slots made) has nothing to restore
        if include_optimizer and (state["iterations"] or state["slots"]):
            meta["optimizer_state"] = {
                "iterations": int(state["iterations"]),
                "learning_rate": float(state["learning_rate"]),
            }
            for name, slot in state["slots"].items():
                arrays[f"slot/{name}"] = slot
    meta["random"] = model.get_random_state()
    return meta, arrays


def model_from_archive(meta, arrays, compile=True, name="<bytes>"):
    """Rebuild a model from model_archive() output (no code from the file runs: model
    and layer classes come from fastnn's own registries)."""
    try:
        cfg = meta["model"]
        cls = MODEL_CLASSES.get(cfg.get("class_name", "Sequential"))
        if cls is None:
            raise ModelFileError(
                f"{name}: unknown model class {cfg.get('class_name')!r}; "
                f"known: {sorted(MODEL_CLASSES)}"
            )
        from fastnn.layers import LAYER_CLASSES

        for spec in cfg["layers"]:
            if spec["class_name"] not in LAYER_CLASSES:
                raise ModelFileError(
                    f"{name}: unknown layer class {spec['class_name']!r}; "
                    f"known: {sorted(LAYER_CLASSES)}"
                )
        model = cls.from_config(
            {"name": cfg["name"], "dtype": cfg["dtype"], "layers": cfg["layers"]}
        )
        # the seed first: build() then draws nothing from the global stream
        model.set_random_state(meta["random"])
        if "input_shape" in meta:
            _check_declared_weights(model, tuple(meta["input_shape"]), arrays, name)
            model.build(tuple(meta["input_shape"]))
            n = len(model.get_weights())
            model.set_weights([arrays[f"weight/{i}"] for i in range(n)])
        if compile and "compile" in meta:
            model.compile_from_config(meta["compile"])
            if "optimizer_state" in meta and model.built:
                slots = {k[len("slot/") :]: v for k, v in arrays.items() if k.startswith("slot/")}
                # every slot is a copy of the flat parameter buffer's shape; the
                # optimizer keeps them and checks their names when the model builds it
                size = model.count_params()
                for key, slot in slots.items():
                    if slot.shape != (size,) or slot.dtype != model.dtype:
                        raise ModelFileError(
                            f"{name}: optimizer slot {key!r} expected shape "
                            f"({size},) dtype {model.dtype}. Received: shape "
                            f"{slot.shape} dtype {slot.dtype}"
                        )
                model.optimizer.set_state({**meta["optimizer_state"], "slots": slots})
        model.set_random_state(meta["random"])
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, RecursionError) as exc:
        raise ModelFileError(
            f"{name}: the model description is invalid or inconsistent "
            f"({type(exc).__name__}: {exc})"
        ) from None
    return model


def _check_declared_weights(model, shape, arrays, name):
    # the weights the config implies against the arrays the file holds, before building
    # allocates and initialises them: a small config cannot make load_model allocate
    # more than the file's own (present, hashed) arrays
    from fastnn._assembly import layer_shapes

    want = [
        tuple(s)
        for layer, ins, _ in layer_shapes(model, shape)
        for _, s, _ in layer.weight_specs(ins)
    ]
    have = []
    while f"weight/{len(have)}" in arrays:
        have.append(tuple(arrays[f"weight/{len(have)}"].shape))
    if want != have:
        total = sum(math.prod(s) for s in want)
        raise ModelFileError(
            f"{name}: the architecture implies {len(want)} weight arrays ({total} values), "
            f"the file holds {len(have)} of shapes that do not match: {have[:8]}"
        )


def load_model(filepath, compile=True):
    """The model saved at filepath by model.save(): architecture, weights, compile
    settings, optimizer and random state, ready to resume training. Raises
    ModelFileError (a ValueError) naming the problem for truncated, corrupted,
    wrong-version or modified files."""
    meta, arrays = read_archive(filepath)
    if meta.get("kind") == "weights":
        raise ModelFileError(
            f"{filepath} holds only weights (written by save_weights); "
            f"build the model and call model.load_weights()"
        )
    return model_from_archive(meta, arrays, compile=compile, name=str(filepath))
