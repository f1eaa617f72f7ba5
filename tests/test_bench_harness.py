"""The benchmark harness's bookkeeping: the engines' order in each pass and the
per-pass ratios (bench/harness.py and the bench/measure.py, bench/cells.py and
bench/report.py it re-exports from, loaded from the source tree by their paths)."""

import importlib
import importlib.util
import os
import sys

import pytest

_ROOT = os.environ.get("FASTNN_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))
)
_PATH = os.path.join(_ROOT, "bench", "harness.py")


@pytest.fixture(scope="module")
def harness():
    if not os.path.isfile(_PATH):
        pytest.skip(f"needs the source tree's bench/harness.py; not found at {_PATH}")
    # by path, not by putting the source tree on sys.path: that would let a later
    # `import fastnn` find the uncompiled sources instead of the installed package.
    # harness.py imports its siblings as bench.measure etc., so the source tree's bench
    # package is registered by its path while they load (dataclasses look their module
    # up while it runs), then removed again.
    bench = os.path.dirname(_PATH)
    spec = importlib.util.spec_from_file_location(
        "bench", os.path.join(bench, "__init__.py"), submodule_search_locations=[bench]
    )
    saved = {k: v for k, v in sys.modules.items() if k == "bench" or k.startswith("bench.")}
    for name in saved:
        del sys.modules[name]
    sys.modules["bench"] = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(sys.modules["bench"])
        return importlib.import_module("bench.harness")
    finally:
        for name in [k for k in sys.modules if k == "bench" or k.startswith("bench.")]:
            del sys.modules[name]
        sys.modules.update(saved)


def test_pass_order_rotates_so_each_engine_takes_each_place(harness):
    names = ["fastnn", "fastnn-numpy", "numpy", "torch", "gemm"]
    orders = [harness.pass_order(names, p) for p in range(len(names))]
    assert orders[0] == names
    assert orders[1] == ["fastnn-numpy", "numpy", "torch", "gemm", "fastnn"]
    for order in orders:
        assert sorted(order) == sorted(names)
    for place in range(len(names)):
        assert sorted(o[place] for o in orders) == sorted(names)
    assert harness.pass_order(names, 7) == orders[2]
    assert harness.pass_order([], 3) == []


def _cell(engine, p, sec, status="ok", ci=0):
    return {
        "engine": engine,
        "pass": p,
        "config_index": ci,
        "status": status,
        "sec_per_step": sec,
        "minflt_per_step": 0.0,
    }


def test_pass_ratios_pair_cells_of_the_same_pass(harness):
    cells = [
        _cell("fastnn", 1, 1.0),
        _cell("numpy", 1, 4.0),
        _cell("numpy", 2, 2.0),
        _cell("fastnn", 2, 1.0),  # rotated order
        _cell("fastnn", 3, 3.0),
        _cell("numpy", 3, 1.0, status="failed"),
        _cell("fastnn", 1, 9.0, ci=1),
        _cell("numpy", 1, 9.0, ci=1),
    ]
    assert harness.pass_ratios(cells, 0, "fastnn", "numpy") == [0.25, 0.5]
    assert harness.pass_ratios(cells, 1, "fastnn", "numpy") == [1.0]
    assert harness.pass_ratios(cells, 0, "fastnn", "torch") == []


def test_summary_and_ratio_table_report_the_per_pass_ratios(harness):
    class Config:
        def __init__(self, name):
            self.name = name

    configs = [Config("net")]
    cells = [
        _cell("fastnn", 1, 1.0),
        _cell("numpy", 1, 4.0),
        _cell("numpy", 2, 2.0),
        _cell("fastnn", 2, 1.0),
        _cell("fastnn", 3, 1.5),
        _cell("numpy", 3, 3.0),
    ]
    summary = harness.summarise(
        cells, configs, [0], ["fastnn", "numpy"], "fastnn", ("numpy", "torch")
    )
    # torch was not among the engines run: no entry for it
    assert summary["net"]["fastnn"]["ratio_passes"] == {"numpy": [0.25, 0.5, 0.5]}
    assert "ratio_passes" not in summary["net"]["numpy"]
    headers, rows = harness.ratio_table(summary, configs, [0], "fastnn")
    assert rows == [["net", "fastnn/numpy", "0.25 0.50 0.50", "0.50", "0.25-0.50"]]
    assert len(headers) == len(rows[0])
