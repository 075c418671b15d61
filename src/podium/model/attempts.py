"""What the engine hands an executor (Work) and what it gets back (Outcome)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from podium.model.context import TaskContext


@dataclass(slots=True, eq=False)
class Work:
    """One attempt to run: the function, its resolved arguments and its identity."""

    key: int
    run_id: str
    task_name: str
    attempt: int
    idempotency_key: str
    isolation: str
    fn: Callable[..., Any] | None
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    map_index: int | None = None
    command: str | None = None
    env: dict[str, str] | None = None
    cwd: str | None = None

    def context(self) -> TaskContext:
        """The TaskContext this attempt runs with."""
        return TaskContext(
            self.run_id, self.task_name, self.attempt, self.idempotency_key, self.map_index
        )


@dataclass(slots=True, eq=False)
class Outcome:
    """How one attempt ended: its value, or its error and traceback; its captured log."""

    work: Work
    ok: bool
    value: Any = None
    error: str | None = None
    traceback: str | None = None
    logs: str = ""
    started_at: float = 0.0
    ended_at: float = 0.0
    cancelled: bool = False
    exception: BaseException | None = None
    """The error itself, for retry decisions (None when it could not cross a process)."""
    abandoned: bool = False
    """Set by the engine for a thread it stopped waiting for: its reservation stays held."""


def idempotency_key(run_id: str, task_name: str) -> str:
    """The key of one task instance; ``task_name`` carries the map index (``score[3]``)."""
    return f"{run_id}/{task_name}"
