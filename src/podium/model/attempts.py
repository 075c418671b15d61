"""What the engine hands an executor (Work) and what it gets back (Outcome, with the
attempt's Usage)."""

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
    gpus: tuple[str, ...] = ()
    """GPU device ids granted to the attempt (exported as CUDA_VISIBLE_DEVICES)."""

    def context(self) -> TaskContext:
        """The TaskContext this attempt runs with."""
        return TaskContext(
            self.run_id, self.task_name, self.attempt, self.idempotency_key, self.map_index,
            self.gpus,
        )  # fmt: skip


@dataclass(slots=True)
class Usage:
    """What one attempt used, as its executor measured it (see docs/guide.md, "Resource
    accounting"). Sizes in MB (10**6 bytes); times in seconds."""

    started_at: float
    """When the executor really started the attempt (epoch seconds); the engine's dispatch
    time is the attempt row's ``started_at``, the difference is the queue wait."""
    wall_s: float
    cpu_s: float | None = None
    """User + system CPU seconds; None where it cannot be told apart (coroutines)."""
    peak_rss_mb: float | None = None
    gpu_memory_mb: float | None = None
    """GPU memory held by the process, when NVML (``pynvml``) is available; else None."""
    rss_scope: str = "process"
    """``process``: measured on the attempt's own process(es) (process and shell attempts);
    ``podium-process-sampled``: the podium process's RSS, sampled (threads, coroutines)."""


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
    usage: Usage | None = None
    """What the attempt used (None when the executor could not tell, e.g. never started)."""


def idempotency_key(run_id: str, task_name: str) -> str:
    """The key of one task instance; ``task_name`` carries the map index (``score[3]``)."""
    return f"{run_id}/{task_name}"
