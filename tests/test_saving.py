"""Persistence: one checked file; exact resume; corrupted files; crashes mid-save;
pickling; weights-only files."""

import hashlib
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import fastnn
from fastnn.layers import Dense, Dropout, Input
from fastnn.saving import ModelFileError


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 5)).astype(np.float32)
    return x, rng.integers(0, 3, n)


def _model(seed=7):
    fastnn.set_seed(seed)
    m = fastnn.Sequential(
        [
            Input(shape=(5,)),
            Dense(16, activation="relu"),
            Dropout(0.2),
            Dense(3, activation="softmax"),
        ]
    )
    m.compile(fastnn.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def _same(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b)) and len(a) == len(b)


def test_resume_matches_an_uninterrupted_run_bitwise(tmp_path):
    """fit(epochs=4) == fit(epochs=2), save, load, fit(epochs=4, initial_epoch=2)."""
    x, y = _data()
    straight = _model()
    h_full = straight.fit(x, y, epochs=4, batch_size=8, verbose=0).history
    first = _model()
    h_a = first.fit(x, y, epochs=2, batch_size=8, verbose=0).history
    first.save(tmp_path / "m.fastnn")
    resumed = fastnn.load_model(tmp_path / "m.fastnn")
    h_b = resumed.fit(x, y, epochs=4, initial_epoch=2, batch_size=8, verbose=0).history
    assert _same(straight.get_weights(), resumed.get_weights())
    for k in h_full:
        assert h_full[k] == h_a[k] + h_b[k], k


def test_load_restores_everything(tmp_path):
    x, y = _data()
    m = _model()
    m.fit(x, y, epochs=1, verbose=0)
    m.save(tmp_path / "m.fastnn")
    r = fastnn.models.load_model(tmp_path / "m.fastnn")
    assert [type(l).__name__ for l in r.layers] == ["Dense", "Dropout", "Dense"]
    assert [l.name for l in r.layers] == [l.name for l in m.layers]
    assert r.optimizer.get_config() == m.optimizer.get_config()
    assert r.optimizer.iterations == m.optimizer.iterations
    np.testing.assert_array_equal(r.predict(x), m.predict(x))
    assert r.evaluate(x, y, verbose=0) == m.evaluate(x, y, verbose=0)
    # compile=False: architecture and weights only
    r2 = fastnn.load_model(tmp_path / "m.fastnn", compile=False)
    assert r2.loss is None
    np.testing.assert_array_equal(r2.predict(x), m.predict(x))


def test_save_weights_and_load_weights(tmp_path):
    x, _ = _data()
    a, b = _model(1), _model(2)
    a.build(), b.build()
    a.save_weights(tmp_path / "w.fastnn")
    b.load_weights(tmp_path / "w.fastnn")
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    with pytest.raises(ModelFileError, match="only weights"):
        fastnn.load_model(tmp_path / "w.fastnn")
    small = fastnn.Sequential([Dense(2, input_shape=(5,))])
    with pytest.raises(ModelFileError, match="4 weight arrays; this model has 2"):
        small.load_weights(tmp_path / "w.fastnn")


def _rewrite(src, dst, edit):
    """Copy a model zip, letting edit(name, data) -> data change members. An edited
    model.json gets its hash recomputed, so the edit reaches the checks after the hash
    (test_untrusted_files.py tests the hash itself)."""
    with zipfile.ZipFile(src) as zin:
        members = {i.filename: edit(i.filename, zin.read(i.filename)) for i in zin.infolist()}
    text = members.get("model.json")
    if text is not None and members.get("model.json.sha256") is not None:
        text = text.encode() if isinstance(text, str) else text
        members["model.json.sha256"] = hashlib.sha256(text).hexdigest()
    with zipfile.ZipFile(dst, "w") as zout:
        for name, data in members.items():
            if data is not None:
                zout.writestr(name, data)


def _json_edit(change):
    def edit(name, data):
        if name != "model.json":
            return data
        meta = json.loads(data)
        change(meta)
        return json.dumps(meta)

    return edit


