"""Shared machinery for fastnn's side-by-side benchmarks.

A benchmark module (``bench/mlp_step.py``, later ``bench/engines_rnn.py``'s driver)
supplies a list of configs and a dict of :class:`Engine` objects and calls
:func:`main`.  Everything else lives here:

* the parent process runs every (engine, config) cell in a FRESH subprocess
  (``python -m <module> --cell ENGINE CONFIG ...``), ``--passes`` times, interleaving
  the engines within each pass, and takes the median over passes of each cell's
  median;
* the child process builds the engine, fixes the BLAS / OpenMP thread pools with
  threadpoolctl (plus ``torch.set_num_threads`` / ``fastnn.set_num_threads`` when
  those modules are loaded), warms up, picks a number of steps per batch so that a
  timed batch lasts about ``--target-seconds``, times ``--repeats`` batches with
  ``time.perf_counter``, counts minor page faults over the timed steps, optionally
  measures tracemalloc net growth over ``--alloc-steps`` further steps, and prints
  one JSON line;
* tables (plain text while running, markdown at the end) and the JSON result file.

A config object needs ``name`` (str) and ``kind`` (``"step"`` or ``"predict"``).
An engine's ``build(config, seed)`` returns a runner with ``step()`` and, optionally,
``predict_one()`` and ``info()`` (a JSON-able dict recorded with the cell).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib
import importlib.metadata
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

RESULT_MARK = "BENCH-CELL-RESULT "

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


class EngineUnavailable(Exception):
    """Raised by an engine's build() when its library cannot be used here."""


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


FULL_DEFAULTS = dict(passes=3, repeats=7, target_seconds=0.2, warmup_seconds=0.5,
                     alloc_steps=1000)
QUICK_DEFAULTS = dict(passes=1, repeats=3, target_seconds=0.05, warmup_seconds=0.1,
                      alloc_steps=20)


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


def time_callable(fn: Callable[[], object], repeats: int, target_seconds: float,
                  warmup_seconds: float) -> dict:
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


def run_cell(engines: dict, configs: list, engine_name: str, config_key: str,
             settings: Settings) -> dict:
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
            raise ValueError(f"unknown engine {engine_name!r}; "
                             f"known: {', '.join(engines)}")
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
        out.update(time_callable(fn, settings.repeats, settings.target_seconds,
                                 settings.warmup_seconds))
        out["thread_pools"] = thread_pools()
        if engine.track_alloc and settings.alloc_steps > 0:
            out["alloc"] = measure_alloc(fn, settings.alloc_steps)
        info = getattr(runner, "info", None)
        if info is not None:
            out["info"] = info()
        out["status"] = "ok"
    except EngineUnavailable as exc:
        out["status"] = "unavailable"
        out["error"] = str(exc)
    except Exception as exc:  # report, never crash the run
        out["status"] = "failed"
        out["error"] = f"{type(exc).__name__}: {exc}"
        out["traceback"] = traceback.format_exc(limit=8)
    return out


# ---------------------------------------------------------------- parent: driving


def select_configs(configs: list, spec: Optional[str]) -> list:
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


def _cell_args(settings: Settings, alloc_steps: int) -> list:
    return [
        "--threads", str(settings.threads),
        "--repeats", str(settings.repeats),
        "--target-seconds", repr(settings.target_seconds),
        "--warmup-seconds", repr(settings.warmup_seconds),
        "--alloc-steps", str(alloc_steps),
        "--seed", str(settings.seed),
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


def spawn_cell(module: str, engine: Engine, config_index: int, settings: Settings,
               alloc_steps: int) -> dict:
    cmd = [sys.executable, "-m", module, "--cell", engine.name, str(config_index)]
    cmd += _cell_args(settings, alloc_steps)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=str(repo_root()), env=_cell_env(engine, settings.threads),
                              capture_output=True, text=True, timeout=settings.cell_timeout)
    except subprocess.TimeoutExpired:
        return {"engine": engine.name, "config_index": config_index, "status": "failed",
                "error": f"timed out after {settings.cell_timeout:.0f} s"}
    wall = time.perf_counter() - t0
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            res = json.loads(line[len(RESULT_MARK):])
            res["process_seconds"] = wall
            return res
    tail = "\n".join((proc.stderr or "").strip().splitlines()[-6:])
    return {"engine": engine.name, "config_index": config_index, "status": "failed",
            "error": f"cell process exited with code {proc.returncode} without a result"
                     + (f":\n{tail}" if tail else "")}


