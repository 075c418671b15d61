"""How runs, tasks, attempts and graphs are shown: Rich tables, JSON, mermaid and dot."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from podium.model.graph import Graph
from podium.model.records import AttemptRecord, RunRecord, TaskRecord

SUMMARY_ROWS = 40
_STYLE = {
    "succeeded": "green",
    "failed": "red",
    "upstream_failed": "yellow",
    "cancelled": "magenta",
    "running": "cyan",
    "pending": "dim",
    "lost": "red",
    "retrying": "blue",
    "timed_out": "red",
    "skipped": "dim",
    "fell_back": "yellow",
    "falling_back": "blue",
    "cached": "green",
}


def timestamp(at: float | None) -> str:
    """``2026-11-23T05:12:00Z`` (UTC), or an empty string."""
    if at is None:
        return ""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def duration(start: float | None, end: float | None) -> str:
    if start is None or end is None:
        return ""
    seconds = end - start
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.2f}s"


def styled(state: str) -> str:
    return f"[{_STYLE.get(state, 'white')}]{state}[/]"


def display_order(tasks: list[TaskRecord]) -> list[TaskRecord]:
    """Tasks in creation order, but the elements of a map (created at run time, so stored
    last) placed just before their map, as the elements of a literal map are."""
    names = {task.name for task in tasks}
    elements: dict[str, list[TaskRecord]] = {}
    for task in tasks:
        parent = task.name[: task.name.rfind("[")] if task.map_index is not None else None
        if parent in names:
            elements.setdefault(parent, []).append(task)
    placed = {id(task) for members in elements.values() for task in members}
    ordered: list[TaskRecord] = []
    for task in tasks:
        if id(task) not in placed:
            ordered.extend(elements.get(task.name, ()))
            ordered.append(task)
    return ordered


def tasks_table(tasks: list[TaskRecord], *, limit: int | None = SUMMARY_ROWS) -> Table:
    """Task, state, attempts, duration; the failed ones first when the list is cut."""
    tasks = display_order(tasks)
    table = Table(title="tasks", title_justify="left")
    for column in ("task", "state", "attempts", "duration", "error"):
        table.add_column(column, overflow="fold")
    shown = tasks
    if limit is not None and len(tasks) > limit:
        fine = ("succeeded", "cached")
        important = [t for t in tasks if t.state not in fine]
        shown = (important + [t for t in tasks if t.state in fine])[:limit]
    for task in shown:
        table.add_row(
            escape(task.name),
            styled(task.state),
            str(task.attempts),
            duration(task.started_at, task.ended_at),
            escape((task.error or "")[:120]),
        )
    if len(shown) < len(tasks):
        counts = Counter(t.state for t in tasks)
        rest = ", ".join(f"{n} {state}" for state, n in counts.items())
        table.caption = f"{len(tasks) - len(shown)} more tasks not shown (all: {rest})"
    return table


def seconds(value: float | None) -> str:
    """``4.2ms``, ``850ms``, ``2.31s``, or an empty string."""
    if value is None:
        return ""
    if value < 0.01:
        return f"{value * 1000:.1f}ms"
    return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.2f}s"


def megabytes(value: float | None) -> str:
    return "" if value is None else f"{value:.1f} MB"


def latest_attempts(attempts: list[AttemptRecord]) -> dict[str, AttemptRecord]:
    """The latest attempt of each task instance."""
    latest: dict[str, AttemptRecord] = {}
    for attempt in attempts:
        seen = latest.get(attempt.task_name)
        if seen is None or attempt.attempt > seen.attempt:
            latest[attempt.task_name] = attempt
    return latest


def usage_table(tasks: list[TaskRecord], attempts: list[AttemptRecord]) -> Table:
    """What the latest attempt of each task used (see docs/guide.md, Resource accounting)."""
    latest = latest_attempts(attempts)
    gpu = any(a.gpu_memory_mb is not None for a in latest.values())
    table = Table(title="usage (latest attempt)", title_justify="left")
    columns = ["task", "attempt", "wall", "cpu", "peak RSS", "queue wait", "RSS scope"]
    for column in columns[:5] + (["GPU memory"] if gpu else []) + columns[5:]:
        table.add_column(column, overflow="fold")
    for task in display_order(tasks):
        a = latest.get(task.name)
        if a is None:
            continue
        cells = [escape(task.name), str(a.attempt), seconds(a.wall_s), seconds(a.cpu_s),
                 megabytes(a.peak_rss_mb)]  # fmt: skip
        if gpu:
            cells.append(megabytes(a.gpu_memory_mb))
        cells += [seconds(a.queue_wait_s), a.rss_scope or ""]
        table.add_row(*cells)
    return table


BOTTLENECKS = 5


def bottlenecks_table(attempts: list[AttemptRecord], top: int = BOTTLENECKS) -> Table:
    """The ``top`` longest-running tasks, longest queue waits and largest peak RSS (of each
    task's latest attempt)."""
    latest = list(latest_attempts(attempts).values())

    def ranked(field: str, show: Callable[[float | None], str]) -> list[str]:
        measured = [a for a in latest if getattr(a, field) is not None]
        measured.sort(key=lambda a: getattr(a, field), reverse=True)
        return [f"{escape(a.task_name)} ({show(getattr(a, field))})" for a in measured[:top]]

    lists = (
        ranked("wall_s", seconds),
        ranked("queue_wait_s", seconds),
        ranked("peak_rss_mb", megabytes),
    )
    table = Table(title="bottlenecks", title_justify="left")
    for column in ("longest running", "longest queue wait", "largest peak RSS"):
        table.add_column(column, overflow="fold")
    for row in range(max(len(cells) for cells in lists)):
        table.add_row(*(cells[row] if row < len(cells) else "" for cells in lists))
    return table


def run_header(run: RunRecord) -> str:
    return (
        f"run [bold]{run.run_id}[/] of workflow [bold]{escape(run.workflow)}[/]: "
        f"{styled(run.state)}"
        f"  (started {timestamp(run.started_at or run.created_at)},"
        f" took {duration(run.started_at, run.ended_at) or '-'})"
    )


def runs_table(runs: list[RunRecord]) -> Table:
    table = Table()
    for column in ("run_id", "workflow", "state", "created_at", "duration", "owner"):
        table.add_column(column)
    for run in runs:
        table.add_row(
            run.run_id,
            escape(run.workflow),
            styled(run.state),
            timestamp(run.created_at),
            duration(run.started_at, run.ended_at),
            f"{run.owner_pid}@{run.owner_host}",
        )
    return table


def run_json(
    run: RunRecord,
    tasks: list[TaskRecord] | None = None,
    attempts: list[AttemptRecord] | None = None,
) -> dict[str, Any]:
    """A run as plain JSON (timestamps as UTC ISO strings)."""
    data = _dated(asdict(run))
    if tasks is not None:
        data["tasks"] = [_dated(asdict(task)) for task in tasks]
    if attempts is not None:
        data["attempts"] = [
            {k: v for k, v in _dated(a._asdict()).items() if k != "logs"} for a in attempts
        ]
    return data


def _dated(row: dict[str, Any]) -> dict[str, Any]:
    return {k: timestamp(v) if k.endswith("_at") and v is not None else v for k, v in row.items()}


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)


