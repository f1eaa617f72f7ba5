"""Untrusted model files. load_model cannot be made to inflate more than the records
declare (a member that inflates past its record, an array's dtype and shape or
model.json's MAX_JSON_BYTES, is refused while inflating, at a cost bounded by the honest
size); it opens regular files only; every damaged file raises ModelFileError, and a
damaged file that loads is the saved model (model.json is hashed like the arrays)."""

import hashlib
import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest

import fastnn
from fastnn.layers import LSTM, Dense, Input
from fastnn.saving import MAX_JSON_BYTES, ModelFileError


def _saved(tmp_path):
    model = fastnn.Sequential([Input((3,)), Dense(2)])
    model.compile("adam", "mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    path = tmp_path / "m.fastnn"
    model.save(path)
    return path


def _rewrite(path, member, data, rehash=True):
    # the archive with one member replaced (and model.json's hash recomputed, so the
    # test reaches the check it is about)
    with zipfile.ZipFile(path) as z:
        items = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    if member == "model.json" and rehash:
        items = [
            (n, hashlib.sha256(data).hexdigest().encode() if n == "model.json.sha256" else c)
            for n, c in items
        ]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, content in items:
            z.writestr(name, data if name == member else content)


def _peak_while(fn):
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_an_array_member_that_inflates_past_its_shape_is_refused(tmp_path):
    path = _saved(tmp_path)
    with zipfile.ZipFile(path) as z:
        member = next(n for n in z.namelist() if n.startswith("arrays/"))
    bomb = b"\0" * (256 * 2**20)  # 256 MiB of zeros: about 250 KiB deflated
    _rewrite(path, member, bomb)
    del bomb
    assert path.stat().st_size < 2**20

    def load():
        with pytest.raises(ModelFileError, match="inflates past"):
            fastnn.load_model(path)

    assert _peak_while(load) < 16 * 2**20  # bounded by the declared size, not 256 MiB


def test_a_model_json_past_its_bound_is_refused(tmp_path):
    path = _saved(tmp_path)
    with zipfile.ZipFile(path) as z:
        meta = z.read("model.json")
    _rewrite(path, "model.json", meta + b" " * (MAX_JSON_BYTES + 1))
    with pytest.raises(ModelFileError, match="model.json.*inflates past"):
        fastnn.load_model(path)


@pytest.mark.parametrize(
    "record", [{"dtype": "object"}, {"shape": [-1]}, {"shape": [2.5]}, {"shape": "big"}]
)
def test_a_bad_array_record_is_refused_before_reading(tmp_path, record):
    path = _saved(tmp_path)
    with zipfile.ZipFile(path) as z:
        meta = json.loads(z.read("model.json"))
    first = next(iter(meta["arrays"]))
    meta["arrays"][first].update(record)
    _rewrite(path, "model.json", json.dumps(meta).encode())
    with pytest.raises(ModelFileError, match="bad record"):
        fastnn.load_model(path)


@pytest.mark.parametrize("target", ["/dev/zero", "fifo", "dir"])
def test_device_nodes_fifos_and_directories_are_refused_unread(tmp_path, target):
    import os

    if target == "fifo":
        target = str(tmp_path / "pipe")
        os.mkfifo(target)  # opening it to read would block forever
    elif target == "dir":
        target = str(tmp_path)
    with pytest.raises(ModelFileError, match="regular file|a directory"):
        fastnn.load_model(target)


def test_model_json_is_hashed(tmp_path):
    path = _saved(tmp_path)
    with zipfile.ZipFile(path) as z:
        meta = json.loads(z.read("model.json"))
    meta["compile"] = meta.get("compile")  # a valid JSON edit that keeps every key
    text = json.dumps(meta, indent=2).encode()
    _rewrite(path, "model.json", text, rehash=False)
    with pytest.raises(ModelFileError, match="model.json does not match its recorded SHA-256"):
        fastnn.load_model(path)


def test_every_single_bit_flip_raises_model_file_error_or_loads_the_same_model(tmp_path):
    model = fastnn.Sequential([Input((5, 3)), LSTM(4, return_sequences=True), Dense(2)])
    model.compile("adam", "mse", metrics=["mae"])
    model.fit(np.ones((4, 5, 3)), np.ones((4, 5, 2)), verbose=0)
    path = tmp_path / "m.fastnn"
    model.save(path)
    raw = path.read_bytes()
    config = json.dumps(model.get_config(), sort_keys=True)
    rng = np.random.default_rng(0)
    damaged = tmp_path / "damaged.fastnn"
    loaded = 0
    for _ in range(400):
        b = bytearray(raw)
        b[int(rng.integers(len(b)))] ^= 1 << int(rng.integers(8))
        damaged.write_bytes(bytes(b))
        try:
            other = fastnn.load_model(damaged)
        except ModelFileError:
            continue
        loaded += 1  # a harmless flip (zip timestamps, padding): the same model
        assert json.dumps(other.get_config(), sort_keys=True) == config
        for a, c in zip(other.get_weights(), model.get_weights()):
            np.testing.assert_array_equal(a, c)
    assert loaded < 200  # most flips are caught, not ignored


def test_a_small_config_cannot_make_load_model_allocate_more_than_the_file_holds(tmp_path):
    # Dense(10**9) in a few bytes of config: refused before a weight is allocated
    path = _saved(tmp_path)
    with zipfile.ZipFile(path) as z:
        meta = json.loads(z.read("model.json"))
    dense = next(l for l in meta["model"]["layers"] if l["class_name"] == "Dense")
    dense["config"]["units"] = 10**9
    _rewrite(path, "model.json", json.dumps(meta).encode())

    def load():
        with pytest.raises(ModelFileError, match="architecture implies 2 weight arrays"):
            fastnn.load_model(path)

    assert _peak_while(load) < 16 * 2**20


def test_building_from_a_config_is_linear_in_its_layers():
    # the unique-name check scanned every earlier layer: 20,000 layers took half a minute.
    # Counted, not timed: the Python line events of from_config for L and 2L layers
    import sys

    def events(n):
        layers = [{"class_name": "InputLayer", "config": {"input_shape": [2], "name": "in"}}]
        layers += [
            {"class_name": "Activation", "config": {"activation": "relu", "name": f"a{i}"}}
            for i in range(n)
        ]
        count = [0]

        def trace(frame, event, arg):
            count[0] += 1
            return trace

        sys.settrace(trace)
        try:
            fastnn.Sequential.from_config({"name": "m", "dtype": "float32", "layers": layers})
        finally:
            sys.settrace(None)
        return count[0]

    small, large = events(1000), events(2000)
    assert large < 2.2 * small, (small, large)  # quadratic would be about 4x


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda slots, state: slots["m"].__setitem__(0, np.nan), "finite values in slot 'm'"),
        (lambda slots, state: slots["v"].__setitem__(1, -1.0), "slot 'v' >= 0"),
        (lambda slots, state: state.__setitem__("iterations", -3), "iterations"),
        (lambda slots, state: state.__setitem__("learning_rate", float("inf")), "learning_rate"),
    ],
)
def test_an_impossible_optimizer_state_is_refused_at_load(tmp_path, change, match):
    model = fastnn.Sequential([Input((3,)), Dense(2)])
    model.compile("adam", "mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    state = model.optimizer.get_state()
    change(state["slots"], state)
    with pytest.raises(ValueError, match=match):  # set_state itself refuses it
        model.optimizer.set_state(state)
    # and a file carrying it: ModelFileError at load_model, before any step
    path = tmp_path / "m.fastnn"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        meta = json.loads(z.read("model.json"))
        index = meta["arrays"]
    if "iterations" in match or "learning_rate" in match:
        key = "iterations" if "iterations" in match else "learning_rate"
        meta["optimizer_state"][key] = state[key]
        _rewrite(path, "model.json", json.dumps(meta).encode())
    else:
        slot = "m" if "'m'" in match else "v"
        record = index[f"slot/{slot}"]
        buf = io.BytesIO()
        np.save(buf, state["slots"][slot], allow_pickle=False)
        record["sha256"] = hashlib.sha256(buf.getvalue()).hexdigest()
        _rewrite(path, record["file"], buf.getvalue())
        _rewrite(path, "model.json", json.dumps(meta).encode())
    with pytest.raises(ModelFileError, match=match):
        fastnn.load_model(path)


def test_read_idx_inflates_no_more_than_its_header_declares(tmp_path):
    import gzip

    from fastnn.datasets import read_idx

    header = bytes([0, 0, 0x08, 1]) + (10).to_bytes(4, "big")  # 10 uint8 values
    bomb = tmp_path / "bomb.idx.gz"
    with gzip.open(bomb, "wb") as f:
        f.write(header + bytes(10))
        for _ in range(64):
            f.write(bytes(4 * 2**20))  # 256 MiB of trailing zeros
    assert bomb.stat().st_size < 2**20

    def read():
        with pytest.raises(ValueError, match="trailing bytes"):
            read_idx(bomb)

    assert _peak_while(read) < 16 * 2**20
    honest = tmp_path / "ok.idx.gz"
    honest.write_bytes(gzip.compress(header + bytes(range(10))))
    np.testing.assert_array_equal(read_idx(honest), np.arange(10, dtype=np.uint8))
