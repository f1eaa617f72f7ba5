"""Entry point of fastnn's side-by-side benchmarks.

A benchmark module (``bench/mlp_step.py``, ``bench/rnn_step.py``) supplies a list of
configs and a dict of :class:`Engine` objects and calls :func:`main`, which parses the
command line and either measures one cell in this process (``--cell``, the child) or runs
the whole grid and reports it (the parent). The machinery lives in three modules:

* :mod:`bench.measure`, the child: thread-pool fixing, warm-up, timed batches, page
  faults and tracemalloc, and :func:`run_cell` behind ``--cell``; also the shared
  :class:`Engine`, :class:`EngineUnavailable`, :class:`Settings`, :func:`select_configs`
  and :func:`import_preferring_installed`;
* :mod:`bench.cells`, the parent: every (engine, config) cell in a FRESH subprocess,
  ``--passes`` times with the engines interleaved, timeouts, progress lines;
* :mod:`bench.report`: the median over passes of each cell's median, the ratios, the
  tables (plain text while running, markdown at the end), machine info and the JSON
  result file.

This module keeps the command line (:func:`build_parser`, :func:`settings_from_args`,
:func:`main`) and re-exports the names the benchmark modules and tests use (``__all__``).

A config object needs ``name`` (str) and ``kind`` (``"step"`` or ``"predict"``).
An engine's ``build(config, seed)`` returns a runner with ``step()`` and, optionally,
``predict_one()`` and ``info()`` (a JSON-able dict recorded with the cell).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from bench.cells import pass_order, run_interleaved
from bench.measure import (
    RESULT_MARK,
    Engine,
    EngineUnavailable,
    Settings,
    import_preferring_installed,
    run_cell,
    select_configs,
)
from bench.report import (
    machine_info,
    machine_lines,
    markdown_table,
    pass_ratios,
    ratio_table,
    report,
    summarise,
    text_table,
    write_json,
)

__all__ = [
    "Engine",
    "EngineUnavailable",
    "Settings",
    "build_parser",
    "import_preferring_installed",
    "main",
    "pass_order",
    "pass_ratios",
    "ratio_table",
    "select_configs",
    "settings_from_args",
    "summarise",
]

FULL_DEFAULTS = dict(passes=3, repeats=7, target_seconds=0.2, warmup_seconds=0.5, alloc_steps=1000)
QUICK_DEFAULTS = dict(passes=1, repeats=3, target_seconds=0.05, warmup_seconds=0.1, alloc_steps=20)


# -------------------------------------------------------------------------- main


def build_parser(description: str, engine_names: list) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument(
        "--engines",
        default=",".join(engine_names),
        help="comma list of engines (default: %(default)s)",
    )
    ap.add_argument(
        "--configs",
        default=None,
        help="comma list of config indices or name prefixes (default: all)",
    )
    ap.add_argument(
        "--threads", type=int, default=2, help="BLAS/OpenMP threads for every engine (default: 2)"
    )
    ap.add_argument(
        "--passes",
        type=int,
        default=None,
        help="interleaved passes; median over passes (default 3, quick 1)",
    )
    ap.add_argument(
        "--repeats", type=int, default=None, help="timed batches per cell (default 7, quick 3)"
    )
    ap.add_argument(
        "--target-seconds",
        type=float,
        default=None,
        help="duration of one timed batch (default 0.2, quick 0.05)",
    )
    ap.add_argument(
        "--warmup-seconds",
        type=float,
        default=None,
        help="warm-up duration per cell (default 0.5, quick 0.1)",
    )
    ap.add_argument(
        "--alloc-steps",
        type=int,
        default=None,
        help="steps for the tracemalloc measurement of fastnn engines, "
        "first pass only; 0 disables (default 1000, quick 20)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--cell-timeout",
        type=float,
        default=3600.0,
        help="seconds before a cell's process is abandoned",
    )
    ap.add_argument(
        "--quick", action="store_true", help="short smoke run (1 pass, 3 short batches)"
    )
    ap.add_argument("--out", default=None, help="write all results as JSON here")
    ap.add_argument(
        "--cell",
        nargs=2,
        metavar=("ENGINE", "CONFIG"),
        help="(internal) run one cell in this process and print JSON",
    )
    return ap


def settings_from_args(args) -> Settings:
    base = QUICK_DEFAULTS if args.quick else FULL_DEFAULTS

    def pick(name):
        v = getattr(args, name)
        return base[name] if v is None else v

    s = Settings(
        threads=args.threads,
        passes=pick("passes"),
        repeats=pick("repeats"),
        target_seconds=pick("target_seconds"),
        warmup_seconds=pick("warmup_seconds"),
        alloc_steps=pick("alloc_steps"),
        seed=args.seed,
        cell_timeout=args.cell_timeout,
        quick=args.quick,
    )
    if s.threads < 1 or s.passes < 1 or s.repeats < 1 or s.target_seconds <= 0:
        raise SystemExit("--threads, --passes, --repeats and --target-seconds must be positive")
    return s


def main(
    *,
    module: str,
    title: str,
    configs: list,
    engines: dict,
    flops: Callable,
    primary: str,
    baselines: list,
    argv=None,
) -> int:
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
    print(
        f"engines: {', '.join(engine_names)}; passes {settings.passes}, "
        f"repeats {settings.repeats}, ~{settings.target_seconds:g} s per timed batch"
        + ("  [quick]" if settings.quick else "")
    )
    print()

    cells = run_interleaved(module, engines, engine_names, configs, config_indices, settings)
    summary = summarise(cells, configs, config_indices, engine_names, primary, baselines)
    (h, rows), (dh, drows) = report(
        summary, configs, config_indices, engine_names, flops, primary, baselines
    )
    rh, rrows = ratio_table(summary, configs, config_indices, primary)

    fastnn_where = sorted(
        {c["info"]["fastnn_file"] for c in cells if c.get("info", {}).get("fastnn_file")}
    )
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
        [""]
        + [f"_{line}_  " for line in machine_lines(info)]
        + [
            f"_median over {settings.passes} interleaved "
            f"pass{'es' if settings.passes != 1 else ''}, each cell in a fresh process; "
            f"ratios are time ratios (below 1: {primary} is faster)._"
        ]
    )
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
        write_json(args.out, payload)
        print(f"\nresults written to {args.out}")
    return 0