def _engine_missing_module(engine: Engine) -> Optional[str]:
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


def run_interleaved(module: str, engines: dict, engine_names: list, configs: list,
                    config_indices: list, settings: Settings, log=print) -> list:
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
                    prefix = (f"[pass {p + 1}/{settings.passes} cell {done}/{total}] "
                              f"{configs[ci].name} | {name}: ")
                    if name in dead:
                        cells.append({"engine": name, "config": configs[ci].name,
                                      "config_index": ci, "pass": p + 1,
                                      "status": "skipped", "error": dead[name]})
                        continue
                    res = spawn_cell(module, engines[name], ci, settings, alloc_steps)
                    res["pass"] = p + 1
                    res["config"] = configs[ci].name
                    res["config_index"] = ci
                    cells.append(res)
                    log(prefix + _cell_line(res, settings.threads))
                    if res["status"] == "unavailable":
                        dead[name] = res.get("error", "unavailable")
                        log(f"note: engine {name} is unavailable; its remaining "
                            f"cells are skipped")
    except KeyboardInterrupt:
        log("interrupted: summarising the cells completed so far")
    return cells


def _cell_line(res: dict, threads: int) -> str:
    status = res["status"]
    if status != "ok":
        return f"{status.upper()}: {res.get('error', '')}"
    s = (f"{fmt_ms(res['sec_per_step'] * 1e3)} ms/step  (k={res['steps_per_batch']}, "
         f"minflt/step {res['minflt_per_step']:.1f})")
    if "alloc" in res:
        a = res["alloc"]
        s += f"  tracemalloc net {a['net_bytes']} B over {a['steps']} steps"
    bad = [t for t in res.get("thread_pools", [])
           if t["user_api"] == "blas" and t["num_threads"] != threads]
    if bad:
        s += "  WARNING: BLAS pools not at %d threads: %s" % (
            threads, ", ".join(f"{t['prefix']}={t['num_threads']}" for t in bad))
    return s


def pass_ratios(cells: list, config_index: int, primary: str, base: str) -> list:
    """primary's time over base's, pass by pass (passes where both cells are ok).

    The two cells of a pass ran seconds apart, closer in time than the same engine's
    cells of different passes; the spread of these ratios shows how far the machine's
    slow and fast phases move a ratio within one run."""
    by_pass = {}
    for c in cells:
        if c.get("config_index") == config_index and c.get("status") == "ok" \
                and c["engine"] in (primary, base):
            by_pass.setdefault(c["pass"], {})[c["engine"]] = c["sec_per_step"]
    return [t[primary] / t[base] for _, t in sorted(by_pass.items())
            if primary in t and base in t and t[base] > 0]


def summarise(cells: list, configs: list, config_indices: list,
              engine_names: list, primary: Optional[str] = None,
              baselines: tuple = ()) -> dict:
    """Median over passes of each cell's median (plus spread and page faults), and
    for ``primary`` its per-pass ratios to each of ``baselines``."""
    summary = {}
    for ci in config_indices:
        row = {}
        for name in engine_names:
            mine = [c for c in cells if c.get("config_index") == ci and c["engine"] == name]
            ok = [c for c in mine if c["status"] == "ok"]
            if not ok:
                status = mine[0]["status"] if mine else "not run"
                err = next((c.get("error") for c in mine if c.get("error")), None)
                row[name] = {"status": status, "error": err}
                continue
            secs = [c["sec_per_step"] for c in ok]
            entry = {
                "status": "ok",
                "passes": len(ok),
                "sec_per_step": statistics.median(secs),
                "sec_per_step_passes": secs,
                "minflt_per_step": statistics.median(c["minflt_per_step"] for c in ok),
            }
            alloc = next((c["alloc"] for c in ok if "alloc" in c), None)
            if alloc is not None:
                entry["alloc"] = alloc
            if name == primary:
                entry["ratio_passes"] = {
                    b: pass_ratios(cells, ci, primary, b)
                    for b in baselines if b in engine_names and b != primary}
            row[name] = entry
        summary[configs[ci].name] = row
    return summary


