"""A small pool of daemon threads.

Unlike concurrent.futures.ThreadPoolExecutor, its threads never block interpreter exit, so a
thread abandoned on cancel (it cannot be killed) does not keep the process alive; and there
is no Future per call. Threads are started on demand and reused.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

_STOP = object()


class DaemonThreadPool:
    """Runs submitted calls on daemon threads, starting a new one when none is idle."""

    def __init__(self, name: str = "podium-task") -> None:
        self._name = name
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._pending = 0
        self._threads: list[threading.Thread] = []

    @property
    def size(self) -> int:
        return len(self._threads)

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        with self._lock:
            self._pending += 1
            start = self._pending > self._idle
        self._queue.put((fn, args))
        if start:
            thread = threading.Thread(
                target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            item = self._queue.get()
            with self._lock:
                self._idle -= 1
                self._pending -= 1
            if item is _STOP:
                return
            fn, args = item
            fn(*args)

    def shutdown(self) -> None:
        """Ask idle threads to stop; busy ones stop after their call (never waited for)."""
        for _ in self._threads:
            with self._lock:
                self._pending += 1
            self._queue.put(_STOP)
        self._threads.clear()
