"""The task graph of one workflow: nodes, their dependencies, and validation.

A node is one task instance: a call of a task (``call``), a dynamic fan-out whose elements are
created at run time (``map``), or the gathering of a literal fan-out's elements (``gather``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from podium.errors import CycleError, DuplicateTaskError, UnknownDependencyError
from podium.model.caching import NO_CACHING, Caching
from podium.model.policy import Policy

if TYPE_CHECKING:
    from podium.model.taskdef import TaskDef

NodeKind = Literal["call", "map", "gather"]
DEFAULT_POLICY = Policy()


@dataclass(eq=False, slots=True)
class Node:
    """One task instance of a workflow graph."""

    task: TaskDef | None
    kind: NodeKind = "call"
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    deps: list[str] = field(default_factory=list)
    map_index: int | None = None
    has_handles: bool = False
    explicit_name: bool = False
    handle_args: tuple[str, ...] | None = None
    """When every positional argument is a handle and no keyword argument holds one (the
    common call): the names of their nodes, so the engine passes their results without
    walking the arguments."""

    @property
    def policy(self) -> Policy:
        """What to do when an attempt fails or overruns, and the priority."""
        return self.task.policy if self.task is not None else DEFAULT_POLICY

    @property
    def caching(self) -> Caching:
        """The task's cache options (off for maps and gathers)."""
        return self.task.caching if self.task is not None else NO_CACHING

    @property
    def task_name(self) -> str:
        """The name of the task this node calls (its base name before numbering)."""
        return self.task.name if self.task is not None else self.name

    isolation: str = field(init=False)
    """Where it runs: ``async``, ``thread``, ``process``, ``shell``, or ``inline`` (a map or
    gather, done by the engine itself)."""

    def __post_init__(self) -> None:
        self.isolation = (
            self.task.isolation if self.kind == "call" and self.task is not None else "inline"
        )


@dataclass(eq=False)
class Graph:
    """The nodes of one workflow, in insertion order, plus the workflow's returned value."""

    nodes: dict[str, Node] = field(default_factory=dict)
    output: Any = None
    workflow: str = ""
    _downstream: dict[str, list[str]] | None = field(default=None, init=False, repr=False)

    def add(self, node: Node) -> None:
        """Add ``node``; raises DuplicateTaskError if its name is taken."""
        if node.name in self.nodes:
            raise DuplicateTaskError(node.name)
        self.nodes[node.name] = node
        self._downstream = None

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes.values())

    def __len__(self) -> int:
        return len(self.nodes)

    def dependents(self) -> dict[str, list[str]]:
        """For each node, the nodes that depend on it, in insertion order (computed once
        per graph: the caller must not change it, see ``Plan``)."""
        if self._downstream is not None:
            return self._downstream
        downstream: dict[str, list[str]] = {name: [] for name in self.nodes}
        for node in self.nodes.values():
            deps = node.deps
            for dep in dict.fromkeys(deps) if len(deps) > 1 else deps:
                if dep in downstream:
                    downstream[dep].append(node.name)
        self._downstream = downstream
        return downstream

    def validate(self, *, acyclic: bool = False) -> None:
        """Raise UnknownDependencyError or CycleError if the graph cannot run.

        ``acyclic``: the caller knows every node was added after the nodes it depends on
        (a graph built from handles: a handle exists only once its node does), so only
        unknown dependencies are looked for."""
        for node in self.nodes.values():
            for dep in node.deps:
                if dep not in self.nodes:
                    raise UnknownDependencyError(node.name, dep, list(self.nodes))
        if acyclic:
            return
        cycle = find_cycle(self.nodes, self.dependents())
        if cycle:
            raise CycleError(cycle)

    def topological_order(self) -> list[str]:
        """Node names so that every node comes after its dependencies (stable)."""
        remaining = {name: len(set(node.deps)) for name, node in self.nodes.items()}
        downstream = self.dependents()
        order = [name for name, count in remaining.items() if count == 0]
        for name in order:
            for child in downstream[name]:
                remaining[child] -= 1
                if remaining[child] == 0:
                    order.append(child)
        return order


def find_cycle(nodes: Iterable[str], downstream: dict[str, list[str]]) -> list[str]:
    """A cycle in the graph (following data flow), as names with the first repeated; or []."""
    order = list(nodes)
    rank = {name: index for index, name in enumerate(order)}
    WHITE, GREY, BLACK = 0, 1, 2
    color = dict.fromkeys(order, WHITE)
    for root in order:
        if color[root] != WHITE:
            continue
        path: list[str] = [root]
        stack: list[Iterator[str]] = [iter(downstream[root])]
        color[root] = GREY
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                color[path.pop()] = BLACK
                continue
            if color[child] == GREY:
                cycle = path[path.index(child) :]
                start = min(range(len(cycle)), key=lambda i: rank[cycle[i]])
                cycle = cycle[start:] + cycle[:start]
                return [*cycle, cycle[0]]
            if color[child] == WHITE:
                color[child] = GREY
                path.append(child)
                stack.append(iter(downstream[child]))
    return []
