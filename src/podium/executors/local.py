"""The local executor: coroutines on the engine's loop, sync functions on daemon threads,
CPU-bound functions in warm worker processes, shell commands as subprocess groups."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable, Coroutine
from typing import Any

from podium.executors.invoke import call, cancelled, failure
from podium.executors.processes import ProcessPool
from podium.executors.shell import run_shell
from podium.executors.threads import DaemonThreadPool
from podium.executors.usage import COROUTINE, wall_only
from podium.model.attempts import Outcome, Work
from podium.model.context import enter_context, leave_context


class LocalExecutor:
    """Runs attempts on this machine. ``processes``: size of the worker pool (CPU count)."""

    name = "local"

    def __init__(self, *, processes: int | None = None) -> None:
        self.processes = processes or os.cpu_count() or 1
        self._threads = DaemonThreadPool()
        self._pool: ProcessPool | None = None
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._shells: dict[int, int] = {}  # attempt key -> process group of its command

    def open(self, report: Callable[[Outcome], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._report = report

    def submit(self, work: Work) -> None:
        isolation = work.isolation
        if isolation == "thread":
            self._threads.submit(self._run_thread, work)
        elif isolation == "process":
            self._process_pool().submit(work)
        elif isolation == "async":
            self._start(work, self._run_coroutine(work))
        elif isolation == "shell":
            self._start(work, self._run_shell(work))
        else:
            self._report(Outcome(work, False, error=f"unknown isolation {isolation!r}"))

    def warm_processes(self) -> None:
        """Start the worker processes now instead of on the first process task."""
        self._process_pool().warm()

    def cancel(self, work: Work) -> bool:
        task = self._tasks.get(work.key)
        if task is not None:
            task.cancel()
            return True
        if work.isolation == "process" and self._pool is not None:
            return self._pool.cancel(work)
        return False

    def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        for group in self._shells.values():  # cancelled tasks may never get to kill them
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._shells.clear()
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        self._threads.shutdown()

    # -- the kinds of attempts ------------------------------------------------------------

    def _process_pool(self) -> ProcessPool:
        if self._pool is None:
            self._pool = ProcessPool(self.processes, self._report, self._loop)
        return self._pool

    def _run_thread(self, work: Work) -> None:
        self._report(call(work))

    def _start(self, work: Work, coroutine: Coroutine[Any, Any, None]) -> None:
        self._tasks[work.key] = self._loop.create_task(coroutine)

    async def _run_coroutine(self, work: Work) -> None:
        context = work.context()
        token = enter_context(context)
        started = time.time()
        probe = COROUTINE.start(started)
        try:
            value = await work.fn(*work.args, **work.kwargs)  # type: ignore[misc]
        except asyncio.CancelledError:
            outcome = cancelled(work, started)
        except BaseException as error:
            outcome = failure(work, error, started, context)
        else:
            outcome = Outcome(
                work,
                True,
                value,
                started_at=started,
                ended_at=time.time(),
                logs="\n".join(context.captured_lines()),
            )
        finally:
            leave_context(token)
            self._tasks.pop(work.key, None)
        outcome.usage = COROUTINE.stop(probe, outcome.ended_at)
        self._report(outcome)

    async def _run_shell(self, work: Work) -> None:
        started = time.time()
        try:
            outcome = await run_shell(
                work, on_start=lambda pid: self._shells.__setitem__(work.key, pid)
            )
        except asyncio.CancelledError:  # cancelled before the command started
            outcome = cancelled(work, started)
            outcome.usage = wall_only(started, outcome.ended_at)
        finally:
            self._tasks.pop(work.key, None)
            self._shells.pop(work.key, None)
        self._report(outcome)
