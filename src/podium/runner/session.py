"""Runner: starts and resumes runs on a store with an executor, one engine per run."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from podium.engine.admission import unfit_tasks
from podium.engine.protocols import Executor
from podium.engine.resources import Capacity
from podium.engine.scheduler import ORDERS, Engine, Listener, PriorState
from podium.errors import GraphChangedError, OptionError, ResourceUnavailableError
from podium.executors.local import LocalExecutor
from podium.model.attempts import idempotency_key
from podium.model.graph import Graph
from podium.model.records import DONE_STATES, RunRecord, TaskRecord
from podium.model.run_result import RunResult
from podium.runner.capacity import machine_capacity
from podium.runner.heap import frozen_heap
from podium.runner.ownership import HEARTBEAT_INTERVAL, ensure_owner_gone, this_process
from podium.store.results import is_plain_json
from podium.store.sqlite import SQLiteStore

DEFAULT_MAX_WORKERS = 32

DATABASE_NAME = "podium.db"


def default_home() -> Path:
    """``.podium`` under the current directory."""
    return Path.cwd() / ".podium"


def open_store(home: str | Path | None = None, *, synchronous: str = "NORMAL") -> SQLiteStore:
    """The SQLite store under ``home`` (default: ``./.podium``)."""
    return SQLiteStore(Path(home or default_home()) / DATABASE_NAME, synchronous=synchronous)


def check_max_workers(value: Any) -> int:
    """``max_workers`` as a positive int (None gives the default); raises OptionError."""
    if value is None:
        return DEFAULT_MAX_WORKERS
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise OptionError("max_workers", value, "must be a positive integer")
    return value


def check_order(value: Any) -> str:
    """``order`` as one of the engine's ORDERS; raises OptionError."""
    if value not in ORDERS:
        raise OptionError("order", value, f"must be one of {', '.join(ORDERS)}")
    return str(value)


def storable_params(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as JSON values (a Path as its text, a datetime in ISO form...); resume
    checks them against the type hints again, which turns them back into their types."""
    if is_plain_json(params):
        return params
    from pydantic_core import to_jsonable_python  # imported lazily: slow to import

    value: dict[str, Any] = to_jsonable_python(params, fallback=repr)
    return value


def check_same_graph(run_id: str, graph: Graph, tasks: list[TaskRecord]) -> None:
    """Raise GraphChangedError unless ``graph`` has the task instances of the stored run
    (besides the elements of dynamic maps, which are created at run time)."""
    stored = {task.name for task in tasks}
    maps = [node.name + "[" for node in graph if node.kind == "map"]
    new = [name for name in graph.nodes if name not in stored]
    gone = [
        name
        for name in stored
        if name not in graph.nodes and not any(name.startswith(prefix) for prefix in maps)
    ]
    if new or gone:
        raise GraphChangedError(run_id, new, gone)


def new_run_id() -> str:
    """A readable, time-sortable, unique run id: ``20261123-051200-3fa9c1``."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def task_records(run_id: str, graph: Graph) -> list[TaskRecord]:
    """The rows of a new run's task instances (all pending), in the graph's order."""
    records = []
    for position, node in enumerate(graph):
        name = node.name
        records.append(
            TaskRecord(run_id, name, node.task_name, node.deps, "pending", node.map_index, 0,
                       idempotency_key(run_id, name), node.isolation, None, None, None, position)
        )  # fmt: skip
    return records


class Runner:
    """Runs graphs to their end on ``store``; ``cancel()`` stops the run in progress."""

    def __init__(
        self,
        store: Any,
        *,
        max_workers: int | None = None,
        executor_factory: Callable[[], Executor] = LocalExecutor,
        listeners: Sequence[Listener] = (),
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
        use_cache: bool = True,
        order: str = "critical_path",
        resources: Mapping[str, float] | None = None,
    ) -> None:
        self.store = store
        self.max_workers = check_max_workers(max_workers)
        self._executor_factory = executor_factory
        self._listeners = list(listeners)
        self._heartbeat_interval = heartbeat_interval
        self._use_cache = use_cache
        self._order = order
        self._resources = dict(resources or {})
        self._capacity: Capacity | None = None
        self._engine: Engine | None = None
        self._cancel_reason: str | None = None

    def cancel(self, reason: str = "cancelled") -> None:
        """Cancel the run in progress (or the next one, if none has started yet)."""
        self._cancel_reason = reason
        if self._engine is not None:
            self._engine.cancel(reason)

    def abort(self) -> None:
        """Kill the run's worker processes and shell commands at once (see Engine.abort)."""
        if self._engine is not None:
            self._engine.abort()

    @property
    def capacity(self) -> Capacity:
        """What attempts may use: the machine, the settings file under the store's folder,
        then ``resources`` overrides (see runner/capacity.py). Raises SettingsError."""
        if self._capacity is None:
            home = Path(getattr(self.store, "path", "podium.db")).parent
            self._capacity = machine_capacity(home, self.max_workers, self._resources)
        return self._capacity

    def check_resources(self, graph: Graph) -> None:
        """Refuse ``graph`` (ResourceUnavailableError) if a task asks for more than this
        machine has and has no fallback that fits; others go straight to their fallback."""
        for unfit in unfit_tasks(graph, self.capacity):
            if unfit.fallback is None:
                raise ResourceUnavailableError(unfit.task, unfit.resource, unfit.asked, unfit.have)

    def _engine_for(self) -> Engine:
        engine = Engine(
            self.store,
            self._executor_factory(),
            capacity=self.capacity,
            owner=this_process(),
            listeners=self._listeners,
            heartbeat_interval=self._heartbeat_interval,
            use_cache=self._use_cache,
            order=self._order,
        )
        if self._cancel_reason is not None:
            engine.cancel(self._cancel_reason)
        self._engine = engine
        return engine

    async def start(
        self, graph: Graph, *, source: str, params: dict[str, Any], run_id: str | None = None
    ) -> RunResult:
        """Record a new run of ``graph`` and drive it to its end. Raises
        ResourceUnavailableError (nothing recorded) for a task that can never run here."""
        self.check_resources(graph)
        owner = this_process()
        now = time.time()
        run = RunRecord(
            run_id=run_id or new_run_id(),
            workflow=graph.workflow,
            source=source,
            params=storable_params(params),
            state="pending",
            owner_pid=owner.pid,
            owner_host=owner.host,
            heartbeat_at=now,
            created_at=now,
            max_workers=self.max_workers,
        )
        with frozen_heap():
            self.store.create_run(run, task_records(run.run_id, graph))
            return await self._engine_for().run(run, graph)

    async def resume(self, run_id: str, graph: Graph) -> RunResult:
        """Take over ``run_id`` and finish it: succeeded task instances keep their results;
        the others (in flight at a crash, failed, cancelled, never started) run again.

        Raises RunNotFoundError, RunOwnedError (owner alive), RunNotResumableError."""
        check_same_graph(run_id, graph, self.store.load_tasks(run_id))
        self.check_resources(graph)
        run = self.store.claim_run(run_id, this_process(), time.time(), ensure_owner_gone)
        with frozen_heap():
            tasks = self.store.load_tasks(run_id)
            succeeded = [task.name for task in tasks if task.state in DONE_STATES]
            prior = PriorState(
                values=self.store.load_results(run_id, succeeded),
                attempts={task.name: task.attempts for task in tasks},
            )
            return await self._engine_for().run(run, graph, prior)
