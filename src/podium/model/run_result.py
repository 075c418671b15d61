"""RunResult: what ``workflow.run()`` returns."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from podium.errors import RunFailedError
from podium.model.values import substitute


@dataclass(slots=True)
class TaskResult:
    """How one task instance ended."""

    name: str
    state: str
    attempts: int
    value: Any = None
    error: str | None = None


class TaskResults(Mapping[str, TaskResult]):
    """The TaskResult of each task instance of a run, by name, in the run's order; each
    made when it is asked for (a run of 10,000 tasks makes none that nobody reads)."""

    __slots__ = ("_attempts", "_cached", "_errors", "_states", "_values")

    def __init__(
        self,
        states: Mapping[str, str],
        attempts: Mapping[str, int],
        values: Mapping[str, Any],
        errors: Mapping[str, str],
        cached: frozenset[str] | set[str] = frozenset(),
    ) -> None:
        self._states = states
        self._attempts = attempts
        self._values = values
        self._errors = errors
        self._cached = cached  # instances whose result came from the cache

    def __getitem__(self, name: str) -> TaskResult:
        state = self._states[name]  # KeyError for a name the run does not have
        return TaskResult(
            name,
            "cached" if name in self._cached else state,
            self._attempts.get(name, 0),
            self._values.get(name),
            self._errors.get(name),
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._states)

    def __len__(self) -> int:
        return len(self._states)

    def __repr__(self) -> str:
        return f"<TaskResults of {len(self)} task instances>"


@dataclass(repr=False)
class RunResult:
    """The outcome of a run: its state, each task's result, and the workflow's own result."""

    run_id: str
    workflow: str
    state: str
    tasks: Mapping[str, TaskResult] = field(default_factory=dict)
    output: Any = None

    @property
    def ok(self) -> bool:
        """True when the run succeeded."""
        return self.state == "succeeded"

    @property
    def result(self) -> Any:
        """The workflow function's returned handles, resolved to values.

        Raises RunFailedError when the run did not succeed.
        """
        if not self.ok:
            failed = [t.name for t in self.tasks.values() if t.state == "failed"]
            raise RunFailedError(self.run_id, self.state, failed)
        return substitute(self.output, lambda handle: self.tasks[handle.node.name].value)

    def __repr__(self) -> str:
        return f"<RunResult {self.run_id} {self.workflow}: {self.state}, {len(self.tasks)} tasks>"

    def __getitem__(self, task_name: str) -> TaskResult:
        return self.tasks[task_name]
