"""A warm pool of worker processes for CPU-bound attempts.

Written by hand rather than concurrent.futures.ProcessPoolExecutor because one attempt must be
killable (cancel, timeout) without breaking the others: each worker leads its own process
group and is replaced when it dies. Outcomes arrive through the event loop (add_reader).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection

from podium.errors import WorkerLostError
from podium.executors.invoke import cancelled, describe
from podium.executors.usage import wall_only
from podium.executors.worker import decode_outcome, encode_work
from podium.model.attempts import Outcome, Work

log = logging.getLogger(__name__)


class _Worker:
    """One worker process: started with ``python -c`` (no re-import of the caller's main
    module, so scripts need no ``if __name__ == "__main__"`` guard), in its own session,
    talking over a socket pair."""

    def __init__(self) -> None:
        parent, child = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(path for path in sys.path if path)
        self.process = subprocess.Popen(
            [sys.executable, "-c", _ENTRY, str(child.fileno()), str(os.getpid())],
            pass_fds=(child.fileno(),),
            start_new_session=True,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        child.close()
        self.conn = Connection(parent.detach())
        self.work: Work | None = None
        self.payload_started = 0.0
        self.cancelled = False
        self.single_use = False
        """Started for one attempt with GPUs, and retired after it: CUDA reads
        CUDA_VISIBLE_DEVICES once per process, so a warm worker cannot switch devices."""

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        for kill in (os.killpg, os.kill):
            try:
                kill(self.pid, signal.SIGKILL)
                return
            except (ProcessLookupError, PermissionError):
                continue

    def reap(self, timeout: float) -> int | None:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None


_ENTRY = (
    "import sys; from podium.executors.worker import main; main(int(sys.argv[1]), int(sys.argv[2]))"
)


class ProcessPool:
    """``size`` workers started on first use and kept warm for the run; one more is started
    whenever an attempt arrives and none is idle (the engine's admission bounds how many
    process attempts run at once, e.g. by the declared ``cpu``)."""

    def __init__(
        self,
        size: int,
        report: Callable[[Outcome], None],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.size = max(1, size)
        self._report = report
        self._loop = loop
        self._workers: list[_Worker] = []
        self._idle: deque[_Worker] = deque()

    def warm(self) -> None:
        """Start every worker now (they boot in parallel)."""
        while self._regular() < self.size:
            self._idle.append(self._spawn())

    def _regular(self) -> int:
        """Workers kept warm (single-use ones do not count against ``size``)."""
        return sum(not worker.single_use for worker in self._workers)

    def _spawn(self) -> _Worker:
        worker = _Worker()
        self._workers.append(worker)
        self._loop.add_reader(worker.conn.fileno(), self._readable, worker)
        return worker

    def submit(self, work: Work) -> None:
        try:
            payload = encode_work(work)
        except Exception as error:
            self._report(
                Outcome(
                    work,
                    False,
                    error=f"cannot pickle the task: {describe(error)}",
                    started_at=time.time(),
                    ended_at=time.time(),
                )
            )
            return
        if work.gpus:  # a fresh process that sees only its devices (admission bounds them)
            worker = self._spawn()
            worker.single_use = True
            self._send(worker, work, payload)
            return
        if not self._workers:
            self.warm()
        if self._idle:
            self._send(self._idle.popleft(), work, payload)
        else:  # the engine's admission decides how many run at once: never queue here
            self._send(self._spawn(), work, payload)

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
        if worker.single_use:
            self._retire(worker)
        else:
            self._idle.append(worker)

    def _retire(self, worker: _Worker) -> None:
        """Stop a worker that served its one attempt."""
        self._loop.remove_reader(worker.conn.fileno())
        worker.conn.close()
        worker.kill()
        worker.reap(timeout=1.0)
        self._workers.remove(worker)

    def _lost(self, worker: _Worker) -> None:
        """A worker died (killed on cancel, or crashed): report its attempt. A new worker
        is started when one is next needed."""
        self._loop.remove_reader(worker.conn.fileno())
        worker.conn.close()
        worker.kill()
        worker.reap(timeout=1.0)
        code = worker.process.returncode
        if worker in self._workers:
            self._workers.remove(worker)
        if worker in self._idle:
            self._idle.remove(worker)
        work = worker.work
        if work is not None:
            if worker.cancelled:
                outcome = cancelled(work, worker.payload_started)
            else:
                error = WorkerLostError(f"exit code {code}")
                outcome = Outcome(
                    work,
                    False,
                    error=describe(error),
                    started_at=worker.payload_started,
                    ended_at=time.time(),
                )
            # the worker died with its measurements: the wall time (from the send) only
            outcome.usage = wall_only(worker.payload_started, outcome.ended_at)
            self._report(outcome)

    def cancel(self, work: Work) -> bool:
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
            worker.reap(timeout=2.0)
            worker.conn.close()
        self._workers.clear()
        self._idle.clear()
