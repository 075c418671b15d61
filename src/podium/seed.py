"""The explicit, seed-style API: ``Orchestrator().add_task(Task(...)).start()``.

A thin layer over the same engine as ``@workflow``: tasks are named, dependencies are given
by name, and ``start()`` runs them in dependency order, in parallel where they allow.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from podium.errors import DuplicateTaskError, OptionError
from podium.model.graph import Graph, Node
from podium.model.loading import is_loading
from podium.model.run_result import RunResult
from podium.model.taskdef import TaskDef
from podium.runner.session import Runner, check_max_workers
from podium.runner.workflow import drive, run_sync, with_store

log = logging.getLogger(__name__)


class Task:
    """A named step. ``dependencies`` name the steps that must succeed first.

    ``fn`` (keyword-only) is called with no arguments; without it the step does nothing.
    Subclasses may override ``execute(self)`` instead.
    """

    def __init__(
        self,
        name: str,
        dependencies: Sequence[str] | None = None,
        *,
        fn: Callable[[], Any] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise OptionError("name", name, "a task needs a non-empty name")
        if callable(dependencies):
            raise OptionError(
                "dependencies",
                dependencies,
                f"task {name!r}: the second argument is the list "
                "of dependencies (names); pass the function as fn=...",
            )
        if isinstance(dependencies, str):
            raise OptionError(
                "dependencies", dependencies, f"task {name!r}: dependencies must be a list of names"
            )
        self.name = name
        self.dependencies = list(dependencies or [])
        self.fn = fn

    def __repr__(self) -> str:
        return f"Task({self.name!r}, {self.dependencies!r})"

    def execute(self) -> Any:
        """Do the step's work; returns its result."""
        if self.fn is None:
            return None
        return self.fn()


class Orchestrator:
    """Holds tasks added with ``add_task`` and runs them with ``start()``."""

    def __init__(
        self,
        name: str = "orchestrator",
        *,
        max_workers: int | None = None,
        home: str | Path | None = None,
    ) -> None:
        self.name = name
        self.max_workers = check_max_workers(max_workers)
        self.home = home
        self.tasks: dict[str, Task] = {}

    def add_task(self, task: Task) -> Task:
        """Add ``task``; raises DuplicateTaskError if its name is taken."""
        if task.name in self.tasks:
            raise DuplicateTaskError(task.name)
        self.tasks[task.name] = task
        return task

    def graph(self) -> Graph:
        """The validated graph of the tasks (raises UnknownDependencyError, CycleError)."""
        graph = Graph(workflow=self.name)
        for step in self.tasks.values():
            definition = TaskDef(step.execute, name=step.name)
            graph.add(Node(task=definition, name=step.name, deps=list(step.dependencies)))
        graph.validate()
        return graph

    def start(self) -> RunResult | None:
        """Run every task in dependency order and return the RunResult.

        When the file is being imported by ``podium run``, does nothing and returns None:
        the CLI runs the orchestrator itself.
        """
        if is_loading():
            log.info("Orchestrator.start() deferred: podium run runs %s", self.name)
            return None
        graph = self.graph()

        return run_sync(
            lambda: with_store(
                self.home,
                lambda store: drive(
                    Runner(store, max_workers=self.max_workers),
                    lambda runner: runner.start(graph, source=f"<python>:{self.name}", params={}),
                    interruptible=True,
                ),
            )
        )
