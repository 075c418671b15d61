"""The ready queue: tasks whose dependencies are met, waiting for admission.

First in, first out; one queue per admission shape, so a task that does not fit (a process
task while CPUs are taken) does not hold back tasks of another shape behind it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator


class ReadyQueue:
    """Ready task names grouped by shape, taken oldest first among those that fit."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[tuple[int, str]]] = {}
        self._sequence = 0

    def __len__(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def push(self, name: str, shape: str) -> None:
        self._sequence += 1
        queue = self._queues.get(shape)
        if queue is None:
            queue = self._queues[shape] = deque()
        queue.append((self._sequence, name))

    def take(self, admit: Callable[[str], bool]) -> Iterator[str]:
        """Yield ready names in order as long as ``admit(name)`` accepts them; a refused
        shape is skipped for the rest of this pass."""
        blocked: set[str] = set()
        queues = self._queues
        while True:
            best: tuple[int, str] | None = None
            for shape, queue in queues.items():
                if queue and shape not in blocked and (best is None or queue[0][0] < best[0]):
                    best = (queue[0][0], shape)
            if best is None:
                return
            queue = queues[best[1]]
            name = queue[0][1]
            if admit(name):
                queue.popleft()
                yield name
            else:
                blocked.add(best[1])

    def clear(self) -> list[str]:
        names = [name for queue in self._queues.values() for _, name in queue]
        self._queues.clear()
        return names
