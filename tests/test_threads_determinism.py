"""Reproducibility and threads.

(a) the same seed, data and thread count give bitwise identical weights and
    history in two fresh processes (an MLP with dropout and an LSTM);
(b) 1 vs 2 BLAS threads: the element-wise kernels do not depend on the thread
    count, BLAS sums may be split differently, so results agree to a stated
    tolerance: rtol 1e-4, atol 1e-5 on the float32 weights after 3 epochs (and
    rtol 1e-4 on the history);
(c) concurrent predict calls on one model give the single-threaded results exactly;
(d) two threads fitting two different models give the sequential results exactly;
(e) two threads training one model: the second gets a RuntimeError (the model is
    busy), nothing is half-updated, and the model keeps training afterwards;
(f) the kernels see BLAS thread limits, and their one-thread switch for small
    products, shared by all threads, leaves the thread count as it found it even
    when many threads use it at once.
"""

import hashlib
import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import fastnn
from fastnn.callbacks import Callback
from fastnn.layers import LSTM, Dense, Input

pytestmark = pytest.mark.slow  # fresh processes / long loops: not in the fast lane

SCRIPT = r"""
import hashlib, json, sys
import numpy as np
import fastnn
from fastnn.layers import LSTM, Dense, Dropout, Input


fastnn.set_num_threads(int(sys.argv[1]))
rng = np.random.default_rng(0)
out = {"threads": fastnn.get_num_threads(), "file": fastnn.__file__}

x = rng.standard_normal((256, 64)).astype(np.float32)
y = (np.abs(x[:, :3]).argmax(1)).astype(np.int64)
mlp = fastnn.Sequential([Input(shape=(64,)), Dense(256, activation="relu"), Dropout(0.2),
                         Dense(256, activation="tanh"), Dense(3, activation="softmax")])
mlp.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
hist = mlp.fit(x, y, epochs=3, batch_size=64, validation_split=0.25, verbose=0, seed=11)

xs = rng.standard_normal((96, 12, 8)).astype(np.float32)
ys = xs.sum(axis=(1, 2))[:, None].astype(np.float32) / 10
rnn = fastnn.Sequential([Input(shape=(12, 8)), LSTM(32), Dense(1)])
rnn.compile("rmsprop", "mse")
hist_rnn = rnn.fit(xs, ys, epochs=3, batch_size=32, verbose=0, seed=12)

for name, model, h in (("mlp", mlp, hist), ("lstm", rnn, hist_rnn)):
    weights = model.get_weights()
    digest = hashlib.sha256()
    for w in weights:
        digest.update(np.ascontiguousarray(w).tobytes())
    out[name] = {"sha256": digest.hexdigest(), "history": h.history,
                 "weights": [w.tolist() for w in weights]}
print(json.dumps(out))
"""


def run_fresh(threads):
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(threads)],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def runs():
    return {"a1": run_fresh(1), "b1": run_fresh(1), "a2": run_fresh(2), "b2": run_fresh(2)}


# ------------------------------------------------------------------ (a)
def test_the_subprocess_uses_this_fastnn_and_the_requested_threads(runs):
    assert os.path.dirname(runs["a1"]["file"]) == os.path.dirname(fastnn.__file__)
    assert runs["a1"]["threads"] == 1
    assert runs["a2"]["threads"] in (1, 2)  # 1 on a one-core machine


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name", ["mlp", "lstm"])
def test_same_seed_same_threads_is_bitwise_identical_across_processes(runs, threads, name):
    a, b = runs[f"a{threads}"][name], runs[f"b{threads}"][name]
    assert a["sha256"] == b["sha256"]
    assert a["history"] == b["history"]  # exact floats, through JSON's repr
    assert all(np.isfinite(v).all() for v in a["history"].values())


