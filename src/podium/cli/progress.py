"""Live progress of a run in the terminal: a Rich progress bar with per-state counts on a
TTY, one plain line per task state change otherwise."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from podium.model.records import EventRecord

_ENDED = {
    "task_succeeded": "succeeded",
    "task_failed": "failed",
    "task_cancelled": "cancelled",
    "task_upstream_failed": "upstream_failed",
    "task_skipped": "skipped",
    "task_fell_back": "fell_back",
}  # a cached task is counted from its cache_hit event (which says where it came from)
UNFINISHED = {"running", "retrying", "falling_back"}
_COLORS = {
    "running": "cyan",
    "retrying": "blue",
    "falling_back": "blue",
    "succeeded": "green",
    "failed": "red",
    "upstream_failed": "yellow",
    "cancelled": "magenta",
    "skipped": "dim",
    "fell_back": "yellow",
    "cached": "green",
}


class StateCounts:
    """Task states counted from the event stream."""

    def __init__(self, total: int, done: Iterable[str] = ()) -> None:
        self.total = total
        self.state: dict[str, str] = dict.fromkeys(done, "succeeded")
        self.counts: Counter[str] = Counter(self.state.values())

    def apply(self, event: EventRecord) -> str | None:
        """Update from one event; return the task's new state, if it changed."""
        name = event.task_name
        if event.kind == "map_expanded":
            self.total += int(event.detail or 0)
            return None
        if name is None:
            return None
        if event.kind == "attempt_started":
            new: str | None = "running"
        elif event.kind in ("task_retrying", "task_falling_back"):
            new = event.kind.removeprefix("task_")
        elif event.kind == "fallback_started":  # detail: the fallback, and why if not tried
            new = "falling_back"
        elif event.kind == "cache_hit":  # detail: where the result comes from
            new = "cached"
        else:
            new = _ENDED.get(event.kind)
        if new is None:
            return None
        old = self.state.get(name)
        if old is not None:
            self.counts[old] -= 1
        self.state[name] = new
        self.counts[new] += 1
        return new

    @property
    def finished(self) -> int:
        return sum(n for state, n in self.counts.items() if state not in UNFINISHED)

    def summary(self) -> str:
        parts = [f"[{_COLORS[s]}]{self.counts[s]} {s}[/]" for s in _COLORS if self.counts[s]]
        return "  ".join(parts)


class LiveProgress:
    """A listener for the engine: shows progress while the run goes."""

    def __init__(
        self,
        total: int,
        *,
        done: Iterable[str] = (),
        stream: IO[str] | None = None,
        force_terminal: bool | None = None,
    ) -> None:
        self.console = Console(file=stream, stderr=stream is None, force_terminal=force_terminal)
        self.counts = StateCounts(total, done)
        self.live = self.console.is_terminal
        self._progress: Progress | None = None
        self._started = time.monotonic()

    def __enter__(self) -> LiveProgress:
        if self.live:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[states]}"),
                console=self.console,
                transient=False,
            )
            self._progress.start()
            self._bar = self._progress.add_task("run", total=self.counts.total, states="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._refresh()
            self._progress.stop()

    def __call__(self, events: list[EventRecord]) -> None:
        for event in events:
            new = self.counts.apply(event)
            if not self.live and new is not None:
                self._line(event, new)
        if self.live:
            self._refresh()

    def _refresh(self) -> None:
        assert self._progress is not None
        self._progress.update(
            self._bar,
            total=self.counts.total,
            completed=self.counts.finished,
            states=self.counts.summary(),
        )

    def _line(self, event: EventRecord, state: str) -> None:
        elapsed = time.monotonic() - self._started
        attempt = f" (attempt {event.attempt})" if event.attempt and state == "running" else ""
        shown = ("failed", "retrying", "falling_back", "cached")
        detail = f": {event.detail}" if state in shown and event.detail else ""
        self.console.print(
            f"{elapsed:8.2f}s {state:<15} {event.task_name}{attempt}{detail}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
