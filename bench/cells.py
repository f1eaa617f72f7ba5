"""The parent side of fastnn's side-by-side benchmarks: running the grid of cells.

:func:`run_interleaved` runs every (engine, config) cell in a FRESH subprocess
(``python -m <module> --cell ENGINE CONFIG ...``, measured by :mod:`bench.measure`),
with the thread-count environment variables of :data:`THREAD_ENV_VARS` set, for
``--passes`` passes, the engines' order rotating from pass to pass (:func:`pass_order`).
A cell whose process outlives ``--cell-timeout`` or exits without a result is recorded
as failed; an engine whose modules are missing, or whose build reports it unavailable,
has its remaining cells skipped. One progress line is printed per cell. The list of
cell results goes to :mod:`bench.report`, which takes the medians over passes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from bench.measure import RESULT_MARK, Engine, Settings, repo_root
from bench.report import fmt_ms

# Environment variables that size thread pools when a library is first loaded.
# They are set to the requested thread count in every cell's environment, so pools
# start at the right size; threadpoolctl then fixes them explicitly after import.
THREAD_ENV_VARS = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


# ---------------------------------------------------------------- parent: driving


def _cell_args(settings: Settings, alloc_steps: int) -> list:
    return [
        "--threads",
        str(settings.threads),
        "--repeats",
        str(settings.repeats),
        "--target-seconds",
        repr(settings.target_seconds),
        "--warmup-seconds",
        repr(settings.warmup_seconds),
        "--alloc-steps",
        str(alloc_steps),
        "--seed",
        str(settings.seed),
    ]


def _cell_env(engine: Engine, threads: int) -> dict:
    env = dict(os.environ)
    for var in THREAD_ENV_VARS:
        env[var] = str(threads)
    for var, value in engine.env.items():
        if value is None:
            env.pop(var, None)
        else:
            env[var] = value
    return env


def spawn_cell(
    module: str, engine: Engine, config_index: int, settings: Settings, alloc_steps: int
) -> dict:
    cmd = [sys.executable, "-m", module, "--cell", engine.name, str(config_index)]
    cmd += _cell_args(settings, alloc_steps)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd,
            cwd=str(repo_root()),
            env=_cell_env(engine, settings.threads),
            capture_output=True,
            text=True,
            timeout=settings.cell_timeout,
        )
    except subprocess.TimeoutExpired:
        return {
            "engine": engine.name,
            "config_index": config_index,
            "status": "failed",
            "error": f"timed out after {settings.cell_timeout:.0f} s",
        }
    wall = time.perf_counter() - t0
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            res = json.loads(line[len(RESULT_MARK) :])
            res["process_seconds"] = wall
            return res
    tail = "\n".join((proc.stderr or "").strip().splitlines()[-6:])
    return {
        "engine": engine.name,
        "config_index": config_index,
        "status": "failed",
        "error": f"cell process exited with code {proc.returncode} without a result"
        + (f":\n{tail}" if tail else ""),
    }


def _engine_missing_module(engine: Engine) -> str | None:
    import importlib.util

    for mod in engine.requires:
        try:
            if importlib.util.find_spec(mod) is None:
                return mod
        except (ImportError, ValueError):
            return mod
    return None


def pass_order(engine_names: list, p: int) -> list:
    """The engines' order in pass p (from 0): rotated by p, so that no engine always
    runs in the same place (first after the previous config, or right after the same
    neighbour). Whatever the place in a pass does to a cell then averages out over
    the passes instead of always favouring or penalising the same engine."""
    if not engine_names:
        return []
    k = p % len(engine_names)
    return list(engine_names[k:]) + list(engine_names[:k])


def run_interleaved(
    module: str,
    engines: dict,
    engine_names: list,
    configs: list,
    config_indices: list,
    settings: Settings,
    log=print,
) -> list:
    """Parent side: passes x configs x engines, each cell in a fresh process."""
    cells = []
    dead = {}  # engine -> reason (unavailable: skip its remaining cells)
    for name in engine_names:
        missing = _engine_missing_module(engines[name])
        if missing:
            dead[name] = f"{missing} is not installed"
            log(f"note: skipping engine {name}: {dead[name]}")
    total = settings.passes * len(config_indices) * len(engine_names)
    done = 0
    try:
        for p in range(settings.passes):
            alloc_steps = settings.alloc_steps if p == 0 else 0
            for ci in config_indices:
                for name in pass_order(engine_names, p):
                    done += 1
                    prefix = (
                        f"[pass {p + 1}/{settings.passes} cell {done}/{total}] "
                        f"{configs[ci].name} | {name}: "
                    )
                    if name in dead:
                        cells.append(
                            {
                                "engine": name,
                                "config": configs[ci].name,
                                "config_index": ci,
                                "pass": p + 1,
                                "status": "skipped",
                                "error": dead[name],
                            }
                        )
                        continue
                    res = spawn_cell(module, engines[name], ci, settings, alloc_steps)
                    res["pass"] = p + 1
                    res["config"] = configs[ci].name
                    res["config_index"] = ci
                    cells.append(res)
                    log(prefix + _cell_line(res, settings.threads))
                    if res["status"] == "unavailable":
                        dead[name] = res.get("error", "unavailable")
                        log(f"note: engine {name} is unavailable; its remaining cells are skipped")
    except KeyboardInterrupt:
        log("interrupted: summarising the cells completed so far")
    return cells


def _cell_line(res: dict, threads: int) -> str:
    status = res["status"]
    if status != "ok":
        return f"{status.upper()}: {res.get('error', '')}"
    s = (
        f"{fmt_ms(res['sec_per_step'] * 1e3)} ms/step  (k={res['steps_per_batch']}, "
        f"minflt/step {res['minflt_per_step']:.1f})"
    )
    if "alloc" in res:
        a = res["alloc"]
        s += f"  tracemalloc net {a['net_bytes']} B over {a['steps']} steps"
    bad = [
        t
        for t in res.get("thread_pools", [])
        if t["user_api"] == "blas" and t["num_threads"] != threads
    ]
    if bad:
        pools = ", ".join(f"{t['prefix']}={t['num_threads']}" for t in bad)
        s += f"  WARNING: BLAS pools not at {threads} threads: {pools}"
    return s