# ------------------------------------------------------------------ machine info


def _version(dist: str) -> Optional[str]:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(settings: Settings) -> dict:
    try:
        import numpy  # noqa: F401
        import scipy.linalg  # noqa: F401
        pools = thread_pools()
    except Exception as exc:  # pragma: no cover - informational only
        pools = [f"unavailable: {exc}"]
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": affinity,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "threadpoolctl": _version("threadpoolctl"),
        "torch": _version("torch"),
        "fastnn_installed": _version("fastnn"),
        "threads": settings.threads,
        "blas_libraries": pools,
    }


def machine_lines(info: dict) -> list:
    return [
        f"CPU: {info['cpu_model']} ({info['cpus_usable'] or info['cpu_count']} usable "
        f"CPUs); threads fixed at {info['threads']}",
        f"python {info['python']}, numpy {info['numpy']}, scipy {info['scipy']}, "
        f"torch {info['torch'] or 'not installed'}, threadpoolctl {info['threadpoolctl']}",
    ]


# ------------------------------------------------------------------------ tables


def fmt_ms(ms: Optional[float]) -> str:
    """Three significant digits, never scientific notation."""
    if ms is None:
        return "-"
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 1:
        return f"{ms:.2f}"
    digits = 2
    v = ms
    while v < 0.1 and digits < 8 and v > 0:
        v *= 10
        digits += 1
    return f"{ms:.{digits + 1}f}"


def fmt_ratio(r: Optional[float]) -> str:
    return "-" if r is None else f"{r:.2f}"


def text_table(headers: list, rows: list) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    def line(vals):
        return "  ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w)
                         for i, (v, w) in enumerate(zip(vals, widths)))
    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), sep] + [line(r) for r in rows])


def markdown_table(headers: list, rows: list) -> str:
    out = ["| " + " | ".join(headers) + " |",
           "|" + "|".join(["---"] + ["--:"] * (len(headers) - 1)) + "|"]
    out += ["| " + " | ".join(str(v) for v in r) + " |" for r in rows]
    return "\n".join(out)


