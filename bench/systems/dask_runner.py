"""dask: the workload's graph as a low-level task-graph dict, run by ``dask.threaded.get``
(W1-W4, ``num_workers`` threads) or ``dask.multiprocessing.get`` on a warmed spawn process
pool (W5). The timed region covers translating the plain-data graph into dask's format.

Usage: bench/.venv-peers/bin/python bench/systems/dask_runner.py WORKLOAD PARAMS_JSON
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from typing import Any

import _common
import dask
import dask.multiprocessing
import dask.threaded
import workloads


def to_dask(graph: workloads.Graph, fn: Callable[..., Any]) -> dict[str, tuple[Any, ...]]:
    """``key -> (fn, *dependency keys)``: dask passes the dependencies' results."""
    return {key: (fn, *deps) for key, deps in graph.items()}


def run_threads(workload: workloads.Workload) -> float:
    fn: Callable[..., Any] = workloads.noop
    if workload.kind == "io":
        fn = functools.partial(workloads.sleep_io, seconds=workload.io_seconds)
    started = time.perf_counter()
    dsk = to_dask(workload.graph, fn)
    dask.threaded.get(dsk, workloads.sinks(workload.graph), num_workers=workload.workers)
    return time.perf_counter() - started


def run_processes(workload: workloads.Workload) -> tuple[float, float]:
    """(pool start-up, run) seconds, on a spawn ProcessPoolExecutor warmed beforehand."""
    dsk = {key: (workloads.spin, workload.spin_iterations) for key in workload.graph}
    return _common.timed_on_warm_process_pool(
        workload.workers, lambda pool: dask.multiprocessing.get(dsk, list(dsk), pool=pool)
    )


def main() -> None:
    workload, _params = _common.parse_args(sys.argv)
    if workload.kind == "cpu":
        startup, run = run_processes(workload)
        _common.emit(
            "dask", workload, startup + run, startup_s=startup, run_s=run, version=dask.__version__
        )
    else:
        _common.emit("dask", workload, run_threads(workload), version=dask.__version__)


if __name__ == "__main__":
    main()
