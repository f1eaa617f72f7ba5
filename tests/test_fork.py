"""fork() while another thread trains: the child can use every model, its lock, the helper
thread and the BLAS switch (the child used to deadlock on a lock held, in the parent, by
the training thread). Python 3.11's multiprocessing "fork" start method, under load."""

import multiprocessing
import sys
import threading

import numpy as np
import pytest

import fastnn
from fastnn.layers import LSTM, Dense, Input

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the fork start method: Linux")


def _model():
    fastnn.utils.set_random_seed(0)
    model = fastnn.Sequential([Input((20, 8)), LSTM(64), Dense(1)])
    model.compile("adam", "mse")
    return model


def _child_work(_):
    # in the child: the shared model (whose lock another parent thread held at the fork)
    # trains and predicts, through the helper thread and the BLAS switch
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 20, 8)).astype(np.float32)
    y = rng.standard_normal((64, 1)).astype(np.float32)
    loss = SHARED.train_on_batch(x, y)
    out = SHARED.predict(x, verbose=0)
    return bool(np.isfinite(loss) and np.isfinite(out).all())


SHARED = None


def test_fork_while_another_thread_trains():
    global SHARED
    SHARED = _model()
    rng = np.random.default_rng(2)
    x = rng.standard_normal((256, 20, 8)).astype(np.float32)
    y = rng.standard_normal((256, 1)).astype(np.float32)
    SHARED.train_on_batch(x[:64], y[:64])
    stop = threading.Event()

    def trainer():
        while not stop.is_set():
            SHARED.train_on_batch(x[:64], y[:64])  # holds the lock most of the time

    t = threading.Thread(target=trainer)
    t.start()
    try:
        ctx = multiprocessing.get_context("fork")
        for _ in range(4):  # forks at random points of the trainer's steps
            with ctx.Pool(2) as pool:
                result = pool.map_async(_child_work, range(4))
                assert all(result.get(timeout=120))  # a deadlocked child times out
    finally:
        stop.set()
        t.join(60)
    assert not t.is_alive()
