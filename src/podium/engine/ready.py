"""The ready queue: tasks whose dependencies are met, waiting for admission.

Higher priority first, then the longer remaining path to the end of the graph (critical-path
scheduling: ``weight``, in expected seconds, see engine/critical.py), then first in, first
out; one lane per admission shape, so a task that does not fit (a process task while CPUs
are taken) does not hold back tasks of another shape behind it.

A lane is a bucket queue: one FIFO per rank (priority, weight), and a heap of the ranks.
Ready tasks mostly share a few ranks (a fan-out's elements all have the same), so a push or
a take costs O(1) instead of a heap operation comparing tuples among thousands.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterator

Rank = tuple[int, float]
"""(-priority, -weight): smaller is taken first."""


class _Lane:
    """The ready tasks of one shape."""

    __slots__ = ("fifos", "ranks")

    def __init__(self) -> None:
        self.ranks: list[Rank] = []  # a heap of the ranks that have a FIFO
        self.fifos: dict[Rank, deque[tuple[int, str]]] = {}  # rank -> (sequence, name)

    def pop_head(self) -> None:
        rank = self.ranks[0]
        fifo = self.fifos[rank]
        fifo.popleft()
        if not fifo:
            del self.fifos[rank]
            heapq.heappop(self.ranks)


class ReadyQueue:
    """Ready task names grouped by shape, taken by (priority, weight, age) among those
    that fit."""

    def __init__(self) -> None:
        self._lanes: dict[str, _Lane] = {}
        self._sequence = 0

    def __len__(self) -> int:
        return sum(len(fifo) for lane in self._lanes.values() for fifo in lane.fifos.values())

    def push(self, name: str, shape: str, priority: int = 0, weight: float = 0.0) -> None:
        """Queue ``name``; a higher ``priority``, then a higher ``weight``, is taken earlier."""
        self._sequence += 1
        lane = self._lanes.get(shape)
        if lane is None:
            lane = self._lanes[shape] = _Lane()
        rank = (-priority, -weight)
        fifo = lane.fifos.get(rank)
        if fifo is None:
            fifo = lane.fifos[rank] = deque()
            heapq.heappush(lane.ranks, rank)
        fifo.append((self._sequence, name))

    def take(self, admit: Callable[[str], bool]) -> Iterator[str]:
        """Yield ready names in order as long as ``admit(name)`` accepts them; a refused
        shape is skipped for the rest of this pass."""
        lanes = self._lanes
        live = [lane for lane in lanes.values() if lane.ranks]
        if len(live) == 1:  # the common case: one shape ready, taken in its own order
            yield from _take_from(live[0], admit)
            return
        blocked: set[str] = set()
        while True:
            best: tuple[Rank, int] | None = None
            best_lane: _Lane | None = None
            best_name = best_shape = ""
            for shape, lane in lanes.items():
                if not lane.ranks or shape in blocked:
                    continue
                rank = lane.ranks[0]
                sequence, name = lane.fifos[rank][0]
                if best is None or (rank, sequence) < best:
                    best, best_lane, best_name, best_shape = (rank, sequence), lane, name, shape
            if best_lane is None:
                return
            if admit(best_name):
                best_lane.pop_head()
                yield best_name
            else:
                blocked.add(best_shape)

    def discard(self, name: str) -> None:
        """Take ``name`` out of the queue, wherever it is (rare: linear in its lane)."""
        for lane in self._lanes.values():
            for rank, fifo in lane.fifos.items():
                for entry in fifo:
                    if entry[1] == name:
                        fifo.remove(entry)
                        if not fifo:
                            del lane.fifos[rank]
                            lane.ranks.remove(rank)
                            heapq.heapify(lane.ranks)
                        return

    def clear(self) -> list[str]:
        names = [
            entry[1]
            for lane in self._lanes.values()
            for fifo in lane.fifos.values()
            for entry in fifo
        ]
        self._lanes.clear()
        return names


def _take_from(lane: _Lane, admit: Callable[[str], bool]) -> Iterator[str]:
    """``ReadyQueue.take`` for a single lane: its heads, in order, while admitted."""
    ranks, fifos = lane.ranks, lane.fifos
    while ranks:
        fifo = fifos[ranks[0]]
        name = fifo[0][1]
        if not admit(name):
            return
        fifo.popleft()
        if not fifo:
            del fifos[ranks[0]]
            heapq.heappop(ranks)
        yield name