# ------------------------------------------------------------------ (b)
@pytest.mark.parametrize("name", ["mlp", "lstm"])
def test_one_and_two_blas_threads_agree_within_tolerance(runs, name):
    one, two = runs["a1"][name], runs["a2"][name]
    for w1, w2 in zip(one["weights"], two["weights"]):
        np.testing.assert_allclose(
            np.asarray(w2, np.float32), np.asarray(w1, np.float32), rtol=1e-4, atol=1e-5
        )
    assert one["history"].keys() == two["history"].keys()
    for key in one["history"]:
        np.testing.assert_allclose(two["history"][key], one["history"][key], rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------ helpers
def mlp_model(seed=0, f=16):
    model = fastnn.Sequential([Input(shape=(f,)), Dense(32, activation="tanh"), Dense(4)])
    model.compile("adam", "mse")
    fastnn.set_seed(seed)
    model.build()
    return model


def lstm_model(seed=0):
    model = fastnn.Sequential([Input(shape=(10, 4)), LSTM(16), Dense(1)])
    model.compile("adam", "mse")
    fastnn.set_seed(seed)
    model.build()
    return model


def run_together(*fns):
    """Run every fn in its own thread, released together by a barrier; re-raise
    the first exception a thread met."""
    barrier = threading.Barrier(len(fns))
    results, errors = [None] * len(fns), []

    def target(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results


def digest(weights):
    h = hashlib.sha256()
    for w in weights:
        h.update(np.ascontiguousarray(w).tobytes())
    return h.hexdigest()


# ------------------------------------------------------------------ (c)
@pytest.mark.parametrize("make", [mlp_model, lstm_model])
def test_concurrent_predict_on_one_model_gives_the_single_threaded_results(make):
    model = make()
    rng = np.random.default_rng(1)
    shape = model.layers[0].input_shape
    xs = [rng.standard_normal((n,) + tuple(shape)).astype(np.float32) for n in (1, 7, 33, 64)]
    expected = [model.predict(x, verbose=0) for x in xs]

    def worker(offset):
        def fn():
            bad = 0
            for i in range(150):
                k = (i + offset) % len(xs)
                bad += not np.array_equal(model.predict(xs[k], verbose=0), expected[k])
            return bad

        return fn

    assert run_together(worker(0), worker(1), worker(2)) == [0, 0, 0]


# ------------------------------------------------------------------ (d)
def fit_fresh(make, x, y, seed):
    model = make(seed)
    hist = model.fit(x, y, epochs=3, batch_size=16, verbose=0, seed=seed)
    return digest(model.get_weights()), hist.history


def test_two_threads_fitting_different_models_match_sequential_fits():
    rng = np.random.default_rng(2)
    x1 = rng.standard_normal((64, 16)).astype(np.float32)
    y1 = rng.standard_normal((64, 4)).astype(np.float32)
    x2 = rng.standard_normal((48, 10, 4)).astype(np.float32)
    y2 = rng.standard_normal((48, 1)).astype(np.float32)
    jobs = [(mlp_model, x1, y1, 3), (lstm_model, x2, y2, 4), (mlp_model, x1, y1, 5)]
    sequential = [fit_fresh(*job) for job in jobs]
    for _ in range(3):
        together = run_together(*[(lambda job=job: fit_fresh(*job)) for job in jobs])
        assert together == sequential


# ------------------------------------------------------------------ (e)
class Gate(Callback):
    """Holds fit inside its first batch until the other thread has tried."""

    def __init__(self):
        super().__init__()
        self.inside, self.release = threading.Event(), threading.Event()

    def on_train_batch_begin(self, batch, logs=None):
        if not self.inside.is_set():
            self.inside.set()
            assert self.release.wait(60)


def test_a_second_thread_training_a_busy_model_gets_a_runtime_error():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 16)).astype(np.float32)
    y = rng.standard_normal((64, 4)).astype(np.float32)
    reference = mlp_model(seed=7)
    reference.fit(x, y, epochs=2, batch_size=16, verbose=0, seed=1)

    model = mlp_model(seed=7)
    model.train_on_batch(x[:16], y[:16])  # the Net exists: the fast path is taken
    model = mlp_model(seed=7)  # and a fresh one for the comparison
    gate = Gate()
    errors = []

    def trainer():
        model.fit(x, y, epochs=2, batch_size=16, verbose=0, seed=1, callbacks=[gate])

    t = threading.Thread(target=trainer)
    t.start()
    try:
        assert gate.inside.wait(60)
        for call in (
            lambda: model.train_on_batch(x[:16], y[:16]),
            lambda: model.fit(x, y, epochs=1, verbose=0),
        ):
            with pytest.raises(RuntimeError, match="already being trained"):
                call()
            errors.append(True)
    finally:
        gate.release.set()
        t.join(60)
    assert errors == [True, True]
    # the rejected calls changed nothing: the weights are those of the fit alone
    assert digest(model.get_weights()) == digest(reference.get_weights())
    # and the model is still usable
    loss = model.train_on_batch(x[:16], y[:16])
    assert np.isfinite(loss) and all(np.isfinite(w).all() for w in model.get_weights())


