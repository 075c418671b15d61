"""Properties of the plan (pure bookkeeping) and of the engine, over random graphs.

A random DAG is a dict ``{name: [dependency names]}`` whose dependencies are earlier names
(duplicates allowed: a handle may be passed twice). The plan is driven the way the engine
drives it: some ready nodes start, some running ones end, in an order hypothesis chooses.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphs
from podium import task, workflow
from podium.engine.plan import ENDED, Plan
from podium.executors.local import LocalExecutor
from podium.model.attempts import Work
from podium.model.graph import Graph, Node
from podium.model.records import Batch
from podium.runner.session import Runner
from podium.store.sqlite import SQLiteStore

Spec = dict[str, list[str]]


@st.composite
def dags(draw: Any, max_nodes: int = 12) -> Spec:
    """A random DAG; names are listed so that dependencies come first."""
    count = draw(st.integers(min_value=1, max_value=max_nodes))
    names = [f"t{i}" for i in range(count)]
    return {
        name: draw(st.lists(st.sampled_from(names[:i]), max_size=4)) if i else []
        for i, name in enumerate(names)
    }


def plan_of(spec: Spec, insertion: Iterable[str] | None = None) -> Plan:
    graph = Graph(workflow="random")
    for name in insertion if insertion is not None else spec:
        graph.add(Node(task=None, name=name, deps=list(spec[name])))
    return Plan(graph)


def descendants(spec: Spec, name: str) -> set[str]:
    """Every node that needs ``name``, directly or not."""
    found: set[str] = set()
    frontier = [name]
    while frontier:
        current = frontier.pop()
        for other, deps in spec.items():
            if current in deps and other not in found:
                found.add(other)
                frontier.append(other)
    return found


class Driver:
    """Runs a plan to its end; hypothesis picks what starts and what ends next."""

    def __init__(self, plan: Plan, data: Any, spec: Spec) -> None:
        self.plan = plan
        self.data = data
        self.spec = spec
        self.ready: list[str] = []
        self.running: list[str] = []
        self.became_ready: list[str] = []
        self.steps = 0

    def receive(self, names: list[str]) -> None:
        """Names the plan just declared ready: each must be ready, with its deps succeeded."""
        for name in names:
            assert self.plan.state[name] == "ready", (name, self.plan.state[name])
            deps = self.plan.nodes[name].deps if name in self.plan.nodes else []
            assert all(self.plan.state[dep] == "succeeded" for dep in deps), name
        self.became_ready.extend(names)
        self.ready.extend(names)

    def step(self) -> str | None:
        """Start one ready node, or end one running node; returns the node ended, if any."""
        self.steps += 1
        assert self.steps < 10_000, "the plan does not terminate"
        start = bool(self.ready) and (
            not self.running or self.data.draw(st.booleans(), label="start?")
        )
        if start:
            name = self.ready.pop(self.data.draw(st.integers(0, len(self.ready) - 1)))
            self.plan.mark(name, "running")
            self.running.append(name)
            return None
        return self.running.pop(self.data.draw(st.integers(0, len(self.running) - 1)))

    @property
    def busy(self) -> bool:
        return bool(self.ready or self.running)


@settings(max_examples=200, deadline=None)
@given(spec=dags(), data=st.data())
def test_without_failures_every_node_is_ready_once_after_its_deps_and_the_plan_completes(
    spec: Spec, data: Any
) -> None:
    insertion = data.draw(st.permutations(list(spec)), label="insertion order")
    plan = plan_of(spec, insertion)
    driver = Driver(plan, data, spec)

    driver.receive(plan.roots())
    while driver.busy:
        ended = driver.step()
        if ended is not None:
            driver.receive(plan.succeeded(ended))

    assert sorted(driver.became_ready) == sorted(spec)
    assert plan.complete
    assert set(plan.state.values()) == {"succeeded"}


@settings(max_examples=200, deadline=None)
@given(spec=dags(), data=st.data())
def test_failures_mark_exactly_the_transitive_dependents_upstream_failed(
    spec: Spec, data: Any
) -> None:
    victims = set(data.draw(st.lists(st.sampled_from(list(spec)), min_size=1), label="fail"))
    plan = plan_of(spec)
    driver = Driver(plan, data, spec)

    driver.receive(plan.roots())
    while driver.busy:
        ended = driver.step()
        if ended is None:
            continue
        if ended in victims:
            still_open = {n for n in descendants(spec, ended) if plan.state[n] == "pending"}
            marked = plan.failed(ended)
            assert sorted(marked) == sorted(still_open)
        else:
            driver.receive(plan.succeeded(ended))

    def expected(name: str) -> str:
        if any(name in descendants(spec, victim) for victim in victims):
            return "upstream_failed"
        return "failed" if name in victims else "succeeded"

    assert plan.complete
    assert plan.state == {name: expected(name) for name in spec}
    assert not {n for n in driver.became_ready if plan.state[n] == "upstream_failed"}


@settings(max_examples=200, deadline=None)
@given(
    spec=dags(max_nodes=8),
    widths=st.lists(st.integers(min_value=0, max_value=4), min_size=8, max_size=8),
    data=st.data(),
)
def test_dynamic_maps_with_any_number_of_elements_complete_in_order(
    spec: Spec, widths: list[int], data: Any
) -> None:
    """Every node with dependencies is a dynamic map: when it is reached it expands into
    ``width`` elements, ends after all of them, and only then releases its dependents."""
    maps = {name: widths[i] for i, name in enumerate(spec) if spec[name]}
    plan = plan_of(spec)
    driver = Driver(plan, data, spec)
    expanded: dict[str, list[str]] = {}
    succeeded: list[str] = []

    def receive(names: list[str]) -> None:
        queue = list(names)
        while queue:
            name = queue.pop(0)
            if name in maps and name not in expanded:
                children = [
                    Node(task=None, name=f"{name}[{i}]", deps=list(spec[name]), map_index=i)
                    for i in range(maps[name])
                ]
                expanded[name] = [child.name for child in children]
                handed_back = plan.expand(name, children)
                assert handed_back == (expanded[name] or [name])  # none: gathered at once
                driver.receive(handed_back)
            else:
                driver.receive([name])

    receive(plan.roots())
    while driver.busy:
        ended = driver.step()
        if ended is not None:
            succeeded.append(ended)
            receive(plan.succeeded(ended))

    assert plan.complete
    assert set(plan.state.values()) == {"succeeded"}
    assert sorted(expanded) == sorted(maps)
    for name, children in expanded.items():
        position = succeeded.index(name)
        assert all(succeeded.index(child) < position for child in children)
        for dependent in descendants(spec, name):
            assert succeeded.index(dependent) > position
    assert sorted(succeeded) == sorted([*spec, *(c for cs in expanded.values() for c in cs)])


def test_a_map_with_elements_waits_for_them_and_is_ready_again_after_the_last() -> None:
    plan = plan_of({"source": [], "score": ["source"]})
    plan.roots()
    assert plan.succeeded("source") == ["score"]

    children = [Node(task=None, name=f"score[{i}]", map_index=i) for i in range(2)]
    assert plan.expand("score", children) == ["score[0]", "score[1]"]
    assert plan.state["score"] == "pending"
    assert plan.succeeded("score[1]") == []
    assert plan.succeeded("score[0]") == ["score"]
    assert plan.state["score"] == "ready"


def test_a_map_with_no_elements_is_handed_back_ready() -> None:
    plan = plan_of({"source": [], "score": ["source"]})
    plan.roots()
    plan.succeeded("source")

    assert plan.expand("score", []) == ["score"]
    assert plan.state["score"] == "ready"


def test_failing_an_element_of_a_map_fails_the_map_and_what_needs_it() -> None:
    plan = plan_of({"source": [], "score": ["source"], "report": ["score"]})
    plan.roots()
    plan.succeeded("source")
    plan.expand("score", [Node(task=None, name=f"score[{i}]", map_index=i) for i in range(2)])

    assert sorted(plan.failed("score[0]")) == ["report", "score"]
    assert plan.succeeded("score[1]") == []
    assert plan.complete
    assert plan.state["score"] == "upstream_failed"


# -- the real engine ------------------------------------------------------------------------


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=dags(max_nodes=10))
def test_the_engine_runs_every_task_once_and_after_its_dependencies(spec: Spec) -> None:
    recorder = graphs.Recorder()
    with tempfile.TemporaryDirectory() as folder:
        result = graphs.dag(spec, recorder).run(home=folder, max_workers=4)

    order = recorder.order
    assert result.state == "succeeded"
    assert sorted(order) == sorted(spec)
    for name, deps in spec.items():
        assert all(order.index(dep) < order.index(name) for dep in deps), (name, order)
    assert result.result == {name: name for name in spec}


class CommitLog:
    """What a run did, in order: each commit (the task instances it ended) and each
    submit (the attempt's task instance), as the real store and executor saw them."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, Any]] = []

    def store(self, path: Path) -> SQLiteStore:
        log = self.entries

        class LoggingStore(SQLiteStore):
            def commit(self, batch: Batch) -> None:
                super().commit(batch)
                ended = {update[6] for update in batch.task_updates if update[0] in ENDED}
                log.append(("commit", ended))

        return LoggingStore(path)

    def executor(self) -> LocalExecutor:
        log = self.entries

        class LoggingExecutor(LocalExecutor):
            def submit(self, work: Work) -> None:
                log.append(("submit", work.task_name))
                super().submit(work)

        return LoggingExecutor()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=dags(max_nodes=14))
