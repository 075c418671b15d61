"""RunResult: what ``workflow.run()`` returns."""

from __future__ import annotations

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


@dataclass(repr=False)
class RunResult:
    """The outcome of a run: its state, each task's result, and the workflow's own result."""

    run_id: str
    workflow: str
    state: str
    tasks: dict[str, TaskResult] = field(default_factory=dict)
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
