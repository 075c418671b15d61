"""Baseline: a bare thread pool driven by a dependency counter; a bare process pool for W5.

The driver (this script's main thread) submits a task to a ThreadPoolExecutor as soon as its
count of unfinished dependencies reaches 0; done-callbacks put finished tasks on a completion
queue that the driver drains. No durability, no retries, no records: the floor that an
orchestrator's overhead is measured against.

Usage: python bench/systems/baseline.py WORKLOAD PARAMS_JSON
"""

from __future__ import annotations

import functools
import queue
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import _common
import workloads


def run_graph(graph: workloads.Graph, start: Callable[[list[Any]], Future[Any]]) -> dict[str, Any]:
    """Run every task of ``graph``, each once its dependencies are done: ``start(args)``
    submits one task (``args``: its dependencies' results) to a pool."""
    waiting = {key: len(deps) for key, deps in graph.items()}
    children: dict[str, list[str]] = {key: [] for key in graph}
    for key, deps in graph.items():
        for dep in deps:
            children[dep].append(key)
    results: dict[str, Any] = {}
    finished: queue.SimpleQueue[tuple[str, Future[Any]]] = queue.SimpleQueue()

    def submit(key: str) -> None:
        future = start([results[dep] for dep in graph[key]])
        future.add_done_callback(functools.partial(on_done, key))

    def on_done(key: str, future: Future[Any]) -> None:
        finished.put((key, future))

    for key, count in waiting.items():
        if count == 0:
            submit(key)
    for _ in range(len(graph)):
        key, future = finished.get()
        results[key] = future.result()  # re-raises a task's error
        for child in children[key]:
            waiting[child] -= 1
            if waiting[child] == 0:
                submit(child)
    return results


def run_threads(workload: workloads.Workload) -> float:
    fn: Callable[..., Any] = workloads.noop
    if workload.kind == "io":
        fn = functools.partial(workloads.sleep_io, seconds=workload.io_seconds)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workload.workers) as pool:
        run_graph(workload.graph, lambda args: pool.submit(fn, *args))
    return time.perf_counter() - started


def run_processes(workload: workloads.Workload) -> tuple[float, float]:
    """(pool start-up, run) seconds. The pool uses "spawn", as podium's workers do; start-up
    is measured by warming every worker with a trivial task."""
    iterations = workload.spin_iterations  # W5 tasks have no dependencies: args is empty
    return _common.timed_on_warm_process_pool(
        workload.workers,
        lambda pool: run_graph(
            workload.graph, lambda args: pool.submit(workloads.spin, iterations)
        ),
    )


def main() -> None:
    workload, _params = _common.parse_args(sys.argv)
    if workload.kind == "cpu":
        startup, run = run_processes(workload)
        _common.emit("baseline", workload, startup + run, startup_s=startup, run_s=run)
    else:
        _common.emit("baseline", workload, run_threads(workload))


if __name__ == "__main__":
    main()