def report(summary: dict, configs: list, config_indices: list, engine_names: list,
           flops: Callable, primary: str, baselines: list) -> tuple:
    """Main table (headers, rows) and details table (headers, rows).

    Main: config, ms/step per engine, GFLOP/s and page faults/step of ``primary``,
    and time ratios primary/baseline (below 1: primary is faster).
    Details: one row per (config, engine) with spread over passes, GFLOP/s,
    page faults/step and tracemalloc growth.
    """
    def ms(entry):
        return entry["sec_per_step"] * 1e3 if entry.get("status") == "ok" else None

    def cell_text(entry):
        if entry.get("status") == "ok":
            return fmt_ms(ms(entry))
        return {"unavailable": "n/a", "skipped": "n/a", "n/a": "-"}.get(entry["status"],
                                                                         entry["status"])

    has_primary = primary in engine_names
    bases = [b for b in baselines if b in engine_names and b != primary]
    headers = ["config"] + [f"{e} ms" for e in engine_names]
    if has_primary:
        headers += [f"{primary} GFLOP/s", f"{primary} faults/step"]
        headers += [f"{primary}/{b}" for b in bases]
    rows = []
    for ci in config_indices:
        cfg = configs[ci]
        row_s = summary[cfg.name]
        row = [cfg.name] + [cell_text(row_s[e]) for e in engine_names]
        if has_primary:
            p = row_s[primary]
            pm = ms(p)
            row.append("-" if pm is None else f"{flops(cfg) / (pm * 1e-3) / 1e9:.1f}")
            row.append("-" if pm is None else f"{p['minflt_per_step']:.1f}")
            for b in bases:
                bm = ms(row_s[b])
                row.append(fmt_ratio(pm / bm if pm is not None and bm else None))
        rows.append(row)

    d_headers = ["config", "engine", "ms/step", "min-max over passes", "GFLOP/s",
                 "faults/step", "tracemalloc net (B/step)"]
    d_rows = []
    for ci in config_indices:
        cfg = configs[ci]
        for e in engine_names:
            entry = summary[cfg.name][e]
            if entry.get("status") != "ok":
                d_rows.append([cfg.name, e, entry["status"], "", "", "", ""])
                continue
            m = ms(entry)
            lo, hi = min(entry["sec_per_step_passes"]), max(entry["sec_per_step_passes"])
            alloc = entry.get("alloc")
            d_rows.append([
                cfg.name, e, fmt_ms(m),
                f"{fmt_ms(lo * 1e3)}-{fmt_ms(hi * 1e3)} ({entry['passes']})",
                f"{flops(cfg) / (m * 1e-3) / 1e9:.1f}",
                f"{entry['minflt_per_step']:.1f}",
                "-" if alloc is None else
                f"{alloc['net_bytes_per_step']:.1f} ({alloc['steps']} steps)",
            ])
    return (headers, rows), (d_headers, d_rows)


def ratio_table(summary: dict, configs: list, config_indices: list,
                primary: str) -> tuple:
    """(headers, rows): primary's ratio to each baseline, pass by pass, with the
    median and the min-max of those per-pass ratios."""
    headers = ["config", "ratio", "per pass (in pass order)", "median", "min-max"]
    rows = []
    for ci in config_indices:
        entry = summary[configs[ci].name].get(primary, {})
        for base, rs in entry.get("ratio_passes", {}).items():
            if not rs:
                continue
            rows.append([configs[ci].name, f"{primary}/{base}",
                         " ".join(fmt_ratio(r) for r in rs),
                         fmt_ratio(statistics.median(rs)),
                         f"{fmt_ratio(min(rs))}-{fmt_ratio(max(rs))}"])
    return headers, rows


# -------------------------------------------------------------------------- main


def build_parser(description: str, engine_names: list) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--engines", default=",".join(engine_names),
                    help="comma list of engines (default: %(default)s)")
    ap.add_argument("--configs", default=None,
                    help="comma list of config indices or name prefixes (default: all)")
    ap.add_argument("--threads", type=int, default=2,
                    help="BLAS/OpenMP threads for every engine (default: 2)")
    ap.add_argument("--passes", type=int, default=None,
                    help="interleaved passes; median over passes (default 3, quick 1)")
    ap.add_argument("--repeats", type=int, default=None,
                    help="timed batches per cell (default 7, quick 3)")
    ap.add_argument("--target-seconds", type=float, default=None,
                    help="duration of one timed batch (default 0.2, quick 0.05)")
    ap.add_argument("--warmup-seconds", type=float, default=None,
                    help="warm-up duration per cell (default 0.5, quick 0.1)")
    ap.add_argument("--alloc-steps", type=int, default=None,
                    help="steps for the tracemalloc measurement of fastnn engines, "
                         "first pass only; 0 disables (default 1000, quick 20)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cell-timeout", type=float, default=3600.0,
                    help="seconds before a cell's process is abandoned")
    ap.add_argument("--quick", action="store_true",
                    help="short smoke run (1 pass, 3 short batches)")
    ap.add_argument("--out", default=None, help="write all results as JSON here")
    ap.add_argument("--cell", nargs=2, metavar=("ENGINE", "CONFIG"),
                    help="(internal) run one cell in this process and print JSON")
    return ap


