"""``@workflow``: a workflow definition that can run itself, in-process."""

from __future__ import annotations

import asyncio
import inspect
import signal
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, overload

from podium.engine.scheduler import Listener
from podium.errors import DefinitionError, RunError
from podium.model.loading import is_loading
from podium.model.run_result import RunResult
from podium.model.workflow import WorkflowDef
from podium.runner.capacity import resource_overrides
from podium.runner.heap import frozen_heap
from podium.runner.session import Runner, check_max_workers, check_order, open_store
from podium.store.sqlite import SQLiteStore

T = TypeVar("T")


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to its end from sync code, also inside a running event loop (a
    notebook): then it runs on a fresh loop in a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(make())
        except BaseException as error:  # re-raised in the caller's thread
            box["error"] = error

    thread = threading.Thread(target=target, name="podium-run")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How ``Workflow.run`` runs (see its docstring)."""

    max_workers: int | None = None
    home: str | Path | None = None
    listeners: Sequence[Listener] = ()
    synchronous: str = "NORMAL"
    use_cache: bool = True
    order: str = "critical_path"
    resources: Mapping[str, float] | None = None


class Workflow(WorkflowDef):
    """A workflow: ``run()`` / ``arun()`` build its graph for the parameters and run it."""

    def source(self) -> str:
        """Where the workflow is defined: ``FILE:NAME``."""
        try:
            file = inspect.getsourcefile(self.fn)
        except TypeError:
            file = None
        return f"{Path(file).resolve() if file else '<python>'}:{self.name}"

    def run(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        max_workers: int | None = None,
        home: str | Path | None = None,
        listeners: Sequence[Listener] = (),
        synchronous: str = "NORMAL",
        use_cache: bool = True,
        order: str = "critical_path",
        resources: Mapping[str, float] | None = None,
    ) -> RunResult:
        """Run the workflow here and return its RunResult (also inside a running loop).

        ``home``: the store's folder (default ``./.podium``). ``synchronous="FULL"`` makes
        every commit survive a power cut too (``NORMAL`` survives a crash of the process).
        ``use_cache=False`` runs cached tasks again (their fresh results are still stored).
        ``order``: among ready tasks of equal priority, ``"critical_path"`` (default) starts
        those with the longest expected remaining path first, ``"fifo"`` the first ready.
        ``resources``: what this machine has, over what is detected and the settings file,
        e.g. ``{"gpu": 2, "memory_mb": 16000, "licenses": 3}`` (``gpu=N``: devices 0..N-1).
        A task asking for more than there is runs its fallback, or the run is refused
        (ResourceUnavailableError) before it starts.
        Raises a DefinitionError (ParameterError, OptionError, CycleError, ...) before
        anything runs or is stored. Ctrl-C cancels the run cleanly (every state recorded),
        then raises KeyboardInterrupt.
        """
        refuse_while_loading(f"{self.name}.run()")
        options = RunOptions(max_workers, home, listeners, synchronous, use_cache, order, resources)
        with frozen_heap():  # from the graph's building on (runner/heap.py)
            return run_sync(self._starter(params, options, interruptible=True))

    async def arun(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        max_workers: int | None = None,
        home: str | Path | None = None,
        listeners: Sequence[Listener] = (),
        synchronous: str = "NORMAL",
        use_cache: bool = True,
        order: str = "critical_path",
        resources: Mapping[str, float] | None = None,
    ) -> RunResult:
        """Awaitable ``run`` (Ctrl-C handling is left to the owner of the event loop)."""
        options = RunOptions(max_workers, home, listeners, synchronous, use_cache, order, resources)
        with frozen_heap():
            return await self._starter(params, options, interruptible=False)()

    def _starter(
        self, params: Mapping[str, Any] | None, options: RunOptions, *, interruptible: bool
    ) -> Callable[[], Coroutine[Any, Any, RunResult]]:
        """Check everything (raising DefinitionError) and return the coroutine function that
        records and drives the run."""
        workers = check_max_workers(options.max_workers)
        check_order(options.order)
        resource_overrides(options.resources)
        bound = self.bind(params)
        graph = self.build(bound)
        return lambda: with_store(
            options.home,
            lambda store: drive(
                Runner(
                    store,
                    max_workers=workers,
                    listeners=options.listeners,
                    use_cache=options.use_cache,
                    order=options.order,
                    resources=options.resources,
                ),
                lambda runner: runner.start(graph, source=self.source(), params=bound),
                interruptible=interruptible,
            ),
            synchronous=options.synchronous,
        )

    def resume(
        self,
        run_id: str,
        *,
        max_workers: int | None = None,
        home: str | Path | None = None,
        resources: Mapping[str, float] | None = None,
    ) -> RunResult:
        """Finish run ``run_id`` of this workflow (see ``podium resume``); ``resources`` as
        for ``run``.

        Raises RunNotFoundError, RunError (a run of another workflow), GraphChangedError,
        RunOwnedError, RunNotResumableError."""
        refuse_while_loading(f"{self.name}.resume()")
        overrides = resource_overrides(resources)

        async def resume(store: SQLiteStore) -> RunResult:
            record = store.get_run(run_id)
            if record.workflow != self.name:
                raise RunError(
                    f"run {run_id} is a run of workflow {record.workflow!r}, not {self.name!r}"
                )
            graph = self.build(record.params)
            runner = Runner(
                store, max_workers=max_workers or record.max_workers, resources=overrides
            )
            return await drive(runner, lambda r: r.resume(run_id, graph), interruptible=True)

        return run_sync(lambda: with_store(home, resume))


def refuse_while_loading(call: str) -> None:
    """Raise DefinitionError if ``podium run`` is importing the file that makes ``call``."""
    if is_loading():
        raise DefinitionError(
            f"{call} was called while podium imports this file; podium run runs the "
            f'workflow itself: put the call under `if __name__ == "__main__":`'
        )


async def with_store(
    home: str | Path | None,
    use: Callable[[SQLiteStore], Awaitable[T]],
    *,
    synchronous: str = "NORMAL",
) -> T:
    """Open the store under ``home`` for the duration of ``use``."""
    store = open_store(home, synchronous=synchronous)
    try:
        return await use(store)
    finally:
        store.close()


async def drive(
    runner: Runner, start: Callable[[Runner], Awaitable[RunResult]], *, interruptible: bool
) -> RunResult:
    """Run ``start(runner)``; if ``interruptible`` (the loop is ours, in the main thread),
    Ctrl-C cancels the run cleanly and then raises KeyboardInterrupt."""
    loop = asyncio.get_running_loop()
    interrupted: list[bool] = []

    def on_sigint() -> None:
        interrupted.append(True)
        runner.cancel("interrupted (Ctrl-C)")

    installed = False
    if interruptible and threading.current_thread() is threading.main_thread():
        try:
            loop.add_signal_handler(signal.SIGINT, on_sigint)
            installed = True
        except (NotImplementedError, RuntimeError, ValueError):
            installed = False
    try:
        result = await start(runner)
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
    if interrupted:
        raise KeyboardInterrupt(f"run {result.run_id} was cancelled (Ctrl-C)")
    return result


@overload
def workflow(fn: Callable[..., Any], /) -> Workflow: ...


@overload
def workflow(*, name: str | None = None) -> Callable[[Callable[..., Any]], Workflow]: ...


def workflow(
    fn: Callable[..., Any] | None = None, /, *, name: str | None = None
) -> Workflow | Callable[[Callable[..., Any]], Workflow]:
    """Make a function a workflow; usable as ``@workflow`` or ``@workflow(name=...)``.

    Its parameters (with type hints) are the workflow's parameters; calling tasks inside it
    builds the graph. Raises OptionError if ``fn`` is not callable.
    """
    if fn is not None:
        return Workflow(fn, name=name)
    return lambda function: Workflow(function, name=name)
