"""Named fixture graphs, built with the public API and shared by the tests.

    diamond()       top -> (left, right) -> bottom                  result 10 for n=3
    chain(n)        increment[0] -> increment[1] -> ... (n links)   result n
    fan_out(n)      spread -> branch[0..n-1] -> collect             result [10, 11, ...]
    dag(spec)       any graph given as {name: [dependency names]}   result {name: name}
    cycle()         seed API: alpha -> beta -> gamma -> alpha       refused (CycleError)
    seed_pipeline() seed API: the four steps of the README example, one after the other

Each builder takes an optional Recorder that the tasks report to, so a test can see what ran
and in which order. Task functions live at module level, so worker processes can import them.
"""

from __future__ import annotations

import functools
import os
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from podium import Orchestrator, Task, Workflow, current_context, task, workflow

# -- recording what ran -----------------------------------------------------------------------


class Recorder:
    """The task instances that ran, in the order they ran; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._order: list[str] = []

    def record(self, name: str | None = None) -> str:
        """Note that ``name`` (default: the running task instance) ran; returns the name."""
        name = name if name is not None else current_context().task_name
        with self._lock:
            self._order.append(name)
        return name

    @property
    def order(self) -> list[str]:
        with self._lock:
            return list(self._order)

    def counts(self) -> Counter[str]:
        return Counter(self.order)

    def __repr__(self) -> str:
        return f"Recorder({self.order!r})"


def _note(recorder: Recorder | None) -> None:
    if recorder is not None:
        recorder.record()


# -- diamond ------------------------------------------------------------------------------------


@task
def top(n: int, recorder: Recorder | None = None) -> int:
    _note(recorder)
    return n


@task
def left(x: int, recorder: Recorder | None = None) -> int:
    _note(recorder)
    return x + 1


@task
def right(x: int, recorder: Recorder | None = None) -> int:
    _note(recorder)
    return x * 2


@task
def bottom(a: int, b: int, recorder: Recorder | None = None) -> int:
    _note(recorder)
    return a + b


def diamond(recorder: Recorder | None = None) -> Workflow:
    """``top -> (left, right) -> bottom``; with ``n=3`` the result is (3 + 1) + (3 * 2) = 10."""

    @workflow(name="diamond")
    def diamond_workflow(n: int = 3) -> Any:
        start = top(n, recorder=recorder)
        return bottom(
            left(start, recorder=recorder), right(start, recorder=recorder), recorder=recorder
        )

    return diamond_workflow


# -- chain --------------------------------------------------------------------------------------


@task
def increment(x: int, recorder: Recorder | None = None) -> int:
    _note(recorder)
    return x + 1


def chain(n: int, recorder: Recorder | None = None) -> Workflow:
    """``n`` calls of ``increment``, each on the previous result: ``increment[0..n-1]``."""

    @workflow(name="chain")
    def chain_workflow() -> Any:
        value: Any = 0
        for _ in range(n):
            value = increment(value, recorder=recorder)
        return value

    return chain_workflow


# -- fan out ------------------------------------------------------------------------------------


@task
def spread(recorder: Recorder | None = None) -> int:
    _note(recorder)
    return 1


@task
def branch(x: int, i: int, recorder: Recorder | None = None) -> int:
    _note(recorder)
    return x * 10 + i


@task
def collect(values: list[int], recorder: Recorder | None = None) -> list[int]:
    _note(recorder)
    return values


def fan_out(n: int, recorder: Recorder | None = None) -> Workflow:
    """``spread -> branch[0..n-1] -> collect``: n independent branches, joined by a list."""

    @workflow(name="fan_out")
    def fan_out_workflow() -> Any:
        root = spread(recorder=recorder)
        return collect([branch(root, i, recorder=recorder) for i in range(n)], recorder=recorder)

    return fan_out_workflow


# -- any DAG ------------------------------------------------------------------------------------


@task
def vertex(label: str, upstream: list[str], recorder: Recorder | None = None) -> str:
    """A vertex of ``dag``: records itself and returns its label."""
    _note(recorder)
    return label


def dag(spec: Mapping[str, Sequence[str]], recorder: Recorder | None = None) -> Workflow:
    """The graph ``spec`` ({name: dependency names}, dependencies listed before use)."""

    @workflow(name="dag")
    def dag_workflow() -> Any:
        handles: dict[str, Any] = {}
        for label, deps in spec.items():
            handles[label] = vertex(
                label, [handles[d] for d in deps], recorder=recorder, name=label
            )
        return handles

    return dag_workflow


# -- seed API -----------------------------------------------------------------------------------


def cycle(home: Any = None) -> Orchestrator:
    """Three seed-API tasks in a ring: alpha -> beta -> gamma -> alpha (data flow)."""
    orchestrator = Orchestrator("cycle", home=home)
    orchestrator.add_task(Task("alpha", ["gamma"]))
    orchestrator.add_task(Task("beta", ["alpha"]))
    orchestrator.add_task(Task("gamma", ["beta"]))
    return orchestrator


SEED_STEPS = ("Data Preparation", "Model Training", "Model Evaluation", "Model Deployment")


def seed_pipeline(recorder: Recorder, home: Any = None) -> Orchestrator:
    """The README's four seed-API steps, each depending on the one before."""
    orchestrator = Orchestrator("seed_pipeline", home=home)
    previous: list[str] = []
    for step in SEED_STEPS:
        orchestrator.add_task(Task(step, previous, fn=functools.partial(recorder.record, step)))
        previous = [step]
    return orchestrator


# -- process tasks (run in worker processes) ----------------------------------------------------


@task(isolation="process")
def square_in_process(x: int) -> int:
    return x * x


@task(isolation="process")
def describe_process() -> dict[str, Any]:
    """Where and as what the attempt runs; prints and logs one line each."""
    context = current_context()
    print("printed by the worker")
    context.logger.info("logged by the worker")
    return {
        "pid": os.getpid(),
        "run_id": context.run_id,
        "task_name": context.task_name,
        "attempt": context.attempt,
        "idempotency_key": context.idempotency_key,
    }


@task(isolation="process")
def fail_in_process(message: str) -> None:
    raise RuntimeError(message)


@task(isolation="process")
def fail_in_nested_function(message: str) -> None:
    def inner() -> None:
        raise ValueError(message)

    inner()
