"""prefect 3: the workload's graph as a flow whose tasks are submitted with ``.submit()``
(futures passed as arguments are the dependencies), on the ThreadPoolTaskRunner (W1-W4) or
the ProcessPoolTaskRunner (W5).

PREFECT_HOME is a fresh temporary folder, so prefect starts its own ephemeral SQLite-backed
server. That start-up is timed separately, by a trivial flow run first ("startup_s"); the
timed region is then the workload's flow call. Telemetry is off (no network here).

Usage: bench/.venv-peers/bin/python bench/systems/prefect_runner.py WORKLOAD PARAMS_JSON
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from typing import Any

os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="prefect-bench-")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

import _common
import prefect
import workloads
from prefect import flow, task
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

IO_SECONDS = 0.01


@task
def noop(*deps: Any) -> None:
    return None


@task
def io_thread(*deps: Any) -> None:
    time.sleep(IO_SECONDS)


@task
def burn(iterations: int) -> int:
    return workloads.spin(iterations)


@flow
def warm_up() -> None:
    noop.submit().result()


def submit_graph(graph: workloads.Graph, body: Any, args: Any = None) -> None:
    """Submit one task per graph node; wait for the sinks."""
    futures: dict[str, Any] = {}
    for key, deps in graph.items():
        futures[key] = body.submit(*([futures[dep] for dep in deps] if args is None else args))
    for key in workloads.sinks(graph):
        futures[key].result()


def main() -> None:
    global IO_SECONDS
    workload, _params = _common.parse_args(sys.argv)
    IO_SECONDS = workload.io_seconds
    started = time.perf_counter()
    warm_up()
    startup = time.perf_counter() - started

    if workload.kind == "cpu":
        runner: Any = ProcessPoolTaskRunner(max_workers=workload.workers)
        body, args = burn, (workload.spin_iterations,)
    else:
        runner = ThreadPoolTaskRunner(max_workers=workload.workers)
        body, args = (noop if workload.kind == "noop" else io_thread), None

    @flow(task_runner=runner)
    def bench_flow() -> None:
        submit_graph(workload.graph, body, args)

    started = time.perf_counter()
    bench_flow()
    wall = time.perf_counter() - started
    _common.emit("prefect", workload, wall, server_startup_s=startup, version=prefect.__version__)


if __name__ == "__main__":
    main()
