"""The child side of fastnn's side-by-side benchmarks: one cell, measured in its own
process.

``python -m <module> --cell ENGINE CONFIG ...`` (see :func:`bench.harness.main`) calls
:func:`run_cell`, which builds the engine, fixes the BLAS / OpenMP thread pools with
threadpoolctl (plus ``torch.set_num_threads`` / ``fastnn.set_num_threads`` when those
modules are loaded), warms up, picks a number of steps per batch so that a timed batch
lasts about ``--target-seconds``, times ``--repeats`` batches with ``time.perf_counter``,
counts minor page faults over the timed steps, and optionally measures tracemalloc net
growth over ``--alloc-steps`` further steps. The result dict is printed as one JSON line
after :data:`RESULT_MARK`, which :mod:`bench.cells` looks for.

Also here, because the child and the parent both need them: :class:`Engine`,
:class:`EngineUnavailable`, :class:`Settings`, :func:`select_configs`, :func:`repo_root`,
:func:`thread_pools`, and :func:`import_preferring_installed` for the engines.
"""

from __future__ import annotations

import gc
import importlib
import os
import resource
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

RESULT_MARK = "BENCH-CELL-RESULT "


class EngineUnavailable(Exception):
    """Raised by an engine's build() when its library cannot be used here."""


class ConfigUnsupported(EngineUnavailable):
    """Raised by an engine's build() for a config it has no equivalent of (its other
    configs still run)."""


@dataclass(frozen=True)
class Engine:
    name: str
    build: Callable  # (config, seed) -> runner with step() [, predict_one(), info()]
    description: str = ""
    # Environment for the cell's process: value None means "remove the variable".
    env: dict = field(default_factory=dict)
    # Top-level modules that must be importable; the parent skips the engine with a
    # note when one is missing (checked with importlib.util.find_spec, no import).
    requires: tuple = ()
    # Measure tracemalloc net growth for this engine's cells.
    track_alloc: bool = False


def fastnn_engines(build: Callable, description: str) -> dict:
    """The "fastnn" (compiled kernels) and "fastnn-numpy" (FASTNN_BACKEND=numpy) engines
    of one runner, as every benchmark names them."""
    return {
        "fastnn": Engine(
            name="fastnn",
            build=build,
            track_alloc=True,
            env={"FASTNN_BACKEND": None},
            description=description,
        ),
        "fastnn-numpy": Engine(
            name="fastnn-numpy",
            build=build,
            track_alloc=True,
            env={"FASTNN_BACKEND": "numpy"},
            description="fastnn with FASTNN_BACKEND=numpy (its pure NumPy reference)",
        ),
    }


@dataclass
class Settings:
    threads: int = 2
    passes: int = 3
    repeats: int = 7
    target_seconds: float = 0.2
    warmup_seconds: float = 0.5
    alloc_steps: int = 1000
    seed: int = 0
    cell_timeout: float = 3600.0
    quick: bool = False


# --------------------------------------------------------------------------- paths


def repo_root() -> Path:
    """The folder that contains the ``bench`` package."""
    return Path(__file__).resolve().parent.parent


def import_preferring_installed(name: str):
    """Import ``name``, preferring an installed copy over the source tree.

    Run from the repository root, ``python -m bench...`` puts the root on sys.path,
    where a source ``fastnn/`` folder (without compiled modules) would shadow the
    installed wheel.  Try without the root first; fall back to it only when the
    module is not installed at all (in-place builds).
    """
    if name in sys.modules:
        return sys.modules[name]
    root = os.path.normcase(str(repo_root()))
    saved = list(sys.path)

    def is_root(p: str) -> bool:
        try:
            return os.path.normcase(os.path.abspath(p or os.getcwd())) == root
        except OSError:
            return False

    sys.path[:] = [p for p in saved if not is_root(p)]
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
    finally:
        sys.path[:] = saved
    return importlib.import_module(name)


# ------------------------------------------------------------------------- threads

_LIMITERS = []  # keep threadpoolctl limiters alive for the life of the process


def apply_thread_limits(n: int) -> dict:
    """Fix every loaded BLAS/OpenMP pool (and torch, fastnn if loaded) to ``n``."""
    from threadpoolctl import threadpool_limits

    _LIMITERS.append(threadpool_limits(limits=n))
    notes = {}
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)
        notes["torch_num_threads"] = torch.get_num_threads()
    fastnn = sys.modules.get("fastnn")
    if fastnn is not None:
        setter = getattr(fastnn, "set_num_threads", None)
        if setter is None:
            notes["fastnn_set_num_threads"] = "missing"
        else:
            setter(n)
            notes["fastnn_set_num_threads"] = n
    return notes


def thread_pools() -> list:
    from threadpoolctl import threadpool_info

    return [
        {
            "user_api": lib.get("user_api"),
            "internal_api": lib.get("internal_api"),
            "prefix": lib.get("prefix"),
            "version": lib.get("version"),
            "num_threads": lib.get("num_threads"),
        }
        for lib in threadpool_info()
    ]


# ------------------------------------------------------------------ child: timing