@pytest.mark.parametrize("built_first", [True, False])
def test_two_threads_hammering_train_on_batch_on_one_model(built_first):
    """Every call either completes a whole step or raises RuntimeError; the final
    weights are exactly those of as many sequential steps as succeeded."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((32, 16)).astype(np.float32)
    y = rng.standard_normal((32, 4)).astype(np.float32)
    model = mlp_model(seed=9)
    if built_first:
        model.train_on_batch(x, y)
    start = model.get_weights()
    state = model.optimizer.iterations

    def worker():
        ok = busy = 0
        for _ in range(300):
            try:
                loss = model.train_on_batch(x, y)
                assert np.isfinite(loss)
                ok += 1
            except RuntimeError as exc:
                assert "already being trained" in str(exc)
                busy += 1
        return ok, busy

    results = run_together(worker, worker)
    done = sum(r[0] for r in results)
    assert done >= 1 and sum(r[1] for r in results) == 600 - done
    assert all(np.isfinite(w).all() for w in model.get_weights())

    replay = mlp_model(seed=9)
    if built_first:
        replay.train_on_batch(x, y)
    assert digest(replay.get_weights()) == digest(start) and replay.optimizer.iterations == state
    for _ in range(done):
        replay.train_on_batch(x, y)
    assert digest(model.get_weights()) == digest(replay.get_weights())
    assert model.optimizer.iterations == replay.optimizer.iterations
    # training goes on afterwards
    model.fit(x, y, epochs=1, verbose=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_kernels_see_thread_limits_and_restore_them():
    from threadpoolctl import threadpool_limits

    from fastnn.backend.compiled import _blas, _parallel

    start = _parallel.blas_thread_count()
    if start == 0 or not _parallel.HAS_LOCAL_THREADS:
        pytest.skip("scipy's BLAS does not report or switch its thread count")
    with threadpool_limits(1):
        assert _parallel.blas_thread_count() == 1
    assert _parallel.blas_thread_count() == start
    a = np.ones((8, 8), np.float32)

    def small_products():
        c = np.empty((8, 8), np.float32)
        for _ in range(2000):
            _blas.gemm_rowmajor(a, a, c)  # each one switches BLAS to one thread and back
        assert (c == 8).all()

    threads = [threading.Thread(target=small_products) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _parallel.blas_thread_count() == start


def test_predict_get_weights_and_save_in_other_threads_wait_for_whole_steps(tmp_path):
    """A fit holds the model's lock per step: another thread's predict, get_weights and
    save wait for the step in progress (they used to make the trainer fail, or see a mix
    of two steps); every snapshot they see is the state after some whole step."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((256, 16)).astype(np.float32)
    y = rng.standard_normal((256, 4)).astype(np.float32)
    model = mlp_model(seed=3)
    states = {digest(model.get_weights())}

    class Record(Callback):
        def on_train_batch_end(self, batch, logs=None):
            states.add(digest(self.model.get_weights()))  # the trainer's own thread

    seen, done = [], threading.Event()

    def trainer():
        try:
            model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[Record()])
        finally:
            done.set()

    def watcher():
        k = 0
        while not done.is_set():
            seen.append(digest(model.get_weights()))
            assert model.predict(x[:4], verbose=0).shape == (4, 4)
            if k % 20 == 0:
                model.save(tmp_path / f"s{k}.fastnn")
            k += 1
        return k

    run_together(trainer, watcher)
    assert seen and set(seen) <= states
    for path in tmp_path.iterdir():  # every save is a whole state too
        assert digest(fastnn.load_model(path).get_weights()) in states


def test_a_first_predict_and_a_fit_in_two_threads_build_one_model():
    # a first predict used to build outside the lock: a build after the fit's own threw
    # its training away. Now the result is that of the fit alone, bitwise.
    rng = np.random.default_rng(12)
    x = rng.standard_normal((64, 16)).astype(np.float32)
    y = rng.standard_normal((64, 4)).astype(np.float32)

    def fresh():
        fastnn.utils.set_random_seed(21)
        model = fastnn.Sequential([Input(shape=(16,)), Dense(8, activation="tanh"), Dense(4)])
        model.compile("adam", "mse")
        return model

    alone = fresh()
    alone.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    for _ in range(5):
        model = fresh()
        run_together(
            lambda m=model: m.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False),
            lambda m=model: m.predict(x, verbose=0),
        )
        assert digest(model.get_weights()) == digest(alone.get_weights())