def test_an_attempt_starts_only_once_what_it_needs_is_committed(spec: Spec) -> None:
    """Group commit may leave ends uncommitted while independent attempts start; never an
    attempt whose inputs' ends are among them."""
    log = CommitLog()
    with tempfile.TemporaryDirectory() as folder:
        store = log.store(Path(folder) / "podium.db")
        try:
            graph = graphs.dag(spec).build()
            runner = Runner(store, max_workers=3, executor_factory=log.executor)
            result = asyncio.run(runner.start(graph, source="test", params={}))
        finally:
            store.close()
    assert result.state == "succeeded"
    committed: set[str] = set()
    submitted = []
    for kind, what in log.entries:
        if kind == "commit":
            committed |= what
        else:
            submitted.append(what)
            assert set(spec[what]) <= committed, (what, spec[what], committed)
    assert sorted(submitted) == sorted(spec)


@task
def passes(*inputs: Any) -> int:
    return 1


@task
def raises(*inputs: Any) -> int:
    raise RuntimeError("this branch fails")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), spec=dags(max_nodes=12))
def test_an_attempt_after_failures_starts_only_once_they_are_committed(
    data: Any, spec: Spec
) -> None:
    """The same with failing tasks and joins that run whatever their inputs did
    (``all_done``): a failure, like a result, is durable before a task that needs it runs."""
    failing = data.draw(st.sets(st.sampled_from(sorted(spec))))
    joins = data.draw(st.sets(st.sampled_from(sorted(spec))))

    @workflow(name="failures")
    def flow() -> Any:
        handles: dict[str, Any] = {}
        for name, deps in spec.items():
            body = raises if name in failing else passes
            if name in joins:
                body = body.with_options(trigger_rule="all_done")
            handles[name] = body(*[handles[d] for d in deps], name=name)
        return None

    log = CommitLog()
    with tempfile.TemporaryDirectory() as folder:
        store = log.store(Path(folder) / "podium.db")
        try:
            runner = Runner(store, max_workers=3, executor_factory=log.executor)
            result = asyncio.run(runner.start(flow.build(), source="test", params={}))
        finally:
            store.close()
    assert result.state == ("failed" if failing else "succeeded")
    committed: set[str] = set()
    for kind, what in log.entries:
        if kind == "commit":
            committed |= what
        else:
            assert set(spec[what]) <= committed, (what, spec[what], committed)
