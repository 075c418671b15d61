"""``@workflow``: a workflow definition that can run itself, in-process."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, overload

from podium.engine.scheduler import Listener
from podium.model.run_result import RunResult
from podium.model.workflow import WorkflowDef
from podium.runner.session import Runner, check_max_workers, open_store

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
    ) -> RunResult:
        """Run the workflow here and return its RunResult (also inside a running loop).

        ``home``: the store's folder (default ``./.podium``). Raises a DefinitionError
        (ParameterError, OptionError, CycleError, ...) before anything runs or is stored.
        """
        return run_sync(
            lambda: self.arun(params, max_workers=max_workers, home=home, listeners=listeners)
        )

    async def arun(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        max_workers: int | None = None,
        home: str | Path | None = None,
        listeners: Sequence[Listener] = (),
    ) -> RunResult:
        """Awaitable ``run``."""
        workers = check_max_workers(max_workers)
        bound = self.bind(params)
        graph = self.build(bound)
        store = open_store(home)
        try:
            runner = Runner(store, max_workers=workers, listeners=listeners)
            return await runner.start(graph, source=self.source(), params=bound)
        finally:
            store.close()

    def resume(
        self, run_id: str, *, max_workers: int | None = None, home: str | Path | None = None
    ) -> RunResult:
        """Finish run ``run_id`` of this workflow (see ``podium resume``)."""

        async def resume() -> RunResult:
            store = open_store(home)
            try:
                record = store.get_run(run_id)
                graph = self.build(record.params)
                runner = Runner(store, max_workers=max_workers or record.max_workers)
                return await runner.resume(run_id, graph)
            finally:
                store.close()

        return run_sync(resume)


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