def _rusage():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_minflt, r.ru_majflt, r.ru_utime, r.ru_stime


def time_callable(
    fn: Callable[[], object], repeats: int, target_seconds: float, warmup_seconds: float
) -> dict:
    """Warm up, choose steps per batch, time ``repeats`` batches.

    Returns seconds per step (median and every batch), steps per batch, and the
    minor/major page faults and user/system CPU time per step over the timed steps.
    """
    perf = time.perf_counter

    # Warm-up: at least 3 calls and at least warmup_seconds.
    warm = 0
    t_end = perf() + warmup_seconds
    while warm < 3 or perf() < t_end:
        fn()
        warm += 1

    # Calibrate: double n until n calls take a quarter of the target.
    n = 1
    while True:
        t0 = perf()
        for _ in range(n):
            fn()
        dt = perf() - t0
        warm += n
        if dt >= target_seconds / 4 or n >= 1 << 24:
            break
        n *= 2
    k = max(1, round(target_seconds * n / max(dt, 1e-9)))

    per_step = []
    f0 = _rusage()
    for _ in range(repeats):
        t0 = perf()
        for _ in range(k):
            fn()
        per_step.append((perf() - t0) / k)
    f1 = _rusage()
    steps = k * repeats
    wall = sum(per_step) * k
    return {
        "sec_per_step": statistics.median(per_step),
        "sec_per_step_batches": per_step,
        "steps_per_batch": k,
        "repeats": repeats,
        "warmup_steps": warm,
        "minflt_per_step": (f1[0] - f0[0]) / steps,
        "majflt_per_step": (f1[1] - f0[1]) / steps,
        "user_cpu_per_wall": (f1[2] - f0[2]) / wall if wall > 0 else None,
        "sys_cpu_per_wall": (f1[3] - f0[3]) / wall if wall > 0 else None,
    }


def measure_alloc(fn: Callable[[], object], steps: int) -> dict:
    """tracemalloc net growth (and transient peak) over ``steps`` calls.

    Run after warm-up and separately from timing (tracemalloc slows allocation).
    """
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        for _ in range(steps):
            fn()
        gc.collect()
        cur, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {
        "steps": steps,
        "net_bytes": cur - base,
        "net_bytes_per_step": (cur - base) / steps,
        "peak_above_start_bytes": peak - base,
    }


def run_cell(
    engines: dict, configs: list, engine_name: str, config_key: str, settings: Settings
) -> dict:
    """Child side: build, time and measure one cell; returns the result dict."""
    out = {"engine": engine_name, "config": None, "status": "failed"}
    try:
        cfg_index = select_configs(configs, config_key)
        if len(cfg_index) != 1:
            raise ValueError(f"--cell expects one config, got {config_key!r}")
        config = configs[cfg_index[0]]
        out["config"] = config.name
        out["config_index"] = cfg_index[0]
        if engine_name not in engines:
            raise ValueError(f"unknown engine {engine_name!r}; known: {', '.join(engines)}")
        engine = engines[engine_name]
        for var, value in engine.env.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value

        # Load both OpenBLAS copies (numpy's and scipy's) before fixing the pools.
        import numpy  # noqa: F401
        import scipy.linalg  # noqa: F401

        runner = engine.build(config, settings.seed)
        kind = getattr(config, "kind", "step")
        fn = getattr(runner, "predict_one" if kind == "predict" else "step", None)
        if fn is None:
            out["status"] = "n/a"
            out["error"] = f"engine {engine_name} has no {kind} cell"
            return out
        out["thread_notes"] = apply_thread_limits(settings.threads)
        out.update(
            time_callable(fn, settings.repeats, settings.target_seconds, settings.warmup_seconds)
        )
        out["thread_pools"] = thread_pools()
        if engine.track_alloc and settings.alloc_steps > 0:
            out["alloc"] = measure_alloc(fn, settings.alloc_steps)
        info = getattr(runner, "info", None)
        if info is not None:
            out["info"] = info()
        out["status"] = "ok"
    except EngineUnavailable as exc:
        out["status"] = "unsupported" if isinstance(exc, ConfigUnsupported) else "unavailable"
        out["error"] = str(exc)
    except Exception as exc:  # report, never crash the run
        out["status"] = "failed"
        out["error"] = f"{type(exc).__name__}: {exc}"
        out["traceback"] = traceback.format_exc(limit=8)
    return out


# ------------------------------------------------------------------------- configs


def select_configs(configs: list, spec: str | None) -> list:
    """Indices of configs chosen by a comma list of indices or name prefixes."""
    if not spec:
        return list(range(len(configs)))
    chosen = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        if part.isdigit():
            i = int(part)
            if not 0 <= i < len(configs):
                raise ValueError(f"config index {i} out of range 0..{len(configs) - 1}")
            hits = [i]
        else:
            hits = [i for i, c in enumerate(configs) if c.name.startswith(part)]
            if not hits:
                names = "; ".join(f"{i}: {c.name}" for i, c in enumerate(configs))
                raise ValueError(f"no config starts with {part!r}. Known: {names}")
        chosen.extend(h for h in hits if h not in chosen)
    return chosen
