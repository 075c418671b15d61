"""A warm pool of worker processes for CPU-bound attempts.

Written by hand rather than concurrent.futures.ProcessPoolExecutor because one attempt must be
killable (cancel, timeout) without breaking the others: each worker leads its own process
group and is replaced when it dies. Outcomes arrive through the event loop (add_reader).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from podium.errors import WorkerLostError
from podium.executors.invoke import describe
from podium.executors.worker import decode_outcome, encode_work, worker_main
from podium.model.attempts import Outcome, Work

log = logging.getLogger(__name__)


class _Worker:
    def __init__(self, context: Any, parent_pid: int) -> None:
        self.conn, child = multiprocessing.Pipe(duplex=True)
        self.process = context.Process(
            target=worker_main, args=(child, parent_pid), daemon=True, name="podium-worker"
        )
        self.process.start()
        child.close()
        self.work: Work | None = None
        self.payload_started = 0.0
        self.cancelled = False

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def kill(self) -> None:
        for kill in (os.killpg, os.kill):
            try:
                kill(self.pid, signal.SIGKILL)
                return
            except (ProcessLookupError, PermissionError):
                continue


class ProcessPool:
    """At most ``size`` workers, started on first use and kept warm for the run."""

    def __init__(self, size: int, report: Callable[[Outcome], None],
                 loop: asyncio.AbstractEventLoop, start_method: str = "spawn") -> None:
        self.size = max(1, size)
        self._report = report
        self._loop = loop
        self._context = multiprocessing.get_context(start_method)
        self._workers: list[_Worker] = []
        self._idle: deque[_Worker] = deque()
        self._backlog: deque[tuple[Work, bytes]] = deque()

    def warm(self) -> None:
        """Start every worker now (they boot in parallel)."""
        while len(self._workers) < self.size:
            self._idle.append(self._spawn())

    def _spawn(self) -> _Worker:
        worker = _Worker(self._context, os.getpid())
        self._workers.append(worker)
        self._loop.add_reader(worker.conn.fileno(), self._readable, worker)
        return worker

    def submit(self, work: Work) -> None:
        try:
            payload = encode_work(work)
        except Exception as error:
            self._report(Outcome(work, False, error=f"cannot pickle the task: {describe(error)}",
                                 started_at=time.time(), ended_at=time.time()))
            return
        if not self._workers:
            self.warm()
        if self._idle:
            self._send(self._idle.popleft(), work, payload)
        elif len(self._workers) < self.size:
            self._send(self._spawn(), work, payload)
        else:
            self._backlog.append((work, payload))

    def _send(self, worker: _Worker, work: Work, payload: bytes) -> None:
        worker.work = work
        worker.payload_started = time.time()
        try:
            worker.conn.send_bytes(payload)
        except OSError:
            self._lost(worker)

    def _readable(self, worker: _Worker) -> None:
        try:
            data = worker.conn.recv_bytes()
        except (EOFError, OSError):
            self._lost(worker)
            return
        work = worker.work
        worker.work = None
        if work is not None:
            self._report(decode_outcome(data, work))
        self._next(worker)

    def _next(self, worker: _Worker) -> None:
        if self._backlog:
            work, payload = self._backlog.popleft()
            self._send(worker, work, payload)
        else:
            self._idle.append(worker)

    def _lost(self, worker: _Worker) -> None:
        """A worker died (killed on cancel, or crashed): report its attempt, replace it."""
        self._loop.remove_reader(worker.conn.fileno())
        worker.conn.close()
        worker.kill()
        worker.process.join(timeout=1.0)
        if worker in self._workers:
            self._workers.remove(worker)
        if worker in self._idle:
            self._idle.remove(worker)
        work = worker.work
        if work is not None:
            code = worker.process.exitcode
            if worker.cancelled:
                outcome = Outcome(work, False, cancelled=True, error="cancelled",
                                  started_at=worker.payload_started, ended_at=time.time())
            else:
                error = WorkerLostError(f"exit code {code}")
                outcome = Outcome(work, False, error=describe(error),
                                  started_at=worker.payload_started, ended_at=time.time())
            self._report(outcome)
        if self._backlog:
            self._next(self._spawn())

    def cancel(self, work: Work) -> bool:
        for index, (queued, _payload) in enumerate(self._backlog):
            if queued is work:
                del self._backlog[index]
                self._report(Outcome(work, False, cancelled=True, error="cancelled",
                                     started_at=time.time(), ended_at=time.time()))
                return True
        for worker in self._workers:
            if worker.work is work:
                worker.cancelled = True
                worker.kill()
                return True
        return False

    def close(self) -> None:
        """Kill every worker (and its process group) and wait for them."""
        for worker in self._workers:
            try:
                self._loop.remove_reader(worker.conn.fileno())
            except (ValueError, OSError):
                pass
            worker.kill()
        for worker in self._workers:
            worker.process.join(timeout=2.0)
            worker.conn.close()
        self._workers.clear()
        self._idle.clear()
        self._backlog.clear()
