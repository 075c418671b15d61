"""Rows the engine writes and the CLI reads: runs, task instances, attempts, events.

Timestamps are seconds since the epoch (UTC). States are plain strings (see TASK_STATES).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

RUN_STATES = ("pending", "running", "succeeded", "failed", "cancelled")
RUN_ENDED = frozenset({"succeeded", "failed", "cancelled"})
TASK_STATES = (
    "pending",
    "ready",
    "running",
    "succeeded",
    "failed",
    "cancelled",
    "upstream_failed",
)
TASK_ENDED = frozenset({"succeeded", "failed", "cancelled", "upstream_failed"})


@dataclass(slots=True)
class RunRecord:
    """One run of a workflow."""

    run_id: str
    workflow: str
    source: str
    params: dict[str, Any]
    state: str = "pending"
    owner_pid: int | None = None
    owner_host: str | None = None
    heartbeat_at: float | None = None
    created_at: float = 0.0
    started_at: float | None = None
    ended_at: float | None = None
    cancel_requested: bool = False
    max_workers: int | None = None


@dataclass(slots=True)
class TaskRecord:
    """One task instance of a run."""

    run_id: str
    name: str
    task: str
    deps: list[str]
    state: str = "pending"
    map_index: int | None = None
    attempts: int = 0
    idempotency_key: str = ""
    isolation: str = "thread"
    started_at: float | None = None
    ended_at: float | None = None
    error: str | None = None
    position: int = 0


class AttemptRecord(NamedTuple):
    """One attempt of one task instance (a tuple in the order of the attempts table)."""

    run_id: str
    task_name: str
    attempt: int
    state: str
    started_at: float
    ended_at: float | None = None
    error: str | None = None
    traceback: str | None = None
    logs: str = ""
    run_started_at: float | None = None
    """When the executor really started it (``started_at`` is the engine's dispatch)."""
    wall_s: float | None = None
    cpu_s: float | None = None
    peak_rss_mb: float | None = None
    gpu_memory_mb: float | None = None
    queue_wait_s: float | None = None
    """``run_started_at - started_at``: from dispatch to the executor's start."""
    rss_scope: str | None = None
    """``process`` or ``podium-process-sampled`` (see model/attempts.py, Usage)."""


class EventRecord(NamedTuple):
    """An append-only record of one state change (a tuple in the order of the events
    table's columns)."""

    run_id: str
    at: float
    kind: str
    task_name: str | None = None
    attempt: int | None = None
    detail: str | None = None


TaskUpdate = tuple[str, int, float | None, float | None, str | None, str, str]
"""(state, attempts, started_at or None to keep, ended_at, error, run_id, name)"""


DONE_STATES = ("succeeded", "cached", "fell_back")
"""Task states whose result a resumed run keeps (the others run again)."""


class CacheEntry(NamedTuple):
    """A cached result: the key of a call and its parts (model/caching.py), and the task
    instance whose stored result it is."""

    key: str
    identity: str
    code: str
    inputs: str
    """The per-argument fingerprints, as JSON."""
    run_id: str
    task_name: str
    created_at: float
    expires_at: float | None = None


@dataclass(slots=True)
class RunUpdate:
    """A change of a run's state."""

    run_id: str
    state: str
    started_at: float | None = None
    ended_at: float | None = None


@dataclass(slots=True)
class Batch:
    """Changes committed together in one transaction."""

    new_tasks: list[TaskRecord] = field(default_factory=list)
    attempts_started: list[AttemptRecord] = field(default_factory=list)
    attempts_ended: list[AttemptRecord] = field(default_factory=list)
    task_updates: list[TaskUpdate] = field(default_factory=list)
    results: list[tuple[str, str, Any]] = field(default_factory=list)
    """(run_id, task name, the result as encoded by the store's ``encode_result``)"""
    events: list[EventRecord] = field(default_factory=list)
    run_update: RunUpdate | None = None
    cache_entries: list[CacheEntry] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.new_tasks
            or self.attempts_started
            or self.attempts_ended
            or self.task_updates
            or self.results
            or self.events
            or self.run_update
            or self.cache_entries
        )


@dataclass(slots=True)
class Owner:
    """The process that runs a run: who it is, for heartbeats and takeover."""

    pid: int
    host: str

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host}"
