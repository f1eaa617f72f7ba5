"""A model file cannot make load_model inflate more than its records declare: a member
that inflates past its record (an array's dtype and shape, model.json's MAX_JSON_BYTES)
is refused while inflating, with ModelFileError, at a cost bounded by the honest size."""

import json
import tracemalloc
import zipfile

import numpy as np
import pytest

import fastnn
from fastnn.layers import Dense, Input
from fastnn.saving import MAX_JSON_BYTES, ModelFileError


def _saved(tmp_path):
    model = fastnn.Sequential([Input((3,)), Dense(2)])
    model.compile("adam", "mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    path = tmp_path / "m.fastnn"
    model.save(path)
    return path


def _rewrite(path, member, data):
    with zipfile.ZipFile(path) as z:
        items = [(i.filename, z.read(i.filename)) for i in z.infolist()]
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
