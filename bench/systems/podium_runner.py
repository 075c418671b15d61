"""podium: the workload's graph as a workflow, run with the durable SQLite store on.

Every run gets a fresh store folder (``home``) in a temporary directory, created (schema,
WAL) before the timed region as a user's store exists before their runs; the store's
defaults apply (SQLite, synchronous=NORMAL). The timed region is ``workflow.run(...)``: building the
graph from the plain-data workload, recording the run, executing, recording every result.

Usage: python bench/systems/podium_runner.py WORKLOAD PARAMS_JSON
  PARAMS_JSON may hold "variant": "async" (default for W4) or "thread" for W4.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common
import workloads

from podium import Handle, RunResult, task, workflow
from podium.runner.session import open_store

GRAPH: workloads.Graph = {}
IO_SECONDS = 0.01
SPIN_ITERATIONS = 0


@task
def noop(*deps: Any) -> None:
    return None


@task
async def io_async(*deps: Any) -> None:
    await asyncio.sleep(IO_SECONDS)


@task
def io_thread(*deps: Any) -> None:
    time.sleep(IO_SECONDS)


@task(isolation="process")
def burn(iterations: int) -> int:
    return workloads.spin(iterations)


@task(isolation="process")
def trivial() -> None:
    return None


def build(body: Any, args: Any = None) -> list[Handle]:
    """Call ``body`` once per task of GRAPH, passing the handles of its dependencies (or
    ``args`` when given); return the handles of the graph's sinks."""
    handles: dict[str, Handle] = {}
    for key, deps in GRAPH.items():
        handles[key] = body(*([handles[dep] for dep in deps] if args is None else args))
    return [handles[key] for key in workloads.sinks(GRAPH)]


@workflow
def bench_noop() -> list[Handle]:
    return build(noop)


@workflow
def bench_io_async() -> list[Handle]:
    return build(io_async)


@workflow
def bench_io_thread() -> list[Handle]:
    return build(io_thread)


@workflow
def bench_cpu(iterations: int) -> list[Handle]:
    return build(burn, (iterations,))


@workflow
def bench_trivial_process() -> Handle:
    return trivial()


def timed_run(
    flow: Any, params: dict[str, Any], workers: int, synchronous: str = "NORMAL"
) -> float:
    home = Path(tempfile.mkdtemp(prefix="podium-bench-")) / ".podium"
    open_store(home).close()  # an existing store, as in use: creating one is a one-time cost
    started = time.perf_counter()
    result: RunResult = flow.run(params, max_workers=workers, home=home, synchronous=synchronous)
    elapsed = time.perf_counter() - started
    if result.state != "succeeded":
        raise SystemExit(f"podium run ended {result.state}")
    return elapsed


def main() -> None:
    global GRAPH, IO_SECONDS
    workload, params = _common.parse_args(sys.argv)
    GRAPH = workload.graph
    if workload.kind == "noop":
        synchronous = params.get("synchronous", "NORMAL")
        wall = timed_run(bench_noop, {}, workload.workers, synchronous)
        _common.emit("podium", workload, wall, synchronous=synchronous)
    elif workload.kind == "io":
        IO_SECONDS = workload.io_seconds
        variant = params.get("variant", "async")
        flow = bench_io_async if variant == "async" else bench_io_thread
        _common.emit("podium", workload, timed_run(flow, {}, workload.workers), variant=variant)
    else:
        # Process tasks: the worker pool lives for one run, so the run is timed end to end;
        # a second run of one trivial process task (fresh pool) estimates the start-up.
        wall = timed_run(bench_cpu, {"iterations": workload.spin_iterations}, workload.workers)
        startup = timed_run(bench_trivial_process, {}, workload.workers)
        _common.emit("podium", workload, wall, startup_s=startup, run_s=wall - startup)


if __name__ == "__main__":
    main()
