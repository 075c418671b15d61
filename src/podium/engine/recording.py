"""How the engine's state changes become rows: one Batch per turn of the loop.

The start of an attempt is written late on purpose: an attempt that ends before the next
commit is written once, complete (one row instead of an insert and an update). Crash safety
does not need the start (an attempt not yet written is simply run again on resume); what it
needs, a result committed before any dependent is dispatched, the engine guarantees.
"""

from __future__ import annotations

from collections.abc import Callable

from podium.model.attempts import Usage, Work, idempotency_key
from podium.model.graph import Node
from podium.model.records import AttemptRecord, Batch, EventRecord, TaskRecord


class Recorder:
    """Writes the rows of one run's transitions into batches."""

    def __init__(self, run_id: str, clock: Callable[[], float]) -> None:
        self.run_id = run_id
        self.clock = clock
        self.unrecorded: dict[int, tuple[Work, float]] = {}
        """Attempts dispatched whose start is not written yet, with their dispatch time."""
        self.dispatch_times: dict[int, float] = {}
        """Dispatch times of attempts whose start is written and that are still running
        (for their queue wait)."""

    def event(
        self, batch: Batch, kind: str, name: str | None = None, attempt: int | None = None,
        detail: str | None = None, at: float | None = None,
    ) -> None:  # fmt: skip
        batch.events.append(
            EventRecord(self.run_id, self.clock() if at is None else at, kind, name, attempt,
                        detail)
        )  # fmt: skip

    def task_record(self, node: Node, position: int) -> TaskRecord:
        """The row of a task instance created at run time (a dynamic map's element)."""
        return TaskRecord(
            run_id=self.run_id, name=node.name, task=node.task_name, deps=list(node.deps),
            map_index=node.map_index, idempotency_key=idempotency_key(self.run_id, node.name),
            isolation=node.isolation, position=position,
        )  # fmt: skip

    def task_state(
        self, batch: Batch, name: str, state: str, attempts: int, *,
        started_at: float | None = None, error: str | None = None, at: float | None = None,
    ) -> None:  # fmt: skip
        """A task instance changed state without an attempt ending (inline nodes, skips,
        cancels, upstream failures), with its event."""
        now = self.clock() if at is None else at
        batch.task_updates.append((state, attempts, started_at, now, error, self.run_id, name))
        self.event(batch, f"task_{state}", name, detail=error, at=now)

    def dispatched(self, work: Work, at: float) -> None:
        self.unrecorded[work.key] = (work, at)

    def record_starts(self, batch: Batch) -> None:
        """Write the start of every attempt dispatched earlier and still running."""
        run_id = self.run_id
        dispatch_times = self.dispatch_times
        for work, dispatched_at in self.unrecorded.values():
            dispatch_times[work.key] = dispatched_at
            name, attempt = work.task_name, work.attempt
            batch.attempts_started.append(
                AttemptRecord(run_id, name, attempt, "running", dispatched_at)
            )
            batch.task_updates.append(("running", attempt, dispatched_at, None, None, run_id, name))
            self.event(batch, "attempt_started", name, attempt, at=dispatched_at)
        self.unrecorded.clear()

    def attempt_ended(
        self, batch: Batch, work: Work, state: str, ended_at: float, error: str | None,
        traceback: str | None, logs: str, task_state: str | None = None,
        usage: Usage | None = None,
    ) -> None:  # fmt: skip
        """How an attempt ended (``state``) and its task's new state (``task_state``, by
        default the same): one complete row if its start was not written yet. ``usage``
        (the Outcome's) adds what it used and its queue wait (dispatch to executor start)."""
        task_state = task_state or state
        run_id, name, attempt = self.run_id, work.task_name, work.attempt
        events = batch.events
        pending = self.unrecorded.pop(work.key, None)
        if pending is None:  # its start is written: complete the row
            dispatched_at = self.dispatch_times.pop(work.key, None)
            rows, started_at = batch.attempts_ended, None
        else:  # one row, complete; the start's event goes first
            dispatched_at = started_at = pending[1]
            rows = batch.attempts_started
            events.append(EventRecord(run_id, started_at, "attempt_started", name, attempt))
        rows.append(
            AttemptRecord(run_id, name, attempt, state, started_at or 0.0, ended_at, error,
                          traceback, logs, *_usage_fields(usage, dispatched_at))
        )  # fmt: skip
        batch.task_updates.append((task_state, attempt, started_at, ended_at, error, run_id, name))
        events.append(EventRecord(run_id, ended_at, f"task_{task_state}", name, attempt, error))


_NO_USAGE = (None, None, None, None, None, None, None)


def _usage_fields(
    usage: Usage | None, dispatched_at: float | None
) -> tuple[float | None, float | None, float | None, float | None, float | None,
           float | None, str | None]:  # fmt: skip
    """The usage columns of an attempt row: run_started_at, wall_s, cpu_s, peak_rss_mb,
    gpu_memory_mb, queue_wait_s, rss_scope."""
    if usage is None:
        return _NO_USAGE
    started = usage.started_at
    wait = None if dispatched_at is None else max(0.0, started - dispatched_at)
    return (started, usage.wall_s, usage.cpu_s, usage.peak_rss_mb, usage.gpu_memory_mb, wait,
            usage.rss_scope)  # fmt: skip
