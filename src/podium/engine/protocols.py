"""The two seams of the engine: where state is kept (Store) and where attempts run (Executor).

The engine knows these Protocols only; SQLite/PostgreSQL stores and local/Ray executors are
interchangeable behind them and pass the same contract tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from podium.model.attempts import Outcome, Work
from podium.model.records import Batch, CacheEntry, Owner, RunRecord, TaskRecord


class Store(Protocol):
    """Durable state of runs. Every method is one transaction."""

    def create_run(self, run: RunRecord, tasks: list[TaskRecord]) -> None:
        """Insert a new run with its task instances."""

    def encode_result(self, value: Any) -> Any:
        """``value`` in the store's own form, for ``Batch.results``; raises when the value
        cannot be stored (the engine then fails the task, not the run)."""

    def commit(self, batch: Batch) -> None:
        """Apply every change of ``batch`` atomically."""

    def heartbeat(self, run_id: str, owner: Owner, at: float) -> str:
        """Record that ``owner`` is alive: ``"ok"``, ``"cancel"`` (requested) or ``"lost"``
        (another process took the run over: stop writing)."""

    def load_tasks(self, run_id: str) -> list[TaskRecord]:
        """The task instances of a run."""

    def load_results(self, run_id: str, names: list[str]) -> dict[str, Any]:
        """The results of these finished task instances of a run."""

    def cache_lookup(self, key: str, now: float) -> tuple[CacheEntry, Any] | None:
        """The unexpired cache entry for ``key`` and its result, or None."""

    def cache_latest(self, identity: str) -> CacheEntry | None:
        """The newest cache entry of a task identity, expired or not (explains a miss)."""

    def task_durations(self, workflow: str) -> dict[str, list[float]]:
        """Seconds of recent succeeded attempts per task instance name, newest first."""


class Executor(Protocol):
    """Runs attempts and reports each outcome, exactly once, through ``report``."""

    def open(self, report: Callable[[Outcome], None]) -> None:
        """Get ready; called inside the engine's running event loop. ``report`` is
        thread-safe and may be called from any thread."""

    def submit(self, work: Work) -> None:
        """Start ``work``; never blocks and never raises for the task's own errors."""

    def cancel(self, work: Work) -> bool:
        """Stop ``work``. True if an outcome (cancelled) will still be reported; False when
        the attempt cannot be stopped (a thread) and will be left to finish unobserved."""

    def close(self) -> None:
        """Stop everything still running and release workers."""