def settings_from_args(args) -> Settings:
    base = QUICK_DEFAULTS if args.quick else FULL_DEFAULTS
    def pick(name):
        v = getattr(args, name)
        return base[name] if v is None else v
    s = Settings(threads=args.threads, passes=pick("passes"), repeats=pick("repeats"),
                 target_seconds=pick("target_seconds"),
                 warmup_seconds=pick("warmup_seconds"), alloc_steps=pick("alloc_steps"),
                 seed=args.seed, cell_timeout=args.cell_timeout, quick=args.quick)
    if s.threads < 1 or s.passes < 1 or s.repeats < 1 or s.target_seconds <= 0:
        raise SystemExit("--threads, --passes, --repeats and --target-seconds must be positive")
    return s


def main(*, module: str, title: str, configs: list, engines: dict, flops: Callable,
         primary: str, baselines: list, argv=None) -> int:
    """Entry point shared by the benchmark modules."""
    ap = build_parser(title, list(engines))
    args = ap.parse_args(argv)
    settings = settings_from_args(args)

    if args.cell:
        res = run_cell(engines, configs, args.cell[0], args.cell[1], settings)
        sys.stdout.flush()
        print(RESULT_MARK + json.dumps(res), flush=True)
        return 0

    engine_names = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in engine_names if e not in engines]
    if unknown:
        ap.error(f"unknown engine(s) {', '.join(unknown)}; known: {', '.join(engines)}")
    try:
        config_indices = select_configs(configs, args.configs)
    except ValueError as exc:
        ap.error(str(exc))

    info = machine_info(settings)
    print(title)
    for line in machine_lines(info):
        print(line)
    print(f"engines: {', '.join(engine_names)}; passes {settings.passes}, "
          f"repeats {settings.repeats}, ~{settings.target_seconds:g} s per timed batch"
          + ("  [quick]" if settings.quick else ""))
    print()

    cells = run_interleaved(module, engines, engine_names, configs, config_indices,
                            settings)
    summary = summarise(cells, configs, config_indices, engine_names, primary, baselines)
    (h, rows), (dh, drows) = report(summary, configs, config_indices, engine_names,
                                    flops, primary, baselines)
    rh, rrows = ratio_table(summary, configs, config_indices, primary)

    fastnn_where = sorted({c["info"]["fastnn_file"] for c in cells
                           if c.get("info", {}).get("fastnn_file")})
    print()
    print(text_table(h, rows))
    print()
    print(text_table(dh, drows))
    if rrows:
        print("\nRatios pass by pass (the two cells of a pass ran seconds apart):")
        print(text_table(rh, rrows))
    if fastnn_where:
        print("\nfastnn imported from: " + "; ".join(fastnn_where))
    md = markdown_table(h, rows)
    md_notes = "\n".join(
        [""] + [f"_{line}_  " for line in machine_lines(info)]
        + [f"_median over {settings.passes} interleaved "
           f"pass{'es' if settings.passes != 1 else ''}, each cell in a fresh process; "
           f"ratios are time ratios (below 1: {primary} is faster)._"])
    print("\nMarkdown:\n")
    print(md + "\n" + md_notes)
    if rrows:
        print("\n" + markdown_table(rh, rrows))

    if args.out:
        payload = {
            "benchmark": title,
            "machine": info,
            "settings": settings.__dict__,
            "engines": {n: engines[n].description for n in engine_names},
            "configs": [configs[i].name for i in config_indices],
            "flops_per_call": {configs[i].name: flops(configs[i]) for i in config_indices},
            "summary": summary,
            "cells": cells,
            "markdown": md,
        }
        parent = os.path.dirname(os.path.abspath(args.out))
        os.makedirs(parent, exist_ok=True)
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(payload, f, indent=1)
        os.replace(tmp, args.out)
        print(f"\nresults written to {args.out}")
    return 0
