"""Shared plumbing for the system scripts: arguments in, one JSON line out.

Every system script is run as ``python bench/systems/X.py WORKLOAD PARAMS_JSON`` in a fresh
process; it prints exactly one line starting with ``RESULT `` followed by a JSON object (other
output, e.g. a framework's logging, may surround it).
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[1]
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import workloads  # noqa: E402

RESULT_PREFIX = "RESULT "


def parse_args(argv: list[str]) -> tuple[workloads.Workload, dict[str, Any]]:
    """``WORKLOAD PARAMS_JSON`` -> the workload and its raw parameters."""
    if len(argv) != 3:
        raise SystemExit(f"usage: {argv[0]} WORKLOAD PARAMS_JSON")
    params: dict[str, Any] = json.loads(argv[2])
    return workloads.make(argv[1], params), params


def peak_rss_mb() -> float:
    """Peak resident set size of this process (Linux reports KiB), in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(system: str, workload: workloads.Workload, wall_s: float, **extra: Any) -> None:
    """Print the result line."""
    record = {
        "system": system,
        "workload": workload.name,
        "tasks": workload.tasks,
        "wall_s": wall_s,
        "peak_rss_mb": peak_rss_mb(),
        **extra,
    }
    print(RESULT_PREFIX + json.dumps(record), flush=True)


def timed_on_warm_process_pool(
    workers: int, run: Callable[[ProcessPoolExecutor], None]
) -> tuple[float, float]:
    """(pool start-up, run) seconds: a "spawn" ProcessPoolExecutor (as podium's workers are
    fresh interpreters) is warmed with one trivial task per worker, then ``run(pool)``."""
    started = time.perf_counter()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    list(pool.map(workloads.noop, range(workers)))
    warmed = time.perf_counter()
    run(pool)
    done = time.perf_counter()
    pool.shutdown()
    return warmed - started, done - warmed
