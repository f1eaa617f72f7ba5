"""What fastnn's side-by-side benchmarks make of the cells' results.

:func:`summarise` takes the median over passes of each cell's median (with the spread,
page faults and tracemalloc growth) and the primary engine's ratio to each baseline pass
by pass (:func:`pass_ratios`). :func:`report` and :func:`ratio_table` turn the summary
into tables, printed as plain text (:func:`text_table`) while running and as markdown
(:func:`markdown_table`) at the end; :func:`machine_info` and :func:`machine_lines`
describe the machine; :func:`write_json` writes the result file with
``fastnn._io.atomic_write``.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
from collections.abc import Callable

from bench.measure import Settings, repo_root, thread_pools

# ------------------------------------------------------------------------- summary


def pass_ratios(cells: list, config_index: int, primary: str, base: str) -> list:
    """primary's time over base's, pass by pass (passes where both cells are ok).

    The two cells of a pass ran seconds apart, closer in time than the same engine's
    cells of different passes; the spread of these ratios shows how far the machine's
    slow and fast phases move a ratio within one run."""
    by_pass = {}
    for c in cells:
        if (
            c.get("config_index") == config_index
            and c.get("status") == "ok"
            and c["engine"] in (primary, base)
        ):
            by_pass.setdefault(c["pass"], {})[c["engine"]] = c["sec_per_step"]
    return [
        t[primary] / t[base]
        for _, t in sorted(by_pass.items())
        if primary in t and base in t and t[base] > 0
    ]


def summarise(
    cells: list,
    configs: list,
    config_indices: list,
    engine_names: list,
    primary: str | None = None,
    baselines: tuple = (),
) -> dict:
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
                    for b in baselines
                    if b in engine_names and b != primary
                }
            row[name] = entry
        summary[configs[ci].name] = row
    return summary


# ------------------------------------------------------------------ machine info


def _version(dist: str) -> str | None:
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


def fmt_ms(ms: float | None) -> str:
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


def fmt_ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}"


def text_table(headers: list, rows: list) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]

    def line(vals):
        return "  ".join(
            str(v).ljust(w) if i == 0 else str(v).rjust(w)
            for i, (v, w) in enumerate(zip(vals, widths))
        )

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), sep] + [line(r) for r in rows])


def markdown_table(headers: list, rows: list) -> str:
    out = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join(["---"] + ["--:"] * (len(headers) - 1)) + "|",
    ]
    out += ["| " + " | ".join(str(v) for v in r) + " |" for r in rows]
    return "\n".join(out)


def report(
    summary: dict,
    configs: list,
    config_indices: list,
    engine_names: list,
    flops: Callable,
    primary: str,
    baselines: list,
) -> tuple:
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
        return {"unavailable": "n/a", "unsupported": "n/a", "skipped": "n/a", "n/a": "-"}.get(
            entry["status"], entry["status"]
        )

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

    d_headers = [
        "config",
        "engine",
        "ms/step",
        "min-max over passes",
        "GFLOP/s",
        "faults/step",
        "tracemalloc net (B/step)",
    ]
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
            d_rows.append(
                [
                    cfg.name,
                    e,
                    fmt_ms(m),
                    f"{fmt_ms(lo * 1e3)}-{fmt_ms(hi * 1e3)} ({entry['passes']})",
                    f"{flops(cfg) / (m * 1e-3) / 1e9:.1f}",
                    f"{entry['minflt_per_step']:.1f}",
                    "-"
                    if alloc is None
                    else f"{alloc['net_bytes_per_step']:.1f} ({alloc['steps']} steps)",
                ]
            )
    return (headers, rows), (d_headers, d_rows)


def ratio_table(summary: dict, configs: list, config_indices: list, primary: str) -> tuple:
    """(headers, rows): primary's ratio to each baseline, pass by pass, with the
    median and the min-max of those per-pass ratios."""
    headers = ["config", "ratio", "per pass (in pass order)", "median", "min-max"]
    rows = []
    for ci in config_indices:
        entry = summary[configs[ci].name].get(primary, {})
        for base, rs in entry.get("ratio_passes", {}).items():
            if not rs:
                continue
            rows.append(
                [
                    configs[ci].name,
                    f"{primary}/{base}",
                    " ".join(fmt_ratio(r) for r in rs),
                    fmt_ratio(statistics.median(rs)),
                    f"{fmt_ratio(min(rs))}-{fmt_ratio(max(rs))}",
                ]
            )
    return headers, rows


# ------------------------------------------------------------------------ JSON file


def _atomic_write():
    """``fastnn._io.atomic_write``, loaded from the source tree's ``fastnn/_io.py`` by its
    path. ``from fastnn._io import atomic_write`` would import the fastnn package, which
    needs its compiled kernels and, run from the repository root, finds the uncompiled
    sources first; the parent process must also work when fastnn cannot be imported
    (its cells are then n/a). ``fastnn/_io.py`` uses only the standard library."""
    spec = importlib.util.spec_from_file_location(
        "fastnn_bench_io", repo_root() / "fastnn" / "_io.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.atomic_write


def write_json(path: str, payload: dict) -> None:
    """Write ``payload`` to ``path`` as JSON (indent 1), creating its folder; readers
    see the old file or the whole new one, never part of one."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    data = json.dumps(payload, indent=1).encode()
    _atomic_write()(path, lambda f: f.write(data))