def print_logs(console: Console, attempts: list[AttemptRecord]) -> None:
    for attempt in attempts:
        console.print(
            f"[bold]== {escape(attempt.task_name)}[/] attempt {attempt.attempt} "
            f"({styled(attempt.state)}, started {timestamp(attempt.started_at)}) =="
        )
        if attempt.logs:
            console.print(attempt.logs, markup=False, highlight=False)
        if attempt.error:
            console.print(f"[red]error:[/] {escape(attempt.error)}", highlight=False)
        if attempt.traceback:
            console.print(attempt.traceback.rstrip(), markup=False, highlight=False)


# -- graphs ---------------------------------------------------------------------------------


def graph_text(graph: Graph) -> str:
    """The graph as an indented tree from its roots; a node seen before is marked."""
    downstream = graph.dependents()
    lines: list[str] = []
    seen: set[str] = set()

    def walk(name: str, depth: int) -> None:
        node = graph.nodes[name]
        kind = {"map": " (map: elements created at run time)", "gather": " (gathers)"}.get(
            node.kind, ""
        )
        repeat = " ^" if name in seen else ""
        lines.append(f"{'    ' * depth}{name} [{node.isolation}]{kind}{repeat}")
        if name in seen:
            return
        seen.add(name)
        for child in downstream[name]:
            walk(child, depth + 1)

    for node in graph:
        if not node.deps:
            walk(node.name, 0)
    return "\n".join(lines)


def _ids(graph: Graph) -> dict[str, str]:
    return {name: f"n{index}" for index, name in enumerate(graph.nodes)}


def graph_mermaid(graph: Graph) -> str:
    ids = _ids(graph)
    lines = ["flowchart TD"]
    for name, node in graph.nodes.items():
        label = name.replace('"', "'")
        lines.append(
            f'    {ids[name]}["{label}"]' if node.kind != "map" else f'    {ids[name]}[["{label}"]]'
        )
    for name, node in graph.nodes.items():
        for dep in node.deps:
            lines.append(f"    {ids[dep]} --> {ids[name]}")
    return "\n".join(lines)


def graph_dot(graph: Graph) -> str:
    lines = [f"digraph {json.dumps(graph.workflow)} {{", "    rankdir=LR;"]
    for name, node in graph.nodes.items():
        shape = "box3d" if node.kind == "map" else "box"
        lines.append(f"    {json.dumps(name)} [shape={shape}];")
    for name, node in graph.nodes.items():
        for dep in node.deps:
            lines.append(f"    {json.dumps(dep)} -> {json.dumps(name)};")
    lines.append("}")
    return "\n".join(lines)