def _tamper_array(name, data):
    if name.startswith("arrays/0000"):
        return data[:-4] + b"\x00\x00\x80\x3f"
    return data


def _object_array(name, data):
    if name.startswith("arrays/0000"):
        buf = io.BytesIO()
        np.save(buf, np.array([print], dtype=object), allow_pickle=True)
        return buf.getvalue()
    return data


CORRUPTIONS = {
    "truncated": (
        lambda p, q: q.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
        "truncated or corrupted",
    ),
    "not a zip": (lambda p, q: q.write_bytes(b"hello, not a model"), "not a fastnn model file"),
    "empty file": (lambda p, q: q.write_bytes(b""), "not a fastnn model file"),
    "no model.json": (
        lambda p, q: _rewrite(p, q, lambda n, d: None if n == "model.json" else d),
        "has no model.json",
    ),
    "wrong format": (
        lambda p, q: _rewrite(p, q, _json_edit(lambda m: m.update(format="other"))),
        "not a fastnn model file",
    ),
    "newer version": (
        lambda p, q: _rewrite(p, q, _json_edit(lambda m: m.update(version=99))),
        "format version 99",
    ),
    "tampered array": (lambda p, q: _rewrite(p, q, _tamper_array), "SHA-256"),
    "pickled object array": (lambda p, q: _rewrite(p, q, _object_array), "SHA-256|corrupted"),
    "unknown layer": (
        lambda p, q: _rewrite(
            p, q, _json_edit(lambda m: m["model"]["layers"][1].update(class_name="os.system"))
        ),
        "unknown layer class",
    ),
    "bad json": (
        lambda p, q: _rewrite(p, q, lambda n, d: b"{" if n == "model.json" else d),
        "corrupted",
    ),
    "weights of the wrong shape": (
        lambda p, q: _rewrite(
            p, q, _json_edit(lambda m: m["model"]["layers"][1]["config"].update(units=17))
        ),
        "the architecture implies 4 weight arrays",
    ),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_corrupted_files_raise_clear_errors(tmp_path, case):
    m = _model()
    m.fit(*_data(), epochs=1, verbose=0)
    good = tmp_path / "good.fastnn"
    m.save(good)
    bad = tmp_path / "bad.fastnn"
    make, message = CORRUPTIONS[case]
    make(good, bad)
    with pytest.raises(ModelFileError, match=message):
        fastnn.load_model(bad)
    assert isinstance(ModelFileError("x"), ValueError)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        fastnn.load_model(tmp_path / "nope.fastnn")


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    from fastnn import saving

    m = _model()
    path = tmp_path / "m.fastnn"
    m.build()
    m.save(path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(saving.np, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        m.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.fastnn"]  # no temporary file left behind


@pytest.mark.slow
def test_kill_during_save_never_destroys_the_previous_file(tmp_path):
    """A process killed (SIGKILL) while writing a large model leaves the old file
    loadable: the new content goes to a temporary file that is renamed at the end."""
    path = tmp_path / "big.fastnn"
    script = textwrap.dedent(f"""
        import sys, numpy as np, fastnn
        from fastnn.layers import Dense
        m = fastnn.Sequential([Dense(2048, input_shape=(2048,)), Dense(2048), Dense(10)])
        m.build()
        m.save({str(path)!r})
        print("saved", flush=True)
        for i in range(1000):
            m.set_weights([w + 1 for w in m.get_weights()])
            m.save({str(path)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "saved"
        import time

        time.sleep(1.5)  # several saves are under way by now
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    m = fastnn.load_model(path)
    assert m.count_params() == 2048 * 2048 * 2 + 2 * 2048 + 2048 * 10 + 10


def test_pickle_round_trip():
    x, y = _data()
    m = _model()
    m.fit(x, y, epochs=1, verbose=0)
    r = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(r.predict(x), m.predict(x))
    assert _same(r.get_weights(), m.get_weights())
    r.fit(x, y, epochs=1, verbose=0)  # still trainable
    unbuilt = pickle.loads(pickle.dumps(fastnn.Sequential([Dense(3)])))
    assert not unbuilt.built


# ---- the public API saving is built on ------------------------------------------------


def test_get_config_from_config_round_trip():
    """Keras' Sequential config shape: name, dtype, layers (the Input first) and, once
    built, build_input_shape with the batch axis first."""
    m = _model()
    unbuilt = fastnn.Sequential([Dense(4, activation="tanh"), Dense(2)], name="tiny")
    cfg = unbuilt.get_config()
    assert "build_input_shape" not in cfg and cfg["name"] == "tiny"
    assert fastnn.Sequential.from_config(cfg).built is False
    m.build()
    cfg = m.get_config()
    assert cfg["build_input_shape"] == [None, 5] and cfg["dtype"] == "float32"
    assert [s["class_name"] for s in cfg["layers"]] == ["InputLayer", "Dense", "Dropout", "Dense"]
    json.dumps(cfg)  # plain data
    r = fastnn.Sequential.from_config(cfg)
    assert r.built and r.get_config() == cfg
    assert [w.shape for w in r.get_weights()] == [w.shape for w in m.get_weights()]
    with pytest.raises(ValueError, match="unknown layer class 'Lambda'"):
        fastnn.Sequential.from_config({"layers": [{"class_name": "Lambda", "config": {}}]})
    with pytest.raises(ValueError, match="expected a dict with a list of layers"):
        fastnn.Sequential.from_config([])


def test_compile_config_round_trip():
    m = _model()
    cfg = m.get_compile_config()
    assert set(cfg) == {"optimizer", "loss", "metrics"} and cfg["metrics"] == ["accuracy"]
    r = fastnn.Sequential.from_config(m.get_config())
    assert r.get_compile_config() is None
    r.compile_from_config(cfg)
    assert r.get_compile_config() == cfg
    assert r.optimizer.learning_rate == pytest.approx(0.01)


def test_optimizer_state_set_before_the_model_builds_it(tmp_path):
    """set_state on an optimizer not built yet is kept and applied, slots included, at
    the first step: that step is bitwise the step the original model takes next."""

    def plain(seed):  # no dropout: no masks to line up between the two models
        fastnn.set_seed(seed)
        p = fastnn.Sequential(
            [Input(shape=(5,)), Dense(16, activation="relu"), Dense(3, activation="softmax")]
        )
        p.compile(fastnn.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
        return p

    x, y = _data()
    m = plain(7)
    m.fit(x, y, epochs=2, batch_size=16, verbose=0, shuffle=False)
    state = m.optimizer.get_state()
    assert (
        state["iterations"] == 8
        and set(state["slots"])
        and all(s.shape == (m.count_params(),) for s in state["slots"].values())
    )
    r = plain(1)
    r.set_weights(m.get_weights())
    r.optimizer.set_state(state)
    assert r.optimizer.iterations == 8 and r.optimizer.updater is None
    assert set(r.optimizer.get_state()["slots"]) == set(state["slots"])
    m.train_on_batch(x[:16], y[:16])
    r.train_on_batch(x[:16], y[:16])
    assert _same(m.get_weights(), r.get_weights()) and r.optimizer.iterations == 9
    with pytest.raises(ValueError, match="iterations, learning_rate and slots"):
        r.optimizer.set_state({"iterations": 1})


def test_bad_optimizer_slot_in_a_file_fails_at_load(tmp_path):
    x, y = _data()
    m = _model()
    m.fit(x, y, epochs=1, batch_size=16, verbose=0)
    meta, arrays = fastnn.saving.model_archive(m)
    key = next(k for k in arrays if k.startswith("slot/"))
    arrays[key] = arrays[key][:-1]
    path = tmp_path / "bad.fastnn"
    fastnn.saving.save_archive(path, meta, arrays)
    with pytest.raises(ModelFileError, match="optimizer slot .* expected shape"):
        fastnn.load_model(path)
