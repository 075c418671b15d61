"""The scheduler: one event loop owns a run's state; executors report outcomes back to it.

Shape (after dask's local scheduler): the loop waits for outcomes, settles each one into the
plan (which says what became ready), dispatches what the admission gate lets start, commits
everything that changed in one store transaction, and only then submits the new attempts.
So a result is durable before any dependent starts. Executors never raise into the loop; they
report an Outcome, from any thread, through ``_report``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from podium.engine.admission import Admission, Held
from podium.engine.caching import ResultCache
from podium.engine.critical import critical_weights
from podium.engine.limits import LIMITS, Limits
from podium.engine.plan import Plan
from podium.engine.protocols import Executor, Store
from podium.engine.ready import ReadyQueue
from podium.engine.recording import Recorder
from podium.engine.resources import Capacity
from podium.errors import OptionError, TimedOut
from podium.model.attempts import Outcome, Work, idempotency_key
from podium.model.graph import Graph, Node
from podium.model.handles import Handle
from podium.model.policy import retry_delay, should_retry
from podium.model.records import (
    Batch,
    EventRecord,
    Owner,
    RunRecord,
    RunUpdate,
)
from podium.model.run_result import RunResult, TaskResults
from podium.model.values import substitute

log = logging.getLogger(__name__)

Listener = Callable[[list[EventRecord]], None]

ORDERS = ("critical_path", "fifo")
"""How ready tasks of equal priority are ordered: longest expected remaining path first, or
first ready, first started."""
START_FLUSH_DELAY = 0.05
"""Seconds after which the start of a still-running attempt is written to the store. An
attempt that ends sooner is written once, complete: most short ones, whatever the number
of turns of the loop in between (a row and a task update less each, and no second write)."""
GROUP_COMMIT_DELAY = 0.005
"""Seconds a batch may wait for the next turns' changes before it is committed, when no
attempt dispatched meanwhile needs what it records (group commit)."""
GROUP_COMMIT_ROWS = 256
"""Task updates after which a batch is committed whatever the delay."""
ATTEMPT_STATE = {"fell_back": "succeeded", "retrying": "failed", "falling_back": "failed"}
"""The state of the attempt that put its task instance in one of these states."""


@dataclass
class PriorState:
    """What a resumed run already has: results of succeeded instances, attempts made."""

    values: dict[str, Any] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)


class Engine:
    """Runs one run at a time to its end, through a Store and an Executor."""

    def __init__(
        self,
        store: Store,
        executor: Executor,
        *,
        capacity: Capacity,
        owner: Owner,
        listeners: Sequence[Listener] = (),
        heartbeat_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
        use_cache: bool = True,
        order: str = "critical_path",
        limits: Limits | None = None,
    ) -> None:
        self._store = store
        self._executor = executor
        self._limits = LIMITS if limits is None else limits
        self._admission = Admission(capacity, self._limits, clock=clock)
        self._owner = owner
        self._listeners = list(listeners)
        self._heartbeat_interval = heartbeat_interval
        self._clock = clock
        self._cancel_reason: str | None = None
        self._lost = False
        self._random = random.Random().random  # jitter of retry delays
        self._use_cache = use_cache
        if order not in ORDERS:
            raise OptionError("order", order, f"must be one of {', '.join(ORDERS)}")
        self._order = order

    # -- control, from the loop's thread (signal handlers, the heartbeat) -------------------

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop the run: nothing further starts, running attempts are stopped."""
        if self._cancel_reason is None:
            self._cancel_reason = reason
            if hasattr(self, "_loop"):
                self._request_step()

    def abort(self) -> None:
        """Kill what can be killed now (worker processes, shell commands), without waiting
        or recording anything: for a second Ctrl-C, just before the process exits."""
        self._executor.close()

    @property
    def cancel_reason(self) -> str | None:
        return self._cancel_reason

    # -- the run ------------------------------------------------------------------------------

    async def run(self, run: RunRecord, graph: Graph, prior: PriorState | None = None) -> RunResult:
        """Drive ``run`` (already in the store) to its end and return its result."""
        self._loop = asyncio.get_running_loop()
        self._finished: asyncio.Future[None] = self._loop.create_future()
        self._outcomes: deque[Outcome] = deque()
        self._step_requested = False
        self._run_id = run.run_id
        self._plan = Plan(graph)
        self._ready = ReadyQueue()
        self._unfit = self._admission.unfit(graph)  # tasks whose requests never fit here
        self._weights: dict[str, float] = (
            critical_weights(
                graph, self._store.task_durations(graph.workflow), self._plan.downstream
            )
            if self._order == "critical_path"
            else {}
        )
        self._running: dict[int, tuple[Work, Node]] = {}
        self._grants: dict[int, Held] = {}  # attempt -> what it holds
        self._ready_since: dict[str, float] = {}  # queued task instance -> when it was queued
        self._wake_timer: asyncio.TimerHandle | None = None  # retry after a rate-limit wait
        self._values: dict[str, Any] = {}
        self._errors: dict[str, str] = {}
        prior = prior or PriorState()
        self._prior = prior.values
        self._attempts = dict(prior.attempts)
        self._next_key = 0
        self._cancelling = False
        self._recorder = Recorder(run.run_id, self._clock)
        self._abandoned: dict[int, Held] = {}  # threads left running keep what they hold
        self._timeouts: dict[int, asyncio.TimerHandle] = {}
        self._timed_out: set[int] = set()
        self._retries: dict[str, asyncio.TimerHandle] = {}
        self._fallbacks: dict[str, Any] = {}  # task instance -> the fallback task it runs now
        self._fallback_base: dict[str, int] = {}  # attempts made before falling back
        self._flush_timer: asyncio.TimerHandle | None = None
        self._starts_due = False  # the flush timer fired: write the starts not yet written
        self._ended_now: set[str] = set()  # instances that ended since the last commit
        self._carried: Batch | None = None  # a batch not committed yet (group commit)
        self._commit_due = False  # the carried batch waited GROUP_COMMIT_DELAY: commit it
        self._commit_timer: asyncio.TimerHandle | None = None
        self._cache = ResultCache(self._store, run.run_id, use=self._use_cache)
        self._cached: set[str] = set()  # task instances whose result came from the cache

        self._executor.open(self._report)
        self._limits.subscribe(self._request_step)  # a unit of a limited tag came free
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            await self._drive(resumed=bool(prior.values or prior.attempts))
        finally:
            heartbeat.cancel()
            self._limits.unsubscribe(self._request_step)
            timers = [*self._timeouts.values(), *self._retries.values(), self._flush_timer,
                      self._wake_timer, self._commit_timer]  # fmt: skip
            for timer in timers:
                if timer is not None:
                    timer.cancel()
            self._executor.close()
        return self._result(graph)

    async def _drive(self, *, resumed: bool) -> None:
        now = self._clock()
        batch = Batch(run_update=RunUpdate(self._run_id, "running", started_at=now))
        kind = "run_resumed" if resumed else "run_started"
        batch.events.append(EventRecord(self._run_id, now, kind, detail=str(self._owner)))
        self._enqueue(self._plan.roots(), batch)
        self._advance(batch)
        await self._finished

    def _report(self, outcome: Outcome) -> None:
        """Called by executors, from any thread, once per attempt."""
        self._outcomes.append(outcome)
        self._request_step()

    def _request_step(self) -> None:
        """Have ``_step`` run soon on the loop (once, however many ask meanwhile)."""
        if not self._step_requested:
            self._step_requested = True
            try:
                self._loop.call_soon_threadsafe(self._step)
            except RuntimeError:  # the run is over and its loop closed: a late, ignored report
                pass

    def _step(self) -> None:
        """One turn of the loop, run as a plain callback: settle every outcome that has
        arrived, then advance. Errors end the run (``run`` raises them)."""
        self._step_requested = False  # before draining: a report arriving now asks again
        if self._finished.done():
            return
        try:
            batch, self._carried = self._carried or Batch(), None
            outcomes = self._outcomes
            while outcomes:
                self._settle(outcomes.popleft(), batch)
            if self._starts_due:  # attempts running for START_FLUSH_DELAY get their row
                self._starts_due = False
                self._recorder.record_starts(batch)
            self._advance(batch)
        except BaseException as error:
            self._finished.set_exception(error)

    def _advance(self, batch: Batch) -> None:
        """Dispatch what may start, commit ``batch`` in one transaction, then submit.

        Group commit: when no attempt dispatched now needs an end that ``batch`` holds,
        the batch is carried into the next turn instead (at most GROUP_COMMIT_DELAY, at
        most GROUP_COMMIT_ROWS task updates), so one transaction records many turns."""
        if self._cancel_reason is not None and not self._cancelling:
            self._begin_cancel(batch)
        submits = self._dispatch(batch)
        if self._plan.complete:
            self._finish(batch)
        if self._must_commit(batch, submits):
            self._commit(batch)
            self._ended_now.clear()
            self._commit_due = False
            if self._commit_timer is not None:
                self._commit_timer.cancel()
                self._commit_timer = None
        else:
            self._carried = batch
            if self._commit_timer is None:
                self._commit_timer = self._loop.call_later(GROUP_COMMIT_DELAY, self._commit_soon)
        for work in submits:
            self._executor.submit(work)
        self._start_timeouts(submits)
        if self._plan.complete:
            self._finished.set_result(None)
        else:
            self._flush_soon()

    # -- moving task instances from state to state -------------------------------------------

    def _enqueue(self, names: Iterable[str], batch: Batch) -> None:
        """Ready nodes: run inline what needs no executor, queue the rest for admission."""
        pending = deque(names)
        plan = self._plan
        while pending:
            name = pending.popleft()
            node = plan.nodes[name]
            if name in self._prior:
                self._values[name] = self._prior[name]
                pending.extend(self._decide(name, "succeeded", batch))
            elif node.kind == "call":
                task: Any = node.task  # a call node always has one
                if task.caching.enabled and self._from_cache(node, batch):
                    pending.extend(self._decide(name, "succeeded", batch))
                elif not self._cannot_fit(node, batch):
                    self._queue(name, task)
            elif node.kind == "map" and name not in plan.children:
                pending.extend(self._expand(node, batch))
            else:  # a gather, or a dynamic map whose elements all succeeded
                members = (
                    plan.children[name]
                    if name in plan.children
                    else [handle.node.name for handle in node.args]
                )
                self._succeed_inline(name, [self._values[m] for m in members], batch)
                pending.extend(self._decide(name, "succeeded", batch))

    def _queue(self, name: str, task: Any) -> None:
        """Queue task instance ``name``, to run ``task`` (its own or its fallback), for
        admission: by priority, then by its expected remaining path (critical path)."""
        weight = self._weights.get(name, 0.0)
        self._ready_since[name] = self._clock()
        self._ready.push(name, self._admission.shape(task), task.policy.priority, weight)

    def _cannot_fit(self, node: Node, batch: Batch) -> bool:
        """If ``node``'s request can never be met here, hand it to its fallback at once
        (the runner refuses a run where such a task has none) and return True."""
        unfit = self._unfit.get(id(node.task)) if self._unfit else None
        if unfit is None:
            return False
        reason = unfit.reason
        fallback = getattr(node.task, "fallback", None)
        if unfit.fallback is None or fallback is None:
            self._fail_inline(node.name, f"cannot run here: {reason}", batch)
            return True
        name = node.name
        self._fallbacks[name] = fallback
        self._fallback_base[name] = 0
        detail = f"{fallback.name} (without trying: {reason})"
        self._recorder.event(batch, "fallback_started", name, 0, detail)
        self._queue(name, fallback)
        return True

    def _from_cache(self, node: Node, batch: Batch) -> bool:
        """Look the call up in the cache: on a hit, take its result (state ``cached``) and
        return True; on a miss, record why and return False."""
        now = self._clock()
        args, kwargs = self._arguments(node)
        lookup = self._cache.look_up(node.name, node.task, args, kwargs, now)
        name = node.name
        if lookup.hit is None:
            self._recorder.event(batch, "cache_miss", name, detail=lookup.reason, at=now)
            return False
        source = f"run {lookup.hit.run_id}, task {lookup.hit.task_name}"
        try:
            encoded = self._store.encode_result(lookup.value)
        except Exception as error:  # stored once, so this is unlikely; then run the task
            self._recorder.event(batch, "cache_miss", name, detail=f"{source}: {error}", at=now)
            return False
        self._values[name] = lookup.value
        self._cached.add(name)
        batch.results.append((self._run_id, name, encoded))
        self._recorder.event(batch, "cache_hit", name, detail=source, at=now)
        self._recorder.task_state(batch, name, "cached", 0, started_at=now, at=now)
        return True

    def _expand(self, node: Node, batch: Batch) -> list[str]:
        """Create the elements of dynamic map ``node`` from the result it maps over."""
        source: Handle = node.args[0]
        items = self._values[source.node.name]
        try:
            items = list(items)
        except TypeError:
            items = None
        if items is None:
            error = (
                f"task {node.name!r} maps over the result of {source.node.name!r}, "
                f"which is not iterable"
            )
            self._fail_inline(node.name, error, batch)
            return []
        children = [
            Node(
                task=node.task,
                kind="call",
                args=(item,),
                kwargs=node.kwargs,
                name=f"{node.name}[{index}]",
                deps=list(node.deps),
                map_index=index,
                has_handles=node.has_handles,
            )
            for index, item in enumerate(items)
        ]
        now = self._clock()
        weight = self._weights.get(node.name)
        for child in children:
            if weight is not None:
                self._weights[child.name] = weight
            position = len(self._plan.nodes) + (child.map_index or 0)
            batch.new_tasks.append(self._recorder.task_record(child, position))
        batch.task_updates.append(("running", 0, now, None, None, self._run_id, node.name))
        batch.events.append(
            EventRecord(self._run_id, now, "map_expanded", node.name, detail=str(len(children)))
        )
        return self._plan.expand(node.name, children)

    def _succeed_inline(self, name: str, value: Any, batch: Batch) -> None:
        self._values[name] = value
        batch.results.append((self._run_id, name, self._store.encode_result(value)))
        self._recorder.task_state(batch, name, "succeeded", 0)

    def _fail_inline(self, name: str, error: str, batch: Batch) -> None:
        now = self._clock()
        self._errors[name] = error
        self._recorder.task_state(batch, name, "failed", 0, started_at=now, error=error, at=now)
        self._enqueue(self._decide(name, "failed", batch), batch)

    def _decide(self, name: str, state: str, batch: Batch) -> list[str]:
        """``name`` ended in ``state``: record what that decided downstream (trigger rules,
        see engine/plan.py) and return the nodes it made ready."""
        decisions = self._plan.finish(name, state)
        self._ended_now.add(name)
        if decisions.skipped or decisions.upstream_failed:
            self._ended_now.update(decisions.skipped, decisions.upstream_failed)
            now = self._clock()
            for verdict in ("upstream_failed", "skipped"):
                for child in getattr(decisions, verdict):
                    attempts = self._attempts.get(child, 0)
                    self._recorder.task_state(batch, child, verdict, attempts, at=now)
        return decisions.ready

    def _dispatch(self, batch: Batch) -> list[Work]:
        """Start every queued node the admission gate lets through."""
        if self._cancelling:
            return []
        submits: list[Work] = []
        nodes = self._plan.nodes
        admission = self._admission
        now = self._clock()
        fallbacks = self._fallbacks
        since = self._ready_since
        granted: dict[str, Held] = {}

        def admit(name: str) -> bool:
            task = fallbacks.get(name) or nodes[name].task
            held = admission.try_admit(name, task, since.get(name, now))
            if held is None:
                return False
            granted[name] = held
            return True

        admitted = self._ready.take(admit)
        reserved = admission.pool.reserved_for
        if reserved is not None and reserved in since and admit(reserved):
            # The task a big request reserved for goes first, wherever it is in its lane
            # (a later task of its shape may be ahead of it and refused by the reservation).
            self._ready.discard(reserved)
            admitted = itertools.chain((reserved,), admitted)
        attempts, grants, running = self._attempts, self._grants, self._running
        for name in admitted:
            node = nodes[name]
            since.pop(name, None)
            attempt = attempts.get(name, 0) + 1
            attempts[name] = attempt
            held = granted.pop(name)
            work = self._work(node, held.task, attempt, held.grant.gpu_ids)
            key = work.key
            grants[key] = held
            running[key] = (work, node)
            self._plan.mark(name, "running")
            self._recorder.dispatched(work, now)
            submits.append(work)
        if admission.wake_after is not None:  # a rate limit said when to try again
            if self._wake_timer is None:
                self._wake_timer = self._loop.call_later(admission.wake_after, self._wake)
            admission.wake_after = None
        return submits

    def _wake(self) -> None:
        self._wake_timer = None
        self._request_step()

    def _flush_soon(self) -> None:
        """Make sure starts not yet written are written within START_FLUSH_DELAY."""
        if self._recorder.unrecorded and self._flush_timer is None:
            self._flush_timer = self._loop.call_later(START_FLUSH_DELAY, self._flush_due)

    def _must_commit(self, batch: Batch, submits: list[Work]) -> bool:
        """Whether ``batch`` is committed now rather than carried into the next turn."""
        if (
            self._commit_due  # carried for GROUP_COMMIT_DELAY already
            or self._plan.complete
            or self._cancelling
            or batch.run_update is not None
            or len(batch.task_updates) >= GROUP_COMMIT_ROWS
        ):
            return True
        ended, running = self._ended_now, self._running
        if not ended:
            return False
        # a result is committed before any attempt that needs it starts (nor may one start
        # before an input's failure or skip is recorded)
        return any(not ended.isdisjoint(running[work.key][1].deps) for work in submits)

    def _commit_soon(self) -> None:
        self._commit_timer = None
        self._commit_due = True
        self._request_step()

    def _flush_due(self) -> None:
        self._flush_timer = None
        self._starts_due = True
        self._request_step()

    def _arguments(self, node: Node) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The node's arguments with every handle replaced by its upstream's result."""
        args: tuple[Any, ...] = node.args
        kwargs: dict[str, Any] = node.kwargs
        if node.has_handles:
            values = self._values
            # a failed or skipped upstream (allowed by a trigger rule) passes None
            names = node.handle_args
            if names is not None:  # only handles, all positional: no walk needed
                return tuple([values.get(name) for name in names]), kwargs
            resolve = lambda handle: values.get(handle.node.name)  # noqa: E731
            args = substitute(args, resolve)
            if kwargs:
                kwargs = substitute(kwargs, resolve)
        return args, kwargs

    def _work(self, node: Node, task: Any, attempt: int, gpus: tuple[str, ...]) -> Work:
        """An attempt of ``node`` running ``task`` (its own, or its fallback)."""
        args, kwargs = self._arguments(node)
        self._next_key += 1
        run_id, name = self._run_id, node.name
        work = Work(
            self._next_key, run_id, name, attempt, idempotency_key(run_id, name),
            task.isolation, task.fn, args, kwargs, node.map_index, gpus=gpus,
        )  # fmt: skip
        if task.isolation == "shell":
            work.command, work.env, work.cwd = task.command, task.env, task.cwd
        return work

    def _settle(self, outcome: Outcome, batch: Batch) -> None:
        """Record how one attempt ended and queue what became ready (or retry it)."""
        key = outcome.work.key
        entry = self._running.pop(key, None)
        if entry is None:  # an abandoned thread has returned at last: free what it held
            held = self._abandoned.pop(key, None)
            if held is not None:
                self._admission.release(held)
            return
        work, node = entry
        held = self._grants.pop(key)
        if outcome.abandoned:  # a thread left running: its reservation stays until it returns
            self._abandoned[key] = held
        else:
            self._admission.release(held)
        timer = self._timeouts.pop(key, None)
        if timer is not None:
            timer.cancel()
        name, run_id, now = work.task_name, self._run_id, self._clock()
        attempt_state = None
        if key in self._timed_out:
            self._timed_out.discard(key)
            outcome = timed_out(outcome, self._task_of(node).policy.timeout)
            attempt_state = "timed_out"
        if outcome.ok:
            value = outcome.value
            if value is None:  # the store keeps None without a row (Store.load_results)
                self._values[name] = None
            else:
                try:
                    encoded = self._store.encode_result(value)
                except Exception as error:
                    outcome.ok = False
                    outcome.error = f"the result cannot be stored: {type(error).__name__}: {error}"
                else:
                    self._values[name] = value
                    batch.results.append((run_id, name, encoded))
        if outcome.ok:
            state = "fell_back" if name in self._fallbacks else "succeeded"
            if state == "succeeded" and node.caching.enabled:
                cached = self._cache.entry(name, node.caching.ttl, now)
                if cached is not None:
                    batch.cache_entries.append(cached)
        elif outcome.cancelled:
            state = "cancelled"
        else:
            state = "failed"
            self._errors[name] = outcome.error or "failed"
            if not self._cancelling:
                if self._retry_later(work, node, outcome, batch, now):
                    state = "retrying"
                elif self._fall_back(work, node, batch, now):
                    state = "falling_back"
        if attempt_state is None:  # a fallback's attempt that worked succeeded, as attempts go
            attempt_state = ATTEMPT_STATE.get(state, state)
        self._recorder.attempt_ended(
            batch, work, attempt_state, now, outcome.error, outcome.traceback, outcome.logs,
            state, outcome.usage,
        )  # fmt: skip
        if state == "retrying" or state == "falling_back":
            return  # the task instance goes on with another attempt
        ready = self._decide(name, state, batch)
        if ready:
            self._enqueue(ready, batch)

    # -- retries and timeouts ------------------------------------------------------------------

    def _retry_later(
        self, work: Work, node: Node, outcome: Outcome, batch: Batch, now: float
    ) -> bool:
        """If the task's policy allows another attempt, schedule it and return True."""
        policy = self._task_of(node).policy
        attempt = work.attempt - self._fallback_base.get(work.task_name, 0)
        again, after = should_retry(policy, outcome.exception, attempt)
        if not again:
            return False
        delay = after if after is not None else retry_delay(policy, attempt, self._random)
        name = work.task_name
        self._plan.mark(name, "retrying")
        self._retries[name] = self._loop.call_later(delay, self._retry_due, name)
        batch.events.append(
            EventRecord(
                self._run_id, now, "retry_scheduled", name, work.attempt,
                f"attempt {work.attempt + 1} in {delay:.3g}s after {outcome.error}",
            )
        )  # fmt: skip
        return True

    def _fall_back(self, work: Work, node: Node, batch: Batch, now: float) -> bool:
        """Every attempt failed: if the task has a fallback, queue it (same inputs) and
        return True. Its result will stand in for the task's (state ``fell_back``)."""
        name = work.task_name
        fallback = getattr(node.task, "fallback", None)
        if fallback is None or name in self._fallbacks:
            return False
        cannot = self._admission.shortfall(fallback)
        if cannot is not None:  # it would wait for ever: the task fails instead
            detail = f"{fallback.name} cannot run here: {cannot}"
            self._recorder.event(batch, "fallback_skipped", name, work.attempt, detail, at=now)
            return False
        self._fallbacks[name] = fallback
        self._fallback_base[name] = work.attempt
        self._recorder.event(batch, "fallback_started", name, work.attempt, fallback.name, at=now)
        self._plan.mark(name, "ready")
        self._queue(name, fallback)
        return True

    def _task_of(self, node: Node) -> Any:
        """The task an attempt of ``node`` runs: its own, or its fallback once it fell back."""
        return self._fallbacks.get(node.name, node.task)

    def _retry_due(self, name: str) -> None:
        self._retries.pop(name, None)
        if self._plan.state.get(name) != "retrying":  # cancelled meanwhile
            return
        self._plan.mark(name, "ready")
        self._queue(name, self._task_of(self._plan.nodes[name]))
        self._request_step()

    def _start_timeouts(self, submits: list[Work]) -> None:
        grants = self._grants
        for work in submits:
            timeout = grants[work.key].task.policy.timeout  # its own task's, or its fallback's
            if timeout is not None:
                self._timeouts[work.key] = self._loop.call_later(timeout, self._time_out, work.key)

    def _time_out(self, key: int) -> None:
        """The attempt ran past its timeout: stop it as a cancel does; a thread, which
        cannot be stopped, is settled now as timed out and abandoned."""
        self._timeouts.pop(key, None)
        entry = self._running.get(key)
        if entry is None:
            return
        work = entry[0]
        self._timed_out.add(key)
        if self._executor.cancel(work):
            return  # its outcome (cancelled) will come and be settled as timed out
        now = self._clock()
        self._outcomes.append(
            Outcome(work, False, cancelled=True, abandoned=True, started_at=now, ended_at=now)
        )
        self._request_step()

    # -- cancellation, heartbeat, end -------------------------------------------------------

    def _begin_cancel(self, batch: Batch) -> None:
        self._cancelling = True
        now = self._clock()
        run_id = self._run_id
        batch.events.append(EventRecord(run_id, now, "run_cancelling", detail=self._cancel_reason))
        for name in self._ready.clear():
            self._admission.forget(name)
        for name in self._plan.cancel_unstarted():
            batch.task_updates.append(
                ("cancelled", self._attempts.get(name, 0), None, now, None, run_id, name)
            )
        for key, (work, _node) in list(self._running.items()):
            if self._executor.cancel(work):
                continue
            # A thread cannot be stopped: it is abandoned, its result will be ignored, and
            # its reservation is kept until it really returns.
            del self._running[key]
            self._abandoned[key] = self._grants.pop(key)
            self._plan.finish(work.task_name, "cancelled")
            note = "abandoned: the thread could not be stopped; its result will be ignored"
            self._recorder.attempt_ended(batch, work, "cancelled", now, note, None, "")

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_interval)
            try:
                reply = self._store.heartbeat(self._run_id, self._owner, self._clock())
            except Exception:  # a busy store must not kill the run; the next beat retries
                log.warning("heartbeat of run %s failed", self._run_id, exc_info=True)
                continue
            if reply == "cancel":
                self.cancel("cancel requested (podium cancel)")
            elif reply == "lost":
                # Another process took the run over (we stalled past the takeover delay):
                # it owns the rows now. Stop everything and write nothing more.
                log.error("run %s was taken over by another process; stopping", self._run_id)
                self._lost = True
                self.cancel("taken over by another process")

    def _final_state(self) -> str:
        if self._cancel_reason is not None:
            return "cancelled"
        fine = {"succeeded", "fell_back", "skipped"}  # cached instances are "succeeded" here
        return "succeeded" if fine.issuperset(self._plan.state.values()) else "failed"

    def _finish(self, batch: Batch) -> None:
        now = self._clock()
        state = self._final_state()
        batch.run_update = RunUpdate(self._run_id, state, ended_at=now)
        batch.events.append(EventRecord(self._run_id, now, f"run_{state}"))

    def _commit(self, batch: Batch) -> None:
        if not batch or self._lost:
            return
        self._store.commit(batch)
        for listener in self._listeners:
            try:
                listener(batch.events)
            except Exception:
                log.exception("a run listener failed; it is ignored")

    def _result(self, graph: Graph) -> RunResult:
        tasks = TaskResults(
            self._plan.state, self._attempts, self._values, self._errors, self._cached
        )
        return RunResult(self._run_id, graph.workflow, self._final_state(), tasks, graph.output)


def timed_out(outcome: Outcome, seconds: float | None) -> Outcome:
    """The outcome of an attempt stopped by its timeout: a failure (TimedOut), which the
    task's retry policy may retry."""
    error = TimedOut(seconds or 0.0)
    return Outcome(
        outcome.work, False, error=f"TimedOut: {error}", logs=outcome.logs,
        started_at=outcome.started_at, ended_at=outcome.ended_at, exception=error,
        usage=outcome.usage,
    )  # fmt: skip
