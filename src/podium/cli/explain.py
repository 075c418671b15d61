"""What ``podium runs show`` explains beyond the tables: where cached results came from and
why a cached task missed, the run's critical path, and while it runs, its ETA."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from rich.markup import escape
from rich.table import Table

from podium.cli.progress import UNFINISHED
from podium.cli.render import seconds, timestamp
from podium.engine.critical import (
    actual_critical_path,
    critical_path,
    eta_seconds,
    expected_durations,
    learned_durations,
)
from podium.model.records import CacheEntry, EventRecord, RunRecord, TaskRecord

CACHE_EVENTS = {"cache_hit": "hit", "cache_miss": "miss"}
PATH_SHOWN = 12
"""Longer critical paths are shown by their first and last tasks."""


def cache_table(events: Sequence[EventRecord]) -> Table | None:
    """One row per cached task: hit (and the run its result came from) or miss (and
    why); None when the run has no cached task."""
    latest: dict[str, EventRecord] = {}
    for event in events:
        if event.kind in CACHE_EVENTS and event.task_name is not None:
            latest[event.task_name] = event
    if not latest:
        return None
    table = Table(title="cache", title_justify="left")
    for column in ("task", "cache", "from / why"):
        table.add_column(column, overflow="fold")
    for name, event in latest.items():
        outcome = CACHE_EVENTS[event.kind]
        style = "green" if outcome == "hit" else "yellow"
        table.add_row(escape(name), f"[{style}]{outcome}[/]", escape(event.detail or ""))
    return table


def cache_entries_table(entries: Sequence[CacheEntry], now: float) -> Table:
    """``podium cache list``: task, key, where the result is, when it was made and expires."""
    table = Table(title="cache entries", title_justify="left")
    for column in ("task", "key", "run", "task instance", "created", "expires", "inputs"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        if entry.expires_at is None:
            expires = "never"
        elif entry.expires_at <= now:
            expires = f"[dim]expired {timestamp(entry.expires_at)}[/]"
        else:
            expires = timestamp(entry.expires_at)
        table.add_row(
            escape(entry.identity.split(":", 1)[0]),
            entry.key[:12],
            entry.run_id,
            escape(entry.task_name),
            timestamp(entry.created_at),
            expires,
            escape(", ".join(json.loads(entry.inputs)) or "-"),
        )
    return table


def cache_entry_json(entry: CacheEntry) -> dict[str, Any]:
    """A cache entry for ``--json``: its fields, the inputs' fingerprints as an object."""
    data = entry._asdict()
    data["inputs"] = json.loads(entry.inputs)
    for field in ("created_at", "expires_at"):
        if data[field] is not None:
            data[field] = timestamp(data[field])
    return data


def downstream_of(tasks: Sequence[TaskRecord]) -> dict[str, list[str]]:
    """Every task instance mapped to those that depend on it (from the stored deps); the
    elements of a map lead to the map itself, which stands for all of them."""
    downstream: dict[str, list[str]] = {task.name: [] for task in tasks}
    for task in tasks:
        for dep in dict.fromkeys(task.deps):
            if dep in downstream:
                downstream[dep].append(task.name)
    for element, parent in map_parents(tasks).items():
        if parent not in downstream[element]:
            downstream[element].append(parent)
    return downstream


def map_parents(tasks: Sequence[TaskRecord]) -> dict[str, str]:
    """The element instances of maps (``train[2]``) and the map each belongs to."""
    names = {task.name for task in tasks}
    parents = {}
    for task in tasks:
        if task.map_index is not None:
            parent = task.name[: task.name.rfind("[")]
            if parent in names:
                parents[task.name] = parent
    return parents


def path_text(path: Sequence[str]) -> str:
    if len(path) > PATH_SHOWN:
        half = PATH_SHOWN // 2
        path = [*path[:half], f"... {len(path) - 2 * half} more ...", *path[-half:]]
    return " -> ".join(escape(name) for name in path)


def schedule_lines(
    run: RunRecord,
    tasks: Sequence[TaskRecord],
    history: Mapping[str, Sequence[float]],
    now: float | None = None,
) -> list[str]:
    """The critical path (taken, for an ended run; expected, from learned durations, for
    a live one) and, while the run is live, the ETA."""
    if not tasks:
        return []
    downstream = downstream_of(tasks)
    if run.ended_at is not None:
        spans = {
            task.name: (task.started_at, task.ended_at)
            for task in tasks
            if task.started_at is not None and task.ended_at is not None
        }
        parents = map_parents(tasks)
        for element, parent in parents.items():  # a map spans its elements
            if element in spans:
                start, end = spans[element]
                first, last = spans.get(parent, (start, end))
                spans[parent] = (min(first, start), max(last, end))
        maps = set(parents.values())
        path = [name for name in actual_critical_path(downstream, spans) if name not in maps]
        if not path:
            return []
        took = spans[path[-1]][1] - spans[path[0]][0]
        return [f"critical path ({seconds(took)}): {path_text(path)}"]
    now = time.time() if now is None else now
    durations = expected_durations(downstream, learned_durations(history))
    finished = [t.name for t in tasks if t.state != "pending" and t.state not in UNFINISHED]
    running = {
        task.name: task.started_at
        for task in tasks
        if task.state == "running" and task.started_at is not None
    }
    remaining = eta_seconds(downstream, durations, finished, running, now)
    left = {name: durations[name] for name in downstream}
    for name in finished:
        left[name] = 0.0
    path = [name for name in critical_path(downstream, left) if name not in finished]
    return [
        f"expected critical path ({seconds(remaining)} left): {path_text(path)}",
        f"ETA: {timestamp(now + remaining)} (in {seconds(remaining)}, from the durations "
        f"of earlier runs; tasks never run before count as the median of the known)",
    ]
