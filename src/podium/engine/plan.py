"""The plan of one run: which task instances wait, which are ready, which have ended.

In the manner of graphlib.TopologicalSorter: the engine asks for ready nodes, dispatches them,
and reports each end; the plan answers with what that decided for the dependents. Dynamic
maps add their elements with ``expand`` when the node they map over has succeeded.

Trigger rules decide, from how the tasks a node needs ended, whether it runs, is
``skipped``, or is ``upstream_failed``. Upstream ends count as *success* (succeeded,
fell_back),
*failed* (failed, upstream_failed, cancelled) or *skipped*. A node runs only once all it
needs has ended (their results are its arguments; a failed or skipped one passes None); it
is skipped or upstream_failed as soon as its rule can no longer be met:

    rule                          runs when everything needed has ended and...   otherwise
    all_success (default)         all succeeded        upstream_failed at the first failure;
                                                       skipped at the first skip
    all_done                      always               -
    one_failed                    at least one failed  skipped
    one_success                   at least one succeeded  upstream_failed if one failed,
                                                          else skipped
    none_failed                   none failed          upstream_failed at the first failure
    none_failed_min_one_success   none failed and at   upstream_failed at the first failure;
                                  least one succeeded  skipped if all were skipped

A skipped or upstream_failed node ends in turn, so decisions propagate down the graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from podium.model.graph import Graph, Node

SUCCESS = frozenset({"succeeded", "fell_back"})
FAILURE = frozenset({"failed", "upstream_failed", "cancelled"})
ENDED = frozenset({"succeeded", "fell_back", "failed", "upstream_failed", "cancelled", "skipped"})


@dataclass(slots=True)
class Decisions:
    """What one end decided downstream."""

    ready: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    upstream_failed: list[str] = field(default_factory=list)


NOTHING_DECIDED = Decisions()
"""What most ends decide (their dependents still wait for others): shared, read only."""


def decide(rule: str, succeeded: int, failed: int, skipped: int, pending: int) -> str | None:
    """``"run"``, ``"skipped"``, ``"upstream_failed"``, or None (not decided yet)."""
    if rule == "all_success":
        if failed:
            return "upstream_failed"
        if skipped:
            return "skipped"
        return "run" if not pending else None
    if rule in ("none_failed", "none_failed_min_one_success") and failed:
        return "upstream_failed"
    if pending:
        return None
    if rule == "all_done" or rule == "none_failed":
        return "run"
    if rule == "one_failed":
        return "run" if failed else "skipped"
    if rule == "one_success":
        return "run" if succeeded else ("upstream_failed" if failed else "skipped")
    if rule == "none_failed_min_one_success":
        return "run" if succeeded else "skipped"
    raise ValueError(f"unknown trigger rule {rule!r}")


class Plan:
    """Dependency bookkeeping for one run. Pure: no I/O, no clock."""

    def __init__(self, graph: Graph) -> None:
        self.nodes: dict[str, Node] = dict(graph.nodes)
        self.state: dict[str, str] = dict.fromkeys(self.nodes, "pending")
        # the graph's own, copied (``expand`` adds entries; the lists are only read)
        self.downstream: dict[str, list[str]] = dict(graph.dependents())
        self.needs: dict[str, list[str]] = {  # read only: a single dep's list is shared
            name: list(dict.fromkeys(node.deps)) if len(node.deps) > 1 else node.deps
            for name, node in self.nodes.items()
        }
        self.waiting: dict[str, int] = {name: len(deps) for name, deps in self.needs.items()}
        # how many of the needed nodes ended so far in success, failure, skip (one dict
        # each: ints, nothing for the garbage collector to walk); kept up to date so a
        # decision costs the same whatever the number of inputs
        self.tallies: tuple[dict[str, int], dict[str, int], dict[str, int]] = (
            dict.fromkeys(self.nodes, 0),
            dict.fromkeys(self.nodes, 0),
            dict.fromkeys(self.nodes, 0),
        )
        self.rule: dict[str, str] = {name: _rule(node) for name, node in self.nodes.items()}
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
        """Record a non-final state (``running``, ``retrying``, ``ready``)."""
        self.state[name] = state

    def finish(self, name: str, state: str) -> Decisions:
        """``name`` ended in ``state``; decide its dependents, and theirs in turn."""
        decisions = NOTHING_DECIDED  # made when something is decided
        waiting, states, rules = self.waiting, self.state, self.rule
        downstream = self.downstream
        ends = [(name, state)]
        while ends:
            ended, how = ends.pop()
            states[ended] = how
            self.unfinished -= 1
            column = 0 if how in SUCCESS else 1 if how in FAILURE else 2
            counts = self.tallies[column]
            for child in downstream[ended]:
                waiting[child] -= 1
                counts[child] += 1
                if states[child] != "pending":
                    continue
                if column == 0 and waiting[child] and rules[child] == "all_success":
                    continue  # the common case: still waiting for more successes
                verdict = self._verdict(child)
                if verdict is None:
                    continue
                if decisions is NOTHING_DECIDED:
                    decisions = Decisions([], [], [])
                if verdict == "run":
                    states[child] = "ready"
                    decisions.ready.append(child)
                else:
                    getattr(decisions, verdict).append(child)
                    ends.append((child, verdict))
        return decisions

    def succeeded(self, name: str) -> list[str]:
        """``name`` succeeded; return the dependents that became ready (see ``finish``)."""
        return self.finish(name, "succeeded").ready

    def failed(self, name: str, state: str = "failed") -> list[str]:
        """``name`` ended without success; return the dependents this decided against
        (``upstream_failed`` or ``skipped``; see ``finish``)."""
        decisions = self.finish(name, state)
        return decisions.upstream_failed + decisions.skipped

    def _verdict(self, name: str) -> str | None:
        succeeded, failed, skipped = self.tallies
        return decide(
            self.rule[name], succeeded[name], failed[name], skipped[name], self.waiting[name]
        )

    def expand(self, name: str, children: list[Node]) -> list[str]:
        """Add the elements of dynamic map ``name``; it now waits for them. Returns the
        elements (all ready); if there are none, ``name`` itself is returned, ready again."""
        self.children[name] = [child.name for child in children]
        self.needs[name] = list(self.children[name])
        self.waiting[name] = len(children)
        for counts in self.tallies:
            counts[name] = 0
        self.state[name] = "pending"  # waits for its elements, as it waited for its inputs
        for child in children:
            self.nodes[child.name] = child
            self.state[child.name] = "ready"
            self.needs[child.name] = []
            self.waiting[child.name] = 0
            for counts in self.tallies:
                counts[child.name] = 0
            self.rule[child.name] = _rule(child)
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


def _rule(node: Node) -> str:
    """A node's trigger rule; a map or gather collects its elements: it needs them all."""
    return node.policy.trigger_rule if node.kind == "call" else "all_success"
