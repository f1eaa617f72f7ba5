"""Shared set-up of the pytest-benchmark suites in bench/.

Every BLAS and OpenMP pool (numpy's OpenBLAS, scipy's OpenBLAS that fastnn's kernels
call, OpenMP) is limited to BENCH_THREADS for the whole session, so compiled kernels
and NumPy twins run with the same number of threads (bench/README.md, "Threads").
"""

import os

import pytest

BENCH_THREADS = 2


def _load_pools():
    """Import what loads a thread pool, so that threadpoolctl can see and limit it."""
    import numpy  # noqa: F401  (numpy's OpenBLAS)
    import scipy.linalg  # noqa: F401  (scipy's OpenBLAS: the one the kernels call)

    from fastnn import backend as _backend

    _backend.import_compiled()  # the kernels (and so scipy's BLAS) are loaded first


def _pools():
    from threadpoolctl import threadpool_info

    return [
        {k: d.get(k) for k in ("user_api", "internal_api", "num_threads", "filepath")}
        for d in threadpool_info()
    ]


@pytest.fixture(scope="session", autouse=True)
def bench_threads():
    """Limit every BLAS / OpenMP pool to BENCH_THREADS threads for the session."""
    from threadpoolctl import threadpool_limits

    _load_pools()
    with threadpool_limits(limits=BENCH_THREADS):
        wrong = [p for p in _pools() if p["num_threads"] != BENCH_THREADS]
        assert not wrong, f"thread pools not at {BENCH_THREADS} threads: {wrong}"
        yield BENCH_THREADS


def pytest_report_header(config):
    import fastnn

    return [
        f"fastnn {fastnn.__version__} from {os.path.dirname(os.path.abspath(fastnn.__file__))}, "
        f"backend under test: compiled vs reference, {BENCH_THREADS} threads per pool"
    ]


def pytest_benchmark_update_machine_info(config, machine_info):
    import fastnn

    _load_pools()
    machine_info["fastnn"] = {
        "version": fastnn.__version__,
        "imported_from": os.path.dirname(os.path.abspath(fastnn.__file__)),
        "bench_threads": BENCH_THREADS,
        "thread_pools_at_start": _pools(),
    }
