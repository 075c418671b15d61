"""Admission: whether a ready task may start now. The dispatch path's one gate.

Two things must agree before an attempt starts:

* the run's ``ResourcePool`` (engine/resources.py): one of ``max_workers`` slots plus what
  the task requests (``resources=``); a process task that names no ``cpu`` asks for one,
  so CPU-bound work never runs wider than the CPUs. GPU requests get device ids here.
* the process-wide ``Limits`` (engine/limits.py): a unit of every concurrency-limited tag
  of the task and a token of every rate-limited one, shared with other runs.

Ready tasks wait in lanes by *shape* (engine/ready.py): tasks of one shape ask for the same
things, so when one does not fit, none of its lane does, and other lanes are still tried.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from podium.engine.limits import Limits
from podium.engine.resources import NO_GRANT, Capacity, Grant, ResourcePool
from podium.model.graph import Graph
from podium.model.resources import describe_request

STARVATION_BOUND = 2.0
"""Seconds a ready task whose request does not fit may wait before the pool reserves for
it: then nothing that would delay it starts (engine/resources.py)."""


class _Known(NamedTuple):
    """What Admission knows of a task: its request (with the default cpu of process
    tasks), its lane, and, for a task that asks for nothing but a slot, the one Held its
    attempts share when no limited tag applies (it is immutable)."""

    request: dict[str, float]
    shape: str
    slot_only: Held | None


class Held(NamedTuple):
    """What one attempt holds: its task (its own or its fallback), its grant from the
    pool (GPU ids included), and the tags whose limits it took a unit of."""

    task: Any
    grant: Grant
    limited_tags: tuple[str, ...] = ()


class Admission:
    """The gate of one run: resources from its pool, limits shared by the process."""

    def __init__(
        self,
        capacity: Capacity,
        limits: Limits,
        *,
        clock: Callable[[], float],
        starvation_bound: float | None = None,
    ) -> None:
        self.capacity = capacity
        bound = STARVATION_BOUND if starvation_bound is None else starvation_bound
        self.pool = ResourcePool(capacity, starvation_bound=bound, clock=clock)
        self.limits = limits
        self._requests: dict[int, _Known] = {}  # id(task) -> what it asks, its lane
        self.wake_after: float | None = None
        """The shortest rate-limit wait met since it was last reset: the engine then tries
        again after that many seconds (a release of a concurrency unit wakes it itself)."""

    def request(self, task: Any) -> dict[str, float]:
        """What one attempt of ``task`` takes besides its slot."""
        return self._known(task)[0]

    def shape(self, task: Any) -> str:
        """The lane of ``task``'s attempts: same request and same limited tags."""
        return self._known(task)[1]

    def _known(self, task: Any) -> _Known:
        known = self._requests.get(id(task))
        if known is None:
            request = dict(getattr(task, "resources", None) or {})
            if task.isolation == "process" and "cpu" not in request:
                request["cpu"] = 1.0
            limited = sorted(task.tags) if self.limits.limited(task.tags) else ()
            shape = describe_request(request) + ("|" + ",".join(limited) if limited else "")
            slot_only = None if request else Held(task, NO_GRANT)
            known = self._requests[id(task)] = _Known(request, shape, slot_only)
        return known

    def shortfall(self, task: Any) -> str | None:
        """Why ``task`` can never start here (``gpu=1 asked, this machine has gpu=0``), or
        None when it can."""
        short = self.pool.shortfall(self.request(task))
        return None if short is None else Unfit(task.name, *short, None).reason

    def unfit(self, graph: Graph) -> dict[int, Unfit]:
        """The tasks of ``graph`` that can never start here, by ``id(task)`` (once per task,
        not per call). A task whose fallback fits goes straight to it at run time; one
        without such a fallback makes the run impossible (ResourceUnavailableError)."""
        unfit: dict[int, Unfit] = {}
        tasks = {id(node.task): node.task for node in graph if node.kind != "gather"}
        for task in tasks.values():
            if task is None:
                continue
            short = self.pool.shortfall(self.request(task))
            if short is None:
                continue
            fallback = getattr(task, "fallback", None)
            if fallback is not None and self.shortfall(fallback) is not None:
                fallback = None  # a fallback that cannot run here either is no way out
            unfit[id(task)] = Unfit(task.name, *short, None if fallback is None else fallback.name)
        return unfit

    def try_admit(self, key: str, task: Any, waiting_since: float) -> Held | None:
        """Reserve what an attempt of ``task`` (task instance ``key``) needs and return
        what it holds, or None without waiting."""
        request, _shape, slot_only = self._known(task)
        tags = task.tags
        if slot_only is not None and not (tags and self.limits.limited(tags)):
            if self.pool.try_slot():  # the hot path: a slot and nothing else, nothing new
                return slot_only
        grant = self.pool.try_acquire(key, request, waiting_since)
        if grant is None:
            return None
        if tags and self.limits.limited(tags):
            wait = self.limits.try_acquire(tags)
            if wait > 0:
                self.pool.release(grant)
                if not math.isinf(wait):
                    self.wake_after = min(wait, self.wake_after or wait)
                return None
            return Held(task, grant, tuple(tags))
        return Held(task, grant)

    def release(self, held: Held) -> None:
        """Give back what ``try_admit`` reserved (the limits' units it really took, even
        if the limits changed since)."""
        self.pool.release(held.grant)
        if held.limited_tags:
            self.limits.release(held.limited_tags)

    def forget(self, key: str) -> None:
        """Task instance ``key`` stopped waiting (cancelled)."""
        self.pool.forget(key)


@dataclass(frozen=True, slots=True)
class Unfit:
    """A task whose request can never be met on this machine, and its fallback's name
    (None: the run is refused before it starts)."""

    task: str
    resource: str
    asked: float
    have: float
    fallback: str | None

    @property
    def reason(self) -> str:
        return (
            f"it asks for {self.resource}={self.asked:g}; this machine has "
            f"{self.resource}={self.have:g}"
        )


def in_process_gpu_tasks(graph: Graph) -> list[str]:
    """Names of tasks (and fallbacks) that ask for a GPU but run on a thread or the event
    loop: they share the podium process, so only ``current_context().gpus`` tells them
    their devices."""
    names: dict[str, None] = {}
    for node in graph:
        for task in (node.task, getattr(node.task, "fallback", None)):
            if task is None or not (getattr(task, "resources", None) or {}).get("gpu"):
                continue
            if task.isolation in ("thread", "async"):
                names[task.name] = None
    return list(names)


def unfit_tasks(graph: Graph, capacity: Capacity) -> list[Unfit]:
    """The tasks of ``graph`` that can never start with ``capacity`` (see
    ``Admission.unfit``), for checks before a run."""
    return list(Admission(capacity, Limits(), clock=time.time).unfit(graph).values())
