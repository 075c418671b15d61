"""Critical-path arithmetic: expected durations, remaining paths, the heaviest chain, the ETA.

The engine orders ready tasks by priority, then by the longest *remaining path*: a node's
expected duration plus the longest remaining path among the nodes that depend on it. Expected
durations come from earlier runs, as median seconds per *history key* (a node name without its
map indexes: ``train[3]`` -> ``train``). Unknown tasks count as the median of the known ones;
when nothing is known every task counts 1.0, so the order is by the number of tasks left.

Graphs are given as ``downstream``: every node mapped to the nodes that depend on it (what
``Graph.dependents()`` returns). Everything here is pure, iterative (graphs of 10,000+ nodes,
no recursion) and linear in nodes + edges. A cycle raises CycleError; a dependent that is
not itself a key of ``downstream``, or a node without a duration, raises KeyError.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Collection, Iterable, Mapping, Sequence

from podium.errors import CycleError
from podium.model.graph import Graph, find_cycle

UNKNOWN_DURATION = 1.0
"""Seconds each task counts for when no task of the graph has a history."""

_MAP_INDEXES = re.compile(r"(?:\[\d+\])+$")


def history_key(name: str) -> str:
    """``name`` without its trailing indexes: ``train[3]`` -> ``train``, ``score[0][2]`` ->
    ``score``; a name without indexes is its own key."""
    return _MAP_INDEXES.sub("", name)


def expected_durations(names: Iterable[str], history: Mapping[str, float]) -> dict[str, float]:
    """Expected seconds per node name: its history key's median in ``history``; else the
    median of the known values among these names' (distinct) keys; else 1.0."""
    keys = {name: history_key(name) for name in names}
    known = [history[key] for key in dict.fromkeys(keys.values()) if key in history]
    fallback = statistics.median(known) if known else UNKNOWN_DURATION
    return {name: history.get(key, fallback) for name, key in keys.items()}


def learned_durations(history: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """Median seconds per history key, from recent durations per task instance name (what
    the store's ``task_durations`` gives)."""
    by_key: dict[str, list[float]] = {}
    for name, seconds in history.items():
        by_key.setdefault(history_key(name), []).extend(seconds)
    return {key: statistics.median(values) for key, values in by_key.items() if values}


def critical_weights(
    graph: Graph,
    history: Mapping[str, Sequence[float]],
    downstream: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, float]:
    """Each node's expected remaining path to the end of the graph, in seconds (what the
    engine orders ready tasks by). Gathers take no time. ``downstream``: the graph's
    ``dependents()`` when the caller has them already."""
    learned = learned_durations(history)
    if learned:
        expected = expected_durations(graph.nodes, learned)
    else:  # nothing known: every task counts the same
        expected = dict.fromkeys(graph.nodes, UNKNOWN_DURATION)
    for node in graph:
        if node.kind == "gather":
            expected[node.name] = 0.0
    downstream = graph.dependents() if downstream is None else downstream
    # Built graphs list every node after the nodes it needs, so one pass from the end
    # suffices; graphs declared in another order (the seed API) take the general way.
    remaining: dict[str, float] = {}
    for name in reversed(graph.nodes):
        longest = 0.0
        for child in downstream[name]:
            after = remaining.get(child)
            if after is None:
                return remaining_paths(downstream, expected)
            if after > longest:
                longest = after
        remaining[name] = expected[name] + longest
    return remaining


def remaining_paths(
    downstream: Mapping[str, Sequence[str]], durations: Mapping[str, float]
) -> dict[str, float]:
    """For every node: its duration plus the longest remaining path among its dependents
    (0 when it has none). Raises CycleError if the graph has a cycle."""
    remaining: dict[str, float] = {}
    for name in _sinks_first(downstream):
        longest = max((remaining[child] for child in downstream[name]), default=0.0)
        remaining[name] = durations[name] + longest
    return remaining


def critical_path(
    downstream: Mapping[str, Sequence[str]],
    durations: Mapping[str, float],
    roots: Iterable[str] | None = None,
) -> list[str]:
    """The heaviest chain, first to last: the root with the longest remaining path, then
    each time the dependent with the longest one (ties: the first in mapping order).
    ``roots`` defaults to the nodes no node points to. Raises CycleError on a cycle."""
    remaining = remaining_paths(downstream, durations)
    starts = list(roots) if roots is not None else _roots(downstream)
    path: list[str] = []
    candidates: Sequence[str] = starts
    while candidates:
        heaviest = max(candidates, key=remaining.__getitem__)
        path.append(heaviest)
        candidates = downstream[heaviest]
    return path


def eta_seconds(
    downstream: Mapping[str, Sequence[str]],
    durations: Mapping[str, float],
    finished: Collection[str],
    running: Mapping[str, float],
    now: float,
) -> float:
    """Seconds the run still needs: the longest chain of what is left. Finished nodes count
    0; a running node (mapped to when it started, on the clock of ``now``) what is left of
    its duration, at least 0; the others their duration. Raises CycleError on a cycle."""
    done = set(finished)
    left: dict[str, float] = {}
    for name in downstream:
        if name in done:
            left[name] = 0.0
        elif name in running:
            left[name] = max(0.0, durations[name] - (now - running[name]))
        else:
            left[name] = durations[name]
    return max(remaining_paths(downstream, left).values(), default=0.0)


def actual_critical_path(
    downstream: Mapping[str, Sequence[str]], spans: Mapping[str, tuple[float, float]]
) -> list[str]:
    """The chain that decided when a finished run ended, first to last: from the node that
    ended last, back through the dependency that ended last, until a node with none.
    ``spans`` maps each node that ran to ``(started_at, ended_at)``; nodes without a span
    are passed over. Ties go to the first in mapping order."""
    if not spans:
        return []
    upstream = _upstream(downstream)
    last = max(spans, key=lambda name: spans[name][1])
    path = [last]
    seen = {last}
    while True:
        ran = [dep for dep in upstream.get(path[-1], ()) if dep in spans and dep not in seen]
        if not ran:
            break
        previous = max(ran, key=lambda name: spans[name][1])
        path.append(previous)
        seen.add(previous)
    path.reverse()
    return path


def _upstream(downstream: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """For every node, the nodes it depends on, in mapping order."""
    upstream: dict[str, list[str]] = {name: [] for name in downstream}
    for name, children in downstream.items():
        for child in children:
            upstream[child].append(name)  # KeyError: a dependent that is not a node
    return upstream


def _roots(downstream: Mapping[str, Sequence[str]]) -> list[str]:
    """The nodes no node points to, in mapping order."""
    pointed = {child for children in downstream.values() for child in children}
    return [name for name in downstream if name not in pointed]


def _sinks_first(downstream: Mapping[str, Sequence[str]]) -> list[str]:
    """Every node, each after all its dependents (Kahn's algorithm run from the sinks).
    Raises CycleError if the graph has a cycle."""
    upstream = _upstream(downstream)
    waiting = {name: len(children) for name, children in downstream.items()}
    order = [name for name, count in waiting.items() if count == 0]
    for name in order:  # grows while it is walked
        for parent in upstream[name]:
            waiting[parent] -= 1
            if waiting[parent] == 0:
                order.append(parent)
    if len(order) < len(downstream):
        raise CycleError(find_cycle(downstream, {k: list(v) for k, v in downstream.items()}))
    return order
