"""The plan of one run: which task instances wait, which are ready, which have ended.

In the manner of graphlib.TopologicalSorter: the engine asks for ready nodes, dispatches them,
and reports each end; the plan answers with the nodes that became ready. Dynamic maps add
their elements with ``expand`` when the node they map over has succeeded.
"""

from __future__ import annotations

from podium.model.graph import Graph, Node


class Plan:
    """Dependency bookkeeping for one run. Pure: no I/O, no clock."""

    def __init__(self, graph: Graph) -> None:
        self.nodes: dict[str, Node] = dict(graph.nodes)
        self.state: dict[str, str] = dict.fromkeys(self.nodes, "pending")
        self.downstream: dict[str, list[str]] = graph.dependents()
        self.waiting: dict[str, int] = {
            name: len(set(node.deps)) for name, node in self.nodes.items()
        }
        self.children: dict[str, list[str]] = {}
        self.unfinished = len(self.nodes)

    @property
    def complete(self) -> bool:
        """True when every node has ended."""
        return self.unfinished == 0

    def roots(self) -> list[str]:
        """The nodes with nothing to wait for; marks them ready."""
        ready = [name for name, count in self.waiting.items() if count == 0]
        for name in ready:
            self.state[name] = "ready"
        return ready

    def mark(self, name: str, state: str) -> None:
        """Record a non-final state (``running``)."""
        self.state[name] = state

    def succeeded(self, name: str) -> list[str]:
        """``name`` succeeded; return the dependents that became ready."""
        self._end(name, "succeeded")
        ready = []
        for child in self.downstream[name]:
            self.waiting[child] -= 1
            if self.waiting[child] == 0 and self.state[child] == "pending":
                self.state[child] = "ready"
                ready.append(child)
        return ready

    def failed(self, name: str, state: str = "failed") -> list[str]:
        """``name`` ended without success; return its transitive dependents, now
        ``upstream_failed`` (those that had not ended already)."""
        self._end(name, state)
        marked: list[str] = []
        stack = list(self.downstream[name])
        while stack:
            child = stack.pop()
            if self.state[child] in ("pending", "ready"):
                self._end(child, "upstream_failed")
                marked.append(child)
                stack.extend(self.downstream[child])
        return marked

    def expand(self, name: str, children: list[Node]) -> list[str]:
        """Add the elements of dynamic map ``name``; it now waits for them. Returns the
        elements (all ready); if there are none, ``name`` itself is returned, ready again."""
        self.children[name] = [child.name for child in children]
        self.waiting[name] = len(children)
        self.state[name] = "pending"  # waits for its elements, as it waited for its inputs
        for child in children:
            self.nodes[child.name] = child
            self.state[child.name] = "ready"
            self.waiting[child.name] = 0
            self.downstream[child.name] = [name]
        self.unfinished += len(children)
        if not children:
            self.state[name] = "ready"
            return [name]
        return [child.name for child in children]

    def cancel_unstarted(self) -> list[str]:
        """Mark every node that has not started as cancelled; return them."""
        names = [n for n, s in self.state.items() if s in ("pending", "ready", "retrying")]
        for name in names:
            self._end(name, "cancelled")
        return names

    def _end(self, name: str, state: str) -> None:
        self.state[name] = state
        self.unfinished -= 1
