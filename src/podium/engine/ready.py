"""The ready queue: tasks whose dependencies are met, waiting for admission.

Higher priority first, then the longer remaining path to the end of the graph (critical-path
scheduling: ``weight``, in expected seconds, see engine/critical.py), then first in, first
out; one queue per admission shape, so a task that does not fit (a process task while CPUs
are taken) does not hold back tasks of another shape behind it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator


class ReadyQueue:
    """Ready task names grouped by shape, taken by (priority, age) among those that fit."""

    def __init__(self) -> None:
        self._queues: dict[str, list[tuple[int, float, int, str]]] = {}
        self._sequence = 0

    def __len__(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def push(self, name: str, shape: str, priority: int = 0, weight: float = 0.0) -> None:
        """Queue ``name``; a higher ``priority``, then a higher ``weight``, is taken earlier."""
        self._sequence += 1
        queue = self._queues.get(shape)
        if queue is None:
            queue = self._queues[shape] = []
        heapq.heappush(queue, (-priority, -weight, self._sequence, name))

    def take(self, admit: Callable[[str], bool]) -> Iterator[str]:
        """Yield ready names in order as long as ``admit(name)`` accepts them; a refused
        shape is skipped for the rest of this pass."""
        blocked: set[str] = set()
        queues = self._queues
        while True:
            best: tuple[int, float, int, str] | None = None
            best_shape = ""
            for shape, queue in queues.items():
                if queue and shape not in blocked and (best is None or queue[0] < best):
                    best, best_shape = queue[0], shape
            if best is None:
                return
            if admit(best[3]):
                heapq.heappop(queues[best_shape])
                yield best[3]
            else:
                blocked.add(best_shape)

    def discard(self, name: str) -> None:
        """Take ``name`` out of the queue, wherever it is (rare: linear in its lane)."""
        for queue in self._queues.values():
            for index, entry in enumerate(queue):
                if entry[3] == name:
                    queue[index] = queue[-1]
                    queue.pop()
                    heapq.heapify(queue)
                    return

    def clear(self) -> list[str]:
        names = [entry[3] for queue in self._queues.values() for entry in queue]
        self._queues.clear()
        return names
