"""Benchmark workloads as plain data, shared by every system.

A graph is a dict ``task key -> list of dependency keys`` in topological order (a task's
dependencies come before it). Every system runs the same graph: for no-op workloads each task
receives its dependencies' results as positional arguments and returns None.

Standard library only: the peers' virtualenv and podium's both import this module.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

Graph = dict[str, list[str]]

W3_SEED = 20261123


def fan_out(n: int) -> Graph:
    """W1: one root, ``n`` leaves that depend on it, one sink that depends on every leaf."""
    graph: Graph = {"root": []}
    for i in range(n):
        graph[f"leaf-{i}"] = ["root"]
    graph["sink"] = [f"leaf-{i}" for i in range(n)]
    return graph


def chain(n: int) -> Graph:
    """W2: ``n`` tasks, each depending on the previous one."""
    graph: Graph = {"step-0": []}
    for i in range(1, n):
        graph[f"step-{i}"] = [f"step-{i - 1}"]
    return graph


def layered(layers: int, width: int, seed: int = W3_SEED) -> Graph:
    """W3: ``layers`` x ``width`` tasks; each task past the first layer depends on 1-3
    distinct tasks of the previous layer, drawn with a fixed seed."""
    rng = random.Random(seed)
    graph: Graph = {}
    previous: list[str] = []
    for layer in range(layers):
        current = [f"t-{layer}-{i}" for i in range(width)]
        for key in current:
            graph[key] = sorted(rng.sample(previous, rng.randint(1, 3))) if previous else []
        previous = current
    return graph


def independent(n: int, prefix: str = "io") -> Graph:
    """W4/W5: ``n`` tasks without dependencies."""
    return {f"{prefix}-{i}": [] for i in range(n)}


def sinks(graph: Graph) -> list[str]:
    """Keys no other task depends on (the results a workflow returns)."""
    needed = {dep for deps in graph.values() for dep in deps}
    return [key for key in graph if key not in needed]


# ---------------------------------------------------------------- task bodies


def noop(*deps: Any) -> None:
    """A no-op task."""
    return None


def sleep_io(*deps: Any, seconds: float = 0.01) -> None:
    """An I/O-bound task: blocks its thread for ``seconds``."""
    time.sleep(seconds)


def spin(iterations: int) -> int:
    """A CPU-bound task: a pure-Python loop (calibrated by ``calibrate_spin``)."""
    total = 0
    for i in range(iterations):
        total += i * i % 7
    return total


def calibrate_spin(target_s: float = 0.25, probe: int = 200_000, repeats: int = 3) -> int:
    """Iterations of ``spin`` that take about ``target_s`` here (best of ``repeats``)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        spin(probe)
        best = min(best, time.perf_counter() - started)
    return max(1, round(probe * target_s / best))


# ---------------------------------------------------------------- workload specs


@dataclass(frozen=True)
class Workload:
    """What one system run needs: the graph and how to run its tasks."""

    name: str
    graph: Graph
    kind: str  # "noop" | "io" | "cpu"
    workers: int  # threads / coroutines at once (cpu: processes)
    io_seconds: float = 0.0
    spin_iterations: int = 0

    @property
    def tasks(self) -> int:
        return len(self.graph)


def make(name: str, params: dict[str, Any]) -> Workload:
    """Build workload ``name`` (w1..w5) from its size parameters (see run.py's SIZES)."""
    workers = int(params.get("workers", 32))
    if name == "w1":
        return Workload(name, fan_out(int(params["n"])), "noop", workers)
    if name == "w2":
        return Workload(name, chain(int(params["n"])), "noop", workers)
    if name == "w3":
        graph = layered(int(params["layers"]), int(params["width"]))
        return Workload(name, graph, "noop", workers)
    if name == "w4":
        return Workload(
            name,
            independent(int(params["n"])),
            "io",
            int(params["workers"]),
            io_seconds=float(params["seconds"]),
        )
    if name == "w5":
        return Workload(
            name,
            independent(int(params["n"]), "cpu"),
            "cpu",
            int(params["workers"]),
            spin_iterations=int(params["iterations"]),
        )
    raise ValueError(f"unknown workload {name!r}")
